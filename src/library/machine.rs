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

use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::Hash;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::{LibraryEvent, LibraryGroup, LibraryItem, LibraryStats};
use crate::handler::Said;
use crate::{
    Activity, ActivityNotification, Error, Metadata, StatusNotification, TimelineEntry,
    TimelineState,
};

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
/// A group waits at most this many times its `group_within`, however long items come.
const MAX_GROUP_WAITS: u32 = 10;
/// How many recently added items are read after a gap.
pub(crate) const RECENT_LIMIT: usize = 100;

/// What the machine wants read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Want {
    Metadata(String),
    Activities,
    RecentlyAdded,
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
    /// What its timeline entries said, for when its metadata cannot be read.
    seen: LibraryItem,
}

/// A map with a bound: the oldest goes when a new one comes. Removing is O(1): the
/// order keeps a stale entry (told apart by its generation) until it is popped or the
/// order is compacted.
struct Bounded<K, V> {
    order: VecDeque<(K, u64)>,
    map: HashMap<K, (V, u64)>,
    max: usize,
    generation: u64,
}

impl<K: Hash + Eq + Clone, V> Bounded<K, V> {
    fn new(max: usize) -> Self {
        Bounded {
            order: VecDeque::new(),
            map: HashMap::new(),
            max,
            generation: 0,
        }
    }

    fn insert(&mut self, k: K, v: V) {
        match self.map.get_mut(&k) {
            Some(entry) => entry.0 = v,
            None => {
                self.generation += 1;
                self.map.insert(k.clone(), (v, self.generation));
                self.order.push_back((k, self.generation));
            }
        }
        while self.map.len() > self.max {
            let Some((old, generation)) = self.order.pop_front() else {
                break;
            };
            if self.map.get(&old).is_some_and(|(_, g)| *g == generation) {
                self.map.remove(&old);
            }
        }
        if self.order.len() > 2 * self.max + 16 {
            let map = &self.map;
            self.order
                .retain(|(k, generation)| map.get(k).is_some_and(|(_, g)| g == generation));
        }
    }

    fn remove(&mut self, k: &K) -> Option<V> {
        self.map.remove(k).map(|(v, _)| v)
    }

    fn get(&self, k: &K) -> Option<&V> {
        self.map.get(k).map(|(v, _)| v)
    }

    fn contains(&self, k: &K) -> bool {
        self.map.contains_key(k)
    }

    fn len(&self) -> usize {
        self.map.len()
    }

    fn values(&self) -> impl Iterator<Item = &V> {
        self.map.values().map(|(v, _)| v)
    }

    #[cfg(test)]
    fn order_len(&self) -> usize {
        self.order.len()
    }
}

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
    held: usize,
    /// Pending reached its bound: said once, until one more fits again.
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
    want_recent: bool,
    /// Since when items count as added while nobody listened (seconds since the epoch).
    disconnected_at: Option<SystemTime>,
    recent_since: Option<i64>,
    scan_ended_at: Option<Instant>,
    /// Scans started without naming their section: announced once one says it.
    unnamed_scans: Bounded<String, ()>,
    /// When the tracker started: what was added before is not news.
    started_at: SystemTime,
    /// What `/library/recentlyAdded` listed at the first connection: not news at a
    /// resync, though `addedAt` (whole seconds) may equal the second the tracker started.
    /// `None` until read.
    baseline: Option<HashSet<String>>,
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
            held: 0,
            full: false,
            groups: HashMap::new(),
            want_activities: false,
            want_recent: false,
            disconnected_at: None,
            recent_since: None,
            scan_ended_at: None,
            unnamed_scans: Bounded::new(MAX_ACTIVITIES),
            started_at: SystemTime::now(),
            baseline: None,
            seq: 0,
            stats: LibraryStats::default(),
            out: Vec::new(),
        }
    }

    fn emit(&mut self, event: LibraryEvent) {
        self.out.push(Said::Event(event));
    }

    pub fn drain(&mut self) -> Vec<Said<LibraryEvent>> {
        self.stats.pending = (self.pending.len() + self.held) as u64;
        self.stats.remembered = self.remembered.len() as u64;
        self.stats.running_activities = self.running.len() as u64;
        std::mem::take(&mut self.out)
    }

    /// The listener connected: activities are read; after a gap, what was added too.
    pub fn connected(&mut self, after_gap: bool) {
        self.want_activities = true;
        if self.baseline.is_none() && !after_gap {
            // The first connection: what is there already is read, not announced.
            self.want_recent = true;
        }
        if after_gap {
            let since = self.disconnected_at.take().unwrap_or_else(SystemTime::now);
            let since = since.checked_sub(RECENT_SLACK).unwrap_or(since);
            let secs = |t: SystemTime| {
                t.duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs() as i64)
            };
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

    pub fn want(&self) -> Option<Want> {
        if self.want_activities {
            return Some(Want::Activities);
        }
        if self.want_recent {
            return Some(Want::RecentlyAdded);
        }
        self.pending
            .iter()
            .filter(|(_, p)| p.ready)
            .min_by_key(|(_, p)| p.seq)
            .map(|(k, _)| Want::Metadata(k.clone()))
    }

    pub fn next_deadline(&self) -> Option<Instant> {
        let quiet = self
            .pending
            .values()
            .filter(|p| !p.ready)
            .map(|p| p.last + self.opts.quiet_period);
        let groups = self.groups.values().map(|g| g.due);
        quiet.chain(groups).min()
    }

    /// Items quiet for long enough are ready; groups whose time is up are announced.
    pub fn tick(&mut self, now: Instant) {
        let quiet = self.opts.quiet_period;
        for p in self.pending.values_mut() {
            if !p.ready && p.last + quiet <= now {
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
        self.full = false;
        let ready = state == Some(TimelineState::Processed);
        self.seq += 1;
        self.pending.insert(
            key.clone(),
            Pending {
                kind,
                seq: self.seq,
                last: now,
                ready,
                seen: LibraryItem::from_entry(&key, e),
            },
        );
    }

    fn deleted(&mut self, key: &str, e: &TimelineEntry) {
        let held = self.groups.values_mut().any(|g| {
            let before = g.items.len();
            g.items.retain(|i| i.rating_key != key);
            g.items.len() != before
        });
        self.held -= usize::from(held);
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
        let Some(p) = self.pending.remove(key) else {
            return;
        };
        let item = match answer {
            Ok(Some(m)) => LibraryItem::from_metadata(key, m),
            // Gone already: its delete says the rest.
            Ok(None) => return,
            Err(e) => {
                self.out.push(Said::Error(e));
                p.seen
            }
        };
        match p.kind {
            Kind::Add => self.added(item, now),
            Kind::Update => self.updated(item, now),
            Kind::Refresh => {
                let recent = self
                    .updated
                    .get(&item.rating_key)
                    .is_some_and(|at| now.duration_since(*at) < self.opts.update_window);
                match recent {
                    true => self.stats.repeats += 1,
                    false => self.updated(item, now),
                }
            }
        }
    }

    fn added(&mut self, item: LibraryItem, now: Instant) {
        if self.remembered.contains(&item.rating_key) {
            self.stats.repeats += 1;
            return;
        }
        self.remembered
            .insert(item.rating_key.clone(), item.clone());
        // The analysis that follows an add is no update of its own.
        self.updated.insert(item.rating_key.clone(), now);
        self.stats.added += 1;
        let group = self.opts.group_within.zip(item.group());
        let Some((within, group)) = group else {
            self.emit(LibraryEvent::ItemAdded(item));
            return;
        };
        let key = group.rating_key.clone();
        let held = self.groups.entry(key.clone()).or_insert_with(|| Group {
            group,
            items: Vec::new(),
            due: now,
            opened: now,
        });
        held.items.push(item);
        // Announced `within` after its last item, however long the items keep coming.
        held.due = (now + within).min(held.opened + within * MAX_GROUP_WAITS);
        let full = held.items.len() >= self.opts.max_pending;
        self.held += 1;
        if full {
            self.announce_group(&key);
        }
        // Over the bound in all: the group due first goes now.
        while self.held > self.opts.max_pending {
            let first = self.groups.iter().min_by_key(|(_, g)| g.due);
            let Some(key) = first.map(|(k, _)| k.clone()) else {
                break;
            };
            self.announce_group(&key);
        }
    }

    /// A group's items, announced: one event, or an `ItemAdded` if it holds one.
    fn announce_group(&mut self, key: &str) {
        let Some(Group {
            group, mut items, ..
        }) = self.groups.remove(key)
        else {
            return;
        };
        self.held -= items.len();
        match items.len() {
            0 => {}
            1 => self.emit(LibraryEvent::ItemAdded(items.remove(0))),
            _ => self.emit(LibraryEvent::ItemsAdded { group, items }),
        }
    }

    fn updated(&mut self, item: LibraryItem, now: Instant) {
        self.updated.insert(item.rating_key.clone(), now);
        self.stats.updated += 1;
        self.emit(LibraryEvent::ItemUpdated(item));
    }

    /// An `activity` notification.
    pub fn activity(&mut self, n: &ActivityNotification, now: Instant) {
        let Some(mut activity) = n.activity.clone() else {
            return;
        };
        let Some(uuid) = n.uuid.clone().or(activity.uuid.clone()) else {
            return;
        };
        activity.uuid.get_or_insert_with(|| uuid.clone());
        if self.ended.contains(&uuid) {
            self.stats.repeats += 1;
            return;
        }
        let known = self.running.get(&uuid).cloned();
        if activity.context.is_none() {
            // `started` comes without its Context: keep the one seen, if any.
            activity.context = known.as_ref().and_then(|a| a.context.clone());
        }
        match n.event.as_deref() {
            Some("ended") => self.activity_ended(uuid, activity, now),
            _ => match known {
                None => self.activity_started(uuid, activity),
                Some(before) => {
                    let moved = before.progress != activity.progress;
                    self.running.insert(uuid.clone(), activity.clone());
                    if moved {
                        self.emit(LibraryEvent::ActivityProgress(activity.clone()));
                    }
                    self.name_scan(&uuid, &activity);
                }
            },
        }
    }

    fn activity_started(&mut self, uuid: String, activity: Activity) {
        self.running.insert(uuid.clone(), activity.clone());
        self.emit(LibraryEvent::ActivityStarted(activity.clone()));
        if is_scan(&activity) {
            // `started` usually names no section: the scan is announced once one does.
            self.unnamed_scans.insert(uuid.clone(), ());
            self.name_scan(&uuid, &activity);
        }
    }

    /// A scan not yet announced is, once the activity names its section.
    fn name_scan(&mut self, uuid: &String, activity: &Activity) {
        if let Some(section_id) = section_of(activity) {
            if self.unnamed_scans.remove(uuid).is_some() {
                self.emit(LibraryEvent::ScanStarted {
                    section_id: Some(section_id),
                });
            }
        }
    }

    fn activity_ended(&mut self, uuid: String, activity: Activity, now: Instant) {
        self.running.remove(&uuid);
        let unnamed = self.unnamed_scans.remove(&uuid).is_some();
        self.ended.insert(uuid, ());
        let scan = is_scan(&activity);
        let section_id = section_of(&activity);
        let refreshed = refreshed_item(&activity);
        if unnamed {
            self.emit(LibraryEvent::ScanStarted {
                section_id: section_id.clone(),
            });
        }
        self.emit(LibraryEvent::ActivityEnded(activity));
        if scan {
            self.scan_ended_at = Some(now);
            self.emit(LibraryEvent::ScanFinished { section_id });
        }
        // A refresh of an item that is there, with nothing pending for it: an update.
        if let Some(key) = refreshed {
            let recent = self
                .updated
                .get(&key)
                .is_some_and(|at| now.duration_since(*at) < self.opts.update_window);
            if recent {
                self.stats.repeats += 1;
            } else if !self.pending.contains_key(&key) && self.pending.len() < self.opts.max_pending
            {
                let seen = LibraryItem {
                    rating_key: key.clone(),
                    ..LibraryItem::default()
                };
                self.seq += 1;
                self.pending.insert(
                    key,
                    Pending {
                        kind: Kind::Refresh,
                        seq: self.seq,
                        last: now,
                        ready: true,
                        seen,
                    },
                );
            }
        }
    }

    /// A `status` notification: "Library scan complete" without a scan activity is a
    /// scan finished.
    pub fn status(&mut self, s: &StatusNotification, now: Instant) {
        if s.title.as_deref() != Some("Library scan complete") {
            return;
        }
        let a_scan_said_it = self.running.values().any(is_scan)
            || self
                .scan_ended_at
                .is_some_and(|at| now.duration_since(at) < SCAN_STATUS_SLACK);
        if !a_scan_said_it {
            self.emit(LibraryEvent::ScanFinished { section_id: None });
        }
    }

    /// `/activities`, read at a connect: what ended meanwhile ends, what runs is current.
    pub fn activities(&mut self, answer: Result<Vec<Activity>, Error>, now: Instant) {
        self.want_activities = false;
        self.stats.sync_reads += 1;
        let listed = match answer {
            Ok(listed) => listed,
            Err(e) => {
                self.out.push(Said::Error(e));
                return;
            }
        };
        let uuids: HashSet<String> = listed.iter().filter_map(|a| a.uuid.clone()).collect();
        let gone: Vec<String> = self
            .running
            .map
            .keys()
            .filter(|u| !uuids.contains(*u))
            .cloned()
            .collect();
        for uuid in gone {
            if let Some(activity) = self.running.get(&uuid).cloned() {
                self.activity_ended(uuid, activity, now);
            }
        }
        for activity in listed {
            let Some(uuid) = activity.uuid.clone() else {
                continue;
            };
            if self.ended.contains(&uuid) {
                continue;
            }
            match self.running.get(&uuid).map(|a| a.progress) {
                None => self.activity_started(uuid, activity),
                Some(progress) if progress != activity.progress => {
                    self.running.insert(uuid, activity.clone());
                    self.emit(LibraryEvent::ActivityProgress(activity));
                }
                Some(_) => {}
            }
        }
    }

    /// `/library/recentlyAdded`, read after a gap: what was added meanwhile.
    pub fn recently_added(&mut self, answer: Result<Vec<Metadata>, Error>, now: Instant) {
        self.want_recent = false;
        self.stats.sync_reads += 1;
        let Some(since) = self.recent_since.take() else {
            // The baseline, read at the first connection; if it fails, resyncs go
            // without (and leave out the second the tracker started in).
            match answer {
                Ok(items) => {
                    let keys = items.into_iter().filter_map(|m| m.rating_key);
                    self.baseline = Some(keys.collect());
                }
                Err(e) => self.out.push(Said::Error(e)),
            }
            return;
        };
        let items = match answer {
            Ok(items) => items,
            Err(e) => {
                self.out.push(Said::Error(e));
                return;
            }
        };
        let baseline = self.baseline.take();
        // Oldest first, as they were added.
        for m in items.into_iter().rev() {
            let Some(key) = m.rating_key.clone() else {
                continue;
            };
            // Pending since before the gap, its end lost in it: the listing says it is in.
            let pending_add = self.pending.get(&key).is_some_and(|p| p.kind == Kind::Add);
            let new = m.added_at.is_some_and(|at| at >= since)
                && !self.pending.contains_key(&key)
                && !baseline.as_ref().is_some_and(|b| b.contains(&key));
            if (pending_add || new) && !self.remembered.contains(&key) {
                self.pending.remove(&key);
                self.added(LibraryItem::from_metadata(&key, m), now);
            }
        }
        self.baseline = baseline;
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

fn is_scan(a: &Activity) -> bool {
    a.activity_type.as_deref() == Some("library.update.section")
}

fn section_of(a: &Activity) -> Option<String> {
    let v = a.context.as_ref()?.get("librarySectionID")?;
    v.as_str()
        .map(str::to_owned)
        .or_else(|| v.as_i64().map(|n| n.to_string()))
}

/// The item a finished `library.refresh.items` activity refreshed, if it names one (not
/// its children).
fn refreshed_item(a: &Activity) -> Option<String> {
    if a.activity_type.as_deref() != Some("library.refresh.items")
        || a.progress.is_some_and(|p| p < 100.0)
    {
        return None;
    }
    let key = a.context.as_ref()?.get("key")?.as_str()?;
    let id = key.strip_prefix("/library/metadata/")?;
    (!id.is_empty() && !id.contains('/')).then(|| id.to_owned())
}

#[cfg(test)]
mod tests {
    use super::Bounded;

    #[test]
    fn the_oldest_goes_when_a_new_one_comes() {
        let mut b = Bounded::new(2);
        b.insert("a", 1);
        b.insert("b", 2);
        b.insert("a", 3); // replaced, not moved
        b.insert("c", 4);
        assert!(!b.contains(&"a"));
        assert_eq!((b.get(&"b"), b.get(&"c")), (Some(&2), Some(&4)));
    }

    #[test]
    fn a_key_back_after_its_removal_is_not_evicted_by_its_old_place() {
        let mut b = Bounded::new(2);
        b.insert("a", 1);
        b.insert("b", 2);
        assert_eq!(b.remove(&"a"), Some(1));
        b.insert("a", 3); // now the newest
        b.insert("c", 4); // "b" is the oldest
        assert!(!b.contains(&"b"));
        assert_eq!((b.get(&"a"), b.get(&"c")), (Some(&3), Some(&4)));
    }

    #[test]
    fn adds_and_removes_without_end_stay_within_the_bound() {
        let mut b = Bounded::new(10);
        for i in 0..100_000u32 {
            b.insert(i, ());
            b.remove(&i);
        }
        assert_eq!(b.len(), 0);
        assert!(b.order_len() <= 2 * 10 + 16, "{}", b.order_len());
    }
}
