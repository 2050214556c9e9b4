//! After a gap: what `/library/recentlyAdded` says was added while nobody listened.
//!
//! A server lists movies as themselves, but new episodes by their season and new tracks
//! by their album, whose own `addedAt` may be long past: those are read
//! (`/library/metadata/{key}/children`) and their children added since count. The listing
//! is newest first, so once a movie (or any leaf) is older than the gap, nothing after it
//! is read. What is found is announced oldest first, once every read is done.

use std::collections::VecDeque;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use super::{Kind, Machine, Pending};
use crate::handler::Said;
use crate::library::LibraryItem;
use crate::{Error, MediaType, Metadata};

/// Seasons and albums read for their children, at most, per resync.
pub(super) const MAX_EXPANSIONS: usize = 20;

/// A resync under way: the containers still to read, and what was found.
#[derive(Default)]
pub(super) struct Resync {
    /// Containers to read the children of, with the time from which a child is new.
    pub expand: VecDeque<(String, i64)>,
    pub found: Vec<Metadata>,
}

fn is_container(m: &Metadata) -> bool {
    matches!(
        m.media_type,
        Some(MediaType::Season | MediaType::Album | MediaType::Show | MediaType::Artist)
    )
}

impl Machine {
    /// `/library/recentlyAdded`, read at the first connection (the baseline), or after a
    /// gap: what was added meanwhile.
    pub fn recently_added(&mut self, answer: Result<Vec<Metadata>, Error>, now: Instant) {
        self.want_recent = false;
        self.stats.sync_reads += 1;
        let Some(since) = self.recent_since.take() else {
            // The baseline, read at the first connection; if it fails, resyncs go
            // without (and leave out the second the tracker started in).
            match answer {
                Ok(items) => {
                    self.sync_done();
                    let keys = items.into_iter().filter_map(|m| m.rating_key);
                    self.baseline = Some(keys.collect());
                }
                Err(e) => self.want_recent = self.sync_failed(e, now),
            }
            return;
        };
        let items = match answer {
            Ok(items) => items,
            Err(e) => {
                // Read again, a little later, for the same gap.
                if self.sync_failed(e, now) {
                    (self.recent_since, self.want_recent) = (Some(since), true);
                }
                return;
            }
        };
        self.sync_done();
        // A container listed at the start: its children of that second were there too.
        let start = secs(self.started_at);
        let mut resync = Resync::default();
        for m in items {
            let Some(key) = m.rating_key.clone() else {
                continue;
            };
            if is_container(&m) {
                let in_baseline = self.baseline.as_ref().is_some_and(|b| b.contains(&key));
                let from = if in_baseline {
                    since.max(start + 1)
                } else {
                    since
                };
                if resync.expand.len() < MAX_EXPANSIONS {
                    resync.expand.push_back((key, from));
                }
                continue;
            }
            let old = m.added_at.is_some_and(|at| at < since);
            self.consider(m, since, now, &mut resync.found);
            if old {
                break; // newest first: the rest is older still
            }
        }
        // Oldest first, where `addedAt` (whole seconds) does not tell them apart.
        resync.found.reverse();
        self.resync = resync;
        self.announce_found(now);
    }

    /// The children of a container the listing named.
    pub fn children(&mut self, answer: Result<Vec<Metadata>, Error>, now: Instant) {
        self.stats.sync_reads += 1;
        let Some((_, since)) = self.resync.expand.pop_front() else {
            return;
        };
        match answer {
            Ok(children) => {
                let mut found = std::mem::take(&mut self.resync.found);
                for m in children {
                    if !is_container(&m) {
                        self.consider(m, since, now, &mut found);
                    }
                }
                self.resync.found = found;
            }
            Err(e) => self.out.push(Said::Error(e)),
        }
        self.announce_found(now);
    }

    /// The container whose children are to be read next, if any.
    pub(super) fn next_container(&self) -> Option<String> {
        self.resync.expand.front().map(|(key, _)| key.clone())
    }

    /// Keeps `m` if it was added while nobody listened (or its add was pending then). One
    /// whose processing has not ended (no title yet) is pending instead, as an add: its
    /// processing's end, or the quiet period, announces it.
    fn consider(&mut self, m: Metadata, since: i64, now: Instant, found: &mut Vec<Metadata>) {
        let Some(key) = m.rating_key.clone() else {
            return;
        };
        if self.remembered.contains(&key) {
            return;
        }
        let ready = m.title.as_deref().is_some_and(|t| !t.is_empty());
        if let Some(p) = self.pending.get_mut(&key) {
            // Created in the gap (its creation lost) or before it: an add, either way.
            p.kind = Kind::Add;
            if ready {
                found.push(m); // its end lost in the gap: the listing says it is in
            }
            return;
        }
        let new = m.added_at.is_some_and(|at| at >= since)
            && !self.baseline.as_ref().is_some_and(|b| b.contains(&key));
        if !new {
            return;
        }
        if ready {
            found.push(m);
        } else if self.pending.len() < self.opts.max_pending {
            self.seq += 1;
            let pending = Pending {
                kind: Kind::Add,
                seq: self.seq,
                last: now,
                ready: false,
                failures: 0,
                not_before: None,
                seen: LibraryItem::from_metadata(&key, m),
            };
            self.pending.insert(key, pending);
        }
    }

    /// Once every container is read: what was found, oldest first, as it was added.
    fn announce_found(&mut self, now: Instant) {
        if !self.resync.expand.is_empty() {
            return;
        }
        let mut found = std::mem::take(&mut self.resync.found);
        found.sort_by_key(|m| m.added_at);
        for m in found {
            let Some(key) = m.rating_key.clone() else {
                continue;
            };
            if !self.remembered.contains(&key) {
                self.pending.remove(&key);
                self.added(LibraryItem::from_metadata(&key, m), now);
            }
        }
    }
}

/// Seconds since the epoch, for comparing with `addedAt`.
pub(super) fn secs(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}
