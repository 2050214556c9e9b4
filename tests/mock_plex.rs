//! The mock is a small, consistent Plex: what its notifications say and what its
//! `/status/sessions` shows agree at every step of a scripted session, and every quirk of
//! real servers it can play is a switch that does what it says.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use crossbeam_channel::Receiver;
use plex_alerts::mock::{self, MockItem, MockPlayer, MockServer, MockUser};
use plex_alerts::{
    Alert, AlertListener, Event, Notification, PlaySessionState, PlaybackState, PlexServer,
    Transport,
};

struct World {
    mock: MockServer,
    plex: PlexServer,
    alice: MockUser,
    tv: MockPlayer,
    ep1: MockItem,
    ep2: MockItem,
}

fn world(progress: Option<Duration>) -> World {
    let mock = MockServer::builder()
        .progress_interval(progress)
        .start()
        .unwrap();
    let lib = mock.library();
    let show = lib.add_show("TV Shows", "Severance");
    let season = lib.add_season(&show, 1);
    let ep1 = lib.add_episode(&season, 1, "Good News About Hell", 3_420_000);
    let ep2 = lib.add_episode(&season, 2, "Half Loop", 3_300_000);
    let plex = PlexServer::connect(mock.url(), mock.token()).unwrap();
    World {
        alice: mock.add_user("alice"),
        tv: mock.add_player("Living Room TV"),
        mock,
        plex,
        ep1,
        ep2,
    }
}

fn alerts(mock: &MockServer, transport: Transport) -> (AlertListener, Receiver<Event>) {
    connected(mock, transport)
}

/// The next `playing` notification's one child.
fn next_playing(rx: &Receiver<Event>) -> PlaySessionState {
    loop {
        let alert: Alert = next_alert(rx);
        if let Notification::Playing(mut s) = alert.into_notification() {
            assert_eq!(s.len(), 1);
            return s.remove(0);
        }
    }
}

#[test]
fn notifications_and_status_sessions_agree_at_every_step_of_a_session() {
    for transport in BOTH {
        let w = world(None);
        let (listener, rx) = alerts(&w.mock, transport);
        let p = w.mock.play(&w.alice, &w.ep1, &w.tv);
        let key = p.session_key().unwrap();

        // Each step: the notification, then /status/sessions, say the same.
        let check = |n: &PlaySessionState, state: &str, item: &MockItem| {
            assert_eq!(
                n.session_key.as_deref(),
                Some(key.as_str()),
                "{transport:?}"
            );
            assert_eq!(n.state.as_str(), state);
            assert_eq!(n.rating_key.as_deref(), Some(item.rating_key().as_str()));
            assert_eq!(
                n.client_identifier.as_deref(),
                Some(w.tv.machine_identifier())
            );
            let sessions = w.plex.sessions().unwrap();
            if state == "stopped" {
                assert!(sessions.is_empty(), "{transport:?}: {sessions:?}");
                return;
            }
            let [s] = sessions.as_slice() else {
                panic!("{sessions:?}")
            };
            assert_eq!(s.session_key.as_deref(), Some(key.as_str()));
            assert_eq!(s.rating_key.as_deref(), Some(item.rating_key().as_str()));
            assert_eq!(s.player.as_ref().unwrap().state.as_str(), state);
            assert_eq!(s.user.as_ref().unwrap().title.as_deref(), Some("alice"));
            let (told, shown) = (n.view_offset.unwrap(), s.view_offset.unwrap());
            if state == "playing" {
                assert!((told..told + 5_000).contains(&shown), "{told} then {shown}");
            } else {
                assert_eq!(told, shown, "{state}: the offset stands still");
            }
        };
        check(&next_playing(&rx), "playing", &w.ep1);
        p.pause();
        let paused = next_playing(&rx);
        check(&paused, "paused", &w.ep1);
        p.seek(600_000);
        let sought = next_playing(&rx);
        assert_eq!(sought.view_offset, Some(600_000), "a seek while paused");
        check(&sought, "paused", &w.ep1);
        p.resume();
        check(&next_playing(&rx), "playing", &w.ep1);
        p.buffering();
        check(&next_playing(&rx), "buffering", &w.ep1);
        p.resume();
        check(&next_playing(&rx), "playing", &w.ep1);
        // Autoplay: the same session, the next episode, from the start, no stop between.
        p.next(&w.ep2);
        let next = next_playing(&rx);
        assert!(next.view_offset.unwrap() < 5_000);
        check(&next, "playing", &w.ep2);
        p.stop();
        check(&next_playing(&rx), "stopped", &w.ep2);
        listener.stop();
    }
}

#[test]
fn offsets_advance_with_the_clock_and_reports_repeat_at_the_cadence() {
    let w = world(Some(Duration::from_millis(100)));
    let (listener, rx) = alerts(&w.mock, Transport::WebSocket);
    let started = Instant::now();
    let p = w.mock.play(&w.alice, &w.ep1, &w.tv);
    let mut offsets = Vec::new();
    while offsets.len() < 4 {
        let n = next_playing(&rx);
        assert_eq!(n.state.as_str(), "playing");
        offsets.push(n.view_offset.unwrap());
    }
    let elapsed = started.elapsed().as_millis() as i64;
    assert!(offsets.windows(2).all(|w| w[0] < w[1]), "{offsets:?}");
    assert!(
        *offsets.last().unwrap() <= elapsed + 50,
        "no faster than the clock: {offsets:?}"
    );
    // A paused session keeps reporting, with its offset standing still.
    p.pause();
    let paused: Vec<_> = (0..3).map(|_| next_playing(&rx)).collect();
    assert!(paused.iter().all(|n| n.state.as_str() == "paused"));
    assert!(
        paused
            .windows(2)
            .all(|w| w[0].view_offset == w[1].view_offset)
    );
    listener.stop();
}

#[test]
fn quirk_a_session_not_yet_visible_a_client_without_a_session_key() {
    let w = world(None);
    let (listener, rx) = alerts(&w.mock, Transport::WebSocket);
    let hidden = w.mock.playback(&w.alice, &w.ep1, &w.tv).hidden().start();
    assert!(next_playing(&rx).session_key.is_some());
    assert!(w.plex.sessions().unwrap().is_empty(), "not visible yet");
    hidden.reveal();
    assert_eq!(w.plex.sessions().unwrap().len(), 1);

    let bob = w.mock.add_user("bob");
    let kodi = w.mock.add_player("Kodi");
    let keyless = w
        .mock
        .playback(&bob, &w.ep2, &kodi)
        .without_session_key()
        .start();
    let n = next_playing(&rx);
    assert_eq!(n.session_key, None, "the client sends none");
    assert_eq!(
        n.client_identifier.as_deref(),
        Some(kodi.machine_identifier())
    );
    let listed = w.plex.sessions().unwrap();
    assert!(
        listed
            .iter()
            .any(|s| s.session_key == keyless.session_key())
    );
    listener.stop();
}

#[test]
fn quirk_stops_never_sent_sent_without_keys_and_lingering() {
    let w = world(None);
    let (listener, rx) = alerts(&w.mock, Transport::EventSource);
    // A stop that is never sent: no notification, and the session is gone.
    let p = w.mock.play(&w.alice, &w.ep1, &w.tv);
    next_playing(&rx);
    p.vanish();
    assert!(w.plex.sessions().unwrap().is_empty());
    // Anything sent before this marker would arrive before it: no stopped did.
    w.mock.send(&numbered_frame(77));
    assert_eq!(seq_of(&next_alert(&rx)), 77, "no stopped");
    // A stopped with empty key and ratingKey.
    let p = w.mock.play(&w.alice, &w.ep1, &w.tv);
    let key = next_playing(&rx).session_key;
    p.stop_with_empty_keys();
    let stopped = next_playing(&rx);
    assert_eq!(stopped.state, PlaybackState::Stopped);
    assert_eq!(stopped.session_key, key);
    assert_eq!(
        (stopped.key.as_deref(), stopped.rating_key.as_deref()),
        (Some(""), Some(""))
    );
    // A session that lingers in /status/sessions after its stop.
    let p = w.mock.play(&w.alice, &w.ep2, &w.tv);
    next_playing(&rx);
    p.stop_lingering();
    assert_eq!(next_playing(&rx).state, PlaybackState::Stopped);
    assert_eq!(w.plex.sessions().unwrap().len(), 1, "still listed");
    p.forget();
    assert!(w.plex.sessions().unwrap().is_empty());
    listener.stop();
}

#[test]
fn quirk_a_restart_forgets_sessions_and_starts_keys_again_from_one() {
    let w = world(None);
    let (listener, rx) = alerts(&w.mock, Transport::WebSocket);
    let first = w.mock.play(&w.alice, &w.ep1, &w.tv);
    let second = w.mock.play(&w.alice, &w.ep2, &w.tv);
    assert_eq!(first.session_key().as_deref(), Some("1"));
    assert_eq!(second.session_key().as_deref(), Some("2"));
    // Usable from another thread.
    let mock = Arc::new(w.mock);
    std::thread::spawn({
        let mock = Arc::clone(&mock);
        move || mock.restart().unwrap()
    })
    .join()
    .unwrap();
    assert!(w.plex.sessions().unwrap().is_empty(), "no session survives");
    assert!(first.session_key().is_none(), "the old playback is gone");
    first.pause(); // does nothing
    wait_state(&rx, |s| {
        matches!(s, plex_alerts::ConnectionState::Connected { .. })
    });
    let bob = mock.add_user("bob");
    let again = mock.play(&bob, &w.ep1, &w.tv);
    assert_eq!(again.session_key().as_deref(), Some("1"), "keys start over");
    let listed = w.plex.sessions().unwrap();
    assert_eq!(
        listed[0].user.as_ref().unwrap().title.as_deref(),
        Some("bob")
    );
    listener.stop();
}

#[test]
fn quirk_live_tv_changes_programme_without_a_stop_and_prerolls_are_sessions_of_their_own() {
    let w = world(None);
    let (listener, rx) = alerts(&w.mock, Transport::WebSocket);
    let live = w.mock.play_live(&w.alice, &w.tv, "Evening News");
    let first = next_playing(&rx);
    assert!(
        first
            .key
            .as_deref()
            .unwrap()
            .starts_with("/livetv/sessions/")
    );
    assert!(
        first
            .rating_key
            .as_deref()
            .unwrap()
            .starts_with("com.gracenote")
    );
    live.next_programme("Weather");
    let next = next_playing(&rx);
    assert_eq!(next.session_key, first.session_key);
    assert_eq!(next.key, first.key, "the same live session");
    assert_ne!(next.rating_key, first.rating_key, "another programme");
    assert_eq!(next.state, PlaybackState::Playing);
    assert_eq!(
        w.plex.sessions().unwrap()[0].title.as_deref(),
        Some("Weather")
    );
    live.stop();
    next_playing(&rx);

    let preroll = w.mock.play_preroll(&w.alice, &w.tv);
    let n = next_playing(&rx);
    preroll.stop();
    next_playing(&rx);
    let feature = w.mock.play(&w.alice, &w.ep1, &w.tv);
    let f = next_playing(&rx);
    assert_ne!(n.session_key, f.session_key, "its own session");
    assert_eq!(f.session_key, feature.session_key());
    listener.stop();
}

#[test]
fn quirk_a_timeline_flood_of_one_item_and_a_transcode_appearing_mid_play() {
    let w = world(None);
    let (listener, rx) = alerts(&w.mock, Transport::EventSource);
    w.mock.flood_timeline(&w.ep1, 50);
    for _ in 0..50 {
        let alert = next_alert(&rx);
        let Notification::Timeline(t) = alert.notification() else {
            panic!("{alert:?}")
        };
        assert_eq!(t[0].item_id, Some(w.ep1.rating_key()));
        assert_eq!(t[0].state, Some(5));
    }
    let p = w.mock.play(&w.alice, &w.ep1, &w.tv);
    assert!(next_playing(&rx).transcode_session.is_none());
    p.start_transcode();
    assert_eq!(next_alert(&rx).kind(), "transcodeSession.start");
    p.progress();
    assert!(next_playing(&rx).transcode_session.is_some());
    assert!(w.plex.sessions().unwrap()[0].transcode.is_some());
    listener.stop();
}

#[test]
fn a_scan_announces_items_as_a_server_does_while_activities_agree() {
    let w = world(None);
    let (listener, rx) = alerts(&w.mock, Transport::WebSocket);
    let mut scan = w.mock.scan("Movies");
    let movie = scan.add_movie("Arrival", 6_960_000);
    let gone = scan.add_movie("Mistake", 1_000);
    scan.delete(&gone);
    scan.finish();
    let mut seen = Vec::new();
    loop {
        let alert = next_alert(&rx);
        match alert.notification() {
            Notification::Activity(a) => {
                seen.push(format!("activity {}", a[0].event.as_deref().unwrap()))
            }
            Notification::Timeline(t) => seen.push(format!(
                "{} {} {}",
                t[0].item_id.as_deref().unwrap(),
                t[0].state.unwrap(),
                t[0].metadata_state.as_deref().unwrap_or("-")
            )),
            Notification::Status(_) => break,
            other => panic!("{other:?}"),
        }
    }
    let (m, g) = (movie.rating_key(), gone.rating_key());
    let expected: Vec<String> = [
        "activity started".to_owned(),
        format!("{m} 0 created"),
        format!("{g} 0 created"),
        format!("{g} 9 deleted"),
        format!("{m} 1 -"),
        format!("{m} 2 -"),
        format!("{m} 3 loading"),
        format!("{m} 4 processing"),
        format!("{m} 5 -"),
        // The movie's media analysis, then the scan's end.
        "activity started".to_owned(),
        "activity ended".to_owned(),
        "activity ended".to_owned(),
    ]
    .into();
    assert_eq!(seen, expected);
    assert_eq!(
        w.plex.metadata(&m).unwrap().unwrap().title.as_deref(),
        Some("Arrival")
    );
    assert!(w.plex.metadata(&g).unwrap().is_none());
    listener.stop();
}

#[test]
fn send_says_when_nobody_listens_and_flush_waits_until_everything_was_read() {
    let w = world(None);
    assert_eq!(w.mock.send(&numbered_frame(1)), 0, "no client");
    for transport in BOTH {
        let (listener, rx) = alerts(&w.mock, transport);
        for seq in 0..200 {
            assert_eq!(w.mock.send(&numbered_frame(seq)), 1);
        }
        assert!(w.mock.flush(HANG_GUARD), "{transport:?}");
        if transport == Transport::WebSocket {
            // The Pong came after every alert: all are on the channel already.
            let got = rx
                .try_iter()
                .filter(|e| matches!(e, Event::Alert(_)))
                .count();
            assert_eq!(got, 200);
        }
        listener.stop();
    }
}

#[test]
fn frames_are_made_from_the_typed_views() {
    let mut s = PlaySessionState::default();
    s.session_key = Some("7".into());
    s.state = plex_alerts::PlaybackState::Paused;
    s.view_offset = Some(1234);
    let frame = mock::frame(&Notification::Playing(vec![s.clone()]));
    let w = world(None);
    let (listener, rx) = alerts(&w.mock, Transport::WebSocket);
    assert_eq!(w.mock.send(&frame), 1);
    assert_eq!(next_playing(&rx), s);
    listener.stop();
}
