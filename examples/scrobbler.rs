//! A scrobbler: what it would send to a service such as Trakt or Last.fm (here, a line
//! each), from the session tracker's events: a play's start, pause, resume and stop with
//! how far it got, the item before an autoplay as stopped, and an item marked watched on
//! the server once 90 % of it has played. The tracker carries what python-plexapi's
//! version of this app leaves out: who plays what, bound before the server forgets it,
//! stops that never come, reconnects and resyncs, a server restart reusing session keys.
//!
//! ```text
//! cargo run --example scrobbler    # a mock server plays a story through it
//! cargo run --example scrobbler -- --url http://192.168.1.5:32400 --token <X-Plex-Token>
//! ```
#[path = "support/mod.rs"]
mod support;

use std::collections::HashSet;
use std::fs::File;
use std::io::Write;

use plex_alerts::{MediaType, SessionEvent, TrackedSession};

fn main() {
    let mut app = support::App::start("scrobbler");
    let plex = app.plex.clone();
    // What it did for each play (by server, play id and item), kept across its restarts:
    // a play it started or marked watched before it restarted is not started or marked
    // again.
    let file = std::env::temp_dir().join("plex-alerts-scrobbler.txt");
    let server = plex.machine_identifier().to_owned();
    let text = std::fs::read_to_string(&file).unwrap_or_default();
    let mut done: HashSet<String> = text.lines().map(String::from).collect();
    let mut log = File::options().append(true).create(true).open(&file).ok();
    let mut first = move |s: &TrackedSession, what: &str| {
        let Some(play) = &s.play_id else { return true };
        let key = format!("{server} {play} {:?} {what}", s.media.rating_key);
        let new = done.insert(key.clone());
        if new {
            let _ = log.as_mut().map(|f| writeln!(f, "{key}"));
        }
        new
    };
    let tracker = app.plex.session_tracker().skip_transient(true);
    let tracker = tracker.watched_at(MediaType::Movie, 0.9);
    let tracker = tracker.watched_at(MediaType::Episode, 0.9);
    let _tracker = app.listen(tracker.handler(move |event: SessionEvent| {
        let who = event.session().user_name();
        let (verb, s) = match &event {
            SessionEvent::Started(s) if first(s, "start") => ("start", s),
            SessionEvent::Paused(s) => ("pause", s),
            SessionEvent::Resumed(s) => ("resume", s),
            SessionEvent::Stopped { session: s, .. } => ("stop", s),
            // Autoplay: the item before ended without a stop.
            SessionEvent::MediaChanged { previous, .. } => {
                let percent = 100.0 * event.previous_progress().unwrap_or(0.0);
                println!("stop {who} \"{previous}\" {percent:.1}%");
                first(event.session(), "start"); // not started again after a restart
                ("start", event.session())
            }
            SessionEvent::Watched(s) if first(s, "watched") => {
                match plex.mark_watched(s.media.rating_key.as_deref().unwrap_or_default()) {
                    Ok(()) => ("watched", s),
                    Err(e) => return eprintln!("could not mark \"{}\" watched: {e}", s.media),
                }
            }
            _ => return,
        };
        let percent = 100.0 * s.progress().unwrap_or(0.0);
        println!("{verb} {who} \"{}\" {percent:.1}%", s.media);
    }));
    app.wait();
}
