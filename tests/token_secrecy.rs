//! The token never appears in a log line (every crate, trace level), an error's text, or a
//! Debug print: with the token in a header or in the query, on both transports, on success
//! and on failure.

mod common;

use std::sync::Mutex;

use common::*;
use plex_alerts::mock::{MockServer, Raw};
use plex_alerts::{AlertListener, ConnectionState, Event, PlexServer, Reconnect, TlsOptions};

const SECRET: &str = "SeCrEt-ToKeN-6f1d2c";
const WRONG: &str = "WrOnG-ToKeN-93ab77";

static LINES: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata) -> bool {
        true
    }
    fn log(&self, record: &log::Record) {
        let line = format!("{} {}: {}", record.level(), record.target(), record.args());
        LINES.lock().unwrap().push(line);
    }
    fn flush(&self) {}
}

fn assert_secret_free(what: &str, text: &str) {
    for secret in [SECRET, WRONG] {
        assert!(!text.contains(secret), "{what} shows the token: {text}");
    }
}

/// Runs a listener to its first alert (or its end), checking every event's texts.
fn exercise(
    builder: plex_alerts::Builder,
    rx: &crossbeam_channel::Receiver<Event>,
    server: &MockServer,
) {
    let listener = builder.start().unwrap();
    assert_secret_free("AlertListener Debug", &format!("{listener:?}"));
    assert_secret_free("StopHandle Debug", &format!("{:?}", listener.stop_handle()));
    loop {
        let event = rx.recv_timeout(HANG_GUARD).expect("an event");
        assert_secret_free("event Debug", &format!("{event:?}"));
        match event {
            Event::State(ConnectionState::Connected { .. }) => {
                server.send(&numbered_frame(1));
                // Decode errors too must not leak it (the server's own text is not ours
                // to police: tungstenite traces received payloads).
                server.send_raw(Raw::Text("not json".to_owned()));
                server.send_raw(Raw::EventStream(b"event: x\ndata: not json\n\n".to_vec()));
            }
            Event::Error(e) => assert_secret_free("error Display", &e.to_string()),
            Event::Alert(_) => break,
            Event::State(ConnectionState::Stopped) => break,
            _ => {}
        }
    }
    listener.stop();
}

#[test]
fn the_token_is_never_logged_printed_or_put_in_an_error() {
    static CAPTURE: Capture = Capture;
    log::set_logger(&CAPTURE).unwrap();
    log::set_max_level(log::LevelFilter::Trace);

    let server = MockServer::builder().token(SECRET).start().unwrap();
    let tls_server = MockServer::builder()
        .token(SECRET)
        .tls(fixture("tls/server.pem"), fixture("tls/server.key"))
        .start()
        .unwrap();
    for transport in BOTH {
        for in_query in [false, true] {
            let (b, rx) = builder(&server, transport);
            let b = b.token(SECRET).token_in_query(in_query);
            assert_secret_free("Builder Debug", &format!("{b:?}"));
            exercise(b, &rx, &server);
            let last = server.requests().pop().unwrap();
            let arrived = if in_query {
                last.query("X-Plex-Token")
            } else {
                last.header("X-Plex-Token")
            };
            assert_eq!(arrived, Some(SECRET), "the token did reach the server");

            // Rejected token, and a TLS failure, with the token set.
            let (b, rx) = builder(&server, transport);
            exercise(b.token(WRONG).token_in_query(in_query), &rx, &server);
            let (b, rx) = builder(&tls_server, transport);
            exercise(
                b.token(SECRET)
                    .token_in_query(in_query)
                    .reconnect(Reconnect::never()),
                &rx,
                &tls_server,
            );
        }
    }

    let plex = PlexServer::connect(server.url(), SECRET).unwrap();
    assert_secret_free("PlexServer Debug", &format!("{plex:?}"));
    assert_secret_free(
        "listener builder Debug",
        &format!("{:?}", plex.alert_listener()),
    );
    let e = PlexServer::connect(server.url(), WRONG).unwrap_err();
    assert_secret_free("error Display", &e.to_string());
    assert_secret_free("error Debug", &format!("{e:?}"));
    let e = PlexServer::connect_with_tls(tls_server.url(), SECRET, TlsOptions::new()).unwrap_err();
    assert_secret_free("error Debug", &format!("{e:?}"));
    let e = AlertListener::builder(format!("{}/?X-Plex-Token={SECRET}", server.url()))
        .token(SECRET)
        .callback(|_| {})
        .start()
        .unwrap_err();
    assert_secret_free("error Debug", &format!("{e:?}"));

    let lines = LINES.lock().unwrap();
    // The capture works (tungstenite traces every frame), so silence proves nothing is hidden.
    assert!(
        lines.iter().any(|l| l.starts_with("TRACE tungstenite")),
        "trace logging was captured: {} lines",
        lines.len()
    );
    for line in lines.iter() {
        assert_secret_free("log line", line);
    }
    println!("{} log lines checked", lines.len());
}
