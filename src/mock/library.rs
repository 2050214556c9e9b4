//! The mock's library: items added quietly, or by a scripted scan that announces them as
//! a real server does, with the activities `/activities` lists meanwhile.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::MediaType;
use crate::stop::lock;

use super::model::{ActivityRec, Model, NewItem, frame};
use super::{Inner, MockServer};

/// A library item of the mock server: a movie, show, season, episode, artist, album or
/// track.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MockItem {
    pub(super) rating_key: u64,
    kind: MediaType,
}

impl MockItem {
    /// Its rating key, as notifications and REST answers give it.
    pub fn rating_key(&self) -> String {
        self.rating_key.to_string()
    }

    /// Its type.
    pub fn media_type(&self) -> &MediaType {
        &self.kind
    }
}

/// Adds items to the mock's library, quietly: as if they had been there before the test
/// (no notification). For items that arrive while clients listen, use
/// [`MockServer::scan`]. Made by [`MockServer::library`].
#[derive(Debug)]
pub struct Library<'a> {
    server: &'a MockServer,
}

impl Library<'_> {
    fn add(
        &self,
        kind: MediaType,
        section: &str,
        parent: Option<&MockItem>,
        title: &str,
        index: Option<i64>,
        duration: Option<i64>,
    ) -> MockItem {
        let new = NewItem {
            kind,
            section,
            parent: parent.map(|p| p.rating_key),
            title,
            index,
            duration,
            ready: true,
        };
        add_item(&self.server.inner, new)
    }

    /// The id of section `section` (made on first use), as notifications and REST answers
    /// give it.
    pub fn section_id(&self, section: &str) -> String {
        lock(&self.server.inner.model).section(section).to_string()
    }

    /// A movie in section `section` (made on first use), `duration` in milliseconds.
    pub fn add_movie(&self, section: &str, title: &str, duration: i64) -> MockItem {
        self.add(MediaType::Movie, section, None, title, None, Some(duration))
    }

    /// A show.
    pub fn add_show(&self, section: &str, title: &str) -> MockItem {
        self.add(MediaType::Show, section, None, title, None, None)
    }

    /// Season `index` of `show`.
    pub fn add_season(&self, show: &MockItem, index: i64) -> MockItem {
        let section = section_of(&self.server.inner, show);
        let title = format!("Season {index}");
        self.add(
            MediaType::Season,
            &section,
            Some(show),
            &title,
            Some(index),
            None,
        )
    }

    /// Episode `index` of `season`.
    pub fn add_episode(
        &self,
        season: &MockItem,
        index: i64,
        title: &str,
        duration: i64,
    ) -> MockItem {
        let section = section_of(&self.server.inner, season);
        self.add(
            MediaType::Episode,
            &section,
            Some(season),
            title,
            Some(index),
            Some(duration),
        )
    }

    /// An artist.
    pub fn add_artist(&self, section: &str, title: &str) -> MockItem {
        self.add(MediaType::Artist, section, None, title, None, None)
    }

    /// An album of `artist`.
    pub fn add_album(&self, artist: &MockItem, title: &str) -> MockItem {
        let section = section_of(&self.server.inner, artist);
        self.add(MediaType::Album, &section, Some(artist), title, None, None)
    }

    /// Track `index` of `album`.
    pub fn add_track(&self, album: &MockItem, index: i64, title: &str, duration: i64) -> MockItem {
        let section = section_of(&self.server.inner, album);
        self.add(
            MediaType::Track,
            &section,
            Some(album),
            title,
            Some(index),
            Some(duration),
        )
    }
}

fn section_of(inner: &Inner, item: &MockItem) -> String {
    let model = lock(&inner.model);
    let id = model.items.get(&item.rating_key).map_or(0, |i| i.section);
    model
        .sections
        .iter()
        .find(|s| s.id == id)
        .map_or_else(String::new, |s| s.title.clone())
}

fn add_item(inner: &Inner, new: NewItem<'_>) -> MockItem {
    let kind = new.kind.clone();
    let rating_key = lock(&inner.model).add_item(new);
    MockItem { rating_key, kind }
}

/// A library scan on the mock server, made by [`MockServer::scan`]: while it runs, items
/// it adds are announced as a real server announces them, and `/activities` lists it.
///
/// [`add_movie`](Scan::add_movie) (or a show, season, episode or track) sends the item's
/// timeline entry in state 0 (`metadataState: created`), when its metadata is not ready
/// yet (no title); [`finish`](Scan::finish) takes each, in the order found, through
/// matching and processing to state 5 (the title now set), then ends the activity and
/// sends "Library scan complete". A new show comes as a real server sends it: the show,
/// its season, then its episodes, each an item of its own.
#[derive(Debug)]
pub struct Scan {
    inner: Arc<Inner>,
    section: String,
    uuid: String,
    added: Vec<MockItem>,
    with_agent: bool,
}

impl Scan {
    fn added(&mut self, item: MockItem) -> MockItem {
        let entry = {
            let model = lock(&self.inner.model);
            let rec = &model.items[&item.rating_key];
            model.timeline_entry(rec, 0, Some("created"))
        };
        self.inner
            .send(&frame("timeline", "TimelineEntry", vec![entry]));
        self.added.push(item.clone());
        item
    }

    fn add(
        &mut self,
        kind: MediaType,
        parent: Option<&MockItem>,
        title: &str,
        index: Option<i64>,
        duration: Option<i64>,
    ) -> MockItem {
        let new = NewItem {
            kind,
            section: &self.section,
            parent: parent.map(|p| p.rating_key),
            title,
            index,
            duration,
            // Metadata is not ready when an item is created: no title until processed.
            ready: false,
        };
        let item = add_item(&self.inner, new);
        self.added(item)
    }

    /// A section without a metadata agent: items are never matched, and their processing
    /// ends at state 1.
    pub fn without_agent(mut self) -> Scan {
        self.with_agent = false;
        self
    }

    /// Finds a new movie.
    pub fn add_movie(&mut self, title: &str, duration: i64) -> MockItem {
        self.add(MediaType::Movie, None, title, None, Some(duration))
    }

    /// Finds a new show: its timeline entry (type 2) is created, and processed with the
    /// rest. Give it seasons with [`add_season`](Scan::add_season).
    pub fn add_show(&mut self, title: &str) -> MockItem {
        self.add(MediaType::Show, None, title, None, None)
    }

    /// Finds a new season `index` of `show` (a show of the library, or one this scan
    /// found): its timeline entry (type 3) is created, and processed with the rest.
    pub fn add_season(&mut self, show: &MockItem, index: i64) -> MockItem {
        let title = format!("Season {index}");
        self.add(MediaType::Season, Some(show), &title, Some(index), None)
    }

    /// Finds a new episode of `season` (made with [`Library`], or found by this scan).
    pub fn add_episode(
        &mut self,
        season: &MockItem,
        index: i64,
        title: &str,
        duration: i64,
    ) -> MockItem {
        self.add(
            MediaType::Episode,
            Some(season),
            title,
            Some(index),
            Some(duration),
        )
    }

    /// Finds a new track of `album`.
    pub fn add_track(
        &mut self,
        album: &MockItem,
        index: i64,
        title: &str,
        duration: i64,
    ) -> MockItem {
        self.add(
            MediaType::Track,
            Some(album),
            title,
            Some(index),
            Some(duration),
        )
    }

    /// Reports progress, 0 to 100.
    pub fn progress(&self, percent: i64) {
        self.inner.update_activity(&self.uuid, percent, "updated");
    }

    /// Deletes an item this scan found before its processing ended: state 9
    /// (`metadataState: deleted`), and it is gone.
    pub fn delete(&mut self, item: &MockItem) {
        self.added.retain(|i| i != item);
        self.inner.delete_item(item);
    }

    /// Processes what was found (with an agent: states 1 to 5, then a media analysis
    /// activity per item), ends the activity and sends "Library scan complete".
    pub fn finish(self) {
        let states: &[(i64, Option<&str>)] = match self.with_agent {
            true => &[
                (1, None),
                (2, None),
                (3, Some("loading")),
                (4, Some("processing")),
                (5, None),
            ],
            false => &[(1, None)],
        };
        for item in &self.added {
            for (state, metadata_state) in states {
                let entry = {
                    let mut model = lock(&self.inner.model);
                    let Some(rec) = model.items.get_mut(&item.rating_key) else {
                        break;
                    };
                    if *state == states[states.len() - 1].0 {
                        rec.ready = true;
                    }
                    let rec = rec.clone();
                    model.timeline_entry(&rec, *state, *metadata_state)
                };
                self.inner
                    .send(&frame("timeline", "TimelineEntry", vec![entry]));
            }
            if self.with_agent {
                // Media analysis follows an add, as its own activity: no update.
                let key = format!("/library/metadata/{}", item.rating_key);
                let uuid = self.inner.start_activity(
                    "library.refresh.items",
                    "Refreshing",
                    "Refreshing media analysis",
                    json!({"key": key}),
                );
                self.inner.update_activity(&uuid, 100, "ended");
            }
        }
        self.inner.update_activity(&self.uuid, 100, "ended");
        self.inner.send(&frame(
            "status",
            "StatusNotification",
            vec![json!({"title": "Library scan complete", "description": "",
                "notificationName": "LIBRARY_UPDATE"})],
        ));
    }

    /// The scan's activity id.
    pub fn uuid(&self) -> &str {
        &self.uuid
    }
}

impl Inner {
    /// Starts an activity: `/activities` lists it, and `activity` `started` goes out.
    fn start_activity(&self, kind: &str, title: &str, subtitle: &str, context: Value) -> String {
        let (uuid, child) = {
            let mut model = lock(&self.model);
            let uuid = model.uuid();
            let rec = ActivityRec {
                kind: kind.to_owned(),
                title: title.to_owned(),
                subtitle: subtitle.to_owned(),
                progress: 0,
                context,
            };
            let activity = Model::activity_json(&uuid, &rec);
            model.activities.insert(uuid.clone(), rec);
            (uuid, activity)
        };
        // Real servers send `started` without its Context.
        let mut started = child;
        started.as_object_mut().map(|o| o.remove("Context"));
        self.send(&frame(
            "activity",
            "ActivityNotification",
            vec![json!({"event": "started", "uuid": uuid, "Activity": started})],
        ));
        uuid
    }

    /// Updates an activity (`event`: `updated`, or `ended`, which removes it).
    fn update_activity(&self, uuid: &str, progress: i64, event: &str) {
        let child = {
            let mut model = lock(&self.model);
            let Some(rec) = model.activities.get_mut(uuid) else {
                return;
            };
            rec.progress = progress;
            let child = Model::activity_json(uuid, rec);
            if event == "ended" {
                model.activities.remove(uuid);
            }
            child
        };
        self.send(&frame(
            "activity",
            "ActivityNotification",
            vec![json!({"event": event, "uuid": uuid, "Activity": child})],
        ));
    }

    /// Deletes an item: its timeline entry in state 9, and it is gone.
    fn delete_item(&self, item: &MockItem) {
        let entry = {
            let mut model = lock(&self.model);
            let Some(rec) = model.items.remove(&item.rating_key) else {
                return;
            };
            model.timeline_entry(&rec, 9, Some("deleted"))
        };
        self.send(&frame("timeline", "TimelineEntry", vec![entry]));
    }
}

impl MockServer {
    /// Adds items to the library quietly (no notification): what was there before.
    pub fn library(&self) -> Library<'_> {
        Library { server: self }
    }
    /// Starts a library scan of section `section`: see [`Scan`].
    pub fn scan(&self, section: &str) -> Scan {
        let id = lock(&self.inner.model).section(section);
        let uuid = self.inner.start_activity(
            "library.update.section",
            &format!("Scanning {section}"),
            "Scanning",
            json!({"librarySectionID": id.to_string()}),
        );
        Scan {
            inner: Arc::clone(&self.inner),
            section: section.to_owned(),
            uuid,
            added: Vec::new(),
            with_agent: true,
        }
    }

    /// Refreshes an item (a file upgrade, or new metadata): a `library.refresh.items`
    /// activity for it, and its timeline entries through processing to state 5.
    pub fn update_item(&self, item: &MockItem) {
        let key = format!("/library/metadata/{}", item.rating_key);
        let uuid = self.inner.start_activity(
            "library.refresh.items",
            "Refreshing",
            "Refreshing media analysis",
            json!({"key": key}),
        );
        for (state, metadata_state) in [(4, Some("processing")), (5, None)] {
            let entry = {
                let mut model = lock(&self.inner.model);
                let Some(rec) = model.items.get_mut(&item.rating_key) else {
                    return;
                };
                rec.updated_at += 1;
                let rec = rec.clone();
                model.timeline_entry(&rec, state, metadata_state)
            };
            self.inner
                .send(&frame("timeline", "TimelineEntry", vec![entry]));
        }
        self.inner.update_activity(&uuid, 100, "ended");
    }
    /// Deletes an item: its timeline entry in state 9 (`metadataState: deleted`).
    pub fn delete_item(&self, item: &MockItem) {
        self.inner.delete_item(item);
    }
    /// The same timeline entry, state 5, `times` times over: one item re-announced as a
    /// real server does for an hour while it analyses the item.
    pub fn flood_timeline(&self, item: &MockItem, times: usize) {
        let entry = {
            let model = lock(&self.inner.model);
            let Some(rec) = model.items.get(&item.rating_key) else {
                return;
            };
            model.timeline_entry(rec, 5, None)
        };
        let f = frame("timeline", "TimelineEntry", vec![entry]);
        for _ in 0..times {
            self.inner.send(&f);
        }
    }
}
