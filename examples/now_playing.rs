//! Who is watching what, live: one progress bar per playback session (user, player, item,
//! state), from the session tracker's events. A scrobbler or a "now playing" panel is this
//! `match` on `SessionEvent` and nothing else.
//!
//! Without a URL it needs no Plex server: it starts the crate's mock server, plays a short
//! story through it (two viewers, a pause, a seek, an autoplay, a stop that never comes),
//! and ends by itself. With `--url`/`--token` (or `PLEX_URL`/`PLEX_TOKEN`) it watches a
//! real server until Ctrl-C (it needs the server owner's token to see who is watching).
//!
//! ```text
//! cargo run --example now_playing
//! cargo run --example now_playing -- --url http://192.168.1.5:32400 --token <X-Plex-Token>
//! ```

#[path = "support/cli.rs"]
mod cli;

use std::collections::HashMap;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use cli::{Command, Failure};
use crossbeam_channel::{Receiver, never, select};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use plex_alerts::mock::MockServer;
use plex_alerts::{PlexServer, SessionEvent, TrackedSession};

const PROGRAM: &str = "now_playing";

fn usage() -> String {
    format!(
        "\
now_playing: who is watching what on a Plex Media Server, live, one bar per session.

Without a URL it needs no server: it plays a demo through a built-in mock server and ends
by itself. With one (--url or PLEX_URL), it checks the token and watches that server until
Ctrl-C (the server owner's token shows who is watching; another shows what only).

usage: cargo run --example now_playing -- [--url URL] [--token TOKEN] [options]

options:
{flags}

environment:
{env}

exit codes: 0 when the demo ends or after Ctrl-C; 1 if the server can't be used; 2 for
bad usage.",
        flags = cli::CONNECTION_FLAGS,
        env = cli::ENVIRONMENT,
    )
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.report(PROGRAM),
    }
}

fn run() -> Result<(), Failure> {
    let options = match cli::parse(|_, _| Ok(false))? {
        Command::Help => {
            cli::print_help(&usage());
            return Ok(());
        }
        Command::Run(options) => options,
    };
    let (events_tx, events) = crossbeam_channel::unbounded();
    let (plex, _mock, script_done) = match &options.url {
        Some(url) => (cli::connect(url, &options)?, None, never()),
        None => {
            let mock = Arc::new(
                MockServer::builder()
                    .progress_interval(Some(Duration::from_millis(500)))
                    .start()
                    .map_err(Failure::runtime)?,
            );
            eprintln!(
                "no --url: playing a demo through a mock Plex server at {}",
                mock.url()
            );
            let plex = PlexServer::connect(mock.url(), mock.token()).map_err(Failure::runtime)?;
            let done = play_script(Arc::clone(&mock));
            (plex, Some(mock), done)
        }
    };
    let tracker =
        plex.session_tracker()
            .stale_after(Duration::from_secs(if options.url.is_some() {
                300
            } else {
                3
            }));
    let mut listener = plex
        .alert_listener()
        .transport(options.transport)
        .filters(options.filters)
        .callback_error(|error| eprintln!("{error}"));
    let tracker = tracker
        .handler(events_tx)
        .callback_error(|error| eprintln!("{error}"))
        .attach(&mut listener);
    let listener = listener.start().map_err(Failure::usage)?;
    let ctrl_c = cli::ctrl_c()?;

    let bars = MultiProgress::new();
    let plain = !std::io::stderr().is_terminal();
    let say = |line: String| match plain {
        true => eprintln!("{line}"),
        false => drop(bars.println(line)),
    };
    let style = ProgressStyle::with_template("{prefix:<44.bold} [{bar:30.cyan/blue}] {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    let mut shown: HashMap<String, ProgressBar> = HashMap::new();
    let key = |s: &TrackedSession| {
        s.session_key
            .clone()
            .or(s.client_identifier.clone())
            .unwrap_or_default()
    };
    let show = |s: &TrackedSession, shown: &mut HashMap<String, ProgressBar>| {
        let bar = shown.entry(key(s)).or_insert_with(|| {
            let bar = bars.add(ProgressBar::new(1000));
            bar.set_style(style.clone());
            bar
        });
        let who = s
            .user
            .as_ref()
            .and_then(|u| u.title.as_deref())
            .unwrap_or("someone");
        let title = match (&s.media.grandparent_title, &s.media.title) {
            (Some(show), Some(t)) => format!("{show} — {t}"),
            (_, Some(t)) => t.clone(),
            _ => "?".to_owned(),
        };
        bar.set_prefix(format!("{who}: {title}"));
        bar.set_position((s.progress().unwrap_or(0.0) * 1000.0) as u64);
        bar.set_message(format!("{:?}", s.state).to_lowercase());
    };
    loop {
        select! {
            recv(events) -> event => {
                let Ok(event) = event else { break };
                match &event {
                    SessionEvent::Progress(s) => show(s, &mut shown),
                    SessionEvent::Stopped { session, reason } => {
                        if let Some(bar) = shown.remove(&key(session)) {
                            bar.finish_and_clear();
                        }
                        say(format!("{session} — ended ({reason})"));
                    }
                    other => {
                        show(other.session(), &mut shown);
                        say(other.to_string());
                    }
                }
            }
            recv(script_done) -> _ => {
                // What the tracker still knows, then the end.
                for s in tracker.now_playing() {
                    say(format!("still playing: {s}"));
                }
                break;
            }
            recv(ctrl_c) -> _ => break,
        }
    }
    listener.stop();
    for event in events.try_iter() {
        say(event.to_string());
    }
    Ok(())
}

/// The demo: two viewers, a pause, a seek, an autoplay to the next episode, a stop that
/// never comes (the tracker calls it stale), and a stop. Fires when it has played.
fn play_script(mock: Arc<MockServer>) -> Receiver<()> {
    let (done_tx, done) = crossbeam_channel::bounded(1);
    thread::spawn(move || {
        let lib = mock.library();
        let show = lib.add_show("TV Shows", "Severance");
        let season = lib.add_season(&show, 1);
        let ep1 = lib.add_episode(&season, 1, "Good News About Hell", 3_420_000);
        let ep2 = lib.add_episode(&season, 2, "Half Loop", 3_300_000);
        let movie = lib.add_movie("Movies", "Arrival", 6_960_000);
        let (alice, bob) = (mock.add_user("alice"), mock.add_user("bob"));
        let (tv, phone) = (mock.add_player("Living Room TV"), mock.add_player("Pixel"));
        let beat = |ms| thread::sleep(Duration::from_millis(ms));
        if !mock.wait_for_clients(1, Duration::from_secs(10)) {
            return;
        }
        beat(500);
        let a = mock.playback(&alice, &ep1, &tv).at(3_200_000).start();
        beat(700);
        let b = mock.play(&bob, &movie, &phone);
        beat(1500);
        b.pause();
        beat(1500);
        b.resume();
        b.seek(3_500_000);
        beat(1500);
        a.next(&ep2);
        beat(2000);
        b.vanish();
        beat(4500);
        a.stop();
        beat(800);
        let _ = done_tx.send(());
    });
    done
}
