//! `TokenBucket` of `voltyard._native`: voltyard-core's bucket on a monotonic clock, or on a Python
//! clock given for tests.

use std::sync::OnceLock;
use std::time::Instant;

use pyo3::prelude::*;
use voltyard_core::rate;

use crate::errors::value_error;

/// `rate` tokens per second, at most `burst` saved up; `clock()` gives seconds (default: monotonic).
#[pyclass(module = "voltyard._native")]
pub struct TokenBucket {
    bucket: rate::TokenBucket,
    clock: Option<Py<PyAny>>,
}

impl TokenBucket {
    fn now(&self, py: Python<'_>) -> PyResult<f64> {
        read_clock(py, self.clock.as_ref())
    }
}

fn read_clock(py: Python<'_>, clock: Option<&Py<PyAny>>) -> PyResult<f64> {
    match clock {
        None => Ok(monotonic()),
        Some(clock) => clock.call0(py)?.extract(py),
    }
}

#[pymethods]
impl TokenBucket {
    #[new]
    #[pyo3(signature = (rate, burst, clock = None))]
    fn new(py: Python<'_>, rate: f64, burst: f64, clock: Option<Py<PyAny>>) -> PyResult<Self> {
        if !(rate.is_finite() && rate > 0.0 && burst.is_finite() && burst >= 1.0) {
            return Err(value_error(format!(
                "a token bucket needs a finite rate above 0 and a burst of at least 1, got rate {rate}, burst {burst}"
            ))
            .into());
        }
        let now = read_clock(py, clock.as_ref())?;
        Ok(Self { bucket: rate::TokenBucket::new(rate, burst, now), clock })
    }

    #[getter]
    fn rate(&self) -> f64 {
        self.bucket.rate()
    }

    #[getter]
    fn burst(&self) -> f64 {
        self.bucket.burst()
    }

    /// Spend one token if there is one.
    fn take(&mut self, py: Python<'_>) -> PyResult<bool> {
        let now = self.now(py)?;
        Ok(self.bucket.take(now))
    }

    /// Seconds until the next token.
    fn wait_time(&self) -> f64 {
        self.bucket.wait_time()
    }
}

/// Seconds on a monotonic clock (its origin: the first reading).
fn monotonic() -> f64 {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    ORIGIN.get_or_init(Instant::now).elapsed().as_secs_f64()
}
