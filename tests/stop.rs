//! stop() returns promptly whatever the listener is doing, from any thread, and a dropped
//! listener stops too.
//!
//! Every fallback that would also end the wait is set far away (the heartbeat's read
//! timeout, the connect and handshake timeouts, the backoff: a minute or more), and the
//! stop must come within [`STOP_BOUND`]: a listener that only noticed the stop through a
//! timeout fails here, fast.

mod common;

use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use common::*;
use plex_alerts::mock::{ClientFrame, Fault, MockServer, Raw, StalledListener};
use plex_alerts::{
    AlertListener, ConnectionState, Error, Event, Heartbeat, Reconnect, StopHandle, Transport,
};

/// Far below every fallback here (60 s and more), far above a working stop (well under
/// a millisecond when the machine is idle).
const STOP_BOUND: Duration = Duration::from_secs(3);

/// A heartbeat that never fires within a test: reads block for ten minutes.
fn far_heartbeat() -> Heartbeat {
    Heartbeat::new(Duration::from_secs(600), Duration::from_secs(600))
}

/// Runs `stop` on another thread and asserts that it returns within [`STOP_BOUND`].
fn within_bound(what: &str, stop: impl FnOnce() + Send + 'static) {
    within(STOP_BOUND, what, stop);
}

/// Runs `stop` on another thread and asserts that it returns within `bound`.
fn within(bound: Duration, what: &str, stop: impl FnOnce() + Send + 'static) {
    let (done_tx, done) = crossbeam_channel::bounded(1);
    let started = Instant::now();
    std::thread::spawn(move || {
        stop();
        let _ = done_tx.send(());
    });
    let returned = done.recv_timeout(bound);
    let took = started.elapsed();
    println!("stop {what}: {took:?}");
    assert!(returned.is_ok(), "stop {what} took over {bound:?}");
}

fn timed_stop(what: &str, listener: AlertListener) {
    within_bound(what, move || listener.stop());
}

#[test]
fn stop_is_prompt_while_reading_from_a_peer_that_sends_nothing_and_never_answers() {
    let server = MockServer::start();
    server.set_fault(Fault::Unresponsive);
    for transport in BOTH {
        let (listener, rx) = connected_with(&server, transport, |b| b.heartbeat(far_heartbeat()));
        timed_stop(&format!("{transport:?} reading a silent peer"), listener);
        wait_state(&rx, |s| matches!(s, ConnectionState::Stopped));
    }
}

#[test]
fn stop_is_prompt_during_a_stalled_http_handshake() {
    let server = MockServer::start();
    server.set_fault(Fault::Silent);
    for transport in BOTH {
        let (builder, _rx) = builder(&server, transport);
        let before = server.connections();
        let listener = builder
            .handshake_timeout(Duration::from_secs(60))
            .start()
            .unwrap();
        assert!(server.wait_for_connections(before + 1, HANG_GUARD));
        timed_stop(&format!("{transport:?} in the handshake"), listener);
    }
}

#[test]
fn stop_is_prompt_while_the_tcp_connect_hangs() {
    let stalled = StalledListener::start().unwrap();
    let (tx, rx) = crossbeam_channel::unbounded();
    let listener = AlertListener::builder(stalled.url())
        .connect_timeout(Duration::from_secs(60))
        .handler(tx)
        .start()
        .unwrap();
    wait_state(&rx, |s| matches!(s, ConnectionState::Connecting { .. }));
    timed_stop("while connecting", listener);
    // Nothing but state changes: the interrupted connect is not reported as an error.
    let errors = rx
        .try_iter()
        .filter(|e| matches!(e, Event::Error(_)))
        .count();
    assert_eq!(errors, 0);
}

/// After the close handshake the client gives the server up to a second to close the TCP
/// connection first; a stop does not wait for that. The bound is half that second.
#[test]
fn stop_is_prompt_while_waiting_for_the_server_to_close_after_a_close() {
    let server = MockServer::start();
    // It reads the client's Close and neither answers nor closes.
    server.set_fault(Fault::Unresponsive);
    let (listener, _rx) = connected_with(&server, Transport::WebSocket, |b| {
        b.heartbeat(far_heartbeat())
    });
    server.send_raw(Raw::WebSocketBytes(ws_frame(
        true,
        0x8,
        &1000u16.to_be_bytes(),
    )));
    assert!(server.wait_until(HANG_GUARD, |s| {
        s.received_frames()
            .iter()
            .any(|f| matches!(f, ClientFrame::Close(_)))
    }));
    std::thread::sleep(Duration::from_millis(200));
    within(
        Duration::from_millis(500),
        "waiting for the server to close",
        move || listener.stop(),
    );
}

#[test]
fn stop_is_prompt_during_a_backoff_wait() {
    let server = MockServer::start();
    server.set_fault(Fault::Status(503));
    let (tx, rx) = crossbeam_channel::unbounded();
    let listener = AlertListener::builder(server.url())
        .token(server.token())
        .reconnect(Reconnect::exponential(
            Duration::from_secs(300),
            Duration::from_secs(300),
        ))
        .handler(tx)
        .start()
        .unwrap();
    let state = wait_state(&rx, |s| matches!(s, ConnectionState::Disconnected { .. }));
    let ConnectionState::Disconnected {
        retry_in: Some(_), ..
    } = state
    else {
        panic!("503 is retried: {state:?}")
    };
    timed_stop("during backoff", listener);
}

#[test]
fn stop_from_inside_the_callback_ends_the_listener_without_deadlock() {
    let server = MockServer::start();
    let handle: Arc<OnceLock<StopHandle>> = Arc::default();
    let in_callback = Arc::clone(&handle);
    let (seen_tx, seen_rx) = crossbeam_channel::unbounded();
    let listener = AlertListener::builder(server.url())
        .token(server.token())
        .callback(move |alert| {
            in_callback.get().expect("handle set").stop();
            seen_tx.send(seq_of(&alert)).unwrap();
        })
        .start()
        .unwrap();
    handle.set(listener.stop_handle()).ok().unwrap();
    assert!(server.wait_for_clients(1, HANG_GUARD));
    server.send(&numbered_frame(1));
    assert_eq!(seen_rx.recv_timeout(HANG_GUARD).unwrap(), 1);
    assert!(listener.join().is_ok(), "a stop is not an error");
    assert!(!handle.get().unwrap().is_running());
}

#[test]
fn stop_on_the_listener_itself_from_inside_its_callback_does_not_self_join() {
    let server = MockServer::start();
    let slot: Arc<Mutex<Option<AlertListener>>> = Arc::default();
    let in_callback = Arc::clone(&slot);
    let (done_tx, done_rx) = crossbeam_channel::unbounded();
    let listener = AlertListener::builder(server.url())
        .token(server.token())
        .callback(move |_| {
            if let Some(listener) = in_callback.lock().unwrap().take() {
                listener.stop();
                done_tx.send(()).unwrap();
            }
        })
        .start()
        .unwrap();
    let handle = listener.stop_handle();
    *slot.lock().unwrap() = Some(listener);
    assert!(server.wait_for_clients(1, HANG_GUARD));
    server.send(&numbered_frame(1));
    done_rx
        .recv_timeout(HANG_GUARD)
        .expect("stop() returned inside the callback");
    assert!(server.wait_for_no_clients(HANG_GUARD));
    let _ = handle;
}

#[test]
fn stop_handle_works_from_another_thread() {
    let server = MockServer::start();
    server.set_fault(Fault::Unresponsive);
    let (listener, rx) = connected_with(&server, Transport::WebSocket, |b| {
        b.heartbeat(far_heartbeat())
    });
    let handle = listener.stop_handle();
    std::thread::spawn(move || handle.stop()).join().unwrap();
    // The handle only signals; the thread ends as soon as its read is woken. (join() on
    // a thread of its own, so that a failure here does not wait for the read.)
    std::thread::spawn(move || listener.join());
    assert!(matches!(
        rx.recv_timeout(STOP_BOUND),
        Ok(Event::State(ConnectionState::Stopped))
    ));
}

#[test]
fn dropping_the_listener_stops_it() {
    let server = MockServer::start();
    server.set_fault(Fault::Unresponsive);
    for transport in BOTH {
        let (listener, rx) = connected_with(&server, transport, |b| b.heartbeat(far_heartbeat()));
        let handle = listener.stop_handle();
        within_bound(&format!("drop {transport:?}"), move || drop(listener));
        assert!(!handle.is_running(), "drop waits for the thread");
        wait_state(&rx, |s| matches!(s, ConnectionState::Stopped));
        assert!(server.wait_for_no_clients(HANG_GUARD));
    }
}

#[test]
fn join_waits_for_a_listener_that_ends_by_itself() {
    let server = MockServer::start();
    for transport in BOTH {
        let (builder, rx) = builder(&server, transport);
        let listener = builder.reconnect(Reconnect::never()).start().unwrap();
        wait_state(&rx, |s| matches!(s, ConnectionState::Connected { .. }));
        assert!(listener.is_running());
        server.close_all();
        assert!(matches!(
            ends_for_good(listener, &rx),
            Err(Error::Closed { .. })
        ));
    }
}

#[test]
fn is_running_turns_false_after_stop() {
    let server = MockServer::start();
    let (listener, _rx) = connected(&server, Transport::WebSocket);
    let handle = listener.stop_handle();
    assert!(listener.is_running() && handle.is_running());
    listener.stop();
    assert!(!handle.is_running());
}

#[test]
fn stop_while_a_callback_runs_returns_once_that_callback_returns() {
    let server = MockServer::start();
    let (entered_tx, entered) = crossbeam_channel::bounded(1);
    let (release_tx, release) = crossbeam_channel::bounded::<()>(1);
    let listener = AlertListener::builder(server.url())
        .token(server.token())
        .callback(move |_| {
            entered_tx.send(()).unwrap();
            let _ = release.recv_timeout(HANG_GUARD);
        })
        .start()
        .unwrap();
    assert!(server.wait_for_clients(1, HANG_GUARD));
    server.send(&numbered_frame(1));
    entered.recv_timeout(HANG_GUARD).unwrap();
    let (stopped_tx, stopped) = crossbeam_channel::bounded(1);
    std::thread::spawn(move || {
        listener.stop();
        stopped_tx.send(()).unwrap();
    });
    // The callback is still running: stop() must be waiting for it.
    assert!(stopped.recv_timeout(Duration::from_millis(200)).is_err());
    release_tx.send(()).unwrap();
    stopped
        .recv_timeout(HANG_GUARD)
        .expect("stop returns once the callback returned");
}
