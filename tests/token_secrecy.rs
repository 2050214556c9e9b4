//! The token never appears in a log line (every crate, trace level), an error's text, or a
//! Debug print: with the token in a header or in the query, on both transports, on success
//! and on failure, and when the server (or a proxy) echoes it back in frames, close
//! reasons and event data.

mod common;

use std::sync::{Mutex, Once};

use common::*;
use plex_alerts::mock::{ClientFrame, MockServer, Raw};
use plex_alerts::{
    AlertListener, ConnectionState, Error, Event, PlexServer, Reconnect, TlsOptions, Transport,
};

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

/// Captures every log record of every crate, at trace level, from here on.
fn capture() {
    static CAPTURE: Capture = Capture;
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        log::set_logger(&CAPTURE).unwrap();
        log::set_max_level(log::LevelFilter::Trace);
    });
}

/// Every line captured so far is free of the token; and the capture works.
fn assert_logs_secret_free() {
    log::trace!(target: "probe", "capture works");
    let lines = LINES.lock().unwrap();
    assert!(
        lines.iter().any(|l| l == "TRACE probe: capture works"),
        "trace logging was captured: {} lines",
        lines.len()
    );
    for line in lines.iter() {
        assert_secret_free("log line", line);
    }
    println!("{} log lines checked", lines.len());
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
                // Decode errors too must not leak it.
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
    capture();
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
    let e = PlexServer::builder(tls_server.url())
        .token(SECRET)
        .tls(TlsOptions::new())
        .connect()
        .unwrap_err();
    assert_secret_free("error Debug", &format!("{e:?}"));
    let e = AlertListener::builder(format!("{}/?X-Plex-Token={SECRET}", server.url()))
        .token(SECRET)
        .callback(|_| {})
        .start()
        .unwrap_err();
    assert_secret_free("error Debug", &format!("{e:?}"));

    assert_logs_secret_free();
}

/// A server, or a proxy in front of it, that echoes the token into what it sends: text
/// that is not JSON, a binary frame, a message that is not UTF-8, a close reason, event
/// data. None of it reaches a log line, an error, or the close reply.
#[test]
fn a_server_that_echoes_the_token_puts_it_in_no_log_line_error_or_reply() {
    capture();
    let server = MockServer::builder().token(SECRET).start().unwrap();
    for transport in BOTH {
        let (errors_tx, errors) = crossbeam_channel::unbounded();
        let (alerts_tx, alerts) = crossbeam_channel::unbounded();
        let before = server.handshakes();
        // Closures without on_state: the listener logs its states itself, at debug.
        let listener = AlertListener::builder(server.url())
            .token(SECRET)
            .transport(transport)
            .reconnect(fast_reconnect())
            .callback(move |alert| alerts_tx.send(alert).unwrap())
            .callback_error(move |e| errors_tx.send(e).unwrap())
            .start()
            .unwrap();
        assert!(server.wait_for_handshakes(before + 1, HANG_GUARD));
        let echo = format!("not json, but the token: {SECRET}");
        match transport {
            Transport::WebSocket => {
                server.send_raw(Raw::Text(echo.clone()));
                server.send_raw(Raw::Binary(echo.clone().into_bytes()));
                // Not UTF-8: this one fails the connection (1007), and the listener
                // connects again.
                let mut bad = echo.clone().into_bytes();
                bad.extend_from_slice(b"\xff");
                server.send_raw(Raw::WebSocketBytes(ws_frame(true, 0x1, &bad)));
                assert!(server.wait_for_handshakes(before + 2, HANG_GUARD));
            }
            _ => {
                let event = format!("event: playing\ndata: {echo}\n\n");
                server.send_raw(Raw::EventStream(event.into_bytes()));
            }
        }
        // Cut by an error's excerpt inside the token: a typed view that does not fit, its
        // excerpt ending five characters into the token; and, over WebSocket, a binary
        // message whose multi-byte start puts the cut inside it.
        let mut seen = Vec::new();
        let prefix = r#"{"type":"playing","size":1,"PlaySessionStateNotification":[{"url":""#;
        let cut_pad = "x".repeat(120 - prefix.len() - 5);
        server.send(&format!(
            r#"{{"NotificationContainer":{{"type":"playing","size":1,"PlaySessionStateNotification":[{{"url":"{cut_pad}{SECRET}","viewOffset":"soon"}}]}}}}"#
        ));
        if transport == Transport::WebSocket {
            let mut payload = "€".repeat(80).into_bytes();
            payload.extend_from_slice(format!("{SECRET} and more").as_bytes());
            server.send_raw(Raw::Binary(payload));
        }
        server.send(&numbered_frame(1));
        let numbered = loop {
            let alert = alerts.recv_timeout(HANG_GUARD).unwrap();
            if alert.notification() != &plex_alerts::Notification::Other {
                break alert;
            }
        };
        assert_eq!(seq_of(&numbered), 1);
        if transport == Transport::WebSocket {
            let mut reason = 1000u16.to_be_bytes().to_vec();
            reason.extend_from_slice(format!("bye {SECRET}").as_bytes());
            server.send_raw(Raw::WebSocketBytes(ws_frame(true, 0x8, &reason)));
            let closed = loop {
                let e = errors.recv_timeout(HANG_GUARD).unwrap();
                seen.push(e.clone());
                if matches!(e, Error::Closed { .. }) {
                    break e;
                }
            };
            assert!(closed.to_string().contains("<redacted>"), "{closed}");
            // The Close that failed the first connection, and the answer to this one.
            assert!(server.wait_until(HANG_GUARD, |s| {
                s.received_frames()
                    .iter()
                    .filter(|f| matches!(f, ClientFrame::Close(_)))
                    .count()
                    >= 2
            }));
            let mut closes = Vec::new();
            for frame in server.received_frames() {
                assert_secret_free("a frame the client sent", &format!("{frame:?}"));
                if let ClientFrame::Close(payload) = frame {
                    closes.push(payload);
                }
            }
            // A code alone, never the reason: 1007 for the text that is not UTF-8, then
            // the server's 1000 echoed.
            assert_eq!(
                closes,
                [1007u16.to_be_bytes(), 1000u16.to_be_bytes()],
                "the reason is not echoed"
            );
        }
        listener.stop();
        let mut redacted = 0;
        for e in seen.into_iter().chain(errors.try_iter()) {
            for text in [e.to_string(), format!("{e:?}")] {
                assert_secret_free("an error", &text);
                // Nor the token's start, where an excerpt cut it.
                assert!(!text.contains(&SECRET[..5]), "{transport:?}: {text}");
                redacted += usize::from(text.contains("<redacted>"));
            }
        }
        assert!(
            redacted >= 2,
            "{transport:?}: the echoes were blanked, not dropped"
        );
    }
    assert!(
        LINES
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.starts_with("DEBUG plex_alerts")),
        "the listener's own lines were captured"
    );
    assert_logs_secret_free();
}

/// A token with reserved characters, so that its encodings and decoded form differ.
const RESERVED: &str = "Sec/ret+Tok=en-6f1d2c";

/// [`RESERVED`] percent-encoded with lower-case hex digits, as a sweep found unredacted.
const RESERVED_LOWER: &str = "Sec%2fret%2bTok%3den-6f1d2c";

/// Neither [`RESERVED`] in any form, nor the start of one, is in `text`.
fn assert_reserved_free(what: &str, text: &str) {
    let forms = [
        RESERVED,
        RESERVED_LOWER,
        "Sec%2Fret%2BTok%3Den-6f1d2c",
        "Sec/ret Tok=en-6f1d2c",
        "Sec%2",
        "Sec/",
    ];
    for form in forms {
        assert!(!text.contains(form), "{what} shows {form:?}: {text}");
    }
}

fn http_json(body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Answers that are not what Plex sends, echoing the token: the errors made of them after
/// the request returned leave `PlexServer`'s methods redacted too.
#[test]
fn a_rest_answer_that_echoes_the_token_puts_it_in_no_error() {
    let (url, _server) = raw_server(3, |request| {
        let body = match request.split(' ').nth(1) {
            Some("/") => r#"{"MediaContainer":{"friendlyName":"raw","version":"1"}}"#.to_owned(),
            Some("/status/sessions") => format!(r#"{{"MediaContainer":"{RESERVED_LOWER}"}}"#),
            _ => format!("<html>not JSON: {RESERVED_LOWER}</html>"),
        };
        http_json(&body)
    });
    let plex = PlexServer::connect(&url, RESERVED).unwrap();
    let no_container = plex.sessions().unwrap_err();
    let not_json = plex.activities().unwrap_err();
    for e in [no_container, not_json] {
        assert!(matches!(e, Error::BadAnswer { .. }), "{e:?}");
        assert!(e.to_string().contains("<redacted>"), "{e}");
        assert_reserved_free("error Display", &e.to_string());
        assert_reserved_free("error Debug", &format!("{e:?}"));
    }
}

/// A server that echoes the token percent-encoded in lower case into a frame that is not
/// JSON (the echo across the excerpt's cut) and into a close reason: no error shows the
/// token in any form, nor its start; and without a callback_error the warn log says what
/// happened, quoting neither the payload nor the close reason.
#[test]
fn a_token_echoed_in_lower_case_percent_encoding_is_in_no_error_or_log_line() {
    capture();
    // 112 characters, then the echo across the cut at 120.
    let payload = format!("{}{RESERVED_LOWER} and the rest", "payload-".repeat(14));
    let mut close = 1000u16.to_be_bytes().to_vec();
    close.extend_from_slice(format!("close-reason {RESERVED_LOWER}").as_bytes());
    let wire = [
        ws_frame(true, 0x1, payload.as_bytes()),
        ws_frame(true, 0x8, &close),
    ]
    .concat();
    let serve = || {
        let wire = wire.clone();
        raw_server(1, move |request| {
            [ws_upgrade(request), wire.clone()].concat()
        })
    };
    let builder = |url: &str| {
        AlertListener::builder(url)
            .token(RESERVED)
            .reconnect(Reconnect::never())
    };

    // What callback_error (here, a channel) sees.
    let (url, _server) = serve();
    let (tx, rx) = crossbeam_channel::unbounded();
    let listener = builder(&url).handler(tx).start().unwrap();
    let mut errors = vec![];
    loop {
        match rx.recv_timeout(HANG_GUARD).expect("an event") {
            Event::Error(e) => errors.push(e),
            Event::State(ConnectionState::Stopped) => break,
            _ => {}
        }
    }
    assert!(
        matches!(
            errors[..],
            [
                Error::Decode { .. },
                Error::Closed {
                    code: Some(1000),
                    ..
                }
            ]
        ),
        "{errors:?}"
    );
    for e in &errors {
        assert!(e.to_string().contains("<redacted>"), "{e}");
        assert_reserved_free("error Display", &e.to_string());
        assert_reserved_free("error Debug", &format!("{e:?}"));
    }
    assert_reserved_free("join", &format!("{:?}", listener.join()));

    // Without a callback_error, the log.
    let (url, _server) = serve();
    let (states_tx, states) = crossbeam_channel::unbounded();
    let listener = builder(&url)
        .callback(|_| {})
        .on_state(move |s| states_tx.send(s).unwrap())
        .start()
        .unwrap();
    while !matches!(
        states.recv_timeout(HANG_GUARD).expect("a state"),
        ConnectionState::Stopped
    ) {}
    let _ = listener.join();
    let lines = LINES.lock().unwrap().clone();
    let warned: Vec<_> = lines
        .iter()
        .filter(|l| l.starts_with("WARN plex_alerts"))
        .collect();
    for said in [
        "plex-alerts: could not decode a notification: the message is not JSON",
        "plex-alerts: the server closed the connection (WebSocket close code 1000)",
    ] {
        assert!(
            warned.iter().any(|l| l.ends_with(said)),
            "{said}: {warned:#?}"
        );
    }
    for line in &lines {
        assert_reserved_free("log line", line);
        for sent in ["payload-", "close-reason", "<redacted>"] {
            assert!(!line.contains(sent), "a log line quotes the server: {line}");
        }
    }
}

#[test]
fn a_token_too_long_or_with_characters_errors_would_escape_is_refused() {
    for token in [
        "t".repeat(1025),
        "a\"b".to_owned(),
        "a\\b".to_owned(),
        "tök".to_owned(),
    ] {
        let e = AlertListener::builder("http://127.0.0.1:1")
            .token(token.clone())
            .callback(|_| {})
            .start()
            .unwrap_err();
        assert!(matches!(e, Error::InvalidConfig { .. }), "{e:?}");
        assert!(!e.to_string().contains(&token), "{e}");
    }
    let longest = "t".repeat(1024);
    let listener = AlertListener::builder("http://127.0.0.1:1")
        .token(longest)
        .reconnect(Reconnect::never())
        .callback(|_| {})
        .callback_error(|_| {})
        .start()
        .unwrap();
    listener.stop();
}
