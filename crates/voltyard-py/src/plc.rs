//! The PLC frame classes and `decode_plc_frame` of `voltyard._native`: one frozen class per message
//! layout of voltyard-core's `plc::frames`, built from the same table (`with_plc_frames!`), so the
//! fields are the core's. Each class holds the `plc_id` besides its signals, and `encode()`s itself.

use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::PyBytes;
use voltyard_core::plc as core_plc;

use crate::errors::CoreError;

macro_rules! define_pyframes {
    ($(
        $(#[$meta:meta])*
        $name:ident($direction:ident, $nibble:literal, $mux:expr) {
            $($field:ident: $ty:ty = $start:literal, $len:literal;)*
        }
    )*) => {
        $(
            $(#[$meta])*
            #[pyclass(frozen, eq, hash, get_all, module = "voltyard._native")]
            #[derive(Clone, PartialEq, Eq, Hash)]
            pub struct $name {
                plc_id: u8,
                $($field: $ty,)*
            }

            #[pymethods]
            impl $name {
                /// The arbitration ID of this message for plcId 0.
                #[classattr]
                const BASE_ID: u32 = core_plc::$name::MESSAGE_TYPE.base_id();
                /// The multiplexer value of this layout, or None.
                #[classattr]
                const MUX: Option<u8> = core_plc::$name::MUX;

                #[new]
                #[allow(clippy::too_many_arguments)] // one keyword argument per signal
                #[pyo3(signature = (plc_id, *, $($field = <$ty as Default>::default()),*))]
                fn new(plc_id: u8, $($field: $ty),*) -> Self {
                    Self { plc_id, $($field),* }
                }

                /// `(arbitration_id, data)`: the 8-byte payload with the CRC in byte 7.
                fn encode<'py>(&self, py: Python<'py>) -> Result<(u32, Bound<'py, PyBytes>), CoreError> {
                    let frame = core_plc::PlcFrame::$name(core_plc::$name { $($field: self.$field),* });
                    let (id, data) = core_plc::encode(self.plc_id, &frame)?;
                    Ok((id, PyBytes::new(py, &data)))
                }

                fn __repr__(&self) -> String {
                    let mut out = format!(concat!(stringify!($name), "(plc_id={}"), self.plc_id);
                    $(out.push_str(&format!(concat!(", ", stringify!($field), "={}"), self.$field.py_repr()));)*
                    out.push(')');
                    out
                }
            }
        )*

        fn frame_to_python(py: Python<'_>, plc_id: u8, frame: core_plc::PlcFrame) -> PyResult<Py<PyAny>> {
            Ok(match frame {
                $(core_plc::PlcFrame::$name(f) => {
                    Bound::new(py, $name { plc_id, $($field: f.$field),* })?.into_any().unbind()
                })*
            })
        }
    };
}

voltyard_core::with_plc_frames!(define_pyframes);

/// A field as Python's `repr` shows it (`True`, not `true`).
trait PyRepr {
    fn py_repr(self) -> String;
}

impl PyRepr for bool {
    fn py_repr(self) -> String {
        (if self { "True" } else { "False" }).to_owned()
    }
}

macro_rules! int_repr {
    ($($ty:ty),*) => {$(
        impl PyRepr for $ty {
            fn py_repr(self) -> String {
                self.to_string()
            }
        }
    )*};
}
int_repr!(u8, u16, u32, i8, i16, i32);

/// The frame that `data`, received with `arbitration_id`, carries (an instance of one of the
/// frame classes), after checking the ID, the length, the CRC and the multiplexer.
#[pyfunction]
#[allow(clippy::needless_pass_by_value)] // pyo3 extracts the argument by value
pub fn decode_plc_frame(py: Python<'_>, arbitration_id: u32, data: PyBackedBytes) -> Result<Py<PyAny>, CoreError> {
    let (plc_id, frame) = core_plc::decode(arbitration_id, &data)?;
    frame_to_python(py, plc_id, frame).map_err(CoreError::from_py)
}
