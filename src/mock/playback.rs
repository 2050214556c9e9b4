//! The mock's users and players, and scripted playback that sends the notifications a real
//! server sends, while `/status/sessions` agrees.

use std::sync::Arc;
use std::time::Instant;

use serde_json::json;

use crate::stop::lock;

use super::library::MockItem;
use super::model::{Model, Playing, SessionRec, State, frame, play_id};
use super::{Inner, MockServer};

/// A user of the mock server, made with [`MockServer::add_user`]. It has a token of its
/// own: a valid one that is not the server owner's, so `/status/sessions` refuses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MockUser {
    index: usize,
    id: u32,
    name: String,
    token: String,
}

impl MockUser {
    /// The user's id, as `/status/sessions` gives it.
    pub fn id(&self) -> String {
        self.id.to_string()
    }

    /// The user's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The user's own token (not the admin's).
    pub fn token(&self) -> &str {
        &self.token
    }
}

/// A player (a client device), made with [`MockServer::add_player`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MockPlayer {
    index: usize,
    machine_identifier: String,
    title: String,
}

impl MockPlayer {
    /// Its `machineIdentifier`: the `clientIdentifier` of its `playing` notifications.
    pub fn machine_identifier(&self) -> &str {
        &self.machine_identifier
    }

    /// Its name.
    pub fn title(&self) -> &str {
        &self.title
    }
}

/// Starts a scripted playback with options: [`MockServer::playback`].
#[derive(Debug)]
#[must_use = "a playback starts with start()"]
pub struct PlaybackBuilder<'a> {
    server: &'a MockServer,
    user: usize,
    player: usize,
    playing: Playing,
    hidden: bool,
    sends_key: bool,
    state: State,
    offset: i64,
}

impl PlaybackBuilder<'_> {
    /// Not listed in `/status/sessions` until [`Playback::reveal`]: a session that is not
    /// visible yet on its first notification, as real servers have.
    pub fn hidden(mut self) -> Self {
        self.hidden = true;
        self
    }

    /// The client sends no session key in its notifications (PlexKodiConnect does that);
    /// `/status/sessions` still lists one.
    pub fn without_session_key(mut self) -> Self {
        self.sends_key = false;
        self
    }

    /// Starts buffering, as many clients do, instead of playing.
    pub fn buffering_first(mut self) -> Self {
        self.state = State::Buffering;
        self
    }

    /// Starts at this offset (milliseconds) instead of 0: a resumed item.
    pub fn at(mut self, offset: i64) -> Self {
        self.offset = offset;
        self
    }

    /// Starts it: the first `playing` notification goes out now.
    pub fn start(self) -> Playback {
        let inner = &self.server.inner;
        let id = {
            let mut model = lock(&inner.model);
            model.start_session(|session_key, id| SessionRec {
                session_key,
                sends_key: self.sends_key,
                user: self.user,
                player: self.player,
                playing: self.playing,
                state: self.state,
                offset_at: self.offset,
                since: Instant::now(),
                listed: !self.hidden,
                transcode: None,
                // Also its play id: see Playback::play_id.
                play_queue_item: 9000 + id,
            })
        };
        inner.ensure_ticker();
        let playback = Playback {
            inner: Arc::clone(inner),
            id,
        };
        playback.notify(false);
        playback
    }
}

/// A scripted playback session on the mock server: what a user does on a player, each
/// step sending the `playing` notification a real server sends, while `/status/sessions`
/// shows the session as it is. Offsets advance with the clock while it plays.
///
/// Besides each step, the server repeats every session's state at its progress interval
/// ([`MockBuilder::progress_interval`](super::MockBuilder::progress_interval), 10 s as
/// on real servers), paused sessions included; [`progress`](Playback::progress) sends
/// that report now.
///
/// After a server [`restart`](MockServer::restart), or once `/status/sessions/terminate`
/// has ended it ([`termination_reason`](Playback::termination_reason) says why), the
/// session is gone: its methods do nothing.
#[derive(Debug, Clone)]
pub struct Playback {
    inner: Arc<Inner>,
    id: u64,
}

impl Playback {
    /// Runs `change` on the session and sends its `playing` notification; false if the
    /// session is gone.
    fn step(&self, change: impl FnOnce(&mut SessionRec)) -> bool {
        let sent = {
            let mut model = lock(&self.inner.model);
            match model.sessions.get_mut(&self.id) {
                Some(rec) => {
                    Model::settle(rec);
                    change(rec);
                    true
                }
                None => false,
            }
        };
        if sent {
            self.notify(false);
        }
        sent
    }

    /// Sends the session's `playing` notification as it is now.
    fn notify(&self, empty_keys: bool) {
        let frame = {
            let model = lock(&self.inner.model);
            let Some(rec) = model.sessions.get(&self.id) else {
                return;
            };
            let child = model.playing_child(rec, rec.state, empty_keys);
            frame("playing", "PlaySessionStateNotification", vec![child])
        };
        self.inner.send(&frame);
    }

    fn read<T>(&self, f: impl FnOnce(&SessionRec) -> T) -> Option<T> {
        lock(&self.inner.model).sessions.get(&self.id).map(f)
    }

    /// The session key, as notifications and `/status/sessions` give it.
    pub fn session_key(&self) -> Option<String> {
        self.read(|r| r.session_key.to_string())
    }

    /// The play's id: `Session.id` in `/status/sessions`, what
    /// [`PlexServer::terminate_session`](crate::PlexServer::terminate_session) takes. It
    /// stays the same for the session's life, across autoplay.
    pub fn play_id(&self) -> String {
        play_id(9000 + self.id)
    }

    /// The reason the session was ended with, if `/status/sessions/terminate` ended it.
    pub fn termination_reason(&self) -> Option<String> {
        lock(&self.inner.model).terminations.get(&self.id).cloned()
    }

    /// The offset now, in milliseconds.
    pub fn offset(&self) -> Option<i64> {
        self.read(Model::offset)
    }

    /// Sends the periodic report now: the session's state and offset, unchanged.
    pub fn progress(&self) {
        self.notify(false);
    }

    /// Pauses.
    pub fn pause(&self) {
        self.step(|r| r.state = State::Paused);
    }

    /// Plays again (after a pause or buffering).
    pub fn resume(&self) {
        self.step(|r| r.state = State::Playing);
    }

    /// Buffers.
    pub fn buffering(&self) {
        self.step(|r| r.state = State::Buffering);
    }

    /// Jumps to `offset` (milliseconds), in whatever state it is; beyond the end too,
    /// as some clients report.
    pub fn seek(&self, offset: i64) {
        self.step(|r| r.offset_at = offset);
    }

    /// Plays `item` next in the same session (autoplay): the same session key, a new
    /// rating key, no stop in between.
    pub fn next(&self, item: &MockItem) {
        self.step(|r| {
            r.playing = Playing::Item(item.rating_key);
            r.offset_at = 0;
            r.state = State::Playing;
        });
    }

    /// Live TV: the channel moves on to the next programme, without a stop (a new GUID
    /// and rating key, the same session and `/livetv/sessions/` key).
    pub fn next_programme(&self, title: &str) {
        let guid = format!(
            "com.gracenote.onconnect://episode/EP{:010}",
            self.id * 7 + 3
        );
        self.step(|r| {
            if let Playing::Live {
                programme, guid: g, ..
            } = &mut r.playing
            {
                *programme = title.to_owned();
                *g = guid;
            }
        });
    }

    /// A transcode starts mid-play: `transcodeSession.start` goes out, and the session's
    /// notifications and `/status/sessions` carry it from now on.
    pub fn start_transcode(&self) {
        let key = format!("mocktranscode{}", self.id);
        let start = frame(
            "transcodeSession.start",
            "TranscodeSession",
            vec![
                json!({"key": format!("/transcode/sessions/{key}"), "throttled": false,
                "progress": 0.0, "speed": 0.0, "videoDecision": "transcode",
                "audioDecision": "copy", "protocol": "hls", "container": "mpegts"}),
            ],
        );
        if self.read(|_| ()).is_some() {
            self.inner.send(&start);
            self.step(|r| r.transcode = Some(key));
        }
    }

    /// Lists the session in `/status/sessions` (after [`PlaybackBuilder::hidden`]).
    pub fn reveal(&self) {
        if let Some(rec) = lock(&self.inner.model).sessions.get_mut(&self.id) {
            rec.listed = true;
        }
    }

    /// Stops: a `stopped` notification, and the session leaves `/status/sessions`.
    pub fn stop(&self) {
        self.step(|r| r.state = State::Stopped);
        self.forget();
    }

    /// Stops with a `stopped` notification whose `key` and `ratingKey` are empty, as some
    /// servers send it.
    pub fn stop_with_empty_keys(&self) {
        let stopped = match lock(&self.inner.model).sessions.get_mut(&self.id) {
            Some(rec) => {
                Model::settle(rec);
                rec.state = State::Stopped;
                true
            }
            None => false,
        };
        if stopped {
            self.notify(true);
            self.forget();
        }
    }

    /// Stops, but stays in `/status/sessions` (in state stopped) until
    /// [`forget`](Self::forget), as real servers' sessions linger.
    pub fn stop_lingering(&self) {
        self.step(|r| r.state = State::Stopped);
    }

    /// Ends the session without a word: no `stopped` notification, and it is gone from
    /// `/status/sessions`. The stop that is never sent.
    pub fn vanish(&self) {
        self.forget();
    }

    /// Removes the session from `/status/sessions` (and its notifications end) without a
    /// notification.
    pub fn forget(&self) {
        lock(&self.inner.model).sessions.remove(&self.id);
    }
}

impl Inner {
    /// Starts the thread that repeats every session's state, if it does not run yet.
    fn ensure_ticker(self: &Arc<Self>) {
        let Some(every) = self.progress_interval else {
            return;
        };
        let mut ticker = lock(&self.ticker);
        if ticker.is_some() {
            return;
        }
        let (stop_tx, stop_rx) = crossbeam_channel::bounded::<()>(0);
        let inner = Arc::downgrade(self);
        let thread = std::thread::Builder::new()
            .name("mock-progress".into())
            .spawn(move || {
                while stop_rx.recv_timeout(every).is_err_and(|e| e.is_timeout()) {
                    let Some(inner) = inner.upgrade() else {
                        return;
                    };
                    let frames: Vec<String> = {
                        let model = lock(&inner.model);
                        model
                            .sessions
                            .values()
                            .filter(|r| r.state != State::Stopped)
                            .map(|r| {
                                let child = model.playing_child(r, r.state, false);
                                frame("playing", "PlaySessionStateNotification", vec![child])
                            })
                            .collect()
                    };
                    for f in frames {
                        inner.send(&f);
                    }
                }
            });
        if thread.is_ok() {
            *ticker = Some(stop_tx);
        }
    }
}

impl MockServer {
    /// Adds a user, with a token of its own: valid, but not the server owner's, so
    /// `/status/sessions` answers it 401 (as Plex 1.46 does; see
    /// [`MockBuilder::forbidden_status`](super::MockBuilder::forbidden_status)).
    pub fn add_user(&self, name: &str) -> MockUser {
        let mut model = lock(&self.inner.model);
        let index = model.users.len();
        let id = index as u32 + 1;
        let token = format!("mock-user-token-{id:04}");
        model.users.push(super::model::UserRec {
            id,
            name: name.to_owned(),
            token: token.clone(),
        });
        MockUser {
            index,
            id,
            name: name.to_owned(),
            token,
        }
    }
    /// Adds a player: a Plex for Android (TV) app on the server's network, unless
    /// [`set_player_product`](Self::set_player_product) and
    /// [`set_player_local`](Self::set_player_local) say otherwise.
    pub fn add_player(&self, title: &str) -> MockPlayer {
        let mut model = lock(&self.inner.model);
        let index = model.players.len();
        let machine_identifier = format!("mock-player-{:04}-{}", index + 1, title.len());
        model.players.push(super::model::PlayerRec {
            machine_identifier: machine_identifier.clone(),
            title: title.to_owned(),
            product: "Plex for Android (TV)".to_owned(),
            platform: "Android".to_owned(),
            local: true,
            address: format!("10.0.0.{}", index + 10),
        });
        MockPlayer {
            index,
            machine_identifier,
            title: title.to_owned(),
        }
    }
    /// What app `player` is (`Player.product` in `/status/sessions`: `Plexamp`, `Plex
    /// Web`, ...) and on what platform (`Player.platform`: `iOS`, `Chrome`, ...).
    pub fn set_player_product(&self, player: &MockPlayer, product: &str, platform: &str) {
        if let Some(p) = lock(&self.inner.model).players.get_mut(player.index) {
            p.product = product.to_owned();
            p.platform = platform.to_owned();
        }
    }
    /// Whether `player` is on the server's network (`Player.local` in
    /// `/status/sessions`, `true` by default) or remote: then its address is a public
    /// one, also given as `remotePublicAddress`, and its session's `location` is `wan`.
    pub fn set_player_local(&self, player: &MockPlayer, local: bool) {
        if let Some(p) = lock(&self.inner.model).players.get_mut(player.index) {
            p.local = local;
            p.address = match local {
                true => format!("10.0.0.{}", player.index + 10),
                false => format!("203.0.113.{}", player.index + 10),
            };
        }
    }
    /// How many times `user` (the server owner, for `None`) has watched `item`, as
    /// `/:/scrobble` with their token counts it and `/library/metadata` shows it
    /// (`viewCount`). Playback does not count: a scrobbler does, or the app under test.
    pub fn view_count(&self, item: &MockItem, user: Option<&MockUser>) -> u64 {
        let account = user.map(|u| u.id);
        let model = lock(&self.inner.model);
        model
            .views
            .get(&(item.rating_key, account))
            .map_or(0, |v| v.count)
    }
    /// `user` starts `item` on `player`: see [`Playback`].
    pub fn play(&self, user: &MockUser, item: &MockItem, player: &MockPlayer) -> Playback {
        self.playback(user, item, player).start()
    }
    /// A playback with options (hidden at first, no session key, buffering first, an
    /// offset); [`start`](PlaybackBuilder::start) starts it.
    pub fn playback(
        &self,
        user: &MockUser,
        item: &MockItem,
        player: &MockPlayer,
    ) -> PlaybackBuilder<'_> {
        self.builder_for(user, player, Playing::Item(item.rating_key))
    }
    /// `user` watches Live TV on `player`: the session's key is under `/livetv/sessions/`,
    /// its rating key a Gracenote GUID that changes with the programme, and
    /// `/status/sessions` lists it without a rating key and with `live: "1"`.
    pub fn play_live(&self, user: &MockUser, player: &MockPlayer, programme: &str) -> Playback {
        let uuid = lock(&self.inner.model).uuid();
        let guid = format!(
            "com.gracenote.onconnect://episode/EP{:010}",
            uuid.len() * 1000 + 7
        );
        self.builder_for(
            user,
            player,
            Playing::Live {
                uuid,
                programme: programme.to_owned(),
                guid,
            },
        )
        .start()
    }
    /// A preroll plays before the feature, in a session of its own: a clip in section
    /// `-2`. Stop it, then play the feature.
    pub fn play_preroll(&self, user: &MockUser, player: &MockPlayer) -> Playback {
        self.builder_for(user, player, Playing::Preroll).start()
    }
    fn builder_for(
        &self,
        user: &MockUser,
        player: &MockPlayer,
        playing: Playing,
    ) -> PlaybackBuilder<'_> {
        PlaybackBuilder {
            server: self,
            user: user.index,
            player: player.index,
            playing,
            hidden: false,
            sends_key: true,
            state: State::Playing,
            offset: 0,
        }
    }
    /// Ends every session without a notification, and from now on session keys start
    /// again from 1: what a server restart does to sessions. Used by
    /// [`restart`](MockServer::restart); on its own, a restart nobody saw.
    pub(super) fn forget_sessions(&self, updated: bool) {
        lock(&self.inner.model).restart(updated);
    }
}
