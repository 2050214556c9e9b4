//! [`MediaType`]: what kind of item something is, as Plex names it by word (`"episode"`,
//! in sessions and metadata) or by number (`4`, in timeline notifications).

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// A Plex media type. Sessions and metadata name it by word (`"episode"`), timeline
/// notifications by number (`4`); both read to the same variant, and a type this crate
/// does not know is kept as it was sent.
///
/// ```
/// use plex_alerts::MediaType;
///
/// assert_eq!(MediaType::from_code(4), MediaType::Episode);
/// assert_eq!(MediaType::from_name("episode"), MediaType::Episode);
/// assert_eq!(MediaType::Episode.code(), Some(4));
/// assert_eq!(MediaType::from_code(99).code(), Some(99)); // kept
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MediaType {
    /// `movie`, 1.
    Movie,
    /// `show`, 2.
    Show,
    /// `season`, 3.
    Season,
    /// `episode`, 4.
    Episode,
    /// `trailer`, 5.
    Trailer,
    /// `person`, 7.
    Person,
    /// `artist`, 8.
    Artist,
    /// `album`, 9.
    Album,
    /// `track`, 10.
    Track,
    /// `clip`, 12 (also prerolls and extras).
    Clip,
    /// `photo`, 13.
    Photo,
    /// `photoalbum`, 14.
    PhotoAlbum,
    /// `playlist`, 15.
    Playlist,
    /// `collection`, 18.
    Collection,
    /// A type this crate does not know, as sent: its number (`-1` is seen on timeline
    /// entries that are not library items), or its name.
    Unknown(UnknownType),
}

/// A media type as sent, when [`MediaType`] has no variant for it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum UnknownType {
    /// Sent as a number.
    Code(i64),
    /// Sent as a name.
    Name(String),
}

/// Every known type: its variant, name and number.
const TYPES: [(MediaType, &str, i64); 14] = [
    (MediaType::Movie, "movie", 1),
    (MediaType::Show, "show", 2),
    (MediaType::Season, "season", 3),
    (MediaType::Episode, "episode", 4),
    (MediaType::Trailer, "trailer", 5),
    (MediaType::Person, "person", 7),
    (MediaType::Artist, "artist", 8),
    (MediaType::Album, "album", 9),
    (MediaType::Track, "track", 10),
    (MediaType::Clip, "clip", 12),
    (MediaType::Photo, "photo", 13),
    (MediaType::PhotoAlbum, "photoalbum", 14),
    (MediaType::Playlist, "playlist", 15),
    (MediaType::Collection, "collection", 18),
];

impl MediaType {
    /// The type Plex numbers `code` (timeline notifications' `type`).
    pub fn from_code(code: i64) -> MediaType {
        TYPES
            .iter()
            .find(|(_, _, c)| *c == code)
            .map_or(MediaType::Unknown(UnknownType::Code(code)), |(t, _, _)| {
                t.clone()
            })
    }

    /// The type Plex names `name` (sessions' and metadata's `type`). A name that is a
    /// number is read as [`from_code`](Self::from_code) reads it.
    pub fn from_name(name: &str) -> MediaType {
        let name = name.trim();
        if let Ok(code) = name.parse::<i64>() {
            return MediaType::from_code(code);
        }
        TYPES
            .iter()
            .find(|(_, n, _)| n.eq_ignore_ascii_case(name))
            .map_or_else(
                || MediaType::Unknown(UnknownType::Name(name.to_owned())),
                |(t, _, _)| t.clone(),
            )
    }

    /// Plex's number for this type, if it has one.
    pub fn code(&self) -> Option<i64> {
        match self {
            MediaType::Unknown(UnknownType::Code(code)) => Some(*code),
            MediaType::Unknown(UnknownType::Name(_)) => None,
            known => TYPES
                .iter()
                .find(|(t, _, _)| t == known)
                .map(|(_, _, c)| *c),
        }
    }

    /// Plex's name for this type (`"episode"`), or the number as text for an unknown one
    /// sent as a number.
    pub fn name(&self) -> std::borrow::Cow<'_, str> {
        match self {
            MediaType::Unknown(UnknownType::Code(code)) => code.to_string().into(),
            MediaType::Unknown(UnknownType::Name(name)) => name.as_str().into(),
            known => TYPES
                .iter()
                .find(|(t, _, _)| t == known)
                .map_or("", |(_, n, _)| n)
                .into(),
        }
    }

    /// Whether this is an item a library holds (not a person, playlist or unknown type).
    pub fn is_library_item(&self) -> bool {
        !matches!(
            self,
            MediaType::Person | MediaType::Playlist | MediaType::Unknown(_)
        )
    }
}

impl fmt::Display for MediaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// Serialised as Plex names it: the name, or the number for an unknown numbered type.
impl Serialize for MediaType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            MediaType::Unknown(UnknownType::Code(code)) => s.serialize_i64(*code),
            other => s.serialize_str(&other.name()),
        }
    }
}

/// Read from a name or a number, as servers send either.
impl<'de> Deserialize<'de> for MediaType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<MediaType, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = MediaType;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a media type's name or number")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<MediaType, E> {
                Ok(MediaType::from_name(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<MediaType, E> {
                Ok(MediaType::from_code(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<MediaType, E> {
                i64::try_from(v)
                    .map(MediaType::from_code)
                    .map_err(|_| E::custom(format!("{v} is not a media type")))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<MediaType, E> {
                match v.fract() == 0.0 && v.abs() < 1e15 {
                    true => Ok(MediaType::from_code(v as i64)),
                    false => Err(E::custom(format!("{v} is not a media type"))),
                }
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers_read_to_one_type_and_unknown_ones_are_kept() {
        for (t, name, code) in TYPES.iter() {
            assert_eq!(&MediaType::from_code(*code), t);
            assert_eq!(&MediaType::from_name(name), t);
            assert_eq!(&MediaType::from_name(&code.to_string()), t);
            assert_eq!(t.code(), Some(*code));
            assert_eq!(t.name(), *name);
        }
        assert_eq!(MediaType::from_code(-1).code(), Some(-1));
        assert_eq!(MediaType::from_name("hologram").name(), "hologram");
        let t: MediaType = serde_json::from_str("\"Episode\"").unwrap();
        assert_eq!(t, MediaType::Episode);
        let t: MediaType = serde_json::from_str("4").unwrap();
        assert_eq!(serde_json::to_string(&t).unwrap(), "\"episode\"");
        let t: MediaType = serde_json::from_str("-1").unwrap();
        assert_eq!(serde_json::to_string(&t).unwrap(), "-1");
        assert!(serde_json::from_str::<MediaType>("1.5").is_err());
    }
}
