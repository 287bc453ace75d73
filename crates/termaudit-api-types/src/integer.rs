//! Integer fields that accept what JSON Schema counts as an integer: `828`
//! and also `828.0` (JSON Schema's `integer` is any number with a zero
//! fractional part, and some clients and languages write every number as a
//! float). Use as `#[serde(deserialize_with = "integer::exact")]`, or
//! `integer::optional` with `#[serde(default)]` on an `Option`. Text (as a
//! query string carries it) is read the same way. Numbers with a fraction or
//! outside the target type are refused.

use std::{fmt, marker::PhantomData};

use serde::{Deserializer, de};

/// An integer of type `T` from an integral JSON number or decimal text.
pub fn exact<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<i64> + TryFrom<u64>,
{
    deserializer.deserialize_any(IntegerVisitor(PhantomData))
}

/// [`exact`] for an optional field; `null` is `None`.
pub fn optional<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<i64> + TryFrom<u64>,
{
    deserializer.deserialize_option(OptionalVisitor(PhantomData))
}

/// A `u64` that the document types as JSON Schema's `int64` (as utoipa
/// does every `u64`): 0 to `i64::MAX`, so that what the server takes is
/// what the document says.
pub fn int64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    let value: i64 = exact(deserializer)?;
    u64::try_from(value).map_err(|_| de::Error::custom(format_args!("{value} is negative")))
}

/// [`int64`] for an optional field.
pub fn optional_int64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    let value: Option<i64> = optional(deserializer)?;
    value
        .map(|v| u64::try_from(v).map_err(|_| de::Error::custom(format_args!("{v} is negative"))))
        .transpose()
}

struct IntegerVisitor<T>(PhantomData<T>);

impl<T: TryFrom<i64> + TryFrom<u64>> IntegerVisitor<T> {
    fn out_of_range<E: de::Error>(value: impl fmt::Display) -> E {
        E::custom(format_args!("{value} is out of range for this field"))
    }
}

impl<'de, T: TryFrom<i64> + TryFrom<u64>> de::Visitor<'de> for IntegerVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an integer")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        T::try_from(v).map_err(|_| Self::out_of_range(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        T::try_from(v).map_err(|_| Self::out_of_range(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<T, E> {
        // 2^63 and beyond do not fit an i64; integral floats that large fit
        // no field of this API either.
        const LIMIT: f64 = 9_223_372_036_854_775_808.0;
        if v.fract() != 0.0 || !v.is_finite() {
            return Err(E::invalid_type(de::Unexpected::Float(v), &self));
        }
        if !(-LIMIT..LIMIT).contains(&v) {
            return Err(Self::out_of_range(v));
        }
        // Exact: integral and within i64's range.
        self.visit_i64(v as i64)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        if let Ok(n) = v.parse::<i64>() {
            return self.visit_i64(n);
        }
        if let Ok(n) = v.parse::<u64>() {
            return self.visit_u64(n);
        }
        match v.parse::<f64>() {
            // Only decimal text: "inf" and "NaN" are not numbers of JSON.
            Ok(n) if v.bytes().all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b)) => {
                self.visit_f64(n)
            }
            _ => Err(E::invalid_value(de::Unexpected::Str(v), &self)),
        }
    }
}

struct OptionalVisitor<T>(PhantomData<T>);

impl<'de, T: TryFrom<i64> + TryFrom<u64>> de::Visitor<'de> for OptionalVisitor<T> {
    type Value = Option<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an integer or null")
    }

    fn visit_none<E: de::Error>(self) -> Result<Option<T>, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Option<T>, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Option<T>, D::Error> {
        exact(deserializer).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Body {
        #[serde(deserialize_with = "super::exact")]
        days: u32,
        #[serde(default, deserialize_with = "super::optional")]
        duration_ms: Option<i64>,
    }

    fn parse(json: &str) -> Result<Body, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }

    #[test]
    fn integral_floats_are_integers() {
        assert_eq!(parse(r#"{"days": 828.0}"#), Ok(Body { days: 828, duration_ms: None }));
        assert_eq!(
            parse(r#"{"days": 1, "duration_ms": -5.0}"#),
            Ok(Body { days: 1, duration_ms: Some(-5) })
        );
        assert_eq!(parse(r#"{"days": 1e3, "duration_ms": null}"#).map(|b| b.days), Ok(1000));
    }

    #[test]
    fn fractions_and_overflow_are_refused() {
        assert!(parse(r#"{"days": 828.5}"#).is_err());
        assert!(parse(r#"{"days": -1}"#).is_err());
        assert!(parse(r#"{"days": 4294967296}"#).is_err());
        assert!(parse(r#"{"days": 1e300}"#).is_err());
        assert!(
            parse(r#"{"days": "12"}"#).is_ok(),
            "text is read too, as a query string carries it"
        );
        assert!(parse(r#"{"days": "inf"}"#).is_err());
        assert!(parse(r#"{"days": true}"#).is_err());
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Query {
        #[serde(default, deserialize_with = "super::optional")]
        limit: Option<u32>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Sizes {
        #[serde(default, deserialize_with = "super::optional_int64")]
        before: Option<u64>,
    }

    #[test]
    fn int64_sizes_stop_where_the_document_does() {
        let q = |s: &str| serde_urlencoded::from_str::<Sizes>(s).map(|s| s.before).ok();
        assert_eq!(q("before=9223372036854775807"), Some(Some(9_223_372_036_854_775_807)));
        assert_eq!(q("before=9223372036854775808"), None);
        assert_eq!(q("before=-1"), None);
        assert_eq!(q(""), Some(None));
    }

    #[test]
    fn query_strings_read_the_same_way() {
        let q = |s: &str| serde_urlencoded::from_str::<Query>(s).map_err(|e| e.to_string());
        assert_eq!(q("limit=50"), Ok(Query { limit: Some(50) }));
        assert_eq!(q("limit=50.0"), Ok(Query { limit: Some(50) }));
        assert_eq!(q(""), Ok(Query { limit: None }));
        assert!(q("limit=-1").is_err());
        assert!(q("limit=x").is_err());
    }
}
