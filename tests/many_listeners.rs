//! A hundred listeners against one server at once: all hear the same alert, all stop.

mod common;

use std::collections::HashSet;
use std::time::Instant;

use common::*;
use plex_alerts::mock::MockServer;
use plex_alerts::{AlertListener, Transport};

const LISTENERS: usize = 100;

#[test]
fn a_hundred_listeners_hear_the_same_alert_and_all_stop() {
    let server = MockServer::start();
    let (tx, rx) = crossbeam_channel::unbounded();
    let listeners: Vec<AlertListener> = (0..LISTENERS)
        .map(|id| {
            let tx = tx.clone();
            let transport = if id % 2 == 0 {
                Transport::WebSocket
            } else {
                Transport::EventSource
            };
            AlertListener::builder(server.url())
                .token(server.token())
                .transport(transport)
                .callback(move |alert| tx.send((id, seq_of(&alert))).unwrap())
                .start()
                .unwrap()
        })
        .collect();
    let t0 = Instant::now();
    assert!(
        server.wait_for_clients(LISTENERS, HANG_GUARD),
        "{} connected",
        server.clients()
    );
    println!("connected in {:?}", t0.elapsed());
    assert_eq!(server.send(&numbered_frame(1)), LISTENERS);
    let mut heard = HashSet::new();
    for _ in 0..LISTENERS {
        let (id, seq) = rx
            .recv_timeout(HANG_GUARD)
            .expect("every listener hears it");
        assert_eq!(seq, 1);
        assert!(heard.insert(id), "listener {id} heard it twice");
    }
    let started = Instant::now();
    for listener in listeners {
        listener.stop();
    }
    let took = started.elapsed();
    println!("stopped {LISTENERS} listeners in {took:?}");
    assert!(took < HANG_GUARD);
    let t1 = Instant::now();
    assert!(server.wait_for_no_clients(HANG_GUARD));
    println!("no clients after {:?}", t1.elapsed());
    let t2 = Instant::now();
    drop(server);
    println!("server dropped in {:?}", t2.elapsed());
}
