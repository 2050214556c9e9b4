//! [`ResourceConnector`]: a server's connections tried at once, the best kind that
//! answers as that server taken without waiting for the slow ones, the losers stopped.

use std::fmt;
use std::net::ToSocketAddrs;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, select};

use super::resource::{ResourceConnection, ServerResource};
use crate::error::Phase;
use crate::stop::Stop;
use crate::transport::net::deadline_after;
use crate::{Error, PlexServer, TlsOptions};

/// The most connections one race tries: plex.tv lists a handful per server.
const MAX_TRIED: usize = 20;

/// After the deadline, how long the race still waits for the attempts to say how they
/// failed (each ends at the deadline itself) before it says it for them.
const SLACK: Duration = Duration::from_millis(250);

/// How a server is found through one of its connections: a race, as
/// [`ServerResource::connect`] runs it, with options. Made by
/// [`ServerResource::connector`].
///
/// Every connection is tried at once, each with the server's token, and kept only if it
/// answers (`GET /`) with the server's machine identifier: one that answers as another
/// server is refused ([`Error::WrongServer`]). Local connections are preferred to remote
/// ones, and remote ones to the relay, without waiting on the slow: once a connection
/// answers, the race waits a short grace (250 ms) for a better kind still under way,
/// then takes the best that answered (python-plexapi waits for every attempt, the
/// slowest included). The others are stopped at once. All within one deadline (15 s).
///
/// A `*.plex.direct` name that does not resolve (routers that block DNS answers with
/// private addresses do that) is tried by its address, with the certificate's name
/// allowed not to match ([`TlsOptions::accept_hostname_mismatch`]; the chain is still
/// verified). A shared server's local connections are tried only when plex.tv says the
/// app is on its network ([`ServerResource::public_address_matches`]): elsewhere they
/// are another network's addresses. At most 20 connections are tried.
///
/// When none works, [`Error::NoConnection`] lists each URI tried and why it failed,
/// with no token in it.
///
/// ```
/// # fn main() -> Result<(), plex_alerts::Error> {
/// # let mock = plex_alerts::mock::MockServer::start();
/// # let plex_tv = plex_alerts::mock::MockPlexTv::start(&mock);
/// # let client = plex_alerts::Client::new("Now Playing Lamp", "5b7c1e52-now-playing-lamp");
/// # let account = plex_alerts::PlexAccount::builder(&client, plex_tv.token())
/// #     .plex_tv(plex_tv.url()).connect()?;
/// use std::time::Duration;
/// use plex_alerts::TlsOptions;
///
/// let plex = account
///     .server("plex-alerts mock")?
///     .connector()
///     .timeout(Duration::from_secs(5))
///     .tls(TlsOptions::new()) // a private CA: add_root_certificate_pem(..)
///     .connect()?;
/// # assert_eq!(plex.url(), mock.url());
/// # Ok(())
/// # }
/// ```
#[must_use = "a connector does nothing until connect() is called"]
pub struct ResourceConnector {
    resource: ServerResource,
    tls: TlsOptions,
    timeout: Duration,
    grace: Duration,
}

/// What one attempt tried, and the server if it won: its URIs (the plex.direct name and
/// its address, when the name does not resolve) and how each failed.
type Outcome = Result<PlexServer, Vec<(String, Error)>>;

impl ResourceConnector {
    pub(super) fn new(resource: ServerResource) -> ResourceConnector {
        ResourceConnector {
            resource,
            tls: TlsOptions::default(),
            timeout: Duration::from_secs(15),
            grace: Duration::from_millis(250),
        }
    }

    /// How servers' certificates are checked (a private CA). The server found keeps
    /// them, for its requests and listeners.
    pub fn tls(mut self, tls: TlsOptions) -> Self {
        self.tls = tls;
        self
    }

    /// The longest the race may take, in all. Default 15 s. The server found has its
    /// own deadline per request (30 s, as [`PlexServerBuilder::timeout`](crate::PlexServerBuilder::timeout)).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How long, once a connection answered, the race waits for a better kind (local
    /// before remote before relay) still under way. Default 250 ms.
    pub fn grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// Runs the race: the server, reached through the best connection that answered as
    /// it, or [`Error::NoConnection`].
    pub fn connect(self) -> Result<PlexServer, Error> {
        if self.timeout.is_zero() {
            return Err(Error::config("the timeout must be more than zero"));
        }
        let candidates = Arc::new(candidates(&self.resource));
        let outer = self.resource.site.stop.clone();
        let deadline = deadline_after(self.timeout);
        let (tx, results) = crossbeam_channel::unbounded();
        let stops: Vec<Stop> = candidates.iter().map(|_| Stop::new()).collect();
        for (i, stop) in stops.iter().enumerate() {
            let attempt = Attempt {
                connector: self.clone_options(),
                candidates: Arc::clone(&candidates),
                i,
                stop: stop.clone(),
                deadline,
            };
            let told = tx.clone();
            let started = thread::Builder::new()
                .name("plex-alerts-connect".into())
                .spawn(move || {
                    let outcome = attempt.run();
                    let _ = told.send((attempt.i, outcome));
                });
            if let Err(e) = started {
                let error = Error::Internal {
                    message: format!("could not start a thread to connect: {e}"),
                };
                let _ = tx.send((i, Err(vec![(candidates[i].uri.clone(), error)])));
            }
        }
        drop(tx);
        let race = self.race(&candidates, &results, &outer, deadline);
        // The losers, at once: those under way end, those that answered are dropped.
        for (i, stop) in stops.iter().enumerate() {
            if !matches!(race, Ok((winner, _)) if winner == i) {
                stop.stop();
            }
        }
        race.map(|(_, server)| server)
    }

    /// Waits for the attempts: the winner (its index), or why none won.
    fn race(
        &self,
        candidates: &[Candidate],
        results: &Receiver<(usize, Outcome)>,
        outer: &Stop,
        deadline: Instant,
    ) -> Result<(usize, PlexServer), Error> {
        let mut outcomes: Vec<Option<Outcome>> = candidates.iter().map(|_| None).collect();
        let mut grace_end: Option<Instant> = None;
        let end = deadline + SLACK;
        loop {
            if outer.is_stopped() {
                return Err(Error::Stopped);
            }
            // Candidates are in order of preference: the first that answered is the best.
            let best = outcomes.iter().position(|o| matches!(o, Some(Ok(_))));
            let now = Instant::now();
            if let Some(best) = best {
                let better_under_way = outcomes
                    .iter()
                    .zip(candidates)
                    .any(|(o, c)| o.is_none() && c.kind < candidates[best].kind);
                if !better_under_way || grace_end.is_some_and(|g| now >= g) {
                    let Some(Ok(server)) = outcomes[best].take() else {
                        unreachable!("the best answered")
                    };
                    return Ok((best, server));
                }
            } else if outcomes.iter().all(Option::is_some) || now >= end {
                return Err(self.none_worked(candidates, outcomes));
            }
            let wake = match (best, grace_end) {
                (Some(_), Some(g)) => g,
                _ => end,
            };
            select! {
                recv(results) -> message => {
                    let Ok((i, outcome)) = message else { continue };
                    if outcome.is_ok() && grace_end.is_none() {
                        grace_end = Some(Instant::now() + self.grace);
                    }
                    outcomes[i] = Some(outcome);
                }
                recv(outer.woken()) -> _ => return Err(Error::Stopped),
                default(wake.saturating_duration_since(Instant::now())) => {}
            }
        }
    }

    /// [`Error::NoConnection`]: each URI tried and why it failed, in order of preference.
    fn none_worked(&self, candidates: &[Candidate], outcomes: Vec<Option<Outcome>>) -> Error {
        let mut tried = Vec::new();
        for (candidate, outcome) in candidates.iter().zip(outcomes) {
            match outcome {
                Some(Err(failures)) => tried.extend(failures),
                // Still under way past the deadline, and not said yet.
                _ => tried.push((
                    candidate.uri.clone(),
                    Error::Timeout {
                        phase: Phase::Connect,
                        after: self.timeout,
                    },
                )),
            }
        }
        let resource = &self.resource;
        Error::NoConnection {
            server: resource.name().to_owned(),
            tried,
        }
        .redact_all(&[
            resource.access_token(),
            resource.site.connector.token.expose(),
        ])
    }

    fn clone_options(&self) -> ResourceConnector {
        ResourceConnector {
            resource: self.resource.clone(),
            tls: self.tls.clone(),
            timeout: self.timeout,
            grace: self.grace,
        }
    }
}

/// A connection to try, and its kind.
struct Candidate {
    uri: String,
    connection: ResourceConnection,
    /// 0 local, 1 remote, 2 relay: lower is better.
    kind: u8,
}

/// The connections to try, best kind first (plex.tv's order within a kind), each URI
/// once, at most [`MAX_TRIED`].
fn candidates(resource: &ServerResource) -> Vec<Candidate> {
    let mut list: Vec<Candidate> = Vec::new();
    // A shared server's local addresses are its owner's network's, not ours.
    let elsewhere = !resource.owned() && !resource.public_address_matches();
    for c in resource.connections() {
        let uri = c.uri.trim().trim_end_matches('/').to_owned();
        if (c.local && !c.relay && elsewhere) || list.iter().any(|l| l.uri == uri) {
            continue;
        }
        let kind = match (c.relay, c.local) {
            (true, _) => 2,
            (false, true) => 0,
            (false, false) => 1,
        };
        list.push(Candidate {
            uri,
            connection: c.clone(),
            kind,
        });
    }
    list.sort_by_key(|c| c.kind);
    list.truncate(MAX_TRIED);
    list
}

/// One connection's attempt, on a thread of its own.
struct Attempt {
    connector: ResourceConnector,
    candidates: Arc<Vec<Candidate>>,
    i: usize,
    stop: Stop,
    deadline: Instant,
}

impl Attempt {
    fn run(&self) -> Outcome {
        let candidate = &self.candidates[self.i];
        let resource = &self.connector.resource;
        let secrets = [
            resource.access_token(),
            resource.site.connector.token.expose(),
        ];
        let mut tried = Vec::new();
        let mut uri = candidate.uri.clone();
        let mut tls = self.connector.tls.clone();
        if let Some((host, port)) = plex_direct(&uri) {
            // Resolved here, to tell a name that does not resolve from other failures.
            if let Err(e) = (host.as_str(), port).to_socket_addrs().and_then(|mut a| {
                a.next()
                    .map(drop)
                    .ok_or_else(|| std::io::Error::other("the name resolved to no address"))
            }) {
                let error = Error::Connect {
                    target: format!("{host}:{port}"),
                    source: Arc::new(e),
                };
                tried.push((uri.clone(), error.redact_all(&secrets)));
                match by_address(&candidate.connection, port) {
                    Some(fallback) => uri = fallback,
                    None => return Err(tried),
                }
                tls = tls.accept_hostname_mismatch(true);
            }
        }
        let left = self.deadline.saturating_duration_since(Instant::now());
        let attempt = PlexServer::builder(&uri)
            .token(resource.access_token())
            .client(resource.site.options.client.clone())
            .tls(tls)
            .also_redact(resource.site.connector.token.expose())
            .attempt(self.stop.clone(), left.max(Duration::from_millis(1)))
            .connect();
        match attempt {
            Ok(server) if server.machine_identifier() == resource.machine_identifier() => {
                Ok(server)
            }
            Ok(server) => {
                server.stop();
                let error = Error::WrongServer {
                    expected: resource.machine_identifier().to_owned(),
                    found: crate::error::foreign(server.machine_identifier()),
                };
                tried.push((uri, error.redact_all(&secrets)));
                Err(tried)
            }
            Err(error) => {
                tried.push((uri, error));
                Err(tried)
            }
        }
    }
}

/// The host and port of an `https://*.plex.direct` URI.
fn plex_direct(uri: &str) -> Option<(String, u16)> {
    let rest = uri.strip_prefix("https://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) => (host, port.parse().ok()?),
        None => (authority, 443),
    };
    host.to_ascii_lowercase()
        .ends_with(".plex.direct")
        .then(|| (host.to_owned(), port))
}

/// The connection's address as a URI, `https://{address}:{port}`: where its plex.direct
/// name points.
fn by_address(connection: &ResourceConnection, port: u16) -> Option<String> {
    let address: std::net::IpAddr = connection.address.trim().parse().ok()?;
    let port = connection.port.unwrap_or(port);
    Some(match address {
        std::net::IpAddr::V4(v4) => format!("https://{v4}:{port}"),
        std::net::IpAddr::V6(v6) => format!("https://[{v6}]:{port}"),
    })
}

impl fmt::Debug for ResourceConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResourceConnector")
            .field("resource", &self.resource)
            .field("tls", &self.tls)
            .field("timeout", &self.timeout)
            .field("grace", &self.grace)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plex_direct_uri_gives_its_host_and_port_and_its_address_a_fallback() {
        let uri = "https://192-168-1-5.0123abcd.plex.direct:32400";
        let (host, port) = plex_direct(uri).unwrap();
        assert_eq!(
            (host.as_str(), port),
            ("192-168-1-5.0123abcd.plex.direct", 32400)
        );
        assert_eq!(plex_direct("https://a.b.PLEX.DIRECT/").unwrap().1, 443);
        assert!(plex_direct("http://192-168-1-5.x.plex.direct:32400").is_none());
        assert!(plex_direct("https://plex.direct.example.com:32400").is_none());
        let mut c = ResourceConnection {
            address: "192.168.1.5".into(),
            ..ResourceConnection::default()
        };
        assert_eq!(by_address(&c, 32400).unwrap(), "https://192.168.1.5:32400");
        c.address = "fd00::5".into();
        c.port = Some(8443);
        assert_eq!(by_address(&c, 32400).unwrap(), "https://[fd00::5]:8443");
        c.address = "not an address".into();
        assert!(by_address(&c, 32400).is_none());
    }
}
