//! One REST request: a total deadline over connect, TLS, head and body together; a stop
//! that ends it at once; an answer read within its bounds.

use std::io::{self, Read};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::answer::{self, Bounds, Failed, FromObject, Items};
use crate::Error;
use crate::error::Phase;
use crate::stop::Stop;
use crate::transport::Connector;
use crate::transport::http::{self, Body};
use crate::transport::net::{self, Stream};

/// One request's deadline and stop.
pub(crate) struct Call<'a> {
    pub connector: &'a Connector,
    pub stop: &'a Stop,
    /// For everything: connect, TLS, the request, the answer's head and its body.
    pub timeout: Duration,
}

/// The socket under a body, every read of it within the deadline.
struct Timed {
    stream: Stream,
    deadline: Instant,
}

impl Read for Timed {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self
            .deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
            .ok_or_else(|| io::Error::from(io::ErrorKind::TimedOut))?;
        self.stream.set_read_timeout(left)?;
        self.stream.read(buf)
    }
}

impl Call<'_> {
    /// `GET path` (with its query), its answer's head read; the body to read.
    fn open(&self, path: &str, bounds: Bounds) -> Result<Body<Timed>, Error> {
        self.send("GET", path, 200, bounds)
    }

    /// `method path` (with its query, without a body), answered `expected`; the body to
    /// read.
    fn send(
        &self,
        method: &str,
        path: &str,
        expected: u16,
        bounds: Bounds,
    ) -> Result<Body<Timed>, Error> {
        let deadline = net::deadline_after(self.timeout);
        // Every step's own timeout, and never past the deadline.
        let mut stream = net::open(
            &self.connector.within(deadline),
            self.stop,
            Arc::new(AtomicU64::new(0)),
        )?;
        let headers = [
            ("Accept", "application/json".to_owned()),
            ("Accept-Encoding", "identity".to_owned()),
            ("Connection", "close".to_owned()),
        ];
        let connector = self.connector.within(deadline);
        let (head, leftover) = http::request(
            &mut stream,
            &connector,
            method,
            path,
            &[],
            &headers,
            expected,
        )?;
        http::expect_identity_encoding(&head, "an answer", "")?;
        let length = head
            .header("Content-Length")
            .and_then(|l| l.trim().parse::<u64>().ok());
        if length.is_some_and(|l| l > bounds.bytes) {
            return Err(too_large(path, "bytes", bounds.bytes));
        }
        Body::new(Timed { stream, deadline }, &head, leftover)
    }

    /// The items under `MediaContainer.<key>` of `GET path`.
    pub fn items<T: FromObject>(
        &self,
        path: &str,
        key: &'static str,
        bounds: Bounds,
    ) -> Result<Items<T>, Error> {
        self.run(|call| {
            let body = call.open(path, bounds)?;
            answer::items(body, key, bounds).map_err(|f| call.failed(path, f))
        })
    }

    /// `MediaContainer` of `GET path`, as one object.
    pub fn container(&self, path: &str, bounds: Bounds) -> Result<Value, Error> {
        self.run(|call| {
            let body = call.open(path, bounds)?;
            answer::container(body, bounds).map_err(|f| call.failed(path, f))
        })
    }

    /// `GET path` for what it does (a write): a 200, whatever its body (read, within
    /// `bytes`, and dropped).
    pub fn done(&self, path: &str, bytes: u64) -> Result<(), Error> {
        let bounds = Bounds::whole_within(bytes);
        self.run(|call| {
            let body = call.open(path, bounds)?;
            match body.take(bytes).read_to_end(&mut Vec::new()) {
                Ok(_) => Ok(()),
                Err(e) => Err(call.failed(path, Failed::Io(e))),
            }
        })
    }

    /// The items of `method path`'s answer, itself a list (plex.tv's answers).
    pub fn list<T: FromObject>(
        &self,
        method: &str,
        path: &str,
        expected: u16,
        bounds: Bounds,
    ) -> Result<Items<T>, Error> {
        self.run(|call| {
            let body = call.send(method, path, expected, bounds)?;
            answer::list(body, bounds).map_err(|f| call.failed(path, f))
        })
    }

    /// `method path`'s answer, one JSON object (plex.tv's answers).
    pub fn object(
        &self,
        method: &str,
        path: &str,
        expected: u16,
        bounds: Bounds,
    ) -> Result<Value, Error> {
        self.run(|call| {
            let body = call.send(method, path, expected, bounds)?;
            answer::object(body, bounds).map_err(|f| call.failed(path, f))
        })
    }

    /// The whole answer to `GET path` as JSON, within `bytes`.
    pub fn json(&self, path: &str, bytes: u64) -> Result<Value, Error> {
        let bounds = Bounds::whole_within(bytes);
        self.run(|call| {
            let body = call.open(path, bounds)?;
            let mut text = Vec::new();
            let read = body.take(bytes + 1).read_to_end(&mut text);
            if let Err(e) = read {
                return Err(call.failed(path, Failed::Io(e)));
            }
            if text.len() as u64 > bytes {
                return Err(too_large(path, "bytes", bytes));
            }
            serde_json::from_slice(&text).map_err(|e| {
                let start = String::from_utf8_lossy(&text[..text.len().min(512)]).into_owned();
                let why = Failed::NotPlex("not JSON".into(), e.to_string(), start);
                call.failed(path, why)
            })
        })
    }

    /// Runs a request; what a stop interrupted is [`Error::Stopped`], whatever it broke.
    fn run<T>(&self, f: impl FnOnce(&Self) -> Result<T, Error>) -> Result<T, Error> {
        if self.stop.is_stopped() {
            return Err(Error::Stopped);
        }
        let result = f(self);
        match result {
            Err(_) if self.stop.is_stopped() => Err(Error::Stopped),
            other => other,
        }
    }

    /// A failed read of an answer, as the error a caller can act on.
    fn failed(&self, path: &str, failed: Failed) -> Error {
        let path = path.split('?').next().unwrap_or(path).to_owned();
        match failed {
            Failed::TooLarge(what, limit) => Error::AnswerTooLarge { path, what, limit },
            Failed::Io(e) if net::is_timeout(&e) => Error::Timeout {
                phase: Phase::Read,
                after: self.timeout,
            },
            Failed::Io(e) => Error::lost(Phase::Read, e),
            Failed::NotPlex(message, detail, start) => Error::BadAnswer {
                path,
                message,
                detail: crate::error::foreign(&detail),
                excerpt: crate::error::foreign(&start),
            },
        }
    }
}

fn too_large(path: &str, what: &'static str, limit: u64) -> Error {
    Error::AnswerTooLarge {
        path: path.split('?').next().unwrap_or(path).to_owned(),
        what,
        limit,
    }
}
