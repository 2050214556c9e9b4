//! Signing in at plex.tv and finding a server, end to end against the mock plex.tv: the
//! PIN (approved, expired, timed out, stopped), the account (its user, its servers, a
//! wrong token, answers of any shape and size) and the connection race (the best kind
//! that answers as the server, never the slow one's wait, a name that does not resolve,
//! what was tried when nothing works, with no token in it).

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::thread;
use std::time::{Duration, Instant};

use common::*;
use plex_alerts::mock::{ACCOUNT_TOKEN, MockPlexTv, MockServer, RecordedRequest, SHARED_SERVER};
use plex_alerts::{Client, Error, Phase, PinLogin, PlexAccount, PlexServer, TlsOptions};
use serde_json::{Value, json};

const CLIENT_ID: &str = "plex-alerts-tests-account";

fn client() -> Client {
    Client::new("plex-alerts tests", CLIENT_ID)
}

fn world() -> (MockServer, MockPlexTv) {
    let server = MockServer::start();
    let plex_tv = MockPlexTv::start(&server);
    (server, plex_tv)
}

fn pin(plex_tv: &MockPlexTv) -> PinLogin {
    PinLogin::builder(&client())
        .plex_tv(plex_tv.url())
        .start()
        .unwrap()
}

fn account(plex_tv: &MockPlexTv) -> PlexAccount {
    PlexAccount::builder(&client(), plex_tv.token())
        .plex_tv(plex_tv.url())
        .connect()
        .unwrap()
}

/// Waits for `pin` on a thread of its own; its result, and how long it took, come on
/// the channel.
fn waiting(
    pin: &PinLogin,
    timeout: Duration,
) -> crossbeam_channel::Receiver<(Result<PlexAccount, Error>, Duration)> {
    let (tx, rx) = crossbeam_channel::bounded(1);
    let pin = pin.clone();
    thread::spawn(move || {
        let started = Instant::now();
        let result = pin.wait(timeout);
        let _ = tx.send((result, started.elapsed()));
    });
    rx
}

fn is_poll(r: &RecordedRequest) -> bool {
    r.method == "GET" && r.path.starts_with("/api/v2/pins/")
}

fn polls(requests: &[RecordedRequest]) -> usize {
    requests.iter().filter(|r| is_poll(r)).count()
}

#[test]
fn an_approved_pin_gives_the_account_polled_once_a_second() {
    let (_server, plex_tv) = world();
    let pin = pin(&plex_tv);
    assert_eq!(pin.code().len(), 25, "a strong PIN");
    assert_eq!(
        pin.link(),
        format!(
            "https://app.plex.tv/auth#?clientID={CLIENT_ID}&code={}\
             &context%5Bdevice%5D%5Bproduct%5D=plex-alerts%20tests",
            pin.code()
        )
    );
    assert!(pin.expires_in() > Duration::from_secs(1700));
    let made = &plex_tv.requests()[0];
    assert_eq!(
        (made.method.as_str(), made.path.as_str()),
        ("POST", "/api/v2/pins")
    );
    assert_eq!(made.query("strong"), Some("true"));
    assert_eq!(made.header("X-Plex-Client-Identifier"), Some(CLIENT_ID));
    assert_eq!(made.header("X-Plex-Product"), Some("plex-alerts tests"));
    assert!(made.header("Accept").unwrap().contains("application/json"));
    assert_eq!(made.header("X-Plex-Token"), None);

    let result = waiting(&pin, Duration::from_secs(30));
    // The user approves after the app has asked three times.
    assert!(plex_tv.wait_for_requests(HANG_GUARD, |r| polls(r) >= 3));
    assert!(plex_tv.approve(pin.code()));
    let (account, took) = result.recv_timeout(HANG_GUARD).unwrap();
    let account = account.unwrap();
    assert_eq!(account.token(), ACCOUNT_TOKEN);
    assert_eq!(account.user().username.as_deref(), Some("mockuser"));
    // Three polls before the approval, one after: a second apart, no faster.
    assert_eq!(plex_tv.polls(pin.code()), 4);
    assert!(took >= Duration::from_millis(2900), "{took:?}");
    let requests = plex_tv.requests();
    for poll in requests.iter().filter(|r| is_poll(r)) {
        assert_eq!(poll.header("X-Plex-Client-Identifier"), Some(CLIENT_ID));
        assert_eq!(poll.header("X-Plex-Token"), None);
    }
    // The account's token is checked with plex.tv at once.
    let user = requests.last().unwrap();
    assert_eq!(user.path, "/api/v2/user");
    assert_eq!(user.header("X-Plex-Token"), Some(ACCOUNT_TOKEN));
    assert!(!format!("{account:?} {pin:?}").contains(ACCOUNT_TOKEN));
}

#[test]
fn a_pin_that_expires_ends_the_wait_with_pin_expired() {
    let (_server, plex_tv) = world();
    // plex.tv forgets it while the app waits: the next poll is 404.
    let pin = pin(&plex_tv);
    let result = waiting(&pin, Duration::from_secs(60));
    assert!(plex_tv.wait_for_requests(HANG_GUARD, |r| polls(r) >= 1));
    let expired = Instant::now();
    assert!(plex_tv.expire(pin.code()));
    let (account, _) = result.recv_timeout(HANG_GUARD).unwrap();
    assert!(matches!(account, Err(Error::PinExpired)), "{account:?}");
    assert!(expired.elapsed() < Duration::from_secs(3));
    assert!(!plex_tv.approve(pin.code()), "too late");

    // Its lifetime runs out while the app waits: the wait ends then, not at its timeout.
    plex_tv.set_pin_lifetime(Duration::from_secs(1));
    let pin = self::pin(&plex_tv);
    assert!(pin.expires_in() <= Duration::from_secs(1));
    let (account, took) = waiting(&pin, Duration::from_secs(60))
        .recv_timeout(HANG_GUARD)
        .unwrap();
    let error = account.unwrap_err();
    assert!(matches!(error, Error::PinExpired), "{error:?}");
    assert!(took < Duration::from_secs(4), "{took:?}");
    assert!(error.to_string().contains("start a new one"), "{error}");
    assert!(!error.is_retryable());
}

#[test]
fn a_wait_that_times_out_can_wait_again() {
    let (_server, plex_tv) = world();
    let pin = pin(&plex_tv);
    let started = Instant::now();
    let error = pin.wait(Duration::from_millis(1200)).unwrap_err();
    assert!(
        matches!(error, Error::Timeout { phase: Phase::Approval, after } if after == Duration::from_millis(1200)),
        "{error:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(error.is_retryable());
    assert!(plex_tv.approve(pin.code()));
    let account = pin.wait(Duration::from_secs(10)).unwrap();
    assert_eq!(account.token(), ACCOUNT_TOKEN);
}

#[test]
fn stop_ends_a_wait_at_once() {
    let (_server, plex_tv) = world();
    let pin = pin(&plex_tv);
    let result = waiting(&pin, Duration::from_secs(60));
    assert!(plex_tv.wait_for_requests(HANG_GUARD, |r| polls(r) >= 1));
    let stopped = Instant::now();
    pin.stop();
    let (account, _) = result.recv_timeout(HANG_GUARD).unwrap();
    assert!(matches!(account, Err(Error::Stopped)), "{account:?}");
    assert!(
        stopped.elapsed() < Duration::from_millis(500),
        "{:?}",
        stopped.elapsed()
    );
    let polled = plex_tv.polls(pin.code());
    assert!(matches!(
        pin.wait(Duration::from_secs(60)),
        Err(Error::Stopped)
    ));
    assert_eq!(plex_tv.polls(pin.code()), polled, "no poll once stopped");
}

#[test]
fn a_failing_plex_tv_is_asked_again_and_its_last_word_is_the_error() {
    // A plex.tv that makes the PIN, answers its first poll 503 asking for 2 s, then
    // gives the token; and one that fails every poll.
    let raw = |fail_every_poll: bool| {
        let polls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let answer = move |request: &str, stream: &mut TcpStream| {
            let (status, extra, body) = if request.starts_with("POST /api/v2/pins") {
                (201, "", json!({"id": 7, "code": "c0de", "expiresIn": 600}))
            } else if request.starts_with("GET /api/v2/user") {
                (200, "", json!({"id": 1, "username": "raw"}))
            } else if fail_every_poll
                || polls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0
            {
                (503, "Retry-After: 2\r\n", json!({}))
            } else {
                (
                    200,
                    "",
                    json!({"id": 7, "code": "c0de", "authToken": "raw-approved-token"}),
                )
            };
            let body = body.to_string();
            let head = format!(
                "HTTP/1.1 {status} X\r\n{extra}Content-Length: {}\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(format!("{head}{body}").as_bytes());
        };
        writing_server(10, answer)
    };
    let (url, _server) = raw(false);
    let pin = PinLogin::builder(&client()).plex_tv(url).start().unwrap();
    let started = Instant::now();
    let account = pin.wait(Duration::from_secs(20)).unwrap();
    assert_eq!(account.token(), "raw-approved-token");
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(1900),
        "it waited as asked: {took:?}"
    );
    assert!(took < Duration::from_secs(5), "{took:?}");

    let (url, _server) = raw(true);
    let pin = PinLogin::builder(&client()).plex_tv(url).start().unwrap();
    let error = pin.wait(Duration::from_millis(2500)).unwrap_err();
    assert!(
        matches!(error, Error::HttpStatus { status: 503, .. }),
        "plex.tv's last word, not a bare timeout: {error:?}"
    );
}

/// What an app shares between threads: the stop of a wait, a server to connect to.
#[test]
fn the_sign_in_types_can_be_shared_between_threads() {
    fn shareable<T: Send + Sync + 'static>() {}
    shareable::<PinLogin>();
    shareable::<PlexAccount>();
    shareable::<plex_alerts::ServerResource>();
    shareable::<plex_alerts::ResourceConnector>();
    shareable::<MockPlexTv>();
}

#[test]
fn the_client_must_be_the_apps_own() {
    let (_server, plex_tv) = world();
    for shared in [Client::default(), Client::new("My App", " ")] {
        let error = PinLogin::builder(&shared)
            .plex_tv(plex_tv.url())
            .start()
            .unwrap_err();
        assert!(matches!(error, Error::InvalidConfig { .. }), "{error:?}");
        assert!(error.to_string().contains("client identifier"), "{error}");
        let error = PlexAccount::builder(&shared, plex_tv.token())
            .plex_tv(plex_tv.url())
            .connect()
            .unwrap_err();
        assert!(matches!(error, Error::InvalidConfig { .. }), "{error:?}");
    }
    assert!(plex_tv.requests().is_empty(), "nothing was sent");
}

#[test]
fn a_wrong_token_is_unauthorized_and_never_shown() {
    let (_server, plex_tv) = world();
    let secret = "wrong-token-0123456789";
    let builder = PlexAccount::builder(&client(), secret).plex_tv(plex_tv.url());
    assert!(!format!("{builder:?}").contains(secret));
    let error = builder.connect().unwrap_err();
    assert!(
        matches!(error, Error::Unauthorized { status: 401 }),
        "{error:?}"
    );
    assert!(error.to_string().contains("sign in again"), "{error}");
    assert!(!format!("{error} {error:?}").contains(secret));
    let user = plex_tv.requests().pop().unwrap();
    assert_eq!(user.header("X-Plex-Token"), Some(secret), "as a header");
    assert_eq!(user.query("X-Plex-Token"), None, "not in the URL");
}

#[test]
fn the_account_has_its_user_and_servers_each_with_its_own_token() {
    let (server, plex_tv) = world();
    let account = account(&plex_tv);
    let user = account.user();
    assert_eq!(user.id, Some(1));
    assert_eq!(user.title.as_deref(), Some("Mock User"));
    assert_eq!(user.email.as_deref(), Some("mockuser@example.com"));

    let servers = account.servers().unwrap();
    let names: Vec<&str> = servers.iter().map(|s| s.name()).collect();
    assert_eq!(
        names,
        ["plex-alerts mock", SHARED_SERVER],
        "the player is left out"
    );
    let (home, shared) = (&servers[0], &servers[1]);
    assert!(home.owned() && !shared.owned());
    assert_eq!(home.machine_identifier(), server.machine_identifier());
    assert_eq!(home.access_token(), server.token());
    assert_eq!(home.product(), "Plex Media Server");
    assert_eq!(home.connections().len(), 5, "the relay included");
    assert_eq!(
        shared.machine_identifier(),
        plex_tv.shared().machine_identifier()
    );
    assert_eq!(shared.access_token(), plex_tv.shared_user().token());

    let asked = plex_tv.requests().pop().unwrap();
    assert_eq!(asked.path, "/api/v2/resources");
    assert_eq!(asked.query("includeHttps"), Some("1"));
    assert_eq!(asked.query("includeRelay"), Some("1"));
    assert_eq!(asked.header("X-Plex-Token"), Some(ACCOUNT_TOKEN));
    assert_eq!(asked.header("X-Plex-Client-Identifier"), Some(CLIENT_ID));

    // Each server is reached with its own token.
    let plex = account.server(SHARED_SERVER).unwrap().connect().unwrap();
    assert_eq!(plex.url(), plex_tv.shared().url());
    let root = plex_tv.shared().requests().pop().unwrap();
    assert_eq!(
        root.header("X-Plex-Token"),
        Some(plex_tv.shared_user().token())
    );
    assert_eq!(root.header("X-Plex-Client-Identifier"), Some(CLIENT_ID));

    let printed = format!("{account:?} {servers:?} {plex:?}");
    for token in [
        ACCOUNT_TOKEN,
        &server.token(),
        plex_tv.shared_user().token(),
    ] {
        assert!(!printed.contains(token), "{printed}");
    }
}

#[test]
fn a_server_is_found_by_name_in_any_case_or_by_machine_identifier() {
    let (server, plex_tv) = world();
    let account = account(&plex_tv);
    assert_eq!(
        account.server("PLEX-ALERTS Mock").unwrap().name(),
        "plex-alerts mock"
    );
    let id = server.machine_identifier();
    assert_eq!(account.server(&id).unwrap().machine_identifier(), id);
    let error = account.server("Den").unwrap_err();
    let Error::NoSuchServer { name, servers } = &error else {
        panic!("{error:?}")
    };
    assert_eq!(
        (name.as_str(), servers.as_slice()),
        (
            "Den",
            &["plex-alerts mock".to_owned(), SHARED_SERVER.to_owned()][..]
        )
    );
    assert_eq!(
        error.to_string(),
        r#"the account has no server named "Den"; it has "plex-alerts mock", "Shared mock""#
    );
}

#[test]
fn resources_are_read_leniently_whatever_their_fields_and_types() {
    let (_server, plex_tv) = world();
    let account = account(&plex_tv);
    plex_tv.set_resources(
        json!([
            null, 5, "text", [],
            {
                "name": 42, "clientIdentifier": 12345, "provides": "client, server ,player",
                "owned": "1", "accessToken": 777, "publicAddressMatches": "0",
                "httpsRequired": 1, "productVersion": 1.5, "unknown": {"nested": [1, {}]},
                "connections": [
                    {"uri": "http://127.0.0.1:1", "port": "32400", "local": "1", "relay": 0,
                     "IPv6": "true", "protocol": "http", "address": "127.0.0.1", "extra": true},
                    {"port": 1}, "not a connection", {"uri": ""}, null,
                    {"uri": "http://h:2", "port": 99_999_999, "local": null, "relay": "maybe"}
                ]
            },
            {"name": "one connection", "clientIdentifier": "m2", "provides": "server",
             "connections": {"uri": "http://127.0.0.1:3"}},
            {"name": "no identifier", "provides": "server", "connections": []},
            {"name": "a player", "clientIdentifier": "p", "provides": "player"},
            {"name": "odd provides", "clientIdentifier": "w", "provides": ["server"]}
        ])
        .to_string(),
    );
    let servers = account.servers().unwrap();
    let names: Vec<&str> = servers.iter().map(|s| s.name()).collect();
    assert_eq!(names, ["42", "one connection"]);
    let odd = &servers[0];
    assert_eq!(
        (
            odd.machine_identifier(),
            odd.access_token(),
            odd.product_version()
        ),
        ("12345", "777", "1.5")
    );
    assert!(odd.owned() && odd.https_required() && !odd.public_address_matches());
    let c = odd.connections();
    assert_eq!(c.len(), 2, "{c:?}");
    assert_eq!(
        (c[0].port, c[0].local, c[0].relay, c[0].ipv6),
        (Some(32400), true, false, true)
    );
    assert_eq!(
        (c[1].uri.as_str(), c[1].port, c[1].local, c[1].relay),
        ("http://h:2", None, false, false)
    );
    assert_eq!(servers[1].connections()[0].uri, "http://127.0.0.1:3");
}

#[test]
fn thousands_of_resources_are_read_and_more_than_the_bound_are_too_large() {
    let (_server, plex_tv) = world();
    let account = account(&plex_tv);
    let many = |n: usize| {
        let one = |i: usize| {
            json!({"name": format!("server {i}"), "clientIdentifier": format!("m{i}"),
                   "provides": "server", "owned": i % 2 == 0, "accessToken": format!("t{i}"),
                   "connections": [{"uri": format!("http://10.0.{}.{}:32400", i / 250, i % 250),
                                    "local": true}]})
        };
        Value::from((0..n).map(one).collect::<Vec<_>>()).to_string()
    };
    let too_large = |error: Error| {
        let bound = matches!(
            error,
            Error::AnswerTooLarge {
                what: "items",
                limit: 5000,
                ..
            }
        );
        assert!(bound, "{error:?}");
    };
    plex_tv.set_resources(many(3000));
    assert_eq!(account.servers().unwrap().len(), 3000);
    plex_tv.set_resources(many(6000));
    too_large(account.servers().unwrap_err());

    // A plex.tv (or a proxy) that never ends its list: read up to the bound, no further.
    let user = json!({"id": 1, "username": "raw"}).to_string();
    let (url, _server) = writing_server(2, move |request, stream| {
        if request.starts_with("GET /api/v2/user") {
            let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", user.len());
            let _ = stream.write_all(format!("{head}{user}").as_bytes());
            return;
        }
        let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n[");
        let entry = r#"{"name":"x","clientIdentifier":"m","provides":"server","connections":[]},"#;
        let burst = entry.repeat(1000);
        while stream.write_all(burst.as_bytes()).is_ok() {}
    });
    let account = PlexAccount::builder(&client(), "raw-token")
        .plex_tv(url)
        .connect()
        .unwrap();
    let started = Instant::now();
    too_large(account.servers().unwrap_err());
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn an_answer_that_is_not_json_quotes_no_token() {
    let (_server, plex_tv) = world();
    let account = account(&plex_tv);
    let shared_token = "shared-secret-token-5678";
    plex_tv.set_resources(format!(
        r#"[{{"accessToken": "{shared_token}", "name": "{ACCOUNT_TOKEN}", oops"#
    ));
    let error = account.servers().unwrap_err();
    assert!(matches!(error, Error::BadAnswer { .. }), "{error:?}");
    let text = format!("{error} {error:?}");
    assert!(text.contains("/api/v2/resources"), "{text}");
    assert!(
        !text.contains(shared_token) && !text.contains(ACCOUNT_TOKEN),
        "{text}"
    );
}

/// The resources, with the owned server's connections replaced by `connections`.
fn with_connections(plex_tv: &MockPlexTv, connections: Value) -> String {
    let mut resources = plex_tv.resources();
    resources[0]["connections"] = connections;
    resources.to_string()
}

/// The owned server's connection at `i` of those the mock lists: 0 relay, 1 dead,
/// 2 another server, 3 hanging, 4 local.
fn mock_connection(plex_tv: &MockPlexTv, i: usize) -> Value {
    plex_tv.resources()[0]["connections"][i].clone()
}

fn conn(uri: &str, local: bool, relay: bool) -> Value {
    json!({"protocol": "http", "address": "127.0.0.1", "uri": uri, "local": local, "relay": relay})
}

#[test]
fn connect_takes_the_local_connection_without_waiting_for_the_hanging_one() {
    let (server, plex_tv) = world();
    let account = account(&plex_tv);
    let home = account.server("plex-alerts mock").unwrap();
    let started = Instant::now();
    let plex = home.connect().unwrap();
    let took = started.elapsed();
    assert_eq!(plex.url(), server.url());
    assert_eq!(plex.machine_identifier(), server.machine_identifier());
    // The hanging connection would take the race's whole deadline, 15 s.
    assert!(took < Duration::from_secs(2), "{took:?}");
    eprintln!("connect against the mock's five connections: {took:?}");
    assert!(plex.sessions().unwrap().is_empty(), "a working server");
}

#[test]
fn a_connection_answering_as_another_server_is_refused() {
    let (server, plex_tv) = world();
    let account = account(&plex_tv);
    let impostor = mock_connection(&plex_tv, 2);
    let relay = mock_connection(&plex_tv, 0);
    plex_tv.set_resources(with_connections(&plex_tv, json!([relay, impostor])));
    let plex = account
        .server("plex-alerts mock")
        .unwrap()
        .connect()
        .unwrap();
    assert_eq!(
        plex.url(),
        relay["uri"],
        "the relay, once the other server is refused"
    );
    let asked = plex_tv.impostor().requests().pop().expect("it was asked");
    assert_eq!(asked.header("X-Plex-Token"), Some(server.token().as_str()));

    plex_tv.set_resources(with_connections(&plex_tv, json!([impostor])));
    let error = account
        .server("plex-alerts mock")
        .unwrap()
        .connect()
        .unwrap_err();
    let Error::NoConnection { tried, .. } = &error else {
        panic!("{error:?}")
    };
    assert_eq!(tried.len(), 1);
    assert_eq!(tried[0].0, impostor["uri"]);
    let Error::WrongServer { expected, found } = &tried[0].1 else {
        panic!("{tried:?}")
    };
    assert_eq!(*expected, server.machine_identifier());
    assert_eq!(*found, plex_tv.impostor().machine_identifier());
    assert!(!error.is_retryable());
}

/// A TCP proxy to `target` that waits `delay` before passing each connection on: a slow
/// path to a server.
fn delaying_proxy(target: SocketAddr, delay: Duration) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { return };
            thread::spawn(move || {
                // The delay is the behaviour under test.
                thread::sleep(delay);
                let Ok(upstream) = TcpStream::connect(target) else {
                    return;
                };
                let pipe = |mut from: TcpStream, mut to: TcpStream| {
                    thread::spawn(move || {
                        let mut buf = [0u8; 4096];
                        while let Ok(n @ 1..) = from.read(&mut buf) {
                            if to.write_all(&buf[..n]).is_err() {
                                break;
                            }
                        }
                        let _ = to.shutdown(std::net::Shutdown::Write);
                    })
                };
                pipe(client.try_clone().unwrap(), upstream.try_clone().unwrap());
                pipe(upstream, client);
            });
        }
    });
    url
}

#[test]
fn a_local_connection_a_little_slower_than_the_relay_wins_and_one_much_slower_does_not() {
    let (server, plex_tv) = world();
    let account = account(&plex_tv);
    let relay = mock_connection(&plex_tv, 0);
    let race = |local_delay: Duration, grace: Option<Duration>| {
        let local = delaying_proxy(server.addr(), local_delay);
        plex_tv.set_resources(with_connections(
            &plex_tv,
            json!([relay, conn(&local, true, false)]),
        ));
        let mut connector = account.server("plex-alerts mock").unwrap().connector();
        if let Some(grace) = grace {
            connector = connector.grace(grace);
        }
        let started = Instant::now();
        let plex = connector.connect().unwrap();
        (plex.url() == local, started.elapsed())
    };
    // Within the grace (250 ms) of the relay's answer: the local one.
    let (local, took) = race(Duration::from_millis(100), None);
    assert!(local, "the local connection, 100 ms behind the relay");
    assert!(took >= Duration::from_millis(100), "{took:?}");
    eprintln!("local 100 ms behind the relay: local taken after {took:?}");
    // Past it: the relay, without waiting for the local one.
    let (local, took) = race(Duration::from_millis(1500), None);
    assert!(!local, "the relay, the local one 1.5 s behind");
    assert!(took < Duration::from_millis(1200), "{took:?}");
    eprintln!("local 1.5 s behind the relay: relay taken after {took:?}");
    // A longer grace waits for it.
    let (local, _) = race(Duration::from_millis(1500), Some(Duration::from_secs(5)));
    assert!(local, "with a grace of 5 s");
}

#[test]
fn a_plex_direct_name_that_does_not_resolve_is_reached_by_its_address() {
    let (_server, plex_tv) = world();
    let account = account(&plex_tv);
    let tls = MockServer::builder()
        .tls(
            fixture("tls/plex-direct.pem"),
            fixture("tls/plex-direct.key"),
        )
        .start()
        .unwrap();
    let port = tls.addr().port();
    let name = "unresolvable-plex-alerts-test.0123456789abcdef0123456789abcdef.plex.direct";
    assert!(
        (name, port)
            .to_socket_addrs()
            .map_or(true, |mut a| a.next().is_none()),
        "the test needs {name} not to resolve"
    );
    let uri = format!("https://{name}:{port}");
    let resources = |address: &str| {
        json!([{"name": "TLS mock", "clientIdentifier": tls.machine_identifier(),
                "provides": "server", "owned": true, "accessToken": tls.token(),
                "connections": [{"protocol": "https", "address": address, "port": port,
                                 "uri": uri, "local": true}]}])
        .to_string()
    };
    let trusting = TlsOptions::new().add_root_certificate_pem(fixture("tls/ca.pem"));
    plex_tv.set_resources(resources("127.0.0.1"));
    let plex = account
        .server("TLS mock")
        .unwrap()
        .connector()
        .tls(trusting.clone())
        .connect()
        .unwrap();
    assert_eq!(plex.url(), format!("https://127.0.0.1:{port}"));
    assert!(plex.sessions().is_ok(), "the server it found works");
    // The certificate names the plex.direct host: by address, only the relaxation lets
    // it through.
    let by_ip = PlexServer::builder(format!("https://127.0.0.1:{port}"))
        .token(tls.token())
        .tls(trusting.clone())
        .connect();
    assert!(matches!(by_ip, Err(Error::Tls { .. })), "{by_ip:?}");

    // Without an address to fall back to, the name is what failed.
    plex_tv.set_resources(resources(""));
    let error = account
        .server("TLS mock")
        .unwrap()
        .connector()
        .tls(trusting)
        .connect()
        .unwrap_err();
    let Error::NoConnection { tried, .. } = &error else {
        panic!("{error:?}")
    };
    assert_eq!(tried.len(), 1, "{tried:?}");
    assert_eq!(tried[0].0, uri);
    assert!(matches!(&tried[0].1, Error::Connect { target, .. } if target.starts_with(name)));
}

#[test]
fn when_none_works_the_error_lists_what_was_tried_and_why_without_a_token() {
    let (server, plex_tv) = world();
    let account = account(&plex_tv);
    // A server that echoes both tokens in an answer that is not Plex's.
    let echoed = format!(
        r#"{{"MediaContainer": 5, "echo": "{ACCOUNT_TOKEN} {}"}}"#,
        server.token()
    );
    let (echo, _echo_server) = writing_server(1, move |_, stream| {
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
            echoed.len()
        );
        let _ = stream.write_all(format!("{head}{echoed}").as_bytes());
    });
    let dead = mock_connection(&plex_tv, 1);
    let impostor = mock_connection(&plex_tv, 2);
    let hanging = mock_connection(&plex_tv, 3);
    plex_tv.set_resources(with_connections(
        &plex_tv,
        json!([dead, conn(&echo, true, false), impostor, hanging]),
    ));
    let started = Instant::now();
    let error = account
        .server("plex-alerts mock")
        .unwrap()
        .connector()
        .timeout(Duration::from_secs(1))
        .connect()
        .unwrap_err();
    let took = started.elapsed();
    assert!(took < Duration::from_secs(3), "{took:?}");
    eprintln!("none of four connections works, a deadline of 1 s: told after {took:?}");
    let Error::NoConnection {
        server: name,
        tried,
    } = &error
    else {
        panic!("{error:?}")
    };
    assert_eq!(name, "plex-alerts mock");
    let uris: Vec<&str> = tried.iter().map(|(uri, _)| uri.as_str()).collect();
    // Local ones first, in plex.tv's order, then the remote one.
    assert_eq!(
        uris,
        [
            echo.as_str(),
            impostor["uri"].as_str().unwrap(),
            hanging["uri"].as_str().unwrap(),
            dead["uri"].as_str().unwrap()
        ]
    );
    assert!(matches!(tried[0].1, Error::BadAnswer { .. }), "{tried:?}");
    assert!(matches!(tried[1].1, Error::WrongServer { .. }), "{tried:?}");
    assert!(matches!(tried[2].1, Error::Timeout { .. }), "{tried:?}");
    assert!(matches!(tried[3].1, Error::Connect { .. }), "{tried:?}");
    let text = format!("{error} {error:?}");
    assert!(
        text.contains("<redacted> <redacted>"),
        "the echo, blanked: {text}"
    );
    assert!(
        !text.contains(ACCOUNT_TOKEN) && !text.contains(&server.token()),
        "{text}"
    );
}

#[test]
fn a_server_with_no_connection_to_try_says_so() {
    let (_server, plex_tv) = world();
    let account = account(&plex_tv);
    plex_tv.set_resources(with_connections(&plex_tv, json!([])));
    let error = account
        .server("plex-alerts mock")
        .unwrap()
        .connect()
        .unwrap_err();
    assert!(
        matches!(&error, Error::NoConnection { tried, .. } if tried.is_empty()),
        "{error:?}"
    );
    assert!(error.to_string().contains("lists no connection"), "{error}");

    // A shared server's local connections are its owner's network's: tried only when
    // plex.tv says the app is on that network.
    let mut resources = plex_tv.resources();
    resources[1]["publicAddressMatches"] = json!(false);
    plex_tv.set_resources(resources.to_string());
    let error = account
        .server(SHARED_SERVER)
        .unwrap()
        .connect()
        .unwrap_err();
    assert!(
        matches!(&error, Error::NoConnection { tried, .. } if tried.is_empty()),
        "{error:?}"
    );
    assert!(
        plex_tv.shared().requests().is_empty(),
        "its token went nowhere"
    );
}

#[test]
fn stop_ends_a_connect_at_once() {
    let (_server, plex_tv) = world();
    let account = account(&plex_tv);
    let hanging = mock_connection(&plex_tv, 3);
    plex_tv.set_resources(with_connections(&plex_tv, json!([hanging])));
    let home = account.server("plex-alerts mock").unwrap();
    let (tx, rx) = crossbeam_channel::bounded(1);
    thread::spawn(move || {
        let _ = tx.send(home.connector().timeout(Duration::from_secs(30)).connect());
    });
    assert!(plex_tv.hanging().wait_for_connections(1, HANG_GUARD));
    let stopped = Instant::now();
    account.stop();
    let result = rx.recv_timeout(HANG_GUARD).unwrap();
    assert!(matches!(result, Err(Error::Stopped)), "{result:?}");
    assert!(
        stopped.elapsed() < Duration::from_millis(500),
        "{:?}",
        stopped.elapsed()
    );
    assert!(matches!(account.servers(), Err(Error::Stopped)));
}
