//! What changes in the library, live: each item added, updated or deleted, once, from the
//! library tracker's events. A "new episode" app (set its languages, post it to a chat,
//! add it to a collection) is this `match` on `LibraryEvent` and nothing else.
//!
//! Without a URL it needs no Plex server: it starts the crate's mock server, plays a short
//! story through it (a season found in a burst, a movie added then upgraded, a file that
//! vanished mid-scan, a deletion, a section without a metadata agent), and ends by itself.
//! With `--url`/`--token` (or `PLEX_URL`/`PLEX_TOKEN`) it watches a real server until
//! Ctrl-C; add a file to a library there and scan it.
//!
//! ```text
//! cargo run --example new_items
//! cargo run --example new_items -- --group 60
//! cargo run --example new_items -- --url http://192.168.1.5:32400 --token <X-Plex-Token>
//! ```

#[path = "support/cli.rs"]
mod cli;

use std::process::ExitCode;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use cli::{Command, Failure};
use crossbeam_channel::{Receiver, never, select};
use plex_alerts::mock::MockServer;
use plex_alerts::{LibraryEvent, LibraryItem, PlexServer};

const PROGRAM: &str = "new_items";

fn usage() -> String {
    format!(
        "\
new_items: each item added to, updated in or deleted from a Plex Media Server's
libraries, once, as it happens; and the scans that found them.

Without a URL it needs no server: it plays a demo through a built-in mock server and ends
by itself. With one (--url or PLEX_URL), it checks the token and watches that server until
Ctrl-C.

usage: cargo run --example new_items -- [--url URL] [--token TOKEN] [options]

options:
  --group SECONDS             announce the episodes of one show (the tracks of one
                              album) added within SECONDS of each other as one event
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
    let mut group = None;
    let command = cli::parse(|flag, args| match flag {
        "--group" => {
            let value = args.value(flag)?;
            let seconds: f64 = value
                .parse()
                .ok()
                .filter(|s: &f64| s.is_finite() && *s > 0.0 && *s <= 86_400.0)
                .ok_or_else(|| {
                    Failure::usage(format!("--group {value:?}: seconds, up to a day"))
                })?;
            group = Some(Duration::from_secs_f64(seconds));
            Ok(true)
        }
        _ => Ok(false),
    })?;
    let options = match command {
        Command::Help => {
            cli::print_help(&usage());
            return Ok(());
        }
        Command::Run(options) => options,
    };
    let (events_tx, events) = crossbeam_channel::unbounded();
    let demo = options.url.is_none();
    let (plex, _mock, script_done) = match &options.url {
        Some(url) => (cli::connect(url, &options)?, None, never()),
        None => {
            let mock = Arc::new(MockServer::start());
            eprintln!(
                "no --url: playing a demo through a mock Plex server at {}",
                mock.url()
            );
            let plex = PlexServer::connect(mock.url(), mock.token()).map_err(Failure::runtime)?;
            let done = play_script(Arc::clone(&mock));
            (plex, Some(mock), done)
        }
    };
    let mut tracker = plex.library_tracker();
    if demo {
        // The demo's section without an agent is quiet for 2 s, not the default 30 s.
        tracker = tracker.quiet_period(Duration::from_secs(2));
    }
    if let Some(within) = group {
        tracker = tracker.group_within(within);
    }
    let mut listener = plex
        .alert_listener()
        .transport(options.transport)
        .filters(options.filters)
        .callback_error(|error| eprintln!("error: {error}"));
    let tracker = tracker
        .handler(events_tx)
        .callback_error(|error| eprintln!("error: {error}"))
        .attach(&mut listener);
    let listener = listener.start().map_err(Failure::usage)?;
    let ctrl_c = cli::ctrl_c()?;

    let say = |event: &LibraryEvent| match event {
        LibraryEvent::ItemAdded(item) => println!("+ added    {}", line(item)),
        LibraryEvent::ItemsAdded { group, items } => {
            println!("+ added    {} items to {group}:", items.len());
            for item in items {
                println!("             {}", line(item));
            }
        }
        LibraryEvent::ItemUpdated(item) => println!("~ updated  {}", line(item)),
        LibraryEvent::ItemDeleted(item) => println!("- deleted  {}", line(item)),
        LibraryEvent::ScanStarted { .. } | LibraryEvent::ScanFinished { .. } => {
            println!("  {event}")
        }
        // Activities (refreshes, analyses, thumbnails): see the `activities` example.
        _ => {}
    };
    loop {
        select! {
            recv(events) -> event => match event {
                Ok(event) => say(&event),
                Err(_) => break,
            },
            recv(script_done) -> _ => break,
            recv(ctrl_c) -> _ => break,
        }
    }
    let stats = tracker.stats();
    // What the tracker still holds (a group not yet due) comes as it stops.
    listener.stop();
    for event in events.try_iter() {
        say(&event);
    }
    eprintln!(
        "{} added, {} updated, {} deleted, {} never announced (deleted while processing); \
         metadata reads: {}; timeline entries and activities skipped or collapsed: {}",
        stats.added,
        stats.updated,
        stats.deleted,
        stats.deleted_before_ready,
        stats.metadata_reads,
        stats.not_library + stats.no_ops + stats.repeats,
    );
    Ok(())
}

/// One item, as an app shows it: "Show — S02E03 Title (TV Shows)".
fn line(item: &LibraryItem) -> String {
    let mut out = String::new();
    if let Some(g) = &item.grandparent_title {
        out.push_str(g);
        out.push_str(" — ");
    }
    if let (Some(season), Some(episode)) = (item.parent_index, item.index) {
        out.push_str(&format!("S{season:02}E{episode:02} "));
    }
    out.push_str(
        item.title
            .as_deref()
            .or(item.rating_key.as_deref())
            .unwrap_or("?"),
    );
    if let Some(section) = &item.library_section_title {
        out.push_str(&format!(" ({section})"));
    }
    out
}

/// The demo's story. Fires when it has played.
fn play_script(mock: Arc<MockServer>) -> Receiver<()> {
    let (done_tx, done) = crossbeam_channel::bounded(1);
    thread::spawn(move || {
        let lib = mock.library();
        let show = lib.add_show("TV Shows", "Severance");
        let season = lib.add_season(&show, 2);
        let old = lib.add_movie("Movies", "Arrival", 6_960_000);
        let beat = |ms| thread::sleep(Duration::from_millis(ms));
        // Nothing is replayed to a late listener: wait for its first sync.
        let synced = mock.wait_until(Duration::from_secs(10), |m| {
            m.clients() > 0 && m.answered("/library/recentlyAdded") > 0
        });
        if !synced {
            return; // dropping done_tx ends the demo too
        }
        // A season found in a burst: one event per episode (or one for all, with --group).
        let mut scan = mock.scan("TV Shows");
        for (i, title) in [
            (1, "Hello, Ms. Cobel"),
            (2, "Goodbye, Mrs. Selvig"),
            (3, "Who Is Alive?"),
        ] {
            scan.add_episode(&season, i, title, 3_300_000);
            beat(150);
        }
        scan.finish();
        beat(1500);
        // A movie found, then its file upgraded: one add, then one update.
        let mut scan = mock.scan("Movies");
        let dune = scan.add_movie("Dune: Part Two", 9_960_000);
        // A file that vanished before its processing ended: never announced.
        let gone = scan.add_movie("sample.mkv", 60_000);
        scan.delete(&gone);
        scan.finish();
        beat(1500);
        mock.update_item(&dune);
        beat(1000);
        // An item deleted from the library.
        mock.delete_item(&old);
        beat(1000);
        // A section without a metadata agent: processing stops at state 1, and the item
        // is announced once it has been quiet for the quiet period.
        let mut scan = mock.scan("Home Videos").without_agent();
        scan.add_movie("Birthday 2026", 180_000);
        scan.finish();
        beat(3500);
        let _ = done_tx.send(());
    });
    done
}
