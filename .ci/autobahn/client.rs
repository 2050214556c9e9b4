//! Drives WebSocket clients through Autobahn|Testsuite's fuzzingserver, case by case, and
//! grades them from its reports: the crate's own client (an `AlertListener`), and
//! tungstenite's beside it on the same setup, for comparison. `.ci/autobahn/run` installs
//! and starts the server, then runs this:
//!
//! ```text
//! cargo run --example autobahn -- --server 127.0.0.1:PORT --reports DIR [--jobs 8] [--ours-only] [--verbose]
//! cargo run --example autobahn -- --reports DIR   # grades the reports there again
//! ```
//!
//! The crate's client asks for `<base path>/:/websockets/notifications` and refuses a query
//! string in its URL, so every client goes through a proxy (here, on loopback) that
//! rewrites `/<agent>/<case>/:/websockets/notifications` to the server's
//! `/runCase?case=<case>&agent=<agent>`, passes each direction's end of stream on as it
//! comes (a FIN, not a close), and notes which side ended the TCP connection first.
//!
//! Neither client sends data (the crate's is a listener): a case that wants an echo fails
//! for both. Such a case is "echo-only" when the echoes are all that is missing (what the
//! server received is what it expected, less the echoed messages) and its close grade is
//! either fine or the server's timer that gave up waiting for the echo; those are listed
//! apart and fail nothing.
//!
//! Exits non-zero, saying why, when the crate's client grades worse than OK,
//! NON-STRICT or INFORMATIONAL on a case of categories 2 to 7 that is not echo-only, when
//! a text case with invalid UTF-8 is not OK, when it ended a TCP connection before the
//! server did (RFC 6455, 7.1.1), or when it grades worse than tungstenite's on any case of
//! categories 2 to 7.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use plex_alerts::{AlertListener, ConnectionState, Event, Reconnect};
use serde_json::Value;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

const OURS: &str = "plex-alerts";
const TUNGSTENITE: &str = "tungstenite";
/// Longest a case may take before it is called hung (the server's own end after 1 or 2 s).
const CASE_GUARD: Duration = Duration::from_secs(60);

/// For each agent and case number: whether the server ended its side of the TCP
/// connection before the client did, as the proxy saw it.
static SERVER_CLOSED_FIRST: Mutex<BTreeMap<(String, usize), bool>> = Mutex::new(BTreeMap::new());

struct Options {
    server: Option<SocketAddr>,
    reports: PathBuf,
    jobs: usize,
    agents: Vec<&'static str>,
    verbose: bool,
}

fn main() {
    if let Err(e) = run() {
        eprintln!("autobahn: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let options = options()?;
    let (count, hung) = match options.server {
        Some(server) => {
            let started = Instant::now();
            let count = case_count(server)?;
            let proxy = start_proxy(server)?;
            println!(
                "{count} cases, {} at a time, through a rewriting proxy on {proxy}: {}",
                options.jobs,
                options.agents.join(", ")
            );
            let hung = run_cases(&options, proxy, count);
            for agent in &options.agents {
                update_reports(server, agent)?;
            }
            println!("ran in {:.0?}", started.elapsed());
            (Some(count), hung)
        }
        None => (None, Vec::new()),
    };
    let mut graded = BTreeMap::new();
    for agent in &options.agents {
        graded.insert(*agent, read_reports(&options.reports, agent)?);
    }
    let problems = judge(&graded, count, &hung, options.verbose);
    if problems.is_empty() {
        println!("autobahn: passed");
        Ok(())
    } else {
        for p in &problems {
            eprintln!("  - {p}");
        }
        Err(format!(
            "{} problem(s); the reports are in {}",
            problems.len(),
            options.reports.display()
        )
        .into())
    }
}

fn options() -> Result<Options> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1).cloned())
    };
    // Without a server, the reports already in the directory are graded again.
    let server: Option<SocketAddr> = value("--server").map(|s| s.parse()).transpose()?;
    if server.is_some_and(|s| !s.ip().is_loopback()) {
        return Err("the fuzzingserver must be on loopback".into());
    }
    let mut agents = vec![OURS];
    if !args.iter().any(|a| a == "--ours-only") {
        agents.push(TUNGSTENITE);
    }
    Ok(Options {
        server,
        reports: value("--reports")
            .ok_or("--reports DIR is required")?
            .into(),
        jobs: value("--jobs").map(|j| j.parse()).transpose()?.unwrap_or(8),
        agents,
        verbose: args.iter().any(|a| a == "--verbose"),
    })
}

/// A request to one of the server's control paths, read to its close: every text message.
fn control(server: SocketAddr, path: &str) -> Result<Vec<String>> {
    let (mut ws, _) = tungstenite::connect(format!("ws://{server}{path}"))?;
    let mut texts = Vec::new();
    loop {
        match ws.read() {
            Ok(tungstenite::Message::Text(t)) => texts.push(t.to_string()),
            Ok(_) => {}
            Err(tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed) => {
                return Ok(texts);
            }
            Err(e) => return Err(e.into()),
        }
    }
}

fn case_count(server: SocketAddr) -> Result<usize> {
    let texts = control(server, "/getCaseCount")?;
    Ok(texts.first().ok_or("no case count")?.trim().parse()?)
}

fn update_reports(server: SocketAddr, agent: &str) -> Result<()> {
    control(server, &format!("/updateReports?agent={agent}")).map(|_| ())
}

// ---------------------------------------------------------------------------------------
// The proxy

fn start_proxy(upstream: SocketAddr) -> Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    thread::spawn(move || {
        for client in listener.incoming().flatten() {
            thread::spawn(move || {
                if let Err(e) = relay(client, upstream) {
                    eprintln!("autobahn proxy: {e}");
                }
            });
        }
    });
    Ok(addr)
}

/// One connection: the request head rewritten, then bytes both ways until each side ends.
fn relay(mut client: TcpStream, upstream: SocketAddr) -> Result<()> {
    let mut head = Vec::new();
    let mut chunk = [0u8; 4096];
    let end = loop {
        if let Some(i) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if head.len() > 64 * 1024 {
            return Err("a request head over 64 KiB".into());
        }
        match client.read(&mut chunk)? {
            0 => return Err("the client left before its request ended".into()),
            n => head.extend_from_slice(&chunk[..n]),
        }
    };
    let rest = head.split_off(end);
    let head = String::from_utf8(head)?;
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let target = request_line.split(' ').nth(1).unwrap_or_default();
    let (agent, case) = match target.split('/').collect::<Vec<_>>().as_slice() {
        ["", agent, case, ":", "websockets", "notifications"] => (*agent, case.parse::<usize>()?),
        _ => return Err(format!("not a case's path: {target:?}").into()),
    };
    let mut rewritten = format!("GET /runCase?case={case}&agent={agent} HTTP/1.1\r\n");
    for line in lines.filter(|l| !l.is_empty()) {
        if line.to_ascii_lowercase().starts_with("host:") {
            rewritten.push_str(&format!("Host: {upstream}\r\n"));
        } else {
            rewritten.push_str(line);
            rewritten.push_str("\r\n");
        }
    }
    rewritten.push_str("\r\n");
    let mut server = TcpStream::connect(upstream)?;
    server.set_nodelay(true)?;
    client.set_nodelay(true)?;
    server.write_all(rewritten.as_bytes())?;
    server.write_all(&rest)?;
    // Which side ended first: true for the server.
    let first = Arc::new(Mutex::new(None));
    let up = {
        let (from, to) = (client.try_clone()?, server.try_clone()?);
        let first = Arc::clone(&first);
        thread::spawn(move || pipe(from, to, &first, false))
    };
    pipe(server, client, &first, true);
    let _ = up.join();
    let server_first = first.lock().unwrap().unwrap_or_default();
    SERVER_CLOSED_FIRST
        .lock()
        .unwrap()
        .insert((agent.to_owned(), case), server_first);
    Ok(())
}

/// Copies until `from` ends, then ends `to`'s direction the same way (FIN, not a close).
/// `first` is set to `side` if `from` ended before the other direction's source did.
fn pipe(mut from: TcpStream, mut to: TcpStream, first: &Mutex<Option<bool>>, side: bool) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    first.lock().unwrap().get_or_insert(side);
    let _ = to.shutdown(Shutdown::Write);
}

// ---------------------------------------------------------------------------------------
// The clients

/// Runs every case for every agent, `jobs` at a time; returns the cases that hung.
fn run_cases(options: &Options, proxy: SocketAddr, count: usize) -> Vec<(String, usize)> {
    let work: Vec<(&'static str, usize)> = (1..=count)
        .flat_map(|case| options.agents.iter().map(move |a| (*a, case)))
        .collect();
    let next = AtomicUsize::new(0);
    let hung = Mutex::new(Vec::new());
    let verbose = options.verbose;
    thread::scope(|s| {
        for _ in 0..options.jobs.max(1) {
            s.spawn(|| {
                while let Some(&(agent, case)) = work.get(next.fetch_add(1, Ordering::SeqCst)) {
                    let result = match agent {
                        OURS => ours(proxy, case, verbose),
                        _ => tungstenite_client(proxy, case),
                    };
                    if let Err(e) = result {
                        eprintln!("{agent}, case {case}: {e}");
                        hung.lock().unwrap().push((agent.to_owned(), case));
                    }
                }
            });
        }
    });
    hung.into_inner().unwrap()
}

/// The crate's client, as an app would use it, reconnecting never: the case ends when
/// the listener does. What it reports is printed with `--verbose`.
fn ours(proxy: SocketAddr, case: usize, verbose: bool) -> Result<()> {
    let (tx, events) = crossbeam_channel::unbounded();
    let listener = AlertListener::builder(format!("http://{proxy}/{OURS}/{case}"))
        .reconnect(Reconnect::never())
        .handler(tx)
        .start()?;
    let deadline = Instant::now() + CASE_GUARD;
    loop {
        match events.recv_deadline(deadline) {
            Ok(Event::State(ConnectionState::Stopped)) => break,
            Ok(Event::Error(e)) if verbose => println!("{OURS}, case {case}: {e}"),
            Ok(_) => {}
            Err(_) => {
                listener.stop();
                return Err("did not end".into());
            }
        }
    }
    listener.stop();
    Ok(())
}

/// tungstenite's client as its docs show it, reading until the connection ends, then
/// dropping it.
fn tungstenite_client(proxy: SocketAddr, case: usize) -> Result<()> {
    let stream = TcpStream::connect(proxy)?;
    stream.set_read_timeout(Some(CASE_GUARD))?;
    let url = format!("ws://{proxy}/{TUNGSTENITE}/{case}/:/websockets/notifications");
    let (mut ws, _) = tungstenite::client(url, stream).map_err(|e| e.to_string())?;
    loop {
        match ws.read() {
            Ok(_) => {}
            Err(tungstenite::Error::Io(e)) if e.kind() == std::io::ErrorKind::WouldBlock => {
                return Err("did not end".into());
            }
            Err(_) => return Ok(()),
        }
    }
}

// ---------------------------------------------------------------------------------------
// The grades

/// One case's outcome, from the server's report.
#[derive(Debug, Clone)]
struct Graded {
    id: CaseId,
    behavior: String,
    close: String,
    /// Failed only for want of echoes: graded apart.
    echo_only: bool,
    /// A text case whose message is not UTF-8: the client must fail the connection (1007).
    invalid_utf8: bool,
    /// The close code the client sent, if any.
    client_close: Option<u64>,
    /// The server ended the TCP connection first, as the proxy saw it (unknown when the
    /// reports are graded again).
    server_closed_first: Option<bool>,
    opened: bool,
    /// The server's words for what went wrong, for the problems listed.
    result: String,
}

fn read_reports(dir: &Path, agent: &str) -> Result<BTreeMap<CaseId, Graded>> {
    let index: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("index.json"))?)?;
    let cases = index[agent]
        .as_object()
        .ok_or_else(|| format!("no reports for {agent}"))?;
    let mut graded = BTreeMap::new();
    for (id, summary) in cases {
        let file = summary["reportfile"].as_str().ok_or("no report file")?;
        let report = std::fs::read_to_string(dir.join(file))?;
        let report: Value = serde_json::from_str(&without_surrogates(&report))?;
        let mut g = grade(CaseId::parse(id), &report);
        let number = report["case"].as_u64().unwrap_or_default() as usize;
        g.server_closed_first = SERVER_CLOSED_FIRST
            .lock()
            .unwrap()
            .get(&(agent.to_owned(), number))
            .copied();
        graded.insert(CaseId::parse(id), g);
    }
    Ok(graded)
}

/// The reports quote what was sent as Python wrote it, lone UTF-16 surrogates included
/// (`"\ud800"`), which serde_json refuses: each surrogate escape becomes U+FFFD, in
/// expected and received alike.
fn without_surrogates(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let mut rest = json;
    while let Some(at) = rest.find('\\') {
        out.push_str(&rest[..at]);
        let escape = rest.get(at..at + 6).unwrap_or(&rest[at..]);
        let surrogate = escape.len() == 6
            && escape.as_bytes()[1] == b'u'
            && u16::from_str_radix(&escape[2..], 16).is_ok_and(|u| (0xD800..0xE000).contains(&u));
        let taken = if surrogate { 6 } else { escape.len().min(2) };
        out.push_str(if surrogate {
            "\\ufffd"
        } else {
            &rest[at..at + taken]
        });
        rest = &rest[at + taken..];
    }
    out.push_str(rest);
    out
}

fn grade(id: CaseId, report: &Value) -> Graded {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    let behavior = text(&report["behavior"]);
    let close = text(&report["behaviorClose"]);
    let expected_close = &report["expectedClose"];
    let received = &report["received"];
    let is_message = |event: &Value| event.get(0).and_then(Value::as_str) == Some("message");
    let without_messages = |events: &Value| -> Vec<Value> {
        events
            .as_array()
            .map(|a| a.iter().filter(|e| !is_message(e)).cloned().collect())
            .unwrap_or_default()
    };
    let alternatives: Vec<&Value> = report["expected"]
        .as_object()
        .map(|o| o.values().collect())
        .unwrap_or_default();
    let wants_echo = alternatives
        .iter()
        .any(|alt| alt.as_array().is_some_and(|a| a.iter().any(is_message)));
    let received_all_else = alternatives
        .iter()
        .any(|alt| without_messages(alt) == without_messages(received))
        && !received
            .as_array()
            .is_some_and(|a| a.iter().any(is_message));
    // The server gave up waiting for the echo: its timer failed the connection (1001),
    // where it would have closed with the code it expects once the echo came.
    let gave_up_waiting = expected_close["closedByMe"] == Value::Bool(true)
        && report["wirelog"].as_array().is_some_and(|log| {
            log.iter()
                .any(|e| e.get(0).and_then(Value::as_str) == Some("KLE"))
        });
    let echo_only = behavior == "FAILED"
        && wants_echo
        && received_all_else
        && (passes(&close) || gave_up_waiting);
    let invalid_utf8 = expected_close["closedByMe"] == Value::Bool(false)
        && expected_close["closeCode"]
            .as_array()
            .is_some_and(|codes| codes.len() == 1 && codes[0] == 1007);
    Graded {
        id,
        behavior,
        close,
        echo_only,
        invalid_utf8,
        client_close: report["remoteCloseCode"].as_u64(),
        server_closed_first: None,
        opened: report["wirelog"]
            .as_array()
            .is_some_and(|log| !log.is_empty())
            && text(&report["resultClose"])
                != "The WebSocket opening handshake was never completed!",
        result: format!(
            "{} {}",
            text(&report["result"]),
            text(&report["resultClose"])
        ),
    }
}

const ACCEPTED: [&str; 3] = ["OK", "NON-STRICT", "INFORMATIONAL"];

impl Graded {
    /// What fails the run: a case of categories 2 to 7, not echo-only, graded worse than
    /// OK, NON-STRICT or INFORMATIONAL (for its messages or its close).
    fn fails(&self) -> bool {
        self.id.is_graded() && !self.echo_only && !(passes(&self.behavior) && passes(&self.close))
    }
}

fn passes(grade: &str) -> bool {
    ACCEPTED.contains(&grade)
}

/// 0 for OK and INFORMATIONAL, 1 for NON-STRICT, 2 for any failure.
fn rank(grade: &str) -> u8 {
    match grade {
        "OK" | "INFORMATIONAL" => 0,
        "NON-STRICT" => 1,
        _ => 2,
    }
}

/// A case id that sorts as the suite numbers them (2.10 after 2.9).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct CaseId(Vec<u32>);

impl CaseId {
    fn parse(id: &str) -> CaseId {
        CaseId(id.split('.').map(|p| p.parse().unwrap_or(0)).collect())
    }

    fn category(&self) -> u32 {
        self.0.first().copied().unwrap_or(0)
    }

    /// Categories 2 to 7: pings, reserved bits, opcodes, fragments, UTF-8, closes.
    /// Categories 1 and 10 only send messages to be echoed.
    fn is_graded(&self) -> bool {
        (2..=7).contains(&self.category())
    }
}

impl std::fmt::Display for CaseId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self.0.iter().map(u32::to_string).collect();
        f.write_str(&parts.join("."))
    }
}

/// Prints the tables; returns what fails the run.
fn judge(
    graded: &BTreeMap<&str, BTreeMap<CaseId, Graded>>,
    count: Option<usize>,
    hung: &[(String, usize)],
    verbose: bool,
) -> Vec<String> {
    let mut problems: Vec<String> = hung
        .iter()
        .map(|(agent, case)| format!("{agent}: case {case} did not end"))
        .collect();
    let ours = &graded[OURS];
    if let Some(count) = count.filter(|c| *c != ours.len()) {
        problems.push(format!("{OURS}: {} reports for {count} cases", ours.len()));
    }
    println!();
    println!(
        "| grade (behavior / close) | {} |",
        graded.keys().copied().collect::<Vec<_>>().join(" | ")
    );
    println!("|---|{}", "---:|".repeat(graded.len()));
    let mut grades: Vec<String> = Vec::new();
    for cases in graded.values() {
        for g in cases.values() {
            for grade in [
                format!("behavior {}", g.behavior),
                format!("close {}", g.close),
            ] {
                if !grades.contains(&grade) {
                    grades.push(grade);
                }
            }
        }
    }
    grades.sort();
    for grade in &grades {
        let counts: Vec<String> = graded
            .values()
            .map(|cases| {
                cases
                    .values()
                    .filter(|g| {
                        format!("behavior {}", g.behavior) == *grade
                            || format!("close {}", g.close) == *grade
                    })
                    .count()
                    .to_string()
            })
            .collect();
        println!("| {grade} | {} |", counts.join(" | "));
    }
    let row = |what: &str, f: &dyn Fn(&Graded) -> bool| {
        let counts: Vec<String> = graded
            .values()
            .map(|cases| cases.values().filter(|g| f(g)).count().to_string())
            .collect();
        println!("| {what} | {} |", counts.join(" | "));
    };
    row("echo-only (graded apart)", &|g| g.echo_only);
    row(
        "categories 2-7, not echo-only, worse than OK, NON-STRICT, INFORMATIONAL",
        &|g| g.fails(),
    );
    row("a close frame from the client", &|g| {
        g.client_close.is_some()
    });
    if ours.values().any(|g| g.server_closed_first.is_some()) {
        row("the server closed TCP first", &|g| {
            g.server_closed_first == Some(true)
        });
    } else {
        println!("| the server closed TCP first | (seen only when the cases run) |");
    }
    println!();

    let echo_only: Vec<String> = ours
        .iter()
        .filter(|(_, g)| g.echo_only)
        .map(|(id, _)| id.to_string())
        .collect();
    println!(
        "echo-only for {OURS} ({}): {}",
        echo_only.len(),
        ranges(&echo_only)
    );

    for (id, g) in ours {
        let fail = |what: String| format!("{OURS}, case {id}: {what} ({})", g.result.trim());
        if g.fails() {
            problems.push(fail(format!("graded {} / {}", g.behavior, g.close)));
        }
        if g.invalid_utf8 && !(g.behavior == "OK" && g.close == "OK") {
            problems.push(fail(format!(
                "invalid UTF-8 graded {} / {}, not OK",
                g.behavior, g.close
            )));
        }
        if g.opened && g.server_closed_first == Some(false) {
            problems.push(fail("the client closed the TCP connection first".into()));
        }
    }
    let invalid_utf8 = ours.values().filter(|g| g.invalid_utf8).count();
    let invalid_utf8_ok = ours
        .values()
        .filter(|g| g.invalid_utf8 && g.behavior == "OK" && g.close == "OK")
        .count();
    println!("invalid UTF-8 cases OK for {OURS}: {invalid_utf8_ok} of {invalid_utf8}");

    if let Some(theirs) = graded.get(TUNGSTENITE) {
        let (mut equal, mut better, mut worse, mut cleaner) =
            (0, Vec::new(), Vec::new(), Vec::new());
        for (id, g) in ours {
            let Some(t) = theirs.get(id) else { continue };
            let (ob, oc, tb, tc) = (
                rank(&g.behavior),
                rank(&g.close),
                rank(&t.behavior),
                rank(&t.close),
            );
            if ob > tb || oc > tc {
                worse.push(id.to_string());
                if id.is_graded() {
                    problems.push(format!(
                        "{OURS}, case {id}: graded {} / {}, worse than {TUNGSTENITE}'s {} / {}",
                        g.behavior, g.close, t.behavior, t.close
                    ));
                }
            } else if ob < tb || oc < tc {
                better.push(id.to_string());
            } else {
                equal += 1;
            }
            if g.client_close.is_some() && t.client_close.is_none() {
                cleaner.push(id.to_string());
            }
        }
        println!(
            "{OURS} beside {TUNGSTENITE}, case by case: equal {equal}, better {} {}, worse {} {}",
            better.len(),
            ranges(&better),
            worse.len(),
            ranges(&worse)
        );
        println!(
            "a close frame where {TUNGSTENITE} sent none: {} {}",
            cleaner.len(),
            ranges(&cleaner)
        );
        if verbose {
            for (id, g) in ours {
                if let Some(t) = theirs.get(id) {
                    println!(
                        "{id:8} {OURS} {} / {} {:?}{}   {TUNGSTENITE} {} / {} {:?}",
                        g.behavior,
                        g.close,
                        g.client_close,
                        if g.echo_only { " echo-only" } else { "" },
                        t.behavior,
                        t.close,
                        t.client_close
                    );
                }
            }
        }
    }
    problems
}

/// Case ids with runs of one subsection shortened: `6.3.1-6.3.2, 7.5.1`.
fn ranges(ids: &[String]) -> String {
    if ids.is_empty() {
        return String::new();
    }
    let mut out: Vec<String> = Vec::new();
    let mut run: Vec<&String> = Vec::new();
    // The same subsection, and the next number in it.
    let follows = |last: &str, id: &str| {
        let (a, b) = (CaseId::parse(last).0, CaseId::parse(id).0);
        a.len() == b.len()
            && a[..a.len() - 1] == b[..b.len() - 1]
            && a.last().map(|n| n + 1) == b.last().copied()
    };
    for id in ids {
        if run.last().is_some_and(|last| !follows(last, id)) {
            out.push(span(&run));
            run.clear();
        }
        run.push(id);
    }
    out.push(span(&run));
    format!("({})", out.join(", "))
}

fn span(run: &[&String]) -> String {
    match run {
        [one] => one.to_string(),
        [first, .., last] => format!("{first}-{last}"),
        [] => String::new(),
    }
}
