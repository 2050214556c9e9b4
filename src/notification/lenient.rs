//! Field decoders that accept what real servers send: numbers as strings and the reverse,
//! `null` for absent. Used with `#[serde(default, deserialize_with = "...")]`.

use std::fmt;

use serde::Deserializer;
use serde::de::{self, Visitor};

/// A text field: a string, or a number or boolean written as text.
pub(crate) fn string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<String>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a string or a number")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(v.to_owned()))
        }
        fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    }
    d.deserialize_any(V)
}

/// A word read by `read`, without keeping its text: a string, or a number or boolean
/// written as text, as [`string`] takes them; `null` is `T::default()`.
pub(crate) fn word<'de, D: Deserializer<'de>, T: Default>(
    d: D,
    read: fn(&str) -> T,
) -> Result<T, D::Error> {
    struct V<T>(fn(&str) -> T);
    impl<'de, T: Default> Visitor<'de> for V<T> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a string or a number")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
            Ok(self.0(v))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
            Ok(self.0(&v.to_string()))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
            Ok(self.0(&v.to_string()))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<T, E> {
            Ok(self.0(&v.to_string()))
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<T, E> {
            Ok(self.0(&v.to_string()))
        }
        fn visit_unit<E: de::Error>(self) -> Result<T, E> {
            Ok(T::default())
        }
    }
    d.deserialize_any(V(read))
}

/// A whole number: an integer, an integral float, or either written as text.
pub(crate) fn int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<i64>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a whole number, or one written as a string")
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            i64::try_from(v)
                .map(Some)
                .map_err(|_| E::custom(format!("{v} is out of range")))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            if v.fract() == 0.0 && v.abs() < 9.0e15 {
                Ok(Some(v as i64))
            } else {
                Err(E::custom(format!("{v} is not a whole number")))
            }
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            let t = v.trim();
            if t.is_empty() {
                return Ok(None);
            }
            match t.parse::<i64>() {
                Ok(n) => Ok(Some(n)),
                Err(_) => match t.parse::<f64>() {
                    Ok(f) => self.visit_f64(f),
                    Err(_) => Err(E::custom(format!("{v:?} is not a number"))),
                },
            }
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    }
    d.deserialize_any(V)
}

/// A number with a fraction: any number, or one written as text (finite: not "NaN").
pub(crate) fn float<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<f64>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a number, or one written as a string")
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v as f64))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(v as f64))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            let t = v.trim();
            if t.is_empty() {
                return Ok(None);
            }
            // Rust reads "NaN" and "inf", which JSON has no number for: not quantities.
            match t.parse::<f64>() {
                Ok(f) if f.is_finite() => Ok(Some(f)),
                _ => Err(E::custom(format!("{v:?} is not a number"))),
            }
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    }
    d.deserialize_any(V)
}

/// A media type: a name or a number, or either written as text; empty is none.
pub(crate) fn media_type<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<crate::MediaType>, D::Error> {
    use serde::Deserialize;
    match Option::<crate::MediaType>::deserialize(d)? {
        Some(crate::MediaType::Unknown(crate::media::UnknownType::Name(n))) if n.is_empty() => {
            Ok(None)
        }
        other => Ok(other),
    }
}

/// A flag: a boolean, 0 or 1, or `"true"`/`"false"`/`"0"`/`"1"`.
pub(crate) fn boolean<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<bool>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a boolean, 0 or 1")
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            match v {
                0 => Ok(Some(false)),
                1 => Ok(Some(true)),
                _ => Err(E::custom(format!("{v} is not a boolean"))),
            }
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            self.visit_i64(i64::try_from(v).unwrap_or(i64::MAX))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            match v.trim() {
                "" => Ok(None),
                "1" | "true" | "True" => Ok(Some(true)),
                "0" | "false" | "False" => Ok(Some(false)),
                _ => Err(E::custom(format!("{v:?} is not a boolean"))),
            }
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    }
    d.deserialize_any(V)
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Deserialize, Default, Debug)]
    #[serde(default)]
    struct T {
        #[serde(deserialize_with = "super::string")]
        s: Option<String>,
        #[serde(deserialize_with = "super::int")]
        i: Option<i64>,
        #[serde(deserialize_with = "super::float")]
        f: Option<f64>,
        #[serde(deserialize_with = "super::boolean")]
        b: Option<bool>,
    }

    fn t(json: &str) -> T {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn numbers_and_strings_are_interchangeable() {
        let a = t(r#"{"s":42,"i":"17","f":"1.5","b":"1"}"#);
        assert_eq!(
            (a.s.as_deref(), a.i, a.f, a.b),
            (Some("42"), Some(17), Some(1.5), Some(true))
        );
        let b = t(r#"{"s":"x","i":17.0,"f":2,"b":0}"#);
        assert_eq!(
            (b.s.as_deref(), b.i, b.f, b.b),
            (Some("x"), Some(17), Some(2.0), Some(false))
        );
    }

    #[test]
    fn null_empty_and_missing_are_none() {
        let a = t(r#"{"s":null,"i":"","f":null}"#);
        assert_eq!((a.s, a.i, a.f, a.b), (None, None, None, None));
    }

    #[test]
    fn a_state_is_any_word_and_only_a_word() {
        use crate::PlaybackState;
        let state = |json: &str| serde_json::from_str::<PlaybackState>(json);
        assert_eq!(state(r#""paused""#).unwrap(), PlaybackState::Paused);
        assert_eq!(state(r#""pl\u0061ying""#).unwrap(), PlaybackState::Playing);
        for unknown in [r#""Paused""#, r#""""#, "1", "true", "1.5", "null"] {
            assert_eq!(state(unknown).unwrap(), PlaybackState::Unknown, "{unknown}");
        }
        for nonsense in ["{}", r#"["playing"]"#] {
            let e = state(nonsense).unwrap_err().to_string();
            assert!(e.contains("expected a string or a number"), "{e}");
        }
    }

    #[test]
    fn nonsense_is_an_error_not_a_guess() {
        assert!(serde_json::from_str::<T>(r#"{"i":"abc"}"#).is_err());
        assert!(serde_json::from_str::<T>(r#"{"i":1.5}"#).is_err());
        assert!(serde_json::from_str::<T>(r#"{"b":7}"#).is_err());
        assert!(serde_json::from_str::<T>(r#"{"s":{"a":1}}"#).is_err());
        for not_finite in ["NaN", "inf", "-infinity"] {
            let json = format!(r#"{{"f":"{not_finite}"}}"#);
            assert!(serde_json::from_str::<T>(&json).is_err(), "{json}");
            let json = format!(r#"{{"i":"{not_finite}"}}"#);
            assert!(serde_json::from_str::<T>(&json).is_err(), "{json}");
        }
    }
}
