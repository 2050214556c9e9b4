//! Field decoders for the REST answers: as lenient as the notifications' (numbers or
//! strings, `true` or `"1"`), and softer still: a value of a type that does not fit reads
//! as absent instead of failing the whole answer. It stays in the item's raw JSON.

use serde::de::{Deserialize, DeserializeOwned, Deserializer};
use serde_json::Value;

use crate::MediaType;
use crate::notification::lenient;

/// `read` over the value, or `None` where it does not fit.
fn soft<'de, D, T>(
    d: D,
    read: impl FnOnce(&Value) -> Result<Option<T>, serde_json::Error>,
) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
{
    let value = Value::deserialize(d)?;
    Ok(read(&value).ok().flatten())
}

pub(crate) fn string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    soft(d, |v| lenient::string(v))
}

pub(crate) fn int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    soft(d, |v| lenient::int(v))
}

pub(crate) fn boolean<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    soft(d, |v| lenient::boolean(v))
}

pub(crate) fn playback_state<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<crate::PlaybackState, D::Error> {
    Ok(
        soft(d, |v| lenient::string(v))?.map_or(crate::PlaybackState::Unknown, |w| {
            crate::PlaybackState::from_word(&w)
        }),
    )
}

pub(crate) fn media_type<'de, D: Deserializer<'de>>(d: D) -> Result<Option<MediaType>, D::Error> {
    soft(d, |v| lenient::media_type(v))
}

/// A nested object (`User`, `Player`, ...), or `None` if it is not one.
pub(crate) fn object<'de, D: Deserializer<'de>, T: DeserializeOwned>(
    d: D,
) -> Result<Option<T>, D::Error> {
    soft(d, |v| match v {
        Value::Object(_) => T::deserialize(v).map(Some),
        _ => Ok(None),
    })
}

/// The `id`s of a `Guid` array (`[{"id": "tmdb://12345"}]`).
pub(crate) fn guids<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let value = Value::deserialize(d)?;
    let items = match &value {
        Value::Array(items) => items.as_slice(),
        Value::Object(_) => std::slice::from_ref(&value),
        _ => &[],
    };
    Ok(items
        .iter()
        .filter_map(|g| lenient::string(&g["id"]).ok().flatten())
        .collect())
}
