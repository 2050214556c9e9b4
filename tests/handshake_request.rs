//! What the listener's request looks like on the wire (path, token, `X-Plex-*` headers,
//! `filters`), that the server's filtering is honoured end to end, and that `start()`
//! refuses unusable options before anything reaches the network.

mod common;

use common::*;
use crossbeam_channel::Receiver;
use plex_alerts::mock::{MockServer, RecordedRequest};
use plex_alerts::{
    AlertListener, Builder, ConnectionState, Error, Event, Filters, TlsOptions, Transport,
};
use std::time::Duration;

const TIMELINE: &str = r#"{"NotificationContainer":{"type":"timeline","size":1,"TimelineEntry":[{"identifier":"com.plexapp.plugins.library","sectionID":"1","itemID":"513","type":1,"state":5,"updatedAt":1700000000}]}}"#;
const LOG: &str = r#"{"NotificationContainer":{"type":"log","size":1,"LogSentNotification":[{"level":3,"thread":"0x7f","time":"Jan 01, 2024 00:00:00.000","message":"hello from the log"}]}}"#;

fn path_of(transport: Transport) -> &'static str {
    match transport {
        Transport::WebSocket => "/:/websockets/notifications",
        Transport::EventSource => "/:/eventsource/notifications",
        other => panic!("unexpected transport {other:?}"),
    }
}

/// Starts a listener configured by `configure`, waits until it is connected, and returns
/// the one request the server received.
fn connect_with(
    server: &MockServer,
    transport: Transport,
    configure: impl FnOnce(Builder) -> Builder,
) -> (RecordedRequest, AlertListener, Receiver<Event>) {
    let (builder, rx) = builder(server, transport);
    let listener = configure(builder).start().expect("start");
    assert!(
        server.wait_for_handshakes(1, HANG_GUARD),
        "{transport:?}: no handshake"
    );
    wait_state(&rx, |s| matches!(s, ConnectionState::Connected { .. }));
    let requests = server.requests();
    assert_eq!(
        requests.len(),
        1,
        "{transport:?}: exactly one request: {requests:#?}"
    );
    (requests.into_iter().next().unwrap(), listener, rx)
}

/// The alerts left on the channel (after the listener stopped).
fn leftover_alert_kinds(rx: &Receiver<Event>) -> Vec<String> {
    rx.try_iter()
        .filter_map(|e| match e {
            Event::Alert(a) => Some(a.kind().to_owned()),
            _ => None,
        })
        .collect()
}

#[test]
fn token_is_sent_in_a_header_and_never_in_the_url_by_default() {
    for transport in BOTH {
        let server = MockServer::start();
        let token = server.token();
        let (request, listener, _rx) = connect_with(&server, transport, |b| b);
        assert_eq!(request.method, "GET");
        assert_eq!(request.path, path_of(transport), "{transport:?}");
        assert_eq!(
            request.header("X-Plex-Token"),
            Some(token.as_str()),
            "{transport:?}"
        );
        assert_eq!(request.query("X-Plex-Token"), None, "{transport:?}");
        assert!(
            request
                .query
                .iter()
                .all(|(k, v)| !k.contains(&token) && !v.contains(&token))
                && !request.path.contains(&token),
            "{transport:?}: the token leaked into the URL: {request:?}"
        );
        listener.stop();
    }
}

#[test]
fn plex_client_headers_are_sent_with_defaults() {
    for transport in BOTH {
        let server = MockServer::start();
        let (request, listener, _rx) = connect_with(&server, transport, |b| b);
        let id = request
            .header("X-Plex-Client-Identifier")
            .unwrap_or_else(|| panic!("{transport:?}: no X-Plex-Client-Identifier"));
        assert!(!id.trim().is_empty(), "{transport:?}: empty identifier");
        assert_eq!(
            request.header("X-Plex-Product"),
            Some("plex-alerts"),
            "{transport:?}"
        );
        assert_eq!(
            request.header("X-Plex-Version"),
            Some(env!("CARGO_PKG_VERSION")),
            "{transport:?}"
        );
        listener.stop();
    }
}

#[test]
fn default_client_identifier_is_the_same_for_every_listener() {
    let mut seen = Vec::new();
    for transport in BOTH {
        let server = MockServer::start();
        let (request, listener, _rx) = connect_with(&server, transport, |b| b);
        seen.push(
            request
                .header("X-Plex-Client-Identifier")
                .unwrap()
                .to_owned(),
        );
        listener.stop();
    }
    assert_eq!(seen[0], seen[1], "one stable device identity: {seen:?}");
}

#[test]
fn client_identifier_and_product_set_on_the_builder_are_sent() {
    for transport in BOTH {
        let server = MockServer::start();
        let (request, listener, _rx) = connect_with(&server, transport, |b| {
            b.client_identifier("x").product("My Plex Dashboard")
        });
        assert_eq!(
            request.header("X-Plex-Client-Identifier"),
            Some("x"),
            "{transport:?}"
        );
        assert_eq!(
            request.header("X-Plex-Product"),
            Some("My Plex Dashboard"),
            "{transport:?}"
        );
        assert_eq!(
            request.header("X-Plex-Version"),
            Some(env!("CARGO_PKG_VERSION")),
            "{transport:?}"
        );
        listener.stop();
    }
}

#[test]
fn token_in_query_sends_the_token_as_a_query_parameter_and_alerts_flow() {
    for transport in BOTH {
        let server = MockServer::start();
        let token = server.token();
        let (request, listener, rx) = connect_with(&server, transport, |b| b.token_in_query(true));
        assert_eq!(request.path, path_of(transport), "{transport:?}");
        assert_eq!(
            request.query("X-Plex-Token"),
            Some(token.as_str()),
            "{transport:?}"
        );
        assert_eq!(
            request.header("X-Plex-Token"),
            None,
            "{transport:?}: not also as a header"
        );
        assert_eq!(server.send(&numbered_frame(7)), 1, "{transport:?}");
        let alert = next_alert(&rx);
        assert_eq!(alert.kind(), "playing", "{transport:?}");
        assert_eq!(seq_of(&alert), 7, "{transport:?}");
        listener.stop();
    }
}

#[test]
fn filters_are_sent_as_the_filters_query_parameter() {
    for transport in BOTH {
        let only_expected = match transport {
            // Documented: the event stream adds `ping` to a positive list for its watchdog.
            Transport::EventSource => "playing,timeline,ping",
            _ => "playing,timeline",
        };
        let cases: [(Filters, Option<&str>); 4] = [
            (Filters::default(), None),
            (Filters::all(), Some("")),
            (Filters::only(["playing", "timeline"]), Some(only_expected)),
            (Filters::except(["log", "activity"]), Some("-log,activity")),
        ];
        for (filters, expected) in cases {
            let server = MockServer::start();
            let what = format!("{transport:?} {filters:?}");
            let (request, listener, _rx) = connect_with(&server, transport, |b| b.filters(filters));
            assert_eq!(request.query("filters"), expected, "{what}");
            assert!(
                request.query.iter().filter(|(k, _)| k == "filters").count() <= 1,
                "{what}: filters sent once: {:?}",
                request.query
            );
            listener.stop();
        }
    }
}

/// With `filters`, `kept_out` sent by the server never arrives: the numbered alert sent
/// after it is the only one, on both transports.
fn kept_out_by(filters: Filters, kept_out: &str, seq: u64) {
    for transport in BOTH {
        let server = MockServer::start();
        let (_request, listener, rx) =
            connect_with(&server, transport, |b| b.filters(filters.clone()));
        server.send(kept_out);
        server.send(&numbered_frame(seq));
        let alert = next_alert(&rx);
        assert_eq!(
            alert.kind(),
            "playing",
            "{transport:?}: the filtered notification came through"
        );
        assert_eq!(seq_of(&alert), seq);
        listener.stop();
        let rest = leftover_alert_kinds(&rx);
        assert!(rest.is_empty(), "{transport:?}: unexpected alerts {rest:?}");
    }
}

#[test]
fn only_filter_keeps_other_types_from_arriving() {
    kept_out_by(Filters::only(["playing"]), TIMELINE, 1);
}

#[test]
fn default_filters_keep_log_notifications_away() {
    kept_out_by(Filters::default(), LOG, 2);
}

#[test]
fn all_filters_let_log_notifications_through() {
    for transport in BOTH {
        let server = MockServer::start();
        let (_request, listener, rx) =
            connect_with(&server, transport, |b| b.filters(Filters::all()));
        assert_eq!(server.send(LOG), 1, "{transport:?}");
        server.send(&numbered_frame(3));
        let log = next_alert(&rx);
        assert_eq!(log.kind(), "log", "{transport:?}");
        assert_eq!(
            log.raw()["LogSentNotification"][0]["message"],
            "hello from the log",
            "{transport:?}"
        );
        let playing = next_alert(&rx);
        assert_eq!(seq_of(&playing), 3, "{transport:?}");
        listener.stop();
    }
}

/// `start()` must fail, and nothing may have reached the server.
fn assert_rejected(server: &MockServer, what: &str, builder: Builder) -> Error {
    let error = match builder.start() {
        Ok(listener) => {
            listener.stop();
            panic!("{what}: start() accepted it");
        }
        Err(error) => error,
    };
    let requests = server.requests();
    assert!(
        requests.is_empty(),
        "{what}: the server was contacted: {requests:#?}"
    );
    error
}

#[test]
fn start_rejects_unusable_urls_before_connecting_without_echoing_the_token() {
    for transport in BOTH {
        let server = MockServer::start();
        let with_query = format!("{}/?X-Plex-Token=secret", server.url());
        for url in ["not a url", "ftp://x", with_query.as_str()] {
            let what = format!("{transport:?} {url:?}");
            let builder = AlertListener::builder(url)
                .token(server.token())
                .transport(transport)
                .callback(|_| {});
            let error = assert_rejected(&server, &what, builder);
            assert!(
                matches!(error, Error::InvalidUrl { .. }),
                "{what}: {error:?}"
            );
            assert!(
                !error.to_string().contains("secret") && !format!("{error:?}").contains("secret"),
                "{what}: the error shows the token: {error}"
            );
        }
    }
}

/// `start()` refuses the builder `change` makes, on both transports, as
/// `Error::InvalidConfig`, before any request reaches the server.
fn rejected_as_invalid_config(what: &str, change: impl Fn(Builder) -> Builder) {
    for transport in BOTH {
        let server = MockServer::start();
        let base = AlertListener::builder(server.url())
            .token(server.token())
            .transport(transport);
        let error = assert_rejected(&server, what, change(base));
        assert!(
            matches!(error, Error::InvalidConfig { .. }),
            "{transport:?} {what}: {error:?}"
        );
    }
}

#[test]
fn start_rejects_an_empty_only_filter_list() {
    rejected_as_invalid_config("Filters::only([])", |b| {
        b.callback(|_| {})
            .filters(Filters::only(Vec::<String>::new()))
    });
}

#[test]
fn start_rejects_both_a_callback_and_a_handler() {
    rejected_as_invalid_config("callback and handler", |b| {
        b.callback(|_| {}).handler(|_: plex_alerts::Event| {})
    });
}

#[test]
fn start_rejects_a_listener_with_neither_callback_nor_handler() {
    rejected_as_invalid_config("no callback, no handler", |b| b);
}

#[test]
fn start_rejects_a_zero_connect_timeout() {
    rejected_as_invalid_config("zero connect_timeout", |b| {
        b.callback(|_| {}).connect_timeout(Duration::ZERO)
    });
}

#[test]
fn start_rejects_a_tiny_max_message_size() {
    rejected_as_invalid_config("max_message_size(10)", |b| {
        b.callback(|_| {}).max_message_size(10)
    });
}

#[test]
fn start_rejects_an_unreadable_root_certificate() {
    rejected_as_invalid_config("root certificate \"nope\"", |b| {
        b.callback(|_| {})
            .tls(TlsOptions::new().add_root_certificate_pem("nope"))
    });
}

#[test]
fn start_rejects_a_zero_reconnect_delay_and_a_nul_in_the_thread_name() {
    rejected_as_invalid_config("a zero reconnect delay", |b| {
        b.callback(|_| {})
            .reconnect(plex_alerts::Reconnect::exponential(
                Duration::ZERO,
                Duration::from_secs(1),
            ))
    });
    rejected_as_invalid_config("a NUL in the thread name", |b| {
        b.callback(|_| {}).thread_name("a\0b")
    });
}

#[test]
fn a_websocket_upgrade_that_switches_on_an_extension_is_refused() {
    use std::io::{Read, Write};
    let raw = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", raw.local_addr().unwrap());
    let (tx, rx) = crossbeam_channel::unbounded();
    let listener = AlertListener::builder(url)
        .reconnect(plex_alerts::Reconnect::never())
        .handler(tx)
        .start()
        .unwrap();
    let (mut conn, _) = raw.accept().unwrap();
    let mut request = Vec::new();
    let mut buf = [0u8; 1024];
    while !request.ends_with(b"\r\n\r\n") {
        let n = conn.read(&mut buf).unwrap();
        assert!(n > 0);
        request.extend_from_slice(&buf[..n]);
    }
    let request = String::from_utf8(request).unwrap();
    let key = request
        .lines()
        .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
        .unwrap();
    let accept = tungstenite::handshake::derive_accept_key(key.as_bytes());
    write!(
        conn,
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n"
    )
    .unwrap();
    let error = next_error(&rx);
    assert!(
        matches!(&error, Error::Protocol { violation: plex_alerts::Violation::BadUpgrade, message, .. } if message.contains("Sec-WebSocket-Extensions")),
        "{error:?}"
    );
    assert!(matches!(listener.join(), Err(Error::Protocol { .. })));
}
