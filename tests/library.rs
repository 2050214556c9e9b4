//! The library tracker against the mock's small Plex: each item added, updated or deleted
//! reported once, scans and activities from start to end, with a bounded state.

mod common;

use std::time::Duration;

use common::*;
use crossbeam_channel::Receiver;
use plex_alerts::mock::{MockItem, MockServer};
use plex_alerts::{
    Error, LibraryEvent, LibraryStats, LibraryTracker, LibraryTrackerBuilder, MediaType,
    Notification, PlexServer, SessionEvent, TimelineEntry, Transport,
};

struct Env {
    mock: MockServer,
    plex: PlexServer,
    season: MockItem,
    album: MockItem,
}

fn env() -> Env {
    let mock = MockServer::builder()
        .progress_interval(None)
        .start()
        .unwrap();
    let lib = mock.library();
    let show = lib.add_show("TV Shows", "Severance");
    let season = lib.add_season(&show, 2);
    let artist = lib.add_artist("Music", "Daft Punk");
    let album = lib.add_album(&artist, "Discovery");
    lib.add_movie("Movies", "Arrival", 6_960_000);
    let plex = PlexServer::connect(mock.url(), mock.token()).unwrap();
    Env {
        mock,
        plex,
        season,
        album,
    }
}

impl On<LibraryTracker> {
    fn library_stats(&self) -> LibraryStats {
        self.tracker.stats()
    }
}

/// Starts a tracker made by `configure` and waits for its first sync: activities, and
/// what the library holds.
fn tracker_with(
    env: &Env,
    transport: Transport,
    configure: impl FnOnce(LibraryTrackerBuilder) -> LibraryTrackerBuilder,
) -> (On<LibraryTracker>, Receiver<LibraryEvent>) {
    let attach = |tx, listener: &mut _| {
        configure(env.plex.library_tracker())
            .handler(tx)
            .attach(listener)
    };
    attached(&env.plex, transport, attach, |t| t.wait_synced(HANG_GUARD))
}

fn tracker(env: &Env) -> (On<LibraryTracker>, Receiver<LibraryEvent>) {
    tracker_with(env, Transport::WebSocket, |t| t)
}

fn next(rx: &Receiver<LibraryEvent>) -> LibraryEvent {
    next_of(rx)
}

/// The next event about items (skipping activities and scans).
fn next_item(rx: &Receiver<LibraryEvent>) -> LibraryEvent {
    loop {
        match next(rx) {
            LibraryEvent::ActivityStarted(_)
            | LibraryEvent::ActivityProgress(_)
            | LibraryEvent::ActivityEnded(_)
            | LibraryEvent::ScanStarted { .. }
            | LibraryEvent::ScanFinished { .. } => continue,
            other => return other,
        }
    }
}

/// No more item events come once everything sent has been read (activities and scans
/// may: they are not what this checks).
fn nothing_more(env: &Env, rx: &Receiver<LibraryEvent>) {
    // A marker through the tracker: a scan that finds nothing, whose end comes last.
    let scan = env.mock.scan("Movies");
    let uuid = scan.uuid().to_owned();
    scan.finish();
    loop {
        match next(rx) {
            LibraryEvent::ActivityEnded(a) if a.uuid.as_deref() == Some(uuid.as_str()) => break,
            LibraryEvent::ActivityStarted(_)
            | LibraryEvent::ActivityProgress(_)
            | LibraryEvent::ActivityEnded(_)
            | LibraryEvent::ScanStarted { .. }
            | LibraryEvent::ScanFinished { .. } => {}
            other => panic!("more came: {other:?}"),
        }
    }
    // The marker's end came from input; what lookups in the same step said comes after.
    while let Ok(event) = rx.recv_timeout(STRAGGLERS) {
        assert!(!is_item(&event), "more came: {event:?}");
    }
}

/// How long events that lookups made after the marker's end may take to come.
const STRAGGLERS: Duration = Duration::from_millis(300);

fn is_item(e: &LibraryEvent) -> bool {
    matches!(
        e,
        LibraryEvent::ItemAdded(_)
            | LibraryEvent::ItemsAdded { .. }
            | LibraryEvent::ItemUpdated(_)
            | LibraryEvent::ItemDeleted(_)
    )
}

/// Every item event until the tracker has read all that was sent, as short strings.
fn items_until_quiet(env: &Env, rx: &Receiver<LibraryEvent>) -> Vec<String> {
    let scan = env.mock.scan("Movies");
    let uuid = scan.uuid().to_owned();
    scan.finish();
    let mut items = Vec::new();
    loop {
        match next(rx) {
            LibraryEvent::ActivityEnded(a) if a.uuid.as_deref() == Some(uuid.as_str()) => break,
            e if is_item(&e) => items.push(e),
            _ => {}
        }
    }
    while let Ok(e) = rx.recv_timeout(STRAGGLERS) {
        if is_item(&e) {
            items.push(e);
        }
    }
    items.iter().map(describe).collect()
}

fn describe(e: &LibraryEvent) -> String {
    match e {
        LibraryEvent::ItemAdded(i) => format!(
            "added {} {:?}",
            i.rating_key.as_deref().unwrap_or_default(),
            i.title
        ),
        LibraryEvent::ItemsAdded { items, .. } => format!("added {} items", items.len()),
        LibraryEvent::ItemUpdated(i) => format!(
            "updated {} {:?}",
            i.rating_key.as_deref().unwrap_or_default(),
            i.title
        ),
        LibraryEvent::ItemDeleted(i) => {
            format!("deleted {}", i.rating_key.as_deref().unwrap_or_default())
        }
        other => format!("{other:?}"),
    }
}

/// A timeline entry of a library movie.
fn entry(key: &str, state: i64, metadata_state: Option<&str>) -> TimelineEntry {
    let mut t = TimelineEntry::default();
    t.identifier = Some("com.plexapp.plugins.library".into());
    t.item_id = Some(key.into());
    t.library_section_id = Some("1".into());
    t.media_type = Some(1);
    t.state = Some(state);
    t.metadata_state = metadata_state.map(str::to_owned);
    t
}

fn send(env: &Env, entries: Vec<TimelineEntry>) {
    let frame = plex_alerts::mock::frame(&Notification::Timeline(entries));
    env.mock.send(&frame);
}

#[test]
fn a_season_added_in_a_burst_is_one_event_per_episode_with_its_metadata() {
    for transport in BOTH {
        let e = env();
        let (listener, rx) = tracker_with(&e, transport, |t| t);
        let mut scan = e.mock.scan("TV Shows");
        let episodes: Vec<_> = (1..=5)
            .map(|i| scan.add_episode(&e.season, i, &format!("Episode {i}"), 3_000_000))
            .collect();
        scan.finish();
        for (i, ep) in episodes.iter().enumerate() {
            match next_item(&rx) {
                LibraryEvent::ItemAdded(item) => {
                    assert_eq!(
                        item.rating_key.unwrap_or_default(),
                        ep.rating_key(),
                        "{transport:?}"
                    );
                    assert_eq!(item.title, Some(format!("Episode {}", i + 1)));
                    assert_eq!(item.media_type, Some(MediaType::Episode));
                    assert_eq!(item.grandparent_title.as_deref(), Some("Severance"));
                    assert_eq!(item.parent_title.as_deref(), Some("Season 2"));
                    assert_eq!(item.library_section_title.as_deref(), Some("TV Shows"));
                    assert!(item.metadata.is_some());
                }
                other => panic!("{transport:?}: {other:?}"),
            }
        }
        nothing_more(&e, &rx);
        let stats = listener.library_stats();
        assert_eq!(
            (stats.added, stats.metadata_reads),
            (5, 5),
            "one read per item"
        );
        listener.stop();
    }
}

#[test]
fn grouped_a_season_is_one_event_and_an_album_another() {
    let e = env();
    let (listener, rx) = tracker_with(&e, Transport::WebSocket, |t| {
        t.group_within(Duration::from_millis(300))
    });
    let mut scan = e.mock.scan("TV Shows");
    for i in 1..=4 {
        scan.add_episode(&e.season, i, &format!("Episode {i}"), 3_000_000);
    }
    scan.finish();
    let mut music = e.mock.scan("Music");
    for i in 1..=3 {
        music.add_track(&e.album, i, &format!("Track {i}"), 200_000);
    }
    music.finish();
    let mut groups = Vec::new();
    while groups.len() < 2 {
        match next_item(&rx) {
            LibraryEvent::ItemsAdded { group, items } => groups.push((group, items.len())),
            other => panic!("{other:?}"),
        }
    }
    groups.sort_by_key(|(_, n)| *n);
    assert_eq!(groups[0].0.title.as_deref(), Some("Discovery"));
    assert_eq!(
        (groups[0].0.media_type.clone(), groups[0].1),
        (MediaType::Album, 3)
    );
    assert_eq!(groups[1].0.title.as_deref(), Some("Severance"));
    assert_eq!(
        (groups[1].0.media_type.clone(), groups[1].1),
        (MediaType::Show, 4)
    );
    listener.stop();
}

#[test]
fn a_scan_of_hundreds_of_items_announces_every_one_with_one_read_each() {
    let e = env();
    let (listener, rx) = tracker(&e);
    let mut scan = e.mock.scan("Movies");
    // More than the tracker reads in one step, all ready at once.
    for i in 0..200 {
        scan.add_movie(&format!("Found {i}"), 6_000_000);
    }
    scan.finish();
    let mut titles = Vec::new();
    while titles.len() < 200 {
        if let LibraryEvent::ItemAdded(item) = next_item(&rx) {
            titles.push(item.title.unwrap());
        }
    }
    // In the order they were found.
    let expected: Vec<_> = (0..200).map(|i| format!("Found {i}")).collect();
    assert_eq!(titles, expected);
    let stats = listener.library_stats();
    assert_eq!((stats.added, stats.metadata_reads), (200, 200), "{stats:?}");
    listener.stop();
}

#[test]
fn a_movie_added_then_upgraded_is_an_add_then_one_update() {
    let e = env();
    let (listener, rx) = tracker(&e);
    let mut scan = e.mock.scan("Movies");
    let movie = scan.add_movie("Dune", 9_300_000);
    scan.finish();
    assert!(
        matches!(next_item(&rx), LibraryEvent::ItemAdded(i) if i.rating_key.as_deref() == Some(movie.rating_key().as_str()))
    );
    e.mock.update_item(&movie);
    match next_item(&rx) {
        LibraryEvent::ItemUpdated(item) => {
            assert_eq!(item.rating_key.unwrap_or_default(), movie.rating_key());
            assert_eq!(item.title.as_deref(), Some("Dune"));
        }
        other => panic!("{other:?}"),
    }
    nothing_more(&e, &rx);
    let stats = listener.library_stats();
    assert_eq!(
        (stats.added, stats.updated),
        (1, 1),
        "the refresh activity is no second update"
    );
    listener.stop();
}

#[test]
fn an_item_deleted_during_processing_is_never_announced() {
    let e = env();
    let (listener, rx) = tracker(&e);
    let mut scan = e.mock.scan("Movies");
    let gone = scan.add_movie("Sample", 60_000);
    let kept = scan.add_movie("Heat", 10_200_000);
    scan.delete(&gone);
    scan.finish();
    match next_item(&rx) {
        LibraryEvent::ItemAdded(item) => {
            assert_eq!(item.rating_key.unwrap_or_default(), kept.rating_key())
        }
        other => panic!("{other:?}"),
    }
    nothing_more(&e, &rx);
    assert_eq!(listener.library_stats().deleted_before_ready, 1);
    // One that was announced is deleted with what is known of it.
    e.mock.delete_item(&kept);
    match next_item(&rx) {
        LibraryEvent::ItemDeleted(item) => {
            assert_eq!(item.rating_key.unwrap_or_default(), kept.rating_key());
            assert_eq!(item.title.as_deref(), Some("Heat"), "remembered");
        }
        other => panic!("{other:?}"),
    }
    listener.stop();
}

#[test]
fn a_scan_reports_its_section_and_its_activity_from_start_to_end() {
    let e = env();
    let (listener, rx) = tracker(&e);
    let section = e.mock.library().section_id("TV Shows");
    let mut scan = e.mock.scan("TV Shows");
    scan.progress(30);
    scan.progress(30); // the same progress again: nothing new
    scan.progress(70);
    scan.add_episode(&e.season, 9, "The Last", 3_000_000);
    scan.finish();
    let mut seen = Vec::new();
    let (mut scans, mut pending, mut brought) = (Vec::new(), None, Vec::new());
    // Nine events: the analysis and the episode may come in either order.
    while seen.len() < 9 {
        seen.push(match next(&rx) {
            LibraryEvent::ScanStarted {
                library_section_id,
                scan,
                ..
            } => {
                scans.push(scan);
                format!("scan started {library_section_id:?}")
            }
            LibraryEvent::ScanFinished {
                library_section_id,
                scan,
                pending: left,
                ..
            } => {
                scans.push(scan);
                pending = Some(left);
                format!("scan finished {library_section_id:?}")
            }
            LibraryEvent::ActivityStarted(a) => format!("started {:?}", a.activity_type),
            LibraryEvent::ActivityProgress(a) => format!("progress {:?}", a.progress),
            LibraryEvent::ActivityEnded(a) => format!("ended {:?}", a.activity_type),
            LibraryEvent::ItemAdded(i) => {
                brought.push(i.scan.clone());
                format!("added {:?}", i.title)
            }
            other => format!("{other:?}"),
        });
    }
    // The item is tied to its scan, and the scan's end says whether it is still to come.
    assert!(scans[0].is_some() && scans[0] == scans[1], "{scans:?}");
    assert_eq!(brought, [scans[0].clone()], "the scan that brought it");
    let s = Some(section);
    let at = |what: &str| {
        seen.iter()
            .position(|x| x == what)
            .unwrap_or_else(|| panic!("{what}: {seen:?}"))
    };
    let of =
        |prefix: &str| -> Vec<&String> { seen.iter().filter(|x| x.starts_with(prefix)).collect() };
    assert_eq!(
        seen[0], "started Some(\"library.update.section\")",
        "{seen:?}"
    );
    // The same progress again is nothing new.
    assert_eq!(
        of("progress"),
        ["progress Some(30.0)", "progress Some(70.0)"]
    );
    // `started` named no section: the scan is announced once an update or `/activities`
    // does, before what it found.
    let started = format!("scan started {s:?}");
    assert_eq!(of("scan started"), [&started], "{seen:?}");
    let finished = format!("scan finished {s:?}");
    assert!(at(&started) < at(&finished), "{seen:?}");
    assert!(
        at("ended Some(\"library.update.section\")") < at(&finished),
        "{seen:?}"
    );
    // The episode's media analysis, after its processing, and the episode itself.
    assert!(
        at("started Some(\"library.refresh.items\")") < at("ended Some(\"library.refresh.items\")")
    );
    assert!(at(&started) < at("added Some(\"The Last\")"), "{seen:?}");
    let still_to_come = usize::from(at(&finished) < at("added Some(\"The Last\")"));
    assert_eq!(pending, Some(still_to_come), "{seen:?}");
    nothing_more(&e, &rx); // the "Library scan complete" status is no second finish
    listener.stop();
}

#[test]
fn a_scan_is_announced_with_its_section_as_it_starts_before_any_update() {
    let e = env();
    let (listener, rx) = tracker(&e);
    let section = e.mock.library().section_id("Movies");
    let scan = e.mock.scan("Movies"); // `started`, without its section
    assert!(matches!(next(&rx), LibraryEvent::ActivityStarted(_)));
    // Nothing else is sent: `/activities` names the section.
    match next(&rx) {
        LibraryEvent::ScanStarted {
            library_section_id, ..
        } => {
            assert_eq!(library_section_id, Some(section))
        }
        other => panic!("{other:?}"),
    }
    scan.finish();
    assert!(matches!(next(&rx), LibraryEvent::ActivityEnded(_)));
    assert!(matches!(next(&rx), LibraryEvent::ScanFinished { .. }));
    listener.stop();
}

#[test]
fn an_hour_long_flood_of_one_item_is_one_event_in_a_bounded_state() {
    let e = env();
    let (listener, rx) = tracker(&e);
    let mut scan = e.mock.scan("Movies");
    let movie = scan.add_movie("Tenet", 9_000_000);
    scan.finish();
    // Twice a second for an hour, as a server analysing the item does.
    e.mock.flood_timeline(&movie, 7200);
    assert!(matches!(next_item(&rx), LibraryEvent::ItemAdded(_)));
    nothing_more(&e, &rx);
    let stats = listener.library_stats();
    assert_eq!((stats.added, stats.metadata_reads), (1, 1), "{stats:?}");
    assert!(stats.repeats >= 7200, "{stats:?}");
    assert_eq!((stats.pending, stats.remembered), (0, 1), "{stats:?}");
    listener.stop();
}

#[test]
fn a_group_is_announced_once_full_and_what_is_held_when_the_tracker_stops() {
    let e = env();
    let (listener, rx) = tracker_with(&e, Transport::WebSocket, |t| {
        t.group_within(Duration::from_secs(600)).max_items(3)
    });
    let scan_of = |range: std::ops::RangeInclusive<i64>| {
        let mut scan = e.mock.scan("TV Shows");
        for i in range {
            scan.add_episode(&e.season, i, &format!("Episode {i}"), 3_000_000);
        }
        scan.finish();
    };
    scan_of(1..=3);
    // Full at three, long before its 600 s are up.
    match next_item(&rx) {
        LibraryEvent::ItemsAdded { items, .. } => assert_eq!(items.len(), 3),
        other => panic!("{other:?}"),
    }
    scan_of(4..=5);
    // Read and held, both: five added, two of them waiting in their group.
    let two_held = e.mock.wait_until(HANG_GUARD, |_| {
        let stats = listener.library_stats();
        (stats.added, stats.pending) == (5, 2)
    });
    assert!(two_held, "{:?}", listener.library_stats());
    listener.stop();
    match next_item(&rx) {
        LibraryEvent::ItemsAdded { items, .. } => {
            let titles: Vec<_> = items.iter().map(|i| i.title.clone().unwrap()).collect();
            assert_eq!(titles, ["Episode 4", "Episode 5"]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_state_stays_within_its_bound_whatever_arrives() {
    let e = env();
    let (errors_tx, errors) = crossbeam_channel::unbounded();
    let (listener, rx) = tracker_with(&e, Transport::WebSocket, |t| {
        t.max_items(50)
            .quiet_period(Duration::from_secs(600))
            .callback_error(move |err| errors_tx.send(err).unwrap())
    });
    // 500 items created and never processed: at most 50 are held.
    let mut entries = Vec::new();
    for i in 0..500 {
        let mut t = TimelineEntry::default();
        t.identifier = Some("com.plexapp.plugins.library".into());
        t.item_id = Some((100_000 + i).to_string());
        t.library_section_id = Some("1".into());
        t.media_type = Some(1);
        t.state = Some(0);
        t.metadata_state = Some("created".into());
        entries.push(t);
    }
    e.mock
        .send(&plex_alerts::mock::frame(&Notification::Timeline(entries)));
    nothing_more(&e, &rx);
    let stats = listener.library_stats();
    assert_eq!((stats.pending, stats.over_limit), (50, 450), "{stats:?}");
    // Said, once.
    match errors.try_recv() {
        Ok(Error::TrackerFull { limit: 50, .. }) => {}
        other => panic!("{other:?}"),
    }
    assert!(errors.try_recv().is_err(), "told once");
    listener.stop();
}

#[test]
fn epg_entries_and_no_op_analysis_steps_are_skipped() {
    let e = env();
    let (listener, rx) = tracker(&e);
    let mut epg = TimelineEntry::default();
    epg.identifier = Some("tv.plex.providers.epg.onconnect:4".into());
    epg.item_id = Some("5001".into());
    epg.media_type = Some(4);
    epg.state = Some(5);
    let mut minus_one = TimelineEntry::default();
    minus_one.identifier = Some("com.plexapp.plugins.library".into());
    minus_one.item_id = Some("5002".into());
    minus_one.media_type = Some(-1);
    minus_one.state = Some(0);
    minus_one.metadata_state = Some("created".into());
    let mut analysing = TimelineEntry::default();
    analysing.identifier = Some("com.plexapp.plugins.library".into());
    analysing.item_id = Some("5003".into());
    analysing.media_type = Some(1);
    analysing.state = Some(5);
    analysing.media_state = Some("analyzing".into());
    e.mock
        .send(&plex_alerts::mock::frame(&Notification::Timeline(vec![
            epg, minus_one, analysing,
        ])));
    nothing_more(&e, &rx);
    let stats = listener.library_stats();
    assert_eq!((stats.not_library, stats.no_ops), (2, 1), "{stats:?}");
    listener.stop();
}

#[test]
fn what_happened_while_disconnected_is_found_at_the_resync() {
    let e = env();
    let (listener, rx) = tracker(&e);
    let mut scan = e.mock.scan("Movies");
    let before = scan.add_movie("Before the gap", 6_000_000);
    assert!(matches!(next(&rx), LibraryEvent::ActivityStarted(_)));
    e.mock.stop_listening();
    let during = scan.add_movie("During the gap", 6_000_000);
    scan.finish(); // the scan's activity ends while nobody listens
    e.mock.start_listening().unwrap();
    let mut seen = Vec::new();
    while seen.len() < 4 {
        seen.push(match next(&rx) {
            LibraryEvent::ActivityEnded(_) => "activity ended".to_owned(),
            LibraryEvent::ScanFinished { .. } => "scan finished".to_owned(),
            LibraryEvent::ItemAdded(i) => i.rating_key.unwrap_or_default(),
            LibraryEvent::ScanStarted { .. } => continue,
            other => format!("{other:?}"),
        });
    }
    seen.sort();
    let mut expected = vec![
        "activity ended".to_owned(),
        "scan finished".to_owned(),
        before.rating_key(),
        during.rating_key(),
    ];
    expected.sort();
    assert_eq!(seen, expected);
    listener.stop();
}

#[test]
fn episodes_added_while_disconnected_are_found_through_their_season() {
    let e = env();
    let (listener, rx) = tracker(&e);
    e.mock.stop_listening();
    // The season was there before: its own addedAt is old news, its new episodes are not.
    let mut scan = e.mock.scan("TV Shows");
    let first = scan.add_episode(&e.season, 1, "Hello, Ms. Cobel", 3_300_000);
    let second = scan.add_episode(&e.season, 2, "Goodbye, Mrs. Selvig", 3_300_000);
    scan.finish();
    e.mock.start_listening().unwrap();
    let mut added = Vec::new();
    while added.len() < 2 {
        if let LibraryEvent::ItemAdded(i) = next_item(&rx) {
            added.push((i.rating_key.unwrap_or_default(), i.grandparent_title));
        }
    }
    let show = Some("Severance".to_owned());
    assert_eq!(
        added,
        [
            (first.rating_key(), show.clone()),
            (second.rating_key(), show)
        ]
    );
    nothing_more(&e, &rx);
    listener.stop();
}

#[test]
fn a_section_without_an_agent_adds_after_its_quiet_period() {
    let e = env();
    let (listener, rx) = tracker_with(&e, Transport::EventSource, |t| {
        t.quiet_period(Duration::from_millis(300))
    });
    let mut scan = e.mock.scan("Home Videos").without_agent();
    let clip = scan.add_movie("Birthday", 120_000);
    scan.finish(); // processing stops at state 1
    match next_item(&rx) {
        LibraryEvent::ItemAdded(item) => {
            assert_eq!(item.rating_key.unwrap_or_default(), clip.rating_key())
        }
        other => panic!("{other:?}"),
    }
    listener.stop();
}

#[test]
fn an_ended_activity_repeated_is_one_end() {
    let e = env();
    let (listener, rx) = tracker(&e);
    let mut ended = plex_alerts::ActivityNotification::default();
    ended.event = Some("ended".into());
    ended.uuid = Some("a-1".into());
    let mut activity = plex_alerts::Activity::default();
    activity.uuid = Some("a-1".into());
    activity.activity_type = Some("library.refresh.items".into());
    activity.progress = Some(100.0);
    ended.activity = Some(activity);
    let mut started = ended.clone();
    started.event = Some("started".into());
    let frame = |n: &plex_alerts::ActivityNotification| {
        plex_alerts::mock::frame(&Notification::Activity(vec![n.clone()]))
    };
    e.mock.send(&frame(&started));
    e.mock.send(&frame(&ended));
    e.mock.send(&frame(&ended));
    assert!(matches!(next(&rx), LibraryEvent::ActivityStarted(_)));
    assert!(matches!(next(&rx), LibraryEvent::ActivityEnded(_)));
    nothing_more(&e, &rx);
    assert!(listener.library_stats().repeats >= 1);
    listener.stop();
}

#[test]
fn sessions_library_and_raw_alerts_share_one_connection() {
    let e = env();
    let (raw_tx, raw) = crossbeam_channel::unbounded();
    let (lib_tx, lib) = crossbeam_channel::unbounded();
    let (ses_tx, ses) = crossbeam_channel::unbounded();
    let before = e.mock.handshakes();
    let mut listener = e
        .plex
        .alert_listener()
        .callback(move |a| raw_tx.send(a.kind().to_owned()).unwrap());
    let library = e
        .plex
        .library_tracker()
        .handler(lib_tx)
        .attach(&mut listener);
    let sessions = e
        .plex
        .session_tracker()
        .handler(ses_tx)
        .attach(&mut listener);
    let listener = listener.start().unwrap();
    assert!(library.wait_synced(HANG_GUARD) && sessions.wait_synced(HANG_GUARD));
    let mut scan = e.mock.scan("Movies");
    let movie = scan.add_movie("Heat", 10_200_000);
    scan.finish();
    assert!(matches!(next_item(&lib), LibraryEvent::ItemAdded(_)));
    let (alice, tv) = (e.mock.add_user("alice"), e.mock.add_player("TV"));
    e.mock.play(&alice, &movie, &tv);
    assert!(matches!(
        ses.recv_timeout(HANG_GUARD).unwrap(),
        SessionEvent::Started(_)
    ));
    assert!(raw.try_iter().any(|k| k == "playing"));
    assert_eq!(
        e.mock.handshakes(),
        before + 1,
        "one connection for all three"
    );
    listener.stop();
}

#[test]
fn stop_is_prompt_while_a_metadata_read_hangs() {
    let e = env();
    let (listener, rx) = tracker_with(&e, Transport::WebSocket, |t| {
        t.lookup_timeout(Duration::from_secs(120))
    });
    let mut scan = e.mock.scan("Movies");
    // The scan's announcement reads `/activities`: done before the fault.
    while !matches!(next(&rx), LibraryEvent::ScanStarted { .. }) {}
    let before = e.mock.connections();
    // Every new connection (the metadata read's) is accepted and never answered.
    e.mock.set_fault(plex_alerts::mock::Fault::Silent);
    scan.add_movie("Hanging", 6_000_000);
    scan.finish();
    assert!(e.mock.wait_until(HANG_GUARD, |m| m.connections() > before));
    let (done_tx, done) = crossbeam_channel::bounded(1);
    std::thread::spawn(move || {
        listener.stop();
        done_tx.send(()).unwrap();
    });
    assert!(
        done.recv_timeout(Duration::from_secs(3)).is_ok(),
        "stop waited for the read"
    );
    // Its processing ended: it is announced still, with what its timeline entries said.
    let added: Vec<_> = rx
        .try_iter()
        .filter_map(|e| match e {
            LibraryEvent::ItemAdded(i) => Some(i.title),
            _ => None,
        })
        .collect();
    assert_eq!(added, [Some("Hanging".to_owned())]);
}

#[test]
fn an_item_created_during_a_gap_and_processed_after_it_is_added_once() {
    let e = env();
    let (listener, rx) = tracker(&e);
    // Counted as received: the first sync's answer may not be counted as answered yet.
    let resyncs = e.mock.received("/library/recentlyAdded");
    e.mock.stop_listening();
    let mut scan = e.mock.scan("Movies");
    let movie = scan.add_movie("Gap", 6_000_000); // its creation, lost in the gap
    e.mock.start_listening().unwrap();
    let resynced = |m: &MockServer| m.answered("/library/recentlyAdded") > resyncs;
    assert!(e.mock.wait_until(HANG_GUARD, resynced));
    scan.finish(); // its processing, live
    let key = movie.rating_key();
    assert_eq!(
        items_until_quiet(&e, &rx),
        [format!("added {key} Some(\"Gap\")")]
    );
    listener.stop();
}

#[test]
fn an_item_whose_creation_was_lost_is_an_add_though_only_its_processing_came() {
    let e = env();
    let (listener, rx) = tracker(&e);
    // In the library, added after the tracker started; all the tracker hears of it is its
    // processing (as when its creation fell in a gap and the rest came after).
    let movie = e.mock.library().add_movie("Movies", "Missed", 6_000_000);
    let key = movie.rating_key();
    let states = [
        (1, None),
        (2, None),
        (3, Some("loading")),
        (4, Some("processing")),
        (5, None),
    ];
    send(
        &e,
        states.iter().map(|(s, m)| entry(&key, *s, *m)).collect(),
    );
    assert_eq!(
        items_until_quiet(&e, &rx),
        [format!("added {key} Some(\"Missed\")")]
    );
    listener.stop();
}

#[test]
fn an_item_created_during_a_gap_whose_processing_never_ends_comes_after_the_quiet() {
    let e = env();
    let (listener, rx) = tracker_with(&e, Transport::WebSocket, |t| {
        t.quiet_period(Duration::from_millis(300))
    });
    e.mock.stop_listening();
    let mut scan = e.mock.scan("Movies");
    let movie = scan.add_movie("Stuck", 6_000_000); // created in the gap, never processed
    e.mock.start_listening().unwrap();
    // Listed after the gap, not ready: it waits for its processing, then its quiet period.
    match next_item(&rx) {
        LibraryEvent::ItemAdded(item) => {
            assert_eq!(item.rating_key.unwrap_or_default(), movie.rating_key())
        }
        other => panic!("{other:?}"),
    }
    listener.stop();
}

#[test]
fn an_update_of_an_item_held_in_its_group_is_no_event_before_its_add() {
    let e = env();
    let (listener, rx) = tracker_with(&e, Transport::WebSocket, |t| {
        t.group_within(Duration::from_secs(600))
    });
    let mut scan = e.mock.scan("TV Shows");
    let ep = scan.add_episode(&e.season, 1, "Hello, Ms. Cobel", 3_300_000);
    scan.finish();
    let held = e.mock.wait_until(HANG_GUARD, |_| {
        let s = listener.library_stats();
        (s.added, s.pending) == (1, 1)
    });
    assert!(held, "{:?}", listener.library_stats());
    e.mock.update_item(&ep); // a file upgrade while its add is held
    assert_eq!(items_until_quiet(&e, &rx), Vec::<String>::new());
    listener.stop();
    let got: Vec<_> = rx
        .try_iter()
        .filter(is_item)
        .map(|e| describe(&e))
        .collect();
    assert_eq!(got, ["added 1 items"], "in its group, a group of one");
}

#[test]
fn an_item_gone_when_read_is_never_announced_nor_its_delete() {
    let e = env();
    let (listener, rx) = tracker(&e);
    send(
        &e,
        vec![
            entry("990001", 0, Some("created")),
            entry("990001", 5, None),
        ],
    );
    let read = e
        .mock
        .wait_until(HANG_GUARD, |_| listener.library_stats().metadata_reads >= 1);
    assert!(read);
    send(&e, vec![entry("990001", 9, Some("deleted"))]);
    assert_eq!(items_until_quiet(&e, &rx), Vec::<String>::new());
    let stats = listener.library_stats();
    assert_eq!(
        (stats.deleted_before_ready, stats.deleted),
        (1, 0),
        "{stats:?}"
    );
    listener.stop();
}

#[test]
fn a_tracker_at_its_bound_says_so_again_only_after_emptying_to_half() {
    let e = env();
    let (errors_tx, errors) = crossbeam_channel::unbounded();
    let (listener, rx) = tracker_with(&e, Transport::WebSocket, |t| {
        t.max_items(4)
            .quiet_period(Duration::from_secs(600))
            .callback_error(move |err| errors_tx.send(err).unwrap())
    });
    let created = |k: u32| entry(&k.to_string(), 0, Some("created"));
    let processed = |k: u32| entry(&k.to_string(), 5, None);
    let reads = |n: u64| {
        let done = e
            .mock
            .wait_until(HANG_GUARD, |_| listener.library_stats().metadata_reads >= n);
        assert!(done, "{:?}", listener.library_stats());
    };
    let full = || {
        errors
            .try_iter()
            .filter(|e| matches!(e, Error::TrackerFull { .. }))
            .count()
    };
    // Five for four places: full, said.
    send(&e, (990_001..=990_005).map(created).collect());
    // One done (gone when read), then two more: full again at once, not said again.
    send(&e, vec![processed(990_001)]);
    reads(1);
    send(&e, vec![created(990_006), created(990_007)]);
    items_until_quiet(&e, &rx);
    assert_eq!(full(), 1);
    // All done: emptied, and full again: said again.
    send(&e, (990_002..=990_006).map(processed).collect());
    reads(5);
    send(&e, (990_010..=990_015).map(created).collect());
    items_until_quiet(&e, &rx);
    assert_eq!(full(), 1);
    listener.stop();
}

#[test]
fn durations_too_long_for_the_clock_are_refused_at_start() {
    let e = env();
    for configure in [
        |t: LibraryTrackerBuilder| t.quiet_period(Duration::MAX),
        |t: LibraryTrackerBuilder| t.group_within(Duration::from_secs(u64::MAX / 4)),
        |t: LibraryTrackerBuilder| t.lookup_timeout(Duration::ZERO),
    ] {
        let (tx, _rx) = crossbeam_channel::unbounded();
        let started = configure(e.plex.library_tracker()).handler(tx).start();
        assert!(
            matches!(started, Err(Error::InvalidConfig { .. })),
            "{started:?}"
        );
    }
}

#[test]
fn a_resync_read_that_fails_is_made_again_and_finds_what_was_added() {
    let e = env();
    let (errors_tx, errors) = crossbeam_channel::unbounded();
    let (listener, rx) = tracker_with(&e, Transport::WebSocket, |t| {
        t.callback_error(move |err| errors_tx.send(err).unwrap())
    });
    e.mock.stop_listening();
    let mut scan = e.mock.scan("Movies");
    let movie = scan.add_movie("Heat", 10_200_000);
    scan.finish();
    e.mock.fail_requests("/library/recentlyAdded", 503, 1);
    e.mock.start_listening().unwrap();
    // Said (beside the disconnect), then read again (5 s later).
    loop {
        match errors.recv_timeout(HANG_GUARD) {
            Ok(Error::HttpStatus { status: 503, .. }) => break,
            Ok(_) => {}
            Err(e) => panic!("the failed read was not said: {e}"),
        }
    }
    match next_item(&rx) {
        LibraryEvent::ItemAdded(item) => {
            assert_eq!(item.rating_key.unwrap_or_default(), movie.rating_key())
        }
        other => panic!("{other:?}"),
    }
    listener.stop();
}
