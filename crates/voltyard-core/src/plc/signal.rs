//! Signals as bit fields of the 64-bit little-endian payload word (DBC byte order `@1`, Intel):
//! extraction with sign extension and range-checked insertion. The Rust field types that carry
//! signals implement [`SignalValue`].

/// A Rust type that carries a signal's raw value.
pub trait SignalValue: Copy {
    /// Whether the signal is signed (two's complement in its bits).
    const SIGNED: bool;
    fn to_raw(self) -> i64;
    /// `raw` comes from a bit field no wider than the type, so it always fits.
    fn from_raw(raw: i64) -> Self;
}

impl SignalValue for bool {
    const SIGNED: bool = false;
    fn to_raw(self) -> i64 {
        i64::from(self)
    }
    fn from_raw(raw: i64) -> Self {
        raw != 0
    }
}

macro_rules! int_signal {
    ($($ty:ty => $signed:literal),*) => {$(
        impl SignalValue for $ty {
            const SIGNED: bool = $signed;
            fn to_raw(self) -> i64 {
                i64::from(self)
            }
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // bounded by the field width
            fn from_raw(raw: i64) -> Self {
                raw as $ty
            }
        }
    )*};
}
int_signal!(u8 => false, u16 => false, u32 => false, i8 => true, i16 => true, i32 => true);

const fn mask(len: u32) -> u64 {
    if len >= 64 { u64::MAX } else { (1u64 << len) - 1 }
}

/// The smallest and largest raw value of a signal of `len` bits.
#[must_use]
pub const fn raw_range(len: u32, signed: bool) -> (i64, i64) {
    if signed {
        let half = 1i64 << (len - 1);
        (-half, half - 1)
    } else {
        #[allow(clippy::cast_possible_wrap)] // signals are at most 32 bits wide
        (0, mask(len) as i64)
    }
}

/// The raw value of the signal at `start`, `len` bits wide.
#[inline]
#[must_use]
pub fn extract(word: u64, start: u32, len: u32, signed: bool) -> i64 {
    let raw = (word >> start) & mask(len);
    #[allow(clippy::cast_possible_wrap)] // at most 32 significant bits
    if signed && (raw >> (len - 1)) & 1 == 1 { (raw | !mask(len)) as i64 } else { raw as i64 }
}

/// ORs `value` into the signal's bits, or returns the allowed range when it does not fit.
#[inline]
pub fn insert(word: &mut u64, start: u32, len: u32, signed: bool, value: i64) -> Result<(), (i64, i64)> {
    let (min, max) = raw_range(len, signed);
    if value < min || value > max {
        return Err((min, max));
    }
    #[allow(clippy::cast_sign_loss)] // two's complement bits are what the payload holds
    let bits = (value as u64) & mask(len);
    *word |= bits << start;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_17_bits_round_trip_at_the_edges() {
        for value in [-65_536, -1, 0, 1, 65_535] {
            let mut word = 0;
            insert(&mut word, 7, 17, true, value).unwrap();
            assert_eq!(extract(word, 7, 17, true), value);
            assert_eq!(word & !(mask(17) << 7), 0, "no bit outside the field");
        }
    }

    #[test]
    fn out_of_range_names_the_range() {
        let mut word = 0;
        assert_eq!(insert(&mut word, 0, 4, false, 16), Err((0, 15)));
        assert_eq!(insert(&mut word, 0, 8, true, -129), Err((-128, 127)));
        assert_eq!(word, 0);
    }
}
