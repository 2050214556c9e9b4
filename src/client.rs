//! [`Client`]: who the app is, as Plex servers (and plex.tv) see it.

use crate::Error;

/// Who your app is, as a Plex server sees it: the `X-Plex-*` headers every request
/// carries (`X-Plex-Client-Identifier`, `-Product`, `-Version`, `-Device-Name`,
/// `-Platform`). Plex shows them in its list of devices, and plex.tv ties a sign-in to the
/// identifier, so give your app its own, and keep it the same across runs.
///
/// ```
/// use plex_alerts::Client;
///
/// let client = Client::new("Now Playing Lamp", "5b7c1e52-now-playing-lamp").version("1.4.0");
/// assert_eq!(client.product, "Now Playing Lamp");
/// ```
///
/// By default a listener or a [`PlexServer`](crate::PlexServer) sends the product
/// `plex-alerts` and an identifier derived from this machine's host name, the same on
/// every run. Signing in at plex.tv ([`PinLogin`](crate::PinLogin),
/// [`PlexAccount`](crate::PlexAccount)) takes a client of the app's own: with that
/// default every app on the host would be one device to plex.tv.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Client {
    /// `X-Plex-Client-Identifier`: unique to this app on this device, stable across runs.
    pub identifier: String,
    /// `X-Plex-Product`: the app's name.
    pub product: String,
    /// `X-Plex-Version`: the app's version. Default: this crate's.
    pub version: String,
    /// `X-Plex-Device-Name`: the device's name. Default: the host name.
    pub device_name: String,
    /// `X-Plex-Platform`: the operating system. Default: `linux`, `macos`, `windows`, ...
    pub platform: String,
}

impl Client {
    /// An app called `product`, identified by `identifier` (keep it, and use it again on
    /// every run: a new one is a new device to Plex).
    pub fn new(product: impl Into<String>, identifier: impl Into<String>) -> Client {
        Client {
            identifier: identifier.into(),
            product: product.into(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            device_name: host_name(),
            platform: std::env::consts::OS.to_owned(),
        }
    }

    /// The app's version.
    pub fn version(mut self, version: impl Into<String>) -> Client {
        self.version = version.into();
        self
    }

    /// The device's name, as Plex lists it.
    pub fn device_name(mut self, name: impl Into<String>) -> Client {
        self.device_name = name.into();
        self
    }

    /// The platform, as Plex lists it.
    pub fn platform(mut self, platform: impl Into<String>) -> Client {
        self.platform = platform.into();
        self
    }

    /// The headers, in the order they are sent.
    pub(crate) fn headers(&self) -> [(&'static str, String); 5] {
        [
            ("X-Plex-Client-Identifier", self.identifier.clone()),
            ("X-Plex-Product", self.product.clone()),
            ("X-Plex-Version", self.version.clone()),
            ("X-Plex-Device-Name", self.device_name.clone()),
            ("X-Plex-Platform", self.platform.clone()),
        ]
    }

    /// Whether the identifier is not the app's own: empty, or [`Client::default`]'s,
    /// which every app on this host shares.
    pub(crate) fn is_shared(&self) -> bool {
        self.identifier.trim().is_empty() || self.identifier == Client::default().identifier
    }

    /// Every value can be sent as a header: no control characters.
    pub(crate) fn check(&self) -> Result<(), Error> {
        for (name, value) in self.headers() {
            if value.chars().any(char::is_control) {
                return Err(Error::config(format!(
                    "the {name} contains control characters"
                )));
            }
        }
        Ok(())
    }
}

impl Default for Client {
    /// `plex-alerts`, with an identifier derived from this machine's host name: the same
    /// on every run, so the server sees one device.
    fn default() -> Client {
        let host = host_name();
        // FNV-1a: stable across Rust versions, unlike std's hasher.
        let hash = host.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        Client::new("plex-alerts", format!("plex-alerts-{hash:016x}"))
    }
}

/// This machine's name, or empty where it cannot be read.
fn host_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .map(|h| h.trim().to_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_stable_and_every_value_is_checked() {
        assert_eq!(Client::default(), Client::default());
        assert!(Client::default().identifier.starts_with("plex-alerts-"));
        assert!(Client::new("a", "b").check().is_ok());
        assert!(Client::new("a\r\nX-Evil: 1", "b").check().is_err());
        assert!(Client::new("a", "b").device_name("x\n").check().is_err());
        assert!(Client::default().is_shared() && Client::new("a", " ").is_shared());
        assert!(!Client::new("a", "b").is_shared());
    }
}
