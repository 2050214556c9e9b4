//! Listens to a real Plex Media Server and prints every notification as it arrives, one
//! line each: this crate's take on python-plexapi's `tools/plex-alertlistener.py`.
//!
//! It checks the URL and the token first (a wrong token or an unreachable server fails at
//! once, exit code 1), then listens until Ctrl-C (exit code 0) or until the listener ends
//! by itself, e.g. when the token is revoked (exit code 1). Bad flags exit with code 2.
//!
//! ```text
//! cargo run --example listen -- --url http://192.168.1.5:32400 --token <X-Plex-Token>
//! cargo run --example listen -- --server "Living Room"   # after the login example
//! PLEX_URL=http://192.168.1.5:32400 PLEX_TOKEN=<X-Plex-Token> cargo run --example listen
//! cargo run --example listen -- --json --filters playing | jq .PlaySessionStateNotification
//! cargo run --example listen -- --trackers --json | jq 'select(.event == "stopped")'
//! cargo run --example listen -- --help
//! ```

#[path = "support/mod.rs"]
mod support;

use std::io::Write;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use crossbeam_channel::{never, select};
use plex_alerts::{Alert, ConnectionState, Event, LibraryEvent, SessionEvent};
use serde::Serialize;
use support::cli::{self, Failure};

const PROGRAM: &str = "listen";

fn usage() -> String {
    format!(
        "\
listen: print a Plex Media Server's real-time notifications as they arrive.

It first checks the URL and the token with one request, then listens (over WebSocket or
EventSource), reconnecting by itself when the connection drops, until Ctrl-C.
Each notification is printed on stdout as one readable line after the time of day (UTC),
or with --json as its raw JSON, one object per line. With --trackers, what the session
and library trackers make of the notifications is printed instead (sessions started,
paused, stopped; items added, deleted; scans), with --json as one JSON object per event.
Connection changes and errors go to stderr.

usage: cargo run --example listen -- [--url URL] [--token TOKEN] [options]
       cargo run --example listen -- --server NAME [options]

options:
  --json                      print each notification as one line of raw JSON (the object
                              under NotificationContainer, as python-plexapi hands it to
                              its callback) and nothing else on stdout: for jq
  --trackers                  print the session and library trackers' events instead of
                              the notifications; with --json one object per event,
                              {{\"event\": \"paused\", \"session\": {{..}}}} or
                              {{\"event\": \"item_added\", \"item\": {{..}}}}, ...
{flags}

environment:
{env}

exit codes: 0 after Ctrl-C; 1 if the server can't be used (unreachable, wrong token) or
the listener ends by itself (e.g. the token was revoked); 2 for bad usage.

examples:
  cargo run --example listen -- --url http://192.168.1.5:32400 --token abc123
  cargo run --example listen -- --server \"Living Room\"   (after the login example)
  PLEX_URL=https://192.168.1.5:32400 PLEX_TOKEN=abc123 \\
      cargo run --example listen -- --accept-hostname-mismatch --filters playing,timeline
  cargo run --example listen -- --json | jq -c 'select(.type == \"activity\")'
  cargo run --example listen -- --trackers --json | jq -c 'select(.event == \"item_added\")'",
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
    let (mut json, mut trackers) = (false, false);
    let Some(options) = cli::parse(&usage(), |flag, _| {
        Ok(match flag {
            "--json" => {
                json = true;
                true
            }
            "--trackers" => {
                trackers = true;
                true
            }
            _ => false,
        })
    })?
    else {
        return Ok(());
    };
    let Some(plex) = cli::server(&options)? else {
        return Err(Failure::usage(
            "no server: pass --url (or set PLEX_URL), or --server NAME",
        ));
    };
    let url = plex.url().to_owned();
    let (events_tx, events) = crossbeam_channel::unbounded();
    let mut listener = plex
        .alert_listener()
        .transport(options.transport)
        .filters(options.filters.clone())
        .handler(events_tx);
    // The trackers' events, as the lines to print; they end with the listener.
    let (lines_tx, lines) = crossbeam_channel::unbounded();
    let tracker_error = |error: plex_alerts::Error| eprintln!("{} error: {error}", now());
    let _trackers = trackers.then(|| {
        let tx = lines_tx.clone();
        let sessions = plex
            .session_tracker()
            .handler(move |event: SessionEvent| drop(tx.send(tracked(&event, json))))
            .callback_error(tracker_error)
            .attach(&mut listener);
        let tx = lines_tx.clone();
        let library = plex
            .library_tracker()
            .handler(move |event: LibraryEvent| drop(tx.send(tracked(&event, json))))
            .callback_error(tracker_error)
            .attach(&mut listener);
        (sessions, library)
    });
    drop(lines_tx);
    let mut lines = if trackers { lines } else { never() };
    let listener = listener.start().map_err(Failure::usage)?;
    // Set after connecting: until then the default Ctrl-C (end the process) is what we want.
    let ctrl_c = cli::ctrl_c()?;
    eprintln!(
        "listening to {} ({}) at {url}{}",
        plex.friendly_name(),
        plex.version(),
        if json { "" } else { "; times are UTC" }
    );

    // The last error the listener reported: why it ended, if it ends by itself.
    let mut last_error = None;
    loop {
        select! {
            recv(ctrl_c) -> _ => {
                eprintln!("{} stopping", now());
                listener.stop();
                return Ok(());
            }
            recv(lines) -> line => match line {
                Ok(line) => {
                    if writeln!(std::io::stdout(), "{line}").is_err() {
                        listener.stop();
                        return Ok(());
                    }
                }
                // The trackers have ended: the listener's Stopped follows.
                Err(_) => lines = never(),
            },
            recv(events) -> event => match event {
                Ok(Event::Alert(alert)) if !trackers => {
                    if print_alert(&alert, json).is_err() {
                        // stdout is gone (`| head`, say): nobody is reading any more.
                        listener.stop();
                        return Ok(());
                    }
                }
                Ok(Event::Error(error)) => {
                    eprintln!("{} error: {error}", now());
                    last_error = Some(error);
                }
                // The error is already printed above; say only what happens next.
                Ok(Event::State(ConnectionState::Disconnected { retry_in: Some(d), .. })) => {
                    eprintln!("{} [disconnected; retrying in {d:.1?}]", now());
                }
                Ok(Event::State(ConnectionState::Disconnected { retry_in: None, .. })) => {
                    eprintln!("{} [disconnected; not retrying]", now());
                }
                Ok(Event::State(ConnectionState::Stopped)) | Err(_) => break,
                Ok(Event::State(state)) => eprintln!("{} [{state}]", now()),
                Ok(_) => {}
            },
        }
    }
    let _ = listener.join(); // its error was printed as it came
    Err(Failure::runtime(match last_error {
        Some(error) => format!("the listener ended: {error}"),
        None => "the listener ended".to_owned(),
    }))
}

/// A tracker's event as a line: one JSON object with `--json`, else readable.
fn tracked<E: Serialize + std::fmt::Display>(event: &E, json: bool) -> String {
    match json {
        true => serde_json::to_string(event).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}")),
        false => format!("{} » {event}", now()),
    }
}

fn print_alert(alert: &Alert, json: bool) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    if !json {
        return writeln!(out, "{} {alert}", now());
    }
    let raw = alert.raw_json();
    if raw.contains('\n') {
        // One object per line, whatever the server's formatting.
        writeln!(out, "{}", alert.raw())
    } else {
        writeln!(out, "{raw}")
    }
}

/// The time of day, UTC, as HH:MM:SS: local time needs the time zone database, which std
/// does not read (a crate such as `jiff` or `chrono` does).
fn now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format!(
        "{:02}:{:02}:{:02}",
        secs / 3600 % 24,
        secs / 60 % 60,
        secs % 60
    )
}
