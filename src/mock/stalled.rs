//! An address whose TCP connects hang.

use std::fmt;
use std::io;
use std::net::SocketAddr;

use socket2::{Domain, Socket, Type};

/// An address whose TCP connects hang: a listener that never accepts, its backlog
/// filled, so the kernel drops new SYNs (Linux behaviour; other systems may refuse them
/// instead). For testing what a client does while it connects.
pub struct StalledListener {
    addr: SocketAddr,
    _listener: Socket,
    _fillers: Vec<Socket>,
}

impl StalledListener {
    /// Binds 127.0.0.1 and fills the backlog.
    pub fn start() -> io::Result<StalledListener> {
        let listener = Socket::new(Domain::IPV4, Type::STREAM, None)?;
        listener.bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())?;
        listener.listen(0)?;
        let addr = listener
            .local_addr()?
            .as_socket()
            .ok_or_else(|| io::Error::other("not an IP socket"))?;
        let mut fillers = Vec::new();
        for _ in 0..4 {
            let s = Socket::new(Domain::IPV4, Type::STREAM, None)?;
            s.set_nonblocking(true)?;
            let _ = s.connect(&addr.into());
            fillers.push(s);
        }
        Ok(StalledListener {
            addr,
            _listener: listener,
            _fillers: fillers,
        })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl fmt::Debug for StalledListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StalledListener")
            .field("addr", &self.addr)
            .finish()
    }
}
