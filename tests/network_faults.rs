//! Real network faults, made by the kernel rather than simulated by the mock: the server
//! runs in a network namespace of the test's own, behind a veth pair (iproute2).
//!
//! - Black hole: the server's side of the link goes down under an established
//!   connection, as when a NAT forgets it: no RST, no FIN, just silence. The heartbeat
//!   finds it within its bound, and the listener reconnects once the link is back.
//! - Loss: nftables drops every packet the server sends for a while. TCP retransmits;
//!   nothing is lost, duplicated or reordered, and the connection never drops.
//!
//! These need root (network namespaces, links, nftables). Where that is not allowed they
//! are skipped with the reason printed ("SKIPPED: ..."), unless
//! `PLEX_ALERTS_REQUIRE_NETNS` is set, as CI sets it: there a skip is a failure.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::Ipv4Addr;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use crossbeam_channel::Receiver;
use plex_alerts::{AlertListener, ConnectionState, Error, Event, Heartbeat, Transport};

/// Runs `program args`; its error output if it fails.
fn run(program: &str, args: &[&str]) -> Result<(), String> {
    let out = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| format!("{program}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{program} {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// A network namespace with one veth pair: `10.231.<n>.1` on the host, `.2` inside.
struct Netns {
    name: String,
    host_if: String,
    ns_if: String,
    n: u8,
}

impl Netns {
    fn create(n: u8) -> Result<Netns, String> {
        let id = std::process::id() % 100_000;
        let ns = Netns {
            name: format!("plexa-{id}-{n}"),
            host_if: format!("pah{id}{n}"),
            ns_if: format!("pan{id}{n}"),
            n,
        };
        run("ip", &["netns", "add", &ns.name])?;
        let host_ip = format!("10.231.{n}.1/30");
        let ns_ip = format!("10.231.{n}.2/30");
        let (name, host_if, ns_if) = (&ns.name, &ns.host_if, &ns.ns_if);
        run(
            "ip",
            &[
                "link", "add", host_if, "type", "veth", "peer", "name", ns_if,
            ],
        )?;
        run("ip", &["link", "set", ns_if, "netns", name])?;
        run("ip", &["addr", "add", &host_ip, "dev", host_if])?;
        run("ip", &["link", "set", host_if, "up"])?;
        ns.exec("ip", &["addr", "add", &ns_ip, "dev", ns_if])?;
        ns.exec("ip", &["link", "set", ns_if, "up"])?;
        ns.exec("ip", &["link", "set", "lo", "up"])?;
        Ok(ns)
    }

    fn server_ip(&self) -> Ipv4Addr {
        Ipv4Addr::new(10, 231, self.n, 2)
    }

    /// Runs a command inside the namespace.
    fn exec(&self, program: &str, args: &[&str]) -> Result<(), String> {
        let mut all = vec!["netns", "exec", &self.name, program];
        all.extend_from_slice(args);
        run("ip", &all)
    }

    /// The server's side of the link up or down.
    fn link(&self, up: bool) {
        let state = if up { "up" } else { "down" };
        self.exec("ip", &["link", "set", &self.ns_if, state])
            .expect("set the link");
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = run("ip", &["link", "del", &self.host_if]);
        let _ = run("ip", &["netns", "del", &self.name]);
    }
}

/// A mock server in another process inside the namespace, driven over its stdin.
struct RemoteServer {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    url: String,
    token: String,
}

impl RemoteServer {
    fn start(ns: &Netns) -> RemoteServer {
        let mut child = Command::new("ip")
            .args(["netns", "exec", &ns.name])
            .arg(example("mock_server"))
            .args(["--ip", &ns.server_ip().to_string()])
            // The event stream's pings, often: a short heartbeat must not drop healthy streams.
            .args(["--ping-ms", "300"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the server in the namespace");
        let stdin = child.stdin.take().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let line = read_reply(&mut stdout, "LISTENING");
        let words: Vec<&str> = line.split_whitespace().collect();
        RemoteServer {
            url: words[1].to_owned(),
            token: words[2].to_owned(),
            child,
            stdin,
            stdout,
        }
    }

    /// Asks the server to do something; waits for its answer.
    fn ask(&mut self, command: &str) -> String {
        writeln!(self.stdin, "{command}").unwrap();
        self.stdin.flush().unwrap();
        read_reply(&mut self.stdout, "DONE")
    }

    fn port(&self) -> String {
        self.url.rsplit(':').next().unwrap().to_owned()
    }
}

impl Drop for RemoteServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The next line starting with `word`, skipping the test harness's own.
fn read_reply(stdout: &mut impl BufRead, word: &str) -> String {
    for _ in 0..1000 {
        let mut line = String::new();
        assert!(stdout.read_line(&mut line).unwrap() > 0, "the server ended");
        if line.starts_with(word) {
            return line.trim().to_owned();
        }
    }
    panic!("no {word} line")
}

/// A namespace, or why the test cannot have one here (a failure where it must).
fn namespace(n: u8, needs_nft: bool) -> Option<Netns> {
    let made = Netns::create(n).and_then(|ns| {
        if needs_nft {
            ns.exec("nft", &["list", "tables"])?;
        }
        Ok(ns)
    });
    match made {
        Ok(ns) => Some(ns),
        Err(why) if std::env::var_os("PLEX_ALERTS_REQUIRE_NETNS").is_some() => {
            panic!("network namespaces are required here (PLEX_ALERTS_REQUIRE_NETNS): {why}")
        }
        Err(why) => {
            eprintln!("SKIPPED: this test needs root, iproute2 and nftables: {why}");
            println!("SKIPPED: {why}");
            None
        }
    }
}

fn listener(
    server: &RemoteServer,
    transport: Transport,
    heartbeat: Heartbeat,
) -> (AlertListener, Receiver<Event>) {
    let (tx, rx) = crossbeam_channel::unbounded();
    let listener = AlertListener::builder(&server.url)
        .token(&server.token)
        .transport(transport)
        .heartbeat(heartbeat)
        .connect_timeout(Duration::from_secs(2))
        .reconnect(fast_reconnect())
        .handler(tx)
        .start()
        .unwrap();
    wait_state(&rx, |s| matches!(s, ConnectionState::Connected { .. }));
    (listener, rx)
}

#[test]
fn a_black_holed_connection_is_found_by_the_heartbeat_and_reconnected_once_the_link_is_back() {
    let Some(ns) = namespace(1, false) else {
        return;
    };
    let mut server = RemoteServer::start(&ns);
    let heartbeat = Heartbeat::new(Duration::from_secs(1), Duration::from_secs(1));
    let bound = heartbeat.dead_after().unwrap() + Duration::from_secs(2);
    for (i, transport) in BOTH.into_iter().enumerate() {
        let seq = 10 * i as u64;
        let (listener, rx) = listener(&server, transport, heartbeat);
        // Sent to every client: the listener of the transport before may linger a moment.
        assert_ne!(server.ask(&format!("send {seq} {seq}")), "DONE 0");
        assert_eq!(seq_of(&next_alert(&rx)), seq);

        ns.link(false);
        let down = Instant::now();
        let e = next_error(&rx);
        let found_after = down.elapsed();
        println!("{transport:?}: {e} after {found_after:?}");
        assert!(
            matches!(e, Error::HeartbeatTimeout { .. }),
            "{transport:?}: {e:?}"
        );
        // Without the heartbeat, nothing would notice for many minutes (TCP keeps
        // retransmitting a Ping nobody answers, or waits forever on a silent stream).
        assert!(
            found_after <= bound,
            "{transport:?}: {found_after:?} > {bound:?}"
        );

        ns.link(true);
        wait_state(&rx, |s| matches!(s, ConnectionState::Connected { .. }));
        assert_eq!(server.ask("clients 1"), "DONE 1");
        // (The old connection may linger on the server too: it gets a copy nobody reads.)
        server.ask(&format!("send {} {}", seq + 1, seq + 1));
        let next = next_alert(&rx);
        assert_eq!(
            seq_of(&next),
            seq + 1,
            "{transport:?}: delivered after reconnecting"
        );
        listener.stop();
    }
}

#[test]
fn packets_dropped_for_a_while_lose_nothing_and_reorder_nothing() {
    let Some(ns) = namespace(2, true) else {
        return;
    };
    let mut server = RemoteServer::start(&ns);
    // Far longer than the loss: a connection TCP recovers must not be given up on.
    let heartbeat = Heartbeat::new(Duration::from_secs(30), Duration::from_secs(30));
    let port = server.port();
    for (i, transport) in BOTH.into_iter().enumerate() {
        let first = 1000 * (i as u64 + 1);
        let (listener, rx) = listener(&server, transport, heartbeat);
        // Attempts before the first connection (a loaded machine) are not the loss's.
        let reconnects = listener.stats().reconnects;
        ns.exec("nft", &["add", "table", "inet", "plexa"]).unwrap();
        ns.exec(
            "nft",
            &["add chain inet plexa out { type filter hook output priority 0 ; policy accept ; }"],
        )
        .unwrap();
        ns.exec(
            "nft",
            &[
                "add", "rule", "inet", "plexa", "out", "tcp", "sport", &port, "drop",
            ],
        )
        .unwrap();
        server.ask(&format!("send {first} {}", first + 49));
        // While the server's packets are dropped, nothing arrives, and nothing breaks.
        assert!(
            rx.recv_timeout(Duration::from_secs(2)).is_err(),
            "{transport:?}: something got through the loss"
        );
        ns.exec("nft", &["delete", "table", "inet", "plexa"])
            .unwrap();
        for seq in first..first + 50 {
            match rx.recv_timeout(HANG_GUARD).expect("an event") {
                Event::Alert(a) => assert_eq!(seq_of(&a), seq, "{transport:?}: in order"),
                other => panic!("{transport:?}: {other:?}"),
            }
        }
        assert_eq!(
            listener.stats().reconnects,
            reconnects,
            "{transport:?}: the loss cost the connection"
        );
        listener.stop();
    }
}
