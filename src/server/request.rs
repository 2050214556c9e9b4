//! One GET with the token, its JSON answer, and the errors a caller can act on.

use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use crate::Error;
use crate::error::Phase;
use crate::stop::Stop;
use crate::transport::http::{self, Body};
use crate::transport::{Settings, net};

/// Largest answer read: library listings can be large.
const MAX_BODY: u64 = 64 * 1024 * 1024;

/// One GET with the token, its body parsed as JSON.
/// Every blocking step ends at once on `stop`.
pub(crate) fn get_json(
    settings: &Settings,
    path: &str,
    stop: &Stop,
) -> Result<serde_json::Value, Error> {
    let mut stream = net::open(settings, stop, Arc::new(AtomicU64::new(0)))?;
    let headers = [
        ("Accept", "application/json".to_owned()),
        ("Accept-Encoding", "identity".to_owned()),
        ("Connection", "close".to_owned()),
    ];
    let no_filters = crate::Filters::default();
    let (head, leftover) = http::get(&mut stream, settings, path, &no_filters, &headers, 200)?;
    http::expect_identity_encoding(&head, "an answer", "")?;
    stream
        .set_read_timeout(settings.handshake_timeout)
        .map_err(|e| Error::lost(Phase::Read, e))?;
    let mut body = Vec::new();
    Body::new(stream, &head, leftover)?
        .take(MAX_BODY)
        .read_to_end(&mut body)
        .map_err(|e| match net::is_timeout(&e) {
            true => Error::Timeout {
                phase: Phase::Read,
                after: settings.handshake_timeout,
            },
            false => Error::lost(Phase::Read, e),
        })?;
    serde_json::from_slice(&body).map_err(|e| {
        Error::decode_json(
            format!("the answer to GET {path} is not JSON"),
            &e,
            &String::from_utf8_lossy(&body),
        )
    })
}
