//! Trackers beside a listener: they never make it wait, whatever their server does, and
//! their lookups follow one request policy.

mod common;

use std::time::{Duration, Instant};

use common::*;
use plex_alerts::mock::MockServer;
use plex_alerts::{Error, Event, LibraryEvent, PlexServer};

fn mock() -> MockServer {
    let mock = MockServer::builder()
        .progress_interval(None)
        .start()
        .unwrap();
    mock.library().add_movie("Movies", "Arrival", 6_960_000);
    mock
}

/// The server asks to wait (429 with Retry-After) for every item: the library tracker
/// sends one request per wait, tells the episode once, and announces each item with its
/// metadata once the server answers. The broken tracker sent 300 requests in 0.1 s, then
/// announced every item half-empty with an error each.
#[test]
fn a_server_asking_to_wait_holds_the_lookups_back_and_is_told_once() {
    let mock = mock();
    let plex = PlexServer::connect(mock.url(), mock.token()).unwrap();
    let (errors_tx, errors) = crossbeam_channel::unbounded();
    let (tx, events) = crossbeam_channel::unbounded();
    let tracker = plex
        .library_tracker()
        .handler(tx)
        .callback_error(move |e| errors_tx.send(e).unwrap())
        .start()
        .unwrap();
    assert!(tracker.wait_synced(HANG_GUARD));
    let reads = |m: &MockServer| {
        m.requests()
            .iter()
            .filter(|r| r.path.starts_with("/library/metadata"))
            .count()
    };
    // Three refusals, each asking for a second; then the server answers.
    mock.fail_requests_asking_to_wait("/library/metadata", 429, 3, Duration::from_secs(1));
    let mut scan = mock.scan("Movies");
    for i in 0..30 {
        scan.add_movie(&format!("Held {i}"), 6_000_000);
    }
    scan.finish();
    assert!(
        mock.wait_until(HANG_GUARD, |m| reads(m) >= 1),
        "the first read"
    );
    // Within the second the server asked for, no other request.
    let again = mock.wait_until(Duration::from_millis(700), |m| reads(m) >= 2);
    assert!(
        !again,
        "{} requests to a server that asked to wait",
        reads(&mock)
    );
    let first = errors.recv_timeout(HANG_GUARD).expect("the refusal, told");
    assert!(
        matches!(
            first,
            Error::HttpStatus {
                status: 429,
                retry_after: Some(_),
                ..
            }
        ),
        "{first:?}"
    );
    let mut added = Vec::new();
    while added.len() < 30 {
        if let LibraryEvent::ItemAdded(item) = events.recv_timeout(HANG_GUARD).unwrap() {
            added.push(item);
        }
    }
    assert!(
        added.iter().all(|item| item.metadata.is_some()),
        "each announced with what the server says of it"
    );
    // Thirty reads and the three refused, a held-back lookup being no request.
    assert!(reads(&mock) <= 33 + 1, "{} reads", reads(&mock));
    let more: Vec<Error> = errors.try_iter().collect();
    assert!(more.is_empty(), "the episode told once: {more:?}");
    tracker.stop();
}

/// A tracker whose lookups take seconds, beside an app's callback on the same listener:
/// the callback gets every alert at once. The broken listener waited for room in the
/// tracker's queue: 25 s with half-second lookups, forever with a trickled one.
#[test]
fn a_slow_tracker_never_makes_the_listener_wait() {
    let mock = mock();
    let plex = PlexServer::connect(mock.url(), mock.token()).unwrap();
    let (alerts_tx, alerts) = crossbeam_channel::unbounded();
    let (errors_tx, errors) = crossbeam_channel::unbounded();
    let mut listener = plex
        .alert_listener()
        .reconnect(fast_reconnect())
        .handler(alerts_tx);
    let tracker = plex
        .library_tracker()
        .lookup_timeout(Duration::from_secs(30))
        // A slow callback_error of the tracker's does not hold the listener either.
        .callback_error(move |e| {
            errors_tx.send(e).unwrap();
            std::thread::sleep(Duration::from_secs(2));
        })
        .attach(&mut listener);
    let listener = listener.start().unwrap();
    assert!(tracker.wait_synced(HANG_GUARD));
    mock.delay_requests("/library/metadata", Duration::from_secs(3));
    mock.fail_requests("/library/metadata", 500, 1);
    let mut scan = mock.scan("Movies");
    let movie = scan.add_movie("Slow", 6_000_000);
    scan.finish();
    // The tracker is in its lookup; the flood goes past its queue's bound.
    assert!(mock.wait_until(HANG_GUARD, |m| {
        m.requests()
            .iter()
            .any(|r| r.path.starts_with("/library/metadata"))
    }));
    let flood = 12_000;
    let started = Instant::now();
    mock.flood_timeline(&movie, flood);
    let mut seen = 0;
    while seen < flood {
        match alerts.recv_timeout(HANG_GUARD).expect("the app's alerts") {
            Event::Alert(a) if a.kind() == "timeline" => seen += 1,
            _ => {}
        }
    }
    let took = started.elapsed();
    // Seconds of lookups did not hold the app's alerts back.
    assert!(took < Duration::from_secs(3), "{took:?} for {flood} alerts");
    // The tracker knew it fell behind, said so, and resyncs once it can.
    assert!(
        mock.wait_until(HANG_GUARD, |_| tracker.stats().overflows >= 1),
        "{:?}",
        tracker.stats()
    );
    assert!(
        errors.recv_timeout(HANG_GUARD).is_ok(),
        "its own errors, to its own callback"
    );
    assert!(
        !alerts.try_iter().any(|e| matches!(e, Event::Error(_))),
        "the tracker's errors never reach the listener's handler"
    );
    listener.stop();
}

/// A listener with a channel handler and a tracker with its own callback_error: both
/// work, each gets its own errors. (Once, the two together failed to start.)
#[test]
fn a_tracker_attaches_to_a_listener_whatever_its_handler() {
    let mock = mock();
    let plex = PlexServer::connect(mock.url(), mock.token()).unwrap();
    let (tx, listener_events) = crossbeam_channel::unbounded();
    let (errors_tx, tracker_errors) = crossbeam_channel::unbounded();
    let mut listener = plex.alert_listener().handler(tx);
    let sessions = plex
        .session_tracker()
        .callback_error(move |e| errors_tx.send(e).unwrap())
        .attach(&mut listener);
    let listener = listener.start().unwrap();
    assert!(sessions.wait_synced(HANG_GUARD));
    mock.fail_requests("/status/sessions", 503, 1);
    let (alice, tv) = (mock.add_user("alice"), mock.add_player("TV"));
    let movie = mock.library().add_movie("Movies", "Heat", 10_200_000);
    let _play = mock.play(&alice, &movie, &tv);
    assert!(matches!(
        tracker_errors.recv_timeout(HANG_GUARD),
        Ok(Error::HttpStatus { status: 503, .. })
    ));
    assert!(mock.wait_until(HANG_GUARD, |_| sessions.now_playing().len() == 1));
    assert!(
        !listener_events
            .try_iter()
            .any(|e| matches!(e, Event::Error(_))),
        "the listener's handler sees only its own"
    );
    listener.stop();
}
