//! The mock's REST answers, from its model: what apps ask beside the notifications.

use serde_json::{Value, json};

use crate::MediaType;
use crate::stop::lock;

use super::model::{Model, State, View, frame, play_id};
use super::{Inner, RecordedRequest};

/// Who a request comes from, by its token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    /// The server owner's token: it sees everything.
    Owner,
    /// A user's token (the user's id): valid, but `/status/sessions` is not for it.
    User(u32),
    /// No valid token.
    Nobody,
}

pub(super) fn role(inner: &Inner, request: &RecordedRequest) -> Role {
    let token = request
        .header("X-Plex-Token")
        .or(request.query("X-Plex-Token"));
    let user = |t: &str| {
        lock(&inner.model)
            .users
            .iter()
            .find(|u| u.token == t)
            .map(|u| u.id)
    };
    match token {
        Some(t) if t == inner.token => Role::Owner,
        Some(t) => user(t).map_or(Role::Nobody, Role::User),
        None => Role::Nobody,
    }
}

impl Role {
    /// Whose watched state the token reads and writes: `None` for the owner's.
    fn account(self) -> Option<u32> {
        match self {
            Role::User(id) => Some(id),
            _ => None,
        }
    }
}

/// An answer: status, content type, body.
pub(super) type Answer = (u16, &'static str, String);

const NAME: &str = "plex-alerts mock";

fn json_answer(value: Value) -> Answer {
    (200, "application/json", value.to_string())
}

fn unauthorized() -> Answer {
    (
        401,
        "text/html",
        "<html><head><title>Unauthorized</title></head><body><h1>401 Unauthorized</h1></body></html>"
            .to_owned(),
    )
}

fn not_found() -> Answer {
    (404, "text/plain", "404 Not Found".to_owned())
}

fn bad_request() -> Answer {
    (400, "text/plain", "400 Bad Request".to_owned())
}

/// What a write answers when it is done: Plex sends nothing.
fn done() -> Answer {
    (200, "text/plain", String::new())
}

fn forbidden(status: u16) -> Answer {
    (
        status,
        "text/html",
        "<html><body><h1>Forbidden</h1></body></html>".to_owned(),
    )
}

/// A container of `key: items`.
fn container(key: &str, items: Vec<Value>) -> Value {
    json!({"MediaContainer": {"size": items.len(), key: items}})
}

/// Answers a request for anything but the notification endpoints.
pub(super) fn answer(inner: &Inner, request: &RecordedRequest) -> Answer {
    let role = role(inner, request);
    match (request.path.as_str(), role) {
        (_, Role::Nobody) => {}
        ("/:/scrobble", _) => return scrobble(inner, request, role.account(), true),
        ("/:/unscrobble", _) => return scrobble(inner, request, role.account(), false),
        ("/status/sessions/terminate", _) => return terminate(inner, request, role),
        _ => {}
    }
    let json = request.header("Accept").is_some_and(|a| a.contains("json"));
    let path = request.path.as_str();
    let model = lock(&inner.model);
    let identifier = inner.machine_identifier();
    match (path, role) {
        // Anyone may ask who the server is.
        ("/identity", _) if json => json_answer(json!({"MediaContainer": {
            "size": 0, "claimed": true, "machineIdentifier": identifier,
            "version": model.version}})),
        ("/identity", _) => (
            200,
            "text/xml;charset=utf-8",
            format!(
                r#"<?xml version="1.0" encoding="UTF-8"?><MediaContainer size="0" claimed="1" machineIdentifier="{identifier}" version="{}"/>"#,
                model.version
            ),
        ),
        (_, Role::Nobody) => unauthorized(),
        ("/", _) if json => json_answer(json!({"MediaContainer": {
            "size": 0, "friendlyName": NAME, "machineIdentifier": identifier,
            "version": model.version, "platform": "Linux", "myPlex": false}})),
        ("/", _) => (
            200,
            "text/xml;charset=utf-8",
            format!(
                r#"<?xml version="1.0" encoding="UTF-8"?><MediaContainer size="0" friendlyName="{NAME}" machineIdentifier="{identifier}" version="{}" platform="Linux" platformVersion="6.1" myPlex="0" multiuser="1" transcoderActiveVideoSessions="0" updatedAt="1700000000"></MediaContainer>"#,
                model.version
            ),
        ),
        ("/status/sessions", Role::User(_)) => forbidden(inner.forbidden_status),
        ("/status/sessions", _) => {
            let sessions = model
                .sessions
                .values()
                .filter(|r| r.listed)
                .map(|r| model.session_json(r))
                .collect();
            json_answer(container("Metadata", sessions))
        }
        ("/activities", _) => {
            let activities = model
                .activities
                .iter()
                .map(|(uuid, a)| Model::activity_json(uuid, a))
                .collect();
            json_answer(container("Activity", activities))
        }
        ("/library/recentlyAdded", _) => {
            let limit = request
                .query("X-Plex-Container-Size")
                .and_then(|n| n.parse().ok())
                .unwrap_or(50);
            let items = recently_added(&model, limit)
                .into_iter()
                .map(|i| model.with_views(i, role.account()))
                .collect();
            json_answer(container("Metadata", items))
        }
        (path, _) if path.ends_with("/children") => {
            let parent = path
                .strip_prefix("/library/metadata/")
                .and_then(|p| p.strip_suffix("/children"))
                .and_then(|key| key.parse::<u64>().ok())
                .filter(|key| model.items.contains_key(key));
            match parent {
                Some(parent) => {
                    let mut children: Vec<_> = model
                        .items
                        .values()
                        .filter(|i| i.parent == Some(parent))
                        .collect();
                    children.sort_by_key(|i| (i.index, i.rating_key));
                    let children = children
                        .into_iter()
                        .map(|i| model.with_views(model.item_json(i), role.account()))
                        .collect();
                    json_answer(container("Metadata", children))
                }
                None => not_found(),
            }
        }
        (path, _) => match path
            .strip_prefix("/library/metadata/")
            .and_then(|key| key.parse::<u64>().ok())
            .and_then(|key| model.items.get(&key))
        {
            Some(item) => {
                let item = model.with_views(model.item_json(item), role.account());
                json_answer(container("Metadata", vec![item]))
            }
            None => not_found(),
        },
    }
}

/// `/:/scrobble` (`watched`) or `/:/unscrobble`: the item, or every episode or track
/// under it, marked watched (once more) or unwatched for the token's account.
fn scrobble(
    inner: &Inner,
    request: &RecordedRequest,
    account: Option<u32>,
    watched: bool,
) -> Answer {
    if request.query("identifier") != Some("com.plexapp.plugins.library") {
        return bad_request();
    }
    let mut model = lock(&inner.model);
    let key = request.query("key").and_then(|k| k.parse::<u64>().ok());
    let Some(key) = key.filter(|k| model.items.contains_key(k)) else {
        return not_found();
    };
    let now = super::model::now_secs();
    for leaf in model.leaves(key) {
        if watched {
            let view = model.views.entry((leaf, account)).or_insert(View {
                count: 0,
                last_viewed_at: now,
            });
            view.count += 1;
            view.last_viewed_at = now;
        } else {
            model.views.remove(&(leaf, account));
        }
    }
    done()
}

/// `/status/sessions/terminate?sessionId=..&reason=..`: the owner's token on a server with
/// Plex Pass ends the session, as a stop: a `stopped` notification, and it leaves
/// `/status/sessions`.
fn terminate(inner: &Inner, request: &RecordedRequest, role: Role) -> Answer {
    match role {
        Role::Owner if inner.plex_pass => {}
        Role::Owner => return forbidden(403),
        _ => return forbidden(inner.forbidden_status),
    }
    let Some(id) = request.query("sessionId") else {
        return bad_request();
    };
    let frame = {
        let mut model = lock(&inner.model);
        let found = model
            .sessions
            .iter()
            .find(|(_, r)| play_id(r.play_queue_item) == id)
            .map(|(playback, _)| *playback);
        let Some((playback, mut rec)) =
            found.and_then(|p| model.sessions.remove(&p).map(|rec| (p, rec)))
        else {
            return not_found();
        };
        Model::settle(&mut rec);
        let reason = request.query("reason").unwrap_or_default();
        model.terminations.insert(playback, reason.to_owned());
        let child = model.playing_child(&rec, State::Stopped, false);
        frame("playing", "PlaySessionStateNotification", vec![child])
    };
    inner.send(&frame);
    done()
}

/// `/library/recentlyAdded` as a real server answers it: movies as themselves, episodes
/// by their season and tracks by their album (whose own `addedAt` stays when it was
/// created), newest additions first.
fn recently_added(model: &Model, limit: usize) -> Vec<Value> {
    let mut newest: std::collections::BTreeMap<u64, i64> = Default::default();
    for item in model.items.values() {
        let entry = match (&item.kind, item.parent) {
            (MediaType::Movie, _) => item.rating_key,
            (MediaType::Episode | MediaType::Track, Some(parent)) => parent,
            _ => continue,
        };
        let at = newest.entry(entry).or_insert(item.added_at);
        *at = (*at).max(item.added_at);
    }
    let mut entries: Vec<(i64, u64)> = newest.into_iter().map(|(k, at)| (at, k)).collect();
    entries.sort_by_key(|e| std::cmp::Reverse(*e));
    entries
        .into_iter()
        .filter_map(|(_, key)| model.items.get(&key))
        .take(limit)
        .map(|i| model.item_json(i))
        .collect()
}
