//! What a reverse proxy that does not pass WebSocket upgrades answers (nginx without the
//! upgrade headers says 400; others answer the request as a plain GET, 200 or 204): the
//! error names the likely cause and the fix, and the listener ends, since retrying cannot
//! help until the proxy is changed.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;

use common::*;
use plex_alerts::{AlertListener, ConnectionState, Error, Event, Transport};

/// A server that answers one request with `answer` and closes.
fn answering(answer: &'static str) -> String {
    let raw = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", raw.local_addr().unwrap());
    std::thread::spawn(move || {
        // Every connection gets the same answer; the test ends the listener first.
        for conn in raw.incoming().take(4) {
            let Ok(mut conn) = conn else { return };
            let mut request = Vec::new();
            let mut buf = [0u8; 2048];
            while !request.ends_with(b"\r\n\r\n") {
                match conn.read(&mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let _ = conn.write_all(answer.as_bytes());
        }
    });
    url
}

#[test]
fn a_refused_or_ignored_upgrade_names_the_proxy_and_the_fix_and_ends_the_listener() {
    for answer in [
        "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 426 Upgrade Required\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 2\r\n\r\nhi",
        "HTTP/1.1 204 No Content\r\n\r\n",
    ] {
        let (tx, rx) = crossbeam_channel::unbounded();
        let listener = AlertListener::builder(answering(answer))
            .transport(Transport::WebSocket)
            .reconnect(fast_reconnect())
            .handler(tx)
            .start()
            .unwrap();
        let e = next_error(&rx);
        let text = e.to_string();
        assert!(matches!(e, Error::Unsupported { .. }), "{answer:?}: {e:?}");
        assert!(!e.is_retryable());
        for hint in ["proxy", "Upgrade", "Transport::EventSource"] {
            assert!(text.contains(hint), "{answer:?}: {text}");
        }
        let state = wait_state(&rx, |s| matches!(s, ConnectionState::Disconnected { .. }));
        assert!(
            matches!(state, ConnectionState::Disconnected { retry_in: None, .. }),
            "{state:?}"
        );
        assert!(matches!(listener.join(), Err(Error::Unsupported { .. })));
        assert!(
            !rx.try_iter()
                .any(|e| matches!(e, Event::State(ConnectionState::Connecting { attempt: 2 }))),
            "not retried"
        );
    }
}
