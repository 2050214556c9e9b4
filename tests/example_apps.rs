//! The app examples, end to end: each binary run as a user runs it, against the mock's
//! story (its default) or against a mock server of the test's own given with `--url`, and
//! what it prints (or does on the server) checked.
//!
//! The binaries are those `cargo test` builds beside the tests (`target/debug/examples/`):
//! run `cargo test` (or `cargo build --examples`) first when running this file alone.

mod common;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use common::{HANG_GUARD, example};
use crossbeam_channel::Receiver;
use plex_alerts::mock::{ACCOUNT_TOKEN, MockPlexTv, MockServer};
use serde_json::Value;

/// A story plays in a few seconds; this only turns a hang into a failure.
const STORY_GUARD: Duration = Duration::from_secs(60);

/// An example running, its stdout and stderr read line by line as they come.
struct Run {
    child: Child,
    stdout: Receiver<String>,
    stderr: Receiver<String>,
    /// A directory of its own for its temporary files (the scrobbler's record).
    _tmp: TempDir,
}

impl Run {
    fn start(name: &str, args: &[&str], tmp: TempDir) -> Run {
        let mut child = Command::new(example(name))
            .args(args)
            .env_remove("PLEX_URL")
            .env_remove("PLEX_TOKEN")
            .env("TMPDIR", &*tmp.0)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = lines(child.stdout.take().unwrap());
        let stderr = lines(child.stderr.take().unwrap());
        Run {
            child,
            stdout,
            stderr,
            _tmp: tmp,
        }
    }

    /// Waits for a stderr line containing `text`.
    fn wait_stderr(&self, text: &str) {
        let deadline = Instant::now() + HANG_GUARD;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stderr.recv_timeout(left) {
                Ok(line) if line.contains(text) => return,
                Ok(_) => continue,
                Err(_) => panic!("no {text:?} on stderr in time"),
            }
        }
    }

    /// The next stdout line.
    fn next_line(&self) -> String {
        self.stdout
            .recv_timeout(HANG_GUARD)
            .expect("a line on stdout in time")
    }

    /// Reads the next stdout line: a scrobbler's `line`, its percent within 0.5.
    fn expect(&self, line: &str) {
        let got = self.next_line();
        assert!(
            scrobbled(std::slice::from_ref(&got), &[line]),
            "{got:?}, not {line:?}"
        );
    }

    /// Every stdout line until it exits by itself, its stderr, and how it exited.
    fn until_exit(mut self) -> (Vec<String>, Vec<String>, ExitStatus) {
        let deadline = Instant::now() + STORY_GUARD;
        let mut out = Vec::new();
        // stdout ends when the process does.
        while let Ok(line) = self
            .stdout
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            out.push(line);
        }
        assert!(Instant::now() < deadline, "still running: {out:#?}");
        let status = self.child.wait().unwrap();
        let err = self.stderr.iter().collect();
        (out, err, status)
    }

    /// Ends it, as a crash or `kill -9` would; returns what it printed and had not been
    /// read.
    fn kill(mut self) -> Vec<String> {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        self.stdout.iter().collect()
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn lines(stream: impl std::io::Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = crossbeam_channel::unbounded();
    thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// A directory of a test's own, removed when the last of its shares is dropped.
struct TempDir(Arc<PathBuf>);

impl TempDir {
    fn new(test: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("plex-alerts-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(Arc::new(dir))
    }

    fn share(&self) -> TempDir {
        TempDir(Arc::clone(&self.0))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if Arc::strong_count(&self.0) == 1 {
            let _ = std::fs::remove_dir_all(&*self.0);
        }
    }
}

/// Whether a scrobbler's lines are those expected, their percents within 0.5 (a
/// playing item moves on while a loaded machine runs the story).
fn scrobbled(got: &[String], expected: &[&str]) -> bool {
    let split = |line: &str| {
        let (what, percent) = line.rsplit_once(' ').unwrap_or((line, "-1%"));
        let percent: f64 = percent.trim_end_matches('%').parse().unwrap_or(-1.0);
        (what.to_owned(), percent)
    };
    got.len() == expected.len()
        && got.iter().zip(expected).all(|(got, expected)| {
            let ((a, p), (b, q)) = (split(got), split(expected));
            a == b && (p - q).abs() <= 0.5
        })
}

#[test]
fn scrobbler_scrobbles_the_mocks_story_and_marks_watched_at_90_percent() {
    let run = Run::start("scrobbler", &[], TempDir::new("scrobbler-story"));
    let (out, err, status) = run.until_exit();
    assert!(status.success(), "{status}: {err:#?}");
    assert!(
        scrobbled(
            &out,
            &[
                // The preroll before it is left out.
                r#"start alice "Arrival" 0.0%"#,
                r#"pause alice "Arrival" 0.0%"#,
                r#"resume alice "Arrival" 0.0%"#,
                r#"watched alice "Arrival" 95.0%"#,
                r#"stop alice "Arrival" 95.0%"#,
                r#"start bob "Severance — Good News About Hell" 40.0%"#,
                // Autoplay: the episode before is stopped where it got to.
                r#"stop bob "Severance — Good News About Hell" 40.0%"#,
                r#"start bob "Severance — Half Loop" 0.0%"#,
                r#"stop bob "Severance — Half Loop" 0.0%"#,
            ]
        ),
        "{out:#?}\n{err:#?}"
    );
    let told = "Arrival has been marked watched 1 time(s)";
    assert!(err.iter().any(|l| l.contains(told)), "{err:#?}");
}

#[test]
fn scrobbler_marks_watched_on_the_server_and_repeats_nothing_after_its_restarts() {
    let mock = MockServer::start();
    let lib = mock.library();
    let arrival = lib.add_movie("Movies", "Arrival", 6_960_000);
    let season = lib.add_season(&lib.add_show("TV Shows", "Severance"), 1);
    let ep1 = lib.add_episode(&season, 1, "Good News About Hell", 3_420_000);
    let ep2 = lib.add_episode(&season, 2, "Half Loop", 3_300_000);
    let (alice, tv) = (mock.add_user("alice"), mock.add_player("Living Room TV"));
    let (url, token) = (mock.url(), mock.token());
    let args = ["--url", url.as_str(), "--token", token.as_str()];
    let tmp = TempDir::new("scrobbler-restarts");
    let scrobbler = || {
        let run = Run::start("scrobbler", &args, tmp.share());
        run.wait_stderr("listening to");
        run
    };

    let first = scrobbler();
    let playback = mock.play(&alice, &arrival, &tv);
    first.expect(r#"start alice "Arrival" 0.0%"#);
    assert_eq!(first.kill(), Vec::<String>::new());

    // Restarted: the play is found again, and not started again.
    let second = scrobbler();
    playback.seek(6_612_000);
    second.expect(r#"watched alice "Arrival" 95.0%"#);
    assert_eq!(mock.view_count(&arrival, None), 1, "the token's account");
    assert_eq!(mock.view_count(&arrival, Some(&alice)), 0);
    assert_eq!(second.kill(), Vec::<String>::new());

    // Restarted past 90 %: not marked watched again; the stop is told once.
    let third = scrobbler();
    playback.stop();
    third.expect(r#"stop alice "Arrival" 95.0%"#);
    assert_eq!(mock.view_count(&arrival, None), 1, "marked once");
    // An autoplay, then a restart: the episode it went on to is not started again.
    let episodes = mock.play(&alice, &ep1, &tv);
    third.expect(r#"start alice "Severance — Good News About Hell" 0.0%"#);
    episodes.next(&ep2);
    third.expect(r#"stop alice "Severance — Good News About Hell" 0.0%"#);
    third.expect(r#"start alice "Severance — Half Loop" 0.0%"#);
    assert_eq!(third.kill(), Vec::<String>::new());

    let fourth = scrobbler();
    episodes.stop();
    fourth.expect(r#"stop alice "Severance — Half Loop" 0.0%"#);
    assert_eq!(fourth.kill(), Vec::<String>::new());
}

/// The cells of `who`'s row in `table`.
fn row(table: &[String], who: &str) -> Vec<String> {
    let row = table.iter().find(|l| l.starts_with(who)).unwrap();
    row.split("  ")
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty())
        .collect()
}

#[test]
fn now_playing_prints_the_table_again_each_time_it_changes() {
    let run = Run::start("now_playing", &[], TempDir::new("now-playing-story"));
    let (out, err, status) = run.until_exit();
    assert!(status.success(), "{status}: {err:#?}");
    let tables: Vec<&[String]> = out
        .split(|l| l.is_empty())
        .filter(|t| !t.is_empty())
        .collect();
    for table in &tables {
        assert!(table[0].starts_with("USER     TITLE"), "{table:#?}");
    }
    let footers: Vec<&str> = tables.iter().map(|t| t[t.len() - 1].as_str()).collect();
    assert_eq!(
        footers,
        [
            "0 active streams (0 playing)",
            "1 active streams (1 playing)", // alice
            "2 active streams (2 playing)", // bob
            "2 active streams (1 playing)", // bob pauses
            "2 active streams (2 playing)", // and goes on
            "2 active streams (2 playing)", // alice's next episode
            "1 active streams (1 playing)", // bob stops
            "0 active streams (0 playing)", // alice stops
        ],
        "{out:#?}"
    );
    assert_eq!(
        row(tables[1], "alice"),
        [
            "alice",
            "Severance — Good News About Hell",
            "Living Room TV",
            "playing",
            "94%"
        ]
    );
    assert_eq!(
        row(tables[3], "bob"),
        ["bob", "Arrival", "Pixel", "paused", "0%"]
    );
    assert_eq!(row(tables[5], "alice")[1], "Severance — Half Loop");
    assert!(
        tables.windows(2).all(|w| w[0] != w[1]),
        "printed only when changed"
    );
}

#[test]
fn new_items_tells_each_movie_and_each_shows_episodes_once() {
    let run = Run::start("new_items", &[], TempDir::new("new-items-story"));
    let (out, err, status) = run.until_exit();
    assert!(status.success(), "{status}: {err:#?}");
    let [movie, episode, episodes] = out.as_slice() else {
        panic!("{out:#?}\n{err:#?}")
    };
    assert!(
        movie.starts_with("🎬 New movie: The Quiet Harbour (20"),
        "{movie}"
    );
    assert_eq!(episode, "📺 New episode: Severance S02E01 Hello, Ms. Cobel");
    assert_eq!(
        episodes,
        "📺 3 new episodes of The Bear: S01E01, S01E02, S01E03"
    );
}

#[test]
fn listen_prints_the_trackers_events_as_json_lines() {
    let mock = MockServer::start();
    let arrival = mock.library().add_movie("Movies", "Arrival", 6_960_000);
    let (alice, tv) = (mock.add_user("alice"), mock.add_player("Living Room TV"));
    let (url, token) = (mock.url(), mock.token());
    let args = [
        "--url",
        url.as_str(),
        "--token",
        token.as_str(),
        "--trackers",
        "--json",
    ];
    let run = Run::start("listen", &args, TempDir::new("listen-json"));
    // The trackers' first syncs.
    let synced = mock.wait_until(HANG_GUARD, |m| {
        m.answered("/status/sessions") > 0 && m.answered("/library/recentlyAdded") > 0
    });
    assert!(synced);
    let playback = mock.play(&alice, &arrival, &tv);
    let event = |run: &Run, name: &str| loop {
        let line = run.next_line();
        let event: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
        if event["event"] == name {
            return event;
        }
    };
    let started = event(&run, "started");
    assert_eq!(started["session"]["user"]["title"], "alice");
    assert_eq!(started["session"]["media"]["title"], "Arrival");
    assert_eq!(started["session"]["play_id"], playback.play_id().as_str());
    playback.stop();
    let stopped = event(&run, "stopped");
    assert_eq!(stopped["reason"], "reported");

    let mut scan = mock.scan("Movies");
    scan.add_movie("The Quiet Harbour", 6_300_000);
    scan.finish();
    let added = event(&run, "item_added");
    assert_eq!(added["item"]["title"], "The Quiet Harbour");
    assert_eq!(added["item"]["media_type"], "movie");
}

/// The token file's text, and (on Unix) whether only its owner may read it.
fn saved_token(file: &std::path::Path) -> (String, bool) {
    let text = std::fs::read_to_string(file).unwrap();
    #[cfg(unix)]
    let private = {
        use std::os::unix::fs::PermissionsExt;
        file.metadata().unwrap().permissions().mode() & 0o777 == 0o600
    };
    #[cfg(not(unix))]
    let private = true;
    (text, private)
}

#[test]
fn login_signs_in_at_the_mock_and_saves_the_token_for_the_user_only() {
    let tmp = TempDir::new("login-story");
    let file = tmp.0.join("plex-alerts-mock").join("token");
    let run = Run::start("login", &[], tmp.share());
    let (out, err, status) = run.until_exit();
    assert!(status.success(), "{status}: {err:#?}");
    assert!(
        out.iter().any(|l| l
            .trim()
            .starts_with("https://app.plex.tv/auth#?clientID=plex-alerts-examples-")),
        "the link: {out:#?}"
    );
    assert!(
        out.contains(&"plex-alerts mock (yours)".to_owned()),
        "{out:#?}"
    );
    assert!(
        out.contains(&"Shared mock (shared with you)".to_owned()),
        "{out:#?}"
    );
    assert!(
        err.iter().any(|l| l.contains("allows access")),
        "the story: {err:#?}"
    );
    assert_eq!(saved_token(&file), (ACCOUNT_TOKEN.to_owned(), true));
}

#[test]
fn an_app_finds_the_server_by_name_with_the_token_login_saved() {
    let mock = MockServer::start();
    let arrival = mock.library().add_movie("Movies", "Arrival", 6_960_000);
    let (alice, tv) = (mock.add_user("alice"), mock.add_player("Living Room TV"));
    let plex_tv = MockPlexTv::start(&mock);
    let tmp = TempDir::new("login-server");
    let file = tmp.0.join("token");
    let (url, file_arg) = (plex_tv.url(), file.to_str().unwrap().to_owned());
    let signing_in = ["--plex-tv", url.as_str(), "--token-file", file_arg.as_str()];

    // An old file of another mode is replaced, and made private.
    std::fs::write(&file, "an old token").unwrap();
    let login = Run::start("login", &signing_in, tmp.share());
    let code = plex_tv.wait_for_pin(HANG_GUARD).expect("a PIN");
    assert!(plex_tv.approve(&code));
    let (out, err, status) = login.until_exit();
    assert!(status.success(), "{status}: {err:#?}");
    assert!(
        out.contains(&"plex-alerts mock (yours)".to_owned()),
        "{out:#?}"
    );
    assert_eq!(saved_token(&file), (ACCOUNT_TOKEN.to_owned(), true));
    let next = r#"next: cargo run --example now_playing -- --server "plex-alerts mock""#;
    assert!(err.iter().any(|l| l.starts_with(next)), "{err:#?}");

    // No URL, no token: the server's name.
    let by_name = [&signing_in[..], &["--server", "plex-alerts mock"]].concat();
    let app = Run::start("now_playing", &by_name, tmp.share());
    app.wait_stderr("listening to");
    let asked = plex_tv.requests().pop().unwrap();
    assert_eq!(
        asked.header("X-Plex-Token"),
        Some(ACCOUNT_TOKEN),
        "the saved token"
    );
    let _playback = mock.play(&alice, &arrival, &tv);
    while !app.next_line().starts_with("alice") {}
    drop(app);

    // A name the account does not have: the ones it has are said.
    let wrong = [&signing_in[..], &["--server", "Den"]].concat();
    let (_, err, status) = Run::start("listen", &wrong, tmp.share()).until_exit();
    assert_eq!(status.code(), Some(1), "{err:#?}");
    assert!(
        err.iter()
            .any(|l| l.contains(r#"no server named "Den"; it has "plex-alerts mock""#)),
        "{err:#?}"
    );
    let both = [&by_name[..], &["--url", "http://127.0.0.1:9"]].concat();
    let (_, err, status) = Run::start("scrobbler", &both, tmp.share()).until_exit();
    assert_eq!(status.code(), Some(2), "{err:#?}");
}

#[test]
fn each_app_says_how_to_use_it() {
    for name in ["scrobbler", "now_playing", "new_items"] {
        let run = Run::start(name, &["--help"], TempDir::new(&format!("{name}-help")));
        let (out, _, status) = run.until_exit();
        assert!(status.success());
        let usage = format!("usage: cargo run --example {name} -- [--url URL]");
        assert!(out.iter().any(|l| l.starts_with(&usage)), "{out:#?}");
        let run = Run::start(
            name,
            &["--no-such-flag"],
            TempDir::new(&format!("{name}-bad")),
        );
        let (_, err, status) = run.until_exit();
        assert_eq!(status.code(), Some(2), "{err:#?}");
    }
}
