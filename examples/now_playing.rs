//! "Now playing": a table of who plays what (user, title, player, state, how far),
//! printed again whenever it changes, from the session tracker's `now_playing()`, which
//! answers without a request: python-plexapi's version of this app reads
//! `/status/sessions` on every notification. The tracker also keeps the table right
//! across reconnects, stops that never come and server restarts.
//!
//! ```text
//! cargo run --example now_playing    # a mock server plays a story through it
//! cargo run --example now_playing -- --url http://192.168.1.5:32400 --token <X-Plex-Token>
//! ```
#[path = "support/mod.rs"]
mod support;

use plex_alerts::{PlaybackState::Playing, SessionEvent};

fn main() {
    let mut app = support::App::start("now_playing");
    let (tx, changes) = crossbeam_channel::unbounded();
    let _ = tx.send(()); // the table as it is first, then after each event
    let on_event = move |_: SessionEvent| tx.send(()).unwrap_or(());
    let tracker = app.listen(app.plex.session_tracker().handler(on_event));
    let percent = |p: f64| format!("{:.0}%", 100.0 * p);
    let mut shown = String::new();
    // Printed when it changed: a progress report that moves no percent changes nothing.
    for () in app.until_end(changes) {
        let sessions = tracker.now_playing();
        let (user, title, player, state, done) = ("USER", "TITLE", "PLAYER", "STATE", "DONE");
        let mut table = format!("{user:<8} {title:<40} {player:<16} {state:<9} {done:>6}\n");
        for s in &sessions {
            let (user, title, player, state) = (s.user_name(), &s.media, s.player_name(), s.state);
            let done = s.progress().map_or("?".into(), percent);
            table += &format!("{user:<8} {title:<40} {player:<16} {state:<9} {done:>6}\n");
        }
        let playing = sessions.iter().filter(|s| s.state == Playing).count();
        table += &format!("{} active streams ({playing} playing)\n", sessions.len());
        if table != shown {
            println!("{table}");
            shown = table;
        }
    }
}
