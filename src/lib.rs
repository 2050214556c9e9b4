//! Hear a Plex Media Server's real-time notifications from a synchronous program.
//!
//! A Plex Media Server tells its clients what happens as it happens: playback starting,
//! pausing and stopping, library items added and deleted, scans and their progress,
//! transcodes, changed settings. This crate's [`AlertListener`] listens on a thread of its
//! own, hands every notification to your closures (or your channel) as an [`Alert`],
//! reconnects when the network drops, and stops at once when you ask.
//!
//! # Quick start
//!
//! ```
//! # fn main() -> Result<(), plex_alerts::Error> {
//! # let server = plex_alerts::mock::MockServer::start();
//! # let (url, token) = (server.url(), server.token()); // "http://192.168.1.5:32400", your X-Plex-Token
//! use plex_alerts::{AlertListener, Notification};
//!
//! let listener = AlertListener::builder(&url)
//!     .token(&token)
//!     .callback(|alert| match alert.notification() {
//!         Notification::Playing(sessions) => {
//!             for s in sessions {
//!                 println!("{:?} {:?} at {:?} ms", s.rating_key, s.state, s.view_offset);
//!             }
//!         }
//!         _ => println!("{alert}"), // one readable line for any alert
//!     })
//!     .callback_error(|error| eprintln!("{error}"))
//!     .start()?;
//! // ... your program goes on; the callbacks run on the listener's thread ...
//! listener.stop(); // returns once the thread has ended
//! # Ok(())
//! # }
//! ```
//!
//! [`PlexServer::connect`] checks the URL and the token with a real request first, as
//! python-plexapi's `PlexServer(baseurl, token)` does, and starts listeners with them.
//!
//! # Sign in: plex.tv, the account's servers, the best connection
//!
//! A user has a Plex account, not a URL and a token. [`PinLogin`] signs in as Plex's own
//! apps do: the app shows a link, the user approves the sign-in at plex.tv, and
//! [`PinLogin::wait`] gives the [`PlexAccount`], whose [`token`](PlexAccount::token) the
//! app keeps (the crate stores nothing). With that token, [`PlexAccount::connect`] lists
//! the account's servers, owned and shared, each with its own token and connections
//! ([`ServerResource`]), and [`ServerResource::connect`] reaches one by its best
//! connection:
//!
//! ```
//! # fn main() -> Result<(), plex_alerts::Error> {
//! # let mock = plex_alerts::mock::MockServer::start();
//! # let plex_tv = plex_alerts::mock::MockPlexTv::start(&mock);
//! use std::time::Duration;
//! use plex_alerts::{Client, PinLogin, PlexAccount};
//!
//! let client = Client::new("Now Playing Lamp", "5b7c1e52-now-playing-lamp"); // the app's own
//! let pin = PinLogin::builder(&client) // or PinLogin::start(&client)
//! #   .plex_tv(plex_tv.url())
//!     .start()?;
//! println!("Open {} and allow access", pin.link());
//! # plex_tv.approve(pin.code());
//! let token = pin.wait(Duration::from_secs(600))?.token().to_owned(); // keep it privately
//!
//! // Next time, from the kept token:
//! let account = PlexAccount::builder(&client, &token) // or PlexAccount::connect(&client, &token)
//! #   .plex_tv(plex_tv.url())
//!     .connect()?;
//! let plex = account.server("plex-alerts mock")?.connect()?;
//! let listener = plex.start_alert_listener(|alert| println!("{alert}"), |e| eprintln!("{e}"))?;
//! # listener.stop();
//! # Ok(())
//! # }
//! ```
//!
//! - plex.tv ties a sign-in to the app's [`Client`] identifier: give it one of the app's
//!   own, kept across runs; [`Client::default`]'s, derived from the host name, is refused.
//! - [`PinLogin::wait`] asks plex.tv once a second; it ends with [`Error::PinExpired`]
//!   when the PIN expires (30 minutes), with [`Error::Timeout`] when its own timeout
//!   passes (wait again), and at once with [`Error::Stopped`] on [`PinLogin::stop`].
//! - [`ServerResource::connect`] tries every connection at once, each checked to answer
//!   with the server's machine identifier (another server answering there is refused,
//!   [`Error::WrongServer`]), and prefers local to remote to relay without waiting on the
//!   slow: once one answers, it waits 250 ms for a better kind, then takes the best that
//!   answered and stops the rest ([`ResourceConnector`] for the deadline, 15 s, and TLS).
//!   A `*.plex.direct` name that does not resolve is tried by its address, with the
//!   hostname-only relaxation. [`Error::NoConnection`] lists each URI tried and why.
//! - plex.tv is reached as a server is: the crate's own connector, a deadline per
//!   request, a stop ([`PlexAccount::stop`]), bounded answers (5,000 resources); its
//!   answers carry tokens, so an error quotes none of them. Neither token (the account's,
//!   a shared server's) appears in an error's text or a `Debug` print.
//! - Tests and proxies give plex.tv's URL ([`PinLoginBuilder::plex_tv`]); with the
//!   `mock` feature, [`mock::MockPlexTv`] is a plex.tv for tests.
//!
//! # Alerts
//!
//! An [`Alert`] is one notification: its type ([`Alert::kind`]: `playing`, `timeline`,
//! `activity`, ...), a typed view of every element the server sent
//! ([`Alert::notification`], a [`Notification`]), and the raw JSON ([`Alert::raw`]: the
//! object python-plexapi hands its callback, with every field the server sent).
//!
//! Servers differ: the same field arrives as a number from one and a string from another,
//! optional fields come and go, new types appear. So every typed field is optional,
//! identifiers are strings whatever the server sent, numbers written as strings are read
//! as numbers, unknown fields stay in the raw JSON, and a type this crate has no view for
//! arrives as [`Notification::Other`] with its raw JSON: nothing is dropped.
//!
//! # Who is playing, and what is the item: the server's REST calls
//!
//! A `playing` notification names a session key, a rating key, a state and an offset; not
//! who is watching, on which player, or what the item is called. [`PlexServer`] asks the
//! server, as python-plexapi does, with typed answers decoded as leniently as the
//! notifications (numbers or strings, `true` or `"1"`, every field optional, the raw JSON
//! kept):
//!
//! ```
//! # fn main() -> Result<(), plex_alerts::Error> {
//! # let mock = plex_alerts::mock::MockServer::start();
//! # let show = mock.library().add_show("TV Shows", "Severance");
//! # let season = mock.library().add_season(&show, 1);
//! # let episode = mock.library().add_episode(&season, 1, "Good News About Hell", 3_420_000);
//! # let (alice, tv) = (mock.add_user("alice"), mock.add_player("Living Room TV"));
//! # let _playback = mock.play(&alice, &episode, &tv);
//! # let (url, token) = (mock.url(), mock.token());
//! use plex_alerts::PlexServer;
//!
//! let plex = PlexServer::connect(&url, &token)?;
//! for session in plex.sessions()? {
//!     let who = session.user.as_ref().and_then(|u| u.title.clone());
//!     let on = session.player.as_ref().and_then(|p| p.title.clone());
//!     println!("{who:?} on {on:?}: {:?} {:?}", session.grandparent_title, session.title);
//!     if let Some(key) = &session.rating_key {
//!         let item = plex.metadata(key)?; // GET /library/metadata/{key}: guids, section, ...
//!         println!("  {:?}", item.map(|i| i.guids));
//!     }
//! }
//! # assert_eq!(plex.sessions()?.len(), 1);
//! # Ok(())
//! # }
//! ```
//!
//! [`PlexServer::sessions`] (`/status/sessions`) is for the server owner's token: another
//! token gets [`Error::Forbidden`], told apart from a wrong token
//! ([`Error::Unauthorized`]) and from a network failure. [`PlexServer::activities`]
//! (`/activities`) gives the jobs running now, as the same [`Activity`] an `activity`
//! notification carries, and [`PlexServer::identity`] the server's identity read afresh.
//! Requests use the listener's connect and TLS layer, timeouts and redaction.
//!
//! # Sessions: who plays what, as events
//!
//! What every app that listens for `playing` notifications writes by hand (remember each
//! session, look up who watches, drop the progress repeats, decide started, paused,
//! resumed and stopped, catch the stop that never comes, resync after a gap) is the
//! session tracker's job. [`PlexServer::track_sessions`] delivers [`SessionEvent`]s,
//! each with a snapshot of the session ([`TrackedSession`]: user, player, item, state,
//! offset, time paused):
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # use std::time::Duration;
//! # let mock = plex_alerts::mock::MockServer::start();
//! # let movie = mock.library().add_movie("Movies", "Arrival", 6_960_000);
//! # let (alice, tv) = (mock.add_user("alice"), mock.add_player("Living Room TV"));
//! # let (url, token) = (mock.url(), mock.token());
//! use plex_alerts::{PlexServer, SessionEvent};
//!
//! let plex = PlexServer::connect(&url, &token)?;
//! let (tx, events) = crossbeam_channel::unbounded();
//! let tracker = plex.track_sessions(tx)?; // a channel, or a closure taking a SessionEvent
//! tracker.wait_synced(Duration::from_secs(10)); // what played before it started is known
//! # let playback = mock.play(&alice, &movie, &tv);
//! # playback.seek(6_500_000);
//! # playback.stop();
//! for event in events.iter() {
//!     match event {
//!         SessionEvent::Started(s) => println!("{s}"),      // alice on Living Room TV: Arrival ...
//!         SessionEvent::Watched(s) => println!("scrobble {:?}", s.media.title),
//!         SessionEvent::Stopped { session, reason } => {
//!             println!("{session} ended: {reason}");
//! #           break;
//!         }
//!         _ => {} // Paused, Resumed, Buffering, Progress, Seeked, MediaChanged
//!     }
//! }
//! tracker.stop();
//! # Ok(())
//! # }
//! ```
//!
//! The rules, chosen from what real apps do and the quirks of Plex that broke them:
//!
//! - **Who and what are bound when a session first appears** and kept to its end: one
//!   `/status/sessions` read (shared by sessions that start within 100 ms of each other,
//!   read again up to three times, 0.25, 0.5 and 1 s apart, while a new session is not
//!   visible yet), so a `Stopped` carries the user and the item although the server has
//!   forgotten them. There is no request for a known session's progress.
//! - **A known session key named by another player is another session**, whenever it
//!   comes and whatever `/status/sessions` says: keys start again from 1 when the server
//!   restarts, so the old session ends ([`StopReason::ServerRestarted`]) and the new one
//!   starts, bound to its own viewer. A key never inherits someone else's identity.
//! - [`Started`](SessionEvent::Started) once the session is known; its state may be paused
//!   or buffering. [`TrackedSession::origin`] says whether it started while listening,
//!   was found at the first sync or after a gap, or reappeared (below).
//! - [`Paused`](SessionEvent::Paused), [`Resumed`](SessionEvent::Resumed) and
//!   [`Buffering`](SessionEvent::Buffering) follow the state; a resume after buffering is
//!   a resume only if the session was paused before. [`Progress`](SessionEvent::Progress):
//!   the offset moved while playing.
//! - [`Seeked`](SessionEvent::Seeked): the offset moved more than 5 s beyond what the clock
//!   explains (the time elapsed while playing; nothing while paused, so a seek while paused
//!   is a seek). Not judged while buffering, nor across a gap; an offset that stands still
//!   is a stall, not a seek.
//! - [`MediaChanged`](SessionEvent::MediaChanged): the same session plays another item
//!   (autoplay, Live TV's next programme). The new item is read once, from
//!   `/status/sessions`; when that still lists the item before, lists nothing or fails,
//!   from `/library/metadata` (a failed read is tried twice more, 1 and 2 s later; then
//!   the change is told with what is known).
//! - [`Watched`](SessionEvent::Watched): once per session and item, when the offset passes
//!   the type's threshold (85 %, tracks 90 %; [`SessionTrackerBuilder::watched_at`]),
//!   never while buffering, never for a transient session, and before the stop that
//!   passes it.
//! - Offsets are clamped to the item's duration; a stop within 10 s of the end is at the end.
//! - [`Stopped`](SessionEvent::Stopped), with its [`StopReason`]: reported by the server;
//!   **stale** when nothing was heard for 5 min, or the session says it plays while its
//!   offset does not move for that long (a paused session that keeps reporting is not
//!   stale, and the clock does not run while the listener is disconnected); **vanished**
//!   when it is missing from `/status/sessions` at a resync, still missing 30 s later at
//!   one confirming read (a confirming read that fails is made again a few times, then
//!   the stale clock decides); **the server restarted** when `/identity` shows a new
//!   version after a gap, or a known key is now held by another user or player; **the
//!   tracker stopped**.
//! - **A session ends once.** A stale one is remembered: while its client keeps
//!   reporting the offset it ended at, nothing is said and nothing is read; if its offset
//!   moves again, that is a new session, `Started` once with [`Origin::Reappeared`], bound
//!   to the same viewer without a request (and not watched again for an item it was
//!   watched at).
//! - **After every gap** (and at start) `/identity` and `/status/sessions` are read, and
//!   what changed while nobody listened comes as events: sessions that ended, started,
//!   paused or resumed. A failed sync read is made again three times, spaced.
//! - A client that sends no session key is tracked by its client identifier; a
//!   notification with neither is counted ([`SessionStats::without_key`]), never a panic.
//! - **Transient sessions**, prerolls and theme music, are flagged
//!   [`transient`](TrackedSession::transient) and never watched;
//!   [`SessionTrackerBuilder::skip_transient`] leaves them out entirely. With a token
//!   that may not list sessions, transient is judged from the item alone: section `-2`, a
//!   preroll GUID, theme music, or any clip (trailers and extras too).
//! - A token that may not see sessions (not the server owner's) is told once, as
//!   [`Error::Forbidden`] through the listener's error callback; events still flow, with
//!   the user unknown and the item read from `/library/metadata`.
//! - **Bounded work**: every read the rules ask for answers a new session, a new item, a
//!   sync or a confirmation, with the few spaced retries named above; nothing a server
//!   answers (an error, a lagging listing, nothing) makes them ask again at once.
//!
//! # Trackers: their threads, their handles, one connection
//!
//! A tracker runs on a thread of its own and makes its lookups there, so the listener
//! never waits for the server's answers: its handler and its `callback_error` are called
//! on the tracker's thread, never on the listener's, and never under the listener's
//! lock. [`PlexServer::track_sessions`] starts one on a listener of its own and returns
//! its handle, a [`SessionTracker`]: [`now_playing`](SessionTracker::now_playing)
//! answers from its state without a request, [`stats`](SessionTracker::stats) counts
//! what it did, [`wait_synced`](SessionTracker::wait_synced) waits for its first sync,
//! [`stop`](SessionTracker::stop) ends it (interrupting a lookup). Stopping a tracker is
//! not its sessions' end: no `Stopped` is sent for them
//! ([`SessionTrackerBuilder::end_sessions_on_stop`] if you want one).
//!
//! To keep your own listener's options, raw alerts and both trackers on one connection,
//! [`attach`](SessionTrackerBuilder::attach) them to your listener's builder; it asks the
//! server for what they need. The listener hands each tracker what it needs through a
//! queue, and never waits for it: a tracker that falls 8,192 notifications behind (its
//! lookups are slow) has what would overflow dropped, is told once, and resyncs from
//! REST as after a disconnect ([`SessionStats::overflows`]); connection states are never
//! dropped.
//!
//! ```
//! # fn main() -> Result<(), plex_alerts::Error> {
//! # let mock = plex_alerts::mock::MockServer::start();
//! # let plex = plex_alerts::PlexServer::connect(mock.url(), mock.token())?;
//! use plex_alerts::{LibraryEvent, SessionEvent};
//!
//! let mut listener = plex.alert_listener().callback(|alert| println!("{alert}"));
//! let sessions = plex
//!     .session_tracker()
//!     .handler(|event: SessionEvent| println!("{event}"))
//!     .attach(&mut listener);
//! let library = plex
//!     .library_tracker()
//!     .handler(|event: LibraryEvent| println!("{event}"))
//!     .attach(&mut listener);
//! let listener = listener.start()?; // one connection for the three
//! # sessions.wait_synced(std::time::Duration::from_secs(10));
//! println!("{} playing", sessions.now_playing().len());
//! listener.stop(); // the trackers end with it
//! # Ok(())
//! # }
//! ```
//!
//! Every lookup a tracker makes goes through its server's one request policy, shared by a
//! [`PlexServer`] and its clones: at most 4 at once and 100 a second
//! ([`PlexServerBuilder::lookup_rate`]), none while the server has asked to wait
//! (`Retry-After` on 429 and 503, up to an hour) or after failures (1 s, doubling to a
//! minute), each within its deadline (5 s: [`SessionTrackerBuilder::lookup_timeout`]);
//! one that would wait past it fails at once ([`Error::Throttled`]) and the tracker tries
//! again when it may. A failing server is told once per episode, not per request.
//!
//! # Library changes and activities
//!
//! The other thing apps build on notifications is what changed in the library: set the
//! languages of a new episode, post it to a chat, add it to a collection, remove what was
//! deleted. Plex has no single "added" signal: an item comes as a burst of `timeline`
//! entries (created, matched, processed, often repeated for an hour while it is analysed)
//! before its metadata is ready. [`PlexServer::track_library`] turns them into
//! [`LibraryEvent`]s, each item once:
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # use std::time::Duration;
//! # let mock = plex_alerts::mock::MockServer::start();
//! # let show = mock.library().add_show("TV Shows", "Severance");
//! # let season = mock.library().add_season(&show, 2);
//! # let (url, token) = (mock.url(), mock.token());
//! use plex_alerts::{LibraryEvent, MediaType, PlexServer};
//!
//! let plex = PlexServer::connect(&url, &token)?;
//! let (tx, events) = crossbeam_channel::unbounded();
//! let tracker = plex.track_library(tx)?; // a channel, or a closure taking a LibraryEvent
//! tracker.wait_synced(Duration::from_secs(10)); // what the library held is not news
//! # let mut scan = mock.scan("TV Shows");
//! # scan.add_episode(&season, 1, "Hello, Ms. Cobel", 3_300_000);
//! # scan.finish();
//! for event in events.iter() {
//!     match event {
//!         LibraryEvent::ItemAdded(item) if item.media_type == Some(MediaType::Episode) => {
//!             println!("new episode: {item}"); // Severance — Hello, Ms. Cobel (episode) in TV Shows
//! #           break;
//!         }
//!         LibraryEvent::ItemAdded(item) => println!("new: {item}"),
//!         LibraryEvent::ItemUpdated(item) => println!("changed: {item}"),
//!         LibraryEvent::ItemDeleted(item) => println!("gone: {item}"),
//!         LibraryEvent::ScanFinished { library_section_id, .. } => println!("scanned {library_section_id:?}"),
//!         _ => {} // ItemsAdded (grouped), ScanStarted, the activities
//!     }
//! }
//! tracker.stop();
//! # Ok(())
//! # }
//! ```
//!
//! The rules, chosen from what real apps do and the quirks of Plex that broke them:
//!
//! - **Library items only**: entries of other providers (EPG, DVR), `type -1` and entries
//!   without an item are skipped, and so are the `mediaState` steps (analysis, thumbnails)
//!   that change nothing; [`TimelineEntry::timeline_state`] and
//!   [`TimelineEntry::item_type`] give the states and types as enums for your own rules.
//! - [`ItemAdded`](LibraryEvent::ItemAdded) **once per item, when its processing ends**
//!   (state 5), or once it has been quiet for 30 s
//!   ([`LibraryTrackerBuilder::quiet_period`]) where no end comes, as in a section without
//!   a metadata agent, whose processing stops at state 1. Its metadata is read then, once
//!   ([`LibraryItem`]: title, type, section, parent and grandparent), so there is one
//!   request per announced item and none per notification; items ready together are
//!   read in the order they came. An item whose creation the tracker missed (in a gap)
//!   is still an add, not an update: one it never announced that the server says was
//!   added since it started.
//! - **Floods collapse**: an item re-announced as processed, twice a second for an hour,
//!   is that one event; an `ended` repeated is one [`ActivityEnded`](LibraryEvent::ActivityEnded).
//! - **Deleted before its processing ended, or gone when read: never announced** (nor its
//!   delete).
//!   [`ItemDeleted`](LibraryEvent::ItemDeleted) otherwise, with all that is known of it.
//! - [`ItemUpdated`](LibraryEvent::ItemUpdated): processing that runs again on an item
//!   that is there (a file upgrade), a `library.refresh.items` activity that ends for it
//!   (not for its children), or a creation of an item the tracker announced, or that the
//!   server says was added long before the tracker started (an app's own write echoing
//!   back). The media analysis that follows an add, and a refresh repeated within 30 s of
//!   the last add or update, are no update; an update of an item still held in its group
//!   (below) changes what the group will carry, and is no event of its own.
//! - **Grouping**, if you ask for it ([`LibraryTrackerBuilder::group_within`]): the
//!   episodes of one show (the tracks of one album) added within that time of each other
//!   come as one [`ItemsAdded`](LibraryEvent::ItemsAdded), at most ten times that time
//!   after the first; what is held comes when the tracker stops. One rule: with grouping,
//!   every episode and track comes in an `ItemsAdded`, a group of one too; movies and
//!   other items come as [`ItemAdded`](LibraryEvent::ItemAdded).
//! - [`ScanStarted`](LibraryEvent::ScanStarted) and [`ScanFinished`](LibraryEvent::ScanFinished)
//!   follow a `library.update.section` activity, with its section: `started` does not name
//!   it, so the tracker reads `/activities` once. A "Library scan complete" status right
//!   after is no second finish; one with no scan activity running or just ended is a
//!   finish without a section.
//! - [`ActivityStarted`](LibraryEvent::ActivityStarted),
//!   [`ActivityProgress`](LibraryEvent::ActivityProgress) (when the progress moved) and
//!   [`ActivityEnded`](LibraryEvent::ActivityEnded), keyed by uuid; a notification
//!   without its `Context` carries the one seen before.
//! - **At start and after every gap**, `/activities` is read: activities that ended while
//!   nobody listened end, running ones are current. After a gap, `/library/recentlyAdded`
//!   (its 100 newest) says what was added meanwhile, announced unless it already was; it
//!   lists new episodes by their season and new tracks by their album, so those (up to 20)
//!   are read for their children; one still processing waits for its end. What was there
//!   when the tracker started (read once at the first connection) never is news. A sync
//!   read that fails is said and made again, 5, 10 and 15 s later.
//! - **Bounded**: at most 10 000 items pending and 10 000 remembered as announced
//!   ([`LibraryTrackerBuilder::max_items`]); past that, new items are left out, counted
//!   ([`LibraryStats::over_limit`]) and told ([`Error::TrackerFull`]: once, and again
//!   only after the tracker has emptied to half).
//!   [`LibraryTracker::stats`] reads the counters without a request.
//! - **A metadata read that fails** (a server failing, or asking to wait) is made again
//!   three times, 2, 4 and 8 s later or when the server said, before the item is
//!   announced with what its notifications told.
//!
//! It runs like the session tracker (see [Trackers](#trackers-their-threads-their-handles-one-connection)):
//! a thread of its own, a handle ([`LibraryTracker`]), and
//! [`attach`](LibraryTrackerBuilder::attach) for one connection.
//!
//! # Closures, one handler, or a channel
//!
//! [`Builder::callback`], [`Builder::callback_error`] and [`Builder::on_state`] take
//! closures, called on the listener's thread. Or give [`Builder::handler`] one closure
//! that sees every [`Event`] (alerts, errors and state changes, in order):
//!
//! ```
//! # fn main() -> Result<(), plex_alerts::Error> {
//! # let server = plex_alerts::mock::MockServer::start();
//! # let (url, token) = (server.url(), server.token());
//! use plex_alerts::{AlertListener, Event};
//!
//! let listener = AlertListener::builder(&url)
//!     .token(&token)
//!     .handler(|event: Event| match event {
//!         Event::Alert(alert) => println!("{alert}"),
//!         Event::Error(error) => eprintln!("{error}"),
//!         Event::State(state) => println!("[{state}]"),
//!         _ => {}
//!     })
//!     .start()?;
//! # listener.stop();
//! # Ok(())
//! # }
//! ```
//!
//! Or give it a channel sender, and receive every [`Event`] where you like, for instance
//! in a `crossbeam_channel::select!` beside your own channels:
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let server = plex_alerts::mock::MockServer::start();
//! # let (url, token) = (server.url(), server.token());
//! use plex_alerts::{AlertListener, Event};
//! use crossbeam_channel::select;
//!
//! let (events_tx, events) = crossbeam_channel::unbounded();
//! let (shutdown_tx, shutdown) = crossbeam_channel::bounded::<()>(1);
//! let listener = AlertListener::builder(&url).token(&token).handler(events_tx).start()?;
//! # shutdown_tx.send(())?;
//! loop {
//!     select! {
//!         recv(events) -> event => match event? {
//!             Event::Alert(alert) => println!("{alert}"),
//!             Event::Error(error) => eprintln!("{error}"),
//!             Event::State(state) => println!("[{state}]"),
//!             _ => {}
//!         },
//!         recv(shutdown) -> _ => break,
//!     }
//! }
//! listener.stop();
//! # Ok(())
//! # }
//! ```
//!
//! All of them go through one trait, [`Handler`], implemented for closures,
//! `std::sync::mpsc::Sender` and `crossbeam_channel::Sender`. When the receiver is
//! dropped, the listener ends. With a bounded channel that is full, the listener waits
//! for room (backpressure), but never past [`StopHandle::stop`]. Every alert is decoded
//! once, on the listener's thread, whichever you choose.
//!
//! # Stopping
//!
//! [`AlertListener::stop`] stops for good and returns once the listener's thread has
//! ended. It interrupts whatever the thread is doing (connecting, a TLS or HTTP handshake,
//! a read from a server that sends nothing, a wait before reconnecting, the moment after a
//! WebSocket close in which the server is left to close the TCP connection first) by
//! shutting the socket down, so it does not wait for the next message or a timeout; only
//! a callback that is running is waited for. [`AlertListener::stop_handle`] gives a [`StopHandle`] that
//! stops from any thread, including from inside a callback. Dropping an [`AlertListener`]
//! stops it the same way. A listener that ends by itself (see below) can be waited for with
//! [`AlertListener::join`].
//!
//! # Transports
//!
//! Plex offers the same notifications two ways, and an [`Alert`] is the same whichever
//! carried it:
//!
//! - [`Transport::WebSocket`] (the default): `GET /:/websockets/notifications`, one JSON
//!   text frame per notification.
//! - [`Transport::EventSource`]: `GET /:/eventsource/notifications`, a plain HTTP
//!   `text/event-stream` response: for proxies that do not pass WebSocket upgrades.
//!
//! ```
//! # fn main() -> Result<(), plex_alerts::Error> {
//! # let server = plex_alerts::mock::MockServer::start();
//! # let (url, token) = (server.url(), server.token());
//! use plex_alerts::{AlertListener, Transport};
//!
//! let listener = AlertListener::builder(&url)
//!     .token(&token)
//!     .transport(Transport::EventSource)
//!     .callback(|alert| println!("{alert}"))
//!     .start()?;
//! # listener.stop();
//! # Ok(())
//! # }
//! ```
//!
//! # Filters
//!
//! [`Filters`] ask the server for some types only; it filters before sending. The server's
//! default is every type but `log`.
//!
//! ```
//! use plex_alerts::Filters;
//!
//! let playback_and_library = Filters::only(["playing", "timeline"]);
//! let everything_but_activity = Filters::except(["activity", "log"]);
//! let everything = Filters::all(); // `log` included
//! ```
//!
//! # TLS and plex.direct certificates
//!
//! `https://` (or `wss://`) URLs use the system's TLS (native-tls) with the system's root
//! certificates, and verification on. A Plex server presents a certificate for
//! `*.<hash>.plex.direct`: reached by that name, nothing needs setting; reached by IP
//! address or `localhost`, the name does not match and the connection fails, unless you
//! allow it with [`TlsOptions::accept_hostname_mismatch`] (the chain is still verified).
//! [`TlsOptions::add_root_certificate_pem`] trusts a private CA;
//! [`TlsOptions::danger_accept_invalid_certs`] turns verification off, for tests only.
//!
//! ```
//! use plex_alerts::{AlertListener, TlsOptions};
//!
//! let builder = AlertListener::builder("https://192.168.1.5:32400")
//!     .tls(TlsOptions::new().accept_hostname_mismatch(true));
//! ```
//!
//! # Reconnecting, and what was missed
//!
//! The listener reconnects when a connection drops or an attempt fails, waiting a random
//! time up to a cap that starts at 1 s and doubles to 60 s ([`Reconnect`]). A wrong or
//! expired token and a missing endpoint are not retried: they are reported and the
//! listener ends. [`Reconnect::never`] ends it after the first disconnect instead, as
//! python-plexapi does.
//!
//! The server does not replay notifications sent while nobody listened. Every state change
//! reaches [`Builder::on_state`] (or the channel as [`Event::State`]). The first
//! [`ConnectionState::Connected`] has no outage; one that follows a disconnect carries the
//! [`Outage`] it ends (since when, for how long): resync then what you track, with
//! [`PlexServer::sessions`] (playback) and [`PlexServer::activities`] (scans), or let
//! the trackers do it: they resync after every gap.
//! Failed attempts, and connections that drop again before they prove healthy (up for
//! [`Reconnect::healthy_after`], 30 s), belong to one outage, so an app that alarms on
//! "down for a minute" reads [`ConnectionState::Disconnected`]'s outage and keeps no
//! timer of its own.
//!
//! A connection that goes silent is found out by the [`Heartbeat`]: over WebSocket the
//! listener sends a Ping after 15 s without a message and gives up 15 s later without an
//! answer; an event stream, which the server pings every 10 s, is given up after 30 s of
//! silence.
//!
//! # Errors
//!
//! Everything that goes wrong while listening reaches `callback_error` (or the channel as
//! [`Event::Error`]) as an [`Error`], whose text says what happened and whose docs say what
//! the listener does next. In short:
//!
//! | error | what the listener does | what you can do |
//! |---|---|---|
//! | [`Error::Unauthorized`] (401, 498) | ends | get a valid token |
//! | [`Error::HttpStatus`] 404 | tries the singular WebSocket path once, then ends | check the URL points at a Plex server |
//! | [`Error::HttpStatus`] 3xx, other 4xx | ends | fix the URL |
//! | [`Error::HttpStatus`] 429, 5xx | reconnects with backoff, waiting at least its `Retry-After` (up to an hour) | nothing |
//! | [`Error::Unsupported`]: a WebSocket upgrade answered 400, 426 or 2xx; a compressed event stream | ends | fix the reverse proxy (its text says how), or switch [`Transport`] |
//! | [`Error::Connect`], [`Error::Timeout`], [`Error::ConnectionLost`], [`Error::Closed`], [`Error::Protocol`] (a WebSocket text message that is not UTF-8 among them), [`Error::HeartbeatTimeout`] | reconnects with backoff | resync after [`ConnectionState::Connected`] |
//! | [`Error::Tls`] | reconnects with backoff | fix [`TlsOptions`] (plex.direct: see above) |
//! | [`Error::Decode`] (not JSON, a binary message, a typed view that did not fit), [`Error::MessageTooLarge`] | skips that message, on the same connection, goes on | nothing; report odd servers |
//! | [`Error::CallbackPanicked`] | goes on | fix the callback |
//! | [`Error::Forbidden`] (a tracker's token may not read sessions), [`Error::TrackerFull`] | the tracker goes on, with less | a server owner's token; raise the tracker's bound |
//! | [`Error::Throttled`] (a tracker's lookup held back: the server asked to wait) | the tracker tries again when it may | nothing |
//!
//! [`PlexServer`]'s calls return the errors of a request: those above (a status, a
//! timeout at the request's deadline, the network), and [`Error::BadAnswer`] (an answer
//! that is not what Plex sends), [`Error::AnswerTooLarge`] (past a bound: see the
//! README's Reliability section), [`Error::Stopped`] ([`PlexServer::stop`]). Signing in
//! adds [`Error::PinExpired`], [`Error::NoSuchServer`], [`Error::NoConnection`] and
//! [`Error::WrongServer`] (see [Sign in](#sign-in-plextv-the-accounts-servers-the-best-connection)).
//!
//! [`Error::is_retryable`] says which kind an error is. A message over
//! [`Builder::max_message_size`] is skipped as it arrives, whatever its size: the
//! listener never holds more than the limit of one message. A WebSocket text message is
//! checked as UTF-8 as its bytes arrive, and the first byte that cannot be fails the
//! connection at once, as RFC 6455 requires (close code 1007, one [`Error::Protocol`]);
//! nothing of that message is delivered, and the listener reconnects (what it missed is a
//! gap like any other: resync). A message skipped for its size is not read, so not
//! checked. A server's WebSocket close is reported with the code and reason it sent
//! ([`Error::Closed`]); a reason that is not UTF-8 is answered with 1007.
//!
//! A bad URL or option ([`Error::InvalidUrl`], [`Error::InvalidConfig`]) is an `Err` from
//! [`Builder::start`], before any thread exists; one wrong URL is found only when
//! connecting, an `https://` URL for a server that answers the TLS handshake in plain
//! HTTP: [`Error::InvalidUrl`] then ends the listener. Without a `callback_error`, errors
//! are logged with the [`log`](https://docs.rs/log) crate at warn level, one line each
//! that says what happened (the kind of error, an HTTP status, the path requested, a
//! close code) and quotes nothing the server sent: no excerpt, no parser detail, no close
//! reason. Panic messages, a callback's or the crate's, are left to the panic hook.
//!
//! The token never appears in a log line, an error's text or a `Debug` print. The crate
//! logs no frame, payload or close reason at any level, and its dependencies never see
//! one (the WebSocket frames are read by the crate's own parser, and nothing is echoed
//! back: a close is answered with a code alone, never its reason), so a server or proxy that echoes the
//! token into what it sends cannot put it in your logs. Errors that quote what the server
//! sent ([`Error::Decode`]'s excerpt and detail, [`Error::Closed`]'s reason) have the
//! token blanked out as `<redacted>`, as sent, percent-encoded with upper- or lower-case
//! hex digits, and URL-decoded, once, before the text is cut to 120 characters, so no
//! cut leaves a token's start behind. A token of a few characters cannot be told from
//! ordinary text: it is blanked all the same, so error texts may then show `<redacted>`
//! inside ordinary words. [`Builder::start`] refuses tokens over 1024 bytes, or with
//! characters an error text would escape (quotes, backslashes, non-ASCII). What a server
//! sends in a notification itself reaches you as sent, in [`Alert::raw`]. The token is
//! sent as the `X-Plex-Token` header; [`Builder::token_in_query`] moves it to the URL for
//! proxies that strip headers (those proxies may then log it).
//!
//! # Coming from python-plexapi
//!
//! | python-plexapi | plex-alerts |
//! |---|---|
//! | `plex = PlexServer(baseurl, token)` | `let plex = PlexServer::connect(url, token)?;` |
//! | `plex.startAlertListener(callback, callbackError)` | `plex.start_alert_listener(callback, callback_error)?` |
//! | `AlertListener(server, callback, callbackError)`, `.start()` | `AlertListener::builder(url).token(t).callback(..).callback_error(..).start()?` |
//! | `data['type']` in the callback | [`alert.kind()`](Alert::kind) |
//! | `data` (the dict under `NotificationContainer`) | [`alert.raw()`](Alert::raw), or the typed [`alert.notification()`](Alert::notification) |
//! | `listener.stop()` | [`listener.stop()`](AlertListener::stop), which returns once the thread ended |
//! | `listener.is_alive()` | [`listener.is_running()`](AlertListener::is_running) |
//! | `listener.join()` | [`listener.join()`](AlertListener::join) |
//! | the thread ends on the first error | reconnects; [`Reconnect::never`] for the old behaviour |
//! | `plex.sessions()` | [`plex.sessions()?`](PlexServer::sessions): [`Session`]s with [`User`], [`Player`], [`SessionInfo`] |
//! | `plex.fetchItem(ratingKey)` | [`plex.metadata(rating_key)?`](PlexServer::metadata): `Option<`[`Metadata`]`>` |
//! | `plex.activities` | [`plex.activities()?`](PlexServer::activities) |
//! | a session tracker of your own over `playing` alerts and `plex.sessions()` | [`plex.track_sessions(handler)?`](PlexServer::track_sessions): [`SessionEvent`]s; [`tracker.now_playing()`](SessionTracker::now_playing) |
//! | `plex.library.recentlyAdded()` | [`plex.recently_added(limit)?`](PlexServer::recently_added): newest first |
//! | `item.children()` | [`plex.children(rating_key)?`](PlexServer::children) |
//! | `timeline` alerts, `state` and `metadataState` checked by hand, a queue and a debounce of your own | [`plex.track_library(handler)?`](PlexServer::track_library): [`LibraryEvent`]s, each item once |
//! | `MyPlexAccount(token=token)` | [`PlexAccount::connect(&client, token)?`](PlexAccount::connect) |
//! | `MyPlexPinLogin(oauth=True)`, `.oauthUrl()`, `.waitForLogin()` | [`PinLogin::start(&client)?`](PinLogin::start), [`pin.link()`](PinLogin::link), [`pin.wait(timeout)?`](PinLogin::wait) |
//! | `account.resources()`, `account.resource(name)` | [`account.servers()?`](PlexAccount::servers), [`account.server(name)?`](PlexAccount::server) |
//! | `account.resource(name).connect()` | [`account.server(name)?.connect()?`](ServerResource::connect): the best connection, without waiting for the slowest |
//! | `plex.machineIdentifier`, `plex.version` | [`plex.machine_identifier()`](PlexServer::machine_identifier), [`plex.version()`](PlexServer::version) (read at connect); [`plex.identity()?`](PlexServer::identity) (read now) |
//!
//! # Testing your app with the mock
//!
//! With the `mock` feature, [`mock::MockServer`] is a small Plex on 127.0.0.1 for your
//! tests: a library, users and players, and scripted playback and scans that send the
//! notifications a real server sends while its REST answers (`/status/sessions`,
//! `/library/metadata`, `/activities`, `/identity`, `/library/recentlyAdded`) agree. It
//! plays the quirks of real servers too (a stop never sent, a session not visible yet,
//! keys reused after a restart, Live TV, prerolls, timeline floods), and the faults of a
//! real network (resets, silence, status codes, restarts).
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use plex_alerts::{AlertListener, Notification, PlaybackState, PlexServer, mock::MockServer};
//!
//! let mock = MockServer::start();
//! let movie = mock.library().add_movie("Movies", "Arrival", 6_960_000);
//! let (alice, tv) = (mock.add_user("alice"), mock.add_player("Living Room TV"));
//!
//! // Your app: a listener that looks up who plays what.
//! let plex = PlexServer::connect(mock.url(), mock.token())?;
//! let (tx, seen) = crossbeam_channel::unbounded();
//! let lookups = plex.clone();
//! let listener = plex.start_alert_listener(
//!     move |alert| {
//!         if let Notification::Playing(states) = alert.notification() {
//!             let user = lookups.sessions().ok().and_then(|s| s.into_iter().next())
//!                 .and_then(|s| s.user).and_then(|u| u.title);
//!             tx.send((states[0].state, user)).unwrap();
//!         }
//!     },
//!     |error| eprintln!("{error}"),
//! )?;
//! assert!(mock.wait_for_clients(1, Duration::from_secs(10)));
//!
//! // The script: alice plays, pauses.
//! let playback = mock.play(&alice, &movie, &tv);
//! let wait = Duration::from_secs(10);
//! assert_eq!(seen.recv_timeout(wait)?, (PlaybackState::Playing, Some("alice".into())));
//! playback.pause();
//! assert_eq!(seen.recv_timeout(wait)?.0, PlaybackState::Paused);
//! listener.stop();
//! # Ok(())
//! # }
//! ```
//!
//! ```toml
//! [dev-dependencies]
//! plex-alerts = { git = "https://github.com/plex-alerts/plex-alerts", features = ["mock"] }
//! ```
//!
//! # Known problems
//!
//! - **Stopping on Windows**: shutting a socket down does not wake a call blocked in
//!   another thread there, so the listener reads with a 500 ms timeout on Windows and
//!   `stop()` may take that long; while connecting or in a TLS or HTTP handshake it may take
//!   up to the connect or handshake timeout. On Linux and macOS every blocked call is woken
//!   at once and an idle listener wakes only for its heartbeat. (Not tested on Windows.)
//! - **Name resolution** blocks and can't be interrupted: a `stop()` during a slow DNS
//!   lookup waits for it (use an IP address to avoid it).
//! - **plex.direct certificates** fail hostname verification when the server is reached by
//!   IP address: see [TLS](#tls-and-plexdirect-certificates).
//! - **No replay**: what the server sends while the listener is disconnected is lost; see
//!   [Reconnecting](#reconnecting-and-what-was-missed).
//!
//! # Features
//!
//! - `mock`: [`mock::MockServer`] and [`mock::MockPlexTv`], for tests and demos. Off by
//!   default.
//! - `fuzzing`: entry points for the crate's own fuzz targets and property tests; not part
//!   of the API, not for users.
#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod account;
mod alert;
mod client;
mod config;
mod error;
mod filters;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod handler;
mod library;
mod listener;
mod media;
#[cfg(feature = "mock")]
#[cfg_attr(docsrs, doc(cfg(feature = "mock")))]
pub mod mock;
mod notification;
mod percent;
mod reconnect;
mod rest;
mod server;
mod session;
mod stats;
mod stop;
mod tls;
mod transport;
mod worker;

pub use account::{
    AccountUser, PinLogin, PinLoginBuilder, PlexAccount, PlexAccountBuilder, ResourceConnection,
    ResourceConnector, ServerResource,
};
pub use alert::Alert;
pub use client::Client;
pub use error::{Error, Phase, TlsFailure, Violation};
pub use filters::Filters;
pub use handler::{ConnectionState, Event, Handler, Outage};
pub use library::{LibraryEvent, LibraryGroup, LibraryItem, LibraryStats};
pub use listener::{AlertListener, Builder};
pub use media::{MediaType, UnknownType};
pub use notification::{
    Activity, ActivityNotification, AutoUpdateNotification, BackgroundProcessingQueueEvent,
    LogSentNotification, MediaProviderContentNotification, Notification, PlaySessionState,
    PlaybackState, ProgressNotification, ReachabilityNotification, Setting, StatusNotification,
    TimelineEntry, TimelineState, TranscodeSession,
};
pub use reconnect::{Heartbeat, Reconnect};
pub use rest::{Metadata, Player, ServerIdentity, Session, SessionInfo, User};
pub use server::{LibraryTracker, LibraryTrackerBuilder, SessionTracker, SessionTrackerBuilder};
pub use server::{PlexServer, PlexServerBuilder};
pub use session::{Origin, SessionEvent, SessionStats, StopReason, TrackedMedia, TrackedSession};
pub use stats::Stats;
pub use stop::StopHandle;
pub use tls::TlsOptions;
pub use transport::Transport;

/// The README's examples, compiled as doctests so that they keep working.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
