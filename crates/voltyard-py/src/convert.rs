//! JSON values <-> plain Python objects (dict, list, str, int, float, bool, None).

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::{Map, Number, Value};

use crate::errors::{CoreError, encode_error};

/// Same bound as the decoder's: deeper input is refused rather than risking the stack.
const MAX_DEPTH: usize = 128;

/// Moves a JSON value into Python objects.
pub fn to_python(py: Python<'_>, value: Value) -> PyResult<Bound<'_, PyAny>> {
    Ok(match value {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, b).to_owned().into_any(),
        Value::Number(n) => number_to_python(py, &n)?,
        Value::String(s) => PyString::new(py, &s).into_any(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(to_python(py, item)?)?;
            }
            list.into_any()
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (key, item) in map {
                dict.set_item(PyString::new(py, &key), to_python(py, item)?)?;
            }
            dict.into_any()
        }
    })
}

fn number_to_python<'py>(py: Python<'py>, n: &Number) -> PyResult<Bound<'py, PyAny>> {
    if let Some(i) = n.as_i64() {
        Ok(i.into_pyobject(py)?.into_any())
    } else if let Some(u) = n.as_u64() {
        Ok(u.into_pyobject(py)?.into_any())
    } else {
        Ok(PyFloat::new(py, n.as_f64().unwrap_or(f64::NAN)).into_any())
    }
}

/// Reads plain Python objects as a JSON value; `what` names the argument in errors.
pub fn from_python(object: &Bound<'_, PyAny>, what: &str) -> Result<Value, CoreError> {
    from_python_at(object, 0).map_err(|mut e| {
        e.path.push(what.to_owned());
        e.path.reverse();
        encode_error(format!("{}: {}", e.path.concat(), e.message))
    })
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

fn from_python_at(object: &Bound<'_, PyAny>, depth: usize) -> Result<Value, ConvertError> {
    if depth > MAX_DEPTH {
        return Err(ConvertError::new(format!("nested deeper than {MAX_DEPTH} levels")));
    }
    if object.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = object.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if let Ok(s) = object.cast::<PyString>() {
        return Ok(Value::String(text_of(s)?));
    }
    if object.is_instance_of::<PyInt>() {
        if let Ok(i) = object.extract::<i64>() {
            return Ok(Value::Number(i.into()));
        }
        if let Ok(u) = object.extract::<u64>() {
            return Ok(Value::Number(u.into()));
        }
        return Err(ConvertError::new("integer out of the 64-bit range"));
    }
    if let Ok(f) = object.cast::<PyFloat>() {
        return Number::from_f64(f.value())
            .map(Value::Number)
            .ok_or_else(|| ConvertError::new(format!("{} is not a JSON number", f.value())));
    }
    if let Ok(dict) = object.cast::<PyDict>() {
        let mut map = Map::new();
        for (key, item) in dict.iter() {
            let Ok(key) = key.cast::<PyString>() else {
                return Err(ConvertError::new("object keys must be str"));
            };
            let key = text_of(key)?;
            let item = from_python_at(&item, depth + 1).map_err(|e| e.at(format!(".{key}")))?;
            map.insert(key, item);
        }
        return Ok(Value::Object(map));
    }
    if let Ok(list) = object.cast::<PyList>() {
        return sequence(list.iter(), depth);
    }
    if let Ok(tuple) = object.cast::<PyTuple>() {
        return sequence(tuple.iter(), depth);
    }
    let type_name = object.get_type().name().map_or_else(|_| "?".to_owned(), |n| n.to_string());
    Err(ConvertError::new(format!("a {type_name} is not a JSON value")))
}

fn sequence<'py>(items: impl Iterator<Item = Bound<'py, PyAny>>, depth: usize) -> Result<Value, ConvertError> {
    items
        .enumerate()
        .map(|(index, item)| from_python_at(&item, depth + 1).map_err(|e| e.at(format!("[{index}]"))))
        .collect::<Result<Vec<_>, _>>()
        .map(Value::Array)
}

fn text_of(s: &Bound<'_, PyString>) -> Result<String, ConvertError> {
    s.to_str().map(str::to_owned).map_err(|e| ConvertError::new(e.to_string()))
}
