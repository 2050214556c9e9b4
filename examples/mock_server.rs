//! A mock Plex server on an address of your choice, driven over stdin: to try a client
//! against it (in any language), and for the network-fault tests, which run it inside a
//! network namespace of their own.
//!
//! ```text
//! cargo run --example mock_server -- [--ip 127.0.0.1] [--ping-ms 10000]
//! ```
//!
//! It prints `LISTENING <url> <token>`, then reads commands, one a line, answering each
//! with `DONE <n>`: `send FROM TO` sends `playing` notifications whose offsets count
//! from FROM to TO (n: the deliveries), `clients N` waits up to 20 s for N clients (n: 1
//! if they came).
use std::io::BufRead;
use std::time::Duration;

use plex_alerts::mock::{self, MockServer};
use plex_alerts::{Notification, PlaySessionState, PlaybackState};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| {
        let at = args.iter().position(|a| a == name)?;
        args.get(at + 1).cloned()
    };
    let mut server = MockServer::builder();
    if let Some(ip) = flag("--ip") {
        server = server.ip(ip.parse()?);
    }
    if let Some(ms) = flag("--ping-ms") {
        server = server.ping_interval(Duration::from_millis(ms.parse()?));
    }
    let server = server.start()?;
    println!("LISTENING {} {}", server.url(), server.token());
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        let words: Vec<&str> = line.split_whitespace().collect();
        let answer = match words.as_slice() {
            ["send", from, to] => (from.parse::<i64>()?..=to.parse()?)
                .map(|offset| server.send(&playing(offset)))
                .sum::<usize>(),
            ["clients", n] => {
                usize::from(server.wait_for_clients(n.parse()?, Duration::from_secs(20)))
            }
            _ => return Err(format!("unknown command {line:?}").into()),
        };
        println!("DONE {answer}");
    }
    Ok(())
}

/// A `playing` notification of session 23 at `offset`.
fn playing(offset: i64) -> String {
    let mut n = PlaySessionState::default();
    n.session_key = Some("23".into());
    n.client_identifier = Some("88b4f7f6-7554-4338-8982-a044a3a7d010".into());
    n.rating_key = Some("147967".into());
    n.key = Some("/library/metadata/147967".into());
    n.state = PlaybackState::Playing;
    n.view_offset = Some(offset);
    mock::frame(&Notification::Playing(vec![n]))
}
