//! A pure parser for the Server-Sent Events (`text/event-stream`) wire format,
//! following the WHATWG HTML "event stream interpretation" rules. It does no
//! I/O: push the bytes as they arrive, in any split, and pull dispatched
//! events (or limit violations) back out; line and event sizes are capped so a
//! hostile stream cannot exhaust memory.

use std::fmt;

/// Caps that keep a hostile stream from exhausting memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    /// Longest line accepted, in bytes, not counting its line end.
    pub max_line: usize,
    /// Largest event accepted: the sum of its data bytes (the joined `data:` values).
    pub max_event: usize,
}

/// One dispatched event, borrowed from the parser until the next call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Event<'a> {
    /// The `event:` field, or "message" when the event had none.
    pub event_type: &'a str,
    /// The `data:` lines joined with "\n" (the final "\n" removed, per the spec).
    pub data: &'a str,
    /// The last event ID seen so far (the spec's "last event ID buffer"); "" if none.
    pub last_event_id: &'a str,
}

/// A rule the stream broke. After it the parser resynchronises at the next event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SseError {
    /// A line was longer than `Limits::max_line`.
    LineTooLong { limit: usize },
    /// An event's data grew past `Limits::max_event`.
    EventTooLarge { limit: usize },
}

impl fmt::Display for SseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SseError::LineTooLong { limit } => write!(
                f,
                "an event-stream line was longer than the {limit}-byte limit, so that event \
                 was skipped; raise Limits::max_line if the server really sends lines this long"
            ),
            SseError::EventTooLarge { limit } => write!(
                f,
                "an event's data was larger than the {limit}-byte limit, so that event was \
                 skipped; raise Limits::max_event if the server really sends events this large"
            ),
        }
    }
}

impl std::error::Error for SseError {}

const BOM: &[u8; 3] = b"\xEF\xBB\xBF";

/// The spec's per-stream buffers, kept apart from the input buffer so a line
/// borrowed from the input can be applied to them.
#[derive(Debug, Clone, Default)]
struct Buffers {
    /// The data buffer: every `data:` value followed by "\n".
    data: String,
    /// The event type buffer.
    event_type: String,
    /// The last event ID buffer (survives dispatch).
    last_event_id: String,
    /// The reconnection time from the last valid `retry:` field.
    retry: Option<u64>,
}

impl Buffers {
    /// Applies one non-empty, non-comment line. Errs if the event's data would
    /// grow past `max_event`.
    fn process_field(&mut self, line: &[u8], max_event: usize) -> Result<(), SseError> {
        let (name, value) = match line.iter().position(|&b| b == b':') {
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &[][..]),
        };
        // Splitting the raw bytes at an ASCII ':' and decoding each side gives
        // the same text as decoding the whole line first: a UTF-8 sequence can
        // never swallow an ASCII byte. Likewise the name is "data" after lossy
        // decoding exactly when its bytes are.
        match name {
            b"data" => {
                let value = lossy(value);
                // The joined data so far is `data` minus its trailing "\n",
                // plus "\n" + value: exactly `data.len() + value.len()` bytes.
                if self.data.len() + value.len() > max_event {
                    return Err(SseError::EventTooLarge { limit: max_event });
                }
                self.data.push_str(&value);
                self.data.push('\n');
            }
            b"event" => {
                self.event_type.clear();
                self.event_type.push_str(&lossy(value));
            }
            b"id" if !value.contains(&0) => {
                self.last_event_id.clear();
                self.last_event_id.push_str(&lossy(value));
            }
            b"retry" => self.retry = parse_retry(value).or(self.retry),
            _ => {}
        }
        Ok(())
    }
}

/// `bytes` as text, invalid sequences replaced: `String::from_utf8_lossy`, with the
/// standard library's faster validation first for the usual, valid case.
fn lossy(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => std::borrow::Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

/// A non-empty run of ASCII digits as a base-ten integer; `None` otherwise
/// (and when it does not fit in a `u64`).
fn parse_retry(value: &[u8]) -> Option<u64> {
    if value.is_empty() {
        return None;
    }
    value.iter().try_fold(0u64, |acc, &b| {
        if b.is_ascii_digit() {
            acc.checked_mul(10)?.checked_add(u64::from(b - b'0'))
        } else {
            None
        }
    })
}

/// Index of the first CR or LF: `memchr2`, which tests a vector of bytes at a time (an
/// event's data line is one line of a few hundred bytes).
fn find_line_end(hay: &[u8]) -> Option<usize> {
    memchr::memchr2(b'\n', b'\r', hay)
}

/// An incremental event-stream parser: [`push`](Parser::push) bytes in, pull
/// [`next_event`](Parser::next_event) until it returns `None`.
///
/// After an [`SseError`] the rest of that event is dropped: every line up to
/// and including the next blank line is ignored (`id:` and `retry:` too),
/// while fields before the offending line have already taken effect.
///
/// Memory stays bounded by about `max_line` plus one push (plus `max_event`
/// for the data buffer) as long as the caller drains `next_event` after each
/// push; the input buffer keeps the capacity of its largest fill.
#[derive(Debug, Clone)]
pub(crate) struct Parser {
    limits: Limits,
    /// Input bytes; `buf[pos..]` is not yet consumed.
    buf: Vec<u8>,
    /// Start of the current (unfinished) line in `buf`.
    pos: usize,
    /// `buf[..scanned]` is known to hold no line end after `pos`, so the
    /// search for one resumes there instead of rescanning the partial line.
    scanned: usize,
    /// The stream start has been checked for a byte order mark.
    bom_checked: bool,
    /// The last line ended in a CR: an LF right after it belongs to that line end.
    skip_lf: bool,
    /// Inside a line already reported as too long: drop bytes until its line end.
    discarding_line: bool,
    /// After an error: ignore lines up to and including the next blank line.
    skipping_event: bool,
    /// An event was handed out; its data and type buffers are reset on the next call.
    dispatched: bool,
    fields: Buffers,
}

impl Parser {
    /// A parser at the start of a stream (where a byte order mark may come).
    pub fn new(limits: Limits) -> Parser {
        Parser {
            limits,
            buf: Vec::new(),
            pos: 0,
            scanned: 0,
            bom_checked: false,
            skip_lf: false,
            discarding_line: false,
            skipping_event: false,
            dispatched: false,
            fields: Buffers::default(),
        }
    }

    /// Appends bytes as they arrived from the stream (any split, even inside a CRLF or a UTF-8 sequence).
    pub fn push(&mut self, bytes: &[u8]) {
        self.compact();
        self.buf.extend_from_slice(bytes);
    }

    /// The next dispatched event or error from the bytes pushed so far; None when more bytes are needed.
    pub fn next_event(&mut self) -> Option<Result<Event<'_>, SseError>> {
        if self.dispatched {
            self.dispatched = false;
            self.fields.data.clear();
            self.fields.event_type.clear();
        }
        if !self.bom_checked {
            let head = &self.buf[self.pos..];
            let n = head.len().min(BOM.len());
            if head[..n] != BOM[..n] {
                self.bom_checked = true;
            } else if n == BOM.len() {
                self.pos += n;
                self.bom_checked = true;
            } else {
                // A (possibly empty) prefix of a BOM: wait for the rest.
                return self.need_more();
            }
        }
        loop {
            if self.skip_lf {
                match self.buf.get(self.pos) {
                    None => return self.need_more(),
                    Some(&b) => {
                        if b == b'\n' {
                            self.pos += 1;
                        }
                        self.skip_lf = false;
                    }
                }
            }
            let from = self.scanned.max(self.pos);
            let Some(offset) = find_line_end(&self.buf[from..]) else {
                if self.discarding_line || self.buf.len() - self.pos > self.limits.max_line {
                    // Drop the overlong line's bytes as they arrive.
                    let report = !self.discarding_line;
                    self.discarding_line = true;
                    self.buf.clear();
                    self.pos = 0;
                    self.scanned = 0;
                    if report {
                        if let Some(err) = self.fail(SseError::LineTooLong {
                            limit: self.limits.max_line,
                        }) {
                            return Some(Err(err));
                        }
                    }
                    return None;
                }
                self.scanned = self.buf.len();
                return self.need_more();
            };
            let start = self.pos;
            let end = from + offset;
            self.skip_lf = self.buf[end] == b'\r';
            self.pos = end + 1;
            self.scanned = self.pos;

            if self.discarding_line {
                // The end of a line already reported (and mostly dropped).
                self.discarding_line = false;
                continue;
            }
            if end - start > self.limits.max_line {
                if let Some(err) = self.fail(SseError::LineTooLong {
                    limit: self.limits.max_line,
                }) {
                    return Some(Err(err));
                }
                continue;
            }
            if self.skipping_event {
                if start == end {
                    self.skipping_event = false;
                }
                continue;
            }
            if start == end {
                // Blank line: dispatch.
                if self.fields.data.is_empty() {
                    self.fields.event_type.clear();
                    continue;
                }
                self.fields.data.pop();
                self.dispatched = true;
                let fields = &self.fields;
                let event_type = if fields.event_type.is_empty() {
                    "message"
                } else {
                    fields.event_type.as_str()
                };
                return Some(Ok(Event {
                    event_type,
                    data: &fields.data,
                    last_event_id: &fields.last_event_id,
                }));
            }
            let line = &self.buf[start..end];
            if line[0] == b':' {
                continue; // comment
            }
            if let Err(err) = self.fields.process_field(line, self.limits.max_event) {
                if let Some(err) = self.fail(err) {
                    return Some(Err(err));
                }
            }
        }
    }

    /// Advances to the next event, like [`next_event`](Self::next_event), but lends it out
    /// separately: `Some(Ok(()))` when one is ready, read then with [`event`](Self::event).
    /// For a caller that returns the event from a loop that also pushes.
    pub fn advance(&mut self) -> Option<Result<(), SseError>> {
        self.next_event().map(|item| item.map(drop))
    }

    /// The event [`advance`](Self::advance) last made ready.
    pub fn event(&self) -> Event<'_> {
        let fields = &self.fields;
        Event {
            event_type: if fields.event_type.is_empty() {
                "message"
            } else {
                fields.event_type.as_str()
            },
            data: &fields.data,
            last_event_id: &fields.last_event_id,
        }
    }

    /// The `retry:` value last seen, in milliseconds.
    #[cfg_attr(not(feature = "fuzzing"), allow(dead_code))]
    pub fn retry(&self) -> Option<u64> {
        self.fields.retry
    }

    /// Bytes currently buffered (for tests that check memory stays bounded).
    #[cfg_attr(not(feature = "fuzzing"), allow(dead_code))]
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Drops the current event and skips to the one after the next blank line.
    /// Returns the error unless this event already reported one.
    fn fail(&mut self, err: SseError) -> Option<SseError> {
        if self.skipping_event {
            return None;
        }
        self.skipping_event = true;
        self.fields.data.clear();
        self.fields.event_type.clear();
        Some(err)
    }

    /// Compacts the input buffer and reports that more bytes are needed.
    fn need_more<T>(&mut self) -> Option<T> {
        self.compact();
        None
    }

    /// Moves the unconsumed bytes to the front of the buffer.
    fn compact(&mut self) {
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.scanned = self.scanned.saturating_sub(self.pos);
            self.pos = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const BIG: Limits = Limits {
        max_line: 1 << 20,
        max_event: 1 << 20,
    };

    /// An owned copy of one `next_event` item.
    #[derive(Debug, Clone, PartialEq, Eq)]
    enum Item {
        Ev {
            event_type: String,
            data: String,
            id: String,
        },
        Err(SseError),
    }

    fn ev(event_type: &str, data: &str, id: &str) -> Item {
        Item::Ev {
            event_type: event_type.to_owned(),
            data: data.to_owned(),
            id: id.to_owned(),
        }
    }

    fn drain(p: &mut Parser, out: &mut Vec<Item>) {
        while let Some(item) = p.next_event() {
            out.push(match item {
                Ok(e) => ev(e.event_type, e.data, e.last_event_id),
                Err(e) => Item::Err(e),
            });
        }
    }

    fn parse_chunks<'a>(limits: Limits, chunks: impl IntoIterator<Item = &'a [u8]>) -> Vec<Item> {
        let mut p = Parser::new(limits);
        let mut out = Vec::new();
        for chunk in chunks {
            p.push(chunk);
            drain(&mut p, &mut out);
        }
        out
    }

    fn parse(input: &[u8]) -> Vec<Item> {
        parse_chunks(BIG, [input])
    }

    fn parse_bytewise(input: &[u8]) -> Vec<Item> {
        parse_chunks(BIG, input.chunks(1))
    }

    #[test]
    fn lf_line_ends_dispatch() {
        assert_eq!(
            parse(b"data: a\n\ndata: b\n\n"),
            [ev("message", "a", ""), ev("message", "b", "")]
        );
    }

    #[test]
    fn crlf_line_ends_dispatch() {
        assert_eq!(
            parse(b"data: a\r\n\r\ndata: b\r\n\r\n"),
            [ev("message", "a", ""), ev("message", "b", "")]
        );
    }

    #[test]
    fn cr_line_ends_dispatch_without_waiting_for_next_byte() {
        let mut p = Parser::new(BIG);
        p.push(b"data: a\r\r");
        assert_eq!(
            p.next_event(),
            Some(Ok(Event {
                event_type: "message",
                data: "a",
                last_event_id: ""
            }))
        );
        assert_eq!(p.next_event(), None);
    }

    #[test]
    fn mixed_line_ends_in_one_stream() {
        assert_eq!(
            parse(b"data: a\rdata: b\ndata: c\r\n\n"),
            [ev("message", "a\nb\nc", "")]
        );
    }

    #[test]
    fn cr_cr_is_two_line_ends() {
        assert_eq!(
            parse(b"data: a\r\rdata: b\r\n\r\n"),
            [ev("message", "a", ""), ev("message", "b", "")]
        );
    }

    #[test]
    fn crlf_split_across_pushes_is_one_line_end() {
        // If the LF after a pushed CR were a second line end, "a" and "b" would be two events.
        let out = parse_chunks(BIG, [&b"data: a\r"[..], b"\ndata: b\r", b"\n\r", b"\n"]);
        assert_eq!(out, [ev("message", "a\nb", "")]);
    }

    #[test]
    fn bom_is_skipped() {
        assert_eq!(parse(b"\xEF\xBB\xBFdata: a\n\n"), [ev("message", "a", "")]);
    }

    #[test]
    fn bom_split_across_pushes_is_skipped() {
        let out = parse_chunks(BIG, [&b""[..], b"\xEF", b"\xBB", b"", b"\xBFdata: a\n\n"]);
        assert_eq!(out, [ev("message", "a", "")]);
        assert_eq!(
            parse_bytewise(b"\xEF\xBB\xBFdata: a\n\n"),
            [ev("message", "a", "")]
        );
    }

    #[test]
    fn bom_only_at_start() {
        // A second BOM is part of the first field's name, which is then unknown.
        assert_eq!(
            parse(b"\xEF\xBB\xBF\xEF\xBB\xBFdata: a\n\ndata: b\n\n"),
            [ev("message", "b", "")]
        );
        // A BOM at the start of a later line is not skipped either.
        assert_eq!(
            parse(b"data: a\n\n\xEF\xBB\xBFdata: b\n\n"),
            [ev("message", "a", "")]
        );
        // The BOM check also works on a stream that starts with a blank line.
        assert_eq!(parse(b"\ndata: a\n\n"), [ev("message", "a", "")]);
    }

    #[test]
    fn partial_bom_is_line_content() {
        // EF BB without BF is no BOM: it stays in the line, decoded as U+FFFD.
        assert_eq!(
            parse_bytewise(b"\xEF\xBBdata: a\n\ndata: b\n\n"),
            [ev("message", "b", "")]
        );
        assert_eq!(parse(b"\xEF\xBB\n\ndata: b\n\n"), [ev("message", "b", "")]);
    }

    #[test]
    fn comment_lines_are_ignored() {
        let out = parse(b": hello\ndata: a\n:data: b\n:\n\n: only a comment\n\n");
        assert_eq!(out, [ev("message", "a", "")]);
    }

    #[test]
    fn multiple_data_lines_join_with_newline() {
        assert_eq!(
            parse(b"data: a\ndata: b\ndata:\ndata: c\n\n"),
            [ev("message", "a\nb\n\nc", "")]
        );
    }

    #[test]
    fn one_space_after_colon_is_removed_not_two() {
        let out = parse(b"data:  two\nevent:   three\n\n");
        assert_eq!(out, [ev("  three", " two", "")]);
    }

    #[test]
    fn no_space_after_colon_keeps_value() {
        assert_eq!(
            parse(b"data:x\ndata:\tt\n\n"),
            [ev("message", "x\n\tt", "")]
        );
    }

    #[test]
    fn value_keeps_later_colons() {
        assert_eq!(parse(b"data: a: b:c\n\n"), [ev("message", "a: b:c", "")]);
    }

    #[test]
    fn field_without_colon_has_empty_value() {
        assert_eq!(parse(b"data\n\n"), [ev("message", "", "")]);
        assert_eq!(parse(b"data\ndata\n\n"), [ev("message", "\n", "")]);
        // `event` with no value leaves the type empty, i.e. "message".
        assert_eq!(
            parse(b"event: x\nevent\ndata: a\n\n"),
            [ev("message", "a", "")]
        );
    }

    #[test]
    fn data_with_empty_value_dispatches_empty_event() {
        assert_eq!(parse(b"data:\n\n"), [ev("message", "", "")]);
    }

    #[test]
    fn empty_data_dispatches_nothing_and_resets_type() {
        let out = parse(b"event: stale\n\ndata: a\n\nevent: fresh\nid: 7\n\n\n\ndata: b\n\n");
        assert_eq!(out, [ev("message", "a", ""), ev("message", "b", "7")]);
    }

    #[test]
    fn event_type_defaults_to_message() {
        let out = parse(b"event: update\ndata: a\n\ndata: b\n\nevent:\ndata: c\n\n");
        assert_eq!(
            out,
            [
                ev("update", "a", ""),
                ev("message", "b", ""),
                ev("message", "c", "")
            ]
        );
    }

    #[test]
    fn dispatch_resets_data_and_type_but_not_id() {
        let mut p = Parser::new(BIG);
        p.push(b"event: t\nid: 1\ndata: a\n\ndata: b\n\n");
        assert_eq!(
            p.next_event(),
            Some(Ok(Event {
                event_type: "t",
                data: "a",
                last_event_id: "1"
            }))
        );
        assert_eq!(
            p.next_event(),
            Some(Ok(Event {
                event_type: "message",
                data: "b",
                last_event_id: "1"
            }))
        );
        assert_eq!(p.next_event(), None);
    }

    #[test]
    fn unknown_fields_ignored() {
        let out = parse(b"foo: bar\ndata: a\nbaz\nDATA: x\nevent : y\n data: z\n\n");
        assert_eq!(out, [ev("message", "a", "")]);
    }

    #[test]
    fn field_names_are_case_sensitive() {
        assert_eq!(parse(b"Data: a\nEvent: b\nID: 1\nRetry: 5\n\n"), []);
        let mut p = Parser::new(BIG);
        p.push(b"Retry: 5\n");
        assert_eq!(p.next_event(), None);
        assert_eq!(p.retry(), None);
    }

    #[test]
    fn id_sets_last_event_id_and_persists() {
        let out = parse(b"id: 1\ndata: a\n\ndata: b\n\nid: 2\n\ndata: c\n\n");
        assert_eq!(
            out,
            [
                ev("message", "a", "1"),
                ev("message", "b", "1"),
                ev("message", "c", "2")
            ]
        );
    }

    #[test]
    fn empty_id_resets_last_event_id() {
        let out = parse(b"id: 1\ndata: a\n\nid\ndata: b\n\nid: 3\nid:\ndata: c\n\n");
        assert_eq!(
            out,
            [
                ev("message", "a", "1"),
                ev("message", "b", ""),
                ev("message", "c", "")
            ]
        );
    }

    #[test]
    fn id_with_nul_ignored() {
        let out = parse(b"id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n");
        assert_eq!(out, [ev("message", "a", "1"), ev("message", "b", "1")]);
    }

    #[test]
    fn retry_digits_set_reconnection_time() {
        let mut p = Parser::new(BIG);
        assert_eq!(p.retry(), None);
        p.push(b"retry: 3000\n");
        assert_eq!(p.next_event(), None);
        assert_eq!(p.retry(), Some(3000));
        p.push(b"retry:0\n");
        assert_eq!(p.next_event(), None);
        assert_eq!(p.retry(), Some(0));
    }

    #[test]
    fn retry_non_digits_ignored() {
        for bad in [
            &b"retry: 12a\n"[..],
            b"retry: -5\n",
            b"retry:  12\n",
            b"retry: 12 \n",
            b"retry: 1.5\n",
            b"retry:\n",
            b"retry\n",
            b"retry: \xD9\xA3\n", // ARABIC-INDIC DIGIT THREE is not an ASCII digit
            b"retry: 99999999999999999999999\n", // does not fit in u64
        ] {
            let mut p = Parser::new(BIG);
            p.push(b"retry: 1000\n");
            p.push(bad);
            assert_eq!(p.next_event(), None);
            assert_eq!(p.retry(), Some(1000), "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn retry_does_not_dispatch() {
        assert_eq!(parse(b"retry: 5\n\n"), []);
    }

    #[test]
    fn invalid_utf8_replaced() {
        let out = parse(b"event: \xFFt\ndata: a\xC3(\xE2\x82\nid: \x80\n\n");
        assert_eq!(out, [ev("\u{FFFD}t", "a\u{FFFD}(\u{FFFD}", "\u{FFFD}")]);
        // Same as String::from_utf8_lossy on the whole value.
        let raw = b"\xF0\x9F\x98\x80\xF0\x9F\x98\xED\xA0\x80z";
        let mut stream = b"data: ".to_vec();
        stream.extend_from_slice(raw);
        stream.extend_from_slice(b"\n\n");
        assert_eq!(
            parse(&stream),
            [ev("message", &String::from_utf8_lossy(raw), "")]
        );
    }

    #[test]
    fn utf8_sequence_split_across_pushes() {
        let stream = "event: é日\ndata: 😀 ünïcödé\nid: ß\n\n".as_bytes();
        let expected = [ev("é日", "😀 ünïcödé", "ß")];
        assert_eq!(parse_bytewise(stream), expected);
        // Split inside the 4-byte emoji.
        let at = stream.iter().position(|&b| b == 0xF0).unwrap() + 2;
        assert_eq!(parse_chunks(BIG, [&stream[..at], &stream[at..]]), expected);
    }

    #[test]
    fn incomplete_event_at_end_not_dispatched() {
        assert_eq!(parse(b"data: a\n\ndata: b\n"), [ev("message", "a", "")]);
        assert_eq!(parse(b"data: a\n\ndata: b"), [ev("message", "a", "")]);
        // The missing blank line arriving later completes it.
        let out = parse_chunks(BIG, [&b"data: a\n\ndata: b\n"[..], b"\n"]);
        assert_eq!(out, [ev("message", "a", ""), ev("message", "b", "")]);
    }

    fn limits(max_line: usize, max_event: usize) -> Limits {
        Limits {
            max_line,
            max_event,
        }
    }

    #[test]
    fn line_too_long_reports_once_and_resyncs_at_next_event() {
        let long = "x".repeat(40);
        let stream = format!(
            "data: a\n\nevent: t\ndata: before\ndata: {long}\ndata: {long}\nid: skipped\n\
             data: after\n\ndata: b\n\n"
        );
        let expected = [
            ev("message", "a", ""),
            Item::Err(SseError::LineTooLong { limit: 16 }),
            ev("message", "b", ""),
        ];
        assert_eq!(
            parse_chunks(limits(16, 1000), [stream.as_bytes()]),
            expected
        );
        assert_eq!(
            parse_chunks(limits(16, 1000), stream.as_bytes().chunks(1)),
            expected
        );
        assert_eq!(
            parse_chunks(limits(16, 1000), stream.as_bytes().chunks(7)),
            expected
        );
    }

    #[test]
    fn line_too_long_as_last_line_of_event_resyncs_after_its_blank_line() {
        let stream = format!("data: {}\n\ndata: b\n\n", "y".repeat(100));
        let expected = [
            Item::Err(SseError::LineTooLong { limit: 10 }),
            ev("message", "b", ""),
        ];
        assert_eq!(
            parse_chunks(limits(10, 1000), [stream.as_bytes()]),
            expected
        );
        assert_eq!(
            parse_chunks(limits(10, 1000), stream.as_bytes().chunks(3)),
            expected
        );
    }

    #[test]
    fn line_too_long_detected_before_its_line_end_arrives() {
        let mut p = Parser::new(limits(8, 100));
        p.push(b"data: 123");
        assert_eq!(
            p.next_event(),
            Some(Err(SseError::LineTooLong { limit: 8 }))
        );
        assert_eq!(p.next_event(), None);
        assert_eq!(p.buffered(), 0);
        p.push(b"456789\r");
        assert_eq!(p.next_event(), None);
        p.push(b"\n\r\ndata: ok\n\n");
        assert_eq!(
            p.next_event(),
            Some(Ok(Event {
                event_type: "message",
                data: "ok",
                last_event_id: ""
            }))
        );
    }

    #[test]
    fn line_at_exact_limit_accepted() {
        // "data: abcd" is 10 bytes.
        assert_eq!(
            parse_chunks(limits(10, 100), [&b"data: abcd\n\n"[..]]),
            [ev("message", "abcd", "")]
        );
        assert_eq!(
            parse_chunks(limits(10, 100), b"data: abcd\n\n".chunks(1)),
            [ev("message", "abcd", "")]
        );
        assert_eq!(
            parse_chunks(limits(10, 100), [&b"data: abcde\n\n"[..]]),
            [Item::Err(SseError::LineTooLong { limit: 10 })]
        );
    }

    #[test]
    fn overlong_comment_is_also_an_error() {
        let stream = format!(":{}\ndata: a\n\ndata: b\n\n", "c".repeat(50));
        let out = parse_chunks(limits(20, 100), [stream.as_bytes()]);
        assert_eq!(
            out,
            [
                Item::Err(SseError::LineTooLong { limit: 20 }),
                ev("message", "b", "")
            ]
        );
    }

    #[test]
    fn event_too_large_reports_once_and_resyncs() {
        let stream =
            b"data: a\n\nevent: big\ndata: 12345\ndata: 67890\ndata: more\ndata: 1234567\n\n\
                       data: b\n\n";
        let expected = [
            ev("message", "a", ""),
            Item::Err(SseError::EventTooLarge { limit: 8 }),
            ev("message", "b", ""),
        ];
        assert_eq!(parse_chunks(limits(100, 8), [&stream[..]]), expected);
        assert_eq!(parse_chunks(limits(100, 8), stream.chunks(1)), expected);
    }

    #[test]
    fn event_at_exact_limit_accepted() {
        // Joined data "1234\n567" is 8 bytes.
        let ok = b"data: 1234\ndata: 567\n\n";
        assert_eq!(
            parse_chunks(limits(100, 8), [&ok[..]]),
            [ev("message", "1234\n567", "")]
        );
        let over = b"data: 1234\ndata: 5678\n\ndata: c\n\n";
        assert_eq!(
            parse_chunks(limits(100, 8), [&over[..]]),
            [
                Item::Err(SseError::EventTooLarge { limit: 8 }),
                ev("message", "c", "")
            ]
        );
    }

    #[test]
    fn errors_during_a_skipped_event_are_not_repeated() {
        let stream = format!("data: 123456789\ndata: {}\n\ndata: ok\n\n", "z".repeat(50));
        let out = parse_chunks(limits(20, 5), [stream.as_bytes()]);
        assert_eq!(
            out,
            [
                Item::Err(SseError::EventTooLarge { limit: 5 }),
                ev("message", "ok", "")
            ]
        );
        // A second bad event reports again.
        let stream = format!("data: {0}\n\ndata: {0}\n\ndata: ok\n\n", "z".repeat(50));
        let out = parse_chunks(limits(20, 100), stream.as_bytes().chunks(5));
        let err = Item::Err(SseError::LineTooLong { limit: 20 });
        assert_eq!(out, [err.clone(), err, ev("message", "ok", "")]);
    }

    #[test]
    fn hostile_endless_line_keeps_memory_bounded() {
        let max_line = 1024;
        let mut p = Parser::new(limits(max_line, 64 * 1024));
        let mut out = Vec::new();
        p.push(b"data: fine\n\n");
        drain(&mut p, &mut out);
        let chunk = vec![b'a'; 4096];
        let mut peak = 0;
        for _ in 0..(10 << 20) / chunk.len() {
            p.push(&chunk);
            peak = peak.max(p.buffered());
            drain(&mut p, &mut out);
            peak = peak.max(p.buffered());
        }
        assert!(peak <= max_line + chunk.len() + 16, "peak {peak}");
        p.push(b"\n\ndata: recovered\n\n");
        drain(&mut p, &mut out);
        assert_eq!(
            out,
            [
                ev("message", "fine", ""),
                Item::Err(SseError::LineTooLong { limit: max_line }),
                ev("message", "recovered", ""),
            ]
        );
        assert!(p.buffered() <= 32);
    }

    #[test]
    fn byte_at_a_time_matches_all_at_once() {
        let stream =
            b"\xEF\xBB\xBFretry: 10\r\n: hi\revent: a\r\ndata: 1\rdata: 2\n\r\nid: 9\ndata\r\r";
        let expected = [ev("a", "1\n2", ""), ev("message", "", "9")];
        assert_eq!(parse(stream), expected);
        assert_eq!(parse_bytewise(stream), expected);
    }

    #[test]
    fn plex_shaped_stream() {
        let stream = concat!(
            "event: playing\n",
            "data: {\"PlaySessionStateNotification\":{\"sessionKey\":\"21\",",
            "\"ratingKey\":\"1234\",\"state\":\"playing\",\"viewOffset\":6000}}\n",
            "\n",
            "event: ping\n",
            "data: {}\n",
            "\n",
        );
        let expected = [
            ev(
                "playing",
                "{\"PlaySessionStateNotification\":{\"sessionKey\":\"21\",\
                 \"ratingKey\":\"1234\",\"state\":\"playing\",\"viewOffset\":6000}}",
                "",
            ),
            ev("ping", "{}", ""),
        ];
        let limits = limits(4096, 64 * 1024);
        assert_eq!(parse_chunks(limits, [stream.as_bytes()]), expected);
        assert_eq!(parse_chunks(limits, stream.as_bytes().chunks(13)), expected);
    }

    #[test]
    fn error_messages_name_the_limit_and_the_fix() {
        let line = SseError::LineTooLong { limit: 1024 }.to_string();
        assert!(line.contains("1024") && line.contains("max_line"), "{line}");
        let event = SseError::EventTooLarge { limit: 65536 }.to_string();
        assert!(
            event.contains("65536") && event.contains("max_event"),
            "{event}"
        );
        let _: &dyn std::error::Error = &SseError::LineTooLong { limit: 1 };
    }

    // ---- property tests ----

    #[derive(Debug, Clone)]
    struct GenEvent {
        event_type: Option<&'static str>,
        id: Option<String>,
        id_after_data: bool,
        comment: bool,
        data: Vec<String>,
    }

    fn gen_event() -> impl Strategy<Value = GenEvent> {
        let types = prop::sample::select(vec![
            "message",
            "update",
            "ping",
            "",
            "é",
            "日本語",
            " sp",
            "a:b",
            "😀",
        ]);
        (
            prop::option::of(types),
            prop::option::of("[^\r\n\x00]{0,8}"),
            any::<bool>(),
            any::<bool>(),
            prop::collection::vec("[^\r\n]{0,20}", 0..3),
        )
            .prop_map(|(event_type, id, id_after_data, comment, data)| GenEvent {
                event_type,
                id,
                id_after_data,
                comment,
                data,
            })
    }

    /// Serialises with the given line ends (0 = LF, 1 = CR, 2 = CRLF, cycled).
    fn serialise(events: &[GenEvent], bom: bool, ends: &[u8]) -> Vec<u8> {
        let mut lines: Vec<String> = Vec::new();
        for e in events {
            if e.comment {
                lines.push(": keep-alive".into());
            }
            if let Some(t) = e.event_type {
                lines.push(format!("event: {t}"));
            }
            if let (Some(id), false) = (&e.id, e.id_after_data) {
                lines.push(format!("id: {id}"));
            }
            for d in &e.data {
                lines.push(format!("data: {d}"));
            }
            if let (Some(id), true) = (&e.id, e.id_after_data) {
                lines.push(format!("id: {id}"));
            }
            lines.push(String::new());
        }
        let mut out = Vec::new();
        if bom {
            out.extend_from_slice(BOM);
        }
        for (i, line) in lines.iter().enumerate() {
            out.extend_from_slice(line.as_bytes());
            let mut end = ends.get(i % ends.len().max(1)).copied().unwrap_or(0) % 3;
            // An empty line written as a bare LF right after a CR would read
            // as one CRLF line end; write it as CRLF instead.
            if line.is_empty() && end == 0 && out.last() == Some(&b'\r') {
                end = 2;
            }
            out.extend_from_slice(match end {
                0 => b"\n",
                1 => b"\r",
                _ => b"\r\n",
            });
        }
        out
    }

    fn expected(events: &[GenEvent]) -> Vec<Item> {
        let mut last_id = String::new();
        let mut out = Vec::new();
        for e in events {
            if let Some(id) = &e.id {
                last_id.clone_from(id);
            }
            if e.data.is_empty() {
                continue;
            }
            let event_type = match e.event_type {
                None | Some("") => "message",
                Some(t) => t,
            };
            out.push(ev(event_type, &e.data.join("\n"), &last_id));
        }
        out
    }

    fn split_at_cuts(bytes: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
        let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
        cuts.sort_unstable();
        let mut chunks = Vec::new();
        let mut prev = 0;
        for c in cuts {
            chunks.push(bytes[prev..c].to_vec());
            prev = c;
        }
        chunks.push(bytes[prev..].to_vec());
        chunks
    }

    proptest! {
        #[test]
        fn valid_events_parse_the_same_in_any_chunking(
            events in prop::collection::vec(gen_event(), 0..8),
            bom in any::<bool>(),
            ends in prop::collection::vec(any::<u8>(), 1..16),
            cuts in prop::collection::vec(any::<usize>(), 0..12),
        ) {
            let stream = serialise(&events, bom, &ends);
            let whole = parse(&stream);
            let chunks = split_at_cuts(&stream, &cuts);
            let chunked = parse_chunks(BIG, chunks.iter().map(Vec::as_slice));
            prop_assert_eq!(&chunked, &whole);
            prop_assert_eq!(&whole, &expected(&events));
        }

        #[test]
        fn arbitrary_bytes_never_panic_and_memory_stays_bounded(
            bytes in prop::collection::vec(
                prop_oneof![
                    4 => any::<u8>(),
                    2 => prop::sample::select(b"\r\n:\xEF\xBB\xBF data".to_vec()),
                ],
                0..600,
            ),
            cuts in prop::collection::vec(any::<usize>(), 0..24),
            max_line in 0usize..40,
            max_event in 0usize..60,
        ) {
            let lim = limits(max_line, max_event);
            let chunks = split_at_cuts(&bytes, &cuts);
            let mut p = Parser::new(lim);
            let mut chunked = Vec::new();
            for chunk in &chunks {
                p.push(chunk);
                prop_assert!(p.buffered() <= max_line + chunk.len() + 3);
                drain(&mut p, &mut chunked);
                prop_assert!(p.buffered() <= max_line + 3);
            }
            // Errors and events come out the same however the bytes were split.
            prop_assert_eq!(chunked, parse_chunks(lim, [bytes.as_slice()]));
        }
    }
}
