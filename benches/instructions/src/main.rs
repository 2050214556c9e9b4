//! `instructions N`: N `playing` notifications (320 bytes each, one WebSocket frame each)
//! from a raw server on 127.0.0.1, through an `AlertListener` with a callback that counts
//! them, then the server's close. Run under callgrind at N and 2N by `./run`: the
//! difference over N is what one alert costs, from the socket to the callback.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use plex_alerts::{AlertListener, Reconnect};
use tungstenite::protocol::frame::Frame;
use tungstenite::protocol::frame::coding::{Data, OpCode};

/// A server's frame, written by tungstenite: the crate is built as users build it (no
/// `mock` feature), and what is measured is not what wrote the input.
fn frame(frame: Frame) -> Vec<u8> {
    let mut out = Vec::new();
    frame.format(&mut out).unwrap();
    out
}

fn notification(offset: usize) -> String {
    format!(
        r#"{{"NotificationContainer":{{"type":"playing","size":1,"PlaySessionStateNotification":[{{"sessionKey":"23","clientIdentifier":"88b4f7f6-7554-4338-8982-a044a3a7d010","guid":"","ratingKey":"147967","url":"","key":"/library/metadata/147967","viewOffset":{offset},"playQueueItemID":576940,"playQueueID":14462,"state":"playing"}}]}}}}"#
    )
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .expect("usage: instructions N");
    let mut wire = Vec::new();
    for i in 0..n {
        // The same length each: 100000 to 100009.
        let text = notification(100_000 + i % 10).into_bytes();
        wire.extend(frame(Frame::message(text, OpCode::Data(Data::Text), true)));
    }
    wire.extend(frame(Frame::close(None)));
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut request = Vec::new();
        let mut buf = [0; 4096];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            let got = s.read(&mut buf).unwrap();
            assert!(got > 0, "the client left before its request ended");
            request.extend_from_slice(&buf[..got]);
        }
        let request = String::from_utf8_lossy(&request);
        let key = request
            .lines()
            .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
            .expect("a WebSocket upgrade")
            .trim();
        let accept = tungstenite::handshake::derive_accept_key(key.as_bytes());
        let head = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
        );
        s.write_all(head.as_bytes()).unwrap();
        s.write_all(&wire).unwrap();
        // Until the client's close: then this side ends the TCP connection first.
        let _ = s.read(&mut buf);
    });
    let count = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&count);
    let alerts = AlertListener::builder(&url)
        .reconnect(Reconnect::never())
        .callback(move |_| {
            counted.fetch_add(1, Ordering::Relaxed);
        })
        .callback_error(|_| {})
        .start()
        .unwrap();
    let _ = alerts.join();
    server.join().unwrap();
    assert_eq!(count.load(Ordering::Relaxed), n, "alerts delivered");
}
