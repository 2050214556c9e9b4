//! TLS options: how the server's certificate is checked.

use native_tls::TlsConnector;

use crate::Error;

/// How to check the server's certificate on `https://` and `wss://` URLs.
///
/// The default trusts the system's root certificates and checks that the certificate names
/// the host in the URL. A Plex server presents a certificate for `*.<hash>.plex.direct`:
/// reach it by that name, or, when reaching it by IP address or `localhost`, allow the
/// name not to match with [`accept_hostname_mismatch`](Self::accept_hostname_mismatch).
///
/// ```
/// use plex_alerts::TlsOptions;
///
/// // A LAN server reached by IP address, presenting its plex.direct certificate:
/// let tls = TlsOptions::new().accept_hostname_mismatch(true);
/// ```
#[derive(Clone, Default)]
pub struct TlsOptions {
    roots_pem: Vec<Vec<u8>>,
    accept_hostname_mismatch: bool,
    accept_invalid_certs: bool,
}

impl TlsOptions {
    /// System roots, full verification.
    pub fn new() -> TlsOptions {
        TlsOptions::default()
    }

    /// Also trusts these root certificates (PEM: one, or a bundle of several), for a server
    /// with a private CA. The system roots stay trusted. An unreadable PEM is an error from
    /// `start()` / `connect()`.
    pub fn add_root_certificate_pem(mut self, pem: impl Into<Vec<u8>>) -> TlsOptions {
        self.roots_pem.push(pem.into());
        self
    }

    /// Accepts a trusted certificate that names another host: what a `*.plex.direct`
    /// certificate does when the server is reached by IP address. The certificate must
    /// still chain to a trusted root.
    pub fn accept_hostname_mismatch(mut self, accept: bool) -> TlsOptions {
        self.accept_hostname_mismatch = accept;
        self
    }

    /// **Dangerous**: accepts any certificate, trusted or not, for any name. Anyone on the
    /// network path can then read the token and the notifications. For tests only.
    pub fn danger_accept_invalid_certs(mut self, accept: bool) -> TlsOptions {
        self.accept_invalid_certs = accept;
        self
    }

    /// Checks every option without building a connector, which loads the system's root
    /// certificates (tens of milliseconds): plain-http listeners need none.
    pub(crate) fn validate(&self) -> Result<(), Error> {
        self.roots().map(drop)
    }

    /// Every certificate of every PEM given (a bundle holds several).
    fn roots(&self) -> Result<Vec<native_tls::Certificate>, Error> {
        let mut roots = Vec::new();
        for (i, pem) in self.roots_pem.iter().enumerate() {
            let bad = |why: String| Error::config(format!("root certificate file {} {why}", i + 1));
            let certs = native_tls::Certificate::stack_from_pem(pem)
                .map_err(|e| bad(format!("is not PEM: {e}")))?;
            if certs.is_empty() {
                return Err(bad("holds no certificate".to_owned()));
            }
            roots.extend(certs);
        }
        Ok(roots)
    }

    /// Builds the connector, checking every option.
    pub(crate) fn connector(&self) -> Result<TlsConnector, Error> {
        let mut builder = TlsConnector::builder();
        for cert in self.roots()? {
            builder.add_root_certificate(cert);
        }
        builder.danger_accept_invalid_hostnames(
            self.accept_hostname_mismatch || self.accept_invalid_certs,
        );
        builder.danger_accept_invalid_certs(self.accept_invalid_certs);
        builder
            .build()
            .map_err(|e| Error::config(format!("TLS could not be set up: {e}")))
    }
}

impl std::fmt::Debug for TlsOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsOptions")
            .field("extra_roots", &self.roots_pem.len())
            .field("accept_hostname_mismatch", &self.accept_hostname_mismatch)
            .field("danger_accept_invalid_certs", &self.accept_invalid_certs)
            .finish()
    }
}
