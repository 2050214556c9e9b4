//! The EventSource transport gives the same alerts as WebSocket, parses the stream as the
//! server writes it, and treats pings as proof of life, never as alerts.

mod common;

use std::time::Duration;

use common::*;
use plex_alerts::mock::{Fault, MockServer, Raw};
use plex_alerts::{ConnectionState, Error, Event, Filters, Heartbeat, Transport};

#[test]
fn every_fixture_gives_equal_alerts_over_both_transports() {
    let server = MockServer::start();
    let (ws, ws_rx) = builder(&server, Transport::WebSocket);
    let (sse, sse_rx) = builder(&server, Transport::EventSource);
    let ws = ws.filters(Filters::all()).start().unwrap();
    let sse = sse.filters(Filters::all()).start().unwrap();
    assert!(server.wait_for_clients(2, HANG_GUARD));
    let frames = all_fixture_frames();
    for frame in &frames {
        assert_eq!(server.send(frame), 2);
    }
    for frame in &frames {
        let a = next_alert(&ws_rx);
        let b = next_alert(&sse_rx);
        assert_eq!(a, b, "{frame}");
        assert_eq!(a.to_string(), b.to_string());
        assert_eq!(b.raw()["size"], 1, "normalised to the WebSocket shape");
    }
    ws.stop();
    sse.stop();
}

#[test]
fn the_captured_event_stream_written_byte_for_byte_decodes_to_the_captured_notifications() {
    let stream = fixture("captured-eventsource-stream.txt");
    let frames = captured_frames();
    assert_eq!(frames.len(), 17);
    for piece_size in [stream.len(), 4096, 7, 1] {
        let server = MockServer::start();
        let (listener, rx) = connected(&server, Transport::EventSource);
        // Every piece goes out as its own chunk: events split across reads at every point.
        for piece in stream.as_bytes().chunks(piece_size) {
            assert_eq!(server.send_raw(Raw::EventStream(piece.to_vec())), 1);
        }
        for frame in &frames {
            let alert = next_alert(&rx);
            let sent: serde_json::Value = serde_json::from_str(frame).unwrap();
            assert_eq!(
                alert.raw(),
                &sent["NotificationContainer"],
                "pieces of {piece_size}"
            );
        }
        listener.stop();
    }
}

#[test]
fn a_close_delimited_stream_works_like_a_chunked_one() {
    let server = MockServer::builder().chunked(false).start().unwrap();
    let (listener, rx) = connected(&server, Transport::EventSource);
    for i in 0..100 {
        server.send(&numbered_frame(i));
    }
    for i in 0..100 {
        assert_eq!(seq_of(&next_alert(&rx)), i);
    }
    listener.stop();
}

#[test]
fn pings_keep_the_stream_alive_and_never_reach_the_callback() {
    let server = MockServer::builder()
        .ping_interval(Duration::from_millis(20))
        .start()
        .unwrap();
    let (builder, rx) = builder(&server, Transport::EventSource);
    // Dead after 300 ms of silence: only the pings keep it up.
    let listener = builder
        .heartbeat(Heartbeat::new(
            Duration::from_millis(150),
            Duration::from_millis(150),
        ))
        .start()
        .unwrap();
    wait_state(&rx, |s| matches!(s, ConnectionState::Connected { .. }));
    // A full second (over three times the dead-peer limit) in which nothing may happen.
    match rx.recv_timeout(Duration::from_secs(1)) {
        Err(_) => {}
        Ok(event) => panic!("a ping must not surface as anything: {event:?}"),
    }
    assert!(listener.stats().bytes_received > 20 * "event: ping\ndata: {}\n\n".len() as u64);
    assert_eq!(server.handshakes(), 1);
    server.send(&numbered_frame(1));
    assert_eq!(seq_of(&next_alert(&rx)), 1);
    listener.stop();
}

#[test]
fn a_stream_without_pings_is_given_up_and_reconnected() {
    let server = MockServer::start();
    server.set_fault(Fault::Unresponsive); // handshake, then nothing: no pings
    let (builder, rx) = builder(&server, Transport::EventSource);
    let listener = builder
        .heartbeat(Heartbeat::new(
            Duration::from_millis(100),
            Duration::from_millis(100),
        ))
        .start()
        .unwrap();
    let e = next_error(&rx);
    assert!(matches!(e, Error::HeartbeatTimeout { .. }), "{e:?}");
    server.set_fault(Fault::None);
    assert!(server.wait_for_handshakes(2, HANG_GUARD));
    listener.stop();
}

#[test]
fn a_positive_filter_list_still_gets_pings_so_the_watchdog_does_not_fire() {
    // The mock drops pings from a positive list that does not name them (the worst
    // case, unconfirmed on real servers): the listener asks for them.
    let server = MockServer::builder()
        .ping_interval(Duration::from_millis(20))
        .start()
        .unwrap();
    let (builder, rx) = builder(&server, Transport::EventSource);
    let listener = builder
        .filters(Filters::only(["playing"]))
        .heartbeat(Heartbeat::new(
            Duration::from_millis(150),
            Duration::from_millis(150),
        ))
        .start()
        .unwrap();
    wait_state(&rx, |s| matches!(s, ConnectionState::Connected { .. }));
    assert!(
        rx.recv_timeout(Duration::from_secs(1)).is_err(),
        "no disconnect, no event"
    );
    assert_eq!(server.handshakes(), 1);
    let request = server.requests().pop().unwrap();
    assert_eq!(request.query("filters"), Some("playing,ping"));
    listener.stop();
}

#[test]
fn an_answer_that_is_not_an_event_stream_is_a_protocol_error() {
    // A server that answers the request with an HTML page.
    let raw = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", raw.local_addr().unwrap());
    let (tx, rx) = crossbeam_channel::unbounded();
    let listener = plex_alerts::AlertListener::builder(url)
        .transport(Transport::EventSource)
        .reconnect(plex_alerts::Reconnect::never())
        .handler(tx)
        .start()
        .unwrap();
    let (mut conn, _) = raw.accept().unwrap();
    let mut buf = [0u8; 4096];
    let _ = std::io::Read::read(&mut conn, &mut buf).unwrap();
    std::io::Write::write_all(
        &mut conn,
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5\r\n\r\nhello",
    )
    .unwrap();
    let e = loop {
        match rx.recv_timeout(HANG_GUARD).unwrap() {
            Event::Error(e) => break e,
            _ => continue,
        }
    };
    assert!(
        matches!(&e, Error::Protocol { violation: plex_alerts::Violation::NotAnEventStream, message, .. } if message.contains("text/html")),
        "{e:?}"
    );
    assert!(matches!(listener.join(), Err(Error::Protocol { .. })));
}

#[test]
fn a_negative_filter_list_naming_ping_still_gets_pings() {
    let server = MockServer::start();
    let (builder, _rx) = builder(&server, Transport::EventSource);
    let listener = builder
        .filters(Filters::except(["ping", "log"]))
        .start()
        .unwrap();
    assert!(server.wait_for_clients(1, HANG_GUARD));
    listener.stop();
    let request = server.requests().pop().unwrap();
    assert_eq!(
        request.query("filters"),
        Some("-log"),
        "ping is taken out of the list"
    );
}

/// A proxy that gzips the event stream: asked for identity, it compresses anyway. Its bytes
/// are never parsed as events; the error says why, and the listener ends (retrying cannot
/// help until the proxy is changed).
#[test]
fn a_compressed_event_stream_is_a_clear_error_not_lost_notifications() {
    let raw = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", raw.local_addr().unwrap());
    let (tx, rx) = crossbeam_channel::unbounded();
    let listener = plex_alerts::AlertListener::builder(url)
        .transport(Transport::EventSource)
        .handler(tx)
        .start()
        .unwrap();
    let (mut conn, _) = raw.accept().unwrap();
    let mut request = Vec::new();
    let mut buf = [0u8; 4096];
    while !request.ends_with(b"\r\n\r\n") {
        let n = std::io::Read::read(&mut conn, &mut buf).unwrap();
        assert!(n > 0);
        request.extend_from_slice(&buf[..n]);
    }
    let request = String::from_utf8(request).unwrap();
    assert!(
        request.contains("\r\nAccept-Encoding: identity\r\n"),
        "{request}"
    );
    // A gzip member's first bytes, as nginx would send them.
    std::io::Write::write_all(
        &mut conn,
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Encoding: gzip\r\n\r\n\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03event: playing\n\n",
    )
    .unwrap();
    let mut errors = Vec::new();
    loop {
        match rx.recv_timeout(HANG_GUARD).unwrap() {
            Event::Alert(a) => panic!("compressed bytes were parsed: {a:?}"),
            Event::Error(e) => errors.push(e),
            Event::State(ConnectionState::Stopped) => break,
            _ => {}
        }
    }
    assert!(
        matches!(&errors[..], [Error::Unsupported { reason }] if reason.contains("gzip") && reason.contains("proxy")),
        "{errors:?}"
    );
    assert!(matches!(listener.join(), Err(Error::Unsupported { .. })));
}
