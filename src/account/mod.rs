//! Signing in at plex.tv and finding the account's servers: [`PinLogin`] (a PIN the user
//! approves), [`PlexAccount`] (a token: its user and servers), [`ServerResource`] (one
//! server and its connections) and [`ResourceConnector`] (the race for its best
//! connection), as python-plexapi's `MyPlexPinLogin`, `MyPlexAccount` and
//! `resource().connect()`.
//!
//! plex.tv is reached as a Plex server is: through the crate's own connector (so that
//! no dependency sees a token), each request under a total deadline, ended at once by a
//! stop, its answer read within bounds. Its answers carry tokens, so an error never
//! quotes one.

mod connect;
mod pin;
mod resource;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use crate::config::Config;
use crate::rest::soft;
use crate::server::Bounds;
use crate::stop::Stop;
use crate::transport::{Connector, Token};
use crate::{Client, Error, TlsOptions};

pub use connect::ResourceConnector;
pub use pin::{PinLogin, PinLoginBuilder};
use resource::{RESOURCES, RawResource};
pub use resource::{ResourceConnection, ServerResource};

use crate::server::Call;

/// Where plex.tv is, unless told otherwise.
const PLEX_TV: &str = "https://plex.tv";

/// `GET /api/v2/user`'s answer, whole, at most.
const USER: Bounds = Bounds {
    bytes: 1 << 20,
    item_bytes: 1 << 20,
    items: 1,
    whole: true,
};

/// A Plex account, signed in with its token, as python-plexapi's `MyPlexAccount(token)`:
/// its user, and its servers (owned and shared) to connect to.
///
/// [`connect`](PlexAccount::connect) checks the token with plex.tv
/// (`GET /api/v2/user`). The token comes from a [`PinLogin`] (once), and then from
/// wherever the app keeps it: the crate does not store it, and never shows it (not in an
/// error's text, a log line or a `Debug` print).
///
/// ```
/// # fn main() -> Result<(), plex_alerts::Error> {
/// # let mock = plex_alerts::mock::MockServer::start();
/// # let plex_tv = plex_alerts::mock::MockPlexTv::start(&mock);
/// # let token = plex_tv.token(); // the token the app saved after its PinLogin
/// use plex_alerts::{Client, PlexAccount};
///
/// let client = Client::new("Now Playing Lamp", "5b7c1e52-now-playing-lamp");
/// let account = PlexAccount::builder(&client, token)
/// #   .plex_tv(plex_tv.url())
///     .connect()?;
/// println!("signed in as {:?}", account.user().username);
/// for server in account.servers()? {
///     println!("{} (owned: {})", server.name(), server.owned());
/// }
/// let plex = account.server("plex-alerts mock")?.connect()?; // the best connection
/// println!("connected to {} at {}", plex.friendly_name(), plex.url());
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct PlexAccount {
    site: Site,
    user: Arc<AccountUser>,
}

/// Who the account is: `GET /api/v2/user`, read when the account was made. Every field
/// is optional, read as leniently as a server's answers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
#[non_exhaustive]
pub struct AccountUser {
    /// The account's number.
    #[serde(deserialize_with = "soft::int")]
    pub id: Option<i64>,
    /// Its unique id.
    #[serde(deserialize_with = "soft::string")]
    pub uuid: Option<String>,
    /// The name it signs in with.
    #[serde(deserialize_with = "soft::string")]
    pub username: Option<String>,
    /// The name shown in Plex apps.
    #[serde(deserialize_with = "soft::string")]
    pub title: Option<String>,
    /// Its e-mail address.
    #[serde(deserialize_with = "soft::string")]
    pub email: Option<String>,
    /// Its avatar's URL.
    #[serde(deserialize_with = "soft::string")]
    pub thumb: Option<String>,
}

impl PlexAccount {
    /// Signs in with `token` (checked with plex.tv), as the app `client` says it is: an
    /// identifier of the app's own, kept across runs ([`Client::new`]). See
    /// [`builder`](Self::builder) for plex.tv's URL, TLS and the requests' deadline.
    pub fn connect(client: &Client, token: impl Into<String>) -> Result<PlexAccount, Error> {
        PlexAccount::builder(client, token).connect()
    }

    /// An account with options: plex.tv's URL (a proxy, a test's
    /// [`MockPlexTv`](crate::mock::MockPlexTv)), TLS, each request's deadline.
    pub fn builder(client: &Client, token: impl Into<String>) -> PlexAccountBuilder {
        PlexAccountBuilder {
            options: Options::new(client),
            token: Token::new(token.into()),
        }
    }

    /// The token, for the app to keep (in a file only its user can read, say) and sign
    /// in with next time. Treat it as a password: it opens every server of the account.
    pub fn token(&self) -> &str {
        self.site.connector.token.expose()
    }

    /// Who the account is, as plex.tv said when it was made.
    pub fn user(&self) -> &AccountUser {
        &self.user
    }

    /// The servers the account can reach, owned and shared, each with its own token and
    /// connections: `GET /api/v2/resources?includeHttps=1&includeRelay=1&includeIPv6=1`,
    /// the resources that provide `server` (players and other devices are left out). At
    /// most 5,000 resources are read; more is [`Error::AnswerTooLarge`].
    pub fn servers(&self) -> Result<Vec<ServerResource>, Error> {
        let path = "/api/v2/resources?includeHttps=1&includeRelay=1&includeIPv6=1";
        let items = self.site.call(&self.site.stop, |call| {
            call.list::<RawResource>("GET", path, 200, RESOURCES)
        })?;
        if items.skipped > 0 {
            log::debug!(
                "plex-alerts: skipped {} elements of GET /api/v2/resources that are not resources",
                items.skipped
            );
        }
        Ok(items
            .items
            .into_iter()
            .filter_map(|raw| raw.into_server(&self.site))
            .collect())
    }

    /// The server named `name` (in any case; or its machine identifier), as
    /// python-plexapi's `account.resource(name)`: an owned one before a shared one of
    /// the same name. [`Error::NoSuchServer`] names the servers there are.
    pub fn server(&self, name: &str) -> Result<ServerResource, Error> {
        let servers = self.servers()?;
        let named = |s: &&ServerResource| {
            s.name().eq_ignore_ascii_case(name) || s.machine_identifier() == name
        };
        let found = servers
            .iter()
            .filter(named)
            .find(|s| s.owned())
            .or_else(|| servers.iter().find(named));
        match found {
            Some(server) => Ok(server.clone()),
            None => Err(self.site.redact(Error::NoSuchServer {
                name: name.to_owned(),
                servers: servers.iter().map(|s| s.name().to_owned()).collect(),
            })),
        }
    }

    /// Stops every request of this account and its clones, those under way (a
    /// [`servers`](Self::servers) call, a [`ServerResource::connect`] race) and those to
    /// come: each ends at once with [`Error::Stopped`].
    pub fn stop(&self) {
        self.site.stop.stop();
    }

    /// The account of `site` (which has its token), checked with `GET /api/v2/user`
    /// under `stop`.
    fn check(site: Site, stop: &Stop) -> Result<PlexAccount, Error> {
        let path = "/api/v2/user";
        let value = site.call(stop, |call| call.object("GET", path, 200, USER))?;
        let user = AccountUser::deserialize(&value).map_err(|_| {
            site.redact(Error::BadAnswer {
                path: path.to_owned(),
                message: "it is not a user".into(),
                detail: String::new(),
                excerpt: String::new(),
            })
        })?;
        Ok(PlexAccount {
            site,
            user: Arc::new(user),
        })
    }
}

/// Configures a [`PlexAccount`]: made by [`PlexAccount::builder`];
/// [`connect`](Self::connect) checks the token with plex.tv.
#[must_use = "a builder does nothing until connect() is called"]
pub struct PlexAccountBuilder {
    options: Options,
    token: Token,
}

impl PlexAccountBuilder {
    /// plex.tv's base URL: `https://plex.tv` by default; a proxy's, or a test's
    /// [`MockPlexTv`](crate::mock::MockPlexTv).
    pub fn plex_tv(mut self, url: impl Into<String>) -> Self {
        self.options.url = url.into();
        self
    }

    /// How plex.tv's certificate is checked (a proxy with a private CA).
    pub fn tls(mut self, tls: TlsOptions) -> Self {
        self.options.tls = tls;
        self
    }

    /// The longest one request to plex.tv may take, in all. Default 30 s.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.options.timeout = timeout;
        self
    }

    /// Checks every option, then the token with plex.tv (`GET /api/v2/user`): a wrong
    /// token is [`Error::Unauthorized`] here, at once.
    pub fn connect(self) -> Result<PlexAccount, Error> {
        if self.token.is_empty() {
            return Err(Error::config(
                "no token: sign in with a PinLogin first, then keep its account's token",
            ));
        }
        let site = self.options.site(self.token)?;
        let stop = site.stop.clone();
        PlexAccount::check(site, &stop)
    }
}

/// What the sign-in's types are made with: who the app is, and how plex.tv is reached.
#[derive(Clone)]
struct Options {
    url: String,
    client: Client,
    tls: TlsOptions,
    timeout: Duration,
}

impl Options {
    fn new(client: &Client) -> Options {
        Options {
            url: PLEX_TV.to_owned(),
            client: client.clone(),
            tls: TlsOptions::default(),
            timeout: Duration::from_secs(30),
        }
    }

    /// plex.tv with `token` (empty for a PIN's requests), every option checked.
    fn site(&self, token: Token) -> Result<Site, Error> {
        if self.client.is_shared() {
            return Err(Error::config(
                "plex.tv ties a sign-in to the app's client identifier: give it a \
                 Client::new(product, identifier) with one of the app's own, kept across \
                 runs (Client::default()'s is derived from the host name, so every app on \
                 this host would share it)",
            ));
        }
        if self.timeout.is_zero() {
            return Err(Error::config("the timeout must be more than zero"));
        }
        let config = Config {
            token,
            client: self.client.clone(),
            tls: self.tls.clone(),
            ..Config::default()
        };
        let secret = config.token.clone();
        let checked = config.check(&self.url).map_err(|e| secret.redact(e))?;
        Ok(Site {
            options: self.clone(),
            connector: checked.settings.connector,
            stop: Stop::new(),
        })
    }
}

/// plex.tv, as the crate reaches it: the connector (with the account's token, or none
/// for a PIN's requests), each request's deadline, and the stop that ends them.
#[derive(Clone)]
struct Site {
    options: Options,
    connector: Connector,
    stop: Stop,
}

impl Site {
    /// A request under `stop`, its error redacted as it leaves.
    fn call<T>(
        &self,
        stop: &Stop,
        request: impl FnOnce(&Call<'_>) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let call = Call {
            connector: &self.connector,
            stop,
            timeout: self.options.timeout,
        };
        request(&call).map_err(|e| self.redact(e))
    }

    /// `error` as it leaves: the token blanked out, and nothing quoted of plex.tv's
    /// answers, which carry tokens the crate may not know yet (a PIN's new one, a shared
    /// server's).
    fn redact(&self, error: Error) -> Error {
        let error = match error {
            Error::BadAnswer { path, message, .. } => Error::BadAnswer {
                path,
                message: format!("{message} (plex.tv's answers carry tokens: not quoted)"),
                detail: String::new(),
                excerpt: String::new(),
            },
            other => other,
        };
        self.connector.token.redact(error)
    }
}

impl fmt::Debug for PlexAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PlexAccount")
            .field("plex_tv", &self.site.options.url)
            .field("username", &self.user.username)
            .field("token", &self.site.connector.token)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for PlexAccountBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PlexAccountBuilder")
            .field("plex_tv", &self.options.url)
            .field("client", &self.options.client)
            .field("token", &self.token)
            .finish_non_exhaustive()
    }
}

/// A string field of a plex.tv answer, read leniently (a number as text); empty when
/// absent or of another type.
fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}
