//! The one error type of the crate.

use std::borrow::Cow;
use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::Duration;

/// Everything that can go wrong, from a bad URL to a panicking callback.
///
/// Errors that happen while a listener runs reach your `callback_error` (or the channel as
/// [`Event::Error`](crate::Event::Error)); errors in the configuration come back from
/// [`Builder::start`](crate::Builder::start) before any thread exists.
///
/// No error that reaches you holds the token, as sent, percent-encoded (hex digits in
/// either case) or URL-decoded: it is blanked out of every text, as `<redacted>`. Texts
/// the server sent ([`Error::Decode`]'s `excerpt` and `detail`, [`Error::Closed`]'s
/// reason) are cut to 120 characters after that, never before, so a cut cannot leave
/// the start of a token behind.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Error {
    /// The URL can't be used: wrong scheme, no host, a query string. Also found when
    /// connecting: an `https://` URL for a server that answered the TLS handshake in plain
    /// HTTP (not transient: the listener reports it and ends).
    ///
    /// Fix the URL; it should look like `http://host:32400` or `https://host:32400`.
    InvalidUrl {
        /// What is wrong with it.
        reason: String,
    },
    /// An option given to the builder can't be used (an unreadable certificate, an empty
    /// filter list, a zero timeout, ...).
    InvalidConfig {
        /// What is wrong with it.
        reason: String,
    },
    /// The server could not be reached: the name did not resolve, the connection was
    /// refused or there is no route. Transient: the listener retries with backoff.
    Connect {
        /// `host:port` that was tried.
        target: String,
        /// The operating system's error.
        source: Arc<io::Error>,
    },
    /// A step of setting up or keeping a connection took longer than allowed.
    /// Transient: the listener retries with backoff.
    Timeout {
        /// The step that timed out.
        phase: Phase,
        /// The limit that was exceeded.
        after: Duration,
    },
    /// TLS failed: the certificate is not trusted, does not name the host, or the handshake
    /// broke. For `*.plex.direct` certificates reached by IP address, see
    /// [`TlsOptions::accept_hostname_mismatch`](crate::TlsOptions::accept_hostname_mismatch).
    Tls {
        /// What the TLS library said. Its cause is [`source()`](std::error::Error::source)
        /// of this error.
        failure: TlsFailure,
    },
    /// The server rejected the token: HTTP 401 (missing or wrong) or 498 (expired).
    ///
    /// Not transient: the listener reports it and ends. Get a valid token.
    Unauthorized {
        /// 401 or 498.
        status: u16,
    },
    /// The token is good, but may not see this: Plex answers a non-admin token's request
    /// for `/status/sessions` with 401 (1.46) or 403 (1.47), and any token's request for
    /// what its user may not reach with 403.
    ///
    /// Not transient. Apps that need sessions need the server owner's (admin) token;
    /// without one, use what the notifications carry.
    Forbidden {
        /// 401 or 403.
        status: u16,
        /// The path that was requested (without the query).
        path: String,
    },
    /// The server answered with another HTTP status where a success was expected.
    ///
    /// 404 means the server has no such endpoint (an old server, or a URL pointing at
    /// something that is not Plex). 3xx (the URL points elsewhere) and 4xx end the listener;
    /// 429 and 5xx are retried with backoff.
    HttpStatus {
        /// The status code.
        status: u16,
        /// The path that was requested (without the query).
        path: String,
        /// How long the server asked to wait before trying again (`Retry-After`, sent with
        /// 429 and 503), up to an hour: the listener waits at least this long.
        retry_after: Option<Duration>,
    },
    /// The server, or a proxy in front of it, answered in a way this crate cannot use: a
    /// WebSocket upgrade refused or ignored (HTTP 400, 426, or a 2xx where 101 belongs,
    /// which is what a reverse proxy that does not pass upgrades sends), or an event
    /// stream sent compressed. The text names the likely cause and the fix.
    ///
    /// Not transient: the listener reports it and ends.
    Unsupported {
        /// What the server did, its likely cause, and the fix.
        reason: String,
    },
    /// The peer broke the HTTP, WebSocket or event-stream protocol (a WebSocket text
    /// message that is not UTF-8 is one: RFC 6455 makes it fatal, close code 1007).
    /// The connection is dropped; the listener reconnects.
    Protocol {
        /// When: in the HTTP handshake, or while reading.
        phase: Phase,
        /// What broke, to match on.
        violation: Violation,
        /// What was wrong, in words.
        message: String,
    },
    /// An open connection failed (reset by the peer, or the network went away), in the
    /// HTTP handshake or while reading. The listener reconnects.
    ConnectionLost {
        /// When: in the TLS or HTTP handshake, or while reading.
        phase: Phase,
        /// The operating system's error.
        source: Arc<io::Error>,
    },
    /// The server closed the connection. The listener reconnects.
    Closed {
        /// The WebSocket close code the server sent, as sent; `None` when its close frame
        /// had none, or the connection ended without one.
        code: Option<u16>,
        /// With a code, the WebSocket close reason the server sent (invalid UTF-8
        /// replaced, at most 120 characters); without one, how the stream ended.
        reason: String,
    },
    /// A message arrived that is not a notification this crate can read: not JSON, not the
    /// expected shape, a binary frame, or a typed view that did not fit.
    /// The listener goes on with the next message. (Text that is not UTF-8 is an
    /// [`Error::Protocol`]: it ends the connection.)
    Decode {
        /// What was wrong, in this crate's words: it quotes nothing the server sent.
        message: String,
        /// What the JSON parser said, if it was a parser that failed, else empty. It may
        /// quote the offending text, so it is kept like `excerpt`.
        detail: String,
        /// The start of the offending text, at most 120 characters.
        excerpt: String,
    },
    /// A message was larger than [`Builder::max_message_size`](crate::Builder::max_message_size).
    /// It was skipped; the listener goes on.
    MessageTooLarge {
        /// Its size in bytes, when known: an event stream's event is dropped as soon as it
        /// passes the limit, without reading it to its end.
        size: Option<usize>,
        /// The configured limit.
        limit: usize,
    },
    /// Nothing arrived for too long (no alert, no ping, no pong): the peer is presumed dead.
    /// The listener reconnects.
    HeartbeatTimeout {
        /// How long the connection was silent.
        silent_for: Duration,
    },
    /// A REST answer is not what Plex sends: not JSON, or JSON without a
    /// `MediaContainer`. (An element of a listing that is not an object is skipped, not
    /// this error.)
    BadAnswer {
        /// The path that was requested (without the query).
        path: String,
        /// What was wrong, in the crate's words.
        message: String,
        /// The JSON parser's words, which may quote the answer; empty when there are none.
        detail: String,
        /// The start of the answer.
        excerpt: String,
    },
    /// A REST answer is larger than the crate reads of it: more bytes, more items, or an
    /// item larger than its bound. Nothing past the bound was kept. The bounds are in the
    /// README's Reliability section.
    AnswerTooLarge {
        /// The path that was requested (without the query).
        path: String,
        /// What passed its bound: `"bytes"`, `"bytes in one item"` or `"items"`.
        what: &'static str,
        /// The bound.
        limit: u64,
    },
    /// A tracker's lookup was held back, not sent: the server asked to wait (`Retry-After`
    /// with 429 or 503) or is failing, or the tracker's bound on requests was reached,
    /// and the lookup could not wait that long. The tracker tries again later.
    Throttled {
        /// The path that was to be requested (without the query).
        path: String,
        /// When it may go.
        retry_in: Duration,
    },
    /// The request was stopped ([`PlexServer::stop`](crate::PlexServer::stop), or the
    /// listener or tracker it ran for was).
    Stopped,
    /// A tracker holds the most it may and leaves new ones out until some are done:
    /// sessions past [`SessionTrackerBuilder::max_sessions`](crate::SessionTrackerBuilder::max_sessions),
    /// items past [`LibraryTrackerBuilder::max_items`](crate::LibraryTrackerBuilder::max_items).
    /// Said when it fills up, and again only after it has emptied to half its bound; its
    /// stats' `over_limit` counts what it left out.
    /// The tracker goes on.
    TrackerFull {
        /// `"sessions"` or `"library items"`.
        what: &'static str,
        /// The bound it reached.
        limit: usize,
    },
    /// Your callback panicked. The panic was caught and the listener went on.
    CallbackPanicked {
        /// The panic's message.
        message: String,
    },
    /// A bug in this crate: something it does not expect happened on the listener's thread
    /// (the listener ends, with [`ConnectionState::Stopped`](crate::ConnectionState::Stopped)),
    /// or on a tracker's (that tracker ends; the listener goes on). Please report it with
    /// this message.
    Internal {
        /// What went wrong.
        message: String,
    },
}

/// Why a TLS handshake failed ([`Error::Tls`]): its text says what the system's TLS
/// library said; the library's own error is its [`source()`](std::error::Error::source),
/// so that this crate's API does not name the TLS library's types.
#[derive(Debug, Clone)]
pub struct TlsFailure(pub(crate) Arc<native_tls::Error>);

impl fmt::Display for TlsFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for TlsFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.0)
    }
}

/// What broke the protocol, in an [`Error::Protocol`]: to match on. Its text says more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Violation {
    /// The answer is not an HTTP response, or its head is malformed or over 16 KiB.
    BadResponse,
    /// A response body's framing is broken: a chunk size, a `Content-Length`.
    BadFraming,
    /// The WebSocket upgrade was not answered as RFC 6455 asks (the accept key, the
    /// `Upgrade` header, an extension or subprotocol not asked for).
    BadUpgrade,
    /// A WebSocket frame broke RFC 6455 (reserved bits, an unknown opcode, a control
    /// frame too long or fragmented, a continuation with nothing to continue, ...): the
    /// connection was closed with 1002.
    BadFrame,
    /// A WebSocket text message that is not UTF-8: the connection was closed with 1007.
    InvalidUtf8,
    /// An event stream answered with another content type.
    NotAnEventStream,
}

/// A step in setting up or keeping a connection, named in [`Error::Timeout`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Phase {
    /// Opening the TCP connection.
    Connect,
    /// The TLS handshake.
    TlsHandshake,
    /// The HTTP request and its response (the WebSocket upgrade, or the event stream's headers).
    Handshake,
    /// Reading: notifications from an open connection, or an HTTP response's body.
    Read,
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Phase::Connect => "connecting",
            Phase::TlsHandshake => "the TLS handshake",
            Phase::Handshake => "the HTTP handshake",
            Phase::Read => "reading",
        })
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidUrl { reason } => write!(f, "invalid server URL: {reason}"),
            Error::InvalidConfig { reason } => write!(f, "invalid option: {reason}"),
            Error::Connect { target, source } => {
                write!(f, "could not connect to {target}: {source}")
            }
            Error::Timeout { phase, after } => {
                write!(f, "timed out after {after:?} during {phase}")
            }
            Error::Tls { failure } => write!(f, "TLS failed: {failure}"),
            Error::Unauthorized { status: 498 } => f.write_str(
                "the server says the token has expired (HTTP 498): get a new X-Plex-Token",
            ),
            Error::Unauthorized { status } => write!(
                f,
                "the server rejected the token (HTTP {status}): check the X-Plex-Token"
            ),
            Error::HttpStatus {
                status: 404, path, ..
            } if path.ends_with("/notifications") => write!(
                f,
                "the server has no {path} endpoint (HTTP 404): is this a Plex Media Server?"
            ),
            Error::HttpStatus {
                status: 404, path, ..
            } => write!(f, "the server does not serve GET {path} (HTTP 404)"),
            Error::HttpStatus {
                status,
                path,
                retry_after,
            } => {
                write!(f, "the server answered HTTP {status} for {path}")?;
                match retry_after {
                    Some(after) => write!(f, " and asked to retry in {after:?}"),
                    None => Ok(()),
                }
            }
            Error::Unsupported { reason } => f.write_str(reason),
            Error::Forbidden { status, path } if path.starts_with("/status/sessions/terminate") => {
                write!(
                    f,
                    "the server refused to end the session (HTTP {status}): that takes the \
                     server owner's token, on a server with Plex Pass"
                )
            }
            Error::Forbidden { status, path } => write!(
                f,
                "the token may not see {path} (HTTP {status}): it takes the server owner's token"
            ),
            Error::Protocol { phase, message, .. } => {
                write!(f, "protocol error during {phase}: {message}")
            }
            Error::ConnectionLost { phase, source } => {
                write!(f, "connection lost during {phase}: {source}")
            }
            Error::Closed {
                code: Some(code),
                reason,
            } if reason.is_empty() => {
                write!(
                    f,
                    "the server closed the connection (WebSocket close code {code})"
                )
            }
            Error::Closed {
                code: Some(code),
                reason,
            } => write!(
                f,
                "the server closed the connection (WebSocket close code {code}: {:?})",
                cut(reason)
            ),
            Error::Closed { code: None, reason } => {
                write!(f, "the server closed the connection: {reason}")
            }
            Error::BadAnswer {
                path,
                message,
                detail,
                excerpt,
            } => {
                write!(
                    f,
                    "the answer to GET {path} is not what Plex sends: {message}"
                )?;
                if !detail.is_empty() {
                    write!(f, " ({})", cut(detail))?;
                }
                write!(f, ": {:?}", cut(excerpt))
            }
            Error::AnswerTooLarge { path, what, limit } => write!(
                f,
                "the answer to GET {path} has more than {limit} {what}, the most read of it"
            ),
            Error::Stopped => f.write_str("the request was stopped"),
            Error::Throttled { path, retry_in } => write!(
                f,
                "GET {path} was held back, not sent: the server asked to wait or is failing \
                 (it may go in {retry_in:.1?})"
            ),
            Error::Decode {
                message,
                detail,
                excerpt,
            } => {
                write!(f, "could not decode a notification: {message}")?;
                if !detail.is_empty() {
                    write!(f, " ({})", cut(detail))?;
                }
                write!(f, ": {:?}", cut(excerpt))
            }
            Error::MessageTooLarge {
                size: Some(size),
                limit,
            } => write!(
                f,
                "skipped a message of {size} bytes, over the {limit}-byte limit"
            ),
            Error::MessageTooLarge { size: None, limit } => {
                write!(f, "skipped a message over the {limit}-byte limit")
            }
            Error::HeartbeatTimeout { silent_for } => {
                write!(f, "no sign of life from the server for {silent_for:?}")
            }
            Error::TrackerFull { what, limit } => write!(
                f,
                "the tracker holds its most {what} ({limit}): new ones are left out until \
                 some are done (its stats' over_limit counts them)"
            ),
            Error::CallbackPanicked { message } => write!(f, "the callback panicked: {message}"),
            Error::Internal { message } => write!(
                f,
                "a bug in plex-alerts ({message}); the listener ended; please report it"
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Connect { source, .. } | Error::ConnectionLost { source, .. } => Some(&**source),
            Error::Tls { failure } => Some(&*failure.0),
            _ => None,
        }
    }
}

/// Longest excerpt of a text the server sent that an error shows, in characters (and a
/// `<redacted>` that the cut would split, whole).
const EXCERPT_CHARS: usize = 120;

/// The longest token a listener or a [`PlexServer`](crate::PlexServer) takes, in bytes.
/// Plex's are about 20; the bound is what lets an error keep enough of a text to find
/// any token in it before the text is cut.
pub(crate) const MAX_TOKEN_BYTES: usize = 1024;

/// How much of a text the server sent an error keeps until it leaves the crate: the
/// excerpt, and room after it for the longest token in its longest form (every byte
/// `%XX`), so that a token the excerpt's cut would split is found whole.
const KEPT_CHARS: usize = EXCERPT_CHARS + 3 * MAX_TOKEN_BYTES;

/// What stands where the token was.
const REDACTED: &str = "<redacted>";

/// The start of `text`, at most [`EXCERPT_CHARS`] characters (a `<redacted>` the cut
/// would split kept whole), marked with `…` when cut.
pub(crate) fn excerpt(text: &str) -> String {
    cut(text).into_owned()
}

fn cut(text: &str) -> Cow<'_, str> {
    let (mut chars, mut at) = (0, 0);
    while at < text.len() {
        if chars >= EXCERPT_CHARS {
            return Cow::Owned(format!("{}…", &text[..at]));
        }
        (chars, at) = match text[at..].starts_with(REDACTED) {
            true => (chars + REDACTED.len(), at + REDACTED.len()),
            false => (
                chars + 1,
                at + text[at..].chars().next().map_or(1, char::len_utf8),
            ),
        };
    }
    Cow::Borrowed(text)
}

/// A text the server sent, as an error holds it until [`Error::redact`]: its first
/// [`KEPT_CHARS`] characters, marked with `…` when cut. Redaction blanks the token out of
/// it, then cuts it to the excerpt; `Display` shows no more than the excerpt before that.
pub(crate) fn foreign(text: &str) -> String {
    match text.char_indices().nth(KEPT_CHARS) {
        None => text.to_owned(),
        Some((end, _)) => format!("{}…", &text[..end]),
    }
}

/// [`foreign`], of bytes that may not be UTF-8 (invalid sequences replaced).
pub(crate) fn foreign_bytes(bytes: &[u8]) -> String {
    // Enough for KEPT_CHARS characters of any width.
    let kept = &bytes[..bytes.len().min(4 * KEPT_CHARS)];
    let mut text = foreign(&String::from_utf8_lossy(kept));
    if kept.len() < bytes.len() && !kept_part(&text).1 {
        text.push('…');
    }
    text
}

/// What [`foreign`] kept of a text, and whether it cut the rest off: the rest, which
/// redaction cannot see, may go on with a token that the kept part starts.
fn kept_part(text: &str) -> (&str, bool) {
    match text.strip_suffix('…') {
        Some(kept) if kept.chars().count() == KEPT_CHARS => (kept, true),
        _ => (text, false),
    }
}

/// `value` if it is one of `names`, in this crate's spelling: how an error names what a
/// server sent (a header's value) without quoting it.
pub(crate) fn known(value: &str, names: &[&'static str]) -> Option<&'static str> {
    let value = value.trim();
    names
        .iter()
        .copied()
        .find(|n| n.eq_ignore_ascii_case(value))
}

/// The forms of the token that redaction blanks out: as sent, and URL-decoded where that
/// differs. Any byte of either may also be written `%XX`, in either case, which covers
/// the percent-encodings (upper, lower, mixed, and of unreserved characters too), and a
/// space `+`.
struct Forms(Vec<Vec<u8>>);

/// Whether a form of the token starts at a place in a text.
enum Found {
    No,
    /// It does, and ends here (the longest reading).
    Whole(usize),
    /// The text ends in what could be its start.
    CutShort,
}

impl Forms {
    fn of(secret: &str) -> Forms {
        let mut forms = Vec::new();
        if !secret.is_empty() {
            forms.push(secret.as_bytes().to_vec());
            let decoded = crate::percent::decode_bytes(secret);
            if !decoded.is_empty() && decoded != secret.as_bytes() {
                forms.push(decoded);
            }
        }
        Forms(forms)
    }

    /// `text` with every occurrence of the token replaced by `<redacted>`, in one pass
    /// from left to right: nothing is replaced twice, nor looked at again once replaced.
    /// `cut_after`: the text was cut after its end, so what may be the start of a token
    /// there is left out.
    fn blank(&self, text: &str, cut_after: bool) -> String {
        if self.0.is_empty() {
            return text.to_owned();
        }
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        while let Some(c) = text[at..].chars().next() {
            let mut whole = None;
            let mut cut_short = false;
            for form in &self.0 {
                match find_at(text, at, form) {
                    Found::Whole(end) => whole = whole.max(Some(end)),
                    Found::CutShort => cut_short = true,
                    Found::No => {}
                }
            }
            if let Some(end) = whole {
                out.push_str(REDACTED);
                at = end;
                continue;
            }
            if cut_short && cut_after {
                break;
            }
            out.push(c);
            at += c.len_utf8();
        }
        out
    }
}

/// Whether `form` starts at `text[start..]`, each of its bytes as is or as `%XX` (a
/// space also as `+`).
fn find_at(text: &str, start: usize, form: &[u8]) -> Found {
    let bytes = text.as_bytes();
    // Most places fail at once: no allocation for them.
    if !form
        .first()
        .is_some_and(|&b| matches!(bytes[start], b'%' | b'+') || bytes[start] == b)
    {
        return Found::No;
    }
    let hex = |i: usize| bytes.get(i).and_then(|&h| (h as char).to_digit(16));
    // Every place in the text a reading of the form so far can end at: `%25` may be the
    // token's `%`, or its `%` followed by `25`.
    let mut ends = vec![start];
    let mut cut_short = false;
    for &b in form {
        let mut next = Vec::with_capacity(ends.len());
        for &j in &ends {
            let Some(&c) = bytes.get(j) else {
                cut_short = true;
                continue;
            };
            // A query string's `+` is a space.
            if c == b || (c == b'+' && b == b' ') {
                next.push(j + 1);
            }
            if c == b'%' {
                match (hex(j + 1), hex(j + 2)) {
                    (Some(hi), Some(lo)) if hi << 4 | lo == u32::from(b) => next.push(j + 3),
                    (Some(hi), None) if j + 2 == bytes.len() && hi == u32::from(b >> 4) => {
                        cut_short = true
                    }
                    (None, _) if j + 1 == bytes.len() => cut_short = true,
                    _ => {}
                }
            }
        }
        next.sort_unstable();
        next.dedup();
        if next.is_empty() {
            return if cut_short {
                Found::CutShort
            } else {
                Found::No
            };
        }
        ends = next;
    }
    match ends
        .into_iter()
        .rev()
        .find(|&end| text.is_char_boundary(end))
    {
        Some(end) => Found::Whole(end),
        None if cut_short => Found::CutShort,
        None => Found::No,
    }
}

impl Error {
    /// A text that is not a notification: `message` says what is wrong in this crate's
    /// words (it never quotes the text); `text` is kept for the excerpt.
    pub(crate) fn decode(message: impl Into<String>, text: &str) -> Error {
        Error::Decode {
            message: message.into(),
            detail: String::new(),
            excerpt: foreign(text),
        }
    }

    /// [`Error::decode`], of a message that is not UTF-8 or not text.
    pub(crate) fn decode_bytes(message: impl Into<String>, payload: &[u8]) -> Error {
        Error::Decode {
            message: message.into(),
            detail: String::new(),
            excerpt: foreign_bytes(payload),
        }
    }

    /// [`Error::decode`], for a text the JSON parser refused with `e`, which may quote it.
    pub(crate) fn decode_json(
        message: impl Into<String>,
        e: &serde_json::Error,
        text: &str,
    ) -> Error {
        Error::Decode {
            message: message.into(),
            detail: foreign(&e.to_string()),
            excerpt: foreign(text),
        }
    }

    pub(crate) fn protocol(
        phase: Phase,
        violation: Violation,
        message: impl Into<String>,
    ) -> Error {
        Error::Protocol {
            phase,
            violation,
            message: message.into(),
        }
    }

    /// An I/O failure on an open connection, in `phase`.
    pub(crate) fn lost(phase: Phase, source: io::Error) -> Error {
        Error::ConnectionLost {
            phase,
            source: Arc::new(source),
        }
    }

    /// The connection ended, not by a WebSocket close frame.
    pub(crate) fn closed(reason: impl Into<String>) -> Error {
        Error::Closed {
            code: None,
            reason: reason.into(),
        }
    }

    pub(crate) fn config(reason: impl Into<String>) -> Error {
        Error::InvalidConfig {
            reason: reason.into(),
        }
    }

    /// Whether trying again can help. False for what only a change on your side can fix:
    /// a wrong or expired token, a bad URL or option, an HTTP status that says the request
    /// itself is wrong (3xx and 4xx but 429). True for network and server trouble.
    ///
    /// After a retryable connection error the listener reconnects with backoff (unless
    /// [`Reconnect::never`](crate::Reconnect::never)); after one that is not, it ends.
    /// Errors about one message ([`Error::Decode`], [`Error::MessageTooLarge`],
    /// [`Error::CallbackPanicked`]) are retryable in this sense: the listener goes on.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Unauthorized { .. }
            | Error::Stopped
            | Error::AnswerTooLarge { .. }
            | Error::InvalidUrl { .. }
            | Error::InvalidConfig { .. }
            | Error::Unsupported { .. }
            | Error::Forbidden { .. } => false,
            // 3xx: the URL points elsewhere (fix the URL); 4xx: retrying cannot help, except
            // 429 (too many requests), which asks for exactly that, later.
            Error::HttpStatus { status, .. } => *status >= 500 || *status == 429,
            _ => true,
        }
    }

    /// How long the server asked to wait before trying again (`Retry-After`), or how long
    /// a held-back lookup must wait; `None` when nothing was said.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::HttpStatus { retry_after, .. } => *retry_after,
            Error::Throttled { retry_in, .. } => Some(*retry_in),
            _ => None,
        }
    }

    /// Blanks `secret` out of every text in this error, in one pass per text, then cuts
    /// the texts the server sent to their excerpt. Called once, where the error leaves the
    /// crate (a second pass would see `<redacted>` as text).
    pub(crate) fn redact(mut self, secret: &str) -> Error {
        let forms = Forms::of(secret);
        let ours = |s: &mut String| *s = forms.blank(s, false);
        let theirs = |s: &mut String| {
            let (kept, cut_after) = kept_part(s);
            let mut blanked = forms.blank(kept, cut_after);
            if cut_after {
                blanked.push('…');
            }
            *s = excerpt(&blanked);
        };
        match &mut self {
            Error::Decode {
                message,
                detail,
                excerpt,
            } => {
                ours(message);
                theirs(detail);
                theirs(excerpt);
            }
            Error::BadAnswer {
                path,
                message,
                detail,
                excerpt,
            } => {
                ours(path);
                ours(message);
                theirs(detail);
                theirs(excerpt);
            }
            Error::AnswerTooLarge { path, .. } | Error::Throttled { path, .. } => ours(path),
            Error::Closed { reason, .. } => theirs(reason),
            Error::Protocol { message, .. }
            | Error::CallbackPanicked { message }
            | Error::Internal { message }
            | Error::InvalidConfig { reason: message }
            | Error::InvalidUrl { reason: message }
            | Error::Unsupported { reason: message } => ours(message),
            Error::HttpStatus { path, .. } | Error::Forbidden { path, .. } => ours(path),
            Error::Connect { target, .. } => ours(target),
            Error::Timeout { .. }
            | Error::Unauthorized { .. }
            | Error::ConnectionLost { .. }
            | Error::Tls { .. }
            | Error::MessageTooLarge { .. }
            | Error::TrackerFull { .. }
            | Error::Stopped
            | Error::HeartbeatTimeout { .. } => {}
        }
        self
    }
}

/// An error as a log line says it: see [`Error::summary`].
pub(crate) struct Summary<'a>(&'a Error);

impl Error {
    /// What happened, for a log line: the error without anything the server sent (an
    /// excerpt, the parser's detail, a close reason) and without panic messages, which
    /// the panic hook has shown already and which a callback's may fill with anything.
    pub(crate) fn summary(&self) -> Summary<'_> {
        Summary(self)
    }
}

impl fmt::Display for Summary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Error::Decode { message, .. } => {
                write!(f, "could not decode a notification: {message}")
            }
            Error::BadAnswer { path, message, .. } => {
                write!(
                    f,
                    "the answer to GET {path} is not what Plex sends: {message}"
                )
            }
            Error::Closed {
                code: Some(code), ..
            } => write!(
                f,
                "the server closed the connection (WebSocket close code {code})"
            ),
            Error::CallbackPanicked { .. } => f.write_str(
                "the callback panicked (the panic hook showed its message); the listener went on",
            ),
            Error::Internal { .. } => f.write_str(
                "a bug in plex-alerts: one of its threads panicked (the panic hook showed \
                 where, and its message); please report it",
            ),
            // The crate's own words, and the user's (a URL, an option, a request's path).
            Error::InvalidUrl { .. }
            | Error::InvalidConfig { .. }
            | Error::Connect { .. }
            | Error::Timeout { .. }
            | Error::Tls { .. }
            | Error::Unauthorized { .. }
            | Error::Forbidden { .. }
            | Error::HttpStatus { .. }
            | Error::Unsupported { .. }
            | Error::Protocol { .. }
            | Error::ConnectionLost { .. }
            | Error::Closed { code: None, .. }
            | Error::MessageTooLarge { .. }
            | Error::HeartbeatTimeout { .. }
            | Error::TrackerFull { .. }
            | Error::AnswerTooLarge { .. }
            | Error::Throttled { .. }
            | Error::Stopped => fmt::Display::fmt(self.0, f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// With reserved characters, so that its encodings and decoded form differ from it.
    const SECRET: &str = "SeCrEt/ToKeN+6f1d2c";

    /// `value` with every byte `%XX`: upper-case hex digits, lower-case, or alternating.
    fn all_encoded(value: &str, case: &str) -> String {
        let mut out = String::new();
        for (i, b) in value.bytes().enumerate() {
            let upper = case == "upper" || (case == "mixed" && i % 2 == 0);
            out += &match upper {
                true => format!("%{b:02X}"),
                false => format!("%{b:02x}"),
            };
        }
        out
    }

    /// Every way a server could echo `SECRET` that redaction promises to catch.
    fn echoes() -> Vec<(&'static str, String)> {
        vec![
            ("as sent", SECRET.to_owned()),
            ("encoded, upper case", crate::percent::encode(SECRET)),
            ("encoded, lower case", "SeCrEt%2fToKeN%2b6f1d2c".to_owned()),
            (
                "every byte encoded, lower case",
                all_encoded(SECRET, "lower"),
            ),
            (
                "every byte encoded, mixed case",
                all_encoded(SECRET, "mixed"),
            ),
            ("URL-decoded", "SeCrEt/ToKeN 6f1d2c".to_owned()),
        ]
    }

    /// What an error made of `text` shows once it leaves the crate.
    fn excerpt_of(text: &str, secret: &str) -> String {
        match Error::decode("bad", text).redact(secret) {
            Error::Decode { excerpt, .. } => excerpt,
            _ => unreachable!(),
        }
    }

    #[test]
    fn every_form_of_the_token_is_blanked_once() {
        for (form, echo) in echoes() {
            let text = format!("echo {echo}, and {echo}.");
            let want = "echo <redacted>, and <redacted>.";
            assert_eq!(excerpt_of(&text, SECRET), want, "{form}");
            let e = Error::protocol(Phase::Read, Violation::BadFrame, text.clone()).redact(SECRET);
            assert_eq!(
                e.to_string(),
                format!("protocol error during reading: {want}")
            );
            let e = Error::Closed {
                code: Some(1000),
                reason: foreign(&text),
            };
            assert!(!format!("{e:?}").contains("<redacted>"));
            let e = e.redact(SECRET);
            assert!(format!("{e} {e:?}").contains(want), "{form}: {e:?}");
        }
    }

    #[test]
    fn a_token_that_holds_an_encoding_is_blanked_as_sent_encoded_and_decoded() {
        let secret = "abc%2Fdef+gh";
        for echo in [
            "abc%2Fdef+gh",
            "abc%2fdef+gh",
            "abc%252Fdef%2Bgh",
            "abc/def gh",
        ] {
            assert_eq!(
                excerpt_of(&format!("[{echo}]"), secret),
                "[<redacted>]",
                "{echo}"
            );
        }
    }

    #[test]
    fn a_token_that_the_excerpt_cuts_is_blanked_whole_in_every_form() {
        for (form, echo) in echoes() {
            for before in EXCERPT_CHARS - 5..EXCERPT_CHARS {
                let text = format!("{}{echo} and more", "x".repeat(before));
                let want = format!("{}<redacted>…", "x".repeat(before));
                assert_eq!(excerpt_of(&text, SECRET), want, "{form}, at {before}");
            }
        }
        // A payload of bytes, as a binary frame's.
        let mut payload = "€".repeat(EXCERPT_CHARS - 2).into_bytes();
        payload.extend_from_slice(all_encoded(SECRET, "lower").as_bytes());
        payload.extend_from_slice(&[b'x'; 100_000]);
        let e = Error::decode_bytes("binary", &payload).redact(SECRET);
        let Error::Decode { excerpt, .. } = &e else {
            unreachable!()
        };
        assert!(excerpt.ends_with("€<redacted>…"), "{excerpt}");
    }

    #[test]
    fn the_longest_token_is_found_whole_and_one_cut_off_where_the_error_stopped_keeping_is_left_out()
     {
        let secret = "t".repeat(MAX_TOKEN_BYTES);
        let echo = all_encoded(&secret, "lower");
        let text = format!("{}{echo}{echo}{echo}", "x".repeat(100));
        assert_eq!(
            excerpt_of(&text, &secret),
            format!("{}<redacted>…", "x".repeat(100)),
            "the second echo starts inside what was kept, and goes on past it"
        );
        // Tokens close together: the excerpt is all markers.
        let secret = "s3cr3t-".repeat(10);
        let text = all_encoded(&secret, "upper").repeat(30);
        assert_eq!(
            excerpt_of(&text, &secret),
            format!("{}…", "<redacted>".repeat(EXCERPT_CHARS / REDACTED.len()))
        );
    }

    #[test]
    fn text_that_only_looks_like_the_start_of_the_token_is_kept() {
        // The cut falls right after "SeC": the old redaction guessed a token there.
        let text = format!("{}SeC and more", "x".repeat(EXCERPT_CHARS - 3));
        let want = format!("{}SeC…", "x".repeat(EXCERPT_CHARS - 3));
        assert_eq!(excerpt_of(&text, SECRET), want);
        let text = "it ends in SeCrEt%2";
        assert_eq!(excerpt_of(text, SECRET), text);
        let e =
            Error::protocol(Phase::Read, Violation::BadFrame, "a word: SeCrEt/ToK").redact(SECRET);
        assert!(e.to_string().ends_with("a word: SeCrEt/ToK"), "{e}");
    }

    #[test]
    fn a_token_inside_the_marker_neither_loops_nor_garbles_it() {
        for (secret, want) in [
            ("red", "a <redacted> act, <redacted>acted"),
            ("act", "a red <redacted>, red<redacted>ed"),
            ("<redacted>", "a red act, redacted"),
            ("%", "a red act, redacted"),
        ] {
            let e = Error::protocol(Phase::Read, Violation::BadFrame, "a red act, redacted")
                .redact(secret);
            let Error::Protocol { message, .. } = e else {
                unreachable!()
            };
            assert_eq!(message, want, "{secret}");
        }
    }

    /// What the crate docs and `Builder::token` say: a token of a few characters is
    /// blanked all the same, wherever it appears, ordinary words included.
    #[test]
    fn a_short_token_is_blanked_wherever_it_appears() {
        assert_eq!(
            excerpt_of("a cab and abba", "ab"),
            "a c<redacted> and <redacted>ba"
        );
        assert_eq!(excerpt_of("x", "x"), "<redacted>");
        assert_eq!(excerpt_of("x%78X", "x"), "<redacted><redacted>X");
    }

    #[test]
    fn texts_from_the_server_show_no_more_than_an_excerpt_redacted_or_not() {
        let long = "x".repeat(100_000);
        let e = Error::decode_json(
            "bad",
            &serde_json::from_str::<u8>("\"x\"").unwrap_err(),
            &long,
        );
        assert!(e.to_string().chars().count() < 2 * EXCERPT_CHARS, "{e}");
        let Error::Decode { excerpt, .. } = e.redact("") else {
            unreachable!()
        };
        assert_eq!(excerpt, format!("{}…", "x".repeat(EXCERPT_CHARS)));
    }

    #[test]
    fn a_log_line_says_what_happened_without_what_the_server_sent() {
        let sent = "PAYLOAD";
        let misfit = serde_json::from_str::<u8>("\"PAYLOAD\"").unwrap_err();
        let quiet = [
            Error::decode_json("a \"playing\" notification did not fit", &misfit, sent),
            Error::decode_bytes("a binary message of 7 bytes", sent.as_bytes()),
            Error::Closed {
                code: Some(1000),
                reason: foreign(sent),
            },
            Error::CallbackPanicked {
                message: sent.to_owned(),
            },
            Error::Internal {
                message: sent.to_owned(),
            },
        ];
        for e in quiet {
            let e = e.redact("");
            assert!(
                e.to_string().contains(sent),
                "the error itself says it: {e}"
            );
            let line = e.summary().to_string();
            assert!(!line.contains(sent), "{line}");
        }
        let e = Error::decode("no NotificationContainer in the message", sent);
        assert_eq!(
            e.summary().to_string(),
            "could not decode a notification: no NotificationContainer in the message"
        );
        let e = Error::Closed {
            code: Some(1001),
            reason: foreign(sent),
        };
        assert_eq!(
            e.summary().to_string(),
            "the server closed the connection (WebSocket close code 1001)"
        );
        let e = Error::closed("the event stream ended");
        assert_eq!(e.summary().to_string(), e.to_string());
    }

    #[test]
    fn excerpts_are_cut_on_a_character_boundary() {
        let long = "é".repeat(500);
        let e = excerpt(&long);
        assert_eq!(e.chars().count(), EXCERPT_CHARS + 1);
        assert!(e.ends_with('…'));
        assert_eq!(excerpt("short"), "short");
        assert_eq!(excerpt(&e), e, "cutting twice changes nothing");
    }
}
