//! The session tracker against the mock's small Plex: one test per rule and per quirk,
//! each asserting the exact events and the identities they carry.

mod common;

use std::time::Duration;

use common::*;
use crossbeam_channel::Receiver;
use plex_alerts::mock::{MockItem, MockPlayer, MockServer, MockUser};
use plex_alerts::{
    Error, MediaType, Origin, PlaybackState, PlexServer, SessionEvent, SessionStats,
    SessionTracker, SessionTrackerBuilder, StopReason, TrackedSession, Transport,
};

struct Env {
    mock: MockServer,
    plex: PlexServer,
    alice: MockUser,
    bob: MockUser,
    tv: MockPlayer,
    phone: MockPlayer,
    ep1: MockItem,
    ep2: MockItem,
    movie: MockItem,
}

fn env() -> Env {
    let mock = MockServer::builder()
        .progress_interval(None)
        .start()
        .unwrap();
    let lib = mock.library();
    let show = lib.add_show("TV Shows", "Severance");
    let season = lib.add_season(&show, 1);
    let ep1 = lib.add_episode(&season, 1, "Good News About Hell", 3_420_000);
    let ep2 = lib.add_episode(&season, 2, "Half Loop", 3_300_000);
    let movie = lib.add_movie("Movies", "Arrival", 6_960_000);
    let plex = PlexServer::connect(mock.url(), mock.token()).unwrap();
    Env {
        alice: mock.add_user("alice"),
        bob: mock.add_user("bob"),
        tv: mock.add_player("Living Room TV"),
        phone: mock.add_player("Pixel"),
        mock,
        plex,
        ep1,
        ep2,
        movie,
    }
}

/// The number of `/status/sessions` requests the mock has answered.
fn session_reads(mock: &MockServer) -> usize {
    mock.answered("/status/sessions")
}

impl On<SessionTracker> {
    fn now_playing(&self) -> Vec<TrackedSession> {
        self.tracker.now_playing()
    }

    fn session_stats(&self) -> SessionStats {
        self.tracker.stats()
    }
}

/// Starts a tracker made by `configure` (on `transport`), and waits for its first sync.
fn tracker_on(
    env: &Env,
    transport: Transport,
    configure: impl FnOnce(SessionTrackerBuilder) -> SessionTrackerBuilder,
) -> (On<SessionTracker>, Receiver<SessionEvent>) {
    let attach = |tx, listener: &mut _| {
        configure(env.plex.session_tracker())
            .handler(tx)
            .attach(listener)
    };
    attached(&env.plex, transport, attach, |t| t.wait_synced(HANG_GUARD))
}

fn tracker(env: &Env) -> (On<SessionTracker>, Receiver<SessionEvent>) {
    tracker_on(env, Transport::WebSocket, |t| t)
}

fn next(rx: &Receiver<SessionEvent>) -> SessionEvent {
    next_of(rx)
}

/// The next event, skipping Progress.
fn next_change(rx: &Receiver<SessionEvent>) -> SessionEvent {
    loop {
        match next(rx) {
            SessionEvent::Progress(_) => continue,
            other => return other,
        }
    }
}

/// A short description: kind, user, title, state.
fn describe(e: &SessionEvent) -> String {
    let s = e.session();
    let kind = match e {
        SessionEvent::Started(_) => "started",
        SessionEvent::Paused(_) => "paused",
        SessionEvent::Resumed(_) => "resumed",
        SessionEvent::Buffering(_) => "buffering",
        SessionEvent::Progress(_) => "progress",
        SessionEvent::Seeked { .. } => "seeked",
        SessionEvent::MediaChanged { .. } => "media changed",
        SessionEvent::Watched(_) => "watched",
        SessionEvent::Stopped { reason, .. } => match reason {
            StopReason::Reported => "stopped",
            StopReason::Vanished => "vanished",
            StopReason::Stale => "stale",
            StopReason::ServerRestarted => "restarted",
            StopReason::TrackerStopped => "tracker stopped",
            _ => "stopped?",
        },
        _ => "?",
    };
    let user = s
        .user
        .as_ref()
        .and_then(|u| u.title.as_deref())
        .unwrap_or("-");
    let title = s.media.title.as_deref().unwrap_or("-");
    format!("{kind} {user} {title}")
}

#[test]
fn two_users_at_once_each_bound_to_who_and_what_from_start_to_stop() {
    for transport in BOTH {
        let e = env();
        let (listener, rx) = tracker_on(&e, transport, |t| t);
        let a = e.mock.play(&e.alice, &e.ep1, &e.tv);
        let started = next(&rx);
        assert_eq!(describe(&started), "started alice Good News About Hell");
        let s = started.session();
        assert_eq!(s.session_key, a.session_key());
        assert_eq!(s.origin, Origin::Started);
        assert_eq!(s.state, PlaybackState::Playing);
        assert_eq!(s.media.grandparent_title.as_deref(), Some("Severance"));
        assert_eq!(s.media.media_type, Some(MediaType::Episode));
        assert_eq!(s.media.duration, Some(3_420_000));
        assert_eq!(
            s.player.as_ref().and_then(|p| p.title.as_deref()),
            Some("Living Room TV")
        );
        assert_eq!(
            s.client_identifier.as_deref(),
            Some(e.tv.machine_identifier())
        );
        let b = e.mock.play(&e.bob, &e.movie, &e.phone);
        assert_eq!(describe(&next(&rx)), "started bob Arrival");
        assert_eq!(listener.now_playing().len(), 2);
        a.stop();
        b.stop();
        assert_eq!(
            describe(&next_change(&rx)),
            "stopped alice Good News About Hell"
        );
        assert_eq!(describe(&next_change(&rx)), "stopped bob Arrival");
        assert!(listener.now_playing().is_empty());
        // One lookup per new session (plus the first sync), no request for progress.
        let stats = listener.session_stats();
        assert_eq!((stats.lookups, stats.retries), (2, 0), "{stats:?}");
        listener.stop();
    }
}

#[test]
fn pause_resume_seek_and_buffering_come_as_they_happen() {
    let e = env();
    let (listener, rx) = tracker(&e);
    let p = e.mock.play(&e.alice, &e.movie, &e.tv);
    assert_eq!(describe(&next(&rx)), "started alice Arrival");
    p.seek(2_000); // played on (within the seek tolerance)
    assert!(matches!(next(&rx), SessionEvent::Progress(_)));
    p.pause();
    assert!(matches!(next(&rx), SessionEvent::Paused(_)));
    p.progress(); // a paused session keeps reporting: nothing to say
    p.seek(600_000); // a seek while paused is a seek
    match next(&rx) {
        SessionEvent::Seeked { session, from } => {
            assert_eq!(session.view_offset, 600_000);
            assert!(from < 10_000);
            assert_eq!(session.state, PlaybackState::Paused);
        }
        other => panic!("{other:?}"),
    }
    p.resume();
    assert!(matches!(next(&rx), SessionEvent::Resumed(_)));
    p.buffering();
    assert!(matches!(next(&rx), SessionEvent::Buffering(_)));
    p.resume(); // it was playing before buffering: no resume (and the offset stood)
    p.pause();
    assert!(matches!(next(&rx), SessionEvent::Paused(_)));
    p.buffering();
    assert!(matches!(next(&rx), SessionEvent::Buffering(_)));
    p.resume(); // paused, then buffering, then playing: a resume
    match next(&rx) {
        SessionEvent::Resumed(s) => assert!(s.paused_for > Duration::ZERO),
        other => panic!("{other:?}"),
    }
    p.seek(100_000); // backwards while playing
    assert!(matches!(next(&rx), SessionEvent::Seeked { from, .. } if from >= 600_000));
    listener.stop();
}

#[test]
fn autoplay_is_media_changed_and_watched_is_once_per_item() {
    let e = env();
    let (listener, rx) = tracker(&e);
    let p = e.mock.play(&e.alice, &e.ep1, &e.tv);
    next(&rx);
    p.seek(3_000_000); // 88%: past the episode threshold
    assert!(matches!(next(&rx), SessionEvent::Seeked { .. }));
    assert_eq!(describe(&next(&rx)), "watched alice Good News About Hell");
    p.seek(3_002_000); // a little further, within the seek tolerance
    assert!(
        matches!(next(&rx), SessionEvent::Progress(_)),
        "watched once"
    );
    p.next(&e.ep2);
    let changed = next(&rx);
    let how_far = changed.previous_progress().unwrap();
    assert!(
        (0.87..0.89).contains(&how_far),
        "{how_far}: where the item before got"
    );
    match changed {
        SessionEvent::MediaChanged {
            session, previous, ..
        } => {
            assert_eq!(previous.title.as_deref(), Some("Good News About Hell"));
            assert_eq!(session.media.title.as_deref(), Some("Half Loop"));
            assert_eq!(session.media.rating_key, Some(e.ep2.rating_key()));
            assert_eq!(
                session.user.as_ref().and_then(|u| u.title.as_deref()),
                Some("alice"),
                "the same session"
            );
            assert!(session.view_offset < 10_000);
        }
        other => panic!("{other:?}"),
    }
    // The next episode is not watched because the last one was.
    p.seek(2_000);
    assert!(matches!(next(&rx), SessionEvent::Progress(_)));
    // Near the end, the stop snaps to it and is watched first.
    p.seek(3_295_000);
    assert!(matches!(next(&rx), SessionEvent::Seeked { .. }));
    assert_eq!(describe(&next(&rx)), "watched alice Half Loop");
    p.stop();
    match next(&rx) {
        SessionEvent::Stopped { session, reason } => {
            assert_eq!(reason, StopReason::Reported);
            assert_eq!(session.view_offset, 3_300_000, "snapped to the end");
        }
        other => panic!("{other:?}"),
    }
    listener.stop();
}

#[test]
fn a_stop_that_never_comes_is_stale() {
    let e = env();
    let (listener, rx) = tracker_on(&e, Transport::WebSocket, |t| {
        t.stale_after(Duration::from_millis(400))
    });
    let p = e.mock.play(&e.alice, &e.ep1, &e.tv);
    next(&rx);
    p.vanish(); // no stopped, ever
    match next_change(&rx) {
        SessionEvent::Stopped { session, reason } => {
            assert_eq!(reason, StopReason::Stale);
            assert_eq!(session.user.unwrap().title.as_deref(), Some("alice"));
        }
        other => panic!("{other:?}"),
    }
    // A paused session that keeps reporting is not stale.
    let p = e.mock.play(&e.alice, &e.ep2, &e.tv);
    next(&rx);
    p.pause();
    assert!(matches!(next(&rx), SessionEvent::Paused(_)));
    for _ in 0..4 {
        assert!(
            rx.recv_timeout(Duration::from_millis(200)).is_err(),
            "not stale"
        );
        p.progress();
    }
    p.stop();
    assert!(matches!(
        next(&rx),
        SessionEvent::Stopped {
            reason: StopReason::Reported,
            ..
        }
    ));
    // One that says it plays while its offset does not move is.
    let frozen = e.mock.playback(&e.bob, &e.movie, &e.phone).start();
    let started = next(&rx);
    assert_eq!(describe(&started), "started bob Arrival");
    frozen.pause();
    next(&rx);
    // Reports "playing" at a standing offset: the client is frozen.
    let key = started.session().session_key.clone().unwrap();
    let mut n = plex_alerts::PlaySessionState::default();
    n.session_key = Some(key);
    n.client_identifier = Some(e.phone.machine_identifier().to_owned());
    n.rating_key = Some(e.movie.rating_key());
    n.state = plex_alerts::PlaybackState::Playing;
    n.view_offset = frozen.offset();
    let frame = plex_alerts::mock::frame(&plex_alerts::Notification::Playing(vec![n]));
    e.mock.send(&frame);
    assert!(matches!(next(&rx), SessionEvent::Resumed(_)));
    let stale = std::time::Instant::now();
    while stale.elapsed() < Duration::from_secs(5) {
        match rx.recv_timeout(Duration::from_millis(150)) {
            Ok(SessionEvent::Stopped { reason, session }) => {
                assert_eq!(reason, StopReason::Stale);
                assert_eq!(session.user.unwrap().title.as_deref(), Some("bob"));
                break;
            }
            Ok(other) => panic!("{other:?}"),
            Err(_) => {
                e.mock.send(&frame);
            }
        }
    }
    assert!(
        stale.elapsed() < Duration::from_secs(5),
        "a frozen offset is stale"
    );
    listener.stop();
}

#[test]
fn a_session_that_ended_while_disconnected_is_stopped_at_the_resync() {
    let e = env();
    let (listener, rx) = tracker_on(&e, Transport::WebSocket, |t| {
        t.absence_grace(Duration::from_millis(200))
    });
    let gone = e.mock.play(&e.alice, &e.ep1, &e.tv);
    let stays = e.mock.play(&e.bob, &e.movie, &e.phone);
    next(&rx);
    next(&rx);
    e.mock.stop_listening();
    gone.vanish(); // ends while nobody listens
    stays.pause(); // and this one pauses meanwhile
    let newcomer = e.mock.play(&e.alice, &e.ep2, &e.phone);
    e.mock.start_listening().unwrap();
    let mut seen: Vec<String> = (0..3).map(|_| describe(&next_change(&rx))).collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            "paused bob Arrival",
            "started alice Half Loop",
            "vanished alice Good News About Hell"
        ]
    );
    let found = listener
        .now_playing()
        .into_iter()
        .find(|s| s.session_key == newcomer.session_key())
        .unwrap();
    assert_eq!(found.origin, Origin::FoundAfterGap);
    listener.stop();
}

#[test]
fn a_session_briefly_missing_from_the_listing_is_not_stopped() {
    let e = env();
    let (listener, rx) = tracker_on(&e, Transport::EventSource, |t| {
        t.absence_grace(Duration::from_secs(600))
    });
    let p = e.mock.play(&e.alice, &e.ep1, &e.tv);
    next(&rx);
    e.mock.stop_listening();
    p.forget(); // not listed while the listener reconnects...
    e.mock.start_listening().unwrap();
    let resynced = e.mock.wait_until(HANG_GUARD, |m| session_reads(m) >= 3);
    let paths: Vec<_> = e.mock.requests().iter().map(|r| r.path.clone()).collect();
    assert!(
        resynced,
        "the resync: {paths:?} {:?}",
        listener.listener.stats()
    );
    // ...and it reports again: it was there all along.
    let again = e.mock.play(&e.bob, &e.movie, &e.phone);
    assert_eq!(describe(&next(&rx)), "started bob Arrival");
    assert_eq!(listener.now_playing().len(), 2);
    again.stop();
    listener.stop();
}

#[test]
fn a_restart_that_reuses_key_1_for_another_user_ends_the_old_session_first() {
    let e = env();
    let (listener, rx) = tracker(&e);
    let a = e.mock.play(&e.alice, &e.ep1, &e.tv);
    assert_eq!(a.session_key().as_deref(), Some("1"));
    next(&rx);
    // A plain restart: same identity, sessions forgotten, keys from 1 again.
    e.mock.restart().unwrap();
    let b = e.mock.play(&e.bob, &e.movie, &e.phone);
    assert_eq!(b.session_key().as_deref(), Some("1"));
    assert_eq!(
        describe(&next_change(&rx)),
        "restarted alice Good News About Hell"
    );
    let started = next_change(&rx);
    assert_eq!(describe(&started), "started bob Arrival");
    assert_eq!(started.session().session_key.as_deref(), Some("1"));
    assert_eq!(
        started.session().player.as_ref().unwrap().title.as_deref(),
        Some("Pixel")
    );
    // After an update, every old session ends, even one the same viewer resumes.
    e.mock.update_and_restart().unwrap();
    let resumed = e.mock.play(&e.bob, &e.movie, &e.phone);
    assert_eq!(resumed.session_key().as_deref(), Some("1"));
    assert_eq!(describe(&next_change(&rx)), "restarted bob Arrival");
    assert_eq!(describe(&next_change(&rx)), "started bob Arrival");
    listener.stop();
}

#[test]
fn a_token_that_may_not_see_sessions_is_told_once_and_events_flow_without_users() {
    let e = env();
    let guest = e.mock.add_user("guest");
    let plex = PlexServer::connect(e.mock.url(), guest.token()).unwrap();
    let (errors_tx, errors) = crossbeam_channel::unbounded();
    let (tx, rx) = crossbeam_channel::unbounded();
    let tracker = plex
        .session_tracker()
        .handler(tx)
        .callback_error(move |err| errors_tx.send(err).unwrap())
        .start()
        .unwrap();
    let e1 = errors.recv_timeout(HANG_GUARD).unwrap();
    assert!(matches!(e1, Error::Forbidden { status: 401, .. }), "{e1:?}");
    assert!(e.mock.wait_for_clients(1, HANG_GUARD));
    let a = e.mock.play(&e.alice, &e.ep1, &e.tv);
    let started = next(&rx);
    let s = started.session();
    assert!(s.user.is_none(), "the user is unknown");
    assert_eq!(
        s.media.title.as_deref(),
        Some("Good News About Hell"),
        "from metadata"
    );
    a.next(&e.ep2);
    match next(&rx) {
        SessionEvent::MediaChanged { session, .. } => {
            assert_eq!(session.media.title.as_deref(), Some("Half Loop"))
        }
        other => panic!("{other:?}"),
    }
    a.stop();
    assert!(matches!(next_change(&rx), SessionEvent::Stopped { .. }));
    assert!(errors.try_recv().is_err(), "told once");
    let stats = tracker.stats();
    assert_eq!(stats.metadata_reads, 2, "{stats:?}");
    tracker.stop();
}

#[test]
fn live_tv_changes_programme_within_one_session_and_prerolls_are_flagged() {
    let e = env();
    let (listener, rx) = tracker(&e);
    let live = e.mock.play_live(&e.alice, &e.tv, "Evening News");
    let started = next(&rx);
    assert!(started.session().live);
    assert_eq!(
        started.session().media.title.as_deref(),
        Some("Evening News")
    );
    live.next_programme("Weather");
    match next(&rx) {
        SessionEvent::MediaChanged {
            session, previous, ..
        } => {
            assert_eq!(previous.title.as_deref(), Some("Evening News"));
            assert_eq!(session.media.title.as_deref(), Some("Weather"));
        }
        other => panic!("{other:?}"),
    }
    live.stop();
    assert!(matches!(next_change(&rx), SessionEvent::Stopped { .. }));
    let preroll = e.mock.play_preroll(&e.alice, &e.tv);
    let started = next(&rx);
    assert!(started.session().transient, "a preroll");
    preroll.stop();
    next_change(&rx);
    e.mock.play(&e.alice, &e.movie, &e.tv);
    assert!(!next(&rx).session().transient);
    listener.stop();
}

#[test]
fn sessions_playing_before_the_tracker_are_found_at_start() {
    let e = env();
    e.mock.playback(&e.alice, &e.ep1, &e.tv).at(120_000).start();
    let (listener, rx) = tracker(&e);
    let found = next(&rx);
    assert_eq!(describe(&found), "started alice Good News About Hell");
    assert_eq!(found.session().origin, Origin::FoundAtStart);
    assert!(found.session().view_offset >= 120_000);
    listener.stop();
}

#[test]
fn a_session_not_visible_yet_is_looked_up_again_until_it_is() {
    let e = env();
    let (listener, rx) = tracker(&e);
    let reads = e.mock.received("/status/sessions");
    let hidden = e.mock.playback(&e.alice, &e.ep1, &e.tv).hidden().start();
    assert!(
        e.mock
            .wait_until(HANG_GUARD, |m| session_reads(m) >= reads + 2)
    );
    hidden.reveal();
    let started = next(&rx);
    assert_eq!(describe(&started), "started alice Good News About Hell");
    let stats = listener.session_stats();
    assert!(stats.retries >= 1, "{stats:?}");
    listener.stop();
}

#[test]
fn clients_without_a_session_key_are_tracked_by_their_client() {
    let e = env();
    let (listener, rx) = tracker(&e);
    let kodi = e.mock.add_player("Kodi");
    let p = e
        .mock
        .playback(&e.bob, &e.movie, &kodi)
        .without_session_key()
        .start();
    let started = next(&rx);
    assert_eq!(describe(&started), "started bob Arrival");
    assert_eq!(started.session().session_key, None);
    p.pause();
    assert!(matches!(next(&rx), SessionEvent::Paused(_)));
    // A notification that names neither key nor client is counted, not a panic.
    let mut n = plex_alerts::PlaySessionState::default();
    n.state = plex_alerts::PlaybackState::Playing;
    e.mock.send(&plex_alerts::mock::frame(
        &plex_alerts::Notification::Playing(vec![n]),
    ));
    p.stop();
    assert!(matches!(next_change(&rx), SessionEvent::Stopped { .. }));
    assert_eq!(listener.session_stats().without_key, 1);
    listener.stop();
}

#[test]
fn offsets_beyond_the_duration_are_clamped() {
    let e = env();
    let (listener, rx) = tracker(&e);
    let p = e.mock.play(&e.alice, &e.movie, &e.tv);
    next(&rx);
    p.seek(99_000_000);
    match next(&rx) {
        SessionEvent::Seeked { session, .. } => assert_eq!(session.view_offset, 6_960_000),
        other => panic!("{other:?}"),
    }
    assert!(matches!(next(&rx), SessionEvent::Watched(_)));
    listener.stop();
}

#[test]
fn stopping_the_tracker_ends_its_sessions_only_if_asked_and_is_prompt_during_a_lookup() {
    let e = env();
    let (listener, rx) = tracker_on(&e, Transport::WebSocket, |t| {
        t.lookup_timeout(Duration::from_secs(120))
            .end_sessions_on_stop(true)
    });
    e.mock.play(&e.alice, &e.ep1, &e.tv);
    next(&rx);
    // Every new connection (the next lookup's) is accepted and never answered.
    e.mock.set_fault(plex_alerts::mock::Fault::Silent);
    e.mock.play(&e.bob, &e.movie, &e.phone);
    assert!(e.mock.wait_until(HANG_GUARD, |m| m.connections() >= 4));
    let (done_tx, done) = crossbeam_channel::bounded(1);
    std::thread::spawn(move || {
        listener.stop();
        done_tx.send(()).unwrap();
    });
    assert!(
        done.recv_timeout(Duration::from_secs(3)).is_ok(),
        "stop waited for the lookup"
    );
    let ends: Vec<_> = rx.try_iter().map(|e| describe(&e)).collect();
    assert!(
        ends.contains(&"tracker stopped alice Good News About Hell".to_owned()),
        "{ends:?}"
    );
}

#[test]
fn one_connection_carries_raw_alerts_beside_session_events() {
    let e = env();
    let (alerts_tx, alerts) = crossbeam_channel::unbounded();
    let (tx, rx) = crossbeam_channel::unbounded();
    let before = e.mock.handshakes();
    let mut listener = e
        .plex
        .alert_listener()
        .filters(plex_alerts::Filters::only(["timeline"]))
        .callback(move |a| alerts_tx.send(a.kind().to_owned()).unwrap());
    let tracker = e.plex.session_tracker().handler(tx).attach(&mut listener);
    let listener = listener.start().unwrap();
    assert!(tracker.wait_synced(HANG_GUARD));
    e.mock.play(&e.alice, &e.ep1, &e.tv);
    assert_eq!(describe(&next(&rx)), "started alice Good News About Hell");
    e.mock.flood_timeline(&e.movie, 1);
    assert_eq!(alerts.recv_timeout(HANG_GUARD).unwrap(), "timeline");
    assert!(
        alerts.try_recv().is_err(),
        "the app's filters still hold: no playing"
    );
    assert_eq!(e.mock.handshakes(), before + 1, "one connection");
    listener.stop();
}

#[test]
fn sessions_that_start_together_share_one_lookup() {
    let e = env();
    let (listener, rx) = tracker(&e);
    let players: Vec<_> = (0..5)
        .map(|i| e.mock.add_player(&format!("TV {i}")))
        .collect();
    for player in &players {
        e.mock.play(&e.alice, &e.movie, player);
    }
    for _ in 0..5 {
        assert!(matches!(next(&rx), SessionEvent::Started(_)));
    }
    // One read for all five, as the table proves on a fake clock; here, on a loaded
    // machine, the five notifications can straddle the 100 ms gather and take two. One
    // read per session would be five.
    let stats = listener.session_stats();
    assert!(stats.lookups <= 2, "{stats:?}");
    assert_eq!((stats.retries, stats.sessions), (0, 5), "{stats:?}");
    listener.stop();
}

#[test]
fn sessions_past_the_bound_are_told_once_and_the_tracked_ones_go_on() {
    let e = env();
    let (errors_tx, errors) = crossbeam_channel::unbounded();
    let (listener, rx) = tracker_on(&e, Transport::WebSocket, |t| {
        t.max_sessions(1)
            .callback_error(move |err| errors_tx.send(err).unwrap())
    });
    let a = e.mock.play(&e.alice, &e.ep1, &e.tv);
    let started = next_change(&rx);
    assert!(describe(&started).starts_with("started"), "{started:?}");
    let b = e.mock.play(&e.bob, &e.movie, &e.phone);
    match errors.recv_timeout(HANG_GUARD) {
        Ok(Error::TrackerFull { limit: 1, .. }) => {}
        other => panic!("{other:?}"),
    }
    b.pause(); // more of the session left out: no second error
    a.stop();
    assert!(matches!(next_change(&rx), SessionEvent::Stopped { .. }));
    let stats = listener.session_stats();
    assert!(stats.over_limit >= 2, "{stats:?}");
    assert!(errors.try_recv().is_err(), "told once");
    listener.stop();
}

#[test]
fn autoplay_while_the_listing_fails_is_read_from_the_item_with_few_requests() {
    let e = env();
    let (errors_tx, errors) = crossbeam_channel::unbounded();
    let (listener, rx) = tracker_on(&e, Transport::WebSocket, |t| {
        t.callback_error(move |err| errors_tx.send(err).unwrap())
    });
    let p = e.mock.play(&e.alice, &e.ep1, &e.tv);
    assert_eq!(describe(&next(&rx)), "started alice Good News About Hell");
    let item = format!("/library/metadata/{}", e.ep2.rating_key());
    let sessions = e.mock.received("/status/sessions");
    e.mock.fail_requests("/status/sessions", 500, 1000);
    p.next(&e.ep2);
    match next(&rx) {
        SessionEvent::MediaChanged {
            session, previous, ..
        } => {
            assert_eq!(previous.title.as_deref(), Some("Good News About Hell"));
            assert_eq!(
                session.media.title.as_deref(),
                Some("Half Loop"),
                "from /library/metadata"
            );
            assert_eq!(session.user.unwrap().title.as_deref(), Some("alice"));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        errors.recv_timeout(HANG_GUARD),
        Ok(Error::HttpStatus { status: 500, .. })
    ));
    // One read of each; the broken code read /status/sessions thousands of times a second.
    assert!(
        e.mock.received("/status/sessions") <= sessions + 1,
        "{:?}",
        e.mock.requests()
    );
    assert_eq!(e.mock.received(&item), 1);
    assert!(errors.try_recv().is_err(), "one error for one failed read");
    listener.stop();
}

#[test]
fn a_stale_session_that_keeps_reporting_is_not_started_again_until_it_moves() {
    let e = env();
    let (listener, rx) = tracker_on(&e, Transport::WebSocket, |t| {
        t.stale_after(Duration::from_millis(400))
    });
    let p = e
        .mock
        .playback(&e.bob, &e.movie, &e.phone)
        .at(60_000)
        .start();
    let started = next(&rx);
    assert_eq!(describe(&started), "started bob Arrival");
    // The client freezes: "playing", at an offset that does not move.
    let key = started.session().session_key.clone().unwrap();
    let frozen = |offset: i64| {
        let mut n = plex_alerts::PlaySessionState::default();
        n.session_key = Some(key.clone());
        n.client_identifier = Some(e.phone.machine_identifier().to_owned());
        n.rating_key = Some(e.movie.rating_key());
        n.state = plex_alerts::PlaybackState::Playing;
        n.view_offset = Some(offset);
        plex_alerts::mock::frame(&plex_alerts::Notification::Playing(vec![n]))
    };
    let at = p.offset().unwrap();
    // Counted as received (an answer is counted once written, which may come after the
    // tracker has read it).
    let asked = |m: &MockServer| {
        m.requests()
            .iter()
            .filter(|r| r.path == "/status/sessions")
            .count()
    };
    let reads = asked(&e.mock);
    let mut stale = None;
    // Reported every 100 ms for 2 s: stale once, then nothing at all.
    for _ in 0..20 {
        e.mock.send(&frozen(at));
        if let Ok(event) = rx.recv_timeout(Duration::from_millis(100)) {
            if matches!(event, SessionEvent::Progress(_)) && stale.is_none() {
                continue; // to where it froze
            }
            assert!(stale.is_none(), "after its stale stop: {event:?}");
            assert_eq!(describe(&event), "stale bob Arrival");
            stale = Some(event);
        }
    }
    assert!(stale.is_some(), "a frozen offset is stale");
    assert_eq!(asked(&e.mock), reads, "no request for a frozen session");
    // It moves again: a new session, told once, bound to the same viewer.
    e.mock.send(&frozen(at + 30_000));
    let again = next(&rx);
    assert_eq!(describe(&again), "started bob Arrival");
    assert_eq!(again.session().origin, Origin::Reappeared);
    listener.stop();
}

#[test]
fn transient_sessions_are_never_watched_and_can_be_left_out() {
    let e = env();
    let (listener, rx) = tracker(&e);
    let preroll = e.mock.play_preroll(&e.alice, &e.tv);
    let started = next(&rx);
    assert!(started.session().transient);
    preroll.seek(30_000); // to its end
    preroll.stop();
    loop {
        match next(&rx) {
            SessionEvent::Watched(s) => panic!("a preroll watched: {s:?}"),
            SessionEvent::Stopped { .. } => break,
            _ => continue,
        }
    }
    listener.stop();
    let (listener, rx) = tracker_on(&e, Transport::WebSocket, |t| t.skip_transient(true));
    let reads = e.mock.received("/status/sessions");
    let preroll = e.mock.play_preroll(&e.alice, &e.tv);
    assert!(
        e.mock.wait_until(HANG_GUARD, |m| session_reads(m) > reads),
        "its lookup"
    );
    preroll.stop();
    e.mock.play(&e.alice, &e.movie, &e.tv);
    assert_eq!(
        describe(&next(&rx)),
        "started alice Arrival",
        "the preroll left out"
    );
    listener.stop();
}
