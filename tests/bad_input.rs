//! Bad input from the server is reported and skipped: the alert before it and the alert
//! after it both arrive, on the same connection, over either transport. The exception is
//! a WebSocket text message that is not UTF-8, which RFC 6455 makes a failure of the
//! connection: reported once, closed with 1007, and the listener reconnects.

mod common;

use common::*;
use crossbeam_channel::Receiver;
use plex_alerts::mock::{ClientFrame, MockServer, Raw};
use plex_alerts::{AlertListener, ConnectionState, Error, Event, Notification, Transport};
use serde_json::Value;

/// The limit used by the oversized-message cases.
const LIMIT: usize = 4096;

/// More events than any case can produce between two good alerts: bounds every loop.
const MAX_EVENTS: usize = 50;

/// A listener connected to its own mock server.
struct Session {
    server: MockServer,
    listener: AlertListener,
    rx: Receiver<Event>,
    transport: Transport,
    handshakes: u64,
}

/// Starts a listener for `transport` (with `max_message_size` if given) and waits until
/// it is connected.
fn session(transport: Transport, max_message_size: Option<usize>) -> Session {
    let server = MockServer::start();
    let (builder, rx) = builder(&server, transport);
    let builder = match max_message_size {
        Some(limit) => builder.max_message_size(limit),
        None => builder,
    };
    let listener = builder.start().expect("start");
    assert!(server.wait_for_handshakes(1, HANG_GUARD), "no handshake");
    wait_state(&rx, |s| matches!(s, ConnectionState::Connected { .. }));
    let handshakes = server.handshakes();
    Session {
        server,
        listener,
        rx,
        transport,
        handshakes,
    }
}

/// Whether `event` is the alert made from `numbered_frame(seq)`.
fn is_numbered(event: &Event, seq: u64) -> bool {
    matches!(event, Event::Alert(a)
        if a.kind() == "playing"
            && a.raw()["PlaySessionStateNotification"][0]["sessionKey"] == "23"
            && a.raw()["PlaySessionStateNotification"][0]["viewOffset"] == seq)
}

impl Session {
    /// Sends alert 1, then the bad input, then alert 2; checks that alert 1 arrives first
    /// and alert 2 arrives at all; returns every event in between.
    fn between_good_alerts(&self, bad: impl FnOnce(&MockServer)) -> Vec<Event> {
        let t = self.transport;
        assert_eq!(self.server.send(&numbered_frame(1)), 1, "{t:?}: one client");
        bad(&self.server);
        assert_eq!(self.server.send(&numbered_frame(2)), 1, "{t:?}: one client");
        let first = next_alert(&self.rx);
        assert_eq!(seq_of(&first), 1, "{t:?}: alert 1 arrives first");
        let mut between = Vec::new();
        for _ in 0..MAX_EVENTS {
            let event = self
                .rx
                .recv_timeout(HANG_GUARD)
                .unwrap_or_else(|_| panic!("{t:?}: alert 2 never arrived; got {between:?}"));
            if is_numbered(&event, 2) {
                return between;
            }
            between.push(event);
        }
        panic!("{t:?}: alert 2 never arrived; got {between:?}");
    }

    /// Checks that nothing reconnected: no state change was seen, the server saw no new
    /// handshake, and the listener still runs.
    fn assert_same_connection(&self, seen: &[Event]) {
        let t = self.transport;
        assert!(
            !seen.iter().any(|e| matches!(e, Event::State(_))),
            "{t:?}: the connection changed state: {seen:?}"
        );
        assert_eq!(
            self.server.handshakes(),
            self.handshakes,
            "{t:?}: the listener reconnected"
        );
        assert!(self.listener.is_running(), "{t:?}: the listener ended");
    }

    /// Sends alert 1, `bad`, alert 2; expects exactly one error in between, on the same
    /// connection, and returns it.
    fn one_error_between_good_alerts(&self, bad: impl FnOnce(&MockServer)) -> Error {
        let seen = self.between_good_alerts(bad);
        self.assert_same_connection(&seen);
        let t = self.transport;
        match <[Event; 1]>::try_from(seen) {
            Ok([Event::Error(e)]) => {
                assert_readable(&e);
                e
            }
            Ok([other]) => panic!("{t:?}: expected one error, got {other:?}"),
            Err(seen) => panic!("{t:?}: expected exactly one error, got {seen:?}"),
        }
    }

    /// Sends `raw` between two good alerts; checks it gives exactly one `Error::Decode`.
    fn decode_error_between_good_alerts(&self, raw: Raw) -> Error {
        let t = self.transport;
        let error = self.one_error_between_good_alerts(|server| {
            assert_eq!(server.send_raw(raw), 1, "{t:?}: one client");
        });
        assert!(
            matches!(error, Error::Decode { .. }),
            "{t:?}: expected Error::Decode, got {error:?}"
        );
        error
    }

    fn stop(self) {
        self.listener.stop();
    }
}

/// An error's Display is a sentence for people: not empty, and no Debug syntax of the
/// error itself or of what it wraps.
fn assert_readable(error: &Error) {
    let text = error.to_string();
    let debug = format!("{error:?}");
    assert!(!text.trim().is_empty(), "empty Display for {debug}");
    assert!(
        text.starts_with(|c: char| c.is_alphabetic()),
        "Display does not start with a word: {text:?}"
    );
    let variant = debug.split([' ', '(', '{']).next().unwrap_or_default();
    for debug_syntax in [
        format!("{variant} {{"),
        format!("{variant}("),
        "Some(".to_owned(),
        "Os {".to_owned(),
        "Custom {".to_owned(),
        "kind: ".to_owned(),
    ] {
        assert!(
            !text.contains(&debug_syntax),
            "Display shows Debug syntax {debug_syntax:?}: {text:?}"
        );
    }
}

/// The start of an event of type `playing` whose data is `data`.
fn event_stream(text: &str) -> Raw {
    Raw::EventStream(text.as_bytes().to_vec())
}

/// A `status` notification whose JSON is about `description_len` bytes long.
fn big_status_frame(description_len: usize) -> String {
    format!(
        r#"{{"NotificationContainer":{{"type":"status","size":1,"StatusNotification":[{{"title":"Library scan complete","description":"{}","notificationName":"LIBRARY_UPDATE"}}]}}}}"#,
        "x".repeat(description_len)
    )
}

/// Runs `case` once per transport, each as its own test.
macro_rules! for_both_transports {
    ($name:ident, $case:expr) => {
        mod $name {
            use super::*;

            #[test]
            fn websocket() {
                ($case)(Transport::WebSocket);
            }

            #[test]
            fn eventsource() {
                ($case)(Transport::EventSource);
            }
        }
    };
}

for_both_transports!(
    malformed_json_is_a_decode_error_with_an_excerpt_and_listening_goes_on,
    |transport| {
        let s = session(transport, None);
        let error = s.one_error_between_good_alerts(|server| {
            let sent = match transport {
                Transport::WebSocket => server.send_raw(Raw::Text("{not json".to_owned())),
                _ => server.send_raw(event_stream("event: playing\ndata: {not json\n\n")),
            };
            assert_eq!(sent, 1);
        });
        match &error {
            Error::Decode { excerpt, .. } => assert!(
                excerpt.contains("{not json"),
                "{transport:?}: the excerpt shows the bad text: {excerpt:?}"
            ),
            other => panic!("{transport:?}: expected Error::Decode, got {other:?}"),
        }
        s.stop();
    }
);

for_both_transports!(
    json_that_is_not_a_notification_is_a_decode_error_and_listening_goes_on,
    |transport| {
        let s = session(transport, None);
        s.decode_error_between_good_alerts(match transport {
            Transport::WebSocket => Raw::Text(r#"{"hello":1}"#.to_owned()),
            // No notification type (no `event:` field) and no notification shape.
            _ => event_stream("data: {\"hello\":1}\n\n"),
        });
        s.stop();
    }
);

/// The event stream's data is the inner object: JSON that is not an object can't be one.
#[test]
fn event_stream_data_that_is_not_an_object_is_a_decode_error_and_listening_goes_on() {
    let s = session(Transport::EventSource, None);
    s.decode_error_between_good_alerts(event_stream("event: playing\ndata: [\"hello\",1]\n\n"));
    s.stop();
}

for_both_transports!(
    a_notification_type_nobody_listed_is_delivered_as_an_alert_with_its_raw_json,
    |transport| {
        let frame = r#"{"NotificationContainer":{"type":"some.future.type","size":1,"FutureThing":[{"a":1}]}}"#;
        let s = session(transport, None);
        let seen = s.between_good_alerts(|server| assert_eq!(server.send(frame), 1));
        s.assert_same_connection(&seen);
        let alert = match <[Event; 1]>::try_from(seen) {
            Ok([Event::Alert(alert)]) => alert,
            Ok([other]) => panic!("{transport:?}: expected the alert, got {other:?}"),
            Err(seen) => panic!("{transport:?}: expected exactly the alert, got {seen:?}"),
        };
        assert_eq!(alert.kind(), "some.future.type");
        assert_eq!(alert.notification(), &Notification::Other);
        let sent: Value = serde_json::from_str(frame).unwrap();
        assert_eq!(
            alert.raw(),
            &sent["NotificationContainer"],
            "{transport:?}: the raw JSON is intact"
        );
        s.stop();
    }
);

for_both_transports!(
    a_known_type_that_does_not_fit_its_typed_view_is_delivered_raw_then_reported,
    |transport| {
        let frame = r#"{"NotificationContainer":{"type":"playing","size":1,"PlaySessionStateNotification":[{"sessionKey":"7","ratingKey":"147967","viewOffset":"soon","state":"playing"}]}}"#;
        let s = session(transport, None);
        let seen = s.between_good_alerts(|server| assert_eq!(server.send(frame), 1));
        s.assert_same_connection(&seen);
        let (alert, error) = match <[Event; 2]>::try_from(seen) {
            Ok([Event::Alert(alert), Event::Error(error)]) => (alert, error),
            Ok(other) => panic!("{transport:?}: expected the alert then an error, got {other:?}"),
            Err(seen) => panic!("{transport:?}: expected the alert then an error, got {seen:?}"),
        };
        assert_eq!(alert.kind(), "playing");
        assert_eq!(alert.notification(), &Notification::Other);
        let sent: Value = serde_json::from_str(frame).unwrap();
        assert_eq!(
            alert.raw(),
            &sent["NotificationContainer"],
            "{transport:?}: the raw JSON is intact"
        );
        assert_eq!(
            alert.raw()["PlaySessionStateNotification"][0]["viewOffset"],
            "soon"
        );
        assert!(
            matches!(error, Error::Decode { .. }),
            "{transport:?}: expected Error::Decode, got {error:?}"
        );
        assert_readable(&error);
        s.stop();
    }
);

#[test]
fn a_binary_websocket_frame_is_a_decode_error_and_listening_goes_on() {
    let s = session(Transport::WebSocket, None);
    s.decode_error_between_good_alerts(Raw::Binary(b"\x00\x01binary\xff".to_vec()));
    s.stop();
}

#[test]
fn a_websocket_text_frame_with_invalid_utf8_fails_the_connection_with_1007_and_it_reconnects() {
    let s = session(Transport::WebSocket, None);
    assert_eq!(s.server.send(&numbered_frame(1)), 1);
    assert_eq!(
        s.server
            .send_raw(Raw::TextBytes(vec![0x7b, 0xff, 0xfe, 0x7d])),
        1
    );
    assert_eq!(seq_of(&next_alert(&s.rx)), 1);
    let error = next_error(&s.rx);
    assert_readable(&error);
    assert!(
        matches!(&error, Error::Protocol { violation: plex_alerts::Violation::InvalidUtf8, message, .. } if message.contains("UTF-8")),
        "{error:?}"
    );
    assert!(error.is_retryable());
    // The client said why it closed (1007, invalid payload), and reconnects.
    assert!(s.server.wait_until(HANG_GUARD, |m| {
        m.received_frames()
            .contains(&ClientFrame::Close(1007u16.to_be_bytes().to_vec()))
    }));
    let state = wait_state(&s.rx, |st| {
        matches!(st, ConnectionState::Disconnected { .. })
    });
    assert!(
        matches!(
            state,
            ConnectionState::Disconnected {
                retry_in: Some(_),
                ..
            }
        ),
        "{state:?}"
    );
    assert!(s.server.wait_for_handshakes(s.handshakes + 1, HANG_GUARD));
    // Nothing else in between: a second report or an alert would be spliced.
    let connected = loop {
        match s.rx.recv_timeout(HANG_GUARD).unwrap() {
            Event::State(st @ ConnectionState::Connected { .. }) => break st,
            Event::State(_) => continue,
            other => panic!("{other:?}"),
        }
    };
    assert!(
        matches!(connected, ConnectionState::Connected { outage: Some(_) }),
        "a gap the trackers resync after: {connected:?}"
    );
    delivers_once_connected_now(&s, 2);
    s.stop();
}

/// Sends a numbered alert on the connection that is up and checks it is the next event.
fn delivers_once_connected_now(s: &Session, seq: u64) {
    assert!(s.server.wait_for_clients(1, HANG_GUARD));
    assert_eq!(s.server.send(&numbered_frame(seq)), 1);
    assert_eq!(seq_of(&next_alert(&s.rx)), seq);
}

for_both_transports!(
    a_message_over_max_message_size_is_skipped_on_the_same_connection,
    |transport| {
        let frame = big_status_frame(10_000);
        assert!(frame.len() > 10_000 && frame.len() < 4 * LIMIT);
        let s = session(transport, Some(LIMIT));
        let error = s.one_error_between_good_alerts(|server| assert_eq!(server.send(&frame), 1));
        match error {
            Error::MessageTooLarge { size, limit } => {
                assert_eq!(limit, LIMIT, "{transport:?}");
                // Over WebSocket the whole message was read; an event stream is cut off
                // at the limit, so its size is not known.
                match transport {
                    Transport::WebSocket => assert_eq!(size, Some(frame.len())),
                    _ => assert_eq!(size, None),
                }
            }
            other => panic!("{transport:?}: expected Error::MessageTooLarge, got {other:?}"),
        }
        s.stop();
    }
);

/// Skipped as it arrives, never held: so however large, the connection goes on (it once
/// dropped the connection past four times the limit).
#[test]
fn a_websocket_message_far_over_the_limit_is_skipped_on_the_same_connection_too() {
    let s = session(Transport::WebSocket, Some(LIMIT));
    let frame = big_status_frame(400_000);
    assert!(frame.len() > 40 * LIMIT);
    let error = s.one_error_between_good_alerts(|server| assert_eq!(server.send(&frame), 1));
    assert!(
        matches!(error, Error::MessageTooLarge { size: Some(n), limit } if n == frame.len() && limit == LIMIT),
        "{error:?}"
    );
    s.stop();
}

#[test]
fn an_over_long_event_stream_line_is_reported_once_and_the_stream_resynchronises() {
    let s = session(Transport::EventSource, Some(LIMIT));
    let error = s.one_error_between_good_alerts(|server| {
        let mut pieces = vec![b"event: playing\ndata: ".to_vec()];
        pieces.extend((0..4).map(|_| vec![b'a'; 25 * 1024]));
        pieces.push(b"\n\n".to_vec());
        for piece in pieces {
            assert_eq!(server.send_raw(Raw::EventStream(piece)), 1);
        }
    });
    match error {
        Error::MessageTooLarge { size, limit } => {
            assert_eq!(limit, LIMIT);
            assert_eq!(size, None, "cut off before its end");
        }
        other => panic!("expected Error::MessageTooLarge, got {other:?}"),
    }
    s.stop();
}

/// Many kinds of bad input in a row, on one connection: each is reported once, as a
/// sentence, and every good alert still arrives in order.
#[test]
fn a_run_of_bad_input_is_reported_in_readable_sentences_and_every_good_alert_arrives() {
    for transport in BOTH {
        let s = session(transport, Some(LIMIT));
        let mut bad: Vec<Raw> = match transport {
            Transport::WebSocket => vec![
                Raw::Text("{not json".to_owned()),
                Raw::Text(r#"{"hello":1}"#.to_owned()),
                Raw::Text(String::new()),
                Raw::Binary(vec![1, 2, 3]),
                Raw::Text(big_status_frame(10_000)),
            ],
            _ => vec![
                event_stream("event: playing\ndata: {not json\n\n"),
                event_stream("event: playing\ndata: [1]\n\n"),
                event_stream("event: playing\ndata: \n\n"),
                event_stream(&format!("event: status\ndata: {}\n\n", "x".repeat(10_000))),
            ],
        };
        let expected_errors = bad.len();
        assert_eq!(s.server.send(&numbered_frame(1)), 1);
        for raw in bad.drain(..) {
            assert_eq!(s.server.send_raw(raw), 1);
        }
        assert_eq!(s.server.send(&numbered_frame(2)), 1);
        assert_eq!(seq_of(&next_alert(&s.rx)), 1, "{transport:?}");
        for i in 0..expected_errors {
            let error = next_error(&s.rx);
            assert_readable(&error);
            assert!(
                matches!(error, Error::Decode { .. } | Error::MessageTooLarge { .. }),
                "{transport:?}: bad input #{i}: {error:?}"
            );
        }
        assert_eq!(seq_of(&next_alert(&s.rx)), 2, "{transport:?}");
        assert_eq!(s.server.handshakes(), s.handshakes, "{transport:?}");
        assert!(s.listener.is_running(), "{transport:?}");
        s.stop();
    }
}
