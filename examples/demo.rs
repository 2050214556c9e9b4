//! No Plex server needed: starts the crate's mock server, has it play a short story (a
//! library scan, a new episode, a playback with pauses, a transcode), listens to it and
//! prints each alert as it arrives, then stops and says how long stopping took.
//!
//! ```text
//! cargo run --example demo
//! cargo run --example demo -- --transport eventsource
//! ```

use std::time::{Duration, Instant};

use plex_alerts::mock::MockServer;
use plex_alerts::{AlertListener, ConnectionState, Transport};
use serde_json::{Value, json};

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

    let (alerts_tx, alerts) = crossbeam_channel::unbounded();
    let (connected_tx, connected) = crossbeam_channel::bounded(1);
    let listener = AlertListener::builder(server.url())
        .token(server.token())
        .transport(transport)
        .callback(move |alert| {
            println!("  {alert}");
            let _ = alerts_tx.send(());
        })
        .callback_error(|error| eprintln!("  error: {error}"))
        .on_state(move |state| {
            println!("[{state}]");
            if matches!(state, ConnectionState::Connected { .. }) {
                let _ = connected_tx.try_send(());
            }
        })
        .start()?;
    connected.recv_timeout(Duration::from_secs(10))?;

    let script = story();
    for (caption, frame) in &script {
        if let Some(caption) = caption {
            println!("\n{caption}");
        }
        server.send(&frame.to_string());
        // Wait for the alert to be printed before the next one, so output reads in order.
        alerts.recv_timeout(Duration::from_secs(10))?;
        std::thread::sleep(Duration::from_millis(120));
    }

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

/// Wraps children in a NotificationContainer frame, as the server sends them.
fn frame(kind: &str, child_key: &str, child: Value) -> Value {
    json!({"NotificationContainer": {"type": kind, "size": 1, child_key: [child]}})
}

fn activity(event: &str, progress: u32, subtitle: &str) -> Value {
    frame(
        "activity",
        "ActivityNotification",
        json!({"event": event, "uuid": "6f2c7a1e", "Activity": {
            "uuid": "6f2c7a1e", "type": "library.update.section", "cancellable": true,
            "userID": 1, "title": "Scanning TV Shows", "subtitle": subtitle, "progress": progress,
            "Context": {"librarySectionID": "2"}}}),
    )
}

/// A timeline entry for the new episode. Real servers send `metadataState` while an item
/// is created or changes (created, loading, processing, deleted), and none with state 5.
fn timeline(state: u32, metadata_state: Option<&str>) -> Value {
    let mut entry = json!({"identifier": "com.plexapp.plugins.library", "sectionID": "2",
        "itemID": "5123", "parentItemID": "5120", "rootItemID": "5100", "type": 4,
        "title": "The Arrival", "state": state, "updatedAt": 1_732_280_000});
    if let Some(metadata_state) = metadata_state {
        entry["metadataState"] = json!(metadata_state);
    }
    frame("timeline", "TimelineEntry", entry)
}

fn playing(state: &str, offset_ms: u64) -> Value {
    frame(
        "playing",
        "PlaySessionStateNotification",
        json!({"sessionKey": "23", "clientIdentifier": "livingroom-tv", "guid": "",
               "ratingKey": "5123", "url": "", "key": "/library/metadata/5123",
               "viewOffset": offset_ms, "playQueueItemID": 9001, "playQueueID": 412,
               "state": state, "transcodeSession": "k2u3rz7x"}),
    )
}

fn transcode(kind: &str, progress: f64, speed: f64) -> Value {
    frame(
        kind,
        "TranscodeSession",
        json!({"key": "/transcode/sessions/k2u3rz7x", "throttled": false, "complete": kind.ends_with("end"),
               "progress": progress, "speed": speed, "duration": 2_640_000, "context": "streaming",
               "sourceVideoCodec": "hevc", "sourceAudioCodec": "eac3", "videoDecision": "transcode",
               "audioDecision": "copy", "protocol": "hls", "container": "mpegts", "videoCodec": "h264",
               "audioCodec": "eac3", "audioChannels": 6, "transcodeHwRequested": true}),
    )
}

fn story() -> Vec<(Option<&'static str>, Value)> {
    vec![
        (
            Some("A library scan finds a new episode:"),
            activity("started", 0, "Scanning"),
        ),
        (None, activity("updated", 35, "The Arrival")),
        (None, timeline(0, Some("created"))),
        (None, activity("updated", 80, "Matching")),
        (None, timeline(5, None)),
        (None, activity("ended", 100, "")),
        (
            None,
            frame(
                "status",
                "StatusNotification",
                json!({"title": "Library scan complete", "description": "", "notificationName": "LIBRARY_UPDATE"}),
            ),
        ),
        (
            Some("Someone watches it on the living-room TV (transcoded):"),
            transcode("transcodeSession.start", 0.0, 0.0),
        ),
        (None, playing("playing", 0)),
        (None, transcode("transcodeSession.update", 12.5, 4.2)),
        (None, playing("playing", 10_000)),
        (None, playing("paused", 14_500)),
        (None, playing("playing", 14_500)),
        (None, playing("stopped", 61_000)),
        (None, transcode("transcodeSession.end", 100.0, 0.0)),
    ]
}
