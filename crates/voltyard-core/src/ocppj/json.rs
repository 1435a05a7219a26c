//! Strict JSON text -> `serde_json::Value`: RFC 8259 as `serde_json` reads it (UTF-8 only, no
//! NaN/Infinity, at most 128 levels of nesting) and, in addition, objects with a repeated key are
//! refused (two readers of one frame must never see different payloads), and so are numbers of
//! magnitude 2^63 or more: no OCPP field holds one, the store cannot keep one as an integer, and
//! JSON-schema's `integer` would accept `1e30` as one.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// Parses one JSON document from `bytes`, refusing duplicate object keys and trailing content.
pub fn parse_strict(bytes: &[u8]) -> Result<Value, serde_json::Error> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = StrictValue.deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(value)
}

struct StrictValue;

impl<'de> DeserializeSeed<'de> for StrictValue {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictValue {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        // 2^63 as f64: the first magnitude that no i64 holds.
        const LIMIT: f64 = 9_223_372_036_854_775_808.0;
        if v.abs() >= LIMIT {
            return Err(E::custom(format_args!("number {v:e} is beyond the 64-bit range")));
        }
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("number is not finite"))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(16));
        while let Some(item) = seq.next_element_seed(StrictValue)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            if map.contains_key(&key) {
                return Err(de::Error::custom(format_args!("duplicate key {key:?}")));
            }
            let value = access.next_value_seed(StrictValue)?;
            map.insert(key, value);
        }
        Ok(Value::Object(map))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_plain_documents() {
        let value = parse_strict(br#"[2, "a", "Heartbeat", {"x": [1, -2, 3.5, null, true]}]"#).unwrap();
        assert_eq!(value, json!([2, "a", "Heartbeat", {"x": [1, -2, 3.5, null, true]}]));
    }

    #[test]
    fn refuses_duplicate_keys_at_any_depth() {
        let err = parse_strict(br#"{"a": {"b": 1, "b": 2}}"#).unwrap_err();
        assert!(err.to_string().contains("duplicate key \"b\""), "{err}");
    }

    #[test]
    fn refuses_non_finite_and_out_of_range_numbers() {
        for text in ["NaN", "Infinity", "-Infinity", "1e400", "[-1e999]", "1e19", "-9223372036854775809.0"] {
            assert!(parse_strict(text.as_bytes()).is_err(), "{text}");
        }
    }

    #[test]
    fn keeps_the_64_bit_range() {
        let value = parse_strict(b"[18446744073709551615, -9223372036854775808, 1e18, 0.5]").unwrap();
        assert_eq!(value, json!([u64::MAX, i64::MIN, 1e18, 0.5]));
    }

    #[test]
    fn refuses_deep_nesting_without_overflowing_the_stack() {
        let deep = "[".repeat(10_000) + &"]".repeat(10_000);
        let err = parse_strict(deep.as_bytes()).unwrap_err();
        assert!(err.to_string().contains("recursion limit"), "{err}");
    }

    #[test]
    fn refuses_trailing_content_and_invalid_utf8() {
        assert!(parse_strict(b"[] []").is_err());
        assert!(parse_strict(b"[\"\xff\"]").is_err());
    }
}
