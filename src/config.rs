//! Every option a listener (or a [`PlexServer`](crate::PlexServer)) has, with its default,
//! and the one check that turns them into the settings a connection runs with.

use std::time::Duration;

use crate::error::MAX_TOKEN_BYTES;
use crate::reconnect::{Heartbeat, Reconnect};
use crate::transport::{Connector, Endpoint, Settings, Token, Transport};
use crate::{Client, Error, Filters, TlsOptions};

/// The options, as given. [`Builder`](crate::Builder) sets them; [`Config::check`] checks
/// them all at once.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    pub token: Token,
    pub token_in_query: bool,
    pub client: Client,
    pub filters: Filters,
    pub transport: Transport,
    pub connect_timeout: Duration,
    pub handshake_timeout: Duration,
    pub tls: TlsOptions,
    pub max_message_size: usize,
    pub heartbeat: Heartbeat,
    pub reconnect: Reconnect,
    pub thread_name: String,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            token: Token::default(),
            token_in_query: false,
            client: Client::default(),
            filters: Filters::default(),
            transport: Transport::default(),
            connect_timeout: Duration::from_secs(10),
            handshake_timeout: Duration::from_secs(10),
            tls: TlsOptions::default(),
            max_message_size: 1024 * 1024,
            heartbeat: Heartbeat::default(),
            reconnect: Reconnect::default(),
            thread_name: "plex-alerts".to_owned(),
        }
    }
}

/// A listener's options, checked: what its thread runs with.
#[derive(Clone)]
pub(crate) struct Checked {
    pub settings: Settings,
    pub transport: Transport,
    pub reconnect: Reconnect,
    pub thread_name: String,
}

impl Config {
    /// Checks every option for the server at `url`. Only an `https` URL builds a TLS
    /// connector, which loads the system's root certificates (tens of milliseconds).
    pub fn check(self, url: &str) -> Result<Checked, Error> {
        let endpoint = Endpoint::parse(url)?;
        self.tls.validate()?;
        // Bounded and plain, so that redaction finds it in any text (none is written with
        // escapes that would change its spelling) before a cut: see Error::redact.
        let token = self.token.expose();
        if token.len() > MAX_TOKEN_BYTES {
            return Err(Error::config(format!(
                "the token is over {MAX_TOKEN_BYTES} bytes long (it is not shown here); an \
                 X-Plex-Token has about 20 characters"
            )));
        }
        if token
            .chars()
            .any(|c| !c.is_ascii_graphic() || c == '"' || c == '\\')
        {
            return Err(Error::config(
                "the token contains spaces, quotes, backslashes, control or non-ASCII \
                 characters (it is not shown here)",
            ));
        }
        self.client.check()?;
        if self.thread_name.contains('\0') {
            return Err(Error::config("the thread name contains a NUL character"));
        }
        if self.connect_timeout.is_zero() || self.handshake_timeout.is_zero() {
            return Err(Error::config("timeouts must not be zero"));
        }
        if self.max_message_size < 1024 {
            return Err(Error::config(
                "max_message_size must be at least 1024 bytes",
            ));
        }
        self.filters.validate()?;
        if self.reconnect.is_enabled() && self.reconnect.initial().is_zero() {
            return Err(Error::config(
                "a reconnect delay of zero would hammer the server; use Reconnect::never() to not reconnect",
            ));
        }
        if self.heartbeat.is_enabled()
            && (self.heartbeat.interval().is_zero() || self.heartbeat.timeout().is_zero())
        {
            return Err(Error::config("heartbeat durations must not be zero"));
        }
        let tls = match endpoint.tls {
            true => Some(self.tls.connector()?),
            false => None,
        };
        Ok(Checked {
            settings: Settings {
                connector: Connector {
                    endpoint,
                    token: self.token,
                    token_in_query: self.token_in_query,
                    client: self.client,
                    connect_timeout: self.connect_timeout,
                    handshake_timeout: self.handshake_timeout,
                    tls,
                },
                filters: self.filters,
                max_message_size: self.max_message_size,
                heartbeat: self.heartbeat,
            },
            transport: self.transport,
            reconnect: self.reconnect,
            thread_name: self.thread_name,
        })
    }
}
