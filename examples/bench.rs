//! Measures plex-alerts against the mock server on loopback and prints a table:
//! throughput and instructions per alert (callgrind, where installed) beside a bare
//! client's ceiling and floor, stop latency, delivery latency, idle cost and
//! memory per idle listener, the trackers' requests and cost, and what hostile servers
//! can do: answers of any size, 429 and 500 storms, a tracker whose lookups take seconds.
//! Figures are measured side by side in one run (alternating runs, medians), so that they
//! hold on a noisy machine.
//!
//! ```text
//! cargo run --release --example bench              # the full table (about 90 s)
//! cargo run --release --example bench -- --quick   # smaller counts, shorter idle window
//! cargo run --release --example bench -- instructions  # only the instructions per alert
//! bash benches/compare-plexapi.sh                  # adds python-plexapi beside ours
//! ```
//!
//! The mock server runs in a child process (`bench serve`, driven over stdin), so that
//! this process holds nothing but the clients being measured. Section 8's peak memory is
//! measured in a process per call (`bench peak`), whose peak is that call's alone, and
//! instructions in a process per client under callgrind (`bench count`).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use plex_alerts::mock::{Fault, MockServer};
use plex_alerts::{
    AlertListener, ConnectionState, Event, LibraryEvent, Notification, PlexServer, SessionEvent,
    Transport,
};
use serde_json::Value;
use tungstenite::stream::MaybeTlsStream;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

const GUARD: Duration = Duration::from_secs(120);

struct Plan {
    sessions: usize,
    /// Items a scan finds, and the repeats of a timeline flood.
    items: usize,
    flood: usize,
    alerts: u64,
    rounds: usize,
    stops: usize,
    idle: Duration,
    idle_listeners: usize,
    /// How long each request storm is watched.
    storm: Duration,
    /// `playing` alerts sent at 200/s beside a slow tracker.
    steady: u64,
    /// Alerts counted under callgrind: this many, then twice as many.
    counted: u64,
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("serve") => return serve(),
        Some("peak") => return peak(&args[1..]),
        Some("count") => return count(&args[1..]),
        Some("instructions") => return instructions(20_000),
        _ => {}
    }
    let quick = args.iter().any(|a| a == "--quick");
    let python = args
        .iter()
        .position(|a| a == "--python")
        .and_then(|i| args.get(i + 1).cloned());
    let plan = if quick {
        Plan {
            sessions: 100,
            items: 200,
            flood: 20_000,
            alerts: 50_000,
            rounds: 3,
            stops: 200,
            idle: Duration::from_secs(3),
            idle_listeners: 200,
            storm: Duration::from_secs(3),
            steady: 1_000,
            counted: 5_000,
        }
    } else {
        Plan {
            sessions: 500,
            items: 1000,
            flood: 100_000,
            alerts: 200_000,
            rounds: 5,
            stops: 300,
            idle: Duration::from_secs(10),
            idle_listeners: 200,
            storm: Duration::from_secs(10),
            steady: 2_000,
            counted: 20_000,
        }
    };
    if cfg!(debug_assertions) {
        eprintln!("warning: a debug build; run with --release for figures worth reading");
    }
    let mut server = Server::spawn()?;
    println!(
        "plex-alerts {} benchmark, {}",
        env!("CARGO_PKG_VERSION"),
        machine()
    );
    println!("mock server in a child process at {}\n", server.url);

    throughput(&mut server, &plan)?;
    instructions(plan.counted)?;
    stop_latency(&mut server, &plan)?;
    delivery_latency(&mut server)?;
    idle_cost(&mut server, &plan)?;
    session_tracker(&mut server, &plan)?;
    library_tracker(&mut server, &plan)?;
    if let Some(python) = python {
        compare_plexapi(&mut server, &python, &plan)?;
    }
    server.quit();
    hostile_servers(&plan)?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// 5. The session tracker.

/// The number in an `ok N` answer.
fn answered(server: &mut Server, path: &str) -> Result<u64> {
    let line = server.cmd(&format!("answered {path}"))?;
    Ok(line.split_whitespace().nth(1).ok_or("no count")?.parse()?)
}

fn session_tracker(server: &mut Server, plan: &Plan) -> Result<()> {
    let (n, rounds) = (plan.sessions, 20usize);
    let reports = (n * rounds) as f64;
    let plex = plex_alerts::PlexServer::connect(&server.url, &server.token)?;
    println!(
        "5. Session tracker: {n} sessions starting together, {rounds} progress reports each,\n   then a reconnect (a resync), then every session stops"
    );
    // With the tracker: its events, timed, and the requests it made.
    let (tx, events) = crossbeam_channel::unbounded();
    let mut listener = plex.alert_listener().callback(|_| {});
    let tracked = plex.session_tracker().handler(tx).attach(&mut listener);
    let listener = listener.start()?;
    server.cmd("wait 1")?;
    // The first sync first: the sessions are to start while the tracker listens.
    if !tracked.wait_synced(GUARD) {
        return Err("the session tracker's first sync did not come".into());
    }
    let sessions_before = answered(server, "/status/sessions")?;
    let rss_before = rss_kib();
    server.cmd(&format!("sessions {n}"))?;
    let wait_for = |count: usize, want: fn(&SessionEvent) -> bool| -> Result<()> {
        let mut seen = 0;
        while seen < count {
            let event = events.recv_timeout(GUARD)?;
            seen += usize::from(want(&event));
        }
        Ok(())
    };
    wait_for(n, |e| matches!(e, SessionEvent::Started(_)))?;
    let rss_after = rss_kib();
    let started = Instant::now();
    server.cmd(&format!("reports {rounds}"))?;
    wait_for(n * rounds, |e| matches!(e, SessionEvent::Progress(_)))?;
    let with_tracker = started.elapsed();
    let before_resync = answered(server, "/status/sessions")?;
    server.cmd("close")?;
    let deadline = Instant::now() + GUARD;
    while answered(server, "/status/sessions")? == before_resync && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    server.cmd("end")?;
    wait_for(n, |e| matches!(e, SessionEvent::Stopped { .. }))?;
    let stats = tracked.stats();
    let reads = answered(server, "/status/sessions")? - sessions_before;
    listener.stop();

    // Without: the same load on a plain listener, timed to its last alert.
    let (count_tx, count) = crossbeam_channel::unbounded();
    let plain = plex
        .alert_listener()
        .callback(move |_| {
            let _ = count_tx.send(());
        })
        .start()?;
    server.cmd("wait 1")?;
    server.cmd(&format!("sessions {n}"))?;
    for _ in 0..n {
        count.recv_timeout(GUARD)?;
    }
    let started = Instant::now();
    server.cmd(&format!("reports {rounds}"))?;
    for _ in 0..n * rounds {
        count.recv_timeout(GUARD)?;
    }
    let without = started.elapsed();
    server.cmd("end")?;
    plain.stop();

    let per_session = |x: u64| x as f64 / n as f64;
    println!("   | requests                                  | in all | per session |");
    println!("   |-------------------------------------------|-------:|------------:|");
    let row =
        |what: &str, x: u64| println!("   | {what:<41} | {x:>6} | {:>11.3} |", per_session(x));
    row("/status/sessions for new sessions", stats.lookups);
    row("/status/sessions again (not visible yet)", stats.retries);
    row("/status/sessions at syncs (start, gap)", stats.resyncs);
    row("/status/sessions after the start (server)", reads);
    row("/identity (start, gap)", stats.identity_reads);
    row("/library/metadata", stats.metadata_reads);
    println!();
    println!(
        "   | {:>5} progress reports                  | alerts/s   | µs per alert |",
        n * rounds
    );
    println!("   |-----------------------------------------|-----------:|-------------:|");
    for (what, took) in [
        ("plain listener", without),
        ("with the session tracker", with_tracker),
    ] {
        println!(
            "   | {what:<39} | {:>10.0} | {:>12.2} |",
            reports / took.as_secs_f64(),
            took.as_secs_f64() * 1e6 / reports
        );
    }
    let added = (with_tracker.as_secs_f64() - without.as_secs_f64()) * 1e6 / reports;
    println!("   tracker's added cost per alert: {added:.2} µs");
    if let (Some(a), Some(b)) = (rss_before, rss_after) {
        println!(
            "   memory per tracked session: {:.1} KiB (this process's RSS growth, {n} sessions)",
            b.saturating_sub(a) as f64 / n as f64
        );
    }
    println!();
    Ok(())
}

// ---------------------------------------------------------------------------------------
// 6. The library tracker.

fn library_tracker(server: &mut Server, plan: &Plan) -> Result<()> {
    let (n, flood) = (plan.items, plan.flood);
    let plex = plex_alerts::PlexServer::connect(&server.url, &server.token)?;
    println!(
        "6. Library tracker: a scan that finds {n} movies at once, then one of them re-announced\n   as processed {flood} times (a server analysing it for hours)"
    );
    let (tx, events) = crossbeam_channel::unbounded();
    let mut listener = plex.alert_listener().callback(|_| {});
    let tracked = plex.library_tracker().handler(tx).attach(&mut listener);
    let listener = listener.start()?;
    server.cmd("wait 1")?;
    // The first sync first: the scan is to run while the tracker listens.
    if !tracked.wait_synced(GUARD) {
        return Err("the library tracker's first sync did not come".into());
    }
    let rss_before = rss_kib();
    let started = Instant::now();
    server.cmd(&format!("scan {n}"))?;
    let mut added = 0;
    while added < n {
        match events.recv_timeout(GUARD)? {
            LibraryEvent::ItemAdded(_) => added += 1,
            LibraryEvent::ItemsAdded { items, .. } => added += items.len(),
            _ => {}
        }
    }
    let scan_took = started.elapsed();
    let rss_after = rss_kib();
    let before = tracked.stats();
    let started = Instant::now();
    server.cmd(&format!("flood {flood}"))?;
    let deadline = Instant::now() + GUARD;
    // Until the tracker has taken every repeat; or, if it fell a queue behind (a loaded
    // machine), dropped the rest and resynced, as it is meant to, until it has taken what
    // it kept.
    let (mut seen, mut last_seen) = (0, Instant::now());
    loop {
        let stats = tracked.stats();
        let repeats = stats.repeats - before.repeats;
        if repeats != seen {
            (seen, last_seen) = (repeats, Instant::now());
        }
        let behind = stats.overflows > before.overflows;
        if seen >= flood as u64 || (behind && last_seen.elapsed() > Duration::from_millis(200)) {
            break;
        }
        if Instant::now() > deadline {
            return Err("the tracker did not read the flood in time".into());
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let with_tracker = last_seen.duration_since(started);
    let stats = tracked.stats();
    listener.stop();

    // Without: the same flood on a plain listener, timed to its last alert.
    let (count_tx, count) = crossbeam_channel::unbounded();
    let plain = plex
        .alert_listener()
        .callback(move |_| {
            let _ = count_tx.send(());
        })
        .start()?;
    server.cmd("wait 1")?;
    let started = Instant::now();
    server.cmd(&format!("flood {flood}"))?;
    for _ in 0..flood {
        count.recv_timeout(GUARD)?;
    }
    let without = started.elapsed();
    plain.stop();

    println!("   | {:<43} | figure |", format!("the scan of {n} movies"));
    println!("   |---------------------------------------------|-------:|");
    let row = |what: &str, x: String| println!("   | {what:<43} | {x:>6} |");
    row(
        "/library/metadata reads, per item",
        format!("{:.2}", stats.metadata_reads as f64 / n as f64),
    );
    row(
        "syncs (/activities, /library/recentlyAdded)",
        stats.sync_reads.to_string(),
    );
    row(
        "ms from the scan to its last ItemAdded",
        format!("{:.0}", scan_took.as_secs_f64() * 1e3),
    );
    row(
        "items still pending after the flood",
        stats.pending.to_string(),
    );
    row(
        "items remembered (bound: 10000)",
        stats.remembered.to_string(),
    );
    println!();
    println!("   | {flood:>6} repeats of one item              | alerts/s   | µs per alert |");
    println!("   |-----------------------------------------|-----------:|-------------:|");
    for (what, took) in [
        ("plain listener", without),
        ("with the library tracker", with_tracker),
    ] {
        println!(
            "   | {what:<39} | {:>10.0} | {:>12.2} |",
            flood as f64 / took.as_secs_f64(),
            took.as_secs_f64() * 1e6 / flood as f64
        );
    }
    let extra = (with_tracker.as_secs_f64() - without.as_secs_f64()) * 1e6 / flood as f64;
    println!("   tracker's added cost per repeat: {extra:.2} µs; no request for any of them");
    if stats.overflows > before.overflows {
        println!(
            "   the tracker fell behind (a loaded machine): {} of the repeats dropped, a resync instead",
            flood as u64 - seen
        );
    }
    if let (Some(a), Some(b)) = (rss_before, rss_after) {
        println!(
            "   memory per remembered item: {:.1} KiB (this process's RSS growth, {n} items)",
            b.saturating_sub(a) as f64 / n as f64
        );
    }
    println!();
    Ok(())
}

// ---------------------------------------------------------------------------------------
// 8. Hostile servers: answers of any size, request storms, a slow tracker.

fn hostile_servers(plan: &Plan) -> Result<()> {
    println!("8. Hostile servers: REST answers of any size, 429 and 500 storms, a slow tracker");
    answer_memory()?;
    storms(plan)?;
    slow_tracker(plan)?;
    Ok(())
}

/// What the raw server answers to every path but `/`: a listing of about `bytes` bytes,
/// `element` over and over.
#[derive(Clone, Default)]
struct Listing {
    element: String,
    bytes: usize,
}

/// A server of a few lines on 127.0.0.1 that streams each listing from one small buffer,
/// so that its own memory stays flat whatever it sends.
struct RawServer {
    url: String,
    listing: Arc<Mutex<Listing>>,
    done: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<()>,
}

impl RawServer {
    fn start() -> Result<RawServer> {
        let socket = TcpListener::bind("127.0.0.1:0")?;
        let url = format!("http://{}", socket.local_addr()?);
        let listing = Arc::new(Mutex::new(Listing::default()));
        let done = Arc::new(AtomicBool::new(false));
        let (answers, stopped) = (Arc::clone(&listing), Arc::clone(&done));
        let thread = std::thread::spawn(move || {
            // One connection at a time: the calls measured are made one after another.
            for stream in socket.incoming().take(1_000) {
                if stopped.load(Ordering::SeqCst) {
                    break;
                }
                let listing = answers.lock().map(|l| l.clone()).unwrap_or_default();
                if let Ok(mut stream) = stream {
                    let _ = raw_answer(&mut stream, &listing);
                }
            }
        });
        Ok(RawServer {
            url,
            listing,
            done,
            thread,
        })
    }

    fn serve(&self, element: &str, bytes: usize) {
        if let Ok(mut listing) = self.listing.lock() {
            *listing = Listing {
                element: element.to_owned(),
                bytes,
            };
        }
    }

    fn stop(self) {
        self.done.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.url.trim_start_matches("http://"));
        let _ = self.thread.join();
    }
}

/// Answers one request: `/` says who the server is, any other path gets the listing.
fn raw_answer(stream: &mut TcpStream, listing: &Listing) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.set_write_timeout(Some(Duration::from_secs(10)))?;
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 64 << 10 {
        match stream.read(&mut buf)? {
            0 => return Ok(()),
            n => head.extend_from_slice(&buf[..n]),
        }
    }
    let head = String::from_utf8_lossy(&head);
    // No Content-Length: the body runs to the close, so the client has to read it to know
    // its size (a length over the bound would be refused from the head alone).
    let ok = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n";
    if head.split(' ').nth(1) == Some("/") {
        let root =
            r#"{"MediaContainer":{"friendlyName":"raw","machineIdentifier":"m1","version":"1"}}"#;
        return stream.write_all(format!("{ok}{root}").as_bytes());
    }
    // `count` elements and the commas between them: `bytes` in all, give or take one.
    let each = listing.element.len() + 1;
    let (open, close) = (r#"{"MediaContainer":{"Metadata":["#, "]}}");
    let count = ((listing.bytes.saturating_sub(open.len() + close.len()) + 1) / each).max(1);
    stream.write_all(format!("{ok}{open}").as_bytes())?;
    let per_chunk = (64 << 10) / each + 1;
    let chunk = format!("{},", listing.element).repeat(per_chunk);
    let mut left = count - 1; // the elements a comma follows
    while left > 0 {
        let n = left.min(per_chunk);
        // An error here is the client gone, having read what it uses.
        stream.write_all(&chunk.as_bytes()[..n * each])?;
        left -= n;
    }
    stream.write_all(format!("{}{close}", listing.element).as_bytes())
}

/// `bench peak URL CALL`: one call against the raw server, in a process of its own, so
/// that the process's peak resident memory (VmHWM, which never goes down) is this call's
/// alone. Prints `ok <peak growth KiB> <bytes kept> <µs> <what it returned>`.
fn peak(args: &[String]) -> Result<()> {
    let (url, call) = match args {
        [url, call] => (url, call.as_str()),
        _ => return Err("usage: bench peak URL CALL".into()),
    };
    let plex = PlexServer::builder(url)
        .token("t0ken-for-the-bench")
        .timeout(Duration::from_secs(60))
        .connect()?;
    let line = match call {
        "sessions" => measure_call(|| plex.sessions(), |s| s.raw())?,
        "recently_added" => measure_call(|| plex.recently_added(100), |m| m.raw())?,
        "children" => measure_call(|| plex.children("1"), |m| m.raw())?,
        _ => return Err(format!("unknown call {call:?}").into()),
    };
    println!("{line}");
    Ok(())
}

fn measure_call<T>(
    call: impl FnOnce() -> std::result::Result<Vec<T>, plex_alerts::Error>,
    raw: impl Fn(&T) -> &Value,
) -> Result<String> {
    let before = status_kib("VmHWM:").ok_or("no VmHWM")?;
    let started = Instant::now();
    let result = call();
    let took = started.elapsed();
    let after = status_kib("VmHWM:").ok_or("no VmHWM")?;
    let (kept, returned) = match &result {
        // What was kept: the JSON of the items returned, as the server sent them.
        Ok(items) => (
            items.iter().map(|i| raw(i).to_string().len()).sum(),
            format!("{} items", items.len()),
        ),
        Err(plex_alerts::Error::AnswerTooLarge { what, limit, .. }) => {
            (0, format!("AnswerTooLarge: {limit} {what}"))
        }
        Err(e) => (0, format!("error: {e}")),
    };
    Ok(format!(
        "ok {} {kept} {} {returned}",
        after.saturating_sub(before),
        took.as_micros()
    ))
}

fn megabytes(bytes: f64) -> String {
    format!("{:.1} MB", bytes / 1e6)
}

fn answer_memory() -> Result<()> {
    println!(
        "   a. Peak memory against the answer's size: each call in a process of its own, against"
    );
    println!("      a raw server on 127.0.0.1 that streams the answer from one small buffer");
    println!(
        "   | call                | answer   | returned                       | kept     | peak RSS growth | took      |"
    );
    println!(
        "   |---------------------|---------:|--------------------------------|---------:|----------------:|----------:|"
    );
    let server = RawServer::start()?;
    let item = |summary: usize| {
        format!(
            r#"{{"ratingKey":"1","key":"/library/metadata/1","type":"episode","title":"An episode","summary":"{}"}}"#,
            "x".repeat(summary)
        )
    };
    // Sessions in increasing size: an array of empty objects, the answer that took 3 GB.
    let runs = [
        ("sessions()", "sessions", "{}".to_owned(), 1_000_000),
        ("sessions()", "sessions", "{}".to_owned(), 8_000_000),
        ("sessions()", "sessions", "{}".to_owned(), 60_000_000),
        (
            "recently_added(100)",
            "recently_added",
            item(900),
            8_000_000,
        ),
        ("children(..)", "children", item(1_900), 16_000_000),
    ];
    for (what, call, element, bytes) in runs {
        server.serve(&element, bytes);
        let out = Command::new(std::env::current_exe()?)
            .args(["peak", &server.url, call])
            .output()?;
        let line = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        let mut words = line.splitn(5, ' ');
        if words.next() != Some("ok") {
            let err = String::from_utf8_lossy(&out.stderr);
            return Err(format!("bench peak {call}: {line} {}", err.trim()).into());
        }
        let mut number = || -> Result<f64> { Ok(words.next().ok_or("short")?.parse()?) };
        let (growth_kib, kept, micros) = (number()?, number()?, number()?);
        let returned = words.next().unwrap_or_default();
        println!(
            "   | {what:<19} | {:>8} | {returned:<30} | {:>8} | {:>15} | {:>9} |",
            megabytes(bytes as f64),
            megabytes(kept),
            megabytes(growth_kib * 1024.0),
            fmt_d(Duration::from_micros(micros as u64)),
        );
    }
    server.stop();
    println!(
        "      (kept: the JSON of what the call returned; peak RSS growth: the process's VmHWM"
    );
    println!("      after the call less before it)\n");
    Ok(())
}

/// How many requests the server has received for paths under `prefix`.
fn requested(server: &mut Server, prefix: &str) -> Result<u64> {
    let line = server.cmd(&format!("requested {prefix}"))?;
    Ok(line.split_whitespace().nth(1).ok_or("no count")?.parse()?)
}

/// What reached a tracker's handler and its callback_error.
#[derive(Clone, Default)]
struct Told {
    events: Arc<AtomicU64>,
    errors: Arc<AtomicU64>,
    first_error: Arc<Mutex<Option<Instant>>>,
}

/// A listener with a library tracker attached, on a fresh mock server, its first sync done.
fn tracked_listener(
    callback: impl FnMut(plex_alerts::Alert) + Send + 'static,
    told: &Told,
) -> Result<(Server, AlertListener, plex_alerts::LibraryTracker)> {
    let mut server = Server::spawn()?;
    let plex = PlexServer::connect(&server.url, &server.token)?;
    let mut listener = plex.alert_listener().callback(callback);
    let (events, errors) = (Arc::clone(&told.events), Arc::clone(&told.errors));
    let first_error = Arc::clone(&told.first_error);
    let tracked = plex
        .library_tracker()
        .handler(move |_: LibraryEvent| {
            events.fetch_add(1, Ordering::Relaxed);
        })
        .callback_error(move |_| {
            errors.fetch_add(1, Ordering::Relaxed);
            if let Ok(mut first) = first_error.lock() {
                first.get_or_insert_with(Instant::now);
            }
        })
        .attach(&mut listener);
    let listener = listener.start()?;
    server.cmd("wait 1")?;
    if !tracked.wait_synced(GUARD) {
        return Err("the library tracker's first sync did not come".into());
    }
    Ok((server, listener, tracked))
}

fn storms(plan: &Plan) -> Result<()> {
    let items = 300;
    println!(
        "   b. Request storms: a library tracker with {items} new items to look up while the server"
    );
    println!(
        "      answers every /library/metadata request with an error, watched for {:?}",
        plan.storm
    );
    println!(
        "   | the server answers  | requests | requests/s | errors told | first told | tracker events |"
    );
    println!(
        "   |---------------------|---------:|-----------:|------------:|-----------:|---------------:|"
    );
    let storms = [
        (
            "429, Retry-After: 1",
            "fail_wait /library/metadata 429 1000000 1",
        ),
        ("500", "fail /library/metadata 500 1000000"),
    ];
    for (what, fault) in storms {
        let told = Told::default();
        let (mut server, listener, tracked) = tracked_listener(|_| {}, &told)?;
        server.cmd(fault)?;
        let before = requested(&mut server, "/library/metadata")?;
        let events_before = told.events.load(Ordering::Relaxed);
        let started = Instant::now();
        server.cmd(&format!("scan {items}"))?;
        std::thread::sleep(plan.storm.saturating_sub(started.elapsed()));
        let requests = requested(&mut server, "/library/metadata")? - before;
        let window = started.elapsed();
        let errors = told.errors.load(Ordering::Relaxed);
        let events = told.events.load(Ordering::Relaxed) - events_before;
        let first = match told.first_error.lock().ok().and_then(|f| *f) {
            Some(at) => format!("{:.1} s", at.duration_since(started).as_secs_f64()),
            None => format!("> {:.0} s", window.as_secs_f64()),
        };
        listener.stop();
        tracked.stop();
        server.quit();
        println!(
            "   | {what:<19} | {requests:>8} | {:>10.1} | {errors:>11} | {first:>10} | {events:>14} |",
            requests as f64 / window.as_secs_f64()
        );
    }
    println!("      (requests: those the server received for /library/metadata from the scan on;");
    println!(
        "      errors told: what reached the tracker's callback_error, the first this long after"
    );
    println!("      the scan; tracker events: what reached its handler; all within the window)\n");
    Ok(())
}

fn slow_tracker(plan: &Plan) -> Result<()> {
    let (items, n, rate, every, flood) = (300, plan.steady, 200, 50, 2_000);
    println!(
        "   c. The app's callback beside a slow tracker: its lookups take 2 s, {items} items pending,"
    );
    println!(
        "      {flood} timeline repeats after every {every}th of {n} `playing` alerts sent at {rate}/s;"
    );
    println!(
        "      the delay of each `playing` alert from the server's send() to the app's callback"
    );
    let (tx, delays) = crossbeam_channel::unbounded();
    let alerts = Arc::new(AtomicU64::new(0));
    let counted = Arc::clone(&alerts);
    let callback = move |alert: plex_alerts::Alert| {
        counted.fetch_add(1, Ordering::Relaxed);
        if let Notification::Playing(sessions) = alert.notification() {
            let now = now_ns();
            if let Some(sent) = sessions.first().and_then(|s| s.view_offset) {
                let _ = tx.send(Duration::from_nanos(now.saturating_sub(sent as u64)));
            }
        }
    };
    let (mut server, listener, tracked) = tracked_listener(callback, &Told::default())?;
    server.cmd("delay /library/metadata 2000")?;
    server.cmd(&format!("scan {items}"))?;
    // The tracker is in its lookups before the alerts start.
    let deadline = Instant::now() + GUARD;
    while requested(&mut server, "/library/metadata")? == 0 {
        if Instant::now() > deadline {
            return Err("the tracker made no lookup".into());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    server.cmd(&format!("steady {n} {rate} {every} {flood}"))?;
    let mut got = Vec::with_capacity(n as usize);
    while got.len() < n as usize {
        got.push(delays.recv_timeout(GUARD)?);
    }
    let lookups = requested(&mut server, "/library/metadata")?;
    listener.stop();
    tracked.stop();
    server.quit();
    let (p50, p99, max) = percentiles(got);
    println!(
        "   | p50        | p99        | max        | target     | alerts in all | lookups made |"
    );
    println!(
        "   |-----------:|-----------:|-----------:|-----------:|--------------:|-------------:|"
    );
    println!(
        "   | {:>10} | {:>10} | {:>10} | {:>10} | {:>13} | {:>12} |",
        fmt_d(p50),
        fmt_d(p99),
        fmt_d(max),
        "< 50 ms",
        alerts.load(Ordering::Relaxed),
        lookups
    );
    println!("      (alerts in all: what the callback got, the floods included; lookups made: the");
    println!("      /library/metadata requests the server received, 2 s each)\n");
    Ok(())
}

// ---------------------------------------------------------------------------------------
// The server process.

/// `bench serve`: a mock server driven by one command per stdin line, answering on stdout.
fn serve() -> Result<()> {
    let server = MockServer::builder()
        .chunked(false)
        .progress_interval(None)
        .start()?;
    println!("ready {} {}", server.url(), server.token());
    let mut burst = None;
    let mut playbacks: Vec<plex_alerts::mock::Playback> = Vec::new();
    let mut scanned = None;
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        let words: Vec<&str> = line.split_whitespace().collect();
        let reply = match words.as_slice() {
            ["wait", n] => ok(server.wait_for_clients(n.parse()?, GUARD)),
            ["idle"] => ok(server.wait_for_no_clients(GUARD)),
            ["prepare", n] => {
                let frames: Vec<String> = (0..n.parse::<u64>()?).map(playing_frame).collect();
                burst = Some(MockServer::prepare(&frames));
                "ok".to_owned()
            }
            ["fire"] => match &burst {
                Some(b) => format!("ok {}", server.send_prepared(b)),
                None => "error: prepare first".to_owned(),
            },
            ["fault", "unresponsive"] => {
                server.set_fault(Fault::Unresponsive);
                "ok".to_owned()
            }
            ["fault", "none"] => {
                server.set_fault(Fault::None);
                "ok".to_owned()
            }
            ["rate", n, per_second] => {
                paced(&server, n.parse()?, per_second.parse()?, None);
                "ok".to_owned()
            }
            ["steady", n, per_second, every, flood] => match &scanned {
                Some(item) => {
                    let flood = (item, every.parse()?, flood.parse()?);
                    paced(&server, n.parse()?, per_second.parse()?, Some(flood));
                    "ok".to_owned()
                }
                None => "error: scan first".to_owned(),
            },
            ["fail", path, status, times] => {
                server.fail_requests(path, status.parse()?, times.parse()?);
                "ok".to_owned()
            }
            ["fail_wait", path, status, times, seconds] => {
                let wait = Duration::from_secs(seconds.parse()?);
                server.fail_requests_asking_to_wait(path, status.parse()?, times.parse()?, wait);
                "ok".to_owned()
            }
            ["delay", path, ms] => {
                server.delay_requests(path, Duration::from_millis(ms.parse()?));
                "ok".to_owned()
            }
            ["requested", prefix] => {
                let under = |p: &str| p.starts_with(prefix);
                let n = server.requests().iter().filter(|r| under(&r.path)).count();
                format!("ok {n}")
            }
            ["sessions", n] => {
                // n viewers, each on a player of their own, start a movie together.
                let lib = server.library();
                for i in 0..n.parse::<usize>()? {
                    let movie = lib.add_movie("Movies", &format!("Movie {i}"), 7_200_000);
                    let user = server.add_user(&format!("user{i}"));
                    let player = server.add_player(&format!("Player {i}"));
                    playbacks.push(server.play(&user, &movie, &player));
                }
                "ok".to_owned()
            }
            ["reports", rounds] => {
                // Each session reports on, a second further each time (not a seek).
                for round in 1..=rounds.parse::<i64>()? {
                    for p in &playbacks {
                        p.seek(round * 1000);
                    }
                }
                "ok".to_owned()
            }
            ["end"] => {
                for p in playbacks.drain(..) {
                    p.stop();
                }
                "ok".to_owned()
            }
            ["scan", n] => {
                let mut scan = server.scan("Movies");
                for i in 0..n.parse::<usize>()? {
                    scanned = Some(scan.add_movie(&format!("Found {i}"), 7_200_000));
                }
                scan.finish();
                "ok".to_owned()
            }
            ["flood", n] => match &scanned {
                Some(item) => {
                    server.flood_timeline(item, n.parse()?);
                    "ok".to_owned()
                }
                None => "error: scan first".to_owned(),
            },
            ["answered", path] => format!("ok {}", server.answered(path)),
            ["close"] => {
                server.close_all();
                "ok".to_owned()
            }
            ["quit"] => break,
            _ => format!("error: unknown command {line:?}"),
        };
        println!("{reply}");
    }
    Ok(())
}

/// Sends `n` numbered `playing` frames at `per_second` (each carries its send time), and
/// after every `every`-th one, `flood` timeline repeats of `item`, if given.
fn paced(
    server: &MockServer,
    n: u64,
    per_second: u64,
    flood: Option<(&plex_alerts::mock::MockItem, u64, usize)>,
) {
    let gap = Duration::from_secs(1) / per_second as u32;
    let start = Instant::now();
    for i in 0..n {
        let due = start + gap * i as u32;
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        server.send(&playing_frame(now_ns()));
        if let Some((item, every, times)) = flood {
            if (i + 1) % every == 0 {
                server.flood_timeline(item, times);
            }
        }
    }
}

fn ok(done: bool) -> String {
    if done {
        "ok".to_owned()
    } else {
        "timeout".to_owned()
    }
}

/// A `playing` notification like the captured ones (about 350 bytes), numbered in viewOffset.
fn playing_frame(offset: u64) -> String {
    format!(
        r#"{{"NotificationContainer":{{"type":"playing","size":1,"PlaySessionStateNotification":[{{"sessionKey":"23","clientIdentifier":"88b4f7f6-7554-4338-8982-a044a3a7d010","guid":"plex://episode/5d9c086c7d06d9001ffd2749","ratingKey":"147967","url":"","key":"/library/metadata/147967","viewOffset":{offset},"playQueueItemID":576940,"playQueueID":14462,"state":"playing"}}]}}}}"#
    )
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// The benchmark's handle on the server process.
struct Server {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    url: String,
    token: String,
}

impl Server {
    fn spawn() -> Result<Server> {
        let mut child = Command::new(std::env::current_exe()?)
            .arg("serve")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let stdin = child.stdin.take().ok_or("no stdin")?;
        let mut stdout = BufReader::new(child.stdout.take().ok_or("no stdout")?);
        let mut line = String::new();
        stdout.read_line(&mut line)?;
        let mut words = line.split_whitespace().skip(1);
        let url = words.next().ok_or("no url")?.to_owned();
        let token = words.next().ok_or("no token")?.to_owned();
        Ok(Server {
            child,
            stdin,
            stdout,
            url,
            token,
        })
    }

    fn cmd(&mut self, command: &str) -> Result<String> {
        writeln!(self.stdin, "{command}")?;
        self.stdin.flush()?;
        let mut line = String::new();
        self.stdout.read_line(&mut line)?;
        let line = line.trim().to_owned();
        if line.starts_with("ok") {
            Ok(line)
        } else {
            Err(format!("server: {command}: {line}").into())
        }
    }

    fn quit(mut self) {
        let _ = writeln!(self.stdin, "quit");
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------
// 1. Throughput.

#[derive(Clone, Copy, Debug)]
enum Delivery {
    /// A callback that reads the typed view.
    Callback,
    /// A callback that also parses the raw JSON (`alert.raw()`).
    CallbackRaw,
    /// A crossbeam channel drained by another thread.
    Channel,
}

fn listener(server: &Server, transport: Transport) -> plex_alerts::Builder {
    AlertListener::builder(&server.url)
        .token(&server.token)
        .transport(transport)
}

/// Alerts per second through our listener, from firing the burst to the last delivery.
fn ours(server: &mut Server, transport: Transport, delivery: Delivery, n: u64) -> Result<f64> {
    let (done_tx, done) = crossbeam_channel::bounded(1);
    let count = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&count);
    let on_alert = move |alert: &plex_alerts::Alert, raw: bool| {
        if raw {
            std::hint::black_box(alert.raw());
        }
        std::hint::black_box(alert.notification());
        if counter.fetch_add(1, Ordering::Relaxed) + 1 == n {
            let _ = done_tx.send(Instant::now());
        }
    };
    let builder = listener(server, transport);
    let (listener, drain) = match delivery {
        Delivery::Callback | Delivery::CallbackRaw => {
            let raw = matches!(delivery, Delivery::CallbackRaw);
            (builder.callback(move |a| on_alert(&a, raw)).start()?, None)
        }
        Delivery::Channel => {
            let (tx, rx) = crossbeam_channel::unbounded();
            let drain = std::thread::spawn(move || {
                for event in rx {
                    if let Event::Alert(a) = event {
                        on_alert(&a, false);
                    }
                }
            });
            (builder.handler(tx).start()?, Some(drain))
        }
    };
    server.cmd("wait 1")?;
    let fired = Instant::now();
    server.cmd("fire")?;
    let last = done.recv_timeout(GUARD)?;
    listener.stop();
    if let Some(drain) = drain {
        let _ = drain.join();
    }
    server.cmd("idle")?;
    Ok(n as f64 / last.duration_since(fired).as_secs_f64())
}

/// Where a bare client puts each parsed value, and the thread receiving them, if any.
type Sink = (Box<dyn FnMut(Value)>, Option<std::thread::JoinHandle<()>>);

/// Hands each parsed value to another thread, as the channel form of the listener does,
/// or drops it at once.
fn bare_sink(handoff: bool) -> Sink {
    if !handoff {
        return (Box::new(|v| drop(std::hint::black_box(v))), None);
    }
    let (tx, rx) = crossbeam_channel::unbounded::<Value>();
    let consumer = std::thread::spawn(move || {
        for v in rx {
            std::hint::black_box(v);
        }
    });
    (Box::new(move |v| drop(tx.send(v))), Some(consumer))
}

/// A bare tungstenite client on the server's notifications.
fn bare_websocket(server: &Server) -> Result<tungstenite::WebSocket<MaybeTlsStream<TcpStream>>> {
    let url = format!(
        "{}/:/websockets/notifications?X-Plex-Token={}",
        server.url.replace("http://", "ws://"),
        server.token
    );
    Ok(tungstenite::connect(url)?.0)
}

/// A bare buffered reader on the server's event stream, past the response head.
fn bare_eventsource(server: &Server) -> Result<BufReader<TcpStream>> {
    let addr = server.url.trim_start_matches("http://").to_owned();
    let mut stream = TcpStream::connect(&addr)?;
    write!(
        stream,
        "GET /:/eventsource/notifications HTTP/1.1\r\nHost: {addr}\r\nX-Plex-Token: {}\r\nAccept: text/event-stream\r\n\r\n",
        server.token
    )?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        if line == "\r\n" || line.is_empty() {
            return Ok(reader);
        }
    }
}

/// Hands the data of the next `n` events that are not pings to `each`.
fn read_events(
    reader: &mut BufReader<TcpStream>,
    n: u64,
    mut each: impl FnMut(&str) -> Result<()>,
) -> Result<()> {
    let (mut got, mut ping, mut line) = (0, false, String::new());
    while got < n {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Err("the stream ended".into());
        }
        if let Some(kind) = line.strip_prefix("event: ") {
            ping = kind.trim_end() == "ping";
        } else if let (Some(data), false) = (line.strip_prefix("data: "), ping) {
            each(data)?;
            got += 1;
        }
    }
    Ok(())
}

/// A bare tungstenite client reading the same frames, each parsed into a serde_json::Value.
fn ceiling_websocket(server: &mut Server, n: u64, handoff: bool) -> Result<f64> {
    let mut ws = bare_websocket(server)?;
    let (mut sink, consumer) = bare_sink(handoff);
    server.cmd("wait 1")?;
    let fired = Instant::now();
    server.cmd("fire")?;
    let mut got = 0;
    while got < n {
        if let tungstenite::Message::Text(text) = ws.read()? {
            sink(serde_json::from_str(&text)?);
            got += 1;
        }
    }
    drop(sink);
    if let Some(consumer) = consumer {
        let _ = consumer.join();
    }
    let took = fired.elapsed();
    drop(ws);
    server.cmd("idle")?;
    Ok(n as f64 / took.as_secs_f64())
}

/// A bare buffered line reader on the event stream, each `data:` parsed the same way.
fn ceiling_eventsource(server: &mut Server, n: u64, handoff: bool) -> Result<f64> {
    let mut reader = bare_eventsource(server)?;
    let (mut sink, consumer) = bare_sink(handoff);
    server.cmd("wait 1")?;
    let fired = Instant::now();
    server.cmd("fire")?;
    read_events(&mut reader, n, |data| {
        sink(serde_json::from_str(data)?);
        Ok(())
    })?;
    drop(sink);
    if let Some(consumer) = consumer {
        let _ = consumer.join();
    }
    let took = fired.elapsed();
    drop(reader);
    server.cmd("idle")?;
    Ok(n as f64 / took.as_secs_f64())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn throughput(server: &mut Server, plan: &Plan) -> Result<()> {
    let n = plan.alerts;
    server.cmd(&format!("prepare {n}"))?;
    println!(
        "1. Throughput: {n} `playing` notifications of ~350 bytes in one burst, median of {} rounds",
        plan.rounds
    );
    println!("   | transport   | delivery                  | alerts/s   | ratio to the ceiling |");
    println!("   |-------------|---------------------------|-----------:|---------------------:|");
    for transport in [Transport::WebSocket, Transport::EventSource] {
        let deliveries = [Delivery::Callback, Delivery::CallbackRaw, Delivery::Channel];
        let mut bare = (Vec::new(), Vec::new());
        let mut results: Vec<Vec<f64>> = vec![Vec::new(); deliveries.len()];
        for _ in 0..plan.rounds {
            // Alternate ours and the bare clients so that all see the same machine.
            for (handoff, v) in [(false, &mut bare.0), (true, &mut bare.1)] {
                v.push(match transport {
                    Transport::WebSocket => ceiling_websocket(server, n, handoff)?,
                    _ => ceiling_eventsource(server, n, handoff)?,
                });
            }
            for (delivery, v) in deliveries.iter().zip(&mut results) {
                v.push(ours(server, transport, *delivery, n)?);
            }
        }
        let ceiling = median(bare.0);
        let row = |what: &str, rate: f64| {
            println!(
                "   | {:<11} | {what:<25} | {rate:>10.0} | {:>20.2} |",
                format!("{transport:?}"),
                rate / ceiling
            )
        };
        row("bare client (ceiling)", ceiling);
        row("bare client + hand-off", median(bare.1));
        for (delivery, v) in deliveries.iter().zip(results) {
            row(
                match delivery {
                    Delivery::Callback => "ours: callback",
                    Delivery::CallbackRaw => "ours: callback + raw()",
                    Delivery::Channel => "ours: channel",
                },
                median(v),
            );
        }
    }
    println!(
        "   The ceiling: a bare client doing the least a user could, tungstenite reading text"
    );
    println!("   frames or a buffered line reader on the stream, each message parsed into a");
    println!("   serde_json::Value. \"+ hand-off\" also sends each Value to another thread, as a");
    println!(
        "   channel does. Ours decodes each alert into its typed view (callback); \"raw()\" also"
    );
    println!("   builds the serde_json::Value; \"channel\" hands each alert to another thread.\n");
    Ok(())
}

// ---------------------------------------------------------------------------------------
// 1, continued: instructions per alert, counted by callgrind.

/// The clients whose instructions are counted, in the order printed.
const COUNTED: [(&str, &str); 3] = [
    ("ceiling", "bare client + Value (ceiling)"),
    ("ours", "ours: callback, typed view"),
    ("floor", "bare client, no parse (floor)"),
];

/// The instructions each alert costs the process that receives it, counted by callgrind
/// over `n` and then `2n` alerts: the difference, per alert, leaves start-up out. Each
/// run is this program in a process of its own (`bench count`), whose mock server runs
/// in a child that callgrind does not follow.
fn instructions(n: u64) -> Result<()> {
    let valgrind = Command::new("valgrind")
        .arg("--version")
        .output()
        .is_ok_and(|out| out.status.success());
    println!(
        "   Instructions per alert: ({} - {n} alerts) / {n}, counted by callgrind, reading",
        2 * n
    );
    println!("   viewOffset from each alert");
    if !valgrind {
        println!("   not measured: valgrind not found\n");
        return Ok(());
    }
    println!(
        "   | transport   | client                        | instructions | ratio to the ceiling |"
    );
    println!(
        "   |-------------|-------------------------------|-------------:|---------------------:|"
    );
    for transport in [Transport::WebSocket, Transport::EventSource] {
        let mut ceiling = None;
        for (client, what) in COUNTED {
            let once = collected(client, transport, n)?;
            let twice = collected(client, transport, 2 * n)?;
            let per_alert = twice.saturating_sub(once) as f64 / n as f64;
            let ceiling = *ceiling.get_or_insert(per_alert);
            println!(
                "   | {:<11} | {what:<29} | {per_alert:>12.0} | {:>20.2} |",
                format!("{transport:?}"),
                per_alert / ceiling
            );
        }
    }
    println!(
        "   The ceiling: the bare clients above, each message parsed into a serde_json::Value"
    );
    println!("   and viewOffset read from it; the floor: the same clients, each message read and");
    println!("   not parsed. Ours reads viewOffset from the typed view.\n");
    Ok(())
}

/// The instructions callgrind counted in `bench count client transport n`.
fn collected(client: &str, transport: Transport, n: u64) -> Result<u64> {
    let out = Command::new("valgrind")
        .args(["--tool=callgrind", "--callgrind-out-file=/dev/null"])
        .arg(std::env::current_exe()?)
        .args(["count", client, &format!("{transport:?}"), &n.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    let counted = stderr
        .lines()
        .find_map(|l| l.split_once("Collected :"))
        .and_then(|(_, n)| n.trim().parse().ok());
    match counted {
        Some(counted) if out.status.success() => Ok(counted),
        _ => Err(format!("bench count {client} {transport:?} {n}: {}", stderr.trim()).into()),
    }
}

/// `bench count CLIENT TRANSPORT N`: N `playing` alerts through one client, viewOffset
/// read from each, and nothing else: the process that [`collected`] counts.
fn count(args: &[String]) -> Result<()> {
    let [client, transport, n] = args else {
        return Err("usage: bench count ours|ceiling|floor WebSocket|EventSource N".into());
    };
    let n: u64 = n.parse()?;
    let transport = match transport.as_str() {
        "WebSocket" => Transport::WebSocket,
        "EventSource" => Transport::EventSource,
        other => return Err(format!("unknown transport {other:?}").into()),
    };
    let parse = match client.as_str() {
        "ours" => None,
        "ceiling" => Some(true),
        "floor" => Some(false),
        other => return Err(format!("unknown client {other:?}").into()),
    };
    let guard = Duration::from_secs(3600); // callgrind runs it some 50 times slower
    let mut server = Server::spawn()?;
    server.cmd(&format!("prepare {n}"))?;
    match (parse, transport) {
        (None, _) => {
            let (done_tx, done) = crossbeam_channel::bounded(1);
            let mut got = 0;
            let listener = listener(&server, transport)
                .callback(move |alert| {
                    if let Notification::Playing(sessions) = alert.notification() {
                        std::hint::black_box(sessions.first().and_then(|s| s.view_offset));
                    }
                    got += 1;
                    if got == n {
                        let _ = done_tx.send(());
                    }
                })
                .start()?;
            server.cmd("wait 1")?;
            server.cmd("fire")?;
            done.recv_timeout(guard)?;
            listener.stop();
        }
        (Some(parse), Transport::WebSocket) => {
            let mut ws = bare_websocket(&server)?;
            server.cmd("wait 1")?;
            server.cmd("fire")?;
            let mut got = 0;
            while got < n {
                if let tungstenite::Message::Text(text) = ws.read()? {
                    if parse {
                        let value: Value = serde_json::from_str(&text)?;
                        let container = &value["NotificationContainer"];
                        let sessions = &container["PlaySessionStateNotification"];
                        std::hint::black_box(sessions[0]["viewOffset"].as_u64());
                    } else {
                        std::hint::black_box(text);
                    }
                    got += 1;
                }
            }
        }
        (Some(parse), _) => {
            let mut reader = bare_eventsource(&server)?;
            server.cmd("wait 1")?;
            server.cmd("fire")?;
            read_events(&mut reader, n, |data| {
                if parse {
                    // The event stream sends the child as one object, not an array.
                    let value: Value = serde_json::from_str(data)?;
                    std::hint::black_box(
                        value["PlaySessionStateNotification"]["viewOffset"].as_u64(),
                    );
                } else {
                    std::hint::black_box(data);
                }
                Ok(())
            })?;
        }
    }
    server.quit();
    Ok(())
}

// ---------------------------------------------------------------------------------------
// 2. Stop latency.

fn percentiles(mut v: Vec<Duration>) -> (Duration, Duration, Duration) {
    v.sort();
    let at = |p: f64| v[((v.len() as f64 - 1.0) * p).round() as usize];
    (at(0.5), at(0.99), *v.last().unwrap_or(&Duration::ZERO))
}

fn stop_latency(server: &mut Server, plan: &Plan) -> Result<()> {
    server.cmd("fault unresponsive")?;
    println!("2. Stop latency: stop() on a listener blocked reading a peer that sends nothing and");
    println!("   never answers, {} stops per transport", plan.stops);
    println!("   | transport   | p50        | p99        | max        |");
    println!("   |-------------|-----------:|-----------:|-----------:|");
    for transport in [Transport::WebSocket, Transport::EventSource] {
        let mut took = Vec::with_capacity(plan.stops);
        for _ in 0..plan.stops {
            let (tx, connected) = crossbeam_channel::bounded(1);
            let l = listener(server, transport)
                .callback(|_| {})
                .on_state(move |s| {
                    if matches!(s, ConnectionState::Connected { .. }) {
                        let _ = tx.try_send(());
                    }
                })
                .start()?;
            connected.recv_timeout(GUARD)?;
            let started = Instant::now();
            l.stop();
            took.push(started.elapsed());
        }
        server.cmd("idle")?;
        let (p50, p99, max) = percentiles(took);
        println!(
            "   | {:<11} | {:>10} | {:>10} | {:>10} |",
            format!("{transport:?}"),
            fmt_d(p50),
            fmt_d(p99),
            fmt_d(max)
        );
    }
    server.cmd("fault none")?;
    println!();
    Ok(())
}

fn fmt_d(d: Duration) -> String {
    if d < Duration::from_millis(1) {
        format!("{} µs", d.as_micros())
    } else {
        format!("{:.2} ms", d.as_secs_f64() * 1e3)
    }
}

// ---------------------------------------------------------------------------------------
// 3. Delivery latency.

fn delivery_latency(server: &mut Server) -> Result<()> {
    let (n, rate) = (2_000, 1_000);
    println!("3. Delivery latency: server send() to callback entry, {n} notifications at {rate}/s");
    println!("   | client                  | p50        | p99        | max        |");
    println!("   |-------------------------|-----------:|-----------:|-----------:|");
    let sent_at = |raw: &Value| -> u64 {
        raw["PlaySessionStateNotification"][0]["viewOffset"]
            .as_u64()
            .unwrap_or(0)
    };
    let print = |what: &str, latencies: Vec<Duration>| {
        let (p50, p99, max) = percentiles(latencies);
        println!(
            "   | {what:<23} | {:>10} | {:>10} | {:>10} |",
            fmt_d(p50),
            fmt_d(p99),
            fmt_d(max)
        );
    };
    // The reference: a bare tungstenite client on the same server and machine.
    let mut ws = bare_websocket(server)?;
    server.cmd("wait 1")?;
    writeln!(server.stdin, "rate {n} {rate}")?;
    server.stdin.flush()?;
    let mut bare = Vec::with_capacity(n);
    while bare.len() < n {
        if let tungstenite::Message::Text(text) = ws.read()? {
            let now = now_ns();
            let value: Value = serde_json::from_str(&text)?;
            let container = &value["NotificationContainer"];
            bare.push(Duration::from_nanos(now.saturating_sub(sent_at(container))));
        }
    }
    let mut line = String::new();
    server.stdout.read_line(&mut line)?;
    drop(ws);
    server.cmd("idle")?;
    print("bare tungstenite client", bare);
    for transport in [Transport::WebSocket, Transport::EventSource] {
        let (tx, rx) = crossbeam_channel::unbounded();
        let l = listener(server, transport)
            .callback(move |alert| {
                let now = now_ns();
                let _ = tx.send(Duration::from_nanos(
                    now.saturating_sub(sent_at(alert.raw())),
                ));
            })
            .start()?;
        server.cmd("wait 1")?;
        server.cmd(&format!("rate {n} {rate}"))?;
        let mut latencies = Vec::with_capacity(n);
        for _ in 0..n {
            latencies.push(rx.recv_timeout(GUARD)?);
        }
        l.stop();
        server.cmd("idle")?;
        print(&format!("ours: {transport:?}"), latencies);
    }
    println!("   (from the server's send() call, through its writer thread and loopback, to the");
    println!("   callback: the time a user's code waits for a notification)\n");
    Ok(())
}

// ---------------------------------------------------------------------------------------
// 4. Idle cost.

/// The thread of this process named `name`.
fn thread_id(name: &str) -> Option<String> {
    std::fs::read_dir("/proc/self/task")
        .ok()?
        .flatten()
        .find_map(|t| {
            let comm = std::fs::read_to_string(t.path().join("comm")).ok()?;
            (comm.trim() == name).then(|| t.file_name().to_string_lossy().into_owned())
        })
}

/// CPU time (ns) and context switches (each a wakeup from a blocking call) of a thread.
fn thread_usage(tid: &str) -> Option<(u64, u64)> {
    let sched = std::fs::read_to_string(format!("/proc/self/task/{tid}/schedstat")).ok()?;
    let cpu_ns = sched.split_whitespace().next()?.parse().ok()?;
    let status = std::fs::read_to_string(format!("/proc/self/task/{tid}/status")).ok()?;
    let switches = status
        .lines()
        .filter(|l| {
            l.starts_with("voluntary_ctxt_switches") || l.starts_with("nonvoluntary_ctxt_switches")
        })
        .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        .sum();
    Some((cpu_ns, switches))
}

/// A line of this process's /proc status in KiB: `VmRSS:` (resident now), `VmHWM:` (its peak).
fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn rss_kib() -> Option<u64> {
    status_kib("VmRSS:")
}

fn idle_cost(server: &mut Server, plan: &Plan) -> Result<()> {
    println!(
        "4. Idle cost: one connected listener over {:?} of silence (default heartbeat: a Ping",
        plan.idle
    );
    println!(
        "   after 15 s; the event stream's server pings every 10 s); memory with {} idle listeners",
        plan.idle_listeners
    );
    println!("   | transport   | CPU time   | wakeups | resident memory per idle listener |");
    println!("   |-------------|-----------:|--------:|----------------------------------:|");
    for transport in [Transport::WebSocket, Transport::EventSource] {
        let name = format!(
            "idle-{}",
            if transport == Transport::WebSocket {
                "ws"
            } else {
                "sse"
            }
        );
        let (tx, connected) = crossbeam_channel::bounded(1);
        let l = listener(server, transport)
            .thread_name(&name)
            .callback(|_| {})
            .on_state(move |s| {
                if matches!(s, ConnectionState::Connected { .. }) {
                    let _ = tx.try_send(());
                }
            })
            .start()?;
        connected.recv_timeout(GUARD)?;
        std::thread::sleep(Duration::from_millis(100));
        let tid = thread_id(&name).ok_or("listener thread not found")?;
        let (cpu0, sw0) = thread_usage(&tid).ok_or("no /proc schedstat")?;
        std::thread::sleep(plan.idle);
        let (cpu1, sw1) = thread_usage(&tid).ok_or("no /proc schedstat")?;
        l.stop();
        server.cmd("idle")?;

        let before = rss_kib().ok_or("no VmRSS")?;
        let listeners: Vec<AlertListener> = (0..plan.idle_listeners)
            .map(|_| listener(server, transport).callback(|_| {}).start())
            .collect::<std::result::Result<_, _>>()?;
        server.cmd(&format!("wait {}", plan.idle_listeners))?;
        std::thread::sleep(Duration::from_millis(300));
        let after = rss_kib().ok_or("no VmRSS")?;
        for l in listeners {
            l.stop();
        }
        server.cmd("idle")?;
        println!(
            "   | {:<11} | {:>10} | {:>7} | {:>27.1} KiB |",
            format!("{transport:?}"),
            fmt_d(Duration::from_nanos(cpu1 - cpu0)),
            sw1 - sw0,
            after.saturating_sub(before) as f64 / plan.idle_listeners as f64
        );
    }
    println!("   (wakeups: context switches of the listener's thread; memory: this process's RSS");
    println!("   growth with the listeners connected and idle, divided by their number)\n");
    Ok(())
}

// ---------------------------------------------------------------------------------------
// 7. python-plexapi.

fn compare_plexapi(server: &mut Server, python: &str, plan: &Plan) -> Result<()> {
    let n = plan.alerts.min(50_000);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/plexapi_client.py");
    server.cmd(&format!("prepare {n}"))?;
    println!("7. Against python-plexapi's AlertListener: the same mock server, {n} alerts");
    let mut child = Command::new(python)
        .args([script, &server.url, &server.token, &n.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let mut py_in = child.stdin.take().ok_or("no stdin")?;
    let mut py_out = BufReader::new(child.stdout.take().ok_or("no stdout")?);
    let mut line = String::new();
    let mut expect = |prefix: &str, line: &mut String| -> Result<String> {
        line.clear();
        py_out.read_line(line)?;
        line.strip_prefix(prefix)
            .map(|s| s.trim().to_owned())
            .ok_or_else(|| format!("python: expected {prefix:?}, got {line:?}").into())
    };
    expect("connected", &mut line)?;
    server.cmd("wait 1")?;
    let fired = now_ns();
    server.cmd("fire")?;
    let last: u64 = expect("done", &mut line)?.parse()?;
    let py_rate = n as f64 / (last.saturating_sub(fired) as f64 / 1e9);
    server.cmd("idle")?;
    server.cmd("fault unresponsive")?;
    writeln!(py_in, "stop")?;
    py_in.flush()?;
    let py_stops: Vec<f64> = expect("stops", &mut line)?
        .split_whitespace()
        .filter_map(|s| s.parse().ok())
        .collect();
    let _ = child.wait();
    server.cmd("idle")?;
    server.cmd("fault none")?;
    let mut rest = String::new();
    let _ = py_out.read_to_string(&mut rest);

    let ours_rate = median(
        (0..3)
            .map(|_| ours(server, Transport::WebSocket, Delivery::Callback, n))
            .collect::<Result<_>>()?,
    );
    server.cmd("fault unresponsive")?;
    let mut our_stops = Vec::new();
    for _ in 0..py_stops.len().max(1) {
        let (tx, connected) = crossbeam_channel::bounded(1);
        let l = listener(server, Transport::WebSocket)
            .callback(|_| {})
            .on_state(move |s| {
                if matches!(s, ConnectionState::Connected { .. }) {
                    let _ = tx.try_send(());
                }
            })
            .start()?;
        connected.recv_timeout(GUARD)?;
        let t = Instant::now();
        l.stop();
        our_stops.push(t.elapsed().as_secs_f64() * 1e3);
    }
    server.cmd("idle")?;
    server.cmd("fault none")?;
    let py_stop = median(py_stops);
    let our_stop = median(our_stops);
    println!("   |                  | python-plexapi | plex-alerts | ratio     |");
    println!("   |------------------|---------------:|------------:|----------:|");
    println!(
        "   | alerts/s         | {py_rate:>14.0} | {ours_rate:>11.0} | {:>8.0}× |",
        ours_rate / py_rate
    );
    println!(
        "   | stop, silent peer| {py_stop:>11.1} ms | {our_stop:>8.2} ms | {:>8.0}× |",
        py_stop / our_stop.max(0.001)
    );
    println!("   (python: stop() and then waiting for its thread to end, as ours does)\n");
    Ok(())
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cpu}, {cores} cores, {}", std::env::consts::OS)
}
