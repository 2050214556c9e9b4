//! The one error type of the crate.

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
/// No variant ever holds the token: texts that came from the server are cut short and
/// have the token blanked out.
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
        /// What the TLS library said: the cause, also given by `source()`.
        source: Arc<native_tls::Error>,
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
        /// What was wrong.
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
        /// The WebSocket close reason (invalid UTF-8 replaced), or how the stream ended.
        reason: String,
    },
    /// A message arrived that is not a notification this crate can read: not JSON, not the
    /// expected shape, a binary frame, or a typed view that did not fit.
    /// The listener goes on with the next message. (Text that is not UTF-8 is an
    /// [`Error::Protocol`]: it ends the connection.)
    Decode {
        /// What was wrong.
        message: String,
        /// The start of the offending text.
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
            Error::Tls { source } => write!(f, "TLS failed: {source}"),
            Error::Unauthorized { status: 498 } => f.write_str(
                "the server says the token has expired (HTTP 498): get a new X-Plex-Token",
            ),
            Error::Unauthorized { status } => write!(
                f,
                "the server rejected the token (HTTP {status}): check the X-Plex-Token"
            ),
            Error::HttpStatus {
                status: 404, path, ..
            } => write!(
                f,
                "the server has no {path} endpoint (HTTP 404): is this a Plex Media Server?"
            ),
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
            Error::Forbidden { status, path } => write!(
                f,
                "the token may not see {path} (HTTP {status}): it takes the server owner's token"
            ),
            Error::Protocol { phase, message } => {
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
                "the server closed the connection (WebSocket close code {code}: {reason:?})"
            ),
            Error::Closed { code: None, reason } => {
                write!(f, "the server closed the connection: {reason}")
            }
            Error::Decode { message, excerpt } => {
                write!(f, "could not decode a notification: {message}: {excerpt:?}")
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
            Error::Tls { source } => Some(&**source),
            _ => None,
        }
    }
}

/// Longest excerpt of foreign text kept in an error.
const EXCERPT_CHARS: usize = 120;

/// The start of `text`, at most [`EXCERPT_CHARS`] characters, marked when cut.
pub(crate) fn excerpt(text: &str) -> String {
    match text.char_indices().nth(EXCERPT_CHARS) {
        None => text.to_owned(),
        Some((end, _)) => format!("{}…", &text[..end]),
    }
}

impl Error {
    pub(crate) fn decode(message: impl fmt::Display, text: &str) -> Error {
        Error::Decode {
            message: message.to_string(),
            excerpt: excerpt(text),
        }
    }

    pub(crate) fn protocol(phase: Phase, message: impl Into<String>) -> Error {
        Error::Protocol {
            phase,
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

    /// Blanks `secret` out of every text the server or a callback could have put into this
    /// error: as is, percent-encoded, and its start where an excerpt was cut short.
    pub(crate) fn redact(mut self, secret: &str) -> Error {
        if secret.is_empty() {
            return self;
        }
        let encoded = crate::percent::encode(secret);
        let blank = |s: &mut String| {
            for form in [secret, encoded.as_str()] {
                if s.contains(form) {
                    *s = s.replace(form, "<redacted>");
                }
            }
            // An excerpt cut inside the token ends with its first characters, wherever
            // the excerpt sits in the text (quoted in the middle of a message, say).
            let mut out = String::with_capacity(s.len());
            let mut rest = s.as_str();
            while let Some(at) = rest.find('…') {
                let body = &rest[..at];
                let cut = (1..secret.len())
                    .rev()
                    .filter(|&n| secret.is_char_boundary(n))
                    .find(|&n| body.ends_with(&secret[..n]));
                match cut {
                    Some(n) => {
                        out.push_str(&body[..body.len() - n]);
                        out.push_str("<redacted>");
                    }
                    None => out.push_str(body),
                }
                out.push('…');
                rest = &rest[at + '…'.len_utf8()..];
            }
            out.push_str(rest);
            *s = out;
        };
        match &mut self {
            Error::Decode { message, excerpt } => {
                blank(message);
                blank(excerpt);
            }
            Error::Protocol { message, .. }
            | Error::CallbackPanicked { message }
            | Error::Internal { message }
            | Error::InvalidConfig { reason: message }
            | Error::InvalidUrl { reason: message }
            | Error::Unsupported { reason: message }
            | Error::Closed {
                reason: message, ..
            } => blank(message),
            Error::HttpStatus { path, .. } | Error::Forbidden { path, .. } => blank(path),
            Error::Connect { target, .. } => blank(target),
            Error::Timeout { .. }
            | Error::Unauthorized { .. }
            | Error::ConnectionLost { .. }
            | Error::Tls { .. }
            | Error::MessageTooLarge { .. }
            | Error::TrackerFull { .. }
            | Error::HeartbeatTimeout { .. } => {}
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_from_the_server_have_the_token_blanked() {
        let e = Error::decode("bad", "echo of s3cr3t here").redact("s3cr3t");
        assert!(!format!("{e} {e:?}").contains("s3cr3t"));
        let e = Error::protocol(Phase::Read, "s3cr3t").redact("s3cr3t");
        assert!(!e.to_string().contains("s3cr3t"));
    }

    #[test]
    fn a_token_cut_by_an_excerpt_or_percent_encoded_is_blanked_too() {
        let secret = "SeCrEt-ToKeN-6f1d2c";
        let text = format!("{}{secret} and more", "x".repeat(EXCERPT_CHARS - 7));
        let e = Error::decode("bad", &text).redact(secret);
        let Error::Decode { excerpt, .. } = &e else {
            unreachable!()
        };
        assert!(!excerpt.contains("SeCrEt-"), "{excerpt}");
        assert!(excerpt.ends_with("<redacted>…"), "{excerpt}");
        let e = Error::protocol(Phase::Read, "a%20b").redact("a b");
        assert!(!e.to_string().contains("a%20b"));
    }

    #[test]
    fn a_token_cut_by_an_excerpt_inside_a_message_is_blanked_too() {
        let secret = "SeCrEt-ToKeN-6f1d2c";
        let quoted = excerpt(&format!("{}{secret}", "x".repeat(EXCERPT_CHARS - 7)));
        let e = Error::decode(format!("event {quoted:?}: not JSON"), "data").redact(secret);
        assert!(!e.to_string().contains("SeCrEt-"), "{e}");
        assert!(e.to_string().contains("<redacted>…"), "{e}");
    }

    #[test]
    fn excerpts_are_cut_on_a_character_boundary() {
        let long = "é".repeat(500);
        let e = excerpt(&long);
        assert_eq!(e.chars().count(), EXCERPT_CHARS + 1);
        assert!(e.ends_with('…'));
        assert_eq!(excerpt("short"), "short");
    }
}
