//! The bytes on the mock's wire: WebSocket frames both ways, the event-stream shape, and
//! HTTP requests and answers.

use std::io::{self, Read, Write};
use std::net::TcpStream;

use serde_json::Value;

use crate::percent;
use crate::transport::frames;
use crate::transport::http::owned_headers;

use crate::Notification;

/// A request the server received, as the client sent it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RecordedRequest {
    /// `GET`, usually.
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// Query parameters, percent-decoded, in order.
    pub query: Vec<(String, String)>,
    /// Headers, in order.
    pub headers: Vec<(String, String)>,
}

impl RecordedRequest {
    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The first query parameter with this name.
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One complete client frame: (opcode, unmasked payload, bytes used).
pub(super) fn parse_client_frame(buf: &[u8]) -> Option<(u8, Vec<u8>, usize)> {
    let (header, payload, used) = frames::decode(buf)?;
    Some((header.opcode, payload, used))
}

/// A final, unmasked (server) frame.
pub(super) fn ws_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    frames::encode(true, opcode, None, payload)
}

/// A WebSocket frame as a server writes it (unmasked), with any `fin` flag and opcode:
/// hand-made input, fragmented, broken or hostile, for
/// [`Raw::WebSocketBytes`](super::Raw::WebSocketBytes). The length takes the fewest bytes;
/// nothing else is checked, so any opcode (0x0 continuation, 0x1 text, 0x2 binary, 0x8
/// close, 0x9 ping, 0xA pong, or a reserved one) and any payload go out as given.
///
/// ```
/// use plex_alerts::mock::{MockServer, Raw, raw_frame};
///
/// // "hello" in two fragments, a Ping between them.
/// let mut bytes = raw_frame(false, 0x1, b"hel");
/// bytes.extend(raw_frame(true, 0x9, b"are you there"));
/// bytes.extend(raw_frame(true, 0x0, b"lo"));
/// assert_eq!(&bytes[..5], b"\x01\x03hel");
/// let server = MockServer::start();
/// server.send_raw(Raw::WebSocketBytes(bytes));
/// ```
pub fn raw_frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    frames::encode(fin, opcode, None, payload)
}

/// The `type` of a NotificationContainer frame, read as the listener reads it.
///
/// # Panics
/// If `frame` is not a notification: the mock's callers pass their own frames.
pub(super) fn notification_type(frame: &str) -> String {
    crate::alert::kind_of_frame(frame)
        .unwrap_or_else(|| panic!("not a NotificationContainer frame: {frame}"))
}

/// A WebSocket frame's notification in the event-stream shape: `event: <type>` and the
/// inner object as `data:`, a single child unwrapped from its array, no type or size.
pub fn event_stream_text(frame: &str) -> String {
    let value: Value = serde_json::from_str(frame).unwrap_or(Value::Null);
    let container = value
        .get("NotificationContainer")
        .and_then(Value::as_object);
    let kind = container
        .and_then(|c| c.get("type"))
        .and_then(Value::as_str)
        .unwrap_or("message");
    let mut data = serde_json::Map::new();
    for (key, child) in container.into_iter().flatten() {
        if key == "type" || key == "size" {
            continue;
        }
        let child = match child {
            Value::Array(items) if items.len() == 1 => items[0].clone(),
            other => other.clone(),
        };
        data.insert(key.clone(), child);
    }
    format!("event: {kind}\ndata: {}\n\n", Value::Object(data))
}

pub(super) enum MockStream {
    Plain(TcpStream),
    Tls(Box<native_tls::TlsStream<TcpStream>>),
}

impl Read for MockStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            MockStream::Plain(s) => s.read(buf),
            MockStream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for MockStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            MockStream::Plain(s) => s.write(buf),
            MockStream::Tls(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            MockStream::Plain(s) => s.flush(),
            MockStream::Tls(s) => s.flush(),
        }
    }
}

pub(super) fn read_request(stream: &mut MockStream) -> io::Result<(RecordedRequest, Vec<u8>)> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut req = httparse::Request::new(&mut headers);
        match req.parse(&buf) {
            Ok(httparse::Status::Complete(used)) => {
                let target = req.path.unwrap_or("/");
                let (path, query) = target.split_once('?').unwrap_or((target, ""));
                let query = query
                    .split('&')
                    .filter(|p| !p.is_empty())
                    .map(|p| {
                        let (k, v) = p.split_once('=').unwrap_or((p, ""));
                        (percent::decode(k), percent::decode(v))
                    })
                    .collect();
                let request = RecordedRequest {
                    method: req.method.unwrap_or("").to_owned(),
                    path: percent::decode(path),
                    query,
                    headers: owned_headers(req.headers),
                };
                return Ok((request, buf.split_off(used)));
            }
            Ok(httparse::Status::Partial) if buf.len() < 64 * 1024 => continue,
            _ => return Err(io::ErrorKind::InvalidData.into()),
        }
    }
}

pub(super) fn respond(
    stream: &mut MockStream,
    status: u16,
    content_type: &str,
    body: &str,
) -> io::Result<()> {
    respond_with(stream, status, content_type, &[], body)
}

/// [`respond`], with more headers.
pub(super) fn respond_with(
    stream: &mut MockStream,
    status: u16,
    content_type: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> io::Result<()> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        429 => "Too Many Requests",
        498 => "Token Expired",
        503 => "Service Unavailable",
        _ => "Mock",
    };
    let mut head = format!("HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    write!(
        stream,
        "{head}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    stream.flush()
}

/// A notification's WebSocket frame (`{"NotificationContainer": {...}}`), made from its
/// typed view, for [`MockServer::send`](super::MockServer::send): tests and examples need
/// not write JSON.
///
/// ```
/// use plex_alerts::{Notification, ReachabilityNotification, mock};
///
/// let mut r = ReachabilityNotification::default();
/// r.reachability = Some(true);
/// let frame = mock::frame(&Notification::Reachability(vec![r]));
/// assert_eq!(
///     frame,
///     r#"{"NotificationContainer":{"type":"reachability","size":1,"ReachabilityNotification":[{"reachability":true}]}}"#
/// );
/// ```
///
/// # Panics
/// For [`Notification::Account`] and [`Notification::Other`], which have no typed view to
/// write: send their JSON as it is.
pub fn frame(notification: &Notification) -> String {
    let (kind, key) = crate::alert::kind_and_key(notification)
        .unwrap_or_else(|| panic!("no typed view to write for {notification:?}"));
    let children = match serde_json::to_value(notification) {
        Ok(serde_json::Value::Object(variant)) => match variant.into_iter().next() {
            Some((_, serde_json::Value::Array(children))) => children,
            _ => Vec::new(),
        },
        _ => Vec::new(),
    };
    super::model::frame(kind, key, children)
}
