//! [`PlexServer`]: python-plexapi's entry point, `PlexServer(baseurl, token)`; every
//! method of it is here.

mod answer;
mod builder;
mod policy;
mod request;
pub(crate) mod tracking;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use crate::config::Config;
use crate::listener::Builder;
use crate::stop::Stop;
use crate::transport::{Connector, Token};
use crate::{Activity, Alert, AlertListener, Error};

pub(crate) use answer::{Bounds, FromObject, Items};
pub use builder::PlexServerBuilder;
pub(crate) use policy::Policy;
pub(crate) use request::Call;
pub use tracking::{LibraryTracker, LibraryTrackerBuilder, SessionTracker, SessionTrackerBuilder};

use crate::rest::{Metadata, ServerIdentity, Session};

/// A Plex Media Server that answered with the given token, as python-plexapi's
/// `PlexServer(baseurl, token)`.
///
/// [`connect`](PlexServer::connect) makes a real request (`GET /` with the token), so a
/// wrong token or an unreachable server is an error here, at once, rather than later on a
/// listener's thread. [`builder`](PlexServer::builder) sets who the app is, TLS and the
/// requests' deadline first.
///
/// Every request has a total deadline (connect, TLS, the answer's head and body
/// together; 30 s by default), reads a bounded answer, and ends at once on
/// [`stop`](PlexServer::stop). Clones share the server's stop and its request policy.
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
    config: Config,
    connector: Connector,
    /// Each request's deadline, in all.
    timeout: Duration,
    /// A tracker's copy: its requests wait for the request policy.
    lookups: bool,
    shared: Arc<Shared>,
    identity: Arc<Identity>,
    /// Blanked out of its errors too: the account's token, for a server found through
    /// plex.tv.
    also_secret: Token,
}

/// What a server's clones share.
struct Shared {
    stop: Stop,
    policy: Policy,
}

/// The limits of a server's answers, per call: the bytes of the whole answer, of one
/// item, and the items built.
const SESSIONS: Bounds = Bounds {
    bytes: 16 << 20,
    item_bytes: 1 << 20,
    items: 1000,
    whole: true,
};
const ONE_ITEM: Bounds = Bounds {
    bytes: 8 << 20,
    item_bytes: 4 << 20,
    items: 1,
    whole: false,
};
const CHILDREN: Bounds = Bounds {
    bytes: 64 << 20,
    item_bytes: 1 << 20,
    items: 10_000,
    whole: true,
};
const RECENTLY_ADDED: Bounds = Bounds {
    bytes: 64 << 20,
    item_bytes: 1 << 20,
    items: 0,
    whole: false,
};
const ACTIVITIES: Bounds = Bounds {
    bytes: 4 << 20,
    item_bytes: 256 << 10,
    items: 1000,
    whole: true,
};
const CONTAINER: Bounds = Bounds {
    bytes: 1 << 20,
    item_bytes: 1 << 20,
    items: 1,
    whole: false,
};
/// [`PlexServer::get_json`]'s answers, whole.
const JSON_BYTES: u64 = 16 << 20;
/// A write's answer (usually empty), read and dropped.
const WRITE_BYTES: u64 = 1 << 20;

impl PlexServer {
    /// Connects to the server at `url` (its base URL) with `token`, checking both. See
    /// [`builder`](Self::builder) for TLS options, who the app is, and the deadline.
    pub fn connect(url: impl AsRef<str>, token: impl Into<String>) -> Result<PlexServer, Error> {
        PlexServer::builder(url).token(token).connect()
    }

    /// A server with options: who the app is ([`Client`](crate::Client)), TLS, the
    /// requests' deadline, the trackers' request rate.
    ///
    /// ```
    /// # fn main() -> Result<(), plex_alerts::Error> {
    /// # let mock = plex_alerts::mock::MockServer::start();
    /// # let (url, token) = (mock.url(), mock.token());
    /// use std::time::Duration;
    /// use plex_alerts::{Client, PlexServer, TlsOptions};
    ///
    /// let plex = PlexServer::builder(&url) // "https://192.168.1.5:32400"
    ///     .token(&token)
    ///     .client(Client::new("Now Playing Lamp", "5b7c1e52-now-playing-lamp"))
    ///     .tls(TlsOptions::new().accept_hostname_mismatch(true))
    ///     .timeout(Duration::from_secs(10))
    ///     .connect()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn builder(url: impl AsRef<str>) -> PlexServerBuilder {
        PlexServerBuilder::new(url.as_ref())
    }

    /// Stops every request of this server and of its clones, those under way and those
    /// to come: each ends at once with [`Error::Stopped`]. For a shutdown: a call blocked
    /// on a slow server returns. Listeners and trackers started from it have stops of
    /// their own.
    pub fn stop(&self) {
        self.shared.stop.stop();
    }

    /// The base URL it is reached at: the one given, or for a server found through
    /// plex.tv, the connection that won.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The server's name, as shown in Plex apps.
    pub fn friendly_name(&self) -> &str {
        &self.identity.friendly_name
    }

    /// The server's unique id.
    pub fn machine_identifier(&self) -> &str {
        &self.identity.machine_identifier
    }

    /// The server's version.
    pub fn version(&self) -> &str {
        &self.identity.version
    }

    /// `GET path` with the token, the answer parsed as JSON (at most 16 MiB): for what
    /// the typed calls do not cover. To resync after a gap, use [`sessions`](Self::sessions)
    /// and [`activities`](Self::activities), or the trackers, which do it themselves.
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
        self.checked(path, &self.shared.stop, |call| call.json(path, JSON_BYTES))
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
        self.sessions_until(&self.shared.stop).map(|i| i.items)
    }

    pub(crate) fn sessions_until(&self, stop: &Stop) -> Result<Items<Session>, Error> {
        self.items("/status/sessions", "Metadata", SESSIONS, stop)
    }

    /// One library item by its rating key: `GET /library/metadata/{rating_key}`, as
    /// python-plexapi's `plex.fetchItem(ratingKey)`. `None` when the server has no such
    /// item (it was deleted, or the key is not a library item's, as for Live TV).
    pub fn metadata(&self, rating_key: &str) -> Result<Option<Metadata>, Error> {
        self.metadata_until(rating_key, &self.shared.stop)
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
        match self.items(&path, "Metadata", ONE_ITEM, stop) {
            Err(Error::HttpStatus { status: 404, .. }) => Ok(None),
            other => Ok(other?.items.into_iter().next()),
        }
    }

    /// The children of a library item: a season's episodes, an album's tracks, a show's
    /// seasons. `GET /library/metadata/{rating_key}/children`, as python-plexapi's
    /// `item.children()`. Empty when the server has no such item. At most 10,000: more
    /// is [`Error::AnswerTooLarge`].
    pub fn children(&self, rating_key: &str) -> Result<Vec<Metadata>, Error> {
        self.children_until(rating_key, &self.shared.stop)
            .map(|i| i.items)
    }

    pub(crate) fn children_until(
        &self,
        rating_key: &str,
        stop: &Stop,
    ) -> Result<Items<Metadata>, Error> {
        if rating_key.is_empty() {
            return Ok(Items::new());
        }
        let path = format!(
            "/library/metadata/{}/children",
            crate::percent::encode(rating_key)
        );
        match self.items(&path, "Metadata", CHILDREN, stop) {
            Err(Error::HttpStatus { status: 404, .. }) => Ok(Items::new()),
            other => other,
        }
    }

    /// The items added most recently, newest first: `GET /library/recentlyAdded`, at most
    /// `limit` of them (a server that sends more has the rest left unread). Like
    /// python-plexapi's `plex.library.recentlyAdded()`, a server lists movies as
    /// themselves but new episodes by their season and new tracks by their album
    /// ([`children`](Self::children) reads those). What a library tracker reads after a
    /// gap to find what was added while nobody listened.
    pub fn recently_added(&self, limit: usize) -> Result<Vec<Metadata>, Error> {
        self.recently_added_until(limit, &self.shared.stop)
            .map(|i| i.items)
    }

    pub(crate) fn recently_added_until(
        &self,
        limit: usize,
        stop: &Stop,
    ) -> Result<Items<Metadata>, Error> {
        let path = format!(
            "/library/recentlyAdded?X-Plex-Container-Start=0&X-Plex-Container-Size={limit}"
        );
        let bounds = Bounds {
            items: limit,
            ..RECENTLY_ADDED
        };
        self.items(&path, "Metadata", bounds, stop)
    }

    /// The jobs running now (scans, refreshes, analysis): `GET /activities`, as
    /// python-plexapi's `plex.activities`. Each is the same [`Activity`] an `activity`
    /// notification carries.
    pub fn activities(&self) -> Result<Vec<Activity>, Error> {
        self.activities_until(&self.shared.stop).map(|i| i.items)
    }

    pub(crate) fn activities_until(&self, stop: &Stop) -> Result<Items<Activity>, Error> {
        self.items("/activities", "Activity", ACTIVITIES, stop)
    }

    /// The server's identity, read afresh: `GET /identity`.
    ///
    /// [`machine_identifier`](Self::machine_identifier) and [`version`](Self::version) are
    /// what the server said at [`connect`](Self::connect). A server that was updated and
    /// restarted since shows a new version here; a plain restart shows the same identity,
    /// so this alone cannot tell that a server restarted.
    pub fn identity(&self) -> Result<ServerIdentity, Error> {
        self.identity_until(&self.shared.stop)
    }

    pub(crate) fn identity_until(&self, stop: &Stop) -> Result<ServerIdentity, Error> {
        let path = "/identity";
        self.checked(path, stop, |call| {
            let container = call.container(path, CONTAINER)?;
            ServerIdentity::deserialize(&container).map_err(|e| bad_answer(path, &e, &container))
        })
    }

    /// A copy for a tracker's lookups: each within `timeout` in all, under the server's
    /// request policy.
    pub(crate) fn for_lookups(&self, timeout: Duration) -> PlexServer {
        let mut server = self.clone();
        server.timeout = timeout;
        server.lookups = true;
        server
    }

    /// The items under `MediaContainer.<key>` of `GET path`: those that are not objects
    /// skipped, and said in a debug line.
    fn items<T: FromObject>(
        &self,
        path: &str,
        key: &'static str,
        bounds: Bounds,
        stop: &Stop,
    ) -> Result<Items<T>, Error> {
        let items = self.checked(path, stop, |call| call.items(path, key, bounds))?;
        if items.skipped > 0 {
            let path = path.split('?').next().unwrap_or(path);
            log::debug!(
                "plex-alerts: skipped {} elements of GET {path} that are not items",
                items.skipped
            );
        }
        Ok(items)
    }

    /// A request, with the errors told apart: a good token that may not see `path` is
    /// [`Error::Forbidden`]. Every error leaves redacted.
    fn checked<T>(
        &self,
        path: &str,
        stop: &Stop,
        request: impl Fn(&Call<'_>) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let deadline = crate::transport::net::deadline_after(self.timeout);
        // A tracker's lookup waits for the policy; an app's own call is not held back.
        let _permit = match self.lookups {
            true => Some(
                self.shared
                    .policy
                    .admit(path, deadline, stop)
                    .map_err(|e| self.redact(e))?,
            ),
            false => None,
        };
        let call = Call {
            connector: &self.connector,
            stop,
            timeout: deadline.saturating_duration_since(std::time::Instant::now()),
        };
        let result = match request(&call) {
            Err(Error::HttpStatus {
                status: 403, path, ..
            }) => Err(Error::Forbidden { status: 403, path }),
            // A non-admin token gets 401 for sessions on some servers: the token is good
            // if the server's root still takes it.
            Err(Error::Unauthorized { status: 401 })
                if path != "/" && call.container("/", CONTAINER).is_ok() =>
            {
                Err(Error::Forbidden {
                    status: 401,
                    path: path.split('?').next().unwrap_or(path).to_owned(),
                })
            }
            other => other,
        };
        self.shared.policy.done(&result);
        result.map_err(|e| self.redact(e))
    }

    /// A listener builder for this server, with its URL, token, TLS options and client.
    pub fn alert_listener(&self) -> Builder {
        AlertListener::builder(&self.url)
            .token(self.config.token.expose())
            .tls(self.config.tls.clone())
            .client(self.config.client.clone())
    }

    /// Marks an item watched, as python-plexapi's `item.markPlayed()`:
    /// `GET /:/scrobble?identifier=com.plexapp.plugins.library&key={rating_key}`.
    ///
    /// Whose watched state changes is the **token's user's**, not the viewer's: to mark
    /// it for the user who watched, the app needs that user's token (a server owner's
    /// token marks it for the owner).
    pub fn mark_watched(&self, rating_key: &str) -> Result<(), Error> {
        self.write("/:/scrobble", rating_key)
    }

    /// Marks an item unwatched (the token's user's, as [`mark_watched`](Self::mark_watched)),
    /// as python-plexapi's `item.markUnplayed()`: `GET /:/unscrobble?...`.
    pub fn mark_unwatched(&self, rating_key: &str) -> Result<(), Error> {
        self.write("/:/unscrobble", rating_key)
    }

    fn write(&self, path: &str, rating_key: &str) -> Result<(), Error> {
        let path = format!(
            "{path}?identifier=com.plexapp.plugins.library&key={}",
            crate::percent::encode(rating_key)
        );
        self.checked(&path, &self.shared.stop, |call| {
            call.done(&path, WRITE_BYTES)
        })
    }

    /// Ends a playing session, with a reason the viewer is shown, as Tautulli does:
    /// `GET /status/sessions/terminate?sessionId={play_id}&reason={reason}`. `play_id` is
    /// the session's [`TrackedSession::play_id`](crate::TrackedSession::play_id) (the
    /// `Session.id` of `/status/sessions`, not its session key).
    ///
    /// The server does it only for its owner's token, and only with Plex Pass: it
    /// refuses otherwise, as [`Error::Forbidden`], whose text says so.
    pub fn terminate_session(&self, play_id: &str, reason: &str) -> Result<(), Error> {
        let path = format!(
            "/status/sessions/terminate?sessionId={}&reason={}",
            crate::percent::encode(play_id),
            crate::percent::encode(reason)
        );
        self.checked(&path, &self.shared.stop, |call| {
            call.done(&path, WRITE_BYTES)
        })
    }

    /// Tracks playback sessions: who plays what, as [`SessionEvent`](crate::SessionEvent)s
    /// to `handler` (a closure taking a `SessionEvent`, or a channel sender of them), on a
    /// listener of its own. Short for `session_tracker().handler(handler).start()`.
    ///
    /// ```
    /// # fn main() -> Result<(), plex_alerts::Error> {
    /// # let mock = plex_alerts::mock::MockServer::start();
    /// # let plex = plex_alerts::PlexServer::connect(mock.url(), mock.token())?;
    /// use plex_alerts::SessionEvent;
    ///
    /// let tracker = plex.track_sessions(|event: SessionEvent| match event {
    ///     SessionEvent::Started(s) => println!("{s} started"),
    ///     SessionEvent::Watched(s) => println!("scrobble {:?}", s.media.title),
    ///     SessionEvent::Stopped { session, reason } => println!("{session} ended: {reason}"),
    ///     _ => {}
    /// })?;
    /// println!("{} playing", tracker.now_playing().len());
    /// tracker.stop();
    /// # Ok(())
    /// # }
    /// ```
    pub fn track_sessions(
        &self,
        handler: impl crate::Handler<crate::SessionEvent>,
    ) -> Result<SessionTracker, Error> {
        self.session_tracker().handler(handler).start()
    }

    /// A session tracker with options: see [`SessionTrackerBuilder`].
    pub fn session_tracker(&self) -> SessionTrackerBuilder {
        SessionTrackerBuilder::new(self)
    }

    /// Tracks the library: each item added, updated or deleted, once, and the activities
    /// (scans, refreshes), as [`LibraryEvent`](crate::LibraryEvent)s to `handler` (a
    /// closure taking a `LibraryEvent`, or a channel sender of them), on a listener of its
    /// own. Short for `library_tracker().handler(handler).start()`.
    ///
    /// ```
    /// # fn main() -> Result<(), plex_alerts::Error> {
    /// # let mock = plex_alerts::mock::MockServer::start();
    /// # let plex = plex_alerts::PlexServer::connect(mock.url(), mock.token())?;
    /// use plex_alerts::{LibraryEvent, MediaType};
    ///
    /// let tracker = plex.track_library(|event: LibraryEvent| match event {
    ///     LibraryEvent::ItemAdded(item) if item.media_type == Some(MediaType::Episode) => {
    ///         println!("new episode: {item}");
    ///     }
    ///     LibraryEvent::ItemDeleted(item) => println!("gone: {item}"),
    ///     _ => {}
    /// })?;
    /// tracker.stop();
    /// # Ok(())
    /// # }
    /// ```
    pub fn track_library(
        &self,
        handler: impl crate::Handler<crate::LibraryEvent>,
    ) -> Result<LibraryTracker, Error> {
        self.library_tracker().handler(handler).start()
    }

    /// A library tracker with options: see [`LibraryTrackerBuilder`].
    pub fn library_tracker(&self) -> LibraryTrackerBuilder {
        LibraryTrackerBuilder::new(self)
    }

    /// The request policy its trackers' lookups share.
    pub(crate) fn policy(&self) -> &Policy {
        &self.shared.policy
    }

    /// `error` with the token (and the account's, if it has one) blanked out.
    pub(crate) fn redact(&self, error: Error) -> Error {
        error.redact_all(&[self.config.token.expose(), self.also_secret.expose()])
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

impl FromObject for Session {
    fn from_object(object: Value) -> Option<Session> {
        Session::from_value(object).ok()
    }
}

impl FromObject for Metadata {
    fn from_object(object: Value) -> Option<Metadata> {
        Metadata::from_value(object).ok()
    }
}

impl FromObject for Activity {
    fn from_object(object: Value) -> Option<Activity> {
        Activity::deserialize(&object).ok()
    }
}

/// A `MediaContainer` whose members are not what Plex sends (redacted where it leaves).
fn bad_answer(path: &str, e: &serde_json::Error, answer: &Value) -> Error {
    Error::BadAnswer {
        path: path.to_owned(),
        message: "its MediaContainer is not one Plex sends".into(),
        detail: crate::error::foreign(&e.to_string()),
        excerpt: crate::error::foreign(&answer.to_string()),
    }
}

/// What `GET /` says of the server.
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Identity {
    friendly_name: String,
    machine_identifier: String,
    version: String,
}

impl fmt::Debug for PlexServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PlexServer")
            .field("url", &self.url)
            .field("token", &self.config.token)
            .field("friendly_name", &self.identity.friendly_name)
            .field("machine_identifier", &self.identity.machine_identifier)
            .field("version", &self.identity.version)
            .finish()
    }
}
