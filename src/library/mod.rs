//! Library changes as events an app acts on: [`LibraryEvent`], each item added, updated or
//! deleted reported once, and the activities (scans, refreshes) from start to end. The
//! rules are in [`machine`](self::machine); the thread and the builder in `tracking`.

pub(crate) mod machine;

use std::fmt;
use std::sync::{Arc, Mutex};

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use crate::stop::lock;
use crate::{Activity, MediaType, Metadata, TimelineEntry};

/// What changed in the library. See the [crate docs](crate#library-changes-and-activities)
/// for the rules that decide each one.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum LibraryEvent {
    /// An item was added, once its processing ended (or stayed quiet long enough, as in a
    /// section without a metadata agent), with its metadata read.
    ItemAdded(LibraryItem),
    /// Items of one show (episodes) or one album (tracks) added within the grouping
    /// period ([`LibraryTrackerBuilder::group_within`](crate::LibraryTrackerBuilder::group_within)),
    /// as one event; with grouping asked for, every episode and track comes in one, a
    /// group of one too.
    ItemsAdded {
        /// The show, or the album.
        group: LibraryGroup,
        /// The items, in the order they were ready.
        items: Vec<LibraryItem>,
    },
    /// An item already in the library changed: a file upgrade, a metadata refresh.
    ItemUpdated(LibraryItem),
    /// An item was deleted (what is known of it: all of it, if the tracker announced it).
    ItemDeleted(LibraryItem),
    /// A library scan started, in this section when the server says.
    ScanStarted {
        /// The section.
        library_section_id: Option<String>,
        /// The scan: its activity's uuid, which the items it brings carry
        /// ([`LibraryItem::scan`]).
        scan: Option<String>,
    },
    /// A library scan ended. Its items may still be processing: the end is not held back
    /// for them (analysis can take an hour); each comes later, carrying the scan
    /// ([`LibraryItem::scan`]), and `pending` says how many are to come.
    ScanFinished {
        /// The section, when the server said.
        library_section_id: Option<String>,
        /// The scan: its activity's uuid; `None` for a "Library scan complete" status
        /// without a scan activity.
        scan: Option<String>,
        /// Items this scan brought that are not announced yet: each comes as an
        /// [`ItemAdded`](Self::ItemAdded) (or in an [`ItemsAdded`](Self::ItemsAdded)) with
        /// `scan` set, unless it is deleted first.
        pending: usize,
    },
    /// An activity (a scan, a refresh, an analysis) started.
    ActivityStarted(Activity),
    /// An activity moved on: its progress changed.
    ActivityProgress(Activity),
    /// An activity ended (once, however often the server repeats it).
    ActivityEnded(Activity),
}

impl LibraryEvent {
    /// Its name in JSON: `item_added`, `scan_finished`, ...
    fn name(&self) -> &'static str {
        match self {
            LibraryEvent::ItemAdded(_) => "item_added",
            LibraryEvent::ItemsAdded { .. } => "items_added",
            LibraryEvent::ItemUpdated(_) => "item_updated",
            LibraryEvent::ItemDeleted(_) => "item_deleted",
            LibraryEvent::ScanStarted { .. } => "scan_started",
            LibraryEvent::ScanFinished { .. } => "scan_finished",
            LibraryEvent::ActivityStarted(_) => "activity_started",
            LibraryEvent::ActivityProgress(_) => "activity_progress",
            LibraryEvent::ActivityEnded(_) => "activity_ended",
        }
    }
}

/// As JSON, one object per event: `{"event": "item_added", "item": {...}}`; `group` and
/// `items` for `items_added`; `library_section_id`, `scan` (and `pending`) for a scan's;
/// `activity` for an activity's.
impl Serialize for LibraryEvent {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("event", self.name())?;
        match self {
            LibraryEvent::ItemAdded(item)
            | LibraryEvent::ItemUpdated(item)
            | LibraryEvent::ItemDeleted(item) => map.serialize_entry("item", item)?,
            LibraryEvent::ItemsAdded { group, items } => {
                map.serialize_entry("group", group)?;
                map.serialize_entry("items", items)?;
            }
            LibraryEvent::ScanStarted {
                library_section_id,
                scan,
            } => {
                map.serialize_entry("library_section_id", library_section_id)?;
                map.serialize_entry("scan", scan)?;
            }
            LibraryEvent::ScanFinished {
                library_section_id,
                scan,
                pending,
            } => {
                map.serialize_entry("library_section_id", library_section_id)?;
                map.serialize_entry("scan", scan)?;
                map.serialize_entry("pending", pending)?;
            }
            LibraryEvent::ActivityStarted(a)
            | LibraryEvent::ActivityProgress(a)
            | LibraryEvent::ActivityEnded(a) => map.serialize_entry("activity", a)?,
        }
        map.end()
    }
}

impl fmt::Display for LibraryEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let activity = |f: &mut fmt::Formatter<'_>, what: &str, a: &Activity| {
            write!(f, "{what}: {}", a.title.as_deref().unwrap_or("an activity"))?;
            if let Some(s) = a.subtitle.as_deref().filter(|s| !s.is_empty()) {
                write!(f, " — {s}")?;
            }
            match a.progress {
                Some(p) if p >= 0.0 => write!(f, " {p:.0}%"),
                _ => Ok(()),
            }
        };
        let section = |s: &Option<String>| {
            s.as_deref()
                .map_or(String::new(), |s| format!(" of section {s}"))
        };
        match self {
            LibraryEvent::ItemAdded(item) => write!(f, "added: {item}"),
            LibraryEvent::ItemsAdded { group, items } => {
                write!(f, "added {} to {group}:", items.len())?;
                for item in items {
                    write!(f, " {};", item.title.as_deref().unwrap_or(item.key()))?;
                }
                Ok(())
            }
            LibraryEvent::ItemUpdated(item) => write!(f, "updated: {item}"),
            LibraryEvent::ItemDeleted(item) => write!(f, "deleted: {item}"),
            LibraryEvent::ScanStarted {
                library_section_id, ..
            } => {
                write!(f, "scan started{}", section(library_section_id))
            }
            LibraryEvent::ScanFinished {
                library_section_id, ..
            } => {
                write!(f, "scan finished{}", section(library_section_id))
            }
            LibraryEvent::ActivityStarted(a) => activity(f, "started", a),
            LibraryEvent::ActivityProgress(a) => activity(f, "progress", a),
            LibraryEvent::ActivityEnded(a) => activity(f, "ended", a),
        }
    }
}

/// A library item, as a [`LibraryEvent`] carries it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct LibraryItem {
    /// Its rating key (always known for a library item; an `Option` as everywhere else).
    pub rating_key: Option<String>,
    /// Movie, episode, track, ...
    pub media_type: Option<MediaType>,
    /// Its title.
    pub title: Option<String>,
    /// The season of an episode, the album of a track.
    pub parent_title: Option<String>,
    /// The show of an episode, the artist of a track.
    pub grandparent_title: Option<String>,
    /// The season's (or album's) rating key.
    pub parent_rating_key: Option<String>,
    /// The show's (or artist's) rating key.
    pub grandparent_rating_key: Option<String>,
    /// The episode's (or track's) number.
    pub index: Option<i64>,
    /// The season's (or disc's) number.
    pub parent_index: Option<i64>,
    /// The year.
    pub year: Option<i64>,
    /// Its summary.
    pub summary: Option<String>,
    /// Its poster: a path on the server.
    pub thumb: Option<String>,
    /// Its content rating (`PG-13`, `TV-MA`, ...).
    pub content_rating: Option<String>,
    /// Its library section.
    pub library_section_id: Option<String>,
    /// Its section's name.
    pub library_section_title: Option<String>,
    /// When it was added, in seconds since the epoch.
    pub added_at: Option<i64>,
    /// The scan that brought it (the `library.update.section` activity's uuid running in
    /// its section when its creation was seen), as [`LibraryEvent::ScanStarted`] and
    /// [`LibraryEvent::ScanFinished`] name it: for one message per scan.
    pub scan: Option<String>,
    /// Everything `/library/metadata` said of it, when it was read.
    pub metadata: Option<Metadata>,
}

impl LibraryItem {
    pub(crate) fn from_metadata(rating_key: &str, m: Metadata) -> LibraryItem {
        LibraryItem {
            rating_key: m.rating_key.clone().or_else(|| Some(rating_key.to_owned())),
            media_type: m.media_type.clone(),
            title: m.title.clone(),
            parent_title: m.parent_title.clone(),
            grandparent_title: m.grandparent_title.clone(),
            parent_rating_key: m.parent_rating_key.clone(),
            grandparent_rating_key: m.grandparent_rating_key.clone(),
            index: m.index,
            parent_index: m.parent_index,
            year: m.year,
            summary: m.summary.clone(),
            thumb: m.thumb.clone(),
            content_rating: m.content_rating.clone(),
            library_section_id: m.library_section_id.clone(),
            library_section_title: m.library_section_title.clone(),
            added_at: m.added_at,
            scan: None,
            metadata: Some(m),
        }
    }

    /// What a timeline entry says of an item (when its metadata could not be read).
    pub(crate) fn from_entry(rating_key: &str, e: &TimelineEntry) -> LibraryItem {
        LibraryItem {
            rating_key: Some(rating_key.to_owned()),
            media_type: e.item_type(),
            title: e.title.clone().filter(|t| !t.is_empty()),
            parent_rating_key: e.parent_item_id.clone(),
            grandparent_rating_key: e.root_item_id.clone(),
            library_section_id: e.library_section_id.clone(),
            ..LibraryItem::default()
        }
    }

    /// Its rating key, or empty.
    pub(crate) fn key(&self) -> &str {
        self.rating_key.as_deref().unwrap_or_default()
    }

    /// The show (for an episode) or album (for a track) its group is, if any.
    pub(crate) fn group(&self) -> Option<LibraryGroup> {
        match self.media_type {
            Some(MediaType::Episode) => Some(LibraryGroup {
                rating_key: Some(self.grandparent_rating_key.clone()?),
                title: self.grandparent_title.clone(),
                media_type: MediaType::Show,
            }),
            Some(MediaType::Track) => Some(LibraryGroup {
                rating_key: Some(self.parent_rating_key.clone()?),
                title: self.parent_title.clone(),
                media_type: MediaType::Album,
            }),
            _ => None,
        }
    }
}

impl fmt::Display for LibraryItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(g) = &self.grandparent_title {
            write!(f, "{g} — ")?;
        }
        f.write_str(self.title.as_deref().unwrap_or(self.key()))?;
        if let Some(t) = &self.media_type {
            write!(f, " ({t})")?;
        }
        if let Some(s) = &self.library_section_title {
            write!(f, " in {s}")?;
        }
        Ok(())
    }
}

/// The show or album of grouped items ([`LibraryEvent::ItemsAdded`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[non_exhaustive]
pub struct LibraryGroup {
    /// Its rating key (always known for a library item; an `Option` as everywhere else).
    pub rating_key: Option<String>,
    /// Its title.
    pub title: Option<String>,
    /// [`MediaType::Show`] or [`MediaType::Album`].
    pub media_type: MediaType,
}

impl LibraryGroup {
    /// Its rating key, or empty.
    pub(crate) fn key(&self) -> &str {
        self.rating_key.as_deref().unwrap_or_default()
    }
}

impl fmt::Display for LibraryGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}",
            self.media_type,
            self.title.as_deref().unwrap_or(self.key())
        )
    }
}

/// A library tracker's counters: [`LibraryTracker::stats`](crate::LibraryTracker::stats).
/// The first three are its state now, which stays within its bounds whatever arrives.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LibraryStats {
    /// Items seen and not yet announced.
    pub pending: u64,
    /// Items remembered as announced (at most the tracker's bound).
    pub remembered: u64,
    /// Activities running.
    pub running_activities: u64,
    /// Items announced as added.
    pub added: u64,
    /// Items announced as updated.
    pub updated: u64,
    /// Items announced as deleted.
    pub deleted: u64,
    /// Items deleted before their processing ended: never announced.
    pub deleted_before_ready: u64,
    /// `/library/metadata` reads (one per announced item).
    pub metadata_reads: u64,
    /// `/activities` and `/library/recentlyAdded` reads (at start and after gaps).
    pub sync_reads: u64,
    /// Timeline entries that are not about library items (EPG, DVR, `type -1`).
    pub not_library: u64,
    /// Timeline entries that change nothing (analysis and thumbnailing steps).
    pub no_ops: u64,
    /// Repeats collapsed: an item re-announced as processed, an activity ended twice.
    pub repeats: u64,
    /// Timeline entries of new items left out because the tracker held its most pending
    /// already ([`Error::TrackerFull`](crate::Error::TrackerFull) says when it fills up).
    pub over_limit: u64,
    /// Metadata reads made again after the server failed or asked to wait.
    pub retries: u64,
    /// Elements of answers that were not items (a `null`, a number, an array where an
    /// object belongs): skipped.
    pub skipped: u64,
    /// Times the tracker fell behind its listener: what the listener would have queued
    /// was dropped, and the tracker resynced, as after a disconnect.
    pub overflows: u64,
}

/// The library tracker's counters, shared with its handle.
#[derive(Clone, Default)]
pub(crate) struct LibraryView(Arc<Mutex<LibraryStats>>);

impl LibraryView {
    pub fn stats(&self) -> LibraryStats {
        lock(&self.0).clone()
    }

    pub fn set(&self, stats: &LibraryStats) {
        *lock(&self.0) = stats.clone();
    }
}
