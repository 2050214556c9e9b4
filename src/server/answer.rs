//! A REST answer read as it arrives: only the items a call can use are built; the rest is
//! skipped unbuilt, element by element, so that memory follows what is kept, never what
//! the server sent beyond it. Every bound (the answer's bytes, one item's bytes, the
//! number of items) is said clearly when passed.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::io::{self, BufRead, Read};

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;

/// What one call reads at most.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bounds {
    /// The whole answer, in bytes.
    pub bytes: u64,
    /// One item, in bytes.
    pub item_bytes: u64,
    /// Items built.
    pub items: usize,
    /// Whether more items than that make the answer an error (a listing that must be
    /// whole), or are left unread (a call that asked for that many).
    pub whole: bool,
}

impl Bounds {
    /// An answer read whole, of at most `bytes` (a write's, or [`PlexServer::get_json`]'s).
    ///
    /// [`PlexServer::get_json`]: crate::PlexServer::get_json
    pub const fn whole_within(bytes: u64) -> Bounds {
        Bounds {
            bytes,
            item_bytes: bytes,
            items: 0,
            whole: true,
        }
    }
}

/// The items of an answer, and how many elements were not items (a `null`, a number, a
/// string, an array where an object belongs): skipped, not fatal.
#[derive(Debug)]
pub(crate) struct Items<T> {
    pub items: Vec<T>,
    pub skipped: usize,
}

impl<T> Items<T> {
    pub fn new() -> Items<T> {
        Items {
            items: Vec::new(),
            skipped: 0,
        }
    }
}

/// What an item of an answer is built from: one JSON object.
pub(crate) trait FromObject: Sized {
    fn from_object(object: Value) -> Option<Self>;
}

/// Which bound a read passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Passed {
    Bytes,
    Item,
    Items,
}

/// The reader's count, shared with the parser's visitors.
#[derive(Default)]
struct Meter {
    read: Cell<u64>,
    /// Where the item being read began, if one is.
    item_start: Cell<Option<u64>>,
    passed: Cell<Option<Passed>>,
    /// Enough items were read: the rest is left unread.
    enough: Cell<bool>,
    /// The answer's first bytes, for an error's excerpt.
    start: RefCell<Vec<u8>>,
}

/// How much of an answer's start an error quotes, at most.
const EXCERPT_BYTES: usize = 512;

/// The body, counted against the bounds as it is read.
struct Metered<'a, R> {
    inner: R,
    meter: &'a Meter,
    bounds: Bounds,
}

impl<R: BufRead> Read for Metered<'_, R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let read = self.meter.read.get();
        let mut allowed = self.bounds.bytes.saturating_sub(read);
        if let Some(start) = self.meter.item_start.get() {
            allowed = allowed.min((start + self.bounds.item_bytes).saturating_sub(read));
        }
        let available = self.inner.fill_buf()?;
        if available.is_empty() {
            return Ok(0);
        }
        if allowed == 0 {
            // More is sent than may be read.
            let passed = match self.meter.item_start.get() {
                Some(_) if read < self.bounds.bytes => Passed::Item,
                _ => Passed::Bytes,
            };
            self.meter.passed.set(Some(passed));
            return Err(io::Error::other("a bound was passed"));
        }
        let n = available
            .len()
            .min(out.len())
            .min(usize::try_from(allowed).unwrap_or(usize::MAX));
        out[..n].copy_from_slice(&available[..n]);
        let mut start = self.meter.start.borrow_mut();
        if start.len() < EXCERPT_BYTES {
            let keep = n.min(EXCERPT_BYTES - start.len());
            start.extend_from_slice(&out[..keep]);
        }
        self.inner.consume(n);
        self.meter.read.set(read + n as u64);
        Ok(n)
    }
}

/// Why reading an answer failed, before it is said as an error for its path.
#[derive(Debug)]
pub(crate) enum Failed {
    /// Passed a bound: the answer is larger than what is read of it.
    TooLarge(&'static str, u64),
    /// Reading failed (the deadline, the connection, a stop).
    Io(io::Error),
    /// Not what Plex sends (not JSON, or no `MediaContainer`): why, the parser's words
    /// (which may quote the answer), and the answer's start.
    NotPlex(String, String, String),
}

/// Reads the items under `MediaContainer.<key>` (an array, one object, or none).
pub(crate) fn items<T: FromObject>(
    mut body: impl BufRead,
    key: &'static str,
    bounds: Bounds,
) -> Result<Items<T>, Failed> {
    let meter = Meter::default();
    let mut out = Items::new();
    let mut found = false;
    let seed = Root {
        meter: &meter,
        found: &mut found,
        inner: Listing {
            key,
            bounds,
            meter: &meter,
            out: &mut out,
        },
    };
    let result = parse(&mut body, &meter, bounds, seed);
    finish(result, &meter, bounds, found, body).map(|()| out)
}

/// Reads `MediaContainer` itself, as one object (`/`, `/identity`).
pub(crate) fn container(mut body: impl BufRead, bounds: Bounds) -> Result<Value, Failed> {
    let meter = Meter::default();
    let mut value = None;
    let mut found = false;
    let seed = Root {
        meter: &meter,
        found: &mut found,
        inner: Whole { out: &mut value },
    };
    let result = parse(&mut body, &meter, bounds, seed);
    finish(result, &meter, bounds, found, &mut body)?;
    value.ok_or_else(|| not_plex(&meter, "no MediaContainer", String::new(), &mut body))
}

/// Reads the items of an answer that is itself a list (an array, or one object), as
/// plex.tv's are.
pub(crate) fn list<T: FromObject>(
    mut body: impl BufRead,
    bounds: Bounds,
) -> Result<Items<T>, Failed> {
    let meter = Meter::default();
    let mut out = Items::new();
    let seed = Elements {
        bounds,
        meter: &meter,
        out: &mut out,
    };
    let result = parse(&mut body, &meter, bounds, seed);
    finish(result, &meter, bounds, true, body).map(|()| out)
}

/// Reads an answer that is one JSON object, whole (within `bounds.bytes`).
pub(crate) fn object(mut body: impl BufRead, bounds: Bounds) -> Result<Value, Failed> {
    let meter = Meter::default();
    let mut value = None;
    let result = parse(&mut body, &meter, bounds, Whole { out: &mut value });
    finish(result, &meter, bounds, true, &mut body)?;
    value.ok_or_else(|| not_plex(&meter, "not a JSON object", String::new(), &mut body))
}

fn parse<'de, S>(
    body: impl BufRead,
    meter: &Meter,
    bounds: Bounds,
    seed: S,
) -> Result<(), serde_json::Error>
where
    S: DeserializeSeed<'de, Value = ()>,
{
    let reader = Metered {
        inner: body,
        meter,
        bounds,
    };
    let mut de = serde_json::Deserializer::from_reader(reader);
    seed.deserialize(&mut de)?;
    de.end()
}

/// The result of a parse, said as what went wrong, if anything.
fn finish(
    result: Result<(), serde_json::Error>,
    meter: &Meter,
    bounds: Bounds,
    found: bool,
    rest: impl Read,
) -> Result<(), Failed> {
    if meter.enough.get() {
        return Ok(());
    }
    match (result, meter.passed.get()) {
        (_, Some(Passed::Bytes)) => Err(Failed::TooLarge("bytes", bounds.bytes)),
        (_, Some(Passed::Item)) => Err(Failed::TooLarge("bytes in one item", bounds.item_bytes)),
        (_, Some(Passed::Items)) => Err(Failed::TooLarge("items", bounds.items as u64)),
        (Ok(()), None) if found => Ok(()),
        (Ok(()), None) => Err(not_plex(meter, "no MediaContainer", String::new(), rest)),
        (Err(e), None) => match e.io_error_kind() {
            Some(_) => Err(Failed::Io(io::Error::from(e))),
            None => Err(not_plex(
                meter,
                "not JSON as Plex sends it",
                e.to_string(),
                rest,
            )),
        },
    }
}

/// Not what Plex sends: why, with the answer's start (what was read, and a little more).
fn not_plex(meter: &Meter, why: &str, detail: String, rest: impl Read) -> Failed {
    let mut start = meter.start.borrow_mut();
    let more = EXCERPT_BYTES.saturating_sub(start.len()) as u64;
    let _ = rest.take(more).read_to_end(&mut start);
    let start = String::from_utf8_lossy(&start).into_owned();
    Failed::NotPlex(why.to_owned(), detail, start)
}

/// The answer's top level: `MediaContainer` goes to `inner`, anything else is skipped.
struct Root<'a, S> {
    meter: &'a Meter,
    found: &'a mut bool,
    inner: S,
}

impl<'de, S: DeserializeSeed<'de, Value = ()>> DeserializeSeed<'de> for Root<'_, S> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, S: DeserializeSeed<'de, Value = ()>> Visitor<'de> for Root<'_, S> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object with a MediaContainer")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut inner = Some(self.inner);
        while let Some(key) = map.next_key_seed(Key("MediaContainer"))? {
            match (key, inner.take()) {
                (true, Some(seed)) => {
                    *self.found = true;
                    map.next_value_seed(seed)?;
                    if self.meter.enough.get() {
                        return Err(de::Error::custom("enough"));
                    }
                }
                (_, rest) => {
                    inner = rest;
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// A map key compared with `want` without keeping it.
struct Key(&'static str);

impl<'de> DeserializeSeed<'de> for Key {
    type Value = bool;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for Key {
    type Value = bool;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }
    fn visit_str<E: de::Error>(self, key: &str) -> Result<bool, E> {
        Ok(key == self.0)
    }
}

/// `MediaContainer` as one object.
struct Whole<'a> {
    out: &'a mut Option<Value>,
}

impl<'de> DeserializeSeed<'de> for Whole<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        let value = Value::deserialize(d)?;
        *self.out = Some(value).filter(Value::is_object);
        Ok(())
    }
}

/// `MediaContainer`: its `key` member holds the items, anything else is skipped.
struct Listing<'a, T> {
    key: &'static str,
    bounds: Bounds,
    meter: &'a Meter,
    out: &'a mut Items<T>,
}

impl<'de, T: FromObject> DeserializeSeed<'de> for Listing<'_, T> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, T: FromObject> Visitor<'de> for Listing<'_, T> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a MediaContainer object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Listing {
            key,
            bounds,
            meter,
            out,
        } = self;
        while let Some(is_items) = map.next_key_seed(Key(key))? {
            if !is_items {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            map.next_value_seed(Elements {
                bounds,
                meter,
                out: &mut *out,
            })?;
            if meter.enough.get() {
                return Err(de::Error::custom("enough"));
            }
        }
        Ok(())
    }
}

/// The items: an array of objects, or one object, or `null`.
struct Elements<'a, T> {
    bounds: Bounds,
    meter: &'a Meter,
    out: &'a mut Items<T>,
}

impl<T: FromObject> Elements<'_, T> {
    /// Room for one more item; when there is none, the answer is too large or has given
    /// enough.
    fn room<E: de::Error>(&self) -> Result<bool, E> {
        if self.out.items.len() < self.bounds.items {
            return Ok(true);
        }
        match self.bounds.whole {
            true => self.meter.passed.set(Some(Passed::Items)),
            false => self.meter.enough.set(true),
        }
        Err(E::custom("no room"))
    }

    fn keep(&mut self, value: Value) {
        match T::from_object(value) {
            Some(item) => self.out.items.push(item),
            None => self.out.skipped += 1,
        }
    }
}

impl<'de, T: FromObject> DeserializeSeed<'de> for Elements<'_, T> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, T: FromObject> Visitor<'de> for Elements<'_, T> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of objects")
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        loop {
            // Measured from here: the element, and the separator before it.
            self.meter.item_start.set(Some(self.meter.read.get()));
            let element: Option<Box<RawValue>> = seq.next_element()?;
            self.meter.item_start.set(None);
            let Some(element) = element else {
                return Ok(());
            };
            if !element.get().starts_with('{') {
                self.out.skipped += 1;
                continue;
            }
            self.room()?;
            match serde_json::from_str::<Value>(element.get()) {
                Ok(value) => self.keep(value),
                Err(_) => self.out.skipped += 1,
            }
        }
    }

    fn visit_map<A: MapAccess<'de>>(mut self, map: A) -> Result<(), A::Error> {
        self.room()?;
        self.meter.item_start.set(Some(self.meter.read.get()));
        let value = Value::deserialize(de::value::MapAccessDeserializer::new(map))?;
        self.meter.item_start.set(None);
        self.keep(value);
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    // Anything else where the items belong is no item.
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.out.skipped += 1;
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.out.skipped += 1;
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.out.skipped += 1;
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.out.skipped += 1;
        Ok(())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.out.skipped += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    struct Titled(String);

    impl FromObject for Titled {
        fn from_object(object: Value) -> Option<Titled> {
            object["title"].as_str().map(|t| Titled(t.to_owned()))
        }
    }

    const WIDE: Bounds = Bounds {
        bytes: 1 << 20,
        item_bytes: 1 << 16,
        items: 100,
        whole: true,
    };

    fn read(json: &str, bounds: Bounds) -> Result<Items<Titled>, Failed> {
        items(json.as_bytes(), "Metadata", bounds)
    }

    fn titles(json: &str, bounds: Bounds) -> (Vec<String>, usize) {
        match read(json, bounds) {
            Ok(i) => (i.items.into_iter().map(|t| t.0).collect(), i.skipped),
            Err(Failed::TooLarge(what, n)) => panic!("too large: {what} {n}"),
            Err(Failed::Io(e)) => panic!("{e}"),
            Err(Failed::NotPlex(why, _, start)) => panic!("{why}: {start}"),
        }
    }

    #[test]
    fn items_are_read_from_an_array_one_object_or_none_and_other_members_skipped() {
        let json = r#"{"x":[1,{"y":2}],"MediaContainer":{"size":2,"Hub":[{"title":"no"}],
            "Metadata":[{"title":"a"},{"title":"b","Media":[{"Part":[{}]}]}]},"z":"end"}"#;
        assert_eq!(titles(json, WIDE), (vec!["a".into(), "b".into()], 0));
        let one = r#"{"MediaContainer":{"Metadata":{"title":"only"}}}"#;
        assert_eq!(titles(one, WIDE), (vec!["only".into()], 0));
        for none in [
            r#"{"MediaContainer":{"size":0}}"#,
            r#"{"MediaContainer":{"Metadata":null}}"#,
        ] {
            assert_eq!(titles(none, WIDE), (vec![], 0), "{none}");
        }
    }

    #[test]
    fn elements_that_are_not_objects_are_skipped_and_counted() {
        let json =
            r#"{"MediaContainer":{"Metadata":[null,5,"x",[],true,{"title":"a"},[{"title":"b"}]]}}"#;
        assert_eq!(titles(json, WIDE), (vec!["a".into()], 6));
        let json = r#"{"MediaContainer":{"Metadata":[{"no title":1},{"title":"a"}]}}"#;
        assert_eq!(titles(json, WIDE), (vec!["a".into()], 1));
    }

    #[test]
    fn past_the_item_bound_a_whole_listing_is_too_large_and_a_partial_one_has_enough() {
        let many = format!(
            r#"{{"MediaContainer":{{"Metadata":[{}]}}}}"#,
            [r#"{"title":"t"}"#; 10].join(",")
        );
        let three = Bounds { items: 3, ..WIDE };
        assert!(matches!(
            read(&many, three),
            Err(Failed::TooLarge("items", 3))
        ));
        let first = Bounds {
            whole: false,
            ..three
        };
        assert_eq!(titles(&many, first).0.len(), 3);
        // Left unread: a broken tail does not matter.
        let broken = format!("{}{{{{{{", &many[..many.len() - 4]);
        assert_eq!(titles(&broken, first).0.len(), 3);
    }

    #[test]
    fn bytes_past_the_bounds_are_said_as_such() {
        let long = format!(
            r#"{{"MediaContainer":{{"Metadata":[{{"title":"{}"}}]}}}}"#,
            "x".repeat(5000)
        );
        let small_item = Bounds {
            item_bytes: 1000,
            ..WIDE
        };
        assert!(matches!(
            read(&long, small_item),
            Err(Failed::TooLarge("bytes in one item", 1000))
        ));
        let small = Bounds {
            bytes: 1000,
            ..WIDE
        };
        assert!(matches!(
            read(&long, small),
            Err(Failed::TooLarge("bytes", 1000))
        ));
        // An answer of exactly the bound is whole.
        let exact = Bounds {
            bytes: long.len() as u64,
            item_bytes: long.len() as u64,
            ..WIDE
        };
        assert_eq!(titles(&long, exact).0.len(), 1);
    }

    #[test]
    fn what_is_not_plex_says_so_with_its_start() {
        for (json, why) in [
            ("not json", "not JSON"),
            (
                r#"{"MediaContainer":{"Metadata":[{"title":"a"}"#,
                "not JSON",
            ),
            (r#"{"Other":{}}"#, "no MediaContainer"),
            ("[1,2]", "not JSON"),
        ] {
            match read(json, WIDE) {
                Err(Failed::NotPlex(message, _, start)) => {
                    assert!(message.starts_with(why), "{json}: {message}");
                    assert_eq!(start, json);
                }
                other => panic!("{json}: {:?}", other.map(|i| i.items)),
            }
        }
    }

    #[test]
    fn an_answer_that_is_a_list_or_an_object_is_read_as_such() {
        let json = r#"[{"title":"a"}, 7, {"title":"b"}]"#;
        let items: Items<Titled> = list(json.as_bytes(), WIDE).ok().unwrap();
        assert_eq!((items.items.len(), items.skipped), (2, 1));
        let two = Bounds {
            items: 2,
            whole: true,
            ..WIDE
        };
        let many = r#"[{"title":"a"},{"title":"b"},{"title":"c"}]"#;
        assert!(matches!(
            list::<Titled>(many.as_bytes(), two),
            Err(Failed::TooLarge("items", 2))
        ));
        let value = object(r#"{"id": 5, "code": "x"}"#.as_bytes(), WIDE)
            .ok()
            .unwrap();
        assert_eq!(value["code"], "x");
        assert!(matches!(
            object("[1]".as_bytes(), WIDE),
            Err(Failed::NotPlex(..))
        ));
    }

    #[test]
    fn the_container_is_read_as_one_object() {
        let json = r#"{"MediaContainer":{"machineIdentifier":"abc","version":"1.2"}}"#;
        let bounds = Bounds { items: 1, ..WIDE };
        let value = container(json.as_bytes(), bounds).ok().unwrap();
        assert_eq!(value["machineIdentifier"], "abc");
        assert!(matches!(
            container(r#"{"MediaContainer":5}"#.as_bytes(), bounds),
            Err(Failed::NotPlex(..))
        ));
    }
}
