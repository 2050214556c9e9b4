//! Keeping the token out of an error's texts: what an error keeps of a text the server
//! sent, the forms of the token, the one pass that blanks them out before the text is
//! cut, and the summary a log line gives.

use std::borrow::Cow;
use std::fmt;

use super::Error;

/// Longest excerpt of a text the server sent that an error shows, in characters (and a
/// `<redacted>` that the cut would split, whole).
pub(super) const EXCERPT_CHARS: usize = 120;

/// The longest token a listener or a [`PlexServer`](crate::PlexServer) takes, in bytes.
/// Plex's are about 20; the bound is what lets an error keep enough of a text to find
/// any token in it before the text is cut.
pub(crate) const MAX_TOKEN_BYTES: usize = 1024;

/// How much of a text the server sent an error keeps until it leaves the crate: the
/// excerpt, and room after it for the longest token in its longest form (every byte
/// `%XX`), so that a token the excerpt's cut would split is found whole.
const KEPT_CHARS: usize = EXCERPT_CHARS + 3 * MAX_TOKEN_BYTES;

/// What stands where the token was.
pub(super) const REDACTED: &str = "<redacted>";

/// The start of `text`, at most [`EXCERPT_CHARS`] characters (a `<redacted>` the cut
/// would split kept whole), marked with `…` when cut.
pub(crate) fn excerpt(text: &str) -> String {
    cut(text).into_owned()
}

pub(super) fn cut(text: &str) -> Cow<'_, str> {
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
    fn of(secrets: &[&str]) -> Forms {
        let mut forms = Vec::new();
        for secret in secrets.iter().filter(|s| !s.is_empty()) {
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
    /// Blanks `secret` out of every text in this error, in one pass per text, then cuts
    /// the texts the server sent to their excerpt. Called once, where the error leaves the
    /// crate (a second pass would see `<redacted>` as text).
    pub(crate) fn redact(self, secret: &str) -> Error {
        self.redact_all(&[secret])
    }

    /// [`redact`](Self::redact), for several secrets at once (an account's token and a
    /// server's): one pass, so that no secret is looked for in another's `<redacted>`.
    pub(crate) fn redact_all(mut self, secrets: &[&str]) -> Error {
        let forms = Forms::of(secrets);
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
            Error::NoSuchServer { name, servers } => {
                ours(name);
                servers.iter_mut().for_each(ours);
            }
            // Each attempt's error was redacted where it was made, with these secrets.
            Error::NoConnection { server, tried } => {
                ours(server);
                tried.iter_mut().for_each(|(uri, _)| ours(uri));
            }
            Error::WrongServer { expected, found } => {
                ours(expected);
                theirs(found);
            }
            Error::Timeout { .. }
            | Error::Unauthorized { .. }
            | Error::ConnectionLost { .. }
            | Error::Tls { .. }
            | Error::MessageTooLarge { .. }
            | Error::TrackerFull { .. }
            | Error::Stopped
            | Error::PinExpired
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
                write!(f, "the answer to {path} is not what Plex sends: {message}")
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
            Error::NoConnection { server, tried } => {
                write!(f, "no connection to the server {server:?} worked:")?;
                for (i, (uri, error)) in tried.iter().enumerate() {
                    let sep = if i == 0 { "" } else { ";" };
                    write!(f, "{sep} {uri}: {}", error.summary())?;
                }
                Ok(())
            }
            Error::WrongServer { expected, .. } => write!(
                f,
                "another server answered at an address of {expected:?}: plex.tv's address \
                 for it is out of date"
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
            | Error::PinExpired
            | Error::NoSuchServer { .. }
            | Error::Stopped => fmt::Display::fmt(self.0, f),
        }
    }
}
