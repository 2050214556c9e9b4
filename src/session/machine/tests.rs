//! The session rules, case by case, on a fake clock: a script of notifications, REST
//! answers and clock ticks goes in, the exact events come out. No sockets, no sleeps.
//!
//! A script is one command per line (or `;`-separated):
//! - `opt stale S` / `opt grace S` / `opt skip_transient` / `opt end_on_stop` /
//!   `opt max N`: options, first.
//! - `play KEY WHO ITEM STATE OFFSET`: a `playing` notification from WHO's player
//!   (`-` for a key or player not sent; ITEM `-` for an empty rating key).
//! - `list KEY WHO ITEM OFFSET [STATE]`, `unlist KEY`: what `/status/sessions` lists.
//!   Lines before the first other command make the listing the tracker starts with.
//! - `at S`: the clock moves to S seconds after the start, doing what falls due on the way.
//! - `fail sessions N`, `fail metadata N`: the next N reads of either answer 500.
//! - `forbid`: `/status/sessions` answers 403 from now on.
//! - `version V`: what `/identity` says from now on.
//! - `gap`, `connect`: the listener disconnects, connects again.
//! - `finish`: the tracker stops.
//! - `reads S M`: `/status/sessions` and `/library/metadata` reads since the start.
//!
//! Events are written `kind key user item`: `started 1 alice Arrival`; `started(found)`,
//! `started(gap)`, `started(again)` for the other origins; `stopped`, `stale`, `vanished`,
//! `restarted`, `ended` (the tracker stopped); `changed 1 alice Hell>Loop`; an item whose
//! title is unknown is `#key`; a transient session's item ends in `~`; errors are
//! `error 500`, `error forbidden`, `error full`.

use std::time::{Duration, Instant};

use serde_json::json;

use super::{Machine, Options, Out, Want};
use crate::session::{Origin, SessionEvent, StopReason};
use crate::{Error, Metadata, PlaySessionState, ServerIdentity, Session};

/// Who plays: the user, their id and their player.
const PEOPLE: [(&str, &str, &str); 3] = [
    ("alice", "1", "tv"),
    ("bob", "2", "phone"),
    ("carol", "3", "kodi"),
];

/// The library: rating key, title, type, duration, section, GUID.
const ITEMS: [(&str, &str, &str, i64, &str, &str); 9] = [
    (
        "movie",
        "Arrival",
        "movie",
        6_960_000,
        "1",
        "plex://movie/1",
    ),
    ("ep1", "Hell", "episode", 3_420_000, "2", "plex://episode/1"),
    ("ep2", "Loop", "episode", 3_300_000, "2", "plex://episode/2"),
    ("track", "Song", "track", 200_000, "3", "plex://track/1"),
    (
        "preroll",
        "Preroll",
        "clip",
        30_000,
        "-2",
        "analyzed.prerolls://1",
    ),
    ("theme", "Theme", "track", 60_000, "2", "library://theme/1"),
    ("news", "News", "episode", 1_800_000, "", ""),
    ("weather", "Weather", "episode", 1_800_000, "", ""),
    ("trailer", "Trailer", "clip", 120_000, "1", "plex://clip/1"),
];

fn person(who: &str) -> Option<(&'static str, &'static str, &'static str)> {
    PEOPLE.iter().copied().find(|(name, ..)| *name == who)
}

/// An item as `/library/metadata` describes it.
pub(super) fn item_json(rating_key: &str) -> serde_json::Value {
    let (rk, title, kind, duration, section, guid) = ITEMS
        .iter()
        .copied()
        .find(|(rk, ..)| *rk == rating_key)
        .unwrap_or((rating_key, "", "movie", 0, "", ""));
    let mut item = json!({"ratingKey": rk, "key": format!("/library/metadata/{rk}"),
        "title": title, "type": kind, "duration": duration});
    if !section.is_empty() {
        item["librarySectionID"] = json!(section);
    }
    if !guid.is_empty() {
        item["guid"] = json!(guid);
    }
    item
}

/// A session as `/status/sessions` lists it. Live TV (`news`, `weather`) lists no rating
/// key, under a `/livetv/sessions/` key.
pub(super) fn listed(key: &str, who: &str, rating_key: &str, offset: i64, state: &str) -> Session {
    let (name, id, player) = person(who).expect("a person");
    let mut entry = item_json(rating_key);
    if ["news", "weather"].contains(&rating_key) {
        let o = entry.as_object_mut().unwrap();
        o.remove("ratingKey");
        o.insert("key".into(), json!("/livetv/sessions/live-1"));
        o.insert("live".into(), json!("1"));
    }
    entry["sessionKey"] = json!(key);
    entry["viewOffset"] = json!(offset);
    entry["User"] = json!({"id": id, "title": name});
    entry["Player"] = json!({"machineIdentifier": player, "title": player, "state": state});
    entry["Session"] = json!({"id": format!("stream-{key}-{player}")});
    Session::from_value(entry).unwrap()
}

pub(super) fn note(key: &str, who: &str, item: &str, state: &str, offset: i64) -> PlaySessionState {
    let some = |s: &str| (s != "-").then(|| s.to_owned());
    PlaySessionState {
        session_key: some(key),
        client_identifier: person(who).map(|(_, _, player)| player.to_owned()),
        rating_key: Some(if item == "-" {
            String::new()
        } else {
            item.to_owned()
        }),
        key: (item != "-").then(|| match item {
            "news" | "weather" => "/livetv/sessions/live-1".to_owned(),
            _ => format!("/library/metadata/{item}"),
        }),
        state: crate::PlaybackState::from_word(state),
        view_offset: Some(offset),
        ..PlaySessionState::default()
    }
}

/// The REST side of the script.
#[derive(Default)]
struct Server {
    listing: Vec<Session>,
    fail_sessions: u32,
    fail_metadata: u32,
    forbidden: bool,
    version: String,
}

fn server_error(path: &str) -> Error {
    Error::HttpStatus {
        status: 500,
        path: path.to_owned(),
        retry_after: None,
    }
}

impl Server {
    fn sessions(&mut self) -> Result<Vec<Session>, Error> {
        if self.forbidden {
            return Err(Error::Forbidden {
                status: 403,
                path: "/status/sessions".into(),
            });
        }
        if self.fail_sessions > 0 {
            self.fail_sessions -= 1;
            return Err(server_error("/status/sessions"));
        }
        Ok(self.listing.clone())
    }

    fn metadata(&mut self, rating_key: &str) -> Result<Option<Metadata>, Error> {
        if self.fail_metadata > 0 {
            self.fail_metadata -= 1;
            return Err(server_error("/library/metadata"));
        }
        let item = item_json(rating_key);
        Ok((item["title"] != "").then(|| Metadata::from_value(item).unwrap()))
    }
}

/// A server that lists `sessions` (key, who, item, offset), playing.
fn listing(sessions: &[(&str, &str, &str, i64)]) -> Server {
    Server {
        listing: sessions
            .iter()
            .map(|(key, who, item, offset)| listed(key, who, item, *offset, "playing"))
            .collect(),
        version: "1.0".into(),
        ..Server::default()
    }
}

/// Wants one moment may make, at most: past this, the rules storm the server.
const STORM: usize = 20;

/// A machine on a fake clock, with its server.
struct Harness {
    m: Machine,
    t0: Instant,
    now: Instant,
    server: Server,
    sessions_reads: u32,
    metadata_reads: u32,
    events: Vec<String>,
}

impl Harness {
    fn new(opts: Options, server: Server) -> Harness {
        let t0 = Instant::now();
        let mut h = Harness {
            m: Machine::new(opts, t0),
            t0,
            now: t0,
            server,
            sessions_reads: 0,
            metadata_reads: 0,
            events: Vec::new(),
        };
        h.m.connected(false, t0);
        h.lookups();
        h
    }

    /// Answers what the rules want now, as the tracker's thread does.
    fn lookups(&mut self) {
        self.m.settle();
        for _ in 0..STORM {
            let Some(want) = self.m.want(self.now) else {
                self.collect();
                return;
            };
            match want {
                Want::Identity => {
                    let id: ServerIdentity =
                        serde_json::from_value(json!({"version": self.server.version})).unwrap();
                    self.m.identity(Ok(id), self.now);
                }
                Want::Sessions => {
                    self.sessions_reads += 1;
                    let answer = self.server.sessions();
                    self.m.sessions(answer, self.now);
                }
                Want::Metadata(key) => {
                    self.metadata_reads += 1;
                    let answer = self.server.metadata(&key);
                    self.m.metadata(&key, answer, self.now);
                }
            }
            self.m.settle();
        }
        panic!("a storm: more than {STORM} reads at one moment");
    }

    /// The clock moves to `to`, stopping at every deadline on the way.
    fn advance(&mut self, to: Instant) {
        for _ in 0..1000 {
            match self.m.next_deadline() {
                Some(at) if at <= to && at >= self.now => {
                    self.now = at;
                    self.m.tick(at);
                    self.lookups();
                    if self.m.next_deadline() == Some(at) {
                        // Nothing left to do at that moment but what is waiting for input.
                        break;
                    }
                }
                _ => break,
            }
        }
        self.now = to.max(self.now);
        self.m.tick(self.now);
        self.lookups();
    }

    fn collect(&mut self) {
        for out in std::mem::take(&mut self.m.out) {
            self.events.push(render(&out));
        }
    }

    fn run(&mut self, command: &str) {
        let words: Vec<&str> = command.split_whitespace().collect();
        let num = |i: usize| -> i64 { words[i].parse().unwrap() };
        match words.as_slice() {
            ["play", key, who, item, state, offset] => {
                let n = note(key, who, item, state, offset.parse().unwrap());
                self.m.playing(&n, self.now);
                self.lookups();
            }
            ["list", key, who, item, _, rest @ ..] => {
                let state = rest.first().copied().unwrap_or("playing");
                self.server
                    .listing
                    .retain(|s| s.session_key.as_deref() != Some(key));
                self.server
                    .listing
                    .push(listed(key, who, item, num(4), state));
            }
            ["unlist", key] => {
                self.server
                    .listing
                    .retain(|s| s.session_key.as_deref() != Some(key));
            }
            ["at", secs] => {
                let at = self.t0 + Duration::from_secs_f64(secs.parse().unwrap());
                self.advance(at);
            }
            ["fail", "sessions", n] => self.server.fail_sessions = n.parse().unwrap(),
            ["fail", "metadata", n] => self.server.fail_metadata = n.parse().unwrap(),
            ["forbid"] => self.server.forbidden = true,
            ["version", v] => self.server.version = (*v).to_owned(),
            ["gap"] => self.m.disconnected(),
            ["connect"] => {
                self.m.connected(true, self.now);
                self.lookups();
            }
            ["finish"] => {
                self.m.finish();
                self.collect();
            }
            ["reads", s, m] => {
                let want = (s.parse().unwrap(), m.parse().unwrap());
                assert_eq!((self.sessions_reads, self.metadata_reads), want, "reads");
            }
            other => panic!("not a command: {other:?}"),
        }
    }
}

fn render(out: &Out) -> String {
    let event = match out {
        Out::Error(Error::Forbidden { .. }) => return "error forbidden".into(),
        Out::Error(Error::TrackerFull { .. }) => return "error full".into(),
        Out::Error(Error::HttpStatus { status, .. }) => return format!("error {status}"),
        Out::Error(e) => return format!("error {e}"),
        Out::Event { event, .. } => event,
    };
    let s = event.session();
    let kind = match event {
        SessionEvent::Started(s) => match s.origin {
            Origin::Started => "started",
            Origin::FoundAtStart => "started(found)",
            Origin::FoundAfterGap => "started(gap)",
            Origin::Reappeared => "started(again)",
        },
        SessionEvent::Paused(_) => "paused",
        SessionEvent::Resumed(_) => "resumed",
        SessionEvent::Buffering(_) => "buffering",
        SessionEvent::Progress(_) => "progress",
        SessionEvent::Seeked { .. } => "seeked",
        SessionEvent::MediaChanged { .. } => "changed",
        SessionEvent::Watched(_) => "watched",
        SessionEvent::Stopped { reason, .. } => match reason {
            StopReason::Reported => "stopped",
            StopReason::Stale => "stale",
            StopReason::Vanished => "vanished",
            StopReason::ServerRestarted => "restarted",
            StopReason::TrackerStopped => "ended",
        },
    };
    let title = |m: &crate::TrackedMedia| match (&m.title, &m.rating_key) {
        (Some(t), _) => t.clone(),
        (None, Some(k)) => format!("#{k}"),
        (None, None) => "?".into(),
    };
    let mut item = title(&s.media);
    if let SessionEvent::MediaChanged { previous, .. } = event {
        item = format!("{}>{item}", title(previous));
    }
    if s.transient {
        item.push('~');
    }
    let key = s.session_key.as_deref().unwrap_or("-");
    let user = s
        .user
        .as_ref()
        .and_then(|u| u.title.as_deref())
        .unwrap_or("-");
    format!("{kind} {key} {user} {item}")
}

/// Runs `script` and returns the events it made.
fn script(script: &str) -> Vec<String> {
    let lines: Vec<&str> = script
        .split([';', '\n'])
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let mut opts = Options::default();
    let mut setup = 0;
    let mut server = Server {
        version: "1.0".into(),
        ..Server::default()
    };
    for line in &lines {
        let words: Vec<&str> = line.split_whitespace().collect();
        let secs = |w: &str| Duration::from_secs_f64(w.parse().unwrap());
        match words.as_slice() {
            ["opt", "stale", s] => opts.stale_after = secs(s),
            ["opt", "grace", s] => opts.absence_grace = secs(s),
            ["opt", "skip_transient"] => opts.skip_transient = true,
            ["opt", "end_on_stop"] => opts.end_on_stop = true,
            ["opt", "max", n] => opts.max_sessions = n.parse().unwrap(),
            ["fail", "sessions", n] => server.fail_sessions = n.parse().unwrap(),
            ["forbid"] => server.forbidden = true,
            ["list", key, who, item, offset, rest @ ..] => server.listing.push(listed(
                key,
                who,
                item,
                offset.parse().unwrap(),
                rest.first().copied().unwrap_or("playing"),
            )),
            _ => break,
        }
        setup += 1;
    }
    let mut h = Harness::new(opts, server);
    for line in &lines[setup..] {
        h.run(line);
    }
    h.events
}

/// The cases: a rule or a quirk of Plex each, its script, and exactly what comes out.
const CASES: &[(&str, &str, &[&str])] = &[
    (
        "a new session is bound to who and what, with one read",
        "play 1 alice movie playing 0; list 1 alice movie 0; at 1; reads 2 0",
        &["started 1 alice Arrival"],
    ),
    (
        "sessions that start together share one read",
        "play 1 alice movie playing 0; play 2 bob ep1 playing 0; list 1 alice movie 0; list 2 bob ep1 0; at 1; reads 2 0",
        &["started 1 alice Arrival", "started 2 bob Hell"],
    ),
    (
        "a session not visible yet is read again, spaced, until it is",
        "play 1 alice movie playing 0; at 0.2; list 1 alice movie 0; at 2; reads 3 0",
        &["started 1 alice Arrival"],
    ),
    (
        "a session never listed is read three more times, then goes on with its item alone",
        "play 1 alice movie playing 0; at 5; reads 5 1",
        &["started 1 - Arrival"],
    ),
    (
        "pause, resume and buffering follow the state; a resume after buffering needs a pause",
        "list 1 alice movie 0; play 1 alice movie playing 0; at 1
         play 1 alice movie paused 1000; at 5; play 1 alice movie paused 1000
         play 1 alice movie playing 1000; play 1 alice movie buffering 1000
         play 1 alice movie playing 1000; play 1 alice movie paused 1000
         play 1 alice movie buffering 1000; play 1 alice movie playing 1000",
        &[
            "started(found) 1 alice Arrival",
            "paused 1 alice Arrival",
            "resumed 1 alice Arrival",
            "buffering 1 alice Arrival",
            "paused 1 alice Arrival",
            "buffering 1 alice Arrival",
            "resumed 1 alice Arrival",
        ],
    ),
    (
        "an offset that keeps pace with the clock is progress; a jump is a seek, paused too",
        "list 1 alice movie 0; play 1 alice movie playing 0; at 10; play 1 alice movie playing 10000
         at 20; play 1 alice movie playing 24900; at 30; play 1 alice movie playing 64900
         play 1 alice movie paused 64900; play 1 alice movie paused 600000",
        &[
            "started(found) 1 alice Arrival",
            "progress 1 alice Arrival",
            "progress 1 alice Arrival",
            "seeked 1 alice Arrival",
            "paused 1 alice Arrival",
            "seeked 1 alice Arrival",
        ],
    ),
    (
        "no seek is judged across buffering",
        "list 1 alice movie 0; play 1 alice movie playing 0; at 1
         play 1 alice movie buffering 0; at 2; play 1 alice movie playing 900000",
        &[
            "started(found) 1 alice Arrival",
            "buffering 1 alice Arrival",
            "progress 1 alice Arrival",
        ],
    ),
    (
        "autoplay with the listing up to date: the new item from it, one read",
        "list 1 alice ep1 0; play 1 alice ep1 playing 0; at 1
         list 1 alice ep2 0; play 1 alice ep2 playing 0; at 2; reads 2 0",
        &["started(found) 1 alice Hell", "changed 1 alice Hell>Loop"],
    ),
    (
        "autoplay while the listing still shows the old item: the new one from its metadata",
        "list 1 alice ep1 0; play 1 alice ep1 playing 0; at 1
         play 1 alice ep2 playing 0; at 2; at 60; reads 2 1",
        &["started(found) 1 alice Hell", "changed 1 alice Hell>Loop"],
    ),
    (
        "autoplay while the listing shows nothing: the new item from its metadata",
        "list 1 alice ep1 0; play 1 alice ep1 playing 0; at 1; unlist 1
         play 1 alice ep2 playing 0; at 60; reads 2 1",
        &["started(found) 1 alice Hell", "changed 1 alice Hell>Loop"],
    ),
    (
        "autoplay while the listing fails: said once, the new item from its metadata",
        "list 1 alice ep1 0; play 1 alice ep1 playing 0; at 1; fail sessions 1000
         play 1 alice ep2 playing 0; at 60; reads 2 1",
        &[
            "started(found) 1 alice Hell",
            "error 500",
            "changed 1 alice Hell>Loop",
        ],
    ),
    (
        "autoplay while everything fails: a few spaced reads, then the change as known",
        "list 1 alice ep1 0; play 1 alice ep1 playing 0; at 1; fail sessions 1000; fail metadata 1000
         play 1 alice ep2 playing 0; at 1.5; reads 2 1; at 2.5; reads 2 2; at 60; reads 2 3",
        &[
            "started(found) 1 alice Hell",
            "error 500",
            "error 500",
            "error 500",
            "error 500",
            "changed 1 alice Hell>#ep2",
        ],
    ),
    (
        "watched once per item, past the type's threshold, at the seek that passes it",
        "list 1 alice ep1 0; play 1 alice ep1 playing 0; at 1
         play 1 alice ep1 playing 3000000; at 3; play 1 alice ep1 playing 3002000",
        &[
            "started(found) 1 alice Hell",
            "seeked 1 alice Hell",
            "watched 1 alice Hell",
            "progress 1 alice Hell",
        ],
    ),
    (
        "never watched while buffering; watched when it plays on",
        "list 1 alice movie 0; play 1 alice movie playing 0; at 1
         play 1 alice movie buffering 6800000; play 1 alice movie playing 6800000",
        &[
            "started(found) 1 alice Arrival",
            "buffering 1 alice Arrival",
            "watched 1 alice Arrival",
        ],
    ),
    (
        "a stop near the end snaps to it and is watched first",
        "list 1 alice ep2 0; play 1 alice ep2 playing 0; at 1; play 1 alice ep2 stopped 3295000",
        &[
            "started(found) 1 alice Loop",
            "watched 1 alice Loop",
            "stopped 1 alice Loop",
        ],
    ),
    (
        "a stop with an empty rating key ends the stored session",
        "list 1 alice movie 0; play 1 alice movie playing 0; at 1; play 1 alice - stopped 5000",
        &["started(found) 1 alice Arrival", "stopped 1 alice Arrival"],
    ),
    (
        "a stop told twice ends the session once; error is a stop",
        "list 1 alice movie 0; list 2 bob ep1 0; play 1 alice movie stopped 5000
         play 1 alice movie stopped 5000; play 2 bob ep1 error 100",
        &[
            "started(found) 1 alice Arrival",
            "started(found) 2 bob Hell",
            "stopped 1 alice Arrival",
            "stopped 2 bob Hell",
        ],
    ),
    (
        "a session over before it was ever listed is started and stopped",
        "play 1 alice movie playing 0; play 1 alice movie stopped 2000",
        &["started 1 - #movie", "stopped 1 - #movie"],
    ),
    (
        "a preroll is flagged transient and never watched",
        "list 3 alice preroll 0; play 3 alice preroll playing 0; at 1
         play 3 alice preroll playing 30000; play 3 alice preroll stopped 30000",
        &[
            "started(found) 3 alice Preroll~",
            "seeked 3 alice Preroll~",
            "stopped 3 alice Preroll~",
        ],
    ),
    (
        "theme music is transient",
        "list 4 alice theme 0",
        &["started(found) 4 alice Theme~"],
    ),
    (
        "transient sessions can be left out entirely",
        "opt skip_transient; list 3 alice preroll 0; list 1 bob movie 0
         play 3 alice preroll stopped 30000",
        &["started(found) 1 bob Arrival"],
    ),
    (
        "a token that may not list sessions: told once, items from metadata, users unknown",
        "forbid; play 1 alice movie playing 0; at 1; play 2 bob ep1 playing 0; at 2; reads 1 2",
        &["error forbidden", "started 1 - Arrival", "started 2 - Hell"],
    ),
    (
        "without the listing, a preroll or a clip is judged transient from the item",
        "forbid; play 3 alice preroll playing 0; play 5 bob trailer playing 0; at 1
         play 3 alice preroll playing 29000; play 5 bob trailer playing 119000",
        &[
            "error forbidden",
            "started 3 - Preroll~",
            "started 5 - Trailer~",
            "seeked 3 - Preroll~",
            "seeked 5 - Trailer~",
        ],
    ),
    (
        "without the listing, transient sessions can still be left out",
        "opt skip_transient; forbid; play 3 alice preroll playing 0; at 1; play 3 alice preroll stopped 30000",
        &["error forbidden"],
    ),
    (
        "a session heard of for the stale period is stale",
        "opt stale 300; list 1 alice movie 0; play 1 alice movie playing 0; at 299; at 301",
        &["started(found) 1 alice Arrival", "stale 1 alice Arrival"],
    ),
    (
        "a session that says it plays at an offset that does not move is stale",
        "opt stale 300; list 1 alice movie 1000; play 1 alice movie playing 1000; at 100
         play 1 alice movie playing 1000; at 200; play 1 alice movie playing 1000; at 301",
        &[
            "started(found) 1 alice Arrival",
            "stale 1 alice Arrival",
        ],
    ),
    (
        "a paused session that keeps reporting is not stale",
        "opt stale 300; list 1 alice movie 0 paused; play 1 alice movie paused 1000
         at 200; play 1 alice movie paused 1000; at 400; play 1 alice movie paused 1000; at 599",
        &["started(found) 1 alice Arrival"],
    ),
    (
        "the stale clock does not run while disconnected",
        "opt stale 300; list 1 alice movie 0; gap; at 3600; connect; at 3601; at 3901",
        &["started(found) 1 alice Arrival", "stale 1 alice Arrival"],
    ),
    (
        "a stale session still reporting where it stood says nothing and reads nothing",
        "opt stale 300; list 1 alice movie 1000; play 1 alice movie playing 1000; at 301; reads 1 0
         play 1 alice movie playing 1000; at 400; play 1 alice movie playing 1000; at 700
         play 1 alice movie playing 1000; at 1000; reads 1 0",
        &["started(found) 1 alice Arrival", "stale 1 alice Arrival"],
    ),
    (
        "a stale session whose offset moves again is a new session, told once, without a read",
        "opt stale 300; list 1 alice movie 1000; play 1 alice movie playing 1000; at 301
         play 1 alice movie playing 1000; play 1 alice movie playing 60000; at 310
         play 1 alice movie playing 69000; play 1 alice movie stopped 70000; reads 1 0",
        &[
            "started(found) 1 alice Arrival",
            "stale 1 alice Arrival",
            "started(again) 1 alice Arrival",
            "progress 1 alice Arrival",
            "stopped 1 alice Arrival",
        ],
    ),
    (
        "the stop of a stale session, late, says nothing",
        "opt stale 300; list 1 alice movie 0; at 301; play 1 alice movie stopped 0",
        &["started(found) 1 alice Arrival", "stale 1 alice Arrival"],
    ),
    (
        "a stale session's key named by another player is a new session",
        "opt stale 300; list 1 alice movie 0; at 301; list 1 bob ep1 0; play 1 bob ep1 playing 0; at 302",
        &[
            "started(found) 1 alice Arrival",
            "stale 1 alice Arrival",
            "started 1 bob Hell",
        ],
    ),
    (
        "a known key named by another player ends the old session and starts the new one",
        "list 1 alice ep1 0; play 1 alice ep1 playing 0; list 1 bob movie 0
         play 1 bob movie playing 0; at 1; play 1 bob movie stopped 2000",
        &[
            "started(found) 1 alice Hell",
            "restarted 1 alice Hell",
            "started 1 bob Arrival",
            "stopped 1 bob Arrival",
        ],
    ),
    (
        "a resync that finds a known key with another viewer ends the old session",
        "list 1 alice ep1 0; gap; list 1 bob movie 0; connect; at 1",
        &[
            "started(found) 1 alice Hell",
            "restarted 1 alice Hell",
            "started(gap) 1 bob Arrival",
        ],
    ),
    (
        "a new version after a gap ends every session; the same viewer starts anew",
        "list 1 alice ep1 0; gap; version 2.0; connect; at 1",
        &[
            "started(found) 1 alice Hell",
            "restarted 1 alice Hell",
            "started(gap) 1 alice Hell",
        ],
    ),
    (
        "a session gone at a resync vanishes after the grace, at one confirming read",
        "opt grace 30; list 1 alice movie 0; list 2 bob ep1 0; gap; unlist 1
         list 2 bob ep1 0 paused; list 3 carol ep2 0; connect; at 29; reads 2 0; at 31; reads 3 0",
        &[
            "started(found) 1 alice Arrival",
            "started(found) 2 bob Hell",
            "paused 2 bob Hell",
            "started(gap) 3 carol Loop",
            "vanished 1 alice Arrival",
        ],
    ),
    (
        "a session briefly missing from the listing is not stopped",
        "opt grace 30; list 1 alice movie 0; gap; unlist 1; connect; list 1 alice movie 0; at 31",
        &["started(found) 1 alice Arrival"],
    ),
    (
        "a confirming read that fails is tried a few times, then the stale clock decides",
        "opt grace 30; opt stale 300; list 1 alice movie 0; gap; unlist 1; connect; fail sessions 1000
         at 200; reads 6 0; at 290; reads 6 0; at 310",
        &[
            "started(found) 1 alice Arrival",
            "error 500",
            "error 500",
            "error 500",
            "error 500",
            "stale 1 alice Arrival",
        ],
    ),
    (
        "a sync that fails is tried three more times, spaced, then given up",
        "fail sessions 1000; at 60; reads 4 0",
        &["error 500", "error 500", "error 500", "error 500"],
    ),
    (
        "a client without a session key is tracked by its client; one with neither is counted",
        "play - carol movie playing 0; play - - movie playing 0; at 5; play - carol movie paused 100",
        &["started - - Arrival", "paused - - Arrival"],
    ),
    (
        "Live TV: the programme changes within one session, read from the listing",
        "list 1 alice news 0; play 1 alice news playing 0; at 1
         list 1 alice weather 0; play 1 alice weather playing 0; at 2",
        &["started(found) 1 alice News", "changed 1 alice News>Weather"],
    ),
    (
        "an offset past the end is the end",
        "list 1 alice movie 0; play 1 alice movie playing 99000000",
        &[
            "started(found) 1 alice Arrival",
            "seeked 1 alice Arrival",
            "watched 1 alice Arrival",
        ],
    ),
    (
        "a session starting in buffering is started, and not watched while it buffers",
        "list 1 alice movie 6900000 buffering; play 1 alice movie buffering 6900000; play 1 alice movie playing 6900000",
        &["started(found) 1 alice Arrival", "watched 1 alice Arrival"],
    ),
    (
        "sessions past the bound are told once and left out",
        "opt max 1; list 1 alice movie 0; play 2 bob ep1 playing 0; play 3 carol ep2 playing 0",
        &["started(found) 1 alice Arrival", "error full"],
    ),
    (
        "sessions playing when the tracker starts and after a gap are found",
        "list 1 alice movie 0; gap; list 2 bob ep1 0; connect",
        &["started(found) 1 alice Arrival", "started(gap) 2 bob Hell"],
    ),
    (
        "the tracker stopping is no session's end",
        "list 1 alice movie 0; play 2 bob ep1 playing 0; finish",
        &["started(found) 1 alice Arrival"],
    ),
    (
        "the tracker stopping ends what it announced, if asked",
        "opt end_on_stop; list 1 alice movie 0; play 2 bob ep1 playing 0; finish",
        &["started(found) 1 alice Arrival", "ended 1 alice Arrival"],
    ),
];

#[test]
fn every_case_says_exactly_what_it_should() {
    let mut failed = Vec::new();
    for (name, text, expected) in CASES {
        let got = std::panic::catch_unwind(|| script(text));
        match got {
            Ok(got) if got == *expected => {}
            Ok(got) => failed.push(format!("{name}:\n  want {expected:?}\n  got  {got:?}")),
            Err(panic) => failed.push(format!(
                "{name}: panicked: {}",
                crate::worker::panic_message(&*panic)
            )),
        }
    }
    assert!(
        failed.is_empty(),
        "{} cases failed:\n{}",
        failed.len(),
        failed.join("\n")
    );
}

#[test]
fn a_resumed_session_says_how_long_it_was_paused() {
    let mut h = Harness::new(Options::default(), listing(&[("1", "alice", "movie", 0)]));
    h.run("play 1 alice movie paused 1000");
    h.run("at 31");
    h.m.playing(&note("1", "alice", "movie", "playing", 1000), h.now);
    let resumed = h.m.out.iter().find_map(|o| match o {
        Out::Event {
            event: SessionEvent::Resumed(s),
            ..
        } => Some(s.paused_for),
        _ => None,
    });
    assert_eq!(resumed, Some(Duration::from_secs(31)));
}

#[test]
fn a_session_that_reappears_keeps_its_identity_and_its_watched_item() {
    let mut h = Harness::new(
        Options {
            stale_after: Duration::from_secs(300),
            ..Options::default()
        },
        listing(&[("1", "alice", "movie", 6_000_000)]),
    );
    for command in [
        "play 1 alice movie playing 6000000",
        "at 10",
        "play 1 alice movie playing 6000000",
        "at 400",
        "play 1 alice movie playing 6100000",
    ] {
        h.run(command);
    }
    assert_eq!(
        h.events,
        [
            "started(found) 1 alice Arrival",
            "watched 1 alice Arrival",
            "stale 1 alice Arrival",
            "started(again) 1 alice Arrival",
        ],
        "watched once for the play, across its reappearance"
    );
    let seqs: Vec<u64> = h.m.tracked.values().map(|t| t.seq).collect::<Vec<_>>();
    assert_eq!(seqs.len(), 1);
    assert_ne!(seqs[0], 1, "a session of its own");
    assert_eq!(
        h.m.tracked["1"]
            .snap
            .player
            .as_ref()
            .and_then(|p| p.title.as_deref()),
        Some("tv")
    );
}

#[test]
fn stats_count_each_read_by_its_purpose() {
    let mut h = Harness::new(Options::default(), listing(&[]));
    for command in [
        "play 1 alice movie playing 0",
        "at 0.2",
        "list 1 alice movie 0",
        "at 1",
        "list 1 alice ep1 0",
        "play 1 alice ep1 playing 0",
        "at 2",
    ] {
        h.run(command);
    }
    let s = &h.m.stats;
    assert_eq!(
        (s.resyncs, s.lookups, s.retries, s.sessions),
        (1, 2, 1, 1),
        "{s:?}"
    );
}
