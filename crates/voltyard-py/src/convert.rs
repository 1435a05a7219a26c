//! JSON trees <-> plain Python objects (dict, list, str, int, float, bool, None).

use std::borrow::Cow;

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
// The decoder's nesting bound: deeper input is refused rather than risking the stack.
use voltyard_core::ocppj::{Elements, JsonNode, JsonTree, Kind, MAX_DEPTH, Slot, TreeBuilder};

use crate::errors::{CoreError, encode_error, value_error};
use crate::vocabulary::Vocabulary;

/// Builds the Python objects of a JSON value; the words of OCPP come from `words`.
///
/// Per member and element this is the only code that runs on every decoded frame, so it avoids the
/// reference-count calls it can: a shared word goes into its dict borrowed, and a list is made at
/// its final size with its items moved in rather than appended.
pub fn to_python<'py>(py: Python<'py>, node: JsonNode<'_>, words: &Vocabulary) -> PyResult<Bound<'py, PyAny>> {
    Ok(match node.kind() {
        Kind::Null => py.None().into_bound(py),
        Kind::Bool(b) => PyBool::new(py, b).to_owned().into_any(),
        Kind::Int(i) => i.into_pyobject(py)?.into_any(),
        Kind::UInt(u) => u.into_pyobject(py)?.into_any(),
        Kind::Float(f) => PyFloat::new(py, f).into_any(),
        Kind::Str(s) => words.string(py, s).into_any(),
        Kind::Array(items) => list_of(py, items, words)?,
        Kind::Object(members) => {
            let dict = PyDict::new(py);
            for (key, item) in members {
                let value = match item.kind() {
                    Kind::Str(s) => words.shared(py, s).map(Bound::as_any),
                    _ => None,
                };
                match (words.shared(py, key), value) {
                    (Some(key), Some(value)) => dict.set_item(key, value)?,
                    (Some(key), None) => dict.set_item(key, to_python(py, item, words)?)?,
                    (None, _) => dict.set_item(PyString::new(py, key), to_python(py, item, words)?)?,
                }
            }
            dict.into_any()
        }
    })
}

fn list_of<'py>(py: Python<'py>, items: Elements<'_>, words: &Vocabulary) -> PyResult<Bound<'py, PyAny>> {
    let len = ffi::Py_ssize_t::try_from(items.len()).map_err(|_| value_error("list too long".to_owned()))?;
    // SAFETY: PyList_New returns a new reference (or null with an exception set, which
    // `from_owned_ptr_or_err` turns into the error); every slot is filled below before the list is
    // handed out, and PyList_SetItem steals the reference it is given.
    unsafe {
        let list = Bound::from_owned_ptr_or_err(py, ffi::PyList_New(len))?;
        for (index, item) in (0..len).zip(items) {
            let value = to_python(py, item, words)?;
            ffi::PyList_SetItem(list.as_ptr(), index, value.into_ptr());
        }
        Ok(list)
    }
}

/// Reads plain Python objects as a JSON tree; `what` names the argument in errors.
pub fn from_python(object: &Bound<'_, PyAny>, what: &str) -> Result<JsonTree<'static>, CoreError> {
    let mut builder = JsonTree::builder();
    from_python_at(object, 0, &mut builder).map_err(|mut e| {
        e.path.push(what.to_owned());
        e.path.reverse();
        encode_error(format!("{}: {}", e.path.concat(), e.message))
    })?;
    Ok(builder.finish())
}

/// A conversion failure; `path` grows from the leaf outwards as the error bubbles up, so the
/// happy path never builds a path.
struct ConvertError {
    path: Vec<String>,
    message: String,
}

impl ConvertError {
    fn new(message: impl Into<String>) -> Self {
        Self { path: Vec::new(), message: message.into() }
    }

    fn at(mut self, segment: String) -> Self {
        self.path.push(segment);
        self
    }
}

fn from_python_at(object: &Bound<'_, PyAny>, depth: usize, out: &mut TreeBuilder<'static>) -> Result<(), ConvertError> {
    if depth > MAX_DEPTH {
        return Err(ConvertError::new(format!("nested deeper than {MAX_DEPTH} levels")));
    }
    let slot = if object.is_none() {
        Slot::Null
    } else if let Ok(b) = object.cast::<PyBool>() {
        Slot::Bool(b.is_true())
    } else if let Ok(s) = object.cast::<PyString>() {
        Slot::Str(Cow::Owned(text_of(s)?))
    } else if object.is_instance_of::<PyInt>() {
        if let Ok(i) = object.extract::<i64>() {
            Slot::Int(i)
        } else if let Ok(u) = object.extract::<u64>() {
            Slot::UInt(u)
        } else {
            return Err(ConvertError::new("integer out of the 64-bit range"));
        }
    } else if let Ok(f) = object.cast::<PyFloat>() {
        let value = f.value();
        if !value.is_finite() {
            return Err(ConvertError::new(format!("{value} is not a JSON number")));
        }
        Slot::Float(value)
    } else if let Ok(dict) = object.cast::<PyDict>() {
        out.open(true);
        for (key, item) in dict.iter() {
            let Ok(key) = key.cast::<PyString>() else {
                return Err(ConvertError::new("object keys must be str"));
            };
            out.push(Slot::Str(Cow::Owned(text_of(key)?)));
            from_python_at(&item, depth + 1, out).map_err(|e| e.at(format!(".{key}")))?;
        }
        out.close();
        return Ok(());
    } else if let Ok(list) = object.cast::<PyList>() {
        return sequence(list.iter(), depth, out);
    } else if let Ok(tuple) = object.cast::<PyTuple>() {
        return sequence(tuple.iter(), depth, out);
    } else {
        let type_name = object.get_type().name().map_or_else(|_| "?".to_owned(), |n| n.to_string());
        return Err(ConvertError::new(format!("a {type_name} is not a JSON value")));
    };
    out.push(slot);
    Ok(())
}

fn sequence<'py>(
    items: impl Iterator<Item = Bound<'py, PyAny>>,
    depth: usize,
    out: &mut TreeBuilder<'static>,
) -> Result<(), ConvertError> {
    out.open(false);
    for (index, item) in items.enumerate() {
        from_python_at(&item, depth + 1, out).map_err(|e| e.at(format!("[{index}]")))?;
    }
    out.close();
    Ok(())
}

fn text_of(s: &Bound<'_, PyString>) -> Result<String, ConvertError> {
    s.to_str().map(str::to_owned).map_err(|e| ConvertError::new(e.to_string()))
}
