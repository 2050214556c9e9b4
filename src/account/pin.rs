//! [`PinLogin`]: the sign-in Plex's own apps use. The app asks plex.tv for a PIN, shows
//! the user a link, and waits while the user approves it at plex.tv; the approved PIN
//! carries the account's token.

use std::fmt;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{Options, PlexAccount, Site, text};
use crate::error::Phase;
use crate::server::Bounds;
use crate::transport::Token;
use crate::transport::net::deadline_after;
use crate::{Client, Error, TlsOptions};

/// A PIN's answer, whole, at most.
const PIN: Bounds = Bounds {
    bytes: 64 << 10,
    item_bytes: 64 << 10,
    items: 1,
    whole: true,
};

/// How often a PIN is asked about while waiting: as python-plexapi, once a second.
const POLL: Duration = Duration::from_secs(1);

/// How long a PIN lasts when plex.tv does not say (it does: 30 minutes for these).
const LIFETIME: Duration = Duration::from_secs(1800);

/// A PIN sign-in, as python-plexapi's `MyPlexPinLogin(oauth=True)` and Plex's own apps:
/// [`start`](Self::start) asks plex.tv for a PIN (`POST /api/v2/pins?strong=true`), the
/// app shows the user [`link`](Self::link), and [`wait`](Self::wait) polls the PIN
/// (`GET /api/v2/pins/{id}`, once a second) until the user has approved it at plex.tv,
/// and gives the account, whose [`token`](PlexAccount::token) the app keeps.
///
/// plex.tv ties the sign-in to the app's client identifier, so the [`Client`] must be the
/// app's own ([`Client::new`], the same on every run); [`Client::default`]'s, derived
/// from the host name, is refused ([`Error::InvalidConfig`]).
///
/// ```
/// # fn main() -> Result<(), plex_alerts::Error> {
/// # let mock = plex_alerts::mock::MockServer::start();
/// # let plex_tv = plex_alerts::mock::MockPlexTv::start(&mock);
/// use std::time::Duration;
/// use plex_alerts::{Client, PinLogin};
///
/// let client = Client::new("Now Playing Lamp", "5b7c1e52-now-playing-lamp");
/// let pin = PinLogin::builder(&client)
/// #   .plex_tv(plex_tv.url())
///     .start()?;
/// println!("Open {} and allow access", pin.link());
/// # plex_tv.approve(pin.code()); // the user, at plex.tv
/// let account = pin.wait(Duration::from_secs(300))?;
/// let token = account.token(); // keep it: next time, PlexAccount::connect(&client, token)
/// # assert_eq!(token, plex_tv.token());
/// # Ok(())
/// # }
/// ```
///
/// Clones share the PIN and its stop: [`stop`](Self::stop) from another thread (the
/// user gave up, Ctrl-C) ends a [`wait`](Self::wait) at once.
#[derive(Clone)]
pub struct PinLogin {
    site: Site,
    id: String,
    code: String,
    expires: Instant,
}

impl PinLogin {
    /// Asks plex.tv for a PIN, for the app `client` (its own identifier: see above).
    pub fn start(client: &Client) -> Result<PinLogin, Error> {
        PinLogin::builder(client).start()
    }

    /// A PIN sign-in with options: plex.tv's URL (a proxy, or a test's
    /// [`MockPlexTv`](crate::mock::MockPlexTv)), TLS, each request's deadline.
    pub fn builder(client: &Client) -> PinLoginBuilder {
        PinLoginBuilder {
            options: Options::new(client),
        }
    }

    /// The PIN's code: what [`link`](Self::link) carries.
    pub fn code(&self) -> &str {
        &self.code
    }

    /// The page where the user approves the sign-in, to show (or open in a browser):
    /// `https://app.plex.tv/auth#?clientID=..&code=..&context[device][product]=..`
    /// (the brackets percent-encoded).
    pub fn link(&self) -> String {
        let client = &self.site.options.client;
        format!(
            "https://app.plex.tv/auth#?clientID={}&code={}&context%5Bdevice%5D%5Bproduct%5D={}",
            crate::percent::encode(&client.identifier),
            crate::percent::encode(&self.code),
            crate::percent::encode(&client.product),
        )
    }

    /// How long the PIN still holds (plex.tv gives 30 minutes); nothing once it has
    /// expired.
    pub fn expires_in(&self) -> Duration {
        self.expires.saturating_duration_since(Instant::now())
    }

    /// Waits, at most `timeout`, for the user to approve the sign-in, asking plex.tv once
    /// a second, and gives the account (checked: `GET /api/v2/user`).
    ///
    /// It ends with [`Error::PinExpired`] when the PIN expires first (start a new one);
    /// [`Error::Timeout`] when `timeout` passes first (the PIN still holds: wait again);
    /// [`Error::Stopped`] at once on [`stop`](Self::stop). A request that fails in a way
    /// that may pass (the network, plex.tv busy) is tried again at the next poll, or when
    /// plex.tv asked (`Retry-After`); if that is the last word when the time is up, it is
    /// the error. Others end the wait at once.
    pub fn wait(&self, timeout: Duration) -> Result<PlexAccount, Error> {
        let until = deadline_after(timeout);
        let stop = &self.site.stop;
        loop {
            let failed = match self.poll() {
                Ok(Some(token)) => return self.account(token),
                Ok(None) => None,
                Err(e) if matches!(e, Error::Stopped | Error::PinExpired) => return Err(e),
                Err(e) if !e.is_retryable() => return Err(e),
                Err(e) => Some(e),
            };
            let now = Instant::now();
            if now >= self.expires {
                return Err(Error::PinExpired);
            }
            if now >= until {
                return Err(failed.unwrap_or(Error::Timeout {
                    phase: Phase::Approval,
                    after: timeout,
                }));
            }
            let asked = failed.as_ref().and_then(Error::retry_after);
            let pause = asked
                .map_or(POLL, |a| a.max(POLL))
                .min(until - now)
                .min(self.expires - now);
            if stop.sleep(pause) {
                return Err(Error::Stopped);
            }
        }
    }

    /// Ends a [`wait`](Self::wait) at once, with [`Error::Stopped`], and every one to
    /// come: the sign-in is given up.
    pub fn stop(&self) {
        self.site.stop.stop();
    }

    /// The PIN's token, once approved.
    fn poll(&self) -> Result<Option<String>, Error> {
        let path = format!("/api/v2/pins/{}", crate::percent::encode(&self.id));
        let answer = self
            .site
            .call(&self.site.stop, |call| call.object("GET", &path, 200, PIN));
        match answer {
            // plex.tv forgets a PIN when it expires.
            Err(Error::HttpStatus { status: 404, .. }) => Err(Error::PinExpired),
            Err(e) => Err(e),
            Ok(pin) => Ok(Some(text(&pin["authToken"])).filter(|t| !t.is_empty())),
        }
    }

    /// The account the approved PIN's `token` opens, checked under the PIN's stop.
    fn account(&self, token: String) -> Result<PlexAccount, Error> {
        let token = Token::new(token);
        let site = self
            .site
            .options
            .site(token.clone())
            .map_err(|e| token.redact(e))?;
        PlexAccount::check(site, &self.site.stop)
    }
}

/// Configures a [`PinLogin`]: made by [`PinLogin::builder`]; [`start`](Self::start) asks
/// plex.tv for the PIN.
#[must_use = "a builder does nothing until start() is called"]
pub struct PinLoginBuilder {
    options: Options,
}

impl PinLoginBuilder {
    /// plex.tv's base URL: `https://plex.tv` by default; a proxy's, or a test's
    /// [`MockPlexTv`](crate::mock::MockPlexTv). The account the PIN gives uses it too.
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

    /// Checks every option (the client must be the app's own), then asks plex.tv for a
    /// PIN: `POST /api/v2/pins?strong=true`.
    pub fn start(self) -> Result<PinLogin, Error> {
        let site = self.options.site(Token::default())?;
        let path = "/api/v2/pins?strong=true";
        let pin = site.call(&site.stop, |call| call.object("POST", path, 201, PIN))?;
        let (id, code) = (text(&pin["id"]), text(&pin["code"]));
        if id.is_empty() || code.is_empty() {
            return Err(site.redact(Error::BadAnswer {
                path: "/api/v2/pins".into(),
                message: "the PIN has no id or no code".into(),
                detail: String::new(),
                excerpt: String::new(),
            }));
        }
        let lifetime = match &pin["expiresIn"] {
            Value::Null => LIFETIME,
            other => seconds(other),
        };
        Ok(PinLogin {
            id,
            code,
            expires: deadline_after(lifetime),
            site,
        })
    }
}

/// A number of seconds, as a number or text; none for what is not one.
fn seconds(value: &Value) -> Duration {
    let n = match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    n.filter(|n| n.is_finite() && *n > 0.0)
        .map_or(Duration::ZERO, |n| Duration::from_secs_f64(n.min(1e9)))
}

impl fmt::Debug for PinLogin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PinLogin")
            .field("plex_tv", &self.site.options.url)
            // Not its id: with the client identifier, the id is what the token is
            // fetched with once approved.
            .field("code", &self.code)
            .field("expires_in", &self.expires_in())
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for PinLoginBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PinLoginBuilder")
            .field("plex_tv", &self.options.url)
            .field("client", &self.options.client)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pins_lifetime_is_read_leniently() {
        assert_eq!(seconds(&serde_json::json!(1800)), LIFETIME);
        assert_eq!(seconds(&serde_json::json!("90")), Duration::from_secs(90));
        for odd in [
            serde_json::json!(-5),
            serde_json::json!("soon"),
            serde_json::json!([1]),
        ] {
            assert_eq!(seconds(&odd), Duration::ZERO, "{odd}");
        }
    }
}
