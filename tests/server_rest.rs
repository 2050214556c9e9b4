//! PlexServer's REST calls, typed, against the mock's small Plex: sessions (with users,
//! players, Live TV, prerolls, transcodes), metadata, activities and identity; a token
//! that may not see sessions; a server that is down; an answer with unexpected types in
//! every field.

use std::io::{Read, Write};
use std::net::TcpListener;

use plex_alerts::mock::{MockItem, MockServer};
use plex_alerts::{Error, MediaType, PlexServer};

struct Plex {
    mock: MockServer,
    episode: MockItem,
    movie: MockItem,
}

/// A server with a show (one season, two episodes) and a movie.
fn plex() -> Plex {
    let mock = MockServer::builder()
        .progress_interval(None)
        .start()
        .unwrap();
    let lib = mock.library();
    let movie = lib.add_movie("Movies", "The Matrix", 8_160_000);
    let show = lib.add_show("TV Shows", "Severance");
    let season = lib.add_season(&show, 1);
    let episode = lib.add_episode(&season, 1, "Good News About Hell", 3_420_000);
    lib.add_episode(&season, 2, "Half Loop", 3_300_000);
    Plex {
        mock,
        episode,
        movie,
    }
}

fn connect(mock: &MockServer) -> PlexServer {
    PlexServer::connect(mock.url(), mock.token()).unwrap()
}

#[test]
fn sessions_say_who_watches_what_on_which_player() {
    let p = plex();
    let (alice, bob) = (p.mock.add_user("alice"), p.mock.add_user("bob"));
    let (tv, phone) = (
        p.mock.add_player("Living Room TV"),
        p.mock.add_player("Pixel"),
    );
    let plex = connect(&p.mock);
    assert!(plex.sessions().unwrap().is_empty());

    let a = p.mock.play(&alice, &p.episode, &tv);
    let b = p.mock.playback(&bob, &p.movie, &phone).at(60_000).start();
    b.start_transcode();
    let sessions = plex.sessions().unwrap();
    assert_eq!(sessions.len(), 2);
    let s = sessions
        .iter()
        .find(|s| s.session_key == a.session_key())
        .unwrap();
    assert_eq!(
        s.rating_key.as_deref(),
        Some(p.episode.rating_key().as_str())
    );
    assert_eq!(
        s.key.as_deref(),
        Some(format!("/library/metadata/{}", p.episode.rating_key()).as_str())
    );
    assert_eq!(s.media_type, Some(MediaType::Episode));
    assert_eq!(s.title.as_deref(), Some("Good News About Hell"));
    assert_eq!(s.grandparent_title.as_deref(), Some("Severance"));
    assert_eq!(s.parent_title.as_deref(), Some("Season 1"));
    assert_eq!((s.index, s.parent_index), (Some(1), Some(1)));
    assert_eq!(s.duration, Some(3_420_000));
    assert!(s.view_offset.is_some_and(|o| (0..60_000).contains(&o)));
    assert!(s.library_section_id.is_some());
    assert!(!s.is_live() && !s.is_preroll());
    let user = s.user.as_ref().unwrap();
    assert_eq!(
        (user.id.clone(), user.title.as_deref()),
        (Some(alice.id()), Some("alice"))
    );
    let player = s.player.as_ref().unwrap();
    assert_eq!(
        player.machine_identifier.as_deref(),
        Some(tv.machine_identifier())
    );
    assert_eq!(player.title.as_deref(), Some("Living Room TV"));
    assert_eq!(player.state, plex_alerts::PlaybackState::Playing);
    assert_eq!(player.local, Some(true), "a JSON true");
    assert!(player.product.is_some() && player.platform.is_some() && player.address.is_some());
    let info = s.session.as_ref().unwrap();
    assert!(info.id.is_some() && info.bandwidth.is_some());
    assert_eq!(info.location.as_deref(), Some("lan"));
    assert!(s.transcode.is_none());
    assert_eq!(s.raw()["User"]["title"], "alice", "raw JSON kept");

    let m = sessions
        .iter()
        .find(|s| s.session_key == b.session_key())
        .unwrap();
    assert_eq!(m.media_type, Some(MediaType::Movie));
    assert!(m.view_offset.is_some_and(|o| o >= 60_000));
    let t = m.transcode.as_ref().expect("a transcode started mid-play");
    assert!(
        t.key
            .as_deref()
            .is_some_and(|k| k.starts_with("/transcode/sessions/"))
    );
    assert_eq!(t.video_decision.as_deref(), Some("transcode"));
}

#[test]
fn live_tv_and_prerolls_decode_as_what_they_are() {
    let p = plex();
    let (alice, tv) = (p.mock.add_user("alice"), p.mock.add_player("TV"));
    let live = p.mock.play_live(&alice, &tv, "Evening News");
    live.start_transcode();
    let preroll = p.mock.play_preroll(&alice, &tv);
    let plex = connect(&p.mock);
    let sessions = plex.sessions().unwrap();
    let l = sessions
        .iter()
        .find(|s| s.session_key == live.session_key())
        .unwrap();
    assert!(l.is_live());
    assert_eq!(l.live, Some(true), "sent as \"1\"");
    assert!(l.rating_key.is_none(), "no rating key for Live TV");
    assert!(l.key.as_deref().unwrap().starts_with("/livetv/sessions/"));
    assert_eq!(l.title.as_deref(), Some("Evening News"));
    assert!(l.transcode.is_some(), "read from under Media");
    let pr = sessions
        .iter()
        .find(|s| s.session_key == preroll.session_key())
        .unwrap();
    assert!(pr.is_preroll());
    assert_eq!(pr.media_type, Some(MediaType::Clip));
    assert_eq!(pr.library_section_id.as_deref(), Some("-2"));
}

#[test]
fn metadata_has_the_item_its_parents_and_ids_or_none() {
    let p = plex();
    let plex = connect(&p.mock);
    let m = plex.metadata(&p.episode.rating_key()).unwrap().unwrap();
    assert_eq!(m.rating_key, Some(p.episode.rating_key()));
    assert_eq!(m.media_type, Some(MediaType::Episode));
    assert_eq!(m.title.as_deref(), Some("Good News About Hell"));
    assert_eq!(m.grandparent_title.as_deref(), Some("Severance"));
    assert_eq!(m.parent_title.as_deref(), Some("Season 1"));
    assert!(m.grandparent_rating_key.is_some() && m.parent_rating_key.is_some());
    assert!(m.grandparent_key.is_some() && m.parent_key.is_some());
    assert_eq!(m.duration, Some(3_420_000));
    assert!(m.guid.is_some());
    assert!(
        m.guids.iter().any(|g| g.starts_with("tmdb://")),
        "{:?}",
        m.guids
    );
    assert_eq!(m.library_section_title.as_deref(), Some("TV Shows"));
    assert!(m.added_at.is_some());
    assert!(plex.metadata("999999").unwrap().is_none(), "no such item");
    assert!(plex.metadata("").unwrap().is_none());
    let live_key = "com.gracenote.onconnect://episode/EP019919100088";
    assert!(
        plex.metadata(live_key).unwrap().is_none(),
        "not a library key"
    );
}

#[test]
fn recently_added_lists_the_newest_first_episodes_by_their_season() {
    let p = plex();
    let plex = connect(&p.mock);
    // As a real server: the season stands for its new episodes, a movie for itself.
    let newest = plex.recently_added(1).unwrap();
    assert_eq!(newest.len(), 1);
    assert_eq!(newest[0].media_type, Some(MediaType::Season));
    assert_eq!(newest[0].title.as_deref(), Some("Season 1"));
    let asked = p.mock.requests();
    let asked = asked
        .iter()
        .rfind(|r| r.path == "/library/recentlyAdded")
        .unwrap();
    assert_eq!(asked.query("X-Plex-Container-Size"), Some("1"));
    let all = plex.recently_added(100).unwrap();
    let titles: Vec<_> = all.iter().map(|m| m.title.clone().unwrap()).collect();
    assert_eq!(titles, ["Season 1", "The Matrix"]);
    // Its children are the episodes, in order.
    let season = newest[0].rating_key.as_deref().unwrap();
    let episodes: Vec<_> = plex
        .children(season)
        .unwrap()
        .into_iter()
        .map(|m| (m.index, m.title.unwrap()))
        .collect();
    assert_eq!(
        episodes,
        [
            (Some(1), "Good News About Hell".to_owned()),
            (Some(2), "Half Loop".to_owned())
        ]
    );
    assert!(plex.children("999999").unwrap().is_empty(), "no such item");
    assert!(plex.children(&p.movie.rating_key()).unwrap().is_empty());
}

#[test]
fn activities_agree_with_a_running_scan() {
    let p = plex();
    let plex = connect(&p.mock);
    assert!(plex.activities().unwrap().is_empty());
    let mut scan = p.mock.scan("Movies");
    scan.add_movie("Arrival", 6_960_000);
    scan.progress(40);
    let running = plex.activities().unwrap();
    assert_eq!(running.len(), 1);
    assert_eq!(running[0].uuid.as_deref(), Some(scan.uuid()));
    assert_eq!(
        running[0].activity_type.as_deref(),
        Some("library.update.section")
    );
    assert_eq!(running[0].progress, Some(40.0));
    scan.finish();
    assert!(plex.activities().unwrap().is_empty());
}

#[test]
fn identity_is_read_afresh_and_only_an_update_changes_it() {
    let p = plex();
    let plex = connect(&p.mock);
    let first = plex.identity().unwrap();
    assert_eq!(
        first.machine_identifier.as_deref(),
        Some(plex.machine_identifier())
    );
    assert_eq!(first.version.as_deref(), Some(plex.version()));
    p.mock.restart().unwrap();
    assert_eq!(
        plex.identity().unwrap(),
        first,
        "a plain restart looks the same"
    );
    p.mock.update_and_restart().unwrap();
    let updated = plex.identity().unwrap();
    assert_eq!(updated.machine_identifier, first.machine_identifier);
    assert_ne!(updated.version, first.version);
    assert_eq!(plex.version(), first.version.unwrap(), "what connect read");
}

#[test]
fn a_token_that_may_not_see_sessions_is_forbidden_not_unauthorized() {
    for status in [401, 403] {
        let mock = MockServer::builder()
            .forbidden_status(status)
            .start()
            .unwrap();
        let user = mock.add_user("guest");
        let plex = PlexServer::connect(mock.url(), user.token()).unwrap();
        let e = plex.sessions().unwrap_err();
        assert!(
            matches!(&e, Error::Forbidden { status: s, path } if *s == status && path == "/status/sessions"),
            "{status}: {e:?}"
        );
        assert!(!e.is_retryable());
        assert!(!e.to_string().contains(user.token()));
        // The same token still sees what it may.
        assert!(plex.activities().is_ok());
    }
    // A wrong token is another thing: Unauthorized, at once.
    let mock = MockServer::start();
    assert!(matches!(
        PlexServer::connect(mock.url(), "wrong"),
        Err(Error::Unauthorized { status: 401 })
    ));
}

#[test]
fn a_server_that_is_down_is_a_connect_error() {
    let p = plex();
    let plex = connect(&p.mock);
    p.mock.stop_listening();
    for e in [
        plex.sessions().unwrap_err(),
        plex.activities().unwrap_err(),
        plex.metadata("1").unwrap_err(),
        plex.identity().unwrap_err(),
    ] {
        assert!(matches!(e, Error::Connect { .. }), "{e:?}");
        assert!(e.is_retryable());
    }
}

/// Serves fixed answers by path, over plain HTTP, for as many requests as come.
fn fixed_server(answers: &'static [(&'static str, &'static str)]) -> String {
    let raw = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", raw.local_addr().unwrap());
    std::thread::spawn(move || {
        for conn in raw.incoming().take(16) {
            let Ok(mut conn) = conn else { return };
            let mut request = Vec::new();
            let mut buf = [0u8; 2048];
            while !request.ends_with(b"\r\n\r\n") {
                match conn.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let request = String::from_utf8_lossy(&request);
            let path = request
                .split(' ')
                .nth(1)
                .unwrap_or("")
                .split('?')
                .next()
                .unwrap_or("");
            let body = answers
                .iter()
                .find(|(p, _)| *p == path)
                .map_or("{}", |(_, b)| b);
            let _ = write!(
                conn,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

#[test]
fn unexpected_types_in_every_field_read_as_absent_and_stay_in_raw() {
    const ROOT: &str =
        r#"{"MediaContainer":{"friendlyName":"odd","machineIdentifier":"x","version":"1"}}"#;
    const SESSIONS: &str = r#"{"MediaContainer":{"size":1,"Metadata":[{
        "sessionKey":{"a":1},"ratingKey":[1],"key":true,"guid":null,"type":{"t":1},
        "title":["x"],"grandparentTitle":{},"parentTitle":[],"index":"one","parentIndex":{},
        "duration":"long","viewOffset":[5],"librarySectionID":{},"live":"maybe",
        "User":"alice","Player":[{"title":"tv"}],"Session":7,"TranscodeSession":"yes",
        "extra":{"kept":true}}]}}"#;
    const METADATA: &str = r#"{"MediaContainer":{"size":1,"Metadata":[{
        "ratingKey":"5","title":{"x":1},"duration":"soon","Guid":"imdb","addedAt":[1]}]}}"#;
    let url = fixed_server(&[
        ("/", ROOT),
        ("/status/sessions", SESSIONS),
        ("/library/metadata/5", METADATA),
    ]);
    let plex = PlexServer::connect(&url, "t").unwrap();
    let sessions = plex.sessions().unwrap();
    assert_eq!(sessions.len(), 1);
    let s = &sessions[0];
    assert!(s.session_key.is_none() && s.rating_key.is_none() && s.media_type.is_none());
    assert!(s.title.is_none() && s.index.is_none() && s.duration.is_none());
    assert!(s.view_offset.is_none() && s.live.is_none());
    assert!(s.user.is_none() && s.player.is_none() && s.session.is_none());
    assert!(s.transcode.is_none());
    assert_eq!(
        s.key.as_deref(),
        Some("true"),
        "a boolean read as text, as notifications do"
    );
    assert_eq!(s.raw()["extra"]["kept"], true);
    assert_eq!(s.raw()["User"], "alice");
    let m = plex.metadata("5").unwrap().unwrap();
    assert_eq!(m.rating_key.as_deref(), Some("5"));
    assert!(m.title.is_none() && m.duration.is_none() && m.added_at.is_none());
    assert!(m.guids.is_empty());
}
