//! [`MockBuilder`]: a mock server's options, and starting it.

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use native_tls::{Identity, TlsAcceptor};
use socket2::{Domain, Socket, Type};

use super::{Fault, Inner, MockServer, WEBSOCKET_PATH, WEBSOCKET_PATH_SINGULAR, model};

/// Configures a [`MockServer`]. Made by [`MockServer::builder`].
#[derive(Debug, Clone)]
pub struct MockBuilder {
    token: String,
    tls: Option<(Vec<u8>, Vec<u8>)>,
    ping_interval: Duration,
    chunked: bool,
    singular: bool,
    port: u16,
    ip: std::net::Ipv4Addr,
    progress_interval: Option<Duration>,
    forbidden_status: u16,
    plex_pass: bool,
}

impl MockBuilder {
    pub(super) fn new() -> MockBuilder {
        MockBuilder {
            token: super::DEFAULT_TOKEN.to_owned(),
            tls: None,
            ping_interval: Duration::from_secs(10),
            chunked: true,
            singular: false,
            port: 0,
            ip: std::net::Ipv4Addr::LOCALHOST,
            progress_interval: Some(Duration::from_secs(10)),
            forbidden_status: 401,
            plex_pass: true,
        }
    }

    /// The token the server accepts. Default [`DEFAULT_TOKEN`](super::DEFAULT_TOKEN).
    pub fn token(mut self, token: impl Into<String>) -> MockBuilder {
        self.token = token.into();
        self
    }

    /// Serves `https` with this certificate chain and PKCS#8 key, both PEM.
    pub fn tls(mut self, cert_pem: impl Into<Vec<u8>>, key_pem: impl Into<Vec<u8>>) -> MockBuilder {
        self.tls = Some((cert_pem.into(), key_pem.into()));
        self
    }

    /// How often the event stream sends `event: ping`. Default 10 s, as Plex.
    pub fn ping_interval(mut self, interval: Duration) -> MockBuilder {
        self.ping_interval = interval;
        self
    }

    /// Whether the event stream uses chunked transfer encoding (default) or is delimited
    /// by closing the connection.
    pub fn chunked(mut self, chunked: bool) -> MockBuilder {
        self.chunked = chunked;
        self
    }

    /// Serves WebSocket notifications on the singular `/:/websocket/notifications` of
    /// Plex's API description only, answering 404 on the plural every client uses: a
    /// server of the kind a client's fallback is for. Default false.
    pub fn singular_websocket_path(mut self, singular: bool) -> MockBuilder {
        self.singular = singular;
        self
    }

    /// Listens on this port of 127.0.0.1 (default 0: any free port).
    pub fn port(mut self, port: u16) -> MockBuilder {
        self.port = port;
        self
    }

    /// Listens on this address instead of 127.0.0.1: an address of a network namespace
    /// the test made, say. Keep it off the networks you are on.
    pub fn ip(mut self, ip: std::net::Ipv4Addr) -> MockBuilder {
        self.ip = ip;
        self
    }

    /// How often every playing, paused or buffering session's state is sent again, with
    /// its offset: 10 s by default, as real servers do. `None`: only when a
    /// [`Playback`](super::Playback) changes, or [`Playback::progress`](super::Playback::progress) asks, which lets a test decide.
    pub fn progress_interval(mut self, every: Option<Duration>) -> MockBuilder {
        self.progress_interval = every;
        self
    }

    /// What `/status/sessions` (and `/status/sessions/terminate`) answers a valid token
    /// that is not the owner's: 401, as Plex 1.46 does (the default), or 403, as 1.47 does.
    pub fn forbidden_status(mut self, status: u16) -> MockBuilder {
        self.forbidden_status = status;
        self
    }

    /// Whether the server has Plex Pass (default true): without it,
    /// `/status/sessions/terminate` answers 403, as real servers do.
    pub fn plex_pass(mut self, plex_pass: bool) -> MockBuilder {
        self.plex_pass = plex_pass;
        self
    }

    /// Starts the server.
    pub fn start(self) -> io::Result<MockServer> {
        let tls = match &self.tls {
            None => None,
            Some((cert, key)) => {
                let identity = Identity::from_pkcs8(cert, key).map_err(io::Error::other)?;
                Some(TlsAcceptor::new(identity).map_err(io::Error::other)?)
            }
        };
        let listener = bind(SocketAddr::from((self.ip, self.port)))?;
        let addr = listener.local_addr()?;
        // Its own, as a real server's is: two mock servers (two runs of an example, say)
        // never share one, though they may share a port. It stays across restarts.
        let started = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let inner = Arc::new(Inner {
            addr,
            machine_identifier: format!(
                "mock-{:05}-{:08x}",
                addr.port(),
                (started as u32) ^ std::process::id()
            ),
            token: self.token,
            tls,
            ping_interval: self.ping_interval,
            chunked: self.chunked,
            websocket_path: if self.singular {
                WEBSOCKET_PATH_SINGULAR
            } else {
                WEBSOCKET_PATH
            },
            fault: Mutex::new(Fault::None),
            answer_pings: AtomicBool::new(true),
            clients: Mutex::new(Vec::new()),
            silent: Mutex::new(Vec::new()),
            changed: Condvar::new(),
            requests: Mutex::new(Vec::new()),
            received: Mutex::new(Vec::new()),
            handshakes: AtomicU64::new(0),
            accepted: AtomicU64::new(0),
            next_id: AtomicU64::new(1),
            accepting: AtomicBool::new(false),
            model: Mutex::new(model::Model::new()),
            progress_interval: self.progress_interval.filter(|d| !d.is_zero()),
            ticker: Mutex::new(None),
            forbidden_status: self.forbidden_status,
            plex_pass: self.plex_pass,
            flushes: AtomicU64::new(0),
            flushed: Mutex::new(Vec::new()),
            answered: Mutex::new(Vec::new()),
            rest_faults: Mutex::new(Vec::new()),
            rest_delays: Mutex::new(Vec::new()),
        });
        let accept = Inner::serve(&inner, listener)?;
        Ok(MockServer {
            inner,
            accept: Mutex::new(Some(accept)),
        })
    }
}

pub(super) fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    // Lets restart() bind the same port while old connections linger in TIME_WAIT.
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    Ok(socket.into())
}
