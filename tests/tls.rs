//! Real TLS against the mock: verification on by default, each TLS option, and a stalled
//! handshake that times out instead of panicking.

mod common;

use std::time::{Duration, Instant};

use common::*;
use plex_alerts::mock::{Fault, MockServer};
use plex_alerts::{ConnectionState, Error, Event, PlexServer, Reconnect, TlsOptions, Transport};

fn tls_server(cert: &str) -> MockServer {
    MockServer::builder()
        .tls(
            fixture(&format!("tls/{cert}.pem")),
            fixture(&format!("tls/{cert}.key")),
        )
        .start()
        .unwrap()
}

fn trusting_test_ca() -> TlsOptions {
    TlsOptions::new().add_root_certificate_pem(fixture("tls/ca.pem"))
}

/// Starts a listener with these TLS options; Ok once an alert made it through, or the
/// first error.
fn try_tls(server: &MockServer, transport: Transport, tls: TlsOptions) -> Result<(), Error> {
    let (builder, rx) = builder(server, transport);
    let listener = builder
        .tls(tls)
        .reconnect(Reconnect::never())
        .start()
        .unwrap();
    let result = loop {
        match rx.recv_timeout(HANG_GUARD).expect("an event") {
            Event::State(ConnectionState::Connected { .. }) => {
                server.send(&numbered_frame(7));
            }
            Event::Alert(alert) => {
                assert_eq!(seq_of(&alert), 7);
                break Ok(());
            }
            Event::Error(e) => break Err(e),
            _ => {}
        }
    };
    listener.stop();
    result
}

#[test]
fn https_with_verification_on_works_when_the_ca_is_trusted() {
    let server = tls_server("server");
    assert!(server.url().starts_with("https://127.0.0.1:"));
    for transport in BOTH {
        try_tls(&server, transport, trusting_test_ca())
            .unwrap_or_else(|e| panic!("{transport:?}: {e}"));
    }
}

#[test]
fn wss_urls_are_accepted_too() {
    let server = tls_server("server");
    let (builder, rx) = builder(&server, Transport::WebSocket);
    let url = server.url().replace("https://", "wss://");
    let listener = plex_alerts::AlertListener::builder(url)
        .token(server.token())
        .tls(trusting_test_ca())
        .handler(|_: plex_alerts::Event| {})
        .start()
        .unwrap();
    assert!(server.wait_for_clients(1, HANG_GUARD));
    listener.stop();
    drop((builder, rx));
}

#[test]
fn an_untrusted_certificate_is_refused_by_default() {
    let server = tls_server("server");
    for transport in BOTH {
        let e = try_tls(&server, transport, TlsOptions::new()).unwrap_err();
        assert!(matches!(e, Error::Tls { .. }), "{transport:?}: {e:?}");
        assert_eq!(server.handshakes(), 0);
    }
}

#[test]
fn a_plex_direct_certificate_reached_by_ip_needs_accept_hostname_mismatch() {
    let server = tls_server("plex-direct");
    for transport in BOTH {
        let e = try_tls(&server, transport, trusting_test_ca()).unwrap_err();
        assert!(matches!(e, Error::Tls { .. }), "{transport:?}: {e:?}");
        try_tls(
            &server,
            transport,
            trusting_test_ca().accept_hostname_mismatch(true),
        )
        .unwrap_or_else(|e| panic!("{transport:?}: {e}"));
    }
}

#[test]
fn accept_hostname_mismatch_still_requires_a_trusted_chain() {
    let server = tls_server("self-signed");
    let e = try_tls(
        &server,
        Transport::WebSocket,
        trusting_test_ca().accept_hostname_mismatch(true),
    )
    .unwrap_err();
    assert!(matches!(e, Error::Tls { .. }), "{e:?}");
}

#[test]
fn danger_accept_invalid_certs_accepts_a_self_signed_certificate() {
    let server = tls_server("self-signed");
    for transport in BOTH {
        let e = try_tls(&server, transport, trusting_test_ca()).unwrap_err();
        assert!(matches!(e, Error::Tls { .. }), "{e:?}");
        try_tls(
            &server,
            transport,
            TlsOptions::new().danger_accept_invalid_certs(true),
        )
        .unwrap_or_else(|e| panic!("{transport:?}: {e}"));
    }
}

#[test]
fn plex_server_connects_over_https_with_tls_options() {
    let server = tls_server("plex-direct");
    assert!(matches!(
        PlexServer::connect(server.url(), server.token()),
        Err(Error::Tls { .. })
    ));
    let plex = PlexServer::builder(server.url())
        .token(server.token())
        .tls(trusting_test_ca().accept_hostname_mismatch(true))
        .connect()
        .unwrap();
    assert_eq!(plex.friendly_name(), "plex-alerts mock");
    // The listener it starts inherits the TLS options.
    let (tx, rx) = crossbeam_channel::unbounded();
    let listener = plex
        .start_alert_listener(move |a| tx.send(a).unwrap(), |_| {})
        .unwrap();
    assert!(server.wait_for_clients(1, HANG_GUARD));
    server.send(&numbered_frame(3));
    assert_eq!(seq_of(&rx.recv_timeout(HANG_GUARD).unwrap()), 3);
    listener.stop();
}

#[test]
fn a_stalled_tls_handshake_times_out_with_an_error_not_a_panic() {
    let server = tls_server("server");
    server.set_fault(Fault::Silent);
    for transport in BOTH {
        let (builder, rx) = builder(&server, transport);
        let listener = builder
            .tls(trusting_test_ca())
            .handshake_timeout(Duration::from_millis(300))
            .reconnect(Reconnect::never())
            .start()
            .unwrap();
        let e = next_error(&rx);
        assert!(
            matches!(
                e,
                Error::Timeout {
                    phase: plex_alerts::Phase::TlsHandshake,
                    ..
                }
            ),
            "{transport:?}: {e:?}"
        );
        wait_state(&rx, |s| matches!(s, ConnectionState::Stopped));
        assert!(matches!(listener.join(), Err(Error::Timeout { .. })));
    }
}

#[test]
fn stop_during_a_stalled_tls_handshake_is_prompt() {
    let server = tls_server("server");
    server.set_fault(Fault::Silent);
    for transport in BOTH {
        let (builder, _rx) = builder(&server, transport);
        let before = server.connections();
        let listener = builder
            .tls(trusting_test_ca())
            .handshake_timeout(Duration::from_secs(60))
            .start()
            .unwrap();
        assert!(server.wait_for_connections(before + 1, HANG_GUARD));
        // Accepted, and the server answers nothing: the listener is in its TLS handshake.
        let started = Instant::now();
        listener.stop();
        let took = started.elapsed();
        println!("{transport:?}: stop during a stalled TLS handshake took {took:?}");
        assert!(took < HANG_GUARD);
    }
}

/// A server that answers anything with a plain HTTP 400 and closes, as a web server does
/// when TLS reaches its plain HTTP port.
fn plain_http_server() -> (String, std::thread::JoinHandle<usize>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("https://{}", listener.local_addr().unwrap());
    let server = std::thread::spawn(move || {
        use std::io::{Read, Write};
        listener.set_nonblocking(true).unwrap();
        let mut accepted = 0;
        let until = Instant::now() + Duration::from_secs(1);
        while Instant::now() < until {
            match listener.accept() {
                Ok((mut s, _)) => {
                    accepted += 1;
                    s.set_nonblocking(false).unwrap();
                    let mut b = [0u8; 4096];
                    let _ = s.read(&mut b);
                    let _ = s.write_all(
                        b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    );
                }
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
        accepted
    });
    (url, server)
}

#[test]
fn https_to_a_plain_http_server_is_a_wrong_url_not_retried() {
    let (url, server) = plain_http_server();
    let (tx, rx) = crossbeam_channel::unbounded();
    let listener = plex_alerts::AlertListener::builder(&url)
        .reconnect(fast_reconnect())
        .handler(tx)
        .start()
        .unwrap();
    let error = loop {
        if let Event::Error(e) = rx.recv_timeout(HANG_GUARD).unwrap() {
            break e;
        }
    };
    assert!(matches!(error, Error::InvalidUrl { .. }), "{error:?}");
    assert!(!error.is_retryable());
    assert!(error.to_string().contains("http://"), "{error}");
    assert!(matches!(listener.join(), Err(Error::InvalidUrl { .. })));
    assert_eq!(server.join().unwrap(), 1, "tried once");
    // And other TLS failures stay retryable: a certificate nobody trusts.
    let tls = tls_server("server");
    let e = try_tls(&tls, Transport::WebSocket, TlsOptions::new()).unwrap_err();
    assert!(matches!(e, Error::Tls { .. }) && e.is_retryable(), "{e:?}");
}
