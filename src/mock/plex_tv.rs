//! [`MockPlexTv`]: a small plex.tv beside a [`MockServer`], for the sign-in (PINs a test
//! approves or lets expire, a user) and the account's servers (the mock server with
//! connections good and bad, and a shared server).

use std::fmt;
use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::stop::lock;

use super::wire::{MockStream, read_request, respond_with};
use super::{Fault, MockServer, MockUser, RecordedRequest};

/// The token of the account a [`MockPlexTv`] signs in.
pub const ACCOUNT_TOKEN: &str = "mock-account-token-9876543210";

/// The name plex.tv gives the shared server of a [`MockPlexTv`].
pub const SHARED_SERVER: &str = "Shared mock";

/// A small plex.tv on `127.0.0.1`, for testing a sign-in and finding a server end to end,
/// with [`PinLogin`](crate::PinLogin), [`PlexAccount`](crate::PlexAccount) and
/// [`ServerResource::connect`](crate::ServerResource::connect) given its
/// [`url`](Self::url).
///
/// It serves what those ask plex.tv for, as plex.tv answers (JSON, the app's
/// `X-Plex-Client-Identifier` required on every request: 400 without):
///
/// - `POST /api/v2/pins` (201): a PIN, 25 characters with `strong=true`, that holds 30
///   minutes ([`set_pin_lifetime`](Self::set_pin_lifetime)); `GET /api/v2/pins/{id}`
///   (for the client that made it: 404 for another): the PIN, with `authToken` once a
///   test [`approve`](Self::approve)s it, 404 once it expires or a test
///   [`expire`](Self::expire)s it. [`wait_for_pin`](Self::wait_for_pin) finds it,
///   [`polls`](Self::polls) counts the requests for it.
/// - `GET /api/v2/user`: the account (`mockuser`) for [`token`](Self::token), 401 for
///   any other.
/// - `GET /api/v2/resources`: for the account's token (401 for any other), three
///   resources: the server given to [`start`](Self::start), named `plex-alerts mock`,
///   owned, its token the server's own, with five connections (a relay one, listed
///   only with `includeRelay=1`, at `http://localhost:{port}`; a remote one whose port
///   is closed; a local one where **another server** answers, accepting the same token;
///   a local one that **hangs**, accepting connections and answering nothing; and the
///   server's own [`url`](MockServer::url), local); a server shared with the account
///   ([`SHARED_SERVER`]: [`shared`](Self::shared), not owned, its token a
///   [`MockUser`]'s of it, [`shared_user`](Self::shared_user)); and a player, which
///   provides no `server`. [`set_resources`](Self::set_resources) answers anything
///   else instead.
///
/// ```
/// # fn main() -> Result<(), plex_alerts::Error> {
/// use std::time::Duration;
/// use plex_alerts::mock::{MockPlexTv, MockServer};
/// use plex_alerts::{Client, PinLogin};
///
/// let server = MockServer::start();
/// let plex_tv = MockPlexTv::start(&server);
/// let client = Client::new("My App", "my-app-test");
/// let pin = PinLogin::builder(&client).plex_tv(plex_tv.url()).start()?;
/// assert!(plex_tv.approve(pin.code())); // the user, at plex.tv
/// let account = pin.wait(Duration::from_secs(10))?;
/// let plex = account.server("plex-alerts mock")?.connect()?;
/// assert_eq!(plex.url(), server.url()); // the local connection that works
/// # Ok(())
/// # }
/// ```
pub struct MockPlexTv {
    inner: Arc<Tv>,
    accept: Option<JoinHandle<()>>,
    /// The servers it lists beside the given one, alive as long as it is.
    impostor: MockServer,
    shared: MockServer,
    shared_user: MockUser,
    hanging: MockServer,
}

/// What the accept loop and the tests share.
struct Tv {
    addr: SocketAddr,
    accepting: AtomicBool,
    state: Mutex<State>,
    changed: Condvar,
}

struct State {
    pins: Vec<Pin>,
    pin_lifetime: Duration,
    resources: Value,
    /// What `/api/v2/resources` answers instead, as is.
    resources_body: Option<String>,
    requests: Vec<RecordedRequest>,
}

struct Pin {
    id: u64,
    code: String,
    client: String,
    created: std::time::SystemTime,
    expires: Instant,
    lifetime: Duration,
    approved: bool,
    expired: bool,
    polls: usize,
}

impl Pin {
    fn alive(&self) -> bool {
        !self.expired && Instant::now() < self.expires
    }
}

impl MockPlexTv {
    /// Starts a plex.tv whose account owns `server` (and has a server shared with it):
    /// see the [type's docs](Self) for what it lists.
    ///
    /// # Panics
    /// If no port of 127.0.0.1 can be bound (a test helper).
    pub fn start(server: &MockServer) -> MockPlexTv {
        let impostor = MockServer::builder()
            .token(server.token())
            .start()
            .expect("the mock plex.tv's other server could not listen");
        let shared = MockServer::start();
        let shared_user = shared.add_user("mockuser");
        let hanging = MockServer::start();
        hanging.set_fault(Fault::Silent);
        let closed = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a closed port")
            .port();
        let port = server.addr().port();
        let connections = vec![
            connection(&format!("http://localhost:{port}"), port, false, true),
            connection(&format!("http://127.0.0.1:{closed}"), closed, false, false),
            connection(&impostor.url(), impostor.addr().port(), true, false),
            connection(&hanging.url(), hanging.addr().port(), true, false),
            connection(&server.url(), port, true, false),
        ];
        let home = resource(
            server,
            "plex-alerts mock",
            true,
            &server.token(),
            connections,
        );
        let shared_port = shared.addr().port();
        let shared_connections = vec![connection(&shared.url(), shared_port, true, false)];
        let away = resource(
            &shared,
            SHARED_SERVER,
            false,
            shared_user.token(),
            shared_connections,
        );
        let player = json!({
            "name": "Living Room TV", "product": "Plex for Android (TV)",
            "productVersion": "10.1", "platform": "Android",
            "clientIdentifier": "mock-player-resource", "provides": "client,player",
            "owned": true, "accessToken": null, "connections": []
        });
        let listener =
            super::bind(SocketAddr::from(([127, 0, 0, 1], 0))).expect("the mock plex.tv");
        let inner = Arc::new(Tv {
            addr: listener.local_addr().expect("the mock plex.tv's address"),
            accepting: AtomicBool::new(true),
            state: Mutex::new(State {
                pins: Vec::new(),
                pin_lifetime: Duration::from_secs(1800),
                resources: json!([home, away, player]),
                resources_body: None,
                requests: Vec::new(),
            }),
            changed: Condvar::new(),
        });
        let accept = Tv::serve(&inner, listener).expect("the mock plex.tv's thread");
        MockPlexTv {
            inner,
            accept: Some(accept),
            impostor,
            shared,
            shared_user,
            hanging,
        }
    }

    /// Its base URL, `http://127.0.0.1:<port>`: give it to
    /// [`PinLoginBuilder::plex_tv`](crate::PinLoginBuilder::plex_tv) and
    /// [`PlexAccountBuilder::plex_tv`](crate::PlexAccountBuilder::plex_tv).
    pub fn url(&self) -> String {
        format!("http://{}", self.inner.addr)
    }

    /// The account's token ([`ACCOUNT_TOKEN`]): what an approved PIN carries.
    pub fn token(&self) -> String {
        ACCOUNT_TOKEN.to_owned()
    }

    /// The server shared with the account ([`SHARED_SERVER`]).
    pub fn shared(&self) -> &MockServer {
        &self.shared
    }

    /// The account, as a user of the shared server: its token is that server's access
    /// token.
    pub fn shared_user(&self) -> &MockUser {
        &self.shared_user
    }

    /// The other server, which answers at one of the owned server's connections.
    pub fn impostor(&self) -> &MockServer {
        &self.impostor
    }

    /// The server that hangs, at another of the owned server's connections: it accepts
    /// connections and answers nothing ([`Fault::Silent`]).
    pub fn hanging(&self) -> &MockServer {
        &self.hanging
    }

    /// Approves the PIN with this code, as the account's user would at plex.tv: its next
    /// poll carries the token. False if no PIN has that code, or it expired.
    pub fn approve(&self, code: &str) -> bool {
        self.with_pin(code, |pin| pin.approved = true)
    }

    /// Lets the PIN with this code expire now: it is 404 from then on. False if no PIN
    /// has that code.
    pub fn expire(&self, code: &str) -> bool {
        let mut state = lock(&self.inner.state);
        let found = state.pins.iter_mut().find(|p| p.code == code);
        found.map(|pin| pin.expired = true).is_some()
    }

    /// PINs made from now on hold this long (30 minutes by default), said in whole
    /// seconds, at least one.
    pub fn set_pin_lifetime(&self, lifetime: Duration) {
        lock(&self.inner.state).pin_lifetime = Duration::from_secs(lifetime.as_secs().max(1));
    }

    /// How many times the PIN with this code has been asked about
    /// (`GET /api/v2/pins/{id}`).
    pub fn polls(&self, code: &str) -> usize {
        let state = lock(&self.inner.state);
        state
            .pins
            .iter()
            .find(|p| p.code == code)
            .map_or(0, |p| p.polls)
    }

    /// Waits for a PIN that is neither approved nor expired, the newest; its code, or
    /// `None` on timeout. What a test (or a story) approves.
    pub fn wait_for_pin(&self, timeout: Duration) -> Option<String> {
        self.wait(timeout, |state| {
            let pin = state.pins.iter().rev().find(|p| p.alive() && !p.approved);
            pin.map(|p| p.code.clone())
        })
    }

    /// Waits until `done` holds of the requests received so far; false on timeout.
    pub fn wait_for_requests(
        &self,
        timeout: Duration,
        done: impl Fn(&[RecordedRequest]) -> bool,
    ) -> bool {
        self.wait(timeout, |state| done(&state.requests).then_some(()))
            .is_some()
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.inner.state).requests.clone()
    }

    /// The resources `/api/v2/resources` lists now, as JSON: to change and give back
    /// with [`set_resources`](Self::set_resources).
    pub fn resources(&self) -> Value {
        lock(&self.inner.state).resources.clone()
    }

    /// Answers `/api/v2/resources` (for the account's token) with this body from now on,
    /// as it is: any JSON, or anything at all.
    pub fn set_resources(&self, body: impl Into<String>) {
        lock(&self.inner.state).resources_body = Some(body.into());
    }

    fn with_pin(&self, code: &str, change: impl FnOnce(&mut Pin)) -> bool {
        let mut state = lock(&self.inner.state);
        let found = state.pins.iter_mut().find(|p| p.code == code && p.alive());
        let changed = found.map(change).is_some();
        self.inner.changed.notify_all();
        changed
    }

    fn wait<T>(&self, timeout: Duration, found: impl Fn(&State) -> Option<T>) -> Option<T> {
        let deadline = Instant::now() + timeout;
        let mut state = lock(&self.inner.state);
        loop {
            if let Some(found) = found(&state) {
                return Some(found);
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            state = self
                .inner
                .changed
                .wait_timeout(state, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }
}

impl Tv {
    fn serve(tv: &Arc<Tv>, listener: TcpListener) -> io::Result<JoinHandle<()>> {
        let tv = Arc::clone(tv);
        thread::Builder::new()
            .name("mock-plex-tv".into())
            .spawn(move || {
                for stream in listener.incoming() {
                    if !tv.accepting.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let tv = Arc::clone(&tv);
                    let _ = thread::Builder::new()
                        .name("mock-plex-tv-conn".into())
                        .spawn(move || tv.connection(stream));
                }
            })
    }

    fn connection(&self, tcp: TcpStream) {
        let _ = tcp.set_read_timeout(Some(Duration::from_secs(10)));
        let mut stream = MockStream::Plain(tcp);
        let Ok((request, _)) = read_request(&mut stream) else {
            return;
        };
        let (status, body) = self.answer(&request);
        {
            let mut state = lock(&self.state);
            state.requests.push(request);
        }
        self.changed.notify_all();
        let _ = respond_with(&mut stream, status, "application/json", &[], &body);
    }

    fn answer(&self, request: &RecordedRequest) -> (u16, String) {
        let error = |status: u16, code: u32, message: &str| {
            let body = json!({"errors": [{"code": code, "message": message, "status": status}]});
            (status, body.to_string())
        };
        let Some(client) = request.header("X-Plex-Client-Identifier") else {
            return error(400, 1000, "X-Plex-Client-Identifier is missing");
        };
        let token = request
            .header("X-Plex-Token")
            .or(request.query("X-Plex-Token"));
        let signed_in = token == Some(ACCOUNT_TOKEN);
        let mut state = lock(&self.state);
        match (request.method.as_str(), request.path.as_str()) {
            ("POST", "/api/v2/pins") => {
                let strong = request.query("strong") == Some("true");
                let id = 1000 + state.pins.len() as u64;
                let lifetime = state.pin_lifetime;
                let pin = Pin {
                    id,
                    code: code(id, if strong { 25 } else { 4 }),
                    client: client.to_owned(),
                    created: std::time::SystemTime::now(),
                    expires: Instant::now() + lifetime,
                    lifetime,
                    approved: false,
                    expired: false,
                    polls: 0,
                };
                let body = pin_json(&pin).to_string();
                state.pins.push(pin);
                self.changed.notify_all();
                (201, body)
            }
            ("GET", path) if path.starts_with("/api/v2/pins/") => {
                let id = path["/api/v2/pins/".len()..].parse::<u64>().ok();
                let pin = state
                    .pins
                    .iter_mut()
                    .find(|p| Some(p.id) == id && p.client == client);
                match pin {
                    Some(pin) => {
                        pin.polls += 1;
                        self.changed.notify_all();
                        match pin.alive() {
                            true => (200, pin_json(pin).to_string()),
                            false => error(404, 1020, "Code not found or expired"),
                        }
                    }
                    None => error(404, 1020, "Code not found or expired"),
                }
            }
            ("GET", "/api/v2/user" | "/api/v2/resources") if !signed_in => {
                error(401, 1001, "User could not be authenticated")
            }
            ("GET", "/api/v2/user") => (
                200,
                json!({
                    "id": 1, "uuid": "mock-account-0001", "username": "mockuser",
                    "title": "Mock User", "email": "mockuser@example.com",
                    "thumb": "https://plex.tv/users/mock-account-0001/avatar",
                    "authToken": ACCOUNT_TOKEN, "subscription": {"active": true},
                    "locale": null, "twoFactorEnabled": false
                })
                .to_string(),
            ),
            ("GET", "/api/v2/resources") => match &state.resources_body {
                Some(body) => (200, body.clone()),
                None => {
                    let relay = request.query("includeRelay") == Some("1");
                    let mut resources = state.resources.clone();
                    if !relay {
                        for r in resources.as_array_mut().into_iter().flatten() {
                            if let Some(list) = r["connections"].as_array_mut() {
                                list.retain(|c| c["relay"] != true);
                            }
                        }
                    }
                    (200, resources.to_string())
                }
            },
            _ => error(404, 1002, "Not found"),
        }
    }
}

/// A PIN as plex.tv sends it.
fn pin_json(pin: &Pin) -> Value {
    let created = pin
        .created
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let lifetime = pin.lifetime.as_secs();
    // What is left of it, in whole seconds rounded up: all of it when it is made.
    let left = pin
        .expires
        .saturating_duration_since(Instant::now())
        .as_secs_f64()
        .ceil() as u64;
    json!({
        "id": pin.id, "code": pin.code, "product": "0", "trusted": false, "qr": "",
        "clientIdentifier": pin.client, "location": {"code": "XX"},
        "expiresIn": left,
        "createdAt": created, "expiresAt": created + lifetime,
        "authToken": if pin.approved { Value::from(ACCOUNT_TOKEN) } else { Value::Null },
        "newRegistration": null
    })
}

/// A code of `len` letters and digits, different for each PIN.
fn code(id: u64, len: usize) -> String {
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mut x = id ^ nanos ^ u64::from(std::process::id()) << 32;
    (0..len)
        .map(|_| {
            // xorshift: different enough for a mock.
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            CHARS[(x % CHARS.len() as u64) as usize] as char
        })
        .collect()
}

/// A connection as plex.tv lists it.
fn connection(uri: &str, port: u16, local: bool, relay: bool) -> Value {
    json!({
        "protocol": "http", "address": "127.0.0.1", "port": port, "uri": uri,
        "local": local, "relay": relay, "IPv6": false
    })
}

/// A server as plex.tv lists it.
fn resource(
    server: &MockServer,
    name: &str,
    owned: bool,
    token: &str,
    connections: Vec<Value>,
) -> Value {
    let version = lock(&server.inner.model).version.clone();
    json!({
        "name": name, "product": "Plex Media Server", "productVersion": version,
        "platform": "Linux", "platformVersion": "6.1", "device": "PC",
        "clientIdentifier": server.inner.machine_identifier(),
        "createdAt": "2024-01-01T00:00:00Z", "lastSeenAt": "2026-01-01T00:00:00Z",
        "provides": "server", "ownerId": if owned { Value::Null } else { Value::from(2) },
        "sourceTitle": if owned { Value::Null } else { Value::from("someone") },
        "publicAddress": "203.0.113.7", "accessToken": token, "owned": owned,
        "home": false, "synced": false, "relay": true, "presence": true,
        "httpsRequired": false, "publicAddressMatches": true, "dnsRebindingProtection": false,
        "natLoopbackSupported": false, "connections": connections
    })
}

impl MockServer {
    /// The server's machine identifier, as `GET /` and `/identity` say it.
    pub fn machine_identifier(&self) -> String {
        self.inner.machine_identifier()
    }
}

impl Drop for MockPlexTv {
    fn drop(&mut self) {
        self.inner.accepting.store(false, Ordering::SeqCst);
        // Wakes the blocked accept(), which then sees the flag and ends.
        let _ = TcpStream::connect_timeout(&self.inner.addr, Duration::from_secs(1));
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

impl fmt::Debug for MockPlexTv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockPlexTv")
            .field("addr", &self.inner.addr)
            .finish_non_exhaustive()
    }
}
