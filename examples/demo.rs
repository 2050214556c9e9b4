//! No Plex server needed: starts the crate's mock server, a small Plex, and has it play a
//! short story (a library scan that finds a new episode, someone watching it with pauses
//! and a transcode). It listens, prints each alert as it arrives and, marked `»`, what
//! the library and session trackers make of them, then stops and says how long stopping
//! took.
//!
//! ```text
//! cargo run --example demo
//! cargo run --example demo -- --transport eventsource
//! ```

use std::time::{Duration, Instant};

use plex_alerts::mock::MockServer;
use plex_alerts::{ConnectionState, LibraryEvent, PlexServer, SessionEvent, Transport};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let transport = match parse_transport()? {
        Some(t) => t,
        None => return Ok(()),
    };
    let server = MockServer::start();
    println!(
        "mock Plex server listening on {} ({transport:?})\n",
        server.url()
    );
    let lib = server.library();
    let show = lib.add_show("TV Shows", "Severance");
    let season = lib.add_season(&show, 2);
    let alice = server.add_user("alice");
    let tv = server.add_player("Living Room TV");

    let plex = PlexServer::connect(server.url(), server.token())?;
    let (connected_tx, connected) = crossbeam_channel::bounded(1);
    let (ended_tx, ended) = crossbeam_channel::bounded(1);
    let (added_tx, added) = crossbeam_channel::bounded(1);
    let mut listener = plex
        .alert_listener()
        .transport(transport)
        .callback(|alert| println!("  {alert}"))
        .callback_error(|error| eprintln!("  error: {error}"))
        .on_state(move |state| {
            println!("[{state}]");
            if matches!(state, ConnectionState::Connected { .. }) {
                let _ = connected_tx.try_send(());
            }
        });
    let library = plex
        .library_tracker()
        .handler(move |event: LibraryEvent| {
            // Items and scans; the activities' progress is in the raw alerts above.
            let activity = matches!(
                event,
                LibraryEvent::ActivityStarted(_)
                    | LibraryEvent::ActivityProgress(_)
                    | LibraryEvent::ActivityEnded(_)
            );
            if !activity {
                println!("  » {event}");
            }
            if matches!(event, LibraryEvent::ItemAdded(_)) {
                let _ = added_tx.try_send(());
            }
        })
        .attach(&mut listener);
    let sessions = plex
        .session_tracker()
        .handler(move |event: SessionEvent| {
            println!("  » {event}");
            if matches!(event, SessionEvent::Stopped { .. }) {
                let _ = ended_tx.try_send(());
            }
        })
        .attach(&mut listener);
    let listener = listener.start()?;
    connected.recv_timeout(Duration::from_secs(10))?;
    // What the server held before is not news: the trackers read it first.
    let wait = Duration::from_secs(10);
    if !(library.wait_synced(wait) && sessions.wait_synced(wait)) {
        return Err("the trackers' first sync did not come".into());
    }
    // A pause between steps, so that the output reads as a story.
    let beat = || std::thread::sleep(Duration::from_millis(150));
    beat();

    println!("\nA library scan finds a new episode:");
    let mut scan = server.scan("TV Shows");
    beat();
    let episode = scan.add_episode(&season, 1, "Hello, Ms. Cobel", 2_880_000);
    beat();
    scan.progress(60);
    beat();
    scan.finish();
    added.recv_timeout(Duration::from_secs(10))?;
    beat();

    println!("\nalice watches it on the living-room TV (transcoded):");
    let playback = server.play(&alice, &episode, &tv);
    beat();
    playback.start_transcode();
    beat();
    playback.pause();
    beat();
    playback.resume();
    beat();
    playback.seek(2_700_000);
    beat();
    playback.stop();
    ended.recv_timeout(Duration::from_secs(10))?;
    beat();

    let stats = listener.stats();
    let started = Instant::now();
    listener.stop();
    println!(
        "\n{} alerts, {} bytes received; stop() returned in {:?}",
        stats.alerts,
        stats.bytes_received,
        started.elapsed()
    );
    Ok(())
}

fn parse_transport() -> Result<Option<Transport>, String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        [] => Ok(Some(Transport::WebSocket)),
        ["--transport", "websocket"] | ["--transport=websocket"] => Ok(Some(Transport::WebSocket)),
        ["--transport", "eventsource"] | ["--transport=eventsource"] => {
            Ok(Some(Transport::EventSource))
        }
        ["-h"] | ["--help"] => {
            println!("usage: demo [--transport websocket|eventsource]");
            Ok(None)
        }
        other => Err(format!(
            "unexpected arguments {other:?}; usage: demo [--transport websocket|eventsource]"
        )),
    }
}
