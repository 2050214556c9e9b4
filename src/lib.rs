//! Hear a Plex Media Server's real-time notifications from a synchronous program.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod alert;
mod connection;
mod error;
mod filters;
mod handler;
mod lenient;
mod listener;
#[cfg(feature = "mock")]
#[cfg_attr(docsrs, doc(cfg(feature = "mock")))]
pub mod mock;
mod notification;
mod reconnect;
mod server;
#[doc(hidden)]
pub mod sse;
mod summary;
mod tls;

pub use alert::Alert;
pub use connection::Transport;
pub use error::{Error, Phase};
pub use filters::Filters;
pub use handler::{ConnectionState, Event, EventHandler};
pub use listener::{AlertListener, Builder, Stats, StopHandle};
pub use notification::*;
pub use reconnect::{Heartbeat, Reconnect};
pub use server::PlexServer;
pub use tls::TlsOptions;
