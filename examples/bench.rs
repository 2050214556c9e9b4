//! Measures plex-alerts against the mock server on loopback and prints a table:
//! throughput beside a bare client's ceiling, stop latency, delivery latency, idle cost and
//! memory per idle listener. Figures are measured side by side in one run (alternating
//! runs, medians), so that they hold on a noisy machine.
//!
//! ```text
//! cargo run --release --example bench              # the full table (about a minute)
//! cargo run --release --example bench -- --quick   # smaller counts, shorter idle window
//! bash benches/compare-plexapi.sh                  # adds python-plexapi beside ours
//! ```
//!
//! The mock server runs in a child process (`bench serve`, driven over stdin), so that
//! this process holds nothing but the clients being measured.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use plex_alerts::mock::{Fault, MockServer};
use plex_alerts::{AlertListener, ConnectionState, Event, LibraryEvent, SessionEvent, Transport};
use serde_json::Value;

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
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("serve") {
        return serve();
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
    stop_latency(&mut server, &plan)?;
    delivery_latency(&mut server)?;
    idle_cost(&mut server, &plan)?;
    session_tracker(&mut server, &plan)?;
    library_tracker(&mut server, &plan)?;
    if let Some(python) = python {
        compare_plexapi(&mut server, &python, &plan)?;
    }
    server.quit();
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
    let repeats_before = tracked.stats().repeats;
    let started = Instant::now();
    server.cmd(&format!("flood {flood}"))?;
    let deadline = Instant::now() + GUARD;
    while tracked.stats().repeats < repeats_before + flood as u64 {
        if Instant::now() > deadline {
            return Err("the tracker did not read the flood in time".into());
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let with_tracker = started.elapsed();
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
                let (n, per_second): (u64, u64) = (n.parse()?, per_second.parse()?);
                let gap = Duration::from_secs(1) / per_second as u32;
                let start = Instant::now();
                for i in 0..n {
                    let due = start + gap * i as u32;
                    if let Some(wait) = due.checked_duration_since(Instant::now()) {
                        std::thread::sleep(wait);
                    }
                    server.send(&playing_frame(now_ns()));
                }
                "ok".to_owned()
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

/// A bare tungstenite client reading the same frames, each parsed into a serde_json::Value.
fn ceiling_websocket(server: &mut Server, n: u64, handoff: bool) -> Result<f64> {
    let url = format!(
        "{}/:/websockets/notifications?X-Plex-Token={}",
        server.url.replace("http://", "ws://"),
        server.token
    );
    let (mut ws, _) = tungstenite::connect(url)?;
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
            break;
        }
    }
    let (mut sink, consumer) = bare_sink(handoff);
    server.cmd("wait 1")?;
    let fired = Instant::now();
    server.cmd("fire")?;
    let mut got = 0;
    let mut ping = false;
    while got < n {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Err("the stream ended".into());
        }
        if let Some(kind) = line.strip_prefix("event: ") {
            ping = kind.trim_end() == "ping";
        } else if let (Some(data), false) = (line.strip_prefix("data: "), ping) {
            sink(serde_json::from_str(data)?);
            got += 1;
        }
    }
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
    let url = format!(
        "{}/:/websockets/notifications?X-Plex-Token={}",
        server.url.replace("http://", "ws://"),
        server.token
    );
    let (mut ws, _) = tungstenite::connect(url)?;
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

fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
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
