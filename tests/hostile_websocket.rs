//! A WebSocket server that breaks the protocol on purpose: fragments that are not UTF-8,
//! close frames with odd reasons and codes. A message is delivered whole or not at all,
//! never spliced; text that is not UTF-8 fails the connection at once (1007), reported
//! once; a close is a close; what the server sent is what is reported.

mod common;

use std::time::Duration;

use common::*;
use plex_alerts::mock::{ClientFrame, MockServer, Raw};
use plex_alerts::{ConnectionState, Error, Event, Transport};

/// Frames of the client that are Close frames, their payloads.
fn close_replies(server: &MockServer) -> Vec<Vec<u8>> {
    server
        .received_frames()
        .into_iter()
        .filter_map(|f| match f {
            ClientFrame::Close(payload) => Some(payload),
            _ => None,
        })
        .collect()
}

/// Waits until the client has answered `n` Close frames in all.
fn wait_for_close_replies(server: &MockServer, n: usize) -> Vec<Vec<u8>> {
    assert!(
        server.wait_until(HANG_GUARD, |s| close_replies(s).len() >= n),
        "no close reply"
    );
    close_replies(server)
}

#[test]
fn a_message_with_invalid_utf8_in_any_fragment_fails_the_connection_at_once_and_is_never_delivered()
{
    let server = MockServer::start();
    let (listener, rx) = connected(&server, Transport::WebSocket);
    // Alert 99, in three fragments, one of which carries bytes that are not UTF-8. A
    // decoder that dropped the bad fragment would deliver a spliced alert.
    let text = numbered_frame(99);
    let thirds = [&text[..40], &text[40..120], &text[120..]];
    for bad in 0..3 {
        let handshakes = server.handshakes();
        let fragment = |i: usize| {
            let mut bytes = thirds[i].as_bytes().to_vec();
            if i == bad {
                bytes.extend_from_slice(b"\xff\xfe");
            }
            ws_frame(i == 2, if i == 0 { 0x1 } else { 0x0 }, &bytes)
        };
        server.send(&numbered_frame(1));
        assert_eq!(seq_of(&next_alert(&rx)), 1, "fragment {bad}");
        // Up to the bad fragment only: the connection fails on it, without waiting for
        // the message's end (RFC 6455, 8.1).
        for i in 0..=bad {
            server.send_raw(Raw::WebSocketBytes(fragment(i)));
        }
        let e = next_error(&rx);
        assert!(
            matches!(&e, Error::Protocol { message, .. } if message.contains("UTF-8")),
            "fragment {bad}: {e:?}"
        );
        assert!(
            server.wait_until(HANG_GUARD, |s| close_replies(s).len() > bad),
            "fragment {bad}: no close"
        );
        assert_eq!(
            close_replies(&server)[bad],
            1007u16.to_be_bytes(),
            "fragment {bad}"
        );
        // The rest of the message, were it sent, goes nowhere: the listener reconnects,
        // and what it delivers next is the next alert, whole.
        assert!(server.wait_for_handshakes(handshakes + 1, HANG_GUARD));
        loop {
            match rx.recv_timeout(HANG_GUARD).unwrap() {
                Event::State(ConnectionState::Connected { outage }) => {
                    assert!(outage.is_some(), "fragment {bad}: a gap, told");
                    break;
                }
                Event::State(_) => {}
                other => panic!("fragment {bad}: {other:?}"),
            }
        }
        delivers_once_connected_now(&server, &rx, 2);
    }
    listener.stop();
}

#[test]
fn a_close_whose_reason_is_not_utf8_is_a_close_answered_with_1007() {
    let server = MockServer::start();
    let (listener, rx) = connected(&server, Transport::WebSocket);
    let handshakes = server.handshakes();
    // A close, then a text frame the server had no business sending after it.
    let mut wire = ws_frame(true, 0x8, b"\x03\xe8\xff\xfe going away");
    wire.extend(ws_frame(true, 0x1, numbered_frame(5).as_bytes()));
    server.send_raw(Raw::WebSocketBytes(wire));
    let e = next_error(&rx);
    assert!(
        matches!(&e, Error::Closed { code: Some(1000), reason } if reason.contains("going away")),
        "{e:?}"
    );
    // The close is answered with 1007 (invalid payload) and no reason, and the listener
    // reconnects.
    assert_eq!(wait_for_close_replies(&server, 1), [vec![0x03, 0xef]]);
    assert!(server.wait_for_handshakes(handshakes + 1, HANG_GUARD));
    delivers_once_connected(&server, &rx, 6);
    listener.stop();
}

#[test]
fn close_codes_are_reported_as_the_server_sent_them() {
    let server = MockServer::start();
    let (listener, rx) = connected(&server, Transport::WebSocket);
    // (sent, answered): a code that may not be sent is answered with 1002.
    let cases = [(999u16, 1002u16), (1005, 1002), (4000, 4000), (1001, 1001)];
    for (i, (sent, answered)) in cases.into_iter().enumerate() {
        assert!(server.wait_for_clients(1, HANG_GUARD));
        server.send_raw(Raw::WebSocketBytes(ws_frame(
            true,
            0x8,
            &sent.to_be_bytes(),
        )));
        let e = next_error(&rx);
        assert!(
            matches!(e, Error::Closed { code: Some(c), .. } if c == sent),
            "{sent}: {e:?}"
        );
        assert!(e.to_string().contains(&format!("close code {sent}")), "{e}");
        let replies = wait_for_close_replies(&server, i + 1);
        assert_eq!(replies[i], answered.to_be_bytes(), "{sent}");
        wait_state(&rx, |s| matches!(s, ConnectionState::Connected { .. }));
    }
    // A close frame without a code is a close without one.
    assert!(server.wait_for_clients(1, HANG_GUARD));
    server.send_raw(Raw::WebSocketBytes(ws_frame(true, 0x8, b"")));
    let e = next_error(&rx);
    assert!(matches!(e, Error::Closed { code: None, .. }), "{e:?}");
    listener.stop();
}

#[test]
fn a_ping_from_the_server_is_answered_with_its_payload() {
    let server = MockServer::start();
    let (listener, rx) = connected(&server, Transport::WebSocket);
    server.send_raw(Raw::WebSocketBytes(ws_frame(true, 0x9, b"are you there")));
    assert!(server.wait_until(HANG_GUARD, |s| {
        s.received_frames()
            .contains(&ClientFrame::Pong(b"are you there".to_vec()))
    }));
    // Nothing reaches the app for it.
    delivers_once_connected_now(&server, &rx, 1);
    listener.stop();
}

/// Sends a numbered alert on the connection that is up and checks it is the next event.
fn delivers_once_connected_now(
    server: &MockServer,
    rx: &crossbeam_channel::Receiver<Event>,
    seq: u64,
) {
    server.send(&numbered_frame(seq));
    match rx.recv_timeout(Duration::from_secs(20)).unwrap() {
        Event::Alert(a) => assert_eq!(seq_of(&a), seq),
        other => panic!("{other:?}"),
    }
}
