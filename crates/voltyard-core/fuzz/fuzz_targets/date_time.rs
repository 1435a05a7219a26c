//! Any text through the `dateTime` reader: it never panics, what it reads is a finite time within
//! four-digit years, and the clock-skew judgement of text it reads agrees with that time.
#![no_main]

use libfuzzer_sys::fuzz_target;
use voltyard_core::ocppj::datetime::{EARLIEST_PLAUSIBLE, clock_skewed, unix_seconds};

// 0000-01-01T00:00:00+23:59 and 9999-12-31T23:59:60-23:59, in Unix seconds.
const FIRST: f64 = -62_167_305_540.0;
const LAST: f64 = 253_402_387_201.0;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let limit = 1.8e9;
    match unix_seconds(text) {
        Some(at) => {
            assert!(at.is_finite() && (FIRST..LAST).contains(&at), "{text:?} read as {at}");
            assert_eq!(clock_skewed(text, limit), at < EARLIEST_PLAUSIBLE || at > limit);
        }
        None => {
            let _ = clock_skewed(text, limit);
        }
    }
});
