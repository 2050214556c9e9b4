//! Opening a connection: name resolution, an interruptible TCP connect, and TLS under our
//! own deadline. Every socket is watched by the listener's [`Stop`], so a stop wakes any
//! step at once (on Linux and macOS; on Windows the read timeouts bound the wait).

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use native_tls::{HandshakeError, TlsConnector, TlsStream};
use socket2::{Domain, Protocol, Socket, Type};

use crate::Error;
use crate::error::Phase;
use crate::stop::{Stop, Watch};

use super::Connector;

/// A connected socket, plain or TLS, counting the bytes it reads. A stop shuts it down
/// for as long as it lives.
pub(crate) struct Stream {
    inner: Inner,
    bytes: Arc<AtomicU64>,
    _watch: Watch,
}

enum Inner {
    Plain(TcpStream),
    Tls(Box<TlsStream<UnderTls>>),
}

/// The TCP stream under TLS, remembering the first bytes the server sent: when the TLS
/// handshake fails on them, they tell a server that speaks plain HTTP apart.
struct UnderTls {
    tcp: TcpStream,
    /// Shared with the handshake, which loses the stream when it fails.
    first: Arc<Mutex<Vec<u8>>>,
    recorded: usize,
}

/// How many of the server's first bytes are kept: enough for `HTTP/`.
const FIRST_BYTES: usize = 5;

impl Read for UnderTls {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.tcp.read(buf)?;
        if self.recorded < FIRST_BYTES {
            let take = (FIRST_BYTES - self.recorded).min(n);
            crate::stop::lock(&self.first).extend_from_slice(&buf[..take]);
            self.recorded += take;
        }
        Ok(n)
    }
}

impl Write for UnderTls {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.tcp.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.tcp.flush()
    }
}

impl Stream {
    pub fn tcp(&self) -> &TcpStream {
        match &self.inner {
            Inner::Plain(s) => s,
            Inner::Tls(s) => &s.get_ref().tcp,
        }
    }

    /// Every read timeout of an open connection is set here. On Windows, where shutting
    /// the socket down does not wake a blocked read, it is capped so that stop() is
    /// noticed within half a second.
    pub fn set_read_timeout(&self, timeout: Duration) -> io::Result<()> {
        let timeout = if cfg!(windows) {
            timeout.min(Duration::from_millis(500))
        } else {
            timeout
        };
        self.tcp()
            .set_read_timeout(Some(timeout.max(Duration::from_millis(1))))
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = match &mut self.inner {
            Inner::Plain(s) => s.read(buf),
            Inner::Tls(s) => s.read(buf),
        }?;
        self.bytes.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.inner {
            Inner::Plain(s) => s.write(buf),
            Inner::Tls(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match &mut self.inner {
            Inner::Plain(s) => s.flush(),
            Inner::Tls(s) => s.flush(),
        }
    }
}

/// `timeout` from now; a timeout too large to represent means practically never.
pub(crate) fn deadline_after(timeout: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(timeout)
        .or_else(|| now.checked_add(Duration::from_secs(100 * 365 * 24 * 3600)))
        .unwrap_or(now)
}

/// Whether an I/O error is a read timeout (Unix says WouldBlock, Windows TimedOut).
pub(crate) fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// Resolves, connects (interruptibly, within the connect timeout) and does TLS.
pub(crate) fn open(
    connector: &Connector,
    stop: &Stop,
    bytes: Arc<AtomicU64>,
) -> Result<Stream, Error> {
    let endpoint = &connector.endpoint;
    let connect_error = |e: io::Error| Error::Connect {
        target: endpoint.target(),
        source: Arc::new(e),
    };
    if stop.is_stopped() {
        return Err(crate::stop::stopped());
    }
    // Name resolution blocks and can't be interrupted; it is bounded by the system resolver.
    let addrs: Vec<SocketAddr> = (endpoint.bare_host(), endpoint.port)
        .to_socket_addrs()
        .map_err(connect_error)?
        .collect();
    let deadline = deadline_after(connector.connect_timeout);
    let mut last_error = io::Error::new(io::ErrorKind::NotFound, "the name resolved to no address");
    let mut connected = None;
    for (i, addr) in addrs.iter().enumerate() {
        let Some(left) = deadline.checked_duration_since(Instant::now()) else {
            break;
        };
        // Each address gets its share of what is left, so that one that never answers
        // (a broken IPv6 route) does not keep the next from being tried.
        let share = left / u32::try_from(addrs.len() - i).unwrap_or(u32::MAX);
        let socket = Socket::new(
            Domain::for_address(*addr),
            Type::STREAM,
            Some(Protocol::TCP),
        )
        .map_err(connect_error)?;
        let watch = stop.watch(&socket).map_err(connect_error)?;
        let result = socket.connect_timeout(&(*addr).into(), share.max(Duration::from_millis(1)));
        if stop.is_stopped() {
            return Err(crate::stop::stopped());
        }
        match result {
            Ok(()) => {
                connected = Some((TcpStream::from(socket), watch));
                break;
            }
            Err(e) => last_error = e,
        }
    }
    let (tcp, watch) = match connected {
        Some(c) => c,
        None if last_error.kind() == io::ErrorKind::TimedOut || Instant::now() >= deadline => {
            return Err(Error::Timeout {
                phase: Phase::Connect,
                after: connector.connect_timeout,
            });
        }
        None => return Err(connect_error(last_error)),
    };
    tcp.set_nodelay(true).map_err(connect_error)?;
    let inner = match &connector.tls {
        None => Inner::Plain(tcp),
        Some(tls) => Inner::Tls(Box::new(tls_handshake(
            tls,
            endpoint.bare_host(),
            &endpoint.target(),
            tcp,
            connector.handshake_timeout,
        )?)),
    };
    Ok(Stream {
        inner,
        bytes,
        _watch: watch,
    })
}

/// The TLS handshake on a socket whose reads time out, retried until the deadline.
///
/// native-tls reports a read timeout mid-handshake as `WouldBlock`; tungstenite's own
/// connector panics on that, which is why the handshake is done here. A server that
/// answers it in plain HTTP is reached by the wrong scheme: that is the URL's fault, not
/// the network's, and retrying cannot help.
fn tls_handshake(
    connector: &TlsConnector,
    host: &str,
    target: &str,
    tcp: TcpStream,
    limit: Duration,
) -> Result<TlsStream<UnderTls>, Error> {
    let deadline = deadline_after(limit);
    let set_timeouts = |tcp: &TcpStream| -> Result<(), Error> {
        let left = deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
            .ok_or(Error::Timeout {
                phase: Phase::TlsHandshake,
                after: limit,
            })?;
        tcp.set_read_timeout(Some(left))
            .and_then(|()| tcp.set_write_timeout(Some(left)))
            .map_err(|e| Error::lost(Phase::TlsHandshake, e))
    };
    set_timeouts(&tcp)?;
    let first = Arc::new(Mutex::new(Vec::with_capacity(FIRST_BYTES)));
    let under = UnderTls {
        tcp,
        first: Arc::clone(&first),
        recorded: 0,
    };
    let mut attempt = connector.connect(host, under);
    loop {
        match attempt {
            Ok(stream) => return Ok(stream),
            Err(HandshakeError::Failure(_)) if crate::stop::lock(&first).starts_with(b"HTTP/") => {
                return Err(Error::InvalidUrl {
                    reason: format!(
                        "{target} answered the TLS handshake in plain HTTP: use an http:// \
                         URL, not https://"
                    ),
                });
            }
            Err(HandshakeError::Failure(e)) => {
                return Err(Error::Tls {
                    failure: crate::error::TlsFailure(Arc::new(e)),
                });
            }
            Err(HandshakeError::WouldBlock(mid)) => {
                set_timeouts(&mid.get_ref().tcp)?;
                attempt = mid.handshake();
            }
        }
    }
}
