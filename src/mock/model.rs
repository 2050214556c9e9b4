//! The mock's Plex: its library, users, players, sessions and activities, and how each
//! looks as JSON, in REST answers and in notifications. Pure data: no I/O here.

use std::collections::BTreeMap;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use crate::MediaType;

/// The server's version before any update, and after each.
pub(super) const FIRST_VERSION: &str = "1.41.0.0000-mock";

#[derive(Debug)]
pub(super) struct Model {
    pub version: String,
    pub sections: Vec<Section>,
    pub items: BTreeMap<u64, Item>,
    pub users: Vec<UserRec>,
    pub players: Vec<PlayerRec>,
    /// By playback id (not session key: keys start over on a restart).
    pub sessions: BTreeMap<u64, SessionRec>,
    pub activities: BTreeMap<String, ActivityRec>,
    /// What each account has watched: by item and account (`None`: the server owner's;
    /// a user's id otherwise).
    pub views: BTreeMap<(u64, Option<u32>), View>,
    /// Sessions ended by `/status/sessions/terminate`: by playback id, the reason given.
    pub terminations: BTreeMap<u64, String>,
    next_rating_key: u64,
    next_session_key: u64,
    next_playback: u64,
    next_uuid: u64,
}

#[derive(Debug, Clone)]
pub(super) struct Section {
    pub id: u32,
    pub title: String,
}

#[derive(Debug, Clone)]
pub(super) struct Item {
    pub rating_key: u64,
    pub kind: MediaType,
    pub title: String,
    pub section: u32,
    pub parent: Option<u64>,
    pub index: Option<i64>,
    pub duration: Option<i64>,
    pub added_at: i64,
    pub updated_at: i64,
    /// Metadata is not ready until its processing ends: until then it has no title.
    pub ready: bool,
}

/// An item to add: [`Model::add_item`].
pub(super) struct NewItem<'a> {
    pub kind: MediaType,
    pub section: &'a str,
    pub parent: Option<u64>,
    pub title: &'a str,
    pub index: Option<i64>,
    pub duration: Option<i64>,
    pub ready: bool,
}

/// An account's watched state of one item, as `/:/scrobble` leaves it.
#[derive(Debug, Clone, Copy)]
pub(super) struct View {
    pub count: u64,
    /// Seconds since the epoch.
    pub last_viewed_at: i64,
}

#[derive(Debug, Clone)]
pub(super) struct UserRec {
    pub id: u32,
    pub name: String,
    pub token: String,
}

#[derive(Debug, Clone)]
pub(super) struct PlayerRec {
    pub machine_identifier: String,
    pub title: String,
    pub product: String,
    pub platform: String,
    /// On the server's network: `Player.local`, and the session's `location` (lan, wan).
    pub local: bool,
    pub address: String,
}

/// What a session plays.
#[derive(Debug, Clone)]
pub(super) enum Playing {
    Item(u64),
    Live {
        uuid: String,
        programme: String,
        guid: String,
    },
    Preroll,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum State {
    Playing,
    Paused,
    Buffering,
    Stopped,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Playing => "playing",
            State::Paused => "paused",
            State::Buffering => "buffering",
            State::Stopped => "stopped",
        }
    }
}

#[derive(Debug, Clone)]
pub(super) struct SessionRec {
    pub session_key: u64,
    /// The client puts the session key into its notifications.
    pub sends_key: bool,
    pub user: usize,
    pub player: usize,
    pub playing: Playing,
    pub state: State,
    /// The offset at `since`; it advances with the clock while playing.
    pub offset_at: i64,
    pub since: Instant,
    /// Listed in `/status/sessions` (a new session may not be yet; a lingering one still is).
    pub listed: bool,
    pub transcode: Option<String>,
    pub play_queue_item: u64,
}

#[derive(Debug, Clone)]
pub(super) struct ActivityRec {
    pub kind: String,
    pub title: String,
    pub subtitle: String,
    pub progress: i64,
    pub context: Value,
}

pub(super) fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

impl Model {
    pub fn new() -> Model {
        Model {
            version: FIRST_VERSION.to_owned(),
            sections: Vec::new(),
            items: BTreeMap::new(),
            users: Vec::new(),
            players: Vec::new(),
            sessions: BTreeMap::new(),
            activities: BTreeMap::new(),
            views: BTreeMap::new(),
            terminations: BTreeMap::new(),
            next_rating_key: 1000,
            next_session_key: 1,
            next_playback: 1,
            next_uuid: 1,
        }
    }

    /// The section named `title`, made on first use.
    pub fn section(&mut self, title: &str) -> u32 {
        if let Some(s) = self.sections.iter().find(|s| s.title == title) {
            return s.id;
        }
        let id = self.sections.len() as u32 + 1;
        self.sections.push(Section {
            id,
            title: title.to_owned(),
        });
        id
    }

    pub fn add_item(&mut self, new: NewItem<'_>) -> u64 {
        let rating_key = self.next_rating_key;
        self.next_rating_key += 1;
        let now = now_secs();
        let section = self.section(new.section);
        self.items.insert(
            rating_key,
            Item {
                rating_key,
                kind: new.kind,
                title: new.title.to_owned(),
                section,
                parent: new.parent,
                index: new.index,
                duration: new.duration,
                added_at: now,
                updated_at: now,
                ready: new.ready,
            },
        );
        rating_key
    }

    pub fn uuid(&mut self) -> String {
        let n = self.next_uuid;
        self.next_uuid += 1;
        format!("{n:08x}-6d6f-636b-8000-{:012x}", n * 7919)
    }

    /// A new session, with the next session key.
    /// A new session, with the next session key; `rec` gets the key and the playback id.
    pub fn start_session(&mut self, rec: impl FnOnce(u64, u64) -> SessionRec) -> u64 {
        let id = self.next_playback;
        self.next_playback += 1;
        let key = self.next_session_key;
        self.next_session_key += 1;
        self.sessions.insert(id, rec(key, id));
        id
    }

    /// A restart: sessions and activities are gone (no notification says so), and session
    /// keys start again from 1.
    pub fn restart(&mut self, updated: bool) {
        self.sessions.clear();
        self.activities.clear();
        self.next_session_key = 1;
        if updated {
            let n = self
                .version
                .rsplit('.')
                .next()
                .and_then(|n| n.split('-').next());
            let n: u32 = n.and_then(|n| n.parse().ok()).unwrap_or(0) + 1;
            self.version = format!("1.41.0.{n:04}-mock");
        }
    }

    /// The library items under `key` that are played (episodes, tracks, movies): the
    /// item itself, or the leaves of a show, season, artist or album.
    pub fn leaves(&self, key: u64) -> Vec<u64> {
        let mut leaves = Vec::new();
        let mut todo = vec![key];
        // A tree: a child is always added after its parent, so this ends.
        while let Some(key) = todo.pop() {
            let children: Vec<u64> = self
                .items
                .values()
                .filter(|i| i.parent == Some(key))
                .map(|i| i.rating_key)
                .collect();
            match children.is_empty() {
                true => leaves.push(key),
                false => todo.extend(children),
            }
        }
        leaves
    }

    /// Adds `viewCount` and `lastViewedAt` to an item's JSON, as `account` has watched it
    /// (nothing if it has not).
    pub fn with_views(&self, mut m: Value, account: Option<u32>) -> Value {
        let key = m["ratingKey"].as_str().and_then(|k| k.parse::<u64>().ok());
        if let Some(view) = key.and_then(|k| self.views.get(&(k, account))) {
            m["viewCount"] = json!(view.count);
            m["lastViewedAt"] = json!(view.last_viewed_at);
        }
        m
    }

    /// The offset of a session now.
    pub fn offset(rec: &SessionRec) -> i64 {
        match rec.state {
            State::Playing => rec.offset_at + rec.since.elapsed().as_millis() as i64,
            _ => rec.offset_at,
        }
    }

    /// Fixes the offset at now (before a state change or a seek).
    pub fn settle(rec: &mut SessionRec) {
        rec.offset_at = Model::offset(rec);
        rec.since = Instant::now();
    }

    fn rating_key_of(&self, rec: &SessionRec) -> String {
        match &rec.playing {
            Playing::Item(key) => key.to_string(),
            Playing::Live { guid, .. } => guid.clone(),
            Playing::Preroll => format!("preroll-{}", rec.play_queue_item),
        }
    }

    fn key_of(&self, rec: &SessionRec) -> String {
        match &rec.playing {
            Playing::Item(key) => format!("/library/metadata/{key}"),
            Playing::Live { uuid, .. } => format!("/livetv/sessions/{uuid}"),
            Playing::Preroll => format!("/library/metadata/preroll-{}", rec.play_queue_item),
        }
    }

    /// A `PlaySessionStateNotification` for the session, in `state`.
    pub fn playing_child(&self, rec: &SessionRec, state: State, empty_keys: bool) -> Value {
        let player = &self.players[rec.player];
        let (rating_key, key) = match empty_keys {
            true => (String::new(), String::new()),
            false => (self.rating_key_of(rec), self.key_of(rec)),
        };
        let guid = match &rec.playing {
            Playing::Live { guid, .. } => guid.clone(),
            _ => String::new(),
        };
        let mut child = json!({
            "clientIdentifier": player.machine_identifier,
            "guid": guid,
            "ratingKey": rating_key,
            "url": "",
            "key": key,
            "viewOffset": Model::offset(rec),
            "playQueueItemID": rec.play_queue_item,
            "playQueueID": 4000 + rec.session_key,
            "state": state.as_str(),
        });
        if rec.sends_key {
            child["sessionKey"] = json!(rec.session_key.to_string());
        }
        if let Some(t) = &rec.transcode {
            child["transcodeSession"] = json!(t);
        }
        child
    }

    /// The session as `/status/sessions` lists it.
    pub fn session_json(&self, rec: &SessionRec) -> Value {
        let user = &self.users[rec.user];
        let player = &self.players[rec.player];
        let mut m = match &rec.playing {
            Playing::Item(key) => self.items.get(key).map_or_else(
                || json!({"ratingKey": key.to_string()}),
                |item| self.item_json(item),
            ),
            // Live TV: no rating key, `live` as the XML-derived "1", the uuid in the key.
            Playing::Live {
                uuid, programme, ..
            } => json!({
                "key": format!("/livetv/sessions/{uuid}"), "live": "1", "type": "episode",
                "title": programme, "grandparentTitle": "Mock TV", "librarySectionID": "",
                "Media": [{"origin": "livetv", "uuid": uuid}],
            }),
            Playing::Preroll => json!({
                "ratingKey": self.rating_key_of(rec), "key": self.key_of(rec), "type": "clip",
                "title": "Mock Cinema Preroll", "librarySectionID": "-2", "duration": 30000,
                "guid": format!("analyzed.prerolls://mock/{}", rec.play_queue_item),
            }),
        };
        m["sessionKey"] = json!(rec.session_key.to_string());
        m["viewOffset"] = json!(Model::offset(rec));
        m["User"] = json!({"id": user.id.to_string(), "title": user.name,
            "thumb": format!("https://plex.tv/users/{}/avatar", user.id)});
        m["Player"] = json!({
            "machineIdentifier": player.machine_identifier, "title": player.title,
            "product": player.product, "platform": player.platform,
            "state": rec.state.as_str(), "address": player.address, "local": player.local,
            "userID": user.id, "relayed": false, "secure": true,
        });
        if !player.local {
            m["Player"]["remotePublicAddress"] = json!(player.address);
        }
        m["Session"] = json!({"id": play_id(rec.play_queue_item),
            "bandwidth": 7000, "location": if player.local { "lan" } else { "wan" }});
        if let Some(t) = &rec.transcode {
            let transcode = json!({"key": format!("/transcode/sessions/{t}"), "throttled": false,
                "progress": 12.5, "speed": 3.2, "videoDecision": "transcode",
                "audioDecision": "copy", "container": "mpegts", "protocol": "hls"});
            match &rec.playing {
                Playing::Live { .. } => m["Media"][0]["TranscodeSession"] = transcode,
                _ => m["TranscodeSession"] = transcode,
            }
        }
        m
    }

    /// An item as `/library/metadata/{key}` answers it.
    pub fn item_json(&self, item: &Item) -> Value {
        let section = self.sections.iter().find(|s| s.id == item.section);
        let mut m = json!({
            "ratingKey": item.rating_key.to_string(),
            "key": format!("/library/metadata/{}", item.rating_key),
            "type": item.kind.name(),
            "librarySectionID": item.section,
            "librarySectionTitle": section.map(|s| s.title.clone()),
            "addedAt": item.added_at,
            "updatedAt": item.updated_at,
        });
        if item.ready {
            m["title"] = json!(item.title);
            m["summary"] = json!(format!(
                "{}: a {} of the mock's library.",
                item.title,
                item.kind.name()
            ));
            m["thumb"] = json!(format!(
                "/library/metadata/{}/thumb/{}",
                item.rating_key, item.updated_at
            ));
            // Deterministic, and plausible.
            m["year"] = json!(2000 + item.rating_key % 25);
            let rating = match item.kind {
                MediaType::Movie => Some("PG-13"),
                MediaType::Show | MediaType::Season | MediaType::Episode => Some("TV-14"),
                _ => None,
            };
            if let Some(rating) = rating {
                m["contentRating"] = json!(rating);
            }
            m["guid"] = json!(format!(
                "plex://{}/mock{}",
                item.kind.name(),
                item.rating_key
            ));
            m["Guid"] = json!([{"id": format!("tmdb://{}", 100_000 + item.rating_key)}]);
        }
        if let Some(d) = item.duration {
            m["duration"] = json!(d);
        }
        if let Some(i) = item.index {
            m["index"] = json!(i);
        }
        let parent = item.parent.and_then(|p| self.items.get(&p));
        if let Some(parent) = parent {
            m["parentRatingKey"] = json!(parent.rating_key.to_string());
            m["parentKey"] = json!(format!("/library/metadata/{}", parent.rating_key));
            m["parentTitle"] = json!(parent.title);
            if let Some(i) = parent.index {
                m["parentIndex"] = json!(i);
            }
            if let Some(grand) = parent.parent.and_then(|g| self.items.get(&g)) {
                m["grandparentRatingKey"] = json!(grand.rating_key.to_string());
                m["grandparentKey"] = json!(format!("/library/metadata/{}", grand.rating_key));
                m["grandparentTitle"] = json!(grand.title);
            }
        }
        m
    }

    /// An activity as `/activities` and `activity` notifications carry it.
    pub fn activity_json(uuid: &str, a: &ActivityRec) -> Value {
        json!({"uuid": uuid, "type": a.kind, "cancellable": false, "userID": 1,
            "title": a.title, "subtitle": a.subtitle, "progress": a.progress,
            "Context": a.context})
    }

    /// A timeline entry for a library item.
    pub fn timeline_entry(&self, item: &Item, state: i64, metadata_state: Option<&str>) -> Value {
        let parent = item.parent.and_then(|p| self.items.get(&p));
        let mut e = json!({
            "identifier": "com.plexapp.plugins.library",
            "sectionID": item.section.to_string(),
            "itemID": item.rating_key.to_string(),
            "type": item.kind.code(),
            "title": if item.ready { item.title.as_str() } else { "" },
            "state": state,
            "updatedAt": now_secs(),
        });
        if let Some(parent) = parent {
            e["parentItemID"] = json!(parent.rating_key.to_string());
            if let Some(root) = parent.parent {
                e["rootItemID"] = json!(root.to_string());
            }
        }
        if let Some(m) = metadata_state {
            e["metadataState"] = json!(m);
        }
        e
    }
}

/// The play id (`Session.id` in `/status/sessions`) of the session with this play queue
/// item: what `/status/sessions/terminate` takes.
pub(super) fn play_id(play_queue_item: u64) -> String {
    format!("mock-session-{play_queue_item}")
}

/// A WebSocket frame's text for a notification of type `kind` with these children.
/// Written by hand: as Plex writes it, `type` first, then `size`, then the children.
pub(super) fn frame(kind: &str, child_key: &str, children: Vec<Value>) -> String {
    format!(
        r#"{{"NotificationContainer":{{"type":{},"size":{},{}:{}}}}}"#,
        Value::from(kind),
        children.len(),
        Value::from(child_key),
        Value::Array(children)
    )
}
