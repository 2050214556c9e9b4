//! The channel form: the listener sends every [`Event`] into a `crossbeam_channel`, and the
//! app's own loop `select!`s over it, its own shutdown channel and a ticker for its own
//! work. Nothing runs on the listener's thread but a channel send.
//!
//! Needs no Plex server: it starts the crate's mock server, and a helper thread plays the
//! part of the server (a few notifications, a dropped connection) and then of the app's
//! shutdown button.
//!
//! ```text
//! cargo run --example channel
//! ```

use std::thread;
use std::time::Duration;

use crossbeam_channel::{select, tick};
use plex_alerts::mock::MockServer;
use plex_alerts::{AlertListener, ConnectionState, Event};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = MockServer::start();

    // Every alert, error and state change arrives here, in order.
    let (events_tx, events) = crossbeam_channel::unbounded();
    let listener = AlertListener::builder(server.url())
        .token(server.token())
        .handler(events_tx) // a crossbeam_channel::Sender<Event> (std's mpsc works too)
        .start()?;

    // The app's own shutdown signal: a Ctrl-C handler or a "quit" button would send on it.
    let (shutdown_tx, shutdown) = crossbeam_channel::bounded::<()>(1);
    thread::scope(|s| {
        s.spawn(|| play_server_and_quit(&server, shutdown_tx));
        let ticker = tick(Duration::from_millis(400));
        let (mut alerts, mut lost) = (0, false);
        loop {
            select! {
                recv(events) -> event => match event? {
                    Event::Alert(alert) => {
                        alerts += 1;
                        println!("  {alert}");
                    }
                    Event::Error(error) => println!("  error: {error}"),
                    // Its error came just before, as an Event::Error.
                    Event::State(ConnectionState::Disconnected { .. }) => {
                        lost = true;
                        println!("[disconnected]");
                    }
                    // The server does not replay what it sent while we were away.
                    Event::State(ConnectionState::Connected { .. }) if lost => {
                        lost = false;
                        println!("[connected] -> resync over HTTP: /status/sessions, /activities");
                    }
                    Event::State(state) => println!("[{state}]"),
                    _ => {} // Event is non_exhaustive
                },
                recv(ticker) -> _ => println!("(tick: the app does its own work; {alerts} alerts so far)"),
                recv(shutdown) -> _ => break,
            }
        }
        // Stops at once, whatever the listener is doing; returns once its thread has ended.
        listener.stop();
        println!("stopped after {alerts} alerts");
        Ok(())
    })
}

/// The server's side of the story, then the app's shutdown.
fn play_server_and_quit(server: &MockServer, shutdown: crossbeam_channel::Sender<()>) {
    let pause = || thread::sleep(Duration::from_millis(300));
    let status = |title: &str| {
        server.send(&format!(
            r#"{{"NotificationContainer":{{"type":"status","size":1,"StatusNotification":[{{"title":"{title}","notificationName":"LIBRARY_UPDATE"}}]}}}}"#
        ));
    };
    // The server does not replay what was sent before the listener connected.
    server.wait_for_clients(1, Duration::from_secs(10));
    status("Library scan started");
    pause();
    server.send(r#"{"NotificationContainer":{"type":"playing","size":1,"PlaySessionStateNotification":[{"sessionKey":"23","key":"/library/metadata/5123","viewOffset":65000,"state":"paused"}]}}"#);
    pause();
    // The network drops: the listener reports it and reconnects by itself.
    server.reset_all();
    server.wait_for_handshakes(2, Duration::from_secs(10));
    status("Library scan complete");
    pause(); // let that alert be printed before the app shuts down
    let _ = shutdown.send(());
}
