//! The library tracker's rules, as a state machine with no I/O and no clock of its own.
//!
//! There is no single "added" signal; five apps use five rules. These, from the evidence:
//! - Only library items: entries from EPG and DVR providers, and `type -1`, are skipped.
//!   Entries that change nothing (an analysis or thumbnailing step: a `mediaState` and no
//!   `metadataState`) are dropped.
//! - An item is **added** when its creation was seen (state 0, `metadataState: created`)
//!   and its processing ended (state 5), or it stayed quiet for the quiet period with no
//!   end (a section without a metadata agent stops at state 1). Its metadata is read then,
//!   once (metadata is not ready at creation). An item found in `/library/recentlyAdded`
//!   after a gap, added since the tracker last heard, is added too.
//! - An item already there whose processing runs again (`metadataState` loading or
//!   processing, states 1 to 4, then 5) is **updated** (a file upgrade, a metadata
//!   refresh, an app's own edit echoing back); so is one whose `library.refresh.items`
//!   activity ends, unless it was just added or updated (within the update window: the
//!   analysis that follows an add is no update of its own).
//! - An item in state 9 is **deleted**; one deleted before its processing ended was never
//!   announced, and is not.
//! - A flood of one item (state 5 twice a second for an hour while it is analysed) is one
//!   event at most: after it, a state 5 that starts nothing is a repeat.
//! - Activities are keyed by uuid: started, progress (when it changed), ended once however
//!   often repeated. A `library.update.section` activity is also a scan started and
//!   finished; "Library scan complete" without such an activity is a scan finished.
//! - Bounded: pending items, remembered items, running and ended activities each have a
//!   fixed bound; nothing grows with a flood.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::{LibraryEvent, LibraryGroup, LibraryItem, LibraryStats};
use crate::handler::Said;
use crate::{Activity, Error, Metadata, TimelineEntry, TimelineState};

/// The tracker's options, with their defaults.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    /// An item with no end to its processing is added after this much quiet.
    pub quiet_period: Duration,
    /// Episodes of one show, tracks of one album, added within this of each other: one
    /// event. `None`: one event per item.
    pub group_within: Option<Duration>,
    pub max_pending: usize,
    pub max_remembered: usize,
    /// One update per item within this.
    pub update_window: Duration,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            quiet_period: Duration::from_secs(30),
            group_within: None,
            max_pending: 10_000,
            max_remembered: 10_000,
            update_window: Duration::from_secs(30),
        }
    }
}

/// Activities remembered (running, and ended for collapsing repeats), at most.
const MAX_ACTIVITIES: usize = 1000;
/// After a gap, items added this long before the disconnect are looked for too (clocks).
const RECENT_SLACK: Duration = Duration::from_secs(60);
/// A "scan complete" status this soon after a scan activity ended is that scan's.
const SCAN_STATUS_SLACK: Duration = Duration::from_secs(10);
/// How far the server's clock may be from ours, for `addedAt` ("long before").
const CLOCK_SKEW: Duration = Duration::from_secs(3600);
/// A failed sync read is tried again after this, times the failures so far.
const SYNC_RETRY: Duration = Duration::from_secs(5);
/// Attempts at one sync read, at most.
const MAX_SYNC_ATTEMPTS: u32 = 4;
/// An item's metadata read that failed is made again this many times, the first after
/// this, each next after twice as long (or when the server said).
const METADATA_RETRIES: u32 = 3;
const METADATA_RETRY: Duration = Duration::from_secs(2);
/// A group waits at most this many times its `group_within`, however long items come.
const MAX_GROUP_WAITS: u32 = 10;
/// How many recently added items are read after a gap.
pub(crate) const RECENT_LIMIT: usize = 100;

/// What the machine wants read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Want {
    Metadata(String),
    Activities,
    /// `/activities`, for the sections of scans just started.
    ScanSections,
    RecentlyAdded,
    /// `/library/metadata/{key}/children`: a season or album the resync's listing named.
    Children(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Add,
    /// Its processing ran again: an update.
    Update,
    /// Its `library.refresh.items` activity ended: an update, unless one (or its add)
    /// was just announced.
    Refresh,
}

struct Pending {
    kind: Kind,
    /// Order of arrival: ready items are read and announced in it.
    seq: u64,
    last: Instant,
    /// Its processing ended (or it was quiet long enough): to be read and announced.
    ready: bool,
    /// Reads of its metadata that failed, and when to read it again.
    failures: u32,
    not_before: Option<Instant>,
    /// What its timeline entries said, for when its metadata cannot be read.
    seen: LibraryItem,
}
mod activities;
mod bounded;
mod resync;

use bounded::Bounded;
use resync::secs;

struct Group {
    group: LibraryGroup,
    items: Vec<LibraryItem>,
    due: Instant,
    opened: Instant,
}

pub(crate) struct Machine {
    opts: Options,
    pending: HashMap<String, Pending>,
    /// Items held in groups, in all (at most `max_pending`).
    held: HashSet<String>,
    /// Items gone when their metadata was read (never announced): their deletes, on their
    /// way, say nothing.
    vanished: Bounded<String, ()>,
    /// Pending reached its bound: said once, until it has emptied to half.
    full: bool,
    /// Items announced as added, and what is known of them (for a later delete).
    remembered: Bounded<String, LibraryItem>,
    /// When each item was last announced as updated.
    updated: Bounded<String, Instant>,
    running: Bounded<String, Activity>,
    ended: Bounded<String, ()>,
    /// Added items held for grouping, by group.
    groups: HashMap<String, Group>,
    /// A sync to make: `/activities` (at every connect), `/library/recentlyAdded` (after
    /// a gap).
    want_activities: bool,
    want_sections: bool,
    /// When a failed sync read is tried again, and how many times it failed in a row.
    sync_retry: Option<Instant>,
    sync_failures: u32,
    want_recent: bool,
    /// Since when items count as added while nobody listened (seconds since the epoch).
    disconnected_at: Option<SystemTime>,
    recent_since: Option<i64>,
    scan_ended_at: Option<Instant>,
    /// Scans started without naming their section: announced once one says it.
    unnamed_scans: Bounded<String, ()>,
    /// When the tracker started: what was added before is not news.
    started_at: SystemTime,
    /// It connected once: its first sync has begun.
    connected_once: bool,
    /// What `/library/recentlyAdded` listed at the first connection: not news at a
    /// resync, though `addedAt` (whole seconds) may equal the second the tracker started.
    /// `None` until read.
    baseline: Option<HashSet<String>>,
    resync: resync::Resync,
    seq: u64,
    pub stats: LibraryStats,
    out: Vec<Said<LibraryEvent>>,
}

impl Machine {
    pub fn new(opts: Options) -> Machine {
        Machine {
            remembered: Bounded::new(opts.max_remembered),
            updated: Bounded::new(opts.max_remembered),
            running: Bounded::new(MAX_ACTIVITIES),
            ended: Bounded::new(MAX_ACTIVITIES),
            opts,
            pending: HashMap::new(),
            held: HashSet::new(),
            vanished: Bounded::new(MAX_ACTIVITIES),
            full: false,
            groups: HashMap::new(),
            want_activities: false,
            want_sections: false,
            sync_retry: None,
            sync_failures: 0,
            want_recent: false,
            disconnected_at: None,
            recent_since: None,
            scan_ended_at: None,
            unnamed_scans: Bounded::new(MAX_ACTIVITIES),
            started_at: SystemTime::now(),
            connected_once: false,
            baseline: None,
            resync: resync::Resync::default(),
            seq: 0,
            stats: LibraryStats::default(),
            out: Vec::new(),
        }
    }

    fn emit(&mut self, event: LibraryEvent) {
        self.out.push(Said::Event(event));
    }

    pub fn drain(&mut self) -> Vec<Said<LibraryEvent>> {
        self.stats.pending = (self.pending.len() + self.held.len()) as u64;
        self.stats.remembered = self.remembered.len() as u64;
        self.stats.running_activities = self.running.len() as u64;
        std::mem::take(&mut self.out)
    }

    /// The listener connected: activities are read; after a gap, what was added too.
    pub fn connected(&mut self, after_gap: bool) {
        self.connected_once = true;
        self.want_activities = true;
        if !after_gap {
            // Failed attempts before a first connection are no gap.
            self.disconnected_at = None;
        }
        if self.baseline.is_none() && !after_gap {
            // The first connection: what is there already is read, not announced.
            self.want_recent = true;
        }
        if after_gap {
            let since = self.disconnected_at.take().unwrap_or_else(SystemTime::now);
            let since = since.checked_sub(RECENT_SLACK).unwrap_or(since);
            // Nothing added before the tracker started is news. `addedAt` counts whole
            // seconds: within the second it started, the baseline tells what was there;
            // without one (not read yet), that second is left out.
            let floor = secs(self.started_at) + i64::from(self.baseline.is_none());
            self.recent_since = Some(secs(since).max(floor));
            self.want_recent = true;
        }
    }

    pub fn disconnected(&mut self) {
        self.disconnected_at.get_or_insert_with(SystemTime::now);
    }

    /// Whether the first sync is done: `/activities` and what the library held when it
    /// started, read or given up on.
    pub fn synced(&self) -> bool {
        self.connected_once && !self.want_activities && !self.want_recent
    }

    pub fn want(&self, now: Instant) -> Option<Want> {
        // A sync read that failed is tried again once its delay is over.
        let sync = self.sync_retry.is_none_or(|at| now >= at);
        if sync && self.want_activities {
            return Some(Want::Activities);
        }
        if self.want_sections {
            return Some(Want::ScanSections);
        }
        if sync && self.want_recent {
            return Some(Want::RecentlyAdded);
        }
        if let Some(key) = self.next_container() {
            return Some(Want::Children(key));
        }
        self.pending
            .iter()
            .filter(|(_, p)| p.ready && p.not_before.is_none_or(|at| at <= now))
            .min_by_key(|(_, p)| p.seq)
            .map(|(k, _)| Want::Metadata(k.clone()))
    }

    pub fn next_deadline(&self) -> Option<Instant> {
        let quiet = self
            .pending
            .values()
            .filter(|p| !p.ready)
            .filter_map(|p| p.last.checked_add(self.opts.quiet_period));
        let groups = self.groups.values().map(|g| g.due);
        let retries = self.pending.values().filter_map(|p| p.not_before);
        quiet
            .chain(groups)
            .chain(self.sync_retry)
            .chain(retries)
            .min()
    }

    /// A sync read (`/activities`, `/library/recentlyAdded`) failed: said, and true if it
    /// is to be tried again (after 5 s, then 10 s, then 15 s; then it is left).
    fn sync_failed(&mut self, e: Error, now: Instant) -> bool {
        self.out.push(Said::Error(e));
        self.sync_failures += 1;
        if self.sync_failures >= MAX_SYNC_ATTEMPTS {
            self.sync_done();
            return false;
        }
        self.sync_retry = now.checked_add(SYNC_RETRY * self.sync_failures);
        true
    }

    fn sync_done(&mut self) {
        (self.sync_failures, self.sync_retry) = (0, None);
    }

    /// Items quiet for long enough are ready; groups whose time is up are announced.
    pub fn tick(&mut self, now: Instant) {
        let quiet = self.opts.quiet_period;
        for p in self.pending.values_mut() {
            if !p.ready && p.last.checked_add(quiet).is_some_and(|at| at <= now) {
                p.ready = true;
            }
        }
        let due: Vec<String> = self
            .groups
            .iter()
            .filter(|(_, g)| g.due <= now)
            .map(|(k, _)| k.clone())
            .collect();
        for key in due {
            self.announce_group(&key);
        }
    }

    /// A timeline entry.
    pub fn timeline(&mut self, e: &TimelineEntry, now: Instant) {
        if !e.is_library_item() {
            self.stats.not_library += 1;
            return;
        }
        let Some(key) = e.item_id.clone().filter(|k| !k.is_empty()) else {
            self.stats.not_library += 1;
            return;
        };
        let state = e.timeline_state();
        let metadata_state = e.metadata_state.as_deref();
        if state != Some(TimelineState::Deleted)
            && metadata_state.is_none()
            && e.media_state.is_some()
        {
            self.stats.no_ops += 1;
            return;
        }
        if state == Some(TimelineState::Deleted) || metadata_state == Some("deleted") {
            self.deleted(&key, e);
            return;
        }
        let created = state == Some(TimelineState::Created) || metadata_state == Some("created");
        if let Some(p) = self.pending.get_mut(&key) {
            p.last = now;
            p.seen.title = e
                .title
                .clone()
                .filter(|t| !t.is_empty())
                .or(p.seen.title.take());
            if state == Some(TimelineState::Processed) {
                if p.ready {
                    self.stats.repeats += 1;
                }
                p.ready = true;
            }
            return;
        }
        let kind = match (created, state, metadata_state) {
            // A creation of an item already announced: its own edit, echoing back.
            (true, _, _) if self.remembered.contains(&key) => Kind::Update,
            (true, _, _) => Kind::Add,
            // Processing that runs again on an item that is there: an update.
            (_, Some(TimelineState::Processed), Some(_)) => Kind::Update,
            (_, Some(TimelineState::Processed), None) => {
                // Re-announced as processed, starting nothing: a flood's repeat.
                self.stats.repeats += 1;
                return;
            }
            _ => Kind::Update,
        };
        if self.pending.len() >= self.opts.max_pending {
            self.stats.over_limit += 1;
            if !std::mem::replace(&mut self.full, true) {
                self.out.push(Said::Error(Error::TrackerFull {
                    what: "library items",
                    limit: self.opts.max_pending,
                }));
            }
            return;
        }
        // Said again only once it has emptied to half: not at each slot freed and taken.
        self.full &= self.pending.len() > self.opts.max_pending / 2;
        let ready = state == Some(TimelineState::Processed);
        self.seq += 1;
        let mut seen = LibraryItem::from_entry(&key, e);
        if kind == Kind::Add {
            seen.scan = self.scan_running(e.library_section_id.as_deref());
        }
        self.pending.insert(
            key.clone(),
            Pending {
                kind,
                seq: self.seq,
                last: now,
                ready,
                failures: 0,
                not_before: None,
                seen,
            },
        );
    }

    fn deleted(&mut self, key: &str, e: &TimelineEntry) {
        let held = self.held.remove(key);
        if held {
            for g in self.groups.values_mut() {
                g.items.retain(|i| i.key() != key);
            }
            // Counted as added when it was read; it never was.
            self.stats.added -= 1;
        }
        if self.vanished.remove(&key.to_owned()).is_some() {
            return; // counted when its read found it gone
        }
        match self.pending.remove(key) {
            Some(p) if p.kind == Kind::Add => {
                self.stats.deleted_before_ready += 1;
                return;
            }
            _ if held => {
                self.remembered.remove(&key.to_owned());
                self.stats.deleted_before_ready += 1;
                return;
            }
            _ => {}
        }
        let item = self
            .remembered
            .remove(&key.to_owned())
            .unwrap_or_else(|| LibraryItem::from_entry(key, e));
        self.updated.remove(&key.to_owned());
        self.stats.deleted += 1;
        self.emit(LibraryEvent::ItemDeleted(item));
    }

    /// An item's metadata, read because it was ready.
    pub fn metadata(&mut self, key: &str, answer: Result<Option<Metadata>, Error>, now: Instant) {
        self.stats.metadata_reads += 1;
        let Some(mut p) = self.pending.remove(key) else {
            return;
        };
        let answer = match answer {
            // A server failing, or asking to wait: read again later, a few times.
            Err(e) if e.is_retryable() && p.failures < METADATA_RETRIES => {
                let backoff = METADATA_RETRY * 2u32.pow(p.failures);
                p.not_before = Some(now + backoff.max(e.retry_after().unwrap_or_default()));
                p.failures += 1;
                self.stats.retries += 1;
                self.out.push(Said::Error(e));
                self.pending.insert(key.to_owned(), p);
                return;
            }
            other => other,
        };
        let item = match answer {
            Ok(Some(m)) => LibraryItem {
                scan: p.seen.scan.take(),
                ..LibraryItem::from_metadata(key, m)
            },
            Ok(None) if p.kind == Kind::Add => {
                // Gone before it was announced: neither it nor its delete will be.
                self.stats.deleted_before_ready += 1;
                self.vanished.insert(key.to_owned(), ());
                return;
            }
            // Gone already: its delete says the rest.
            Ok(None) => return,
            Err(e) => {
                self.out.push(Said::Error(e));
                p.seen
            }
        };
        let key = item.key().to_owned();
        let recent = self
            .updated
            .get(&key)
            .is_some_and(|at| now.duration_since(*at) < self.opts.update_window);
        match p.kind {
            // Created again, an item that was there long before the tracker started (an
            // app's own write, echoing back): an update.
            Kind::Add if self.older_than_the_tracker(&item) => self.updated(item, now),
            Kind::Add => self.added(item, now),
            // Processing of an item never announced, added since the tracker started: its
            // creation was missed (in a gap, or before the first connection).
            _ if self.missed_add(&item) => self.added(item, now),
            // Still held in its group: the group will carry it as it is now.
            _ if self.held.contains(&key) => self.replace_held(item),
            // The analysis that follows an add, a refresh repeated: no update of its own.
            Kind::Refresh if recent => self.stats.repeats += 1,
            Kind::Update | Kind::Refresh => self.updated(item, now),
        }
    }

    /// Never announced (nor held), and added, the server says, since the tracker started
    /// and after what was there at its first connection.
    fn missed_add(&self, item: &LibraryItem) -> bool {
        let key = &item.key().to_owned();
        !self.remembered.contains(key)
            && !self.held.contains(key)
            && !self.baseline.as_ref().is_some_and(|b| b.contains(key))
            && item.added_at.is_some_and(|at| at >= secs(self.started_at))
    }

    fn replace_held(&mut self, item: LibraryItem) {
        let held = self.groups.values_mut().flat_map(|g| g.items.iter_mut());
        if let Some(slot) = held.into_iter().find(|i| i.rating_key == item.rating_key) {
            *slot = item;
        }
        self.stats.repeats += 1;
    }

    /// Added, the server says, before the tracker started, by more than any clock skew.
    fn older_than_the_tracker(&self, item: &LibraryItem) -> bool {
        let started = self
            .started_at
            .checked_sub(CLOCK_SKEW)
            .unwrap_or(UNIX_EPOCH);
        let started = started
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        item.added_at.is_some_and(|at| at < started as i64)
    }

    fn added(&mut self, item: LibraryItem, now: Instant) {
        let item_key = item.key().to_owned();
        if self.remembered.contains(&item_key) || self.held.contains(&item_key) {
            self.stats.repeats += 1;
            return;
        }
        self.remembered.insert(item_key.clone(), item.clone());
        // The analysis that follows an add is no update of its own.
        self.updated.insert(item_key.clone(), now);
        self.stats.added += 1;
        let group = self.opts.group_within.zip(item.group());
        let Some((within, group)) = group else {
            self.emit(LibraryEvent::ItemAdded(item));
            return;
        };
        let key = group.key().to_owned();
        let held = self.groups.entry(key.clone()).or_insert_with(|| Group {
            group,
            items: Vec::new(),
            due: now,
            opened: now,
        });
        held.items.push(item);
        // Announced `within` after its last item, however long the items keep coming.
        let last = held
            .opened
            .checked_add(within.saturating_mul(MAX_GROUP_WAITS));
        held.due = match (now.checked_add(within), last) {
            (Some(due), Some(last)) => due.min(last),
            (due, last) => due.or(last).unwrap_or(now),
        };
        let full = held.items.len() >= self.opts.max_pending;
        self.held.insert(item_key);
        if full {
            self.announce_group(&key);
        }
        // Over the bound in all: the group due first goes now.
        while self.held.len() > self.opts.max_pending {
            let first = self.groups.iter().min_by_key(|(_, g)| g.due);
            let Some(key) = first.map(|(k, _)| k.clone()) else {
                break;
            };
            self.announce_group(&key);
        }
    }

    /// A group's items, announced: one event, a group of one too.
    fn announce_group(&mut self, key: &str) {
        let Some(Group { group, items, .. }) = self.groups.remove(key) else {
            return;
        };
        for item in &items {
            self.held.remove(item.key());
        }
        // One rule: what is grouped comes grouped, a group of one too.
        if !items.is_empty() {
            self.emit(LibraryEvent::ItemsAdded { group, items });
        }
    }

    fn updated(&mut self, item: LibraryItem, now: Instant) {
        self.updated.insert(item.key().to_owned(), now);
        self.stats.updated += 1;
        self.emit(LibraryEvent::ItemUpdated(item));
    }
    /// The tracker stops: grouped items are announced.
    pub fn finish(&mut self) {
        let mut keys: Vec<(Instant, String)> = self
            .groups
            .iter()
            .map(|(k, g)| (g.opened, k.clone()))
            .collect();
        keys.sort();
        for (_, key) in keys {
            self.announce_group(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Instant, SystemTime, UNIX_EPOCH};

    use super::{Machine, Options, Want};
    use crate::handler::Said;
    use crate::{LibraryEvent, Metadata, TimelineEntry};

    /// An item created, then processed: what the tracker says once its metadata is read.
    fn created_and_read(m: &mut Machine, key: &str, added_at: i64) -> Vec<String> {
        let now = Instant::now();
        let mut e = TimelineEntry {
            identifier: Some("com.plexapp.plugins.library".into()),
            item_id: Some(key.into()),
            library_section_id: Some("1".into()),
            media_type: Some(1),
            state: Some(0),
            metadata_state: Some("created".into()),
            ..TimelineEntry::default()
        };
        m.timeline(&e, now);
        (e.state, e.metadata_state) = (Some(5), None);
        m.timeline(&e, now);
        assert_eq!(m.want(now), Some(Want::Metadata(key.into())));
        let mut meta = Metadata::default();
        (meta.rating_key, meta.added_at) = (Some(key.into()), Some(added_at));
        m.metadata(key, Ok(Some(meta)), now);
        let said = m.drain().into_iter().map(|s| match s {
            Said::Event(LibraryEvent::ItemAdded(i)) => format!("added {}", i.key()),
            Said::Event(LibraryEvent::ItemUpdated(i)) => format!("updated {}", i.key()),
            other => format!("{other:?}"),
        });
        said.collect()
    }

    #[test]
    fn an_item_from_long_before_the_start_created_again_is_an_update() {
        let mut m = Machine::new(Options::default());
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        // Two hours before, past any clock skew: an app's own write echoing back.
        assert_eq!(created_and_read(&mut m, "7", now - 7200), ["updated 7"]);
        // Within the skew allowed (the server's clock behind ours): new.
        assert_eq!(created_and_read(&mut m, "8", now - 600), ["added 8"]);
        assert_eq!(created_and_read(&mut m, "9", now), ["added 9"]);
    }
}
