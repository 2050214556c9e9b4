//! Raw-socket servers for what the mock cannot say: exactly what the client writes back,
//! payloads that end in the token, and headers that would overflow a date parser. Found
//! by an independent review; each failed before its fix.

use std::time::Duration;

use plex_alerts::fuzzing::client_frames;
use plex_alerts::{AlertListener, Error, Event, Reconnect};

mod common;
use common::{ws_frame as frame, ws_upgrade as upgrade};

const TOKEN: &str = "ABCDEFGHIJKLMNOPQRST";

/// One-connection server: handshake (`response` to the request), then `wire`; returns
/// its URL and a handle giving what the client sent.
fn server(
    response: impl Fn(&str) -> Vec<u8> + Send + 'static,
    wire: Vec<u8>,
) -> (String, std::thread::JoinHandle<Vec<u8>>) {
    let (url, h) = common::raw_server(1, move |request| [response(request), wire.clone()].concat());
    (url, std::thread::spawn(move || h.join().unwrap().remove(0)))
}

fn listen(url: &str) -> (AlertListener, crossbeam_channel::Receiver<Event>) {
    let (tx, rx) = crossbeam_channel::unbounded();
    let l = AlertListener::builder(url)
        .token(TOKEN)
        .reconnect(Reconnect::never())
        .handler(tx)
        .start()
        .unwrap();
    (l, rx)
}

fn errors(rx: &crossbeam_channel::Receiver<Event>) -> Vec<Error> {
    let mut v = vec![];
    while let Ok(e) = rx.recv_timeout(Duration::from_secs(5)) {
        match e {
            Event::Error(e) => v.push(e),
            Event::State(plex_alerts::ConnectionState::Stopped) => break,
            _ => {}
        }
    }
    v
}

#[test]
fn a_server_close_is_answered_by_exactly_one_close_frame() {
    let (url, h) = server(upgrade, frame(true, 0x8, &1000u16.to_be_bytes()));
    let (l, rx) = listen(&url);
    let _ = errors(&rx);
    let got = h.join().unwrap();
    let frames = client_frames(&got);
    eprintln!("client sent: {frames:?}");
    let closes = frames.iter().filter(|(op, _)| *op == 8).count();
    let _ = l.join();
    assert_eq!(closes, 1, "{frames:?}");
}

#[test]
fn a_retry_after_date_far_in_the_future_does_not_crash_the_listener() {
    let resp = |_: &str| {
        b"HTTP/1.1 503 Busy\r\nRetry-After: Sun, 06 Nov 999999999999 08:49:37 GMT\r\nContent-Length: 0\r\n\r\n".to_vec()
    };
    let (url, _h) = server(resp, vec![]);
    let (l, rx) = listen(&url);
    let errs = errors(&rx);
    eprintln!("{errs:?}");
    let j = l.join();
    eprintln!("join: {j:?}");
    assert!(
        !errs.iter().any(|e| matches!(e, Error::Internal { .. })),
        "{errs:?}"
    );
}

#[test]
fn a_101_with_bare_lf_line_ends_is_an_upgrade() {
    // httparse reads such a head; the end of the head was looked for as CRLF CRLF only, so
    // the answer read as a handshake timeout.
    let resp = |request: &str| {
        let head = String::from_utf8(upgrade(request)).unwrap();
        head.replace("\r\n", "\n").into_bytes()
    };
    let note = r#"{"NotificationContainer":{"type":"status","size":1,"StatusNotification":[{"title":"hi"}]}}"#;
    let (url, _h) = server(resp, frame(true, 0x1, note.as_bytes()));
    let (tx, rx) = crossbeam_channel::unbounded();
    let l = AlertListener::builder(&url)
        .reconnect(Reconnect::never())
        .handshake_timeout(Duration::from_secs(3))
        .handler(tx)
        .start()
        .unwrap();
    let alert = loop {
        match rx.recv_timeout(Duration::from_secs(10)).unwrap() {
            Event::Alert(a) => break a,
            Event::Error(e) => panic!("{e}"),
            _ => {}
        }
    };
    assert_eq!(alert.kind(), "status");
    l.stop();
}

#[test]
fn an_overflowing_retry_after_is_told_as_the_wait_it_is() {
    let resp = |_: &str| {
        b"HTTP/1.1 503 Busy\r\nRetry-After: 99999999999999999999999\r\nContent-Length: 0\r\n\r\n"
            .to_vec()
    };
    let (url, _h) = server(resp, vec![]);
    let (l, rx) = listen(&url);
    let errs = errors(&rx);
    let _ = l.join();
    let [e @ Error::HttpStatus { retry_after, .. }] = errs.as_slice() else {
        panic!("{errs:?}")
    };
    // The wait is capped at an hour, and so is what the error says.
    assert_eq!(*retry_after, Some(Duration::from_secs(3600)), "{e:?}");
    assert!(e.to_string().ends_with("retry in 3600s"), "{e}");
}
