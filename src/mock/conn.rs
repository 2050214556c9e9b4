//! One connection to the mock server: the request, its answer, and for a notification
//! endpoint the session that writes notifications and answers the client's frames.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

use crate::stop::lock;
use crate::{Filters, Transport};

use super::wire::{MockStream, parse_client_frame, read_request, respond, respond_with, ws_frame};
use super::{Client, ClientFrame, Command, EVENTSOURCE_PATH, Fault, Inner, reset};

impl Inner {
    /// The client `id` is gone: no more sends count it. Said before its connection is
    /// shut, so that a client that waits for the server's end of the connection (a
    /// WebSocket close) finds itself forgotten once it has it.
    fn forget_client(&self, id: u64) {
        lock(&self.clients).retain(|c| c.id != id);
        self.changed.notify_all();
    }

    pub(super) fn serve(inner: &Arc<Inner>, listener: TcpListener) -> io::Result<JoinHandle<()>> {
        inner.accepting.store(true, Ordering::SeqCst);
        let inner = Arc::clone(inner);
        thread::Builder::new()
            .name("mock-accept".into())
            .spawn(move || {
                for stream in listener.incoming() {
                    if !inner.accepting.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let inner = Arc::clone(&inner);
                    let _ = thread::Builder::new()
                        .name("mock-conn".into())
                        .spawn(move || inner.connection(stream));
                }
            })
    }

    fn connection(self: Arc<Self>, tcp: TcpStream) {
        let _ = tcp.set_nodelay(true);
        self.accepted.fetch_add(1, Ordering::SeqCst);
        self.changed.notify_all();
        let fault = lock(&self.fault).clone();
        if fault == Fault::Silent {
            // Swallow whatever arrives, answer nothing, until the peer or the server ends it.
            self.track_silent(&tcp);
            let mut buf = [0u8; 1024];
            while let Ok(1..) = (&tcp).read(&mut buf) {}
            return;
        }
        let control = match tcp.try_clone() {
            Ok(c) => c,
            Err(_) => return,
        };
        let stream = match &self.tls {
            None => MockStream::Plain(tcp),
            Some(acceptor) => {
                let _ = tcp.set_read_timeout(Some(Duration::from_secs(10)));
                match acceptor.accept(tcp) {
                    Ok(s) => MockStream::Tls(Box::new(s)),
                    Err(_) => return,
                }
            }
        };
        let _ = self.handle(stream, control, fault);
    }

    fn handle(
        self: &Arc<Self>,
        mut stream: MockStream,
        control: TcpStream,
        fault: Fault,
    ) -> io::Result<()> {
        let _ = control.set_read_timeout(Some(Duration::from_secs(10)));
        let (request, leftover) = read_request(&mut stream)?;
        let path = request.path.as_str();
        let endpoint = if path == self.websocket_path {
            Some(Transport::WebSocket)
        } else if path == EVENTSOURCE_PATH {
            Some(Transport::EventSource)
        } else {
            None
        };
        self.record(request.clone());
        let Some(endpoint) = endpoint else {
            let delay = self.rest_delay(&request.path);
            if !delay.is_zero() {
                std::thread::sleep(delay);
            }
            let sent = match self.rest_fault(&request.path) {
                Some((status, Some(after))) => {
                    let after = after.to_string();
                    let headers = [("Retry-After", after.as_str())];
                    respond_with(&mut stream, status, "text/plain", &headers, "mock fault")
                }
                Some((status, None)) => respond(&mut stream, status, "text/plain", "mock fault"),
                None => {
                    let (status, content_type, body) = super::rest::answer(self, &request);
                    respond(&mut stream, status, content_type, &body)
                }
            };
            // Counted once written: a test that sees it knows the client has the answer.
            lock(&self.answered).push(request.path);
            self.changed.notify_all();
            return sent;
        };
        match &fault {
            Fault::Status(status) => {
                return respond(&mut stream, *status, "text/plain", "mock fault");
            }
            Fault::Busy {
                status,
                retry_after,
            } => {
                let headers = [("Retry-After", retry_after.as_str())];
                return respond_with(&mut stream, *status, "text/plain", &headers, "busy");
            }
            _ => {}
        }
        if super::rest::role(self, &request) == super::rest::Role::Nobody {
            return respond(
                &mut stream,
                401,
                "text/html",
                "<html><head><title>Unauthorized</title></head><body><h1>401 Unauthorized</h1></body></html>",
            );
        }
        let head = match endpoint {
            Transport::WebSocket => {
                let key = request.header("Sec-WebSocket-Key").unwrap_or_default();
                if !request
                    .header("Upgrade")
                    .is_some_and(|u| u.eq_ignore_ascii_case("websocket"))
                    || key.is_empty()
                {
                    return respond(
                        &mut stream,
                        400,
                        "text/plain",
                        "expected a WebSocket upgrade",
                    );
                }
                let accept = crate::transport::websocket::accept_key(key);
                format!(
                    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
                )
            }
            Transport::EventSource => {
                let framing = if self.chunked {
                    "Transfer-Encoding: chunked"
                } else {
                    "Connection: close"
                };
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n{framing}\r\n\r\n"
                )
            }
        };
        // Registered before the answer, so that a client that saw it can be sent to.
        let filters = Filters::from_query_value(request.query("filters"));
        let (tx, rx) = crossbeam_channel::unbounded();
        let id = self.next_id.fetch_add(1, Ordering::SeqCst);
        lock(&self.clients).push(Client {
            id,
            endpoint,
            filters: filters.clone(),
            tx: tx.clone(),
            socket: control.try_clone()?,
        });
        self.handshakes.fetch_add(1, Ordering::SeqCst);
        self.changed.notify_all();
        if stream
            .write_all(head.as_bytes())
            .and_then(|_| stream.flush())
            .is_err()
        {
            self.forget_client(id);
            return Ok(());
        }
        if fault == Fault::CloseAfterHandshake {
            let _ = tx.send(Command::Close);
        }
        let session = Session {
            inner: Arc::clone(self),
            id,
            endpoint,
            pings: (endpoint == Transport::EventSource
                && filters.admits("ping")
                && fault != Fault::Unresponsive)
                .then_some(self.ping_interval),
            chunked: self.chunked,
            unresponsive: fault == Fault::Unresponsive,
        };
        let _ = control.set_read_timeout(None);
        session.run(stream, control, leftover, tx, rx);
        Ok(())
    }

    fn record(&self, request: super::RecordedRequest) {
        lock(&self.requests).push(request);
        self.changed.notify_all();
    }

    /// Client `id` has read everything up to flush `n`.
    fn flushed(&self, id: u64, n: u64) {
        let mut flushed = lock(&self.flushed);
        match flushed.iter_mut().find(|(c, _)| *c == id) {
            Some(entry) => entry.1 = entry.1.max(n),
            None => flushed.push((id, n)),
        }
        drop(flushed);
        self.changed.notify_all();
    }

    fn track_silent(&self, tcp: &TcpStream) {
        if let Ok(clone) = tcp.try_clone() {
            lock(&self.silent).push(clone);
        }
    }

    pub(super) fn machine_identifier(&self) -> String {
        self.machine_identifier.clone()
    }
}

/// One client's connection after the handshake.
struct Session {
    inner: Arc<Inner>,
    /// The client's id, as in [`Inner::clients`].
    id: u64,
    endpoint: Transport,
    pings: Option<Duration>,
    chunked: bool,
    unresponsive: bool,
}

impl Session {
    fn run(
        self,
        stream: MockStream,
        control: TcpStream,
        leftover: Vec<u8>,
        tx: Sender<Command>,
        rx: Receiver<Command>,
    ) {
        match stream {
            MockStream::Plain(tcp) => {
                // Plain TCP splits: a reader thread answers pings, this thread writes.
                let Ok(reader) = tcp.try_clone() else {
                    self.inner.forget_client(self.id);
                    return;
                };
                let inner = Arc::clone(&self.inner);
                let endpoint = self.endpoint;
                let unresponsive = self.unresponsive;
                let id = self.id;
                let read = thread::Builder::new()
                    .name("mock-read".into())
                    .spawn(move || {
                        let parser = ClientFrames::new(id);
                        read_client(
                            reader,
                            leftover,
                            parser,
                            endpoint,
                            &inner,
                            unresponsive,
                            &tx,
                        );
                        // The writer ends when the reader does.
                        let _ = tx.send(Command::Close);
                    });
                let mut tcp = tcp;
                self.write_loop(&mut tcp, &control, &rx, None);
                self.inner.forget_client(self.id);
                let _ = control.shutdown(Shutdown::Both);
                if let Ok(read) = read {
                    let _ = read.join();
                }
            }
            MockStream::Tls(mut tls) => {
                // A TLS stream can't be split: one thread polls both ways.
                let mut parser = ClientFrames::new(self.id);
                parser.push(&leftover);
                let _ = control.set_read_timeout(Some(Duration::from_millis(5)));
                let mut poll = |tls: &mut native_tls::TlsStream<TcpStream>| -> io::Result<bool> {
                    let mut buf = [0u8; 4096];
                    match tls.read(&mut buf) {
                        Ok(0) => Ok(false),
                        Ok(n) => {
                            parser.push(&buf[..n]);
                            while let Some(reply) =
                                parser.next_reply(self.endpoint, &self.inner, self.unresponsive)
                            {
                                match reply {
                                    Reply::Pong(p) => tls.write_all(&ws_frame(0xA, &p))?,
                                    Reply::Close => {
                                        let _ = tls.write_all(&ws_frame(0x8, &[0x03, 0xE8]));
                                        return Ok(false);
                                    }
                                }
                            }
                            Ok(true)
                        }
                        Err(e)
                            if e.kind() == io::ErrorKind::WouldBlock
                                || e.kind() == io::ErrorKind::TimedOut =>
                        {
                            Ok(true)
                        }
                        Err(e) => Err(e),
                    }
                };
                self.write_loop(tls.as_mut(), &control, &rx, Some(&mut poll));
                self.inner.forget_client(self.id);
                let _ = control.shutdown(Shutdown::Both);
            }
        }
    }

    /// Writes commands as they come, and pings on the event stream.
    #[allow(clippy::type_complexity)]
    fn write_loop<W: Write>(
        &self,
        out: &mut W,
        control: &TcpStream,
        rx: &Receiver<Command>,
        mut poll: Option<&mut dyn FnMut(&mut W) -> io::Result<bool>>,
    ) {
        let tick = if poll.is_some() {
            Some(Duration::from_millis(5))
        } else {
            None
        };
        let mut next_ping = self.pings.map(|p| Instant::now() + p);
        loop {
            let wait = match (tick, next_ping) {
                (Some(t), Some(p)) => t.min(p.saturating_duration_since(Instant::now())),
                (Some(t), None) => t,
                (None, Some(p)) => p.saturating_duration_since(Instant::now()),
                (None, None) => Duration::from_secs(3600),
            };
            let result = match rx.recv_timeout(wait) {
                Ok(Command::Write(bytes)) => out.write_all(&bytes).and_then(|_| out.flush()),
                Ok(Command::Body(bytes)) => self.write_body(out, &bytes),
                Ok(Command::Close) | Err(RecvTimeoutError::Disconnected) => {
                    let goodbye: &[u8] = match (self.endpoint, self.chunked) {
                        (Transport::WebSocket, _) => &ws_frame(0x8, &[0x03, 0xE9]),
                        (Transport::EventSource, true) => b"0\r\n\r\n",
                        (Transport::EventSource, false) => b"",
                    };
                    let _ = out.write_all(goodbye);
                    let _ = out.flush();
                    return;
                }
                Ok(Command::Reset) => {
                    reset(control);
                    return;
                }
                Ok(Command::Barrier(n)) => match self.endpoint {
                    // The Pong to this Ping proves the client read everything before it.
                    Transport::WebSocket => out
                        .write_all(&ws_frame(0x9, format!("flush-{n}").as_bytes()))
                        .and_then(|_| out.flush()),
                    Transport::EventSource => out.flush().map(|()| self.inner.flushed(self.id, n)),
                },
                Err(RecvTimeoutError::Timeout) => Ok(()),
            };
            if result.is_err() {
                return;
            }
            if next_ping.is_some_and(|at| Instant::now() >= at) {
                if self.write_body(out, b"event: ping\ndata: {}\n\n").is_err() {
                    return;
                }
                next_ping = self.pings.map(|p| Instant::now() + p);
            }
            if let Some(poll) = poll.as_mut() {
                match poll(out) {
                    Ok(true) => {}
                    _ => return,
                }
            }
        }
    }

    fn write_body(&self, out: &mut impl Write, bytes: &[u8]) -> io::Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        if self.chunked {
            write!(out, "{:x}\r\n", bytes.len())?;
            out.write_all(bytes)?;
            out.write_all(b"\r\n")?;
        } else {
            out.write_all(bytes)?;
        }
        out.flush()
    }
}

/// Reads what a client sends on a plain connection until it closes: answers WebSocket
/// Pings and Close frames.
fn read_client(
    mut reader: TcpStream,
    leftover: Vec<u8>,
    mut parser: ClientFrames,
    endpoint: Transport,
    inner: &Inner,
    unresponsive: bool,
    tx: &Sender<Command>,
) {
    parser.push(&leftover);
    let mut buf = [0u8; 4096];
    loop {
        while let Some(reply) = parser.next_reply(endpoint, inner, unresponsive) {
            let bytes = match reply {
                Reply::Pong(p) => ws_frame(0xA, &p),
                Reply::Close => {
                    let _ = tx.send(Command::Close);
                    return;
                }
            };
            let _ = tx.send(Command::Write(bytes.into()));
        }
        match reader.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => parser.push(&buf[..n]),
        }
    }
}

enum Reply {
    Pong(Vec<u8>),
    Close,
}

/// Parses the (masked) frames a WebSocket client sends.
struct ClientFrames {
    /// The client's id.
    id: u64,
    buf: Vec<u8>,
}

impl ClientFrames {
    fn new(id: u64) -> ClientFrames {
        ClientFrames {
            id,
            buf: Vec::new(),
        }
    }

    fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    fn next_reply(
        &mut self,
        endpoint: Transport,
        inner: &Inner,
        unresponsive: bool,
    ) -> Option<Reply> {
        if endpoint == Transport::EventSource {
            self.buf.clear();
            return None;
        }
        loop {
            let (opcode, payload, used) = parse_client_frame(&self.buf)?;
            self.buf.drain(..used);
            lock(&inner.received).push(match opcode {
                0x1 => ClientFrame::Text(payload.clone()),
                0x2 => ClientFrame::Binary(payload.clone()),
                0x8 => ClientFrame::Close(payload.clone()),
                0x9 => ClientFrame::Ping(payload.clone()),
                0xA => ClientFrame::Pong(payload.clone()),
                other => ClientFrame::Other(other),
            });
            inner.changed.notify_all();
            if opcode == 0xA {
                let flush = std::str::from_utf8(&payload)
                    .ok()
                    .and_then(|p| p.strip_prefix("flush-"))
                    .and_then(|n| n.parse().ok());
                if let Some(n) = flush {
                    inner.flushed(self.id, n);
                }
            }
            match opcode {
                0x9 if inner.answer_pings.load(Ordering::SeqCst) && !unresponsive => {
                    return Some(Reply::Pong(payload));
                }
                0x8 if !unresponsive => return Some(Reply::Close),
                _ => continue,
            }
        }
    }
}
