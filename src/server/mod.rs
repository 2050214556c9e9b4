//! [`PlexServer`]: python-plexapi's entry point, `PlexServer(baseurl, token)`.

use std::fmt;
use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use serde::Deserialize;

use crate::config::Config;
use crate::error::Phase;
use crate::listener::Builder;
use crate::stop::Stop;
use crate::transport::http::{self, Body};
use crate::transport::{Settings, Token, net};
use crate::{Alert, AlertListener, Error, TlsOptions};

/// Largest answer read by [`PlexServer::get_json`]: library listings can be large.
const MAX_BODY: u64 = 64 * 1024 * 1024;

/// A Plex Media Server that answered with the given token, as python-plexapi's
/// `PlexServer(baseurl, token)`.
///
/// [`connect`](PlexServer::connect) makes a real request (`GET /` with the token), so a
/// wrong token or an unreachable server is an error here, at once, rather than later on a
/// listener's thread.
///
/// ```
/// # fn main() -> Result<(), plex_alerts::Error> {
/// # let mock = plex_alerts::mock::MockServer::start();
/// # let (url, token) = (mock.url(), mock.token());
/// use plex_alerts::PlexServer;
///
/// let plex = PlexServer::connect(&url, &token)?;
/// println!("connected to {} ({})", plex.friendly_name(), plex.version());
/// let listener = plex.start_alert_listener(
///     |alert| println!("{}", alert.kind()),
///     |error| eprintln!("{error}"),
/// )?;
/// listener.stop();
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct PlexServer {
    url: String,
    token: Token,
    tls: TlsOptions,
    settings: Settings,
    friendly_name: String,
    machine_identifier: String,
    version: String,
}

impl PlexServer {
    /// Connects to the server at `url` (its base URL) with `token`, checking both.
    pub fn connect(url: impl AsRef<str>, token: impl Into<String>) -> Result<PlexServer, Error> {
        PlexServer::connect_with_tls(url, token, TlsOptions::default())
    }

    /// [`connect`](PlexServer::connect), with TLS options (for `*.plex.direct` certificates
    /// reached by IP address, or a private CA).
    pub fn connect_with_tls(
        url: impl AsRef<str>,
        token: impl Into<String>,
        tls: TlsOptions,
    ) -> Result<PlexServer, Error> {
        let url = url.as_ref().to_owned();
        let token = Token::new(token.into());
        let config = Config {
            token: token.clone(),
            tls: tls.clone(),
            ..Config::default()
        };
        let settings = config.check(&url)?.settings;
        let identity = identity(&settings).map_err(|e| token.redact(e))?;
        Ok(PlexServer {
            url,
            token,
            tls,
            settings,
            friendly_name: identity.friendly_name,
            machine_identifier: identity.machine_identifier,
            version: identity.version,
        })
    }

    /// The server's name, as shown in Plex apps.
    pub fn friendly_name(&self) -> &str {
        &self.friendly_name
    }

    /// The server's unique id.
    pub fn machine_identifier(&self) -> &str {
        &self.machine_identifier
    }

    /// The server's version.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// `GET path` with the token, the answer parsed as JSON: for what the notifications
    /// do not replay. After a gap (a [`ConnectionState::Disconnected`](crate::ConnectionState)
    /// followed by `Connected`), an app resyncs with `/status/sessions` (playback) and
    /// `/activities` (scans and other jobs).
    ///
    /// ```
    /// # fn main() -> Result<(), plex_alerts::Error> {
    /// # let mock = plex_alerts::mock::MockServer::start();
    /// # let plex = plex_alerts::PlexServer::connect(mock.url(), mock.token())?;
    /// let root = plex.get_json("/")?;
    /// assert!(root["MediaContainer"]["friendlyName"].is_string());
    /// # Ok(())
    /// # }
    /// ```
    pub fn get_json(&self, path: &str) -> Result<serde_json::Value, Error> {
        if !path.starts_with('/') || path.chars().any(|c| c.is_control() || c == ' ') {
            return Err(Error::config(format!(
                "{path:?} is not a path on the server (it starts with /, without spaces)"
            )));
        }
        get_json(&self.settings, path).map_err(|e| self.token.redact(e))
    }

    /// A listener builder for this server, with its URL, token and TLS options set.
    pub fn alert_listener(&self) -> Builder {
        AlertListener::builder(&self.url)
            .token(self.token.expose())
            .tls(self.tls.clone())
    }

    /// Starts a listener with the two callbacks, as python-plexapi's
    /// `PlexServer.startAlertListener(callback, callbackError)`.
    pub fn start_alert_listener(
        &self,
        callback: impl FnMut(Alert) + Send + 'static,
        callback_error: impl FnMut(Error) + Send + 'static,
    ) -> Result<AlertListener, Error> {
        self.alert_listener()
            .callback(callback)
            .callback_error(callback_error)
            .start()
    }
}

impl fmt::Debug for PlexServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PlexServer")
            .field("url", &self.url)
            .field("token", &self.token)
            .field("friendly_name", &self.friendly_name)
            .field("machine_identifier", &self.machine_identifier)
            .field("version", &self.version)
            .finish()
    }
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Identity {
    friendly_name: String,
    machine_identifier: String,
    version: String,
}

/// `GET /` with the token: the server's name, id and version.
fn identity(settings: &Settings) -> Result<Identity, Error> {
    #[derive(Deserialize)]
    struct Root {
        #[serde(rename = "MediaContainer")]
        container: Identity,
    }
    let root = get_json(settings, "/")?;
    Root::deserialize(&root).map(|r| r.container).map_err(|e| {
        Error::decode(
            format!("the server's answer to GET / is not a Plex MediaContainer: {e}"),
            &root.to_string(),
        )
    })
}

/// One GET with the token, its body parsed as JSON.
fn get_json(settings: &Settings, path: &str) -> Result<serde_json::Value, Error> {
    let mut stream = net::open(settings, &Stop::new(), Arc::new(AtomicU64::new(0)))?;
    let headers = [
        ("Accept", "application/json".to_owned()),
        ("Accept-Encoding", "identity".to_owned()),
        ("Connection", "close".to_owned()),
    ];
    let no_filters = crate::Filters::default();
    let (head, leftover) = http::get(&mut stream, settings, path, &no_filters, &headers, 200)?;
    http::expect_identity_encoding(&head, "an answer", "")?;
    stream
        .set_read_timeout(settings.handshake_timeout)
        .map_err(|e| Error::lost(Phase::Read, e))?;
    let mut body = Vec::new();
    Body::new(stream, &head, leftover)?
        .take(MAX_BODY)
        .read_to_end(&mut body)
        .map_err(|e| match net::is_timeout(&e) {
            true => Error::Timeout {
                phase: Phase::Read,
                after: settings.handshake_timeout,
            },
            false => Error::lost(Phase::Read, e),
        })?;
    serde_json::from_slice(&body).map_err(|e| {
        Error::decode(
            format!("the answer to GET {path} is not JSON: {e}"),
            &String::from_utf8_lossy(&body),
        )
    })
}
