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

#[test]
fn every_case_says_exactly_what_it_should() {
    let mut failed = Vec::new();
    for (name, text, expected) in super::cases::CASES {
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
