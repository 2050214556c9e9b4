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
        // The server notices the closed connection on its own thread: until then, the
        // next transport's sends would count it too.
        assert!(w.mock.wait_for_no_clients(HANG_GUARD));
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

#[test]
fn scrobble_and_unscrobble_change_the_view_count_of_the_tokens_own_account() {
    let w = world(None);
    let ep1 = w.ep1.rating_key();
    let alice_plex = PlexServer::connect(w.mock.url(), w.alice.token()).unwrap();
    let view_count =
        |plex: &PlexServer| plex.metadata(&ep1).unwrap().unwrap().raw()["viewCount"].clone();
    assert_eq!(
        view_count(&w.plex),
        serde_json::Value::Null,
        "never watched"
    );

    w.plex.mark_watched(&ep1).unwrap();
    assert_eq!(w.mock.view_count(&w.ep1, None), 1, "the owner's");
    assert_eq!(w.mock.view_count(&w.ep1, Some(&w.alice)), 0, "not alice's");
    assert_eq!(view_count(&w.plex), 1);
    let item = w.plex.metadata(&ep1).unwrap().unwrap();
    assert!(item.raw()["lastViewedAt"].as_i64().unwrap() > 1_600_000_000);
    assert_eq!(
        view_count(&alice_plex),
        serde_json::Value::Null,
        "alice's own"
    );

    alice_plex.mark_watched(&ep1).unwrap();
    w.plex.mark_watched(&ep1).unwrap();
    assert_eq!(w.mock.view_count(&w.ep1, None), 2, "each scrobble counts");
    assert_eq!(w.mock.view_count(&w.ep1, Some(&w.alice)), 1);
    assert_eq!(view_count(&alice_plex), 1);

    w.plex.mark_unwatched(&ep1).unwrap();
    assert_eq!(w.mock.view_count(&w.ep1, None), 0);
    assert_eq!(view_count(&w.plex), serde_json::Value::Null);
    assert_eq!(
        w.mock.view_count(&w.ep1, Some(&w.alice)),
        1,
        "alice's stays"
    );

    // A season marks its episodes.
    let season = w
        .plex
        .metadata(&ep1)
        .unwrap()
        .unwrap()
        .parent_rating_key
        .unwrap();
    w.plex.mark_watched(&season).unwrap();
    assert_eq!(w.mock.view_count(&w.ep1, None), 1);
    assert_eq!(w.mock.view_count(&w.ep2, None), 1);

    // What a real server answers to a key it does not have, a request without the
    // library's identifier, and no token.
    match w.plex.mark_watched("424242") {
        Err(plex_alerts::Error::HttpStatus { status: 404, .. }) => {}
        other => panic!("{other:?}"),
    }
    match w.plex.get_json(&format!("/:/scrobble?key={ep1}")) {
        Err(plex_alerts::Error::HttpStatus { status: 400, .. }) => {}
        other => panic!("{other:?}"),
    }
    assert!(PlexServer::connect(w.mock.url(), "not-a-token").is_err());
    assert_eq!(w.mock.view_count(&w.ep1, None), 1, "none of those counted");
}

#[test]
fn terminate_ends_a_session_as_a_stop_and_keeps_the_reason() {
    let w = world(None);
    let (listener, rx) = alerts(&w.mock, Transport::WebSocket);
    let p = w.mock.play(&w.alice, &w.ep1, &w.tv);
    let key = next_playing(&rx).session_key;
    let listed = w.plex.sessions().unwrap();
    let play_id = listed[0].session.as_ref().unwrap().id.clone().unwrap();
    assert_eq!(play_id, p.play_id(), "Session.id is the play id");

    // Another user's token may not; nor an unknown session.
    let alice_plex = PlexServer::connect(w.mock.url(), w.alice.token()).unwrap();
    let refused = alice_plex.terminate_session(&play_id, "no").unwrap_err();
    assert!(
        matches!(refused, plex_alerts::Error::Forbidden { status: 401, .. }),
        "{refused:?}"
    );
    assert!(
        refused.to_string().contains("refused to end the session"),
        "{refused}"
    );
    match w.plex.terminate_session("mock-session-1", "no") {
        Err(plex_alerts::Error::HttpStatus { status: 404, .. }) => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(w.plex.sessions().unwrap().len(), 1, "still playing");

    let reason = "Closing time: 5 & 10 % off?";
    w.plex.terminate_session(&play_id, reason).unwrap();
    let stopped = next_playing(&rx);
    assert_eq!(stopped.state, PlaybackState::Stopped);
    assert_eq!(stopped.session_key, key);
    assert!(
        w.plex.sessions().unwrap().is_empty(),
        "gone from the listing"
    );
    assert_eq!(p.termination_reason().as_deref(), Some(reason));
    p.pause(); // the playback is over: nothing happens
    assert!(w.plex.sessions().unwrap().is_empty());
    listener.stop();

    // Without Plex Pass, the owner is refused too, with 403.
    let mock = MockServer::builder().plex_pass(false).start().unwrap();
    let movie = mock.library().add_movie("Movies", "Arrival", 6_960_000);
    let p = mock.play(&mock.add_user("bob"), &movie, &mock.add_player("TV"));
    let plex = PlexServer::connect(mock.url(), mock.token()).unwrap();
    let refused = plex.terminate_session(&p.play_id(), "no").unwrap_err();
    assert!(
        matches!(refused, plex_alerts::Error::Forbidden { status: 403, .. }),
        "{refused:?}"
    );
    assert_eq!(plex.sessions().unwrap().len(), 1);
    assert_eq!(p.termination_reason(), None);
}

#[test]
fn items_have_a_summary_a_thumb_a_year_and_a_content_rating() {
    let w = world(None);
    let key = w.ep1.rating_key();
    let item = w.plex.metadata(&key).unwrap().unwrap();
    assert!(
        item.summary
            .as_deref()
            .unwrap()
            .starts_with("Good News About Hell")
    );
    let thumb = item.thumb.unwrap();
    let updated = item.updated_at.unwrap();
    assert_eq!(thumb, format!("/library/metadata/{key}/thumb/{updated}"));
    assert!((2000..2025).contains(&item.year.unwrap()));
    assert_eq!(item.content_rating.as_deref(), Some("TV-14"));
    let movie = w.mock.library().add_movie("Movies", "Arrival", 6_960_000);
    let movie = w.plex.metadata(&movie.rating_key()).unwrap().unwrap();
    assert_eq!(movie.content_rating.as_deref(), Some("PG-13"));
    // The same in a session's item.
    let _p = w.mock.play(&w.alice, &w.ep1, &w.tv);
    let s = &w.plex.sessions().unwrap()[0];
    assert_eq!(s.thumb.as_deref(), Some(thumb.as_str()));
    assert_eq!(s.year, item.year);
}

#[test]
fn a_players_product_platform_and_network_show_in_the_sessions() {
    let w = world(None);
    let phone = w.mock.add_player("Pixel");
    let _home = w.mock.play(&w.alice, &w.ep1, &w.tv);
    let _away = w.mock.play(&w.alice, &w.ep2, &phone);
    w.mock
        .set_player_product(&phone, "Plex for Android (Mobile)", "Android");
    w.mock.set_player_local(&phone, false);
    let sessions = w.plex.sessions().unwrap();
    let (home, away) = (&sessions[0], &sessions[1]);
    let player = home.player.as_ref().unwrap();
    assert_eq!(player.product.as_deref(), Some("Plex for Android (TV)"));
    assert_eq!(player.local, Some(true));
    assert_eq!(home.raw()["Player"]["local"], serde_json::json!(true));
    assert_eq!(
        home.session.as_ref().unwrap().location.as_deref(),
        Some("lan")
    );
    let player = away.player.as_ref().unwrap();
    assert_eq!(player.title.as_deref(), Some("Pixel"));
    assert_eq!(player.product.as_deref(), Some("Plex for Android (Mobile)"));
    assert_eq!(player.platform.as_deref(), Some("Android"));
    assert_eq!(player.local, Some(false));
    assert_eq!(
        away.raw()["Player"]["local"],
        serde_json::json!(false),
        "a JSON bool"
    );
    let address = player.address.clone().unwrap();
    assert!(!address.starts_with("10."), "a public address: {address}");
    assert_eq!(
        away.raw()["Player"]["remotePublicAddress"],
        serde_json::json!(address)
    );
    assert_eq!(
        away.session.as_ref().unwrap().location.as_deref(),
        Some("wan")
    );
}

#[test]
fn a_scan_brings_a_new_show_its_season_and_episodes_as_a_server_does() {
    let w = world(None);
    let (tx, events) = crossbeam_channel::unbounded();
    let mut listener = w
        .plex
        .alert_listener()
        .handler(move |e: Event| drop(tx.send(e)));
    let (lib_tx, library) = crossbeam_channel::unbounded();
    let _tracker = w
        .plex
        .library_tracker()
        .group_within(Duration::from_millis(300))
        .handler(lib_tx)
        .attach(&mut listener);
    let listener = start_synced(&w.mock, &["/library/recentlyAdded"], listener);

    let mut scan = w.mock.scan("TV Shows");
    let show = scan.add_show("The Bear");
    let season = scan.add_season(&show, 1);
    let eps: Vec<_> = ["System", "Hands", "Brigade"]
        .iter()
        .zip(1..)
        .map(|(title, i)| scan.add_episode(&season, i, title, 1_800_000))
        .collect();
    scan.finish();
    // The timeline: each created in the order found, with its type; then processed.
    let mut created = Vec::new();
    let mut processed = Vec::new();
    while processed.len() < 5 {
        let alert = next_alert(&events);
        let Notification::Timeline(t) = alert.notification() else {
            continue;
        };
        let e = &t[0];
        let seen = (e.item_id.clone().unwrap(), e.item_type().unwrap());
        match e.state {
            Some(0) => created.push(seen),
            Some(5) => processed.push(seen),
            _ => {}
        }
    }
    let expected: Vec<_> = [
        (&show, 2),
        (&season, 3),
        (&eps[0], 4),
        (&eps[1], 4),
        (&eps[2], 4),
    ]
    .iter()
    .map(|(item, code)| (item.rating_key(), plex_alerts::MediaType::from_code(*code)))
    .collect();
    assert_eq!(created, expected);
    assert_eq!(processed, expected);

    let item = w.plex.metadata(&eps[2].rating_key()).unwrap().unwrap();
    assert_eq!(item.grandparent_title.as_deref(), Some("The Bear"));
    assert_eq!(item.grandparent_rating_key, Some(show.rating_key()));
    assert_eq!((item.parent_index, item.index), (Some(1), Some(3)));
    let seasons = w.plex.children(&show.rating_key()).unwrap();
    assert_eq!(seasons[0].title.as_deref(), Some("Season 1"));

    // What a notifier hears: the show and the season, then its episodes as one group.
    let mut heard = Vec::new();
    while heard.len() < 3 {
        match library
            .recv_timeout(HANG_GUARD)
            .expect("the library's events")
        {
            plex_alerts::LibraryEvent::ItemAdded(i) => heard.push(i.to_string()),
            plex_alerts::LibraryEvent::ItemsAdded { group, items } => heard.push(format!(
                "{} items of {group}: {:?}",
                items.len(),
                items.iter().map(|i| i.index.unwrap()).collect::<Vec<_>>()
            )),
            _ => {}
        }
    }
    assert_eq!(
        heard,
        [
            "The Bear (show) in TV Shows",
            "Season 1 (season) in TV Shows",
            "3 items of show The Bear: [1, 2, 3]",
        ]
    );
    listener.stop();
}

#[test]
fn a_path_the_server_does_not_serve_is_a_404_that_says_so() {
    let w = world(None);
    let error = w.plex.get_json("/no/such/thing").unwrap_err();
    assert!(
        matches!(error, plex_alerts::Error::HttpStatus { status: 404, .. }),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "the server does not serve /no/such/thing (HTTP 404)"
    );
    // Counted once written, which may be after the client has read it.
    assert!(
        w.mock
            .wait_until(HANG_GUARD, |m| m.answered("/no/such/thing") == 1)
    );
}
