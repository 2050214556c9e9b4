//! What a server that does not play along cannot do to a `PlexServer`'s calls: keep one
//! busy past its deadline, make it hold what it does not use, or keep it from stopping.

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::*;
use plex_alerts::{Error, PlexServer};

const ROOT: &str =
    r#"{"MediaContainer":{"friendlyName":"raw","machineIdentifier":"m1","version":"1"}}"#;

/// A head whose body comes at its own pace.
fn head(length: Option<usize>) -> String {
    let framing = match length {
        Some(n) => format!("Content-Length: {n}"),
        None => "Connection: close".to_owned(),
    };
    format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{framing}\r\n\r\n")
}

fn answer(stream: &mut TcpStream, body: &str) {
    let _ = stream.write_all(head(Some(body.len())).as_bytes());
    let _ = stream.write_all(body.as_bytes());
}

/// Writes `body` one byte every `every`, until it is written or the client has gone.
fn trickle(stream: &mut TcpStream, body: &str, every: Duration) {
    let _ = stream.write_all(head(Some(body.len())).as_bytes());
    for b in body.bytes() {
        if stream.write_all(&[b]).is_err() {
            return;
        }
        // The trickle is the behaviour under test, not a wait for an event.
        std::thread::sleep(every);
    }
}

/// A path's answer: `/` answers who the server is, anything else goes to `rest`.
fn server(
    connections: usize,
    rest: impl Fn(&str, &mut TcpStream) + Send + 'static,
) -> (String, std::thread::JoinHandle<Vec<Vec<u8>>>) {
    writing_server(connections, move |request, stream| {
        match request.split(' ').nth(1) {
            Some("/") => answer(stream, ROOT),
            _ => rest(request, stream),
        }
    })
}

#[test]
fn a_trickled_answer_ends_at_the_request_deadline() {
    // Twenty bytes, one every 300 ms: each read is quick, the whole is 6 s.
    let body = r#"{"MediaContainer":{}}"#;
    let (url, _server) = server(3, move |_, s| trickle(s, body, Duration::from_millis(300)));
    let plex = PlexServer::builder(&url)
        .token("t0ken-for-the-trickle")
        .timeout(Duration::from_secs(1))
        .connect()
        .unwrap();
    let started = Instant::now();
    let result = plex.sessions();
    let took = started.elapsed();
    assert!(matches!(result, Err(Error::Timeout { .. })), "{result:?}");
    // Each read had its own timeout before: 40 s for 20 bytes at one every 2 s.
    assert!(took < Duration::from_secs(4), "{took:?}");

    // The first request, connect's own, is under the deadline too.
    let (url, _server) =
        writing_server(1, move |_, s| trickle(s, ROOT, Duration::from_millis(300)));
    let started = Instant::now();
    let connected = PlexServer::builder(&url)
        .token("t0ken-for-the-trickle")
        .timeout(Duration::from_secs(1))
        .connect();
    assert!(
        matches!(connected, Err(Error::Timeout { .. })),
        "{connected:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(4));
}

#[test]
fn an_apps_own_call_is_stopped_at_once() {
    let (url, _server) = server(2, |_, s| {
        // The head, and then nothing: the call waits on the body.
        let _ = s.write_all(head(Some(100)).as_bytes());
        let mut buf = [0u8; 64];
        let _ = std::io::Read::read(s, &mut buf);
    });
    let plex = PlexServer::builder(&url)
        .token("t0ken-for-the-stop")
        .timeout(Duration::from_secs(120))
        .connect()
        .unwrap();
    let (done_tx, done) = crossbeam_channel::bounded(1);
    let caller = plex.clone();
    std::thread::spawn(move || {
        let started = Instant::now();
        let result = caller.activities();
        done_tx.send((result, started.elapsed())).unwrap();
    });
    let waited = done.recv_timeout(Duration::from_millis(300));
    assert!(waited.is_err(), "the call waits on the server: {waited:?}");
    plex.stop();
    let (result, took) = done.recv_timeout(Duration::from_secs(3)).expect("stopped");
    assert!(matches!(result, Err(Error::Stopped)), "{result:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert!(matches!(plex.identity(), Err(Error::Stopped)), "for good");
}

/// `{"MediaContainer":{"Metadata":[` then `count` copies of `element`, streamed.
fn stream_listing(stream: &mut TcpStream, element: &str, count: usize) {
    let _ = stream.write_all(head(None).as_bytes());
    let _ = stream.write_all(br#"{"MediaContainer":{"size":1,"Metadata":["#);
    let chunk: String = match count {
        0 => String::new(),
        _ => std::iter::repeat_n(format!("{element},"), 1000).collect(),
    };
    for _ in 0..count / 1000 {
        if stream.write_all(chunk.as_bytes()).is_err() {
            return; // the client has read what it uses, and gone
        }
    }
    let _ = stream.write_all(format!("{element}]}}}}").as_bytes());
}

#[test]
fn a_huge_listing_is_refused_at_its_bound_and_a_limited_one_is_read_no_further() {
    let (url, server) = server(4, |request, s| {
        let path = request.split(' ').nth(1).unwrap_or_default();
        if path.starts_with("/status/sessions") {
            // 8 MB of empty objects: the listing that took 3 GB.
            stream_listing(s, "{}", 4_000_000);
        } else if path.starts_with("/library/recentlyAdded") {
            stream_listing(s, r#"{"ratingKey":"1","title":"t"}"#, 1_000_000);
        } else {
            // One item of 40 MB.
            let item = format!(r#"{{"title":"{}"}}"#, "x".repeat(40 << 20));
            stream_listing(s, &item, 0);
        }
    });
    let plex = PlexServer::builder(&url)
        .token("t0ken-for-the-flood")
        .timeout(Duration::from_secs(20))
        .connect()
        .unwrap();
    let started = Instant::now();
    match plex.sessions() {
        Err(Error::AnswerTooLarge {
            what: "items",
            limit: 1000,
            path,
        }) => assert_eq!(path, "/status/sessions"),
        other => panic!("{other:?}"),
    }
    let recent = plex.recently_added(5).unwrap();
    assert_eq!(recent.len(), 5, "what was asked for, and no more");
    match plex.children("1") {
        Err(Error::AnswerTooLarge { what, limit, .. }) => {
            assert_eq!((what, limit), ("bytes in one item", 1 << 20))
        }
        other => panic!("{:?}", other.map(|c| c.len())),
    }
    // Read no further than the bound: seconds, not the minutes of building it all.
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    drop(plex);
    let _ = server.join();
}

#[test]
fn elements_that_are_not_sessions_are_skipped_not_fatal() {
    let listing = r#"{"MediaContainer":{"size":5,"Metadata":[null,7,"x",[],
        {"sessionKey":"1","title":"Arrival","User":{"title":"alice"}},[{"sessionKey":"2"}]]}}"#;
    let (url, _server) = server(2, move |_, s| answer(s, listing));
    let plex = PlexServer::connect(&url, "t0ken-for-the-misfits").unwrap();
    let sessions = plex.sessions().unwrap();
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    assert_eq!(sessions[0].title.as_deref(), Some("Arrival"));
}
