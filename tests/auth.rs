//! A wrong or expired token, or a missing endpoint, is reported clearly and not retried;
//! PlexServer::connect fails fast on a wrong token or an unreachable server.

mod common;

use std::net::TcpListener;
use std::time::{Duration, Instant};

use common::*;
use plex_alerts::mock::{Fault, MockServer};
use plex_alerts::{AlertListener, ConnectionState, Error, PlexServer};

#[test]
fn a_wrong_token_is_reported_once_and_not_retried() {
    let server = MockServer::start();
    for transport in BOTH {
        let requests = server.requests().len();
        let (builder, rx) = builder(&server, transport);
        let listener = builder.token("wrong").start().unwrap();
        let e = next_error(&rx);
        assert!(
            matches!(e, Error::Unauthorized { status: 401 }),
            "{transport:?}: {e:?}"
        );
        assert!(e.to_string().contains("401"), "{e}");
        assert!(matches!(
            ends_for_good(listener, &rx),
            Err(Error::Unauthorized { status: 401 })
        ));
        assert_eq!(
            server.requests().len(),
            requests + 1,
            "one request, no retry"
        );
        assert_eq!(server.handshakes(), 0);
    }
}

#[test]
fn a_missing_token_gets_401() {
    let server = MockServer::start();
    let (tx, rx) = crossbeam_channel::unbounded();
    let listener = AlertListener::builder(server.url())
        .handler(tx)
        .start()
        .unwrap();
    assert!(matches!(
        next_error(&rx),
        Error::Unauthorized { status: 401 }
    ));
    assert!(matches!(
        listener.join(),
        Err(Error::Unauthorized { status: 401 })
    ));
}

#[test]
fn an_expired_token_498_is_not_retried_either() {
    let server = MockServer::start();
    server.set_fault(Fault::Status(498));
    for transport in BOTH {
        let (builder, rx) = builder(&server, transport);
        let listener = builder.start().unwrap();
        let e = next_error(&rx);
        assert!(matches!(e, Error::Unauthorized { status: 498 }), "{e:?}");
        assert!(e.to_string().contains("expired"), "{e}");
        wait_state(&rx, |s| matches!(s, ConnectionState::Stopped));
        assert!(matches!(
            listener.join(),
            Err(Error::Unauthorized { status: 498 })
        ));
    }
}

#[test]
fn a_404_ends_the_listener_after_trying_the_singular_websocket_path_once() {
    let server = MockServer::start();
    server.set_fault(Fault::Status(404));
    for transport in BOTH {
        let requests = server.requests().len();
        let (builder, rx) = builder(&server, transport);
        let listener = builder.start().unwrap();
        let e = next_error(&rx);
        assert!(matches!(e, Error::HttpStatus { status: 404, .. }), "{e:?}");
        wait_state(&rx, |s| matches!(s, ConnectionState::Stopped));
        assert!(matches!(
            listener.join(),
            Err(Error::HttpStatus { status: 404, .. })
        ));
        let paths: Vec<_> = server.requests()[requests..]
            .iter()
            .map(|r| r.path.clone())
            .collect();
        match transport {
            plex_alerts::Transport::WebSocket => assert_eq!(
                paths,
                ["/:/websockets/notifications", "/:/websocket/notifications"]
            ),
            _ => assert_eq!(paths, ["/:/eventsource/notifications"]),
        }
    }
}

#[test]
fn a_server_error_is_retried_until_it_recovers() {
    let server = MockServer::start();
    server.set_fault(Fault::Status(503));
    for transport in BOTH {
        let (builder, rx) = builder(&server, transport);
        let listener = builder.start().unwrap();
        let e = next_error(&rx);
        assert!(matches!(e, Error::HttpStatus { status: 503, .. }), "{e:?}");
        server.set_fault(Fault::None);
        wait_state(&rx, |s| matches!(s, ConnectionState::Connected { .. }));
        server.send(&numbered_frame(5));
        assert_eq!(seq_of(&next_alert(&rx)), 5);
        listener.stop();
        server.set_fault(Fault::Status(503));
    }
}

#[test]
fn plex_server_connect_checks_the_token_at_once() {
    let server = MockServer::start();
    let plex = PlexServer::connect(server.url(), server.token()).unwrap();
    assert_eq!(plex.friendly_name(), "plex-alerts mock");
    assert!(plex.machine_identifier().starts_with("mock-"));
    assert!(!plex.version().is_empty());
    let e = PlexServer::connect(server.url(), "wrong").unwrap_err();
    assert!(matches!(e, Error::Unauthorized { status: 401 }), "{e:?}");
    let request = server.requests().pop().unwrap();
    assert_eq!(request.path, "/");
    assert_eq!(request.header("X-Plex-Token"), Some("wrong"));
}

#[test]
fn plex_server_connect_fails_fast_when_nothing_listens() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let started = Instant::now();
    let e = PlexServer::connect(format!("http://127.0.0.1:{port}"), "t").unwrap_err();
    println!("connect to a closed port failed in {:?}", started.elapsed());
    assert!(matches!(e, Error::Connect { .. }), "{e:?}");
    assert!(e.to_string().contains(&port.to_string()), "{e}");
    assert!(started.elapsed() < HANG_GUARD);
}

#[test]
fn start_alert_listener_mirrors_python_plexapi() {
    let server = MockServer::start();
    let plex = PlexServer::connect(server.url(), server.token()).unwrap();
    let (tx, rx) = crossbeam_channel::unbounded();
    let (etx, _erx) = crossbeam_channel::unbounded();
    let listener = plex
        .start_alert_listener(move |a| tx.send(a).unwrap(), move |e| etx.send(e).unwrap())
        .unwrap();
    assert!(server.wait_for_clients(1, HANG_GUARD));
    server.send(&numbered_frame(9));
    assert_eq!(
        seq_of(&rx.recv_timeout(Duration::from_secs(20)).unwrap()),
        9
    );
    listener.stop();
}

#[test]
fn get_json_fetches_what_an_app_resyncs_with() {
    let server = MockServer::start();
    let plex = PlexServer::connect(server.url(), server.token()).unwrap();
    for path in ["/status/sessions", "/activities"] {
        let answer = plex.get_json(path).unwrap();
        assert_eq!(answer["MediaContainer"]["size"], 0, "{path}");
        let request = server.requests().pop().unwrap();
        assert_eq!(request.path, path);
        assert_eq!(
            request.header("X-Plex-Token"),
            Some(server.token().as_str())
        );
    }
    assert!(matches!(
        plex.get_json("/no/such/thing"),
        Err(Error::HttpStatus { status: 404, .. })
    ));
    assert!(matches!(
        plex.get_json("status"),
        Err(Error::InvalidConfig { .. })
    ));
    assert!(matches!(
        plex.get_json("/a b"),
        Err(Error::InvalidConfig { .. })
    ));
}

#[test]
fn join_says_why_a_listener_ended_by_itself() {
    let server = MockServer::start();
    let (builder, _rx) = builder(&server, plex_alerts::Transport::WebSocket);
    let listener = builder.token("wrong").start().unwrap();
    let reason = listener.join();
    assert!(
        matches!(reason, Err(Error::Unauthorized { status: 401 })),
        "{reason:?}"
    );
    // Stopped on request: no reason.
    let (listener, _rx) = connected(&server, plex_alerts::Transport::WebSocket);
    let handle = listener.stop_handle();
    handle.stop();
    assert!(listener.join().is_ok());
}

#[test]
fn transports_and_filters_parse_from_text() {
    use plex_alerts::{Filters, Transport};
    assert_eq!(
        "websocket".parse::<Transport>().unwrap(),
        Transport::WebSocket
    );
    assert_eq!(
        "EventSource".parse::<Transport>().unwrap(),
        Transport::EventSource
    );
    assert_eq!("sse".parse::<Transport>().unwrap(), Transport::EventSource);
    assert!(matches!(
        "carrier-pigeon".parse::<Transport>(),
        Err(Error::InvalidConfig { .. })
    ));
    assert_eq!(
        "playing,timeline".parse::<Filters>().unwrap(),
        Filters::only(["playing", "timeline"])
    );
    assert_eq!("".parse::<Filters>().unwrap(), Filters::all());
    assert!(",".parse::<Filters>().is_err());
}

#[test]
fn a_server_that_only_has_the_singular_websocket_path_is_used_after_one_404() {
    let server = MockServer::builder()
        .singular_websocket_path(true)
        .start()
        .unwrap();
    let (listener, rx) = connected(&server, plex_alerts::Transport::WebSocket);
    server.send(&numbered_frame(1));
    assert_eq!(seq_of(&next_alert(&rx)), 1);
    // After a reconnect it goes straight to the path that worked.
    server.close_all();
    wait_state(&rx, |s| {
        matches!(s, plex_alerts::ConnectionState::Connected { .. })
    });
    listener.stop();
    let paths: Vec<_> = server.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(
        paths,
        [
            "/:/websockets/notifications",
            "/:/websocket/notifications",
            "/:/websocket/notifications"
        ]
    );
}
