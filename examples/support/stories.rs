//! The mock's stories, one per app example: what happens on the server, told on stderr
//! as it happens, while the app's own output (stdout) shows what the app made of it.
//!
//! A story sets up its library, users and players first (quietly, as if they had been
//! there before the app started), then returns the script, which plays once the app has
//! synced. Steps are paced for reading; where a step needs the app to have done
//! something (read a new session, marked an item watched), the script waits for it on
//! the mock, within a bound, before it goes on. Tests play the same stories against an
//! app started with `--url`.

use std::thread;
use std::time::Duration;

use plex_alerts::mock::{MockItem, MockPlayer, MockServer, MockUser};

/// A story's script, to play once the app listens.
pub type Play = Box<dyn FnOnce(&MockServer) + Send>;

/// What each app does, for its `--help`.
pub fn about(app: &str) -> &'static str {
    match app {
        "scrobbler" => {
            "scrobbler: what a scrobbler sends to a service such as Trakt or Last.fm: each
play's start, pause, resume and stop with how far it got, the item before an autoplay as
stopped; and an item marked watched on the server once 90 % of it has played. Prerolls
and theme music are left out; a play it handled before it restarted is not started or
marked again."
        }
        "now_playing" => {
            "now_playing: a table of who plays what on a Plex Media Server (user, title,
player, state, how far), printed again whenever it changes."
        }
        "new_items" => {
            "new_items: one message per new movie, and one per new episode, or per group of
episodes of one show added within 2 minutes of each other, once each is processed."
        }
        _ => "",
    }
}

/// The story of `app`: sets it up on `mock`, and returns its script.
pub fn story(app: &str) -> fn(&MockServer) -> Play {
    match app {
        "scrobbler" => scrobbler,
        "now_playing" => now_playing,
        "new_items" => new_items,
        _ => |_| Box::new(|_| {}),
    }
}

/// A pause between steps, so that the output reads as a story.
fn beat() {
    thread::sleep(Duration::from_millis(400));
}

/// What happens on the server, on stderr.
fn say(what: &str) {
    eprintln!("  [server] {what}");
}

/// Waits (10 s at most) until `done` holds on the mock: the app did what the next step
/// needs. Said if it did not.
fn wait(mock: &MockServer, what: &str, done: impl Fn(&MockServer) -> bool) {
    if !mock.wait_until(Duration::from_secs(10), done) {
        say(&format!("(still waiting for {what}; going on)"));
    }
}

/// Does `step` (a session starts or changes its item), then waits until the app has read
/// `/status/sessions` for it. The reads before are counted as received: an answer the
/// app has may not be counted as answered yet.
fn and_read<T>(mock: &MockServer, step: impl FnOnce() -> T) -> T {
    const PATH: &str = "/status/sessions";
    let before = mock.received(PATH);
    let done = step();
    wait(mock, PATH, |m| m.answered(PATH) > before);
    done
}

/// The library, users and players of the playback stories.
struct Cast {
    arrival: MockItem,
    ep1: MockItem,
    ep2: MockItem,
    alice: MockUser,
    bob: MockUser,
    tv: MockPlayer,
    phone: MockPlayer,
}

fn cast(mock: &MockServer) -> Cast {
    let lib = mock.library();
    let arrival = lib.add_movie("Movies", "Arrival", 6_960_000);
    let show = lib.add_show("TV Shows", "Severance");
    let season = lib.add_season(&show, 1);
    Cast {
        arrival,
        ep1: lib.add_episode(&season, 1, "Good News About Hell", 3_420_000),
        ep2: lib.add_episode(&season, 2, "Half Loop", 3_300_000),
        alice: mock.add_user("alice"),
        bob: mock.add_user("bob"),
        tv: mock.add_player("Living Room TV"),
        phone: mock.add_player("Pixel"),
    }
}

/// Prerolls left out, a pause, a resume, the end credits (watched: marked on the
/// server), a stop; then an autoplay to the next episode, away from home.
pub fn scrobbler(mock: &MockServer) -> Play {
    let Cast {
        arrival,
        ep1,
        ep2,
        alice,
        bob,
        tv,
        phone,
    } = cast(mock);
    mock.set_player_product(&phone, "Plex for Android (Mobile)", "Android");
    mock.set_player_local(&phone, false);
    Box::new(move |mock: &MockServer| {
        say("alice plays a preroll, then Arrival, on the Living Room TV");
        let preroll = mock.play_preroll(&alice, &tv);
        beat();
        preroll.stop();
        let a = and_read(mock, || mock.play(&alice, &arrival, &tv));
        beat();
        say("alice pauses, and goes on");
        a.pause();
        beat();
        a.resume();
        beat();
        say("alice skips to the end credits (95 %)");
        a.seek(6_612_000);
        wait(mock, "Arrival marked watched", |m| {
            m.view_count(&arrival, None) > 0
        });
        beat();
        say("alice stops");
        a.stop();
        beat();
        bob_autoplays(mock, &bob, &phone, &ep1, &ep2);
        say(&format!(
            "Arrival has been marked watched {} time(s)",
            mock.view_count(&arrival, None)
        ));
    })
}

/// bob watches an episode away from home, and the next one plays by itself.
fn bob_autoplays(
    mock: &MockServer,
    bob: &MockUser,
    phone: &MockPlayer,
    ep1: &MockItem,
    ep2: &MockItem,
) {
    say("bob, away from home, goes on with Severance on his phone, from 40 %");
    let b = and_read(mock, || {
        mock.playback(bob, ep1, phone).at(1_368_000).start()
    });
    beat();
    say("the episode ends; the next one plays by itself");
    and_read(mock, || b.next(ep2));
    beat();
    say("bob stops");
    b.stop();
    beat();
}

/// Two viewers: one near the end of an episode that autoplays the next, one who pauses
/// a movie; then both stop.
pub fn now_playing(mock: &MockServer) -> Play {
    let Cast {
        arrival,
        ep1,
        ep2,
        alice,
        bob,
        tv,
        phone,
    } = cast(mock);
    Box::new(move |mock: &MockServer| {
        say("alice goes on with Severance on the Living Room TV, near its end");
        let a = and_read(mock, || {
            mock.playback(&alice, &ep1, &tv).at(3_200_000).start()
        });
        beat();
        say("bob starts Arrival on his phone");
        let b = and_read(mock, || mock.play(&bob, &arrival, &phone));
        beat();
        say("bob pauses, and goes on");
        b.pause();
        beat();
        b.resume();
        beat();
        say("alice's episode ends; the next one plays by itself");
        and_read(mock, || a.next(&ep2));
        beat();
        say("bob stops, then alice");
        b.stop();
        beat();
        a.stop();
        beat();
    })
}

/// A new movie; a new episode of a show in the library; a new show with its first
/// season, three episodes found in one scan.
pub fn new_items(mock: &MockServer) -> Play {
    let lib = mock.library();
    let show = lib.add_show("TV Shows", "Severance");
    let season = lib.add_season(&show, 2);
    lib.add_movie("Movies", "Arrival", 6_960_000);
    // Each new item is processed, then the app reads it: the story waits for that read.
    let read = |mock: &MockServer, items: &[MockItem]| {
        for item in items {
            let path = format!("/library/metadata/{}", item.rating_key());
            wait(mock, &path, |m| m.answered(&path) > 0);
        }
    };
    Box::new(move |mock: &MockServer| {
        say("a scan of Movies finds a new movie");
        let mut scan = mock.scan("Movies");
        let movie = scan.add_movie("The Quiet Harbour", 6_300_000);
        scan.finish();
        read(mock, &[movie]);
        beat();
        say("a scan of TV Shows finds a new episode of Severance");
        let mut scan = mock.scan("TV Shows");
        let episode = scan.add_episode(&season, 1, "Hello, Ms. Cobel", 3_300_000);
        scan.finish();
        read(mock, &[episode]);
        beat();
        say("a scan of TV Shows finds a new show, The Bear, with its first season");
        let mut scan = mock.scan("TV Shows");
        let bear = scan.add_show("The Bear");
        let season = scan.add_season(&bear, 1);
        let episodes: Vec<MockItem> = ["System", "Hands", "Brigade"]
            .into_iter()
            .zip(1..)
            .map(|(title, i)| scan.add_episode(&season, i, title, 1_800_000))
            .collect();
        scan.finish();
        read(mock, &episodes);
        beat();
        say(
            "(a show's episodes are told 2 minutes after the last one came, or as the app stops: now)",
        );
    })
}
