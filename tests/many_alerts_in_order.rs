//! A burst of 10,000 notifications, sent as fast as the server can write them, arrives
//! complete and in order, through a callback and through a channel, on both transports.

mod common;

use common::*;
use plex_alerts::mock::{MockServer, event_stream_text};
use plex_alerts::{AlertListener, Error, Stats, Transport};

const COUNT: u64 = 10_000;

/// Bytes the mock writes for the burst, framing included: a WebSocket text frame
/// (unmasked, 2-byte or 4-byte header), or a chunk of the event stream (hex size, CRLF,
/// the `event:`/`data:` text, CRLF).
fn burst_wire_bytes(transport: Transport) -> u64 {
    (0..COUNT)
        .map(|i| {
            let frame = numbered_frame(i);
            let n = match transport {
                Transport::EventSource => {
                    let text = event_stream_text(&frame);
                    text.len() + format!("{:x}", text.len()).len() + 4
                }
                _ => frame.len() + if frame.len() < 126 { 2 } else { 4 },
            };
            n as u64
        })
        .sum()
}

fn send_burst(server: &MockServer, transport: Transport) {
    for i in 0..COUNT {
        assert_eq!(
            server.send(&numbered_frame(i)),
            1,
            "{transport:?}: frame {i} had no client"
        );
    }
}

fn assert_in_order(transport: Transport, seqs: &[u64]) {
    let expected: Vec<u64> = (0..COUNT).collect();
    if seqs != expected.as_slice() {
        let first_bad = seqs
            .iter()
            .zip(&expected)
            .position(|(a, b)| a != b)
            .unwrap_or(seqs.len().min(expected.len()));
        panic!(
            "{transport:?}: {} alerts, first difference at index {first_bad}: got {:?}",
            seqs.len(),
            seqs.get(first_bad..(first_bad + 5).min(seqs.len()))
        );
    }
}

fn assert_stats(transport: Transport, stats: &Stats) {
    assert_eq!(stats.alerts, COUNT, "{transport:?}: {stats:?}");
    // The event stream drops the NotificationContainer wrapper, so its notifications are
    // ~294 bytes on the wire against ~322 for WebSocket: > 300 per alert holds only there.
    // Both are checked against the exact bytes written, with room for the response head
    // and a few pings/pongs, but not for counting anything twice.
    if transport == Transport::WebSocket {
        assert!(
            stats.bytes_received > COUNT * 300,
            "{transport:?}: bytes_received {} <= {}",
            stats.bytes_received,
            COUNT * 300
        );
    }
    let wire = burst_wire_bytes(transport);
    assert!(
        (wire..wire + 64 * 1024).contains(&stats.bytes_received),
        "{transport:?}: bytes_received {} but the burst alone is {wire} bytes on the wire",
        stats.bytes_received
    );
}

#[test]
fn ten_thousand_alerts_reach_the_callback_complete_and_in_order() {
    for transport in BOTH {
        let server = MockServer::start();
        let (alert_tx, alert_rx) = crossbeam_channel::unbounded();
        let (error_tx, error_rx) = crossbeam_channel::unbounded::<Error>();
        let listener = AlertListener::builder(server.url())
            .token(server.token())
            .transport(transport)
            .callback(move |alert| {
                let _ = alert_tx.send(alert);
            })
            .callback_error(move |error| {
                let _ = error_tx.send(error);
            })
            .start()
            .expect("start");
        assert!(
            server.wait_for_clients(1, HANG_GUARD),
            "{transport:?}: not connected"
        );
        send_burst(&server, transport);
        let mut seqs = Vec::with_capacity(COUNT as usize);
        for _ in 0..COUNT {
            let alert = alert_rx
                .recv_timeout(HANG_GUARD)
                .unwrap_or_else(|_| panic!("{transport:?}: only {} alerts arrived", seqs.len()));
            assert_eq!(alert.kind(), "playing");
            seqs.push(seq_of(&alert));
        }
        assert_in_order(transport, &seqs);
        assert_stats(transport, &listener.stats());
        listener.stop();
        let extra: Vec<u64> = alert_rx.try_iter().map(|a| seq_of(&a)).collect();
        assert!(extra.is_empty(), "{transport:?}: extra alerts {extra:?}");
        let errors: Vec<Error> = error_rx.try_iter().collect();
        assert!(errors.is_empty(), "{transport:?}: errors {errors:?}");
    }
}

#[test]
fn ten_thousand_alerts_reach_the_channel_complete_and_in_order() {
    for transport in BOTH {
        let server = MockServer::start();
        let (listener, rx) = connected(&server, transport);
        send_burst(&server, transport);
        let mut seqs = Vec::with_capacity(COUNT as usize);
        for _ in 0..COUNT {
            // next_alert fails on an error event: none is expected here.
            seqs.push(seq_of(&next_alert(&rx)));
        }
        assert_in_order(transport, &seqs);
        assert_stats(transport, &listener.stats());
        listener.stop();
    }
}
