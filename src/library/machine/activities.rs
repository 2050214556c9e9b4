//! Activities: started, progressing, ended once; scans and their sections.

use std::collections::HashSet;
use std::time::Instant;

use super::{Kind, Machine, Pending, SCAN_STATUS_SLACK};
use crate::handler::Said;
use crate::library::{LibraryEvent, LibraryItem};
use crate::{Activity, ActivityNotification, Error, StatusNotification};

impl Machine {
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
            // `started` usually names no section: the scan is announced once an update
            // or `/activities` (read at once) does, or after that read without it.
            self.unnamed_scans.insert(uuid.clone(), ());
            self.name_scan(&uuid, &activity);
            self.want_sections |= self.unnamed_scans.contains(&uuid);
        }
    }

    /// A scan not yet announced is, once the activity names its section.
    fn name_scan(&mut self, uuid: &String, activity: &Activity) {
        if let Some(library_section_id) = section_of(activity) {
            if self.unnamed_scans.remove(uuid).is_some() {
                self.emit(LibraryEvent::ScanStarted {
                    library_section_id: Some(library_section_id),
                    scan: Some(uuid.clone()),
                });
            }
        }
    }

    /// The scan running in `section` (any running scan, if the entry names none): what
    /// brought an item created now.
    pub(super) fn scan_running(&self, section: Option<&str>) -> Option<String> {
        self.running
            .iter()
            .filter(|(_, a)| is_scan(a))
            .find(|(_, a)| section.is_none() || section_of(a).as_deref() == section)
            .map(|(uuid, _)| uuid.clone())
    }

    /// Items a scan brought that are not announced yet.
    fn pending_of(&self, scan: &str) -> usize {
        let held = self.groups.values().flat_map(|g| &g.items);
        self.pending
            .values()
            .map(|p| &p.seen)
            .filter(|i| i.scan.as_deref() == Some(scan))
            .count()
            + held.filter(|i| i.scan.as_deref() == Some(scan)).count()
    }

    fn activity_ended(&mut self, uuid: String, activity: Activity, now: Instant) {
        self.running.remove(&uuid);
        let unnamed = self.unnamed_scans.remove(&uuid).is_some();
        self.ended.insert(uuid.clone(), ());
        let scan = is_scan(&activity);
        let library_section_id = section_of(&activity);
        let refreshed = refreshed_item(&activity);
        if unnamed {
            self.emit(LibraryEvent::ScanStarted {
                library_section_id: library_section_id.clone(),
                scan: Some(uuid.clone()),
            });
        }
        self.emit(LibraryEvent::ActivityEnded(activity));
        if scan {
            self.scan_ended_at = Some(now);
            let pending = self.pending_of(&uuid);
            self.emit(LibraryEvent::ScanFinished {
                library_section_id,
                scan: Some(uuid),
                pending,
            });
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
                    rating_key: Some(key.clone()),
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
                        failures: 0,
                        not_before: None,
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
            self.emit(LibraryEvent::ScanFinished {
                library_section_id: None,
                scan: None,
                pending: 0,
            });
        }
    }

    /// `/activities`, read at a connect: what ended meanwhile ends, what runs is current.
    pub fn activities(&mut self, answer: Result<Vec<Activity>, Error>, now: Instant) {
        self.want_activities = false;
        self.stats.sync_reads += 1;
        let listed = match answer {
            Ok(listed) => listed,
            Err(e) => {
                // Read again, a little later: what ended meanwhile is still to end.
                self.want_activities = self.sync_failed(e, now);
                return;
            }
        };
        self.sync_done();
        let uuids: HashSet<String> = listed.iter().filter_map(|a| a.uuid.clone()).collect();
        let gone: Vec<String> = self
            .running
            .keys()
            .into_iter()
            .filter(|u| !uuids.contains(u))
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
                Some(progress) => {
                    self.running.insert(uuid.clone(), activity.clone());
                    self.name_scan(&uuid, &activity);
                    if progress != activity.progress {
                        self.emit(LibraryEvent::ActivityProgress(activity));
                    }
                }
            }
        }
        // Scans the listing did not name either: announced now, without their section.
        self.want_sections = false;
        for uuid in self.unnamed_scans.keys() {
            self.unnamed_scans.remove(&uuid);
            self.emit(LibraryEvent::ScanStarted {
                library_section_id: None,
                scan: Some(uuid),
            });
        }
    }

    /// `/activities`, read to learn the sections of scans just started. What it does not
    /// list has ended: its `ended`, already on its way, says so (and names the section).
    pub fn scan_sections(&mut self, answer: Result<Vec<Activity>, Error>) {
        self.want_sections = false;
        self.stats.sync_reads += 1;
        let listed = match answer {
            Ok(listed) => listed,
            Err(e) => {
                self.out.push(Said::Error(e));
                return;
            }
        };
        for activity in listed {
            let Some(uuid) = activity.uuid.clone() else {
                continue;
            };
            if self.unnamed_scans.remove(&uuid).is_some() {
                let library_section_id = section_of(&activity);
                if let Some(known) = self.running.get(&uuid).cloned() {
                    let context = activity.context.clone().or(known.context.clone());
                    self.running
                        .insert(uuid.clone(), Activity { context, ..known });
                }
                self.emit(LibraryEvent::ScanStarted {
                    library_section_id,
                    scan: Some(uuid),
                });
            }
        }
    }
}

pub(super) fn is_scan(a: &Activity) -> bool {
    a.activity_type.as_deref() == Some("library.update.section")
}

pub(super) fn section_of(a: &Activity) -> Option<String> {
    let v = a.context.as_ref()?.get("librarySectionID")?;
    v.as_str()
        .map(str::to_owned)
        .or_else(|| v.as_i64().map(|n| n.to_string()))
}

/// The item a finished `library.refresh.items` activity refreshed, if it names one (not
/// its children).
pub(super) fn refreshed_item(a: &Activity) -> Option<String> {
    if a.activity_type.as_deref() != Some("library.refresh.items")
        || a.progress.is_some_and(|p| p < 100.0)
    {
        return None;
    }
    let key = a.context.as_ref()?.get("key")?.as_str()?;
    let id = key.strip_prefix("/library/metadata/")?;
    (!id.is_empty() && !id.contains('/')).then(|| id.to_owned())
}
