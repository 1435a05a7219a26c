//! OCPP 1.6 `dateTime` values (RFC 3339, as the schemas' `date-time` format checks them): their Unix
//! time, and whether a charger's clock that wrote one is off.
//!
//! Every meterValue carries a timestamp, so the clock check runs per reading; reading the digits here
//! costs a few nanoseconds where a general date parser costs a microsecond.

/// 2000-01-01T00:00:00Z: a charger timestamp before it comes from a clock that was never set.
pub const EARLIEST_PLAUSIBLE: f64 = 946_684_800.0;

/// The Unix time (seconds) of `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`; a timestamp without an
/// offset is taken as UTC. `t` and `z` may be lower case and the `T` a space, as RFC 3339 allows.
/// None for anything else, or for fields out of range (month 13, hour 24).
#[must_use]
pub fn unix_seconds(text: &str) -> Option<f64> {
    let b = text.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    if !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let year = digits(&b[0..4])?;
    let (month, day) = (digits(&b[5..7])?, digits(&b[8..10])?);
    let (hour, minute, second) = (digits(&b[11..13])?, digits(&b[14..16])?, digits(&b[17..19])?);
    // A leap second (60) is valid RFC 3339; it is counted as the next second's start.
    if !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut rest = &b[19..];
    let mut fraction = 0.0;
    if let [b'.', tail @ ..] = rest {
        let count = tail.iter().take_while(|c| c.is_ascii_digit()).count();
        if count == 0 {
            return None;
        }
        let mut scale = 0.1;
        for &c in &tail[..count] {
            fraction += f64::from(c - b'0') * scale;
            scale /= 10.0;
        }
        rest = &tail[count..];
    }
    let offset = match rest {
        [] | [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let (hours, minutes) = (digits(&[*h1, *h2])?, digits(&[*m1, *m2])?);
            if hours > 23 || minutes > 59 {
                return None;
            }
            let offset = i64::from(hours * 3600 + minutes * 60);
            if *sign == b'+' { offset } else { -offset }
        }
        _ => return None,
    };
    let days = days_from_civil(i64::from(year), month, day);
    let seconds = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second) - offset;
    #[allow(clippy::cast_precision_loss)] // exact: |seconds| < 2^53 for any four-digit year
    Some(seconds as f64 + fraction)
}

/// Whether a charger timestamp shows a clock that is off: before 2000, or after `limit` (Unix
/// seconds: now plus the tolerance). A timestamp that cannot be read is judged by its year alone,
/// as the schema check has passed it and a guess would raise false alarms.
#[must_use]
pub fn clock_skewed(text: &str, limit: f64) -> bool {
    match unix_seconds(text) {
        Some(at) => at < EARLIEST_PLAUSIBLE || at > limit,
        None => text.as_bytes().get(..4).is_some_and(|year| year < b"2000".as_slice()),
    }
}

fn digits(field: &[u8]) -> Option<u32> {
    field.iter().try_fold(0u32, |n, &c| c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0')))
}

const fn is_leap(year: u32) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

const fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
const fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = month as i64;
    let day_of_year = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + day as i64 - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_utc_and_offset_timestamps() {
        assert_eq!(unix_seconds("1970-01-01T00:00:00Z"), Some(0.0));
        assert_eq!(unix_seconds("2000-01-01T00:00:00Z"), Some(EARLIEST_PLAUSIBLE));
        assert_eq!(unix_seconds("2026-11-25T10:16:00Z"), Some(1_795_601_760.0));
        assert_eq!(unix_seconds("2026-11-25T11:16:00+01:00"), Some(1_795_601_760.0));
        assert_eq!(unix_seconds("2026-11-25T09:46:00-00:30"), Some(1_795_601_760.0));
        assert_eq!(unix_seconds("2026-11-25t10:16:00.25z"), Some(1_795_601_760.25));
        assert_eq!(unix_seconds("2026-11-25 10:16:00"), Some(1_795_601_760.0));
        assert_eq!(unix_seconds("2024-02-29T00:00:00Z"), Some(1_709_164_800.0));
        assert_eq!(unix_seconds("1969-12-31T23:59:59Z"), Some(-1.0));
    }

    #[test]
    fn refuses_what_is_not_a_date_time() {
        for text in [
            "",
            "2026-11-25",
            "2026-13-01T00:00:00Z",
            "2026-02-29T00:00:00Z",
            "2026-11-25T24:00:00Z",
            "2026-11-25T10:16:00.Z",
            "2026-11-25T10:16:00+0100",
            "2026-11-25T10:16:00Zjunk",
            "2026-11-25X10:16:00Z",
            "２０２６-11-25T10:16:00Z",
        ] {
            assert_eq!(unix_seconds(text), None, "{text}");
        }
    }

    #[test]
    fn flags_clocks_that_were_never_set_or_run_ahead() {
        let limit = 1_795_601_760.0;
        assert!(clock_skewed("1999-12-31T23:59:59Z", limit));
        assert!(!clock_skewed("2000-01-01T00:00:00Z", limit));
        assert!(!clock_skewed("2026-11-25T10:16:00Z", limit));
        assert!(clock_skewed("2026-11-25T10:16:00.5Z", limit));
        assert!(clock_skewed("1970-garbage", limit));
        assert!(!clock_skewed("2026-garbage", limit));
    }
}
