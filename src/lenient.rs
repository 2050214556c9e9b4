//! Field decoders that accept what real servers send: numbers as strings and the reverse,
//! `null` for absent. Used with `#[serde(default, deserialize_with = "...")]`.

use std::cell::Cell;
use std::fmt;

use serde::Deserializer;
use serde::de::{self, Visitor};

thread_local! {
    static CHECKING: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` with text fields checked but not copied: each decodes to an empty string,
/// accepting and refusing exactly what it otherwise would. A decode run this way tells
/// whether the typed view fits, without allocating its strings.
pub(crate) fn checking<T>(f: impl FnOnce() -> T) -> T {
    struct Reset(bool);
    impl Drop for Reset {
        fn drop(&mut self) {
            CHECKING.with(|c| c.set(self.0));
        }
    }
    let _reset = Reset(CHECKING.with(|c| c.replace(true)));
    f()
}

/// The text of a field: `make()`, or an empty string while [`checking`].
fn text(make: impl FnOnce() -> String) -> Option<String> {
    Some(if CHECKING.with(Cell::get) {
        String::new()
    } else {
        make()
    })
}

/// A text field: a string, or a number or boolean written as text.
pub(crate) fn string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<String>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a string or a number")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(text(|| v.to_owned()))
        }
        fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
            Ok(text(|| v))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(text(|| v.to_string()))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(text(|| v.to_string()))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            Ok(text(|| v.to_string()))
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
            Ok(text(|| v.to_string()))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    }
    d.deserialize_any(V)
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

    #[test]
    fn checking_accepts_and_refuses_the_same_without_keeping_text() {
        let inputs = [
            r#"{"s":"x","i":17.0,"f":2,"b":0}"#,
            r#"{"s":42,"i":"17","f":"1.5","b":"1"}"#,
            r#"{"s":true,"i":null}"#,
            r#"{"s":"\u00e9t\u00e9"}"#,
            r#"{"i":"abc"}"#,
            r#"{"s":{"a":1}}"#,
            r#"{"s":[1]}"#,
            r#"{"b":7}"#,
        ];
        for json in inputs {
            let made = serde_json::from_str::<T>(json);
            let checked = super::checking(|| serde_json::from_str::<T>(json));
            assert_eq!(made.is_ok(), checked.is_ok(), "{json}");
            if let (Ok(made), Ok(checked)) = (made, checked) {
                assert_eq!(made.s.is_some(), checked.s.is_some(), "{json}");
                assert_eq!(checked.s.as_deref().unwrap_or(""), "", "{json}");
                assert_eq!((made.i, made.f, made.b), (checked.i, checked.f, checked.b));
            }
        }
        // Checking ends with the call, also when it panics.
        assert_eq!(t(r#"{"s":"x"}"#).s.as_deref(), Some("x"));
        let _ = std::panic::catch_unwind(|| super::checking(|| panic!("inside")));
        assert_eq!(t(r#"{"s":"x"}"#).s.as_deref(), Some("x"));
    }
}
