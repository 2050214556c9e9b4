//! What the app examples (`scrobbler`, `now_playing`, `new_items`) share, so that each
//! example's own file holds the app and nothing else: the command-line flags (those of
//! `listen`), connecting (to a real server, or to a mock one playing the app's story),
//! Ctrl-C, and running until the story ends or Ctrl-C.
//!
//! Included with `#[path = "support/mod.rs"] mod support;` (a file in a subdirectory of
//! `examples/` is not built as an example of its own). Nothing here knows what an app
//! does with an event: that is in the app's file.
//!
//! ```text
//! let mut app = support::App::start("now_playing"); // flags, a server (or the mock)
//! let tracker = app.listen(app.plex.session_tracker().handler(..)); // then the story
//! app.wait(); // until the story ends, Ctrl-C, or the listener gives up
//! ```
// Each example uses some of it.
#![allow(dead_code)]

pub mod cli;
pub mod stories;

use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, never, select};
use plex_alerts::mock::MockServer;
use plex_alerts::{
    AlertListener, Builder, ConnectionState, LibraryTracker, LibraryTrackerBuilder, PlexServer,
    SessionTracker, SessionTrackerBuilder,
};

use cli::{Failure, Options};

/// How long a tracker's first sync may take before the app goes on without it.
const SYNC: Duration = Duration::from_secs(10);

/// An app example, running: the server it watches and how it stops.
pub struct App {
    /// The server: the one `--url` names, or the mock.
    pub plex: PlexServer,
    name: &'static str,
    options: Options,
    /// Without `--url`: the mock, and the story it is to play.
    mock: Option<Arc<MockServer>>,
    story: Option<stories::Play>,
    listener: Option<AlertListener>,
    /// Ready when the story has played (never, on a real server).
    story_done: Receiver<()>,
    ctrl_c: Receiver<()>,
    /// Ready when the listener has stopped (by itself, unless we stopped it).
    stopped: Receiver<()>,
    stopped_tx: Sender<()>,
}

impl App {
    /// Reads the flags; connects to the server they name (`--url`, or `--server` found
    /// through plex.tv) or, without either (and `PLEX_URL`), starts a mock server and sets
    /// up the app's story on it. `--help` prints the usage and exits; bad flags exit with
    /// code 2, a server that can't be used with code 1.
    pub fn start(name: &'static str) -> App {
        let options = match cli::parse(&usage(name), |_, _| Ok(false)) {
            Ok(Some(options)) => options,
            Ok(None) => std::process::exit(0),
            Err(failure) => failure.exit(name),
        };
        let (stopped_tx, stopped) = crossbeam_channel::bounded(1);
        let (plex, mock, story) = match cli::server(&options).unwrap_or_else(|f| f.exit(name)) {
            Some(plex) => (plex, None, None),
            None => {
                let mock = Arc::new(MockServer::start());
                let story = stories::story(name)(&mock);
                eprintln!(
                    "no --url or --server: a mock Plex server at {} plays a story for {name}",
                    mock.url()
                );
                let plex = PlexServer::connect(mock.url(), mock.token())
                    .unwrap_or_else(|e| Failure::runtime(e).exit(name));
                (plex, Some(mock), Some(story))
            }
        };
        App {
            plex,
            name,
            options,
            mock,
            story,
            listener: None,
            story_done: never(),
            ctrl_c: never(),
            stopped,
            stopped_tx,
        }
    }

    /// Starts a listener with the flags' transport and filters, with `tracker` on it
    /// (its errors, and the listener's, on stderr), waits for the tracker's first sync,
    /// and then, on the mock, plays the story. Returns the tracker's handle.
    pub fn listen<T: Tracker>(&mut self, tracker: T) -> T::Handle {
        let stopped = self.stopped_tx.clone();
        let mut listener = self
            .plex
            .alert_listener()
            .transport(self.options.transport)
            .filters(self.options.filters.clone())
            .callback_error(|error| eprintln!("error: {error}"))
            .on_state(move |state| match state {
                ConnectionState::Disconnected { .. } => eprintln!("[{state}]"),
                ConnectionState::Connected { outage: Some(_) } => eprintln!("[{state}]"),
                ConnectionState::Stopped => drop(stopped.try_send(())),
                _ => {}
            });
        let handle = tracker.attach_to(&mut listener);
        let listener = listener
            .start()
            .unwrap_or_else(|e| Failure::usage(e).exit(self.name));
        self.listener = Some(listener);
        // Set once listening: until then the default Ctrl-C (end the process) will do.
        self.ctrl_c = cli::ctrl_c().unwrap_or_else(|f| f.exit(self.name));
        if !T::wait_synced(&handle, SYNC) {
            eprintln!("warning: the tracker's first sync did not come within {SYNC:?}");
        }
        eprintln!(
            "listening to {} ({})",
            self.plex.friendly_name(),
            self.plex.version()
        );
        if let (Some(mock), Some(story)) = (self.mock.clone(), self.story.take()) {
            let (done_tx, done) = crossbeam_channel::bounded(1);
            std::thread::spawn(move || {
                story(&mock);
                let _ = done_tx.send(());
            });
            self.story_done = done;
        }
        handle
    }

    /// Runs until the story has played, Ctrl-C, or the listener gives up; then stops the
    /// listener, and with it the tracker, which hands on what it still holds (a group of
    /// episodes not yet due) before this returns.
    pub fn wait(self) {
        for () in self.until_end(never()) {}
    }

    /// `events`, as they come, until the story has played, Ctrl-C, or the listener gives
    /// up; then the listener is stopped, and what the tracker still had to say follows.
    pub fn until_end<T>(self, events: Receiver<T>) -> Events<T> {
        Events {
            app: self,
            events,
            ending: false,
        }
    }

    /// Stops the listener (and its tracker, which says what it still holds); exits with
    /// code 1 if the listener had ended by itself, with what ended it.
    fn end(&mut self, by_itself: bool) {
        let Some(listener) = self.listener.take() else {
            return;
        };
        match by_itself {
            false => listener.stop(),
            true => {
                let failure = match listener.join() {
                    Ok(()) => Failure::runtime("the listener ended"),
                    Err(error) => Failure::runtime(format!("the listener ended: {error}")),
                };
                failure.exit(self.name);
            }
        }
    }
}

/// The events of [`App::until_end`].
pub struct Events<T> {
    app: App,
    events: Receiver<T>,
    ending: bool,
}

impl<T> Iterator for Events<T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        if self.ending {
            // The listener has stopped: what is left is all there is.
            return self.events.try_recv().ok();
        }
        let app = &self.app;
        let by_itself = select! {
            recv(self.events) -> event => match event {
                Ok(event) => return Some(event),
                Err(_) => false,
            },
            recv(app.story_done) -> _ => false,
            recv(app.ctrl_c) -> _ => false,
            recv(app.stopped) -> _ => true,
        };
        self.ending = true;
        self.app.end(by_itself);
        self.events.try_recv().ok()
    }
}

/// A tracker builder an [`App`] can listen with.
pub trait Tracker {
    /// The tracker, running.
    type Handle;
    /// Attaches it to `listener`, its errors on stderr (a `callback_error` of the app's
    /// own is replaced: the apps here set none).
    fn attach_to(self, listener: &mut Builder) -> Self::Handle;
    /// Waits for its first sync.
    fn wait_synced(handle: &Self::Handle, timeout: Duration) -> bool;
}

impl Tracker for SessionTrackerBuilder {
    type Handle = SessionTracker;

    fn attach_to(self, listener: &mut Builder) -> SessionTracker {
        self.callback_error(|error| eprintln!("error: {error}"))
            .attach(listener)
    }

    fn wait_synced(handle: &SessionTracker, timeout: Duration) -> bool {
        handle.wait_synced(timeout)
    }
}

impl Tracker for LibraryTrackerBuilder {
    type Handle = LibraryTracker;

    fn attach_to(self, listener: &mut Builder) -> LibraryTracker {
        self.callback_error(|error| eprintln!("error: {error}"))
            .attach(listener)
    }

    fn wait_synced(handle: &LibraryTracker, timeout: Duration) -> bool {
        handle.wait_synced(timeout)
    }
}

fn usage(name: &str) -> String {
    format!(
        "\
{about}

Without a URL or a server's name it needs no server: a built-in mock Plex server plays a
short story, and the app ends when it has played. With one (--url or PLEX_URL, or --server
and the token the login example saved), it checks the token and watches that server until
Ctrl-C. The session trackers need the server owner's token to see who is watching.

usage: cargo run --example {name} -- [--url URL] [--token TOKEN] [options]
       cargo run --example {name} -- --server NAME [options]

options:
{flags}

environment:
{env}

exit codes: 0 when the story has played or after Ctrl-C; 1 if the server can't be used
or the listener gives up (a revoked token, say); 2 for bad usage.",
        about = stories::about(name),
        flags = cli::CONNECTION_FLAGS,
        env = cli::ENVIRONMENT,
    )
}
