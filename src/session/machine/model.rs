//! The session rules against a model of Plex, on random scripts: sessions that start,
//! pause, seek, buffer, autoplay, stop, vanish and freeze; restarts that reuse keys, with
//! and without a new version; gaps; REST answers that lag, fail or are refused. After
//! every step, the invariants an app bets its scrobbles on are checked.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use serde_json::json;

use super::tests::{item_json, listed, note};
use super::{Machine, Options, Out, Want};
use crate::session::SessionEvent;
use crate::{Error, Metadata, PlaybackState, ServerIdentity, Session};

/// Who plays, each on a player of their own (a player plays one thing at a time).
const WHO: [&str; 3] = ["alice", "bob", "carol"];
const PLAYERS: [&str; 3] = ["tv", "phone", "kodi"];
/// What they play.
const ITEMS: [&str; 7] = [
    "movie", "ep1", "ep2", "track", "preroll", "theme", "trailer",
];

#[derive(Debug, Clone)]
enum Action {
    Start {
        who: usize,
        item: usize,
        buffering: bool,
        /// Listing reads that do not show it yet.
        lag: u32,
    },
    Pause(usize),
    Resume(usize),
    Buffer(usize),
    Seek {
        who: usize,
        permille: i64,
    },
    Autoplay {
        who: usize,
        item: usize,
        /// Listing reads that still show the item before.
        lag: u32,
    },
    Stop {
        who: usize,
        empty_key: bool,
    },
    /// Ends without a stop.
    Vanish(usize),
    /// The client goes on saying it plays, at an offset that does not move.
    Freeze(usize),
    Unfreeze(usize),
    /// Time passes, in steps of 10 s; every client reports at each.
    Tick(u64),
    Gap,
    Reconnect,
    /// Every session ends unsaid, keys count from 1 again; the listener is disconnected.
    Restart {
        new_version: bool,
    },
    FailSessions(u32),
    FailMetadata(u32),
}

fn action() -> impl Strategy<Value = Action> {
    let who = 0..WHO.len();
    prop_oneof![
        4 => (who.clone(), 0..ITEMS.len(), any::<bool>(), 0..3u32)
            .prop_map(|(who, item, buffering, lag)| Action::Start { who, item, buffering, lag }),
        2 => who.clone().prop_map(Action::Pause),
        2 => who.clone().prop_map(Action::Resume),
        1 => who.clone().prop_map(Action::Buffer),
        2 => (who.clone(), 0..1100i64).prop_map(|(who, permille)| Action::Seek { who, permille }),
        2 => (who.clone(), 0..ITEMS.len(), 0..3u32)
            .prop_map(|(who, item, lag)| Action::Autoplay { who, item, lag }),
        2 => (who.clone(), any::<bool>()).prop_map(|(who, empty_key)| Action::Stop { who, empty_key }),
        1 => who.clone().prop_map(Action::Vanish),
        1 => who.clone().prop_map(Action::Freeze),
        1 => who.clone().prop_map(Action::Unfreeze),
        4 => (1..400u64).prop_map(Action::Tick),
        1 => Just(Action::Gap),
        1 => Just(Action::Reconnect),
        1 => any::<bool>().prop_map(|new_version| Action::Restart { new_version }),
        1 => (1..6u32).prop_map(Action::FailSessions),
        1 => (1..6u32).prop_map(Action::FailMetadata),
    ]
}

/// One play in the model: a session key held by one player, for a while.
#[derive(Debug, Clone)]
struct Play {
    key: String,
    who: usize,
    /// Every item it played.
    items: Vec<&'static str>,
    item: &'static str,
    /// What the listing shows, `item_lag` reads more.
    listed_item: &'static str,
    item_lag: u32,
    hidden_reads: u32,
    state: &'static str,
    offset: i64,
    offset_at: f64,
    frozen: bool,
    ended_at: Option<f64>,
    /// Sessions the tracker may start for it: one, and one more after each thing it did
    /// (a stale session whose client moves again is a new one); the clock alone adds
    /// none, so a frozen client is not started again and again.
    starts_allowed: u32,
    starts: u32,
}

impl Play {
    fn duration(&self) -> i64 {
        item_json(self.item)["duration"].as_i64().unwrap_or(0)
    }

    /// Where it is now.
    fn offset(&self, now: f64) -> i64 {
        let moving = self.state == "playing" && !self.frozen;
        let played = if moving {
            ((now - self.offset_at) * 1000.0) as i64
        } else {
            0
        };
        (self.offset + played).min(self.duration())
    }

    fn settle(&mut self, now: f64) {
        self.offset = self.offset(now);
        self.offset_at = now;
    }
}

/// The model of Plex, and the tracker under test, on a fake clock.
struct World {
    t0: Instant,
    /// Seconds since `t0`.
    now: f64,
    version: u32,
    next_key: u32,
    plays: Vec<Play>,
    connected: bool,
    fail_sessions: u32,
    fail_metadata: u32,
    forbidden: bool,
    m: Machine,
    /// What the tracker said of each of its sessions, by `seq`.
    told: HashMap<u64, Vec<SessionEvent>>,
    /// The work the rules may ask reads for, and the reads they asked for.
    news: u32,
    sessions_reads: u32,
    metadata_reads: u32,
    /// The first invariant broken, at the moment it broke.
    failure: Option<TestCaseError>,
}

/// Wants one moment may make, at most.
const STORM: usize = 40;

impl World {
    fn new(forbidden: bool) -> World {
        let t0 = Instant::now();
        let opts = Options {
            stale_after: Duration::from_secs(300),
            ..Options::default()
        };
        let mut w = World {
            t0,
            now: 0.0,
            version: 1,
            next_key: 1,
            plays: Vec::new(),
            connected: true,
            fail_sessions: 0,
            fail_metadata: 0,
            forbidden,
            m: Machine::new(opts, t0),
            told: HashMap::new(),
            news: 1,
            sessions_reads: 0,
            metadata_reads: 0,
            failure: None,
        };
        w.m.connected(false, t0);
        w.lookups();
        w
    }

    fn instant(&self) -> Instant {
        self.t0 + Duration::from_secs_f64(self.now)
    }

    fn live(&self, who: usize) -> Option<usize> {
        self.plays
            .iter()
            .position(|p| p.who == who && p.ended_at.is_none())
    }

    fn listing(&mut self) -> Result<Vec<Session>, Error> {
        if self.forbidden {
            return Err(Error::Forbidden {
                status: 403,
                path: "/status/sessions".into(),
            });
        }
        if self.fail_sessions > 0 {
            self.fail_sessions -= 1;
            return Err(Error::HttpStatus {
                status: 500,
                path: "/status/sessions".into(),
                retry_after: None,
            });
        }
        let now = self.now;
        let mut listing = Vec::new();
        for p in self.plays.iter_mut().filter(|p| p.ended_at.is_none()) {
            if p.hidden_reads > 0 {
                p.hidden_reads -= 1;
                continue;
            }
            let item = if p.item_lag > 0 {
                p.item_lag -= 1;
                p.listed_item
            } else {
                p.item
            };
            listing.push(listed(&p.key, WHO[p.who], item, p.offset(now), p.state));
        }
        Ok(listing)
    }

    fn metadata(&mut self, rating_key: &str) -> Result<Option<Metadata>, Error> {
        if self.fail_metadata > 0 {
            self.fail_metadata -= 1;
            return Err(Error::HttpStatus {
                status: 500,
                path: "/library/metadata".into(),
                retry_after: None,
            });
        }
        Ok(Some(Metadata::from_value(item_json(rating_key)).unwrap()))
    }

    /// Answers what the rules want now, as the tracker's thread does.
    fn lookups(&mut self) {
        let now = self.instant();
        self.m.settle();
        for _ in 0..STORM {
            let Some(want) = self.m.want(now) else {
                if let Err(e) = self.check() {
                    self.failure.get_or_insert(e);
                }
                return;
            };
            match want {
                Want::Identity => {
                    let id: ServerIdentity =
                        serde_json::from_value(json!({"version": self.version.to_string()}))
                            .unwrap();
                    self.m.identity(Ok(id), now);
                }
                Want::Sessions => {
                    self.sessions_reads += 1;
                    let answer = self.listing();
                    self.m.sessions(answer, now);
                }
                Want::Metadata(key) => {
                    self.metadata_reads += 1;
                    let answer = self.metadata(&key);
                    self.m.metadata(&key, answer, now);
                }
            }
            self.m.settle();
        }
        panic!("a storm: more than {STORM} reads at one moment");
    }

    /// A notification from a play, if anyone listens.
    fn report(&mut self, i: usize, empty_key: bool) {
        if !self.connected {
            return;
        }
        let p = &self.plays[i];
        let item = if empty_key { "-" } else { p.item };
        let n = note(&p.key, WHO[p.who], item, p.state, p.offset(self.now));
        let now = self.instant();
        self.m.playing(&n, now);
        self.lookups();
    }

    /// The clock moves on to `to`, doing what falls due on the way.
    fn clock(&mut self, to: f64) {
        let target = self.t0 + Duration::from_secs_f64(to);
        for _ in 0..1000 {
            match self.m.next_deadline() {
                Some(at) if at <= target && at > self.instant() => {
                    self.now = at.duration_since(self.t0).as_secs_f64();
                    self.m.tick(at);
                    self.lookups();
                }
                _ => break,
            }
        }
        self.now = to;
        self.m.tick(self.instant());
        self.lookups();
    }

    fn act(&mut self, action: &Action) {
        let now = self.now;
        let who = match *action {
            Action::Pause(w) | Action::Resume(w) | Action::Buffer(w) | Action::Unfreeze(w) => {
                Some(w)
            }
            Action::Seek { who, .. } | Action::Autoplay { who, .. } => Some(who),
            _ => None,
        };
        if let Some(i) = who.and_then(|w| self.live(w)) {
            self.plays[i].starts_allowed += 1;
        }
        match *action {
            Action::Start {
                who,
                item,
                buffering,
                lag,
            } => {
                if self.live(who).is_some() {
                    return;
                }
                let key = self.next_key.to_string();
                self.next_key += 1;
                self.news += 1;
                self.plays.push(Play {
                    key,
                    who,
                    items: vec![ITEMS[item]],
                    item: ITEMS[item],
                    listed_item: ITEMS[item],
                    item_lag: 0,
                    hidden_reads: lag,
                    state: if buffering { "buffering" } else { "playing" },
                    offset: 0,
                    offset_at: now,
                    frozen: false,
                    ended_at: None,
                    starts_allowed: 1,
                    starts: 0,
                });
                self.report(self.plays.len() - 1, false);
            }
            Action::Pause(who) | Action::Resume(who) | Action::Buffer(who) => {
                let Some(i) = self.live(who) else { return };
                self.plays[i].settle(now);
                self.plays[i].state = match action {
                    Action::Pause(_) => "paused",
                    Action::Resume(_) => "playing",
                    _ => "buffering",
                };
                self.report(i, false);
            }
            Action::Seek { who, permille } => {
                let Some(i) = self.live(who) else { return };
                let p = &mut self.plays[i];
                p.settle(now);
                p.offset = p.duration() * permille / 1000;
                self.report(i, false);
            }
            Action::Autoplay { who, item, lag } => {
                let Some(i) = self.live(who) else { return };
                if self.plays[i].item == ITEMS[item] {
                    return;
                }
                self.news += 1;
                let p = &mut self.plays[i];
                p.listed_item = p.item;
                p.item_lag = lag;
                p.item = ITEMS[item];
                p.items.push(ITEMS[item]);
                p.offset = 0;
                p.offset_at = now;
                p.state = "playing";
                self.report(i, false);
            }
            Action::Stop { who, empty_key } => {
                let Some(i) = self.live(who) else { return };
                self.plays[i].settle(now);
                self.plays[i].state = "stopped";
                self.report(i, empty_key);
                self.plays[i].ended_at = Some(now);
            }
            Action::Vanish(who) => {
                if let Some(i) = self.live(who) {
                    self.plays[i].ended_at = Some(now);
                }
            }
            Action::Freeze(who) | Action::Unfreeze(who) => {
                let Some(i) = self.live(who) else { return };
                self.plays[i].settle(now);
                self.plays[i].frozen = matches!(action, Action::Freeze(_));
            }
            Action::Tick(secs) => {
                let end = now + secs as f64;
                while self.now < end {
                    let step = (self.now + 10.0).min(end);
                    self.clock(step);
                    let live: Vec<usize> = (0..self.plays.len())
                        .filter(|&i| self.plays[i].ended_at.is_none())
                        .collect();
                    for i in live {
                        self.report(i, false);
                    }
                }
            }
            Action::Gap => {
                if self.connected {
                    self.connected = false;
                    self.m.disconnected();
                }
            }
            Action::Reconnect => {
                if !self.connected {
                    self.connected = true;
                    for p in self.plays.iter_mut().filter(|p| p.ended_at.is_none()) {
                        p.starts_allowed += 1;
                    }
                    self.news +=
                        1 + self.plays.iter().filter(|p| p.ended_at.is_none()).count() as u32;
                    self.m.connected(true, self.instant());
                    self.lookups();
                }
            }
            Action::Restart { new_version } => {
                for p in self.plays.iter_mut().filter(|p| p.ended_at.is_none()) {
                    p.ended_at = Some(now);
                }
                self.next_key = 1;
                self.version += u32::from(new_version);
                if self.connected {
                    self.connected = false;
                    self.m.disconnected();
                }
            }
            Action::FailSessions(n) => self.fail_sessions = n,
            Action::FailMetadata(n) => self.fail_metadata = n,
        }
    }

    /// What the tracker said since the last check, against what the model holds now.
    fn check(&mut self) -> Result<(), TestCaseError> {
        let now = self.now;
        for out in std::mem::take(&mut self.m.out) {
            let Out::Event { seq, event, .. } = out else {
                continue;
            };
            let s = event.session();
            let key = s.session_key.clone().unwrap_or_default();
            let who = s
                .client_identifier
                .as_deref()
                .and_then(|c| PLAYERS.iter().position(|p| *p == c));
            // Who: the user is the player's owner, and some play had this key on it.
            if let Some(user) = s.user.as_ref().and_then(|u| u.title.as_deref()) {
                prop_assert_eq!(Some(user), who.map(|w| WHO[w]), "{:?}", event);
            }
            if let SessionEvent::Started(_) = &event {
                if let Some(p) = self
                    .plays
                    .iter_mut()
                    .rev()
                    .find(|p| p.key == key && Some(p.who) == who)
                {
                    p.starts += 1;
                    prop_assert!(
                        p.starts <= p.starts_allowed,
                        "started again with nothing new: {:?}",
                        event
                    );
                }
            }
            let plays: Vec<&Play> = self
                .plays
                .iter()
                .filter(|p| p.key == key && Some(p.who) == who)
                .collect();
            prop_assert!(!plays.is_empty(), "no play of {:?}: {:?}", who, event);
            // What: an item that play played; a Started only for a play live lately.
            let items = |m: &crate::TrackedMedia| {
                m.rating_key
                    .as_deref()
                    .is_none_or(|k| plays.iter().any(|p| p.items.contains(&k)))
            };
            prop_assert!(items(&s.media), "an item it never played: {:?}", event);
            if let SessionEvent::MediaChanged { previous, .. } = &event {
                prop_assert!(items(previous), "{:?}", event);
            }
            if let SessionEvent::Started(_) = &event {
                prop_assert!(
                    plays
                        .iter()
                        .any(|p| p.ended_at.is_none_or(|t| now - t < 60.0)),
                    "started a play long over: {:?}",
                    event
                );
            }
            // Each session: Started first, Watched at most once per item and never for a
            // transient one, at most one Stopped and nothing after it.
            let told = self.told.entry(seq).or_default();
            prop_assert_eq!(
                told.is_empty(),
                matches!(event, SessionEvent::Started(_)),
                "Started first, once: {:?} then {:?}",
                told.last(),
                event
            );
            prop_assert!(
                !told
                    .iter()
                    .any(|e| matches!(e, SessionEvent::Stopped { .. })),
                "after its stop: {:?}",
                event
            );
            if let SessionEvent::Watched(w) = &event {
                prop_assert!(!w.transient, "a transient session watched: {:?}", event);
                let again = told.iter().any(|e| {
                    matches!(e, SessionEvent::Watched(x) if x.media.rating_key == w.media.rating_key)
                });
                prop_assert!(!again, "watched twice: {:?}", event);
            }
            if let SessionEvent::Stopped { session, .. } = &event {
                prop_assert_eq!(session.state, PlaybackState::Stopped);
            }
            told.push(event);
        }
        // Reads: one per new session, new item and sync, with the retries the rules name.
        let retries = Options::default().lookup_retries + 1;
        prop_assert!(
            self.sessions_reads <= self.news * retries,
            "{} listing reads for {} news",
            self.sessions_reads,
            self.news
        );
        let metadata_retries = Options::default().metadata_retries + 1;
        prop_assert!(
            self.metadata_reads <= self.news * metadata_retries,
            "{} metadata reads for {} news",
            self.metadata_reads,
            self.news
        );
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn sessions_hold_their_invariants_on_any_script(
        forbidden in proptest::bool::weighted(0.1),
        script in proptest::collection::vec(action(), 1..80),
    ) {
        let mut world = World::new(forbidden);
        for action in &script {
            world.act(action);
            if let Some(failure) = world.failure.take() {
                return Err(failure);
            }
        }
    }
}
