//! WebSocket frames (RFC 6455, section 5): the crate's one codec. The header ([`Header`]:
//! read and written), a pure push parser for what a server sends, and whole frames,
//! masked as a client sends them or not as a server does. The client, the mock server
//! and the tests all write and read frames through it.
//!
//! Our own rather than tungstenite's, whose protocol layer logs every close reason at
//! debug and every payload at trace (a server that echoes the token would put it in the
//! user's logs), echoes the close reason back, and must hold a whole oversized frame
//! before it can skip it; its frame layer could read and write the headers, but not for
//! what it would cost (README: Dependencies). Here a message is complete or reported,
//! never spliced; an oversized one is skipped as its bytes arrive, without being held (and
//! so unread: its text is not checked); text is checked as UTF-8 as it arrives, and the
//! first byte that cannot be fails the connection (RFC 6455, 8.1), mid-frame if need be; a
//! close is a close whatever its reason bytes; and nothing is logged.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;

/// A frame's header (RFC 6455, 5.2), as either side reads or writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    /// The frame ends its message.
    pub fin: bool,
    /// RSV1 to RSV3, in place (`0x70` of the first byte): zero unless an extension says.
    pub rsv: u8,
    pub opcode: u8,
    /// A client's frames are masked, a server's are not.
    pub mask: Option<[u8; 4]>,
    /// The payload's length.
    pub len: u64,
}

impl Header {
    /// The most bytes a header takes: a 64-bit length and a mask.
    pub const MAX_SIZE: usize = 14;

    /// The size of a header whose second byte is `b1` (the length byte and the mask bit).
    pub fn size(b1: u8) -> usize {
        let len = match b1 & 0x7F {
            126 => 2,
            127 => 8,
            _ => 0,
        };
        2 + len + if b1 & 0x80 != 0 { 4 } else { 0 }
    }

    /// The header at the start of `bytes`, and its size; `None` until all of it is there.
    pub fn parse(bytes: &[u8]) -> Option<(Header, usize)> {
        let (b0, b1) = (*bytes.first()?, *bytes.get(1)?);
        let size = Header::size(b1);
        let head = bytes.get(..size)?;
        let (len, rest) = match b1 & 0x7F {
            126 => (
                u64::from(u16::from_be_bytes([head[2], head[3]])),
                &head[4..],
            ),
            127 => (
                u64::from_be_bytes(head[2..10].try_into().ok()?),
                &head[10..],
            ),
            n => (u64::from(n), &head[2..]),
        };
        let header = Header {
            fin: b0 & 0x80 != 0,
            rsv: b0 & 0x70,
            opcode: b0 & 0x0F,
            mask: rest.try_into().ok(),
            len,
        };
        Some((header, size))
    }

    /// Appends the header, its length in the fewest bytes (RFC 6455, 5.2, asks for that).
    pub fn write(&self, out: &mut Vec<u8>) {
        let masked = if self.mask.is_some() { 0x80 } else { 0 };
        out.push(if self.fin { 0x80 } else { 0 } | self.rsv & 0x70 | self.opcode & 0x0F);
        match self.len {
            n @ 0..=125 => out.push(masked | n as u8),
            n @ 126..=0xFFFF => {
                out.push(masked | 126);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                out.push(masked | 127);
                out.extend_from_slice(&n.to_be_bytes());
            }
        }
        out.extend_from_slice(self.mask.as_ref().map_or(&[][..], |m| &m[..]));
    }
}

/// A whole frame: the header, then the payload, masked with `mask` if there is one.
pub(crate) fn encode(fin: bool, opcode: u8, mask: Option<[u8; 4]>, payload: &[u8]) -> Vec<u8> {
    let header = Header {
        fin,
        rsv: 0,
        opcode,
        mask,
        len: payload.len() as u64,
    };
    let mut out = Vec::with_capacity(Header::MAX_SIZE + payload.len());
    header.write(&mut out);
    let start = out.len();
    out.extend_from_slice(payload);
    if let Some(mask) = mask {
        apply_mask(&mut out[start..], mask);
    }
    out
}

/// Masks or unmasks a whole payload (the same operation: RFC 6455, 5.3).
pub(crate) fn apply_mask(payload: &mut [u8], mask: [u8; 4]) {
    for (i, b) in payload.iter_mut().enumerate() {
        *b ^= mask[i % 4];
    }
}

/// A client's frame at the start of `buf`, whole: its header, its payload unmasked, and
/// the bytes it took. `None` until all of it is there. (The mock server reads with this.)
#[cfg_attr(not(any(feature = "mock", feature = "fuzzing")), allow(dead_code))]
pub(crate) fn decode(buf: &[u8]) -> Option<(Header, Vec<u8>, usize)> {
    let (header, size) = Header::parse(buf)?;
    let end = size.checked_add(usize::try_from(header.len).ok()?)?;
    let mut payload = buf.get(size..end)?.to_vec();
    if let Some(mask) = header.mask {
        apply_mask(&mut payload, mask);
    }
    Some((header, payload, end))
}

/// A complete message or control frame, read with the parser's accessors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Incoming {
    /// A text message, valid UTF-8: [`FrameParser::text`].
    Text,
    /// A binary message of this many bytes (its start: [`FrameParser::payload`]).
    Binary { size: u64 },
    /// A data message over the limit, skipped as it arrived.
    TooLarge { size: u64 },
    /// A Ping, to answer with a Pong carrying [`FrameParser::payload`].
    Ping,
    /// A Pong.
    Pong,
    /// A Close: the code as sent (`None` when the frame had no payload), and the reason,
    /// lossily decoded; `reason_is_utf8` says whether it had to be.
    Close {
        code: Option<u16>,
        reason: String,
        reason_is_utf8: bool,
    },
}

/// The server broke the protocol: the connection must be failed, with this close code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Broken {
    /// 1002 (protocol error), or 1007 for text that is not UTF-8.
    pub code: u16,
    pub reason: String,
}

impl Broken {
    fn protocol(reason: impl Into<String>) -> Broken {
        Broken {
            code: 1002,
            reason: reason.into(),
        }
    }
}

impl From<&str> for Broken {
    fn from(reason: &str) -> Broken {
        Broken::protocol(reason)
    }
}

impl From<String> for Broken {
    fn from(reason: String) -> Broken {
        Broken::protocol(reason)
    }
}

/// Where the parser is.
#[derive(Debug, Clone, Copy)]
enum State {
    /// Collecting a frame header of `need` bytes (2 until the length byte is known).
    Header { need: usize },
    /// Inside a frame's payload.
    Payload {
        opcode: u8,
        fin: bool,
        remaining: u64,
    },
}

/// Reads the frames a server sends, from bytes pushed in any split.
pub(crate) struct FrameParser {
    limit: usize,
    state: State,
    head: [u8; Header::MAX_SIZE],
    head_len: usize,
    /// A control frame's payload (at most 125 bytes).
    control: Vec<u8>,
    /// The data message being assembled, unless it is being skipped.
    message: Vec<u8>,
    /// The open data message's opcode (1 text, 2 binary), between its first and last frame.
    open: Option<u8>,
    /// Payload bytes of the open message so far, kept or not.
    message_size: u64,
    /// The open message passed the limit: its bytes are dropped as they come.
    skipping: bool,
    /// How much of `message` (a text message's) is known to be UTF-8: checked as bytes
    /// arrive, so that the first byte that cannot be fails at once.
    valid: usize,
    /// What completed last was a control frame (for [`FrameParser::payload`]).
    last_control: bool,
}

impl FrameParser {
    /// A parser that skips data messages larger than `limit` bytes.
    pub fn new(limit: usize) -> FrameParser {
        FrameParser {
            limit,
            state: State::Header { need: 2 },
            head: [0; Header::MAX_SIZE],
            head_len: 0,
            control: Vec::new(),
            message: Vec::new(),
            open: None,
            message_size: 0,
            skipping: false,
            valid: 0,
            last_control: false,
        }
    }

    /// The text of the last [`Incoming::Text`].
    pub fn text(&self) -> &str {
        // Checked as it arrived; an empty string otherwise.
        std::str::from_utf8(&self.message).unwrap_or_default()
    }

    /// The payload of the last control frame, or the start of the last data message.
    pub fn payload(&self) -> &[u8] {
        if self.last_control {
            &self.control
        } else {
            &self.message
        }
    }

    /// Consumes bytes from `input` until a message or control frame completes. Returns
    /// how many bytes it consumed and what completed, if anything; an `Err` is a broken
    /// protocol (text that is not UTF-8 among it), after which the connection must be
    /// failed.
    pub fn feed(&mut self, input: &[u8]) -> (usize, Option<Result<Incoming, Broken>>) {
        let mut used = 0;
        while used < input.len() {
            match self.state {
                State::Header { need } => {
                    let take = (need - self.head_len).min(input.len() - used);
                    self.head[self.head_len..self.head_len + take]
                        .copy_from_slice(&input[used..used + take]);
                    self.head_len += take;
                    used += take;
                    if self.head_len < need {
                        continue;
                    }
                    let full = Header::size(self.head[1]);
                    if need < full {
                        self.state = State::Header { need: full };
                        continue;
                    }
                    match self.begin() {
                        Err(e) => return (used, Some(Err(e))),
                        Ok(Some(done)) => return (used, Some(Ok(done))),
                        Ok(None) => {}
                    }
                }
                State::Payload {
                    opcode,
                    fin,
                    remaining,
                } => {
                    let take = usize::try_from(remaining)
                        .unwrap_or(usize::MAX)
                        .min(input.len() - used);
                    let bytes = &input[used..used + take];
                    used += take;
                    if opcode >= 8 {
                        self.control.extend_from_slice(bytes);
                    } else if !self.skipping {
                        self.message.extend_from_slice(bytes);
                        if let Err(broken) = self.check_utf8(false) {
                            return (used, Some(Err(broken)));
                        }
                    }
                    let remaining = remaining - take as u64;
                    self.state = State::Payload {
                        opcode,
                        fin,
                        remaining,
                    };
                    if remaining == 0 {
                        if let Some(done) = self.end_frame(opcode, fin) {
                            return (used, Some(done));
                        }
                    }
                }
            }
        }
        (used, None)
    }

    /// A header is complete: checks it and enters its payload. A frame without payload
    /// may complete at once.
    fn begin(&mut self) -> Result<Option<Incoming>, Broken> {
        let parsed = Header::parse(&self.head[..self.head_len]);
        self.head_len = 0;
        self.state = State::Header { need: 2 };
        let (header, _) = parsed.ok_or("an incomplete frame header")?;
        let Header {
            fin,
            rsv,
            opcode,
            mask,
            len,
        } = header;
        if rsv != 0 {
            return Err("a frame with reserved bits set, though no extension was agreed".into());
        }
        if mask.is_some() {
            return Err("a masked frame from the server (servers must not mask)".into());
        }
        if len >> 63 != 0 {
            return Err("a frame length with its top bit set".into());
        }
        match opcode {
            0x8..=0xA => {
                if !fin || len > 125 {
                    return Err(format!(
                        "a control frame (opcode {opcode}) that is fragmented or over 125 bytes"
                    )
                    .into());
                }
                self.control.clear();
            }
            0x0 if self.open.is_none() => {
                return Err("a continuation frame with no message to continue".into());
            }
            0x1 | 0x2 if self.open.is_some() => {
                return Err("a new message began before the last one ended".into());
            }
            0x0 => {}
            0x1 | 0x2 => {
                self.open = Some(opcode);
                self.message.clear();
                self.message_size = 0;
                self.skipping = false;
                self.valid = 0;
            }
            _ => return Err(format!("a frame with the reserved opcode {opcode}").into()),
        }
        if opcode < 8 {
            self.message_size = self.message_size.saturating_add(len);
            if self.message_size > self.limit as u64 && !self.skipping {
                self.skipping = true;
                // Only the start is kept, for nothing: free what was assembled.
                self.message = Vec::new();
            } else if !self.skipping {
                // Exactly: growth by doubling would hold up to twice the limit.
                self.message.reserve_exact(len as usize);
            }
        }
        self.state = State::Payload {
            opcode,
            fin,
            remaining: len,
        };
        if len == 0 {
            return self.end_frame(opcode, fin).transpose();
        }
        Ok(None)
    }

    /// A frame's payload is complete.
    fn end_frame(&mut self, opcode: u8, fin: bool) -> Option<Result<Incoming, Broken>> {
        self.state = State::Header { need: 2 };
        self.last_control = opcode >= 8;
        match opcode {
            0x9 => return Some(Ok(Incoming::Ping)),
            0xA => return Some(Ok(Incoming::Pong)),
            0x8 => return Some(self.close()),
            _ if !fin => return None,
            _ => {}
        }
        // A text message may not end inside a character.
        if let Err(broken) = self.check_utf8(true) {
            return Some(Err(broken));
        }
        let kind = self.open.take().unwrap_or(opcode);
        let size = self.message_size;
        Some(Ok(match (kind, self.skipping) {
            (_, true) => Incoming::TooLarge { size },
            (0x1, false) => Incoming::Text,
            _ => Incoming::Binary { size },
        }))
    }

    /// Checks the open text message's bytes that arrived since the last check, unless it
    /// is being skipped. An incomplete character at the end may still be completed by what
    /// follows, unless the message is `complete`.
    fn check_utf8(&mut self, complete: bool) -> Result<(), Broken> {
        if self.open != Some(0x1) || self.skipping {
            return Ok(());
        }
        match std::str::from_utf8(&self.message[self.valid..]) {
            Ok(_) => {
                self.valid = self.message.len();
                Ok(())
            }
            Err(e) => {
                self.valid += e.valid_up_to();
                if e.error_len().is_none() && !complete {
                    return Ok(());
                }
                Err(Broken {
                    code: 1007,
                    reason: format!(
                        "a text message that is not UTF-8 (at its byte {}): not delivered, and \
                         the connection closed with 1007, as RFC 6455 requires",
                        self.valid
                    ),
                })
            }
        }
    }

    fn close(&mut self) -> Result<Incoming, Broken> {
        match self.control.as_slice() {
            [] => Ok(Incoming::Close {
                code: None,
                reason: String::new(),
                reason_is_utf8: true,
            }),
            [_] => Err("a close frame of one byte (a code takes two)".into()),
            [hi, lo, reason @ ..] => Ok(Incoming::Close {
                code: Some(u16::from_be_bytes([*hi, *lo])),
                reason: String::from_utf8_lossy(reason).into_owned(),
                reason_is_utf8: std::str::from_utf8(reason).is_ok(),
            }),
        }
    }
}

/// Whether a close code may be sent on the wire (RFC 6455, 7.4): the client echoes such a
/// code, and answers any other with 1002 (protocol error).
pub(crate) fn is_valid_close_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

/// Masks the frames a client sends, with keys from a per-connection generator.
pub(crate) struct Masker {
    state: u64,
}

impl Default for Masker {
    fn default() -> Masker {
        Masker {
            state: random_u64() | 1,
        }
    }
}

/// 64 bits that scripts on the path cannot predict, for masks and the handshake's key:
/// std's hashers are keyed from the system's randomness, a new key each. Neither has to
/// be secret, so no random-number crate is needed.
pub(crate) fn random_u64() -> u64 {
    RandomState::new().hash_one(std::time::Instant::now())
}

impl Masker {
    /// A final, masked frame with this opcode and payload (at most 125 bytes: control
    /// frames are all a client sends).
    pub fn frame(&mut self, opcode: u8, payload: &[u8]) -> Vec<u8> {
        debug_assert!(payload.len() <= 125);
        let payload = &payload[..payload.len().min(125)];
        encode(true, opcode, Some(self.next_key()), payload)
    }

    fn next_key(&mut self) -> [u8; 4] {
        // xorshift64*
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        let x = self.state.wrapping_mul(0x2545_F491_4F6C_DD1D);
        (x >> 32).to_be_bytes()[4..].try_into().unwrap_or([0; 4])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An unmasked server frame.
    fn frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
        encode(fin, opcode, None, payload)
    }

    #[test]
    fn frames_are_written_as_rfc_6455_shows_them() {
        // RFC 6455, 5.7.
        assert_eq!(frame(true, 0x1, b"Hello"), b"\x81\x05Hello");
        let masked = encode(true, 0x1, Some([0x37, 0xfa, 0x21, 0x3d]), b"Hello");
        assert_eq!(
            masked,
            [
                0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58
            ]
        );
        assert_eq!(frame(false, 0x1, b"Hel"), b"\x01\x03Hel");
        assert_eq!(frame(true, 0x0, b"lo"), b"\x80\x02lo");
        assert_eq!(frame(true, 0x9, b"Hello"), b"\x89\x05Hello");
        assert_eq!(frame(true, 0x2, &[0; 256])[..4], [0x82, 0x7E, 0x01, 0x00]);
        assert_eq!(
            frame(true, 0x2, &[0; 65536])[..10],
            [0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0]
        );
        let (header, payload, used) = decode(&masked).unwrap();
        assert_eq!((payload.as_slice(), used), (&b"Hello"[..], masked.len()));
        assert_eq!(header.mask, Some([0x37, 0xfa, 0x21, 0x3d]));
    }

    #[test]
    fn headers_round_trip_at_every_length_boundary_and_wait_for_their_last_byte() {
        for len in [0, 1, 125, 126, 127, 0xFFFF, 0x1_0000, u64::MAX >> 1] {
            for mask in [None, Some([1, 2, 3, 4])] {
                for (fin, rsv, opcode) in [(true, 0, 0x1), (false, 0x40, 0x0), (true, 0x70, 0xA)] {
                    let header = Header {
                        fin,
                        rsv,
                        opcode,
                        mask,
                        len,
                    };
                    let mut wire = Vec::new();
                    header.write(&mut wire);
                    assert_eq!(Header::size(wire[1]), wire.len(), "{header:?}");
                    for cut in 0..wire.len() {
                        assert_eq!(Header::parse(&wire[..cut]), None, "{header:?} {cut}");
                    }
                    wire.push(0xEE);
                    assert_eq!(Header::parse(&wire), Some((header, wire.len() - 1)));
                }
            }
        }
    }

    /// Everything that completes when `wire` arrives in pieces of `split` bytes.
    fn parse(limit: usize, wire: &[u8], split: usize) -> Vec<Result<(Incoming, Vec<u8>), Broken>> {
        let mut p = FrameParser::new(limit);
        let mut out = Vec::new();
        for piece in wire.chunks(split.max(1)) {
            let mut at = 0;
            while at < piece.len() {
                let (used, item) = p.feed(&piece[at..]);
                at += used;
                match item {
                    Some(Ok(Incoming::Text)) => out.push(Ok((Incoming::Text, p.text().into()))),
                    Some(Ok(i)) => out.push(Ok((i, p.payload().to_vec()))),
                    Some(Err(e)) => {
                        out.push(Err(e));
                        return out;
                    }
                    None => assert_eq!(at, piece.len(), "stopped early with nothing done"),
                }
            }
        }
        out
    }

    fn texts(items: &[Result<(Incoming, Vec<u8>), Broken>]) -> Vec<String> {
        items
            .iter()
            .filter_map(|i| match i {
                Ok((Incoming::Text, t)) => Some(String::from_utf8(t.clone()).unwrap()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn fragmented_text_with_a_ping_between_assembles_at_any_split() {
        let mut wire = frame(false, 0x1, b"hel");
        wire.extend(frame(true, 0x9, b"p"));
        wire.extend(frame(false, 0x0, b"lo, "));
        wire.extend(frame(true, 0x0, "wörld".as_bytes()));
        wire.extend(frame(true, 0x1, b"next"));
        for split in 1..=wire.len() {
            let items = parse(1024, &wire, split);
            assert_eq!(items[0], Ok((Incoming::Ping, b"p".to_vec())), "{split}");
            assert_eq!(texts(&items), ["hello, wörld", "next"], "{split}");
        }
    }

    #[test]
    fn invalid_utf8_in_any_fragment_fails_at_its_first_byte_with_1007() {
        for bad in 0..3 {
            let mut wire = Vec::new();
            let mut first_bad = 0;
            for i in 0..3 {
                let part: &[u8] = if i == bad { b"\xff\xfe" } else { b"ok" };
                wire.extend(frame(i == 2, if i == 0 { 0x1 } else { 0x0 }, part));
                if i == bad {
                    first_bad = wire.len() - part.len() + 1;
                }
            }
            wire.extend(frame(true, 0x1, b"after"));
            for split in 1..=wire.len() {
                let items = parse(1024, &wire, split);
                let [Err(broken)] = items.as_slice() else {
                    panic!("fragment {bad}, split {split}: {items:?}");
                };
                assert_eq!(broken.code, 1007, "{broken:?}");
                assert!(broken.reason.contains("UTF-8"), "{broken:?}");
            }
            // Fail fast: the byte that cannot be UTF-8 is enough, nothing after it is needed.
            let mut p = FrameParser::new(1024);
            let mut at = 0;
            let failed = loop {
                assert!(at < first_bad, "fragment {bad}: nothing failed");
                let (used, item) = p.feed(&wire[at..first_bad]);
                at += used;
                if let Some(item) = item {
                    break item;
                }
            };
            assert!(
                matches!(failed, Err(Broken { code: 1007, .. })),
                "{failed:?}"
            );
        }
    }

    #[test]
    fn a_character_split_across_fragments_is_text_but_one_cut_at_the_end_is_not() {
        let euro = "€".as_bytes();
        for cut in 1..euro.len() {
            let mut wire = frame(false, 0x1, &euro[..cut]);
            wire.extend(frame(true, 0x0, &euro[cut..]));
            for split in 1..=wire.len() {
                assert_eq!(texts(&parse(1024, &wire, split)), ["€"], "{cut}, {split}");
            }
            let mut wire = frame(false, 0x1, b"a");
            wire.extend(frame(true, 0x0, &euro[..cut]));
            let items = parse(1024, &wire, 1);
            assert!(
                matches!(items.as_slice(), [Err(Broken { code: 1007, .. })]),
                "{cut}: {items:?}"
            );
        }
    }

    #[test]
    fn an_oversized_text_message_is_skipped_unread() {
        let mut wire = frame(true, 0x1, &[0xff; 2000]);
        wire.extend(frame(true, 0x1, b"next"));
        let items = parse(1000, &wire, 7);
        assert_eq!(
            items[0],
            Ok((Incoming::TooLarge { size: 2000 }, Vec::new()))
        );
        assert_eq!(texts(&items), ["next"]);
    }

    #[test]
    fn an_oversized_message_is_skipped_without_being_held() {
        let big = vec![b'a'; 50_000];
        let mut wire = frame(false, 0x1, &big[..30_000]);
        wire.extend(frame(true, 0x0, &big[30_000..]));
        wire.extend(frame(true, 0x1, b"small"));
        let mut p = FrameParser::new(10_000);
        let mut at = 0;
        let mut seen = Vec::new();
        while at < wire.len() {
            let end = (at + 4096).min(wire.len());
            let (used, item) = p.feed(&wire[at..end]);
            at += used;
            assert!(
                p.message.capacity() <= 10_000 + 4096,
                "held {}",
                p.message.capacity()
            );
            if let Some(item) = item {
                seen.push((item.unwrap(), p.text().to_owned()));
            }
        }
        assert_eq!(seen[0].0, Incoming::TooLarge { size: 50_000 });
        assert_eq!(seen[1], (Incoming::Text, "small".to_owned()));
    }

    #[test]
    fn a_close_is_a_close_whatever_its_reason() {
        let items = parse(1024, &frame(true, 0x8, b"\x03\xe8\xff bye"), 1);
        assert_eq!(
            items,
            [Ok((
                Incoming::Close {
                    code: Some(1000),
                    reason: "\u{fffd} bye".into(),
                    reason_is_utf8: false,
                },
                b"\x03\xe8\xff bye".to_vec()
            ))]
        );
        let Ok((Incoming::Close { reason_is_utf8, .. }, _)) = &parse(
            1024,
            &frame(true, 0x8, &[b"\x03\xe8", "bye, wörld".as_bytes()].concat()),
            3,
        )[0] else {
            panic!()
        };
        assert!(reason_is_utf8);
        let Ok((Incoming::Close { code, .. }, _)) =
            &parse(1024, &frame(true, 0x8, b"\x03\xe7"), 2)[0]
        else {
            panic!()
        };
        assert_eq!(*code, Some(999), "reported as sent");
        let Ok((Incoming::Close { code, .. }, _)) = &parse(1024, &frame(true, 0x8, b""), 2)[0]
        else {
            panic!()
        };
        assert_eq!(*code, None);
        assert!(parse(1024, &frame(true, 0x8, b"\x03"), 1)[0].is_err());
    }

    #[test]
    fn broken_framing_is_an_error() {
        let cases: [Vec<u8>; 6] = [
            frame(true, 0x0, b"x"), // nothing to continue
            [frame(false, 0x1, b"a"), frame(true, 0x1, b"b")].concat(), // new message inside one
            vec![0xC1, 0x00],       // RSV1 set
            vec![0x81, 0x81, 1, 2, 3, 4, b'x'], // masked
            vec![0x83, 0x00],       // reserved opcode
            frame(false, 0x9, b""), // fragmented ping
        ];
        for wire in cases {
            let items = parse(1024, &wire, 1);
            assert!(
                matches!(items.last(), Some(Err(Broken { code: 1002, .. }))),
                "{wire:?}: {items:?}"
            );
        }
    }

    #[test]
    fn binary_and_empty_messages() {
        let mut wire = frame(true, 0x2, b"\x00\x01");
        wire.extend(frame(true, 0x1, b""));
        let items = parse(1024, &wire, 1);
        assert_eq!(
            items[0],
            Ok((Incoming::Binary { size: 2 }, b"\x00\x01".to_vec()))
        );
        assert_eq!(texts(&items), [""]);
    }

    #[test]
    fn client_frames_are_masked_and_round_trip() {
        let mut m = Masker::default();
        let f = m.frame(0x9, b"ping!");
        assert_eq!((f[0], f[1]), (0x89, 0x80 | 5));
        let (header, payload, used) = decode(&f).unwrap();
        assert_eq!((payload.as_slice(), used), (&b"ping!"[..], f.len()));
        assert_ne!(&f[6..], b"ping!", "masked");
        let (next, _, _) = decode(&m.frame(0x9, b"")).unwrap();
        assert_ne!(next.mask, header.mask, "a new key each frame");
    }

    #[test]
    fn a_message_at_the_limit_holds_no_more_than_the_limit() {
        let wire = frame(true, 0x1, &[b'a'; 1000]);
        let mut p = FrameParser::new(1000);
        for piece in wire.chunks(100) {
            let _ = p.feed(piece);
        }
        assert!(p.message.capacity() <= 1000, "{}", p.message.capacity());
        assert_eq!(p.text().len(), 1000);
    }

    #[test]
    fn registered_close_codes_are_echoed() {
        for code in [1000, 1001, 1011, 1012, 1013, 1014, 3000, 4999] {
            assert!(is_valid_close_code(code), "{code}");
        }
        for code in [999, 1004, 1005, 1006, 1015, 2999, 5000] {
            assert!(!is_valid_close_code(code), "{code}");
        }
    }
}
