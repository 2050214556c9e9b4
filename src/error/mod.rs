//! The one error type of the crate; how it keeps the token out of its texts is in
//! [`redact`].

mod redact;

use redact::cut;
#[cfg(test)]
use redact::{EXCERPT_CHARS, REDACTED};
pub(crate) use redact::{MAX_TOKEN_BYTES, excerpt, foreign, foreign_bytes, known};

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
    /// Not transient: the listener reports it and ends. Get a valid token; from plex.tv,
    /// the account's token is no longer good (signed out, or revoked): sign in again.
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
    /// A PIN sign-in's PIN expired at plex.tv before the user approved it (plex.tv no
    /// longer knows it). Start a new [`PinLogin`](crate::PinLogin).
    PinExpired,
    /// The account has no server by this name
    /// ([`PlexAccount::server`](crate::PlexAccount::server)).
    NoSuchServer {
        /// The name asked for.
        name: String,
        /// The names of the servers it has, to pick from.
        servers: Vec<String>,
    },
    /// No connection of a server answered as that server
    /// ([`ServerResource::connect`](crate::ServerResource::connect)): each connection
    /// tried, by its URI, and why it failed, in the order of preference. Empty when
    /// plex.tv lists none to try.
    NoConnection {
        /// The server's name.
        server: String,
        /// Each URI tried, and its error.
        tried: Vec<(String, Error)>,
    },
    /// A connection of a server answered, but as another server: plex.tv's address for
    /// it is out of date, or another server now has that address. Refused: the server's
    /// token is not used there again.
    WrongServer {
        /// The machine identifier plex.tv gives the server.
        expected: String,
        /// The one that answered.
        found: String,
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
    /// Waiting for the user to approve a sign-in at plex.tv
    /// ([`PinLogin::wait`](crate::PinLogin::wait)): the PIN holds until it expires, so
    /// waiting again can still succeed.
    Approval,
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Phase::Connect => "connecting",
            Phase::TlsHandshake => "the TLS handshake",
            Phase::Handshake => "the HTTP handshake",
            Phase::Read => "reading",
            Phase::Approval => "the wait for the sign-in's approval at plex.tv",
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
                "the token was refused (HTTP {status}): check it, or sign in again for a new one"
            ),
            Error::HttpStatus {
                status: 404, path, ..
            } if path.ends_with("/notifications") => write!(
                f,
                "the server has no {path} endpoint (HTTP 404): is this a Plex Media Server?"
            ),
            Error::HttpStatus {
                status: 404, path, ..
            } if path == "/:/scrobble" || path == "/:/unscrobble" => write!(
                f,
                "the server has no item with that rating key (HTTP 404 for {path})"
            ),
            Error::HttpStatus {
                status: 404, path, ..
            } if path == "/status/sessions/terminate" => write!(
                f,
                "the server has no session with that id playing (HTTP 404 for {path})"
            ),
            Error::HttpStatus {
                status: 404, path, ..
            } => write!(f, "the server does not serve {path} (HTTP 404)"),
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
                write!(f, "the answer to {path} is not what Plex sends: {message}")?;
                if !detail.is_empty() {
                    write!(f, " ({})", cut(detail))?;
                }
                match excerpt.is_empty() {
                    // Nothing quoted: plex.tv's answers, which carry tokens.
                    true => Ok(()),
                    false => write!(f, ": {:?}", cut(excerpt)),
                }
            }
            Error::AnswerTooLarge { path, what, limit } => write!(
                f,
                "the answer to {path} has more than {limit} {what}, the most read of it"
            ),
            Error::Stopped => f.write_str("the request was stopped"),
            Error::Throttled { path, retry_in } => write!(
                f,
                "the request for {path} was held back, not sent: the server asked to wait or is failing \
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
            Error::PinExpired => f.write_str(
                "the PIN expired at plex.tv before the sign-in was approved: start a new one",
            ),
            Error::NoSuchServer { name, servers } if servers.is_empty() => {
                write!(f, "the account has no server named {name:?}; it has none")
            }
            Error::NoSuchServer { name, servers } => write!(
                f,
                "the account has no server named {name:?}; it has {}",
                servers
                    .iter()
                    .map(|s| format!("{s:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Error::NoConnection { server, tried } if tried.is_empty() => write!(
                f,
                "plex.tv lists no connection to try for the server {server:?}"
            ),
            Error::NoConnection { server, tried } => {
                write!(f, "no connection to the server {server:?} worked:")?;
                for (i, (uri, error)) in tried.iter().enumerate() {
                    let sep = if i == 0 { "" } else { ";" };
                    write!(f, "{sep} {uri}: {error}")?;
                }
                Ok(())
            }
            Error::WrongServer { expected, found } => write!(
                f,
                "another server answered there (machine identifier {:?}, not {expected:?}): \
                 plex.tv's address for it is out of date",
                cut(found)
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
            | Error::Forbidden { .. }
            | Error::PinExpired
            | Error::NoSuchServer { .. }
            | Error::WrongServer { .. } => false,
            // Worth trying again if any of its connections is.
            Error::NoConnection { tried, .. } => tried.iter().any(|(_, e)| e.is_retryable()),
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
    fn request_errors_name_the_path_and_no_method() {
        // The PIN is asked for with a POST; the texts are shared with every GET.
        let path = "/api/v2/pins".to_owned();
        let errors = [
            Error::BadAnswer {
                path: path.clone(),
                message: "the PIN has no id or no code".into(),
                detail: String::new(),
                excerpt: String::new(),
            },
            Error::AnswerTooLarge {
                path: path.clone(),
                what: "bytes",
                limit: 65536,
            },
            Error::Throttled {
                path: path.clone(),
                retry_in: Duration::from_secs(3),
            },
            Error::HttpStatus {
                status: 404,
                path: path.clone(),
                retry_after: None,
            },
        ];
        for e in errors {
            let text = e.to_string();
            assert!(text.contains(&path) && !text.contains("GET"), "{text}");
            assert!(!e.summary().to_string().contains("GET"), "{text}");
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
    fn several_secrets_are_blanked_in_one_pass() {
        let (account, server) = ("acct-SeCrEt-1", "srv/SeCrEt+2");
        let text = format!(
            "{account} and {} and srv/SeCrEt 2",
            crate::percent::encode(server)
        );
        let e = Error::decode("bad", &text).redact_all(&[account, server, ""]);
        let Error::Decode { excerpt, .. } = e else {
            unreachable!()
        };
        assert_eq!(excerpt, "<redacted> and <redacted> and <redacted>");
        // A secret found inside another's marker would garble it, in a second pass.
        let e = Error::decode("bad", "x acted").redact_all(&["x", "acted"]);
        let Error::Decode { excerpt, .. } = e else {
            unreachable!()
        };
        assert_eq!(excerpt, "<redacted> <redacted>");
        let tried = vec![(
            format!("http://h/{account}"),
            Error::Connect {
                target: "h:1".into(),
                source: Arc::new(io::Error::other("refused")),
            },
        )];
        let e = Error::NoConnection {
            server: format!("named {server}"),
            tried,
        }
        .redact_all(&[account, server]);
        let text = format!("{e} {e:?}");
        assert!(!text.contains("SeCrEt"), "{text}");
        assert!(
            text.contains("http://h/<redacted>: could not connect to h:1: refused"),
            "{text}"
        );
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
