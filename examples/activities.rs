//! Live progress bars for the server's activities: library scans, metadata refreshes,
//! media analysis, preview thumbnails. The library tracker turns the server's `activity`
//! notifications into `LibraryEvent::ActivityStarted`, `ActivityProgress` and
//! `ActivityEnded` (each `ended` once, however often the server repeats it; activities that
//! ended or ran on while the listener was away set right from `/activities` when it comes
//! back); this shows one bar per running activity with `indicatif`.
//!
//! Without a URL it needs no Plex server: it starts the crate's mock server, plays three
//! overlapping activities through it, and ends by itself. With `--url`/`--token` (or
//! `PLEX_URL`/`PLEX_TOKEN`) it watches a real server until Ctrl-C; start a library scan
//! there to see bars.
//!
//! ```text
//! cargo run --example activities
//! cargo run --example activities -- --url http://192.168.1.5:32400 --token <X-Plex-Token>
//! ```

#[path = "support/mod.rs"]
mod support;

use std::collections::HashMap;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, never, select};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use plex_alerts::mock::MockServer;
use plex_alerts::{Activity, LibraryEvent, PlexServer};
use serde_json::json;
use support::cli::{self, Failure};

const PROGRAM: &str = "activities";

fn usage() -> String {
    format!(
        "\
activities: live progress bars for a Plex Media Server's activities (library scans,
metadata refreshes, media analysis, preview thumbnails), one bar per running activity.

Without a URL or a server's name it needs no server: it plays a demo through a built-in
mock server and ends by itself. With one (--url or PLEX_URL, or --server), it checks the
token and watches that server until Ctrl-C; start a library scan there to see bars.

usage: cargo run --example activities -- [--url URL] [--token TOKEN] [options]
       cargo run --example activities -- --server NAME [options]

options:
{flags}

environment:
{env}

exit codes: 0 when the demo ends or after Ctrl-C; 1 if the server can't be used
(unreachable, wrong token) or the listener ends by itself; 2 for bad usage.

examples:
  cargo run --example activities
  cargo run --example activities -- --url http://192.168.1.5:32400 --token abc123",
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
    let Some(options) = cli::parse(&usage(), |_, _| Ok(false))? else {
        return Ok(());
    };
    let (events_tx, events) = crossbeam_channel::unbounded();
    let (errors_tx, errors) = crossbeam_channel::unbounded();
    // The mock server lives as long as `_mock`; `script_done` fires when its script has played.
    let (plex, _mock, mut script_done) = match cli::server(&options)? {
        Some(plex) => {
            eprintln!(
                "watching {} ({}) at {}",
                plex.friendly_name(),
                plex.version(),
                plex.url()
            );
            (plex, None, never())
        }
        None => {
            let mock = Arc::new(MockServer::start());
            eprintln!(
                "no --url or --server: playing a demo through a mock Plex server at {}",
                mock.url()
            );
            let plex = PlexServer::connect(mock.url(), mock.token()).map_err(Failure::runtime)?;
            let done = play_script(Arc::clone(&mock));
            (plex, Some(mock), done)
        }
    };
    let tracker_errors = errors_tx.clone();
    let mut listener = plex
        .alert_listener()
        .transport(options.transport)
        .filters(options.filters)
        .callback_error(move |error| drop(errors_tx.send(error)));
    let _library = plex
        .library_tracker()
        .handler(events_tx)
        .callback_error(move |error| drop(tracker_errors.send(error)))
        .attach(&mut listener);
    let listener = listener.start().map_err(Failure::usage)?;
    let ctrl_c = cli::ctrl_c()?;

    let bars = MultiProgress::new();
    // Without a terminal, indicatif draws nothing: print a line per start and end instead.
    let plain = !std::io::stderr().is_terminal();
    let say = |line: String| match plain {
        true => eprintln!("{line}"),
        false => drop(bars.println(line)),
    };
    let style = ProgressStyle::with_template(
        "{spinner:.green} {prefix:<38.bold} [{bar:30.cyan/blue}] {pos:>3}% {msg:.dim}",
    )
    .map_err(Failure::runtime)?
    .progress_chars("=> ");
    let mut running: HashMap<String, (ProgressBar, Instant)> = HashMap::new();
    let mut script_over = false;
    let mut last_error = None;
    let ended_by_itself = loop {
        // In the demo, stop once the script has played and every bar has ended.
        if script_over && running.is_empty() {
            break false;
        }
        let event = select! {
            recv(events) -> event => event,
            recv(errors) -> error => {
                if let Ok(error) = error {
                    say(format!("error: {error}"));
                    last_error = Some(error);
                }
                continue;
            }
            recv(ctrl_c) -> _ => break false,
            recv(script_done) -> _ => {
                script_over = true;
                script_done = never(); // a finished script's channel is always ready
                continue;
            }
        };
        let (activity, ended) = match event {
            Ok(LibraryEvent::ActivityStarted(a) | LibraryEvent::ActivityProgress(a)) => (a, false),
            Ok(LibraryEvent::ActivityEnded(a)) => (a, true),
            Ok(_) => continue,    // items and scans: see the `new_items` example
            Err(_) => break true, // the listener ended by itself
        };
        let Activity {
            uuid,
            title,
            subtitle,
            progress,
            ..
        } = activity;
        let Some(uuid) = uuid else { continue };
        let title = title.unwrap_or_else(|| "(untitled)".to_owned());
        if ended {
            if let Some((bar, since)) = running.remove(&uuid) {
                bar.finish_and_clear();
                bars.remove(&bar);
                say(format!("✓ {title} done in {:.1?}", since.elapsed()));
            }
            continue;
        }
        let (bar, _) = running.entry(uuid).or_insert_with(|| {
            let bar = bars.add(ProgressBar::new(100).with_style(style.clone()));
            bar.set_prefix(title.clone());
            bar.enable_steady_tick(Duration::from_millis(100));
            say(format!("▶ {title}"));
            (bar, Instant::now())
        });
        // -1 is "indeterminate".
        bar.set_position(progress.unwrap_or(0.0).clamp(0.0, 100.0).round() as u64);
        bar.set_message(subtitle.unwrap_or_default());
    };
    for (_, (bar, _)) in running.drain() {
        bar.finish_and_clear();
    }
    listener.stop();
    match (ended_by_itself, last_error) {
        (false, _) => Ok(()),
        (true, Some(error)) => Err(Failure::runtime(format!("the listener ended: {error}"))),
        (true, None) => Err(Failure::runtime("the listener ended")),
    }
}

/// One activity of the demo, in ticks of 100 ms.
struct Job {
    uuid: &'static str,
    kind: &'static str,
    title: &'static str,
    /// Shown in turn as it progresses.
    subtitles: [&'static str; 4],
    start: usize,
    length: usize,
    /// Ticks after its start when the listener first hears of it: a job that was already
    /// running when we connected shows up with an `updated`, never a `started`.
    heard_after: usize,
}

#[rustfmt::skip]
const JOBS: [Job; 3] = [
    Job { uuid: "9c1f0d2e", kind: "library.update.section", title: "Scanning Movies",
          subtitles: ["Alien (1979)", "Blade Runner (1982)", "Dune (2021)", "Heat (1995)"],
          start: 0, length: 40, heard_after: 0 },
    Job { uuid: "41d7aa90", kind: "library.refresh.items", title: "Refreshing metadata",
          subtitles: ["Matching", "Downloading artwork", "Reading chapters", "Saving"],
          start: 8, length: 25, heard_after: 0 },
    Job { uuid: "b2e07c55", kind: "media.generate.bif", title: "Generating video preview thumbnails",
          subtitles: ["Oppenheimer", "Oppenheimer", "Past Lives", "Past Lives"],
          start: 0, length: 30, heard_after: 12 },
];

/// Plays the jobs through the mock server, overlapping, each sending an update every
/// 100 ms; the returned channel is ready once they have all ended.
fn play_script(server: Arc<MockServer>) -> Receiver<()> {
    let (done_tx, done) = crossbeam_channel::bounded(1);
    thread::spawn(move || {
        // Nothing is replayed to a late listener: wait for it to connect.
        if !server.wait_for_clients(1, Duration::from_secs(10)) {
            return; // dropping done_tx ends the demo too
        }
        let last_tick = JOBS.iter().map(|j| j.start + j.length).max().unwrap_or(0);
        for tick in 0..=last_tick {
            for job in &JOBS {
                let Some(t) = tick.checked_sub(job.start) else {
                    continue;
                };
                if t < job.heard_after || t > job.length {
                    continue;
                }
                let event = match t {
                    0 => "started",
                    t if t == job.length => "ended",
                    _ => "updated",
                };
                let subtitle = job.subtitles[(t * 4 / (job.length + 1)).min(3)];
                let frame = json!({"NotificationContainer": {"type": "activity", "size": 1,
                    "ActivityNotification": [{"event": event, "uuid": job.uuid, "Activity": {
                        "uuid": job.uuid, "type": job.kind, "cancellable": true, "userID": 1,
                        "title": job.title, "subtitle": subtitle, "progress": 100 * t / job.length,
                        "Context": {"librarySectionID": "1"}}}]}});
                server.send(&frame.to_string());
            }
            thread::sleep(Duration::from_millis(100));
        }
        let _ = done_tx.send(());
    });
    done
}
