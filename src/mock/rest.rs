//! The mock's REST answers, from its model: what apps ask beside the notifications.

use serde_json::{Value, json};

use crate::MediaType;
use crate::stop::lock;

use super::model::Model;
use super::{Inner, RecordedRequest};

/// Who a request comes from, by its token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    /// The server owner's token: it sees everything.
    Owner,
    /// A user's token: valid, but `/status/sessions` is not for it.
    User,
    /// No valid token.
    Nobody,
}

pub(super) fn role(inner: &Inner, request: &RecordedRequest) -> Role {
    let token = request
        .header("X-Plex-Token")
        .or(request.query("X-Plex-Token"));
    match token {
        Some(t) if t == inner.token => Role::Owner,
        Some(t) if lock(&inner.model).users.iter().any(|u| u.token == t) => Role::User,
        _ => Role::Nobody,
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

/// A container of `key: items`.
fn container(key: &str, items: Vec<Value>) -> Value {
    json!({"MediaContainer": {"size": items.len(), key: items}})
}

/// Answers a request for anything but the notification endpoints.
pub(super) fn answer(inner: &Inner, request: &RecordedRequest) -> Answer {
    let role = role(inner, request);
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
        ("/status/sessions", Role::User) => (
            inner.forbidden_status,
            "text/html",
            "<html><body><h1>Forbidden</h1></body></html>".to_owned(),
        ),
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
            json_answer(container("Metadata", recently_added(&model, limit)))
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
                    let children = children.into_iter().map(|i| model.item_json(i)).collect();
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
            Some(item) => json_answer(container("Metadata", vec![model.item_json(item)])),
            None => not_found(),
        },
    }
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
