//! Shared by the integration tests: fixtures, and a listener whose events land on a channel.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::Receiver;
use plex_alerts::mock::MockServer;
use plex_alerts::{Alert, AlertListener, Builder, ConnectionState, Error, Event, Transport};

/// Generous: only turns a hang into a failure.
pub const HANG_GUARD: Duration = Duration::from_secs(20);

pub const BOTH: [Transport; 2] = [Transport::WebSocket, Transport::EventSource];

pub fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The 17 captured WebSocket frames.
pub fn captured_frames() -> Vec<String> {
    fixture("captured-websocket-frames.jsonl")
        .lines()
        .map(str::to_owned)
        .collect()
}

/// The captured frames, then the shape-only ones: one of every known type.
pub fn all_fixture_frames() -> Vec<String> {
    let mut frames = captured_frames();
    frames.extend(
        fixture("shape-only-frames.jsonl")
            .lines()
            .map(str::to_owned),
    );
    frames
}

/// A `playing` frame numbered `seq` (in viewOffset), the size of a real one.
pub fn numbered_frame(seq: u64) -> String {
    format!(
        r#"{{"NotificationContainer":{{"type":"playing","size":1,"PlaySessionStateNotification":[{{"sessionKey":"23","clientIdentifier":"88b4f7f6-7554-4338-8982-a044a3a7d010","guid":"","ratingKey":"147967","url":"","key":"/library/metadata/147967","viewOffset":{seq},"playQueueItemID":576940,"playQueueID":14462,"state":"playing"}}]}}}}"#
    )
}

/// Reads `viewOffset` back from an alert made from [`numbered_frame`].
pub fn seq_of(alert: &Alert) -> u64 {
    alert.raw()["PlaySessionStateNotification"][0]["viewOffset"]
        .as_u64()
        .expect("a numbered frame")
}

/// A reconnect that waits at most 20 ms, then up to 200 ms.
pub fn fast_reconnect() -> plex_alerts::Reconnect {
    plex_alerts::Reconnect::exponential(Duration::from_millis(20), Duration::from_millis(200))
}

/// A builder for `server` with its token and a fast reconnect, feeding a channel.
pub fn builder(server: &MockServer, transport: Transport) -> (Builder, Receiver<Event>) {
    let (tx, rx) = crossbeam_channel::unbounded();
    let builder = AlertListener::builder(server.url())
        .token(server.token())
        .transport(transport)
        .reconnect(fast_reconnect())
        .handler(tx);
    (builder, rx)
}

/// Starts a listener on `server` and waits until it is connected.
pub fn connected(server: &MockServer, transport: Transport) -> (AlertListener, Receiver<Event>) {
    connected_with(server, transport, |b| b)
}

/// [`connected`], with the builder changed by `change` first.
pub fn connected_with(
    server: &MockServer,
    transport: Transport,
    change: impl FnOnce(Builder) -> Builder,
) -> (AlertListener, Receiver<Event>) {
    let (builder, rx) = builder(server, transport);
    let before = server.handshakes();
    let listener = change(builder).start().expect("start");
    assert!(
        server.wait_for_handshakes(before + 1, HANG_GUARD),
        "no handshake"
    );
    wait_state(&rx, |s| matches!(s, ConnectionState::Connected { .. }));
    (listener, rx)
}

/// The next event that is not a state change.
pub fn next_non_state(rx: &Receiver<Event>) -> Event {
    loop {
        match rx.recv_timeout(HANG_GUARD).expect("an event in time") {
            Event::State(_) => continue,
            other => return other,
        }
    }
}

pub fn next_alert(rx: &Receiver<Event>) -> Alert {
    match next_non_state(rx) {
        Event::Alert(a) => a,
        other => panic!("expected an alert, got {other:?}"),
    }
}

pub fn next_error(rx: &Receiver<Event>) -> Error {
    match next_non_state(rx) {
        Event::Error(e) => e,
        other => panic!("expected an error, got {other:?}"),
    }
}

/// Waits for a state change that matches, skipping anything else; returns it.
pub fn wait_state(
    rx: &Receiver<Event>,
    want: impl Fn(&ConnectionState) -> bool,
) -> ConnectionState {
    loop {
        match rx.recv_timeout(HANG_GUARD).expect("the state in time") {
            Event::State(s) if want(&s) => return s,
            _ => continue,
        }
    }
}

/// Waits for a listener to give up by itself: a disconnect it will not retry, then
/// `Stopped`. Returns what `join()` says ended it.
pub fn ends_for_good(listener: AlertListener, rx: &Receiver<Event>) -> Result<(), Error> {
    let state = wait_state(rx, |s| matches!(s, ConnectionState::Disconnected { .. }));
    assert!(
        matches!(state, ConnectionState::Disconnected { retry_in: None, .. }),
        "{state:?}"
    );
    wait_state(rx, |s| matches!(s, ConnectionState::Stopped));
    listener.join()
}

/// Waits until the listener is connected (again), then checks that a numbered alert sent
/// now arrives.
pub fn delivers_once_connected(server: &MockServer, rx: &Receiver<Event>, seq: u64) {
    wait_state(rx, |s| matches!(s, ConnectionState::Connected { .. }));
    assert!(server.wait_for_clients(1, HANG_GUARD), "no client");
    server.send(&numbered_frame(seq));
    assert_eq!(
        seq_of(&next_alert(rx)),
        seq,
        "the alert sent once connected"
    );
}

/// The attempt numbers of the next `n` Connecting states.
pub fn next_attempts(rx: &Receiver<Event>, n: usize) -> Vec<u32> {
    (0..n)
        .map(
            |_| match wait_state(rx, |s| matches!(s, ConnectionState::Connecting { .. })) {
                ConnectionState::Connecting { attempt } => attempt,
                _ => unreachable!(),
            },
        )
        .collect()
}

/// A server's (unmasked) WebSocket frame, for hand-made and hostile input: the crate's
/// own codec.
#[allow(unused_imports)] // Not every test file writes frames.
pub use plex_alerts::mock::raw_frame as ws_frame;

/// Starts `listener` (with a tracker on it) and waits for the tracker's first sync: until
/// the mock has answered each of `paths` once more.
pub fn start_synced(mock: &MockServer, paths: &[&str], listener: Builder) -> AlertListener {
    let answered = |m: &MockServer| paths.iter().map(|p| m.answered(p)).collect::<Vec<_>>();
    let before = answered(mock);
    let listener = listener.start().unwrap();
    let synced = mock.wait_until(HANG_GUARD, |m| {
        answered(m)
            .iter()
            .zip(&before)
            .all(|(now, then)| now > then)
    });
    assert!(synced, "the first sync: {paths:?}");
    listener
}

/// A server on 127.0.0.1 for what the mock cannot say: it takes `connections` connections
/// one after another, reads each one's request head, writes what `answer` makes of it,
/// then records what the client sends until it closes. Returns its URL, and a handle
/// giving what each client sent after its request.
pub fn raw_server(
    connections: usize,
    answer: impl Fn(&str) -> Vec<u8> + Send + 'static,
) -> (String, JoinHandle<Vec<Vec<u8>>>) {
    let (url, h) = writing_server(connections, move |request, stream| {
        let _ = stream.write_all(&answer(request));
    });
    let h = std::thread::spawn(move || h.join().unwrap());
    (url, h)
}

/// [`raw_server`], where `write` writes each answer as it likes (a trickle, a stream);
/// after it, what the client sends until it closes is kept, per connection.
pub fn writing_server(
    connections: usize,
    write: impl Fn(&str, &mut std::net::TcpStream) + Send + 'static,
) -> (String, JoinHandle<Vec<Vec<u8>>>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    let h = std::thread::spawn(move || {
        let mut sent = vec![];
        for _ in 0..connections {
            let Ok((mut s, _)) = l.accept() else {
                break;
            };
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut req = vec![];
            let mut b = [0u8; 4096];
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                match s.read(&mut b) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => req.extend_from_slice(&b[..n]),
                }
            }
            write(&String::from_utf8_lossy(&req), &mut s);
            let mut got = vec![];
            loop {
                match s.read(&mut b) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => got.extend_from_slice(&b[..n]),
                }
            }
            sent.push(got);
        }
        sent
    });
    (url, h)
}

/// The 101 answer to a WebSocket upgrade request (its head).
pub fn ws_upgrade(request: &str) -> Vec<u8> {
    let key = request
        .lines()
        .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
        .unwrap_or("")
        .trim();
    let accept = tungstenite::handshake::derive_accept_key(key.as_bytes());
    format!("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n").into_bytes()
}

/// The built example `name`, checked to be newer than its sources.
pub fn example(name: &str) -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let binary = exe
        .ancestors()
        .map(|dir| dir.join("examples").join(name))
        .find(|path| path.is_file())
        .unwrap_or_else(|| {
            panic!("no built example {name} near {exe:?}: run `cargo build --examples` first")
        });
    let built = binary.metadata().unwrap().modified().unwrap();
    // Its sources, as cargo's dep-info beside it lists them (the crate's included);
    // without one, its own file and everything the examples share.
    let sources: Vec<std::path::PathBuf> = match std::fs::read_to_string(binary.with_extension("d"))
    {
        Ok(deps) => deps
            .lines()
            .next()
            .and_then(|line| line.split_once(": "))
            .map(|(_, files)| files.split_whitespace().map(Into::into).collect())
            .unwrap_or_default(),
        Err(_) => {
            let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples");
            let support = std::fs::read_dir(dir.join("support")).unwrap();
            let mut sources = vec![dir.join(format!("{name}.rs"))];
            sources.extend(support.map(|e| e.unwrap().path()));
            sources
        }
    };
    for source in sources {
        // A path the dep-info spells with an escaped space is not found: not checked.
        let Ok(meta) = source.metadata() else {
            continue;
        };
        let changed = meta.modified().unwrap();
        assert!(
            changed <= built,
            "{binary:?} is older than {source:?}: run `cargo build --examples` first"
        );
    }
    binary
}

/// A tracker on a listener of the test's: what the tracker tests share.
pub struct On<T> {
    pub listener: AlertListener,
    pub tracker: T,
}

impl<T> On<T> {
    pub fn stop(self) {
        self.listener.stop();
    }
}

/// Starts a listener on `plex` (on `transport`, reconnecting fast) with the tracker that
/// `attach` puts on it, its events to a channel, and waits until `synced` says so.
pub fn attached<T, E>(
    plex: &plex_alerts::PlexServer,
    transport: Transport,
    attach: impl FnOnce(crossbeam_channel::Sender<E>, &mut Builder) -> T,
    synced: impl Fn(&T) -> bool,
) -> (On<T>, Receiver<E>) {
    let (tx, rx) = crossbeam_channel::unbounded();
    let mut listener = plex
        .alert_listener()
        .transport(transport)
        .reconnect(fast_reconnect());
    let tracker = attach(tx, &mut listener);
    let listener = listener.start().unwrap();
    assert!(synced(&tracker), "the first sync");
    (On { listener, tracker }, rx)
}

/// The next of what `rx` carries, in time.
pub fn next_of<T>(rx: &Receiver<T>) -> T {
    rx.recv_timeout(HANG_GUARD).expect("an event in time")
}
