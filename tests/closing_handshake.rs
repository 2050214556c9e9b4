//! The closing handshake on the wire (RFC 6455, 7.1.1): the client answers the server's
//! close, or fails the connection with one of its own, and then leaves it to the server
//! to close the TCP connection first, for a moment at most. Raw sockets, since the point
//! is who ends the TCP connection when.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::{HANG_GUARD, ws_frame};
use crossbeam_channel::Receiver;
use plex_alerts::{AlertListener, ConnectionState, Event, Reconnect};

/// A one-connection server on loopback: upgrades, sends `wire`, reads until the client's
/// Close frame has come, and hands back the socket (still open) and that frame's code.
fn serve(wire: Vec<u8>) -> (String, JoinHandle<(TcpStream, u16)>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(HANG_GUARD)).unwrap();
        let mut got = Vec::new();
        let mut b = [0u8; 4096];
        let end = loop {
            if let Some(i) = got.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let n = s.read(&mut b).unwrap();
            assert!(n > 0, "the client left in its handshake");
            got.extend_from_slice(&b[..n]);
        };
        let request = String::from_utf8_lossy(&got[..end]).to_string();
        let key = request
            .lines()
            .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
            .unwrap()
            .trim()
            .to_owned();
        let accept = tungstenite::handshake::derive_accept_key(key.as_bytes());
        write!(
            s,
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {accept}\r\n\r\n"
        )
        .unwrap();
        s.write_all(&wire).unwrap();
        // The client's frames: masked, short. Its Close is what this waits for.
        let mut frames = got.split_off(end);
        loop {
            let mut at = 0;
            while frames.len() >= at + 6 {
                let len = usize::from(frames[at + 1] & 0x7f);
                if frames.len() < at + 6 + len {
                    break;
                }
                if frames[at] & 0x0f == 0x8 {
                    let key = &frames[at + 2..at + 6];
                    let code = [frames[at + 6] ^ key[0], frames[at + 7] ^ key[1]];
                    return (s, u16::from_be_bytes(code));
                }
                at += 6 + len;
            }
            let n = s.read(&mut b).unwrap();
            assert!(
                n > 0,
                "the client closed the TCP connection before its Close frame"
            );
            frames.extend_from_slice(&b[..n]);
        }
    });
    (url, server)
}

fn listen(url: &str) -> (AlertListener, Receiver<Event>) {
    let (tx, rx) = crossbeam_channel::unbounded();
    let listener = AlertListener::builder(url)
        .reconnect(Reconnect::never())
        .handler(tx)
        .start()
        .unwrap();
    (listener, rx)
}

fn wait_stopped(rx: &Receiver<Event>) {
    loop {
        if let Event::State(ConnectionState::Stopped) = rx.recv_timeout(HANG_GUARD).unwrap() {
            return;
        }
    }
}

/// The two ways a close handshake starts from the server's side: its own Close, and the
/// client failing the connection on what it sent (text that is not UTF-8: 1007).
fn openings() -> [(&'static str, Vec<u8>, u16); 2] {
    [
        ("a close", ws_frame(true, 0x8, &1000u16.to_be_bytes()), 1000),
        (
            "text that is not UTF-8",
            ws_frame(true, 0x1, b"{\xff}"),
            1007,
        ),
    ]
}

#[test]
fn after_the_close_handshake_the_server_closes_the_tcp_connection_first() {
    for (what, wire, code) in openings() {
        let (url, server) = serve(wire);
        let (listener, rx) = listen(&url);
        let (mut s, sent) = server.join().unwrap();
        assert_eq!(sent, code, "{what}");
        // The client holds its end open: nothing, not an end of stream, comes.
        s.set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        let mut b = [0u8; 64];
        match s.read(&mut b) {
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            other => panic!("{what}: the client closed first: {other:?}"),
        }
        // The server closes; the client follows at once, without sitting out its wait.
        let closed = Instant::now();
        drop(s);
        wait_stopped(&rx);
        let took = closed.elapsed();
        assert!(took < Duration::from_millis(800), "{what}: {took:?}");
        listener.join().unwrap_err();
    }
}

#[test]
fn a_server_that_keeps_the_tcp_connection_open_is_left_after_a_moment() {
    for (what, wire, _) in openings() {
        let (url, server) = serve(wire);
        let (listener, rx) = listen(&url);
        let (mut s, _) = server.join().unwrap();
        let replied = Instant::now();
        let mut b = [0u8; 64];
        assert_eq!(
            s.read(&mut b).unwrap(),
            0,
            "{what}: the client's end of stream"
        );
        let waited = replied.elapsed();
        assert!(
            waited > Duration::from_millis(500) && waited < Duration::from_secs(5),
            "{what}: the client waited {waited:?}"
        );
        wait_stopped(&rx);
        listener.join().unwrap_err();
    }
}
