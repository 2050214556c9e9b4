//! [`PlexServerBuilder`]: a server's options, checked with a real request.

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use super::policy::{Limits, Policy};
use super::request::Call;
use super::{CONTAINER, Identity, PlexServer, Shared};
use crate::config::Config;
use crate::stop::Stop;
use crate::transport::Token;
use crate::{Client, Error, TlsOptions};

/// Configures a [`PlexServer`]: made by [`PlexServer::builder`];
/// [`connect`](Self::connect) checks the URL and the token with a real request.
#[must_use = "a builder does nothing until connect() is called"]
pub struct PlexServerBuilder {
    url: String,
    config: Config,
    timeout: Duration,
    limits: Limits,
    /// For a race of connections ([`attempt`](Self::attempt)).
    stop: Option<Stop>,
    check_timeout: Option<Duration>,
    /// Another secret blanked out of its errors: the account's token, for a server found
    /// through plex.tv.
    also_secret: Token,
}

impl PlexServerBuilder {
    pub(super) fn new(url: &str) -> PlexServerBuilder {
        PlexServerBuilder {
            url: url.to_owned(),
            config: Config::default(),
            timeout: Duration::from_secs(30),
            limits: Limits::default(),
            stop: None,
            check_timeout: None,
            also_secret: Token::default(),
        }
    }

    /// One attempt of a race: `stop` ends it at once (and is the server's own stop if it
    /// wins), and the check made by [`connect`](Self::connect) ends within
    /// `check_timeout`, while the server's requests keep their own deadline.
    pub(crate) fn attempt(mut self, stop: Stop, check_timeout: Duration) -> Self {
        self.stop = Some(stop);
        self.check_timeout = Some(check_timeout);
        self
    }

    /// Blanks `secret` out of the server's errors too, with its own token.
    pub(crate) fn also_redact(mut self, secret: &str) -> Self {
        self.also_secret = Token::new(secret.to_owned());
        self
    }

    /// The `X-Plex-Token`, sent as a header. It never appears in a log line, an error's
    /// text or a `Debug` print.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.config.token = Token::new(token.into());
        self
    }

    /// Who the app is, as the server sees it (the `X-Plex-*` headers). Listeners and
    /// trackers started from the server send the same.
    pub fn client(mut self, client: Client) -> Self {
        self.config.client = client;
        self
    }

    /// How certificates are checked on `https://` URLs (for `*.plex.direct` certificates
    /// reached by IP address, or a private CA).
    pub fn tls(mut self, tls: TlsOptions) -> Self {
        self.config.tls = tls;
        self
    }

    /// The longest a request may take, in all: connect, TLS, the request, the answer's
    /// head and its body together. Default 30 s. A trickled answer is cut off at this,
    /// with [`Error::Timeout`].
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The longest the TCP connection may take to open, within [`timeout`](Self::timeout).
    /// Default 10 s.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.config.connect_timeout = timeout;
        self
    }

    /// The trackers' lookups to this server, at most: `concurrent` at once and
    /// `per_second` started each second, shared by the server's clones and every tracker
    /// made from them. Default 4 and 100. Your own calls are not held back.
    pub fn lookup_rate(mut self, concurrent: usize, per_second: usize) -> Self {
        self.limits = Limits {
            concurrent,
            per_second,
        };
        self
    }

    /// Checks every option, then asks the server who it is (`GET /` with the token): a
    /// wrong token or an unreachable server is an error here, at once.
    pub fn connect(self) -> Result<PlexServer, Error> {
        if self.timeout.is_zero() || self.limits.concurrent == 0 || self.limits.per_second == 0 {
            return Err(Error::config(
                "the timeout and the lookup rate must be more than zero",
            ));
        }
        let secrets = [self.config.token.expose(), self.also_secret.expose()];
        let checked = self
            .config
            .clone()
            .check(&self.url)
            .map_err(|e| e.redact_all(&secrets))?;
        let shared = Arc::new(Shared {
            stop: self.stop.clone().unwrap_or_else(Stop::new),
            policy: Policy::new(self.limits),
        });
        let call = Call {
            connector: &checked.settings.connector,
            stop: &shared.stop,
            timeout: self
                .check_timeout
                .map_or(self.timeout, |t| t.min(self.timeout)),
        };
        let identity = call
            .container("/", CONTAINER)
            .and_then(|root| {
                Identity::deserialize(&root).map_err(|e| super::bad_answer("/", &e, &root))
            })
            .map_err(|e| e.redact_all(&secrets))?;
        Ok(PlexServer {
            url: self.url,
            config: self.config,
            connector: checked.settings.connector,
            timeout: self.timeout,
            lookups: false,
            shared,
            identity: Arc::new(identity),
            also_secret: self.also_secret,
        })
    }
}

impl std::fmt::Debug for PlexServerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let url = self.url.split(['?', '#']).next().unwrap_or_default();
        f.debug_struct("PlexServerBuilder")
            .field("url", &url)
            .field("config", &self.config)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}
