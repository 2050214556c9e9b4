//! [`PlexServer`]: python-plexapi's entry point, `PlexServer(baseurl, token)`.

mod request;

use std::fmt;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use crate::config::Config;
use crate::listener::Builder;
use crate::stop::Stop;
use crate::transport::{Settings, Token};
use crate::{Activity, Alert, AlertListener, Error, TlsOptions};

use crate::rest::{Metadata, ServerIdentity, Session};

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
        let root = request::get_json(&settings, "/", &Stop::new()).map_err(|e| token.redact(e))?;
        let identity = Root::deserialize(&root).map(|r| r.container).map_err(|e| {
            token.redact(Error::decode_json(
                "the server's answer to GET / is not a Plex MediaContainer",
                &e,
                &root.to_string(),
            ))
        })?;
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
        self.fetch(path, &Stop::new())
            .map_err(|e| self.token.redact(e))
    }

    /// Who is playing what now: `GET /status/sessions`, as python-plexapi's
    /// `plex.sessions()`. Each [`Session`] has its user, player, item and position.
    ///
    /// The server shows sessions to its owner's (admin) token only: another token gets
    /// [`Error::Forbidden`], which tells it from a wrong token ([`Error::Unauthorized`])
    /// and from a network failure.
    ///
    /// ```
    /// # fn main() -> Result<(), plex_alerts::Error> {
    /// # let mock = plex_alerts::mock::MockServer::start();
    /// # let movie = mock.library().add_movie("Movies", "The Matrix", 8_160_000);
    /// # let (alice, tv) = (mock.add_user("alice"), mock.add_player("Living Room TV"));
    /// # let _play = mock.play(&alice, &movie, &tv);
    /// # let plex = plex_alerts::PlexServer::connect(mock.url(), mock.token())?;
    /// for s in plex.sessions()? {
    ///     let user = s.user.as_ref().and_then(|u| u.title.as_deref()).unwrap_or("someone");
    ///     let player = s.player.as_ref().and_then(|p| p.title.as_deref()).unwrap_or("?");
    ///     println!("{user} watches {:?} on {player}", s.title);
    /// }
    /// # assert_eq!(plex.sessions()?.len(), 1);
    /// # Ok(())
    /// # }
    /// ```
    pub fn sessions(&self) -> Result<Vec<Session>, Error> {
        self.sessions_until(&Stop::new())
            .map_err(|e| self.token.redact(e))
    }

    pub(crate) fn sessions_until(&self, stop: &Stop) -> Result<Vec<Session>, Error> {
        let path = "/status/sessions";
        let answer = self.fetch(path, stop)?;
        items(&answer, "Metadata", path)?
            .into_iter()
            .map(|v| Session::from_value(v).map_err(|e| answer_error(path, e, &answer)))
            .collect()
    }

    /// One library item by its rating key: `GET /library/metadata/{rating_key}`, as
    /// python-plexapi's `plex.fetchItem(ratingKey)`. `None` when the server has no such
    /// item (it was deleted, or the key is not a library item's, as for Live TV).
    pub fn metadata(&self, rating_key: &str) -> Result<Option<Metadata>, Error> {
        self.metadata_until(rating_key, &Stop::new())
            .map_err(|e| self.token.redact(e))
    }

    pub(crate) fn metadata_until(
        &self,
        rating_key: &str,
        stop: &Stop,
    ) -> Result<Option<Metadata>, Error> {
        if rating_key.is_empty() {
            return Ok(None);
        }
        let path = format!("/library/metadata/{}", crate::percent::encode(rating_key));
        let answer = match self.fetch(&path, stop) {
            Err(Error::HttpStatus { status: 404, .. }) => return Ok(None),
            other => other?,
        };
        let item = items(&answer, "Metadata", &path)?.into_iter().next();
        item.map(|v| Metadata::from_value(v).map_err(|e| answer_error(&path, e, &answer)))
            .transpose()
    }

    /// The children of a library item: a season's episodes, an album's tracks, a show's
    /// seasons. `GET /library/metadata/{rating_key}/children`, as python-plexapi's
    /// `item.children()`. Empty when the server has no such item.
    pub fn children(&self, rating_key: &str) -> Result<Vec<Metadata>, Error> {
        self.children_until(rating_key, &Stop::new())
            .map_err(|e| self.token.redact(e))
    }

    pub(crate) fn children_until(
        &self,
        rating_key: &str,
        stop: &Stop,
    ) -> Result<Vec<Metadata>, Error> {
        if rating_key.is_empty() {
            return Ok(Vec::new());
        }
        let path = format!(
            "/library/metadata/{}/children",
            crate::percent::encode(rating_key)
        );
        let answer = match self.fetch(&path, stop) {
            Err(Error::HttpStatus { status: 404, .. }) => return Ok(Vec::new()),
            other => other?,
        };
        items(&answer, "Metadata", &path)?
            .into_iter()
            .map(|v| Metadata::from_value(v).map_err(|e| answer_error(&path, e, &answer)))
            .collect()
    }

    /// The items added most recently, newest first: `GET /library/recentlyAdded`, at most
    /// `limit` of them. Like python-plexapi's `plex.library.recentlyAdded()`, a server lists
    /// movies as themselves but new episodes by their season and new tracks by their album
    /// ([`children`](Self::children) reads those). What a library tracker reads after a
    /// gap to find what was added while nobody listened.
    pub fn recently_added(&self, limit: usize) -> Result<Vec<Metadata>, Error> {
        self.recently_added_until(limit, &Stop::new())
            .map_err(|e| self.token.redact(e))
    }

    pub(crate) fn recently_added_until(
        &self,
        limit: usize,
        stop: &Stop,
    ) -> Result<Vec<Metadata>, Error> {
        let path = format!(
            "/library/recentlyAdded?X-Plex-Container-Start=0&X-Plex-Container-Size={limit}"
        );
        let answer = self.fetch(&path, stop)?;
        items(&answer, "Metadata", "/library/recentlyAdded")?
            .into_iter()
            .map(|v| Metadata::from_value(v).map_err(|e| answer_error(&path, e, &answer)))
            .collect()
    }

    /// The jobs running now (scans, refreshes, analysis): `GET /activities`, as
    /// python-plexapi's `plex.activities`. Each is the same [`Activity`] an `activity`
    /// notification carries.
    pub fn activities(&self) -> Result<Vec<Activity>, Error> {
        self.activities_until(&Stop::new())
            .map_err(|e| self.token.redact(e))
    }

    pub(crate) fn activities_until(&self, stop: &Stop) -> Result<Vec<Activity>, Error> {
        let path = "/activities";
        let answer = self.fetch(path, stop)?;
        items(&answer, "Activity", path)?
            .into_iter()
            .map(|v| Activity::deserialize(&v).map_err(|e| answer_error(path, e, &answer)))
            .collect()
    }

    /// The server's identity, read afresh: `GET /identity`.
    ///
    /// [`machine_identifier`](Self::machine_identifier) and [`version`](Self::version) are
    /// what the server said at [`connect`](Self::connect). A server that was updated and
    /// restarted since shows a new version here; a plain restart shows the same identity,
    /// so this alone cannot tell that a server restarted.
    pub fn identity(&self) -> Result<ServerIdentity, Error> {
        self.identity_until(&Stop::new())
            .map_err(|e| self.token.redact(e))
    }

    pub(crate) fn identity_until(&self, stop: &Stop) -> Result<ServerIdentity, Error> {
        let path = "/identity";
        let answer = self.fetch(path, stop)?;
        ServerIdentity::deserialize(&answer["MediaContainer"])
            .map_err(|e| answer_error(path, e, &answer))
    }

    /// A copy whose requests give up sooner: each step (connect, TLS, the answer) within
    /// `timeout`.
    pub(crate) fn with_timeout(&self, timeout: Duration) -> PlexServer {
        let mut server = self.clone();
        server.settings.connect_timeout = timeout;
        server.settings.handshake_timeout = timeout;
        server
    }

    /// `GET path`, its answer as JSON, with the errors told apart: a good token that may
    /// not see `path` is [`Error::Forbidden`]. Errors are not redacted yet: each public
    /// method redacts what it returns, once, and a tracker's go through the listener's
    /// delivery, which does (a second pass would see `<redacted>` as text).
    fn fetch(&self, path: &str, stop: &Stop) -> Result<Value, Error> {
        match request::get_json(&self.settings, path, stop) {
            Err(Error::HttpStatus {
                status: 403, path, ..
            }) => Err(Error::Forbidden { status: 403, path }),
            // A non-admin token gets 401 for sessions on some servers: the token is good
            // if the server's root still takes it.
            Err(Error::Unauthorized { status: 401 })
                if path != "/" && request::get_json(&self.settings, "/", stop).is_ok() =>
            {
                Err(Error::Forbidden {
                    status: 401,
                    path: path.to_owned(),
                })
            }
            other => other,
        }
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

/// The items under `MediaContainer.<key>`: an array, one object, or none.
fn items(answer: &Value, key: &str, path: &str) -> Result<Vec<Value>, Error> {
    let container = &answer["MediaContainer"];
    if !container.is_object() {
        return Err(Error::decode(
            format!("the answer to GET {path} has no MediaContainer"),
            &answer.to_string(),
        ));
    }
    Ok(match &container[key] {
        Value::Array(items) => items.clone(),
        Value::Null => Vec::new(),
        one => vec![one.clone()],
    })
}

fn answer_error(path: &str, e: serde_json::Error, answer: &Value) -> Error {
    Error::decode_json(
        format!("the answer to GET {path} is not what Plex sends"),
        &e,
        &answer.to_string(),
    )
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Identity {
    friendly_name: String,
    machine_identifier: String,
    version: String,
}

#[derive(Deserialize)]
struct Root {
    #[serde(rename = "MediaContainer")]
    container: Identity,
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
