//! [`ServerResource`]: one server of an account, as plex.tv lists it
//! (`/api/v2/resources`), with its token and connections, read leniently.

use std::fmt;

use serde::Deserialize;
use serde_json::Value;

use super::Site;
use super::connect::ResourceConnector;
use crate::rest::soft;
use crate::server::{Bounds, FromObject};
use crate::transport::Token;
use crate::{Error, PlexServer};

/// `GET /api/v2/resources`'s answer, at most: 5,000 resources, 32 MiB, 1 MiB each.
pub(super) const RESOURCES: Bounds = Bounds {
    bytes: 32 << 20,
    item_bytes: 1 << 20,
    items: 5000,
    whole: true,
};

/// One server of an account, as plex.tv lists it (python-plexapi's `MyPlexResource`):
/// its name, machine identifier, whether the account owns it, the token to reach it
/// with (a shared server has its own), and its connections.
/// [`connect`](Self::connect) finds the best connection that works.
///
/// Made by [`PlexAccount::servers`](crate::PlexAccount::servers) and
/// [`PlexAccount::server`](crate::PlexAccount::server). Its `Debug` print shows no
/// token.
#[derive(Clone)]
pub struct ServerResource {
    name: String,
    machine_identifier: String,
    product: String,
    product_version: String,
    owned: bool,
    public_address_matches: bool,
    https_required: bool,
    connections: Vec<ResourceConnection>,
    access_token: Token,
    /// The account's plex.tv: who the app is, its token (blanked out of errors), its stop.
    pub(super) site: Site,
}

/// One way to reach a server, as plex.tv lists it: python-plexapi's
/// `ResourceConnection`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResourceConnection {
    /// `http` or `https`.
    pub protocol: String,
    /// The IP address (or host) the server said it has there.
    pub address: String,
    /// The port.
    pub port: Option<u16>,
    /// The URL to reach it at: for `https`, a `*.plex.direct` name that stands for the
    /// address.
    pub uri: String,
    /// On the server's own network.
    pub local: bool,
    /// Through Plex's relay: slow and capped, the last resort.
    pub relay: bool,
    /// An IPv6 address.
    pub ipv6: bool,
}

impl ServerResource {
    /// The server's name, as Plex apps show it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its machine identifier (plex.tv's `clientIdentifier`): what
    /// [`PlexServer::machine_identifier`] says once connected.
    pub fn machine_identifier(&self) -> &str {
        &self.machine_identifier
    }

    /// `Plex Media Server`, usually.
    pub fn product(&self) -> &str {
        &self.product
    }

    /// The server's version, as plex.tv last saw it.
    pub fn product_version(&self) -> &str {
        &self.product_version
    }

    /// Whether the account owns it; false for a server shared with it.
    pub fn owned(&self) -> bool {
        self.owned
    }

    /// Whether the app is on the server's network, as plex.tv judges from the address it
    /// sees: then the server's local connections are the ones to use.
    pub fn public_address_matches(&self) -> bool {
        self.public_address_matches
    }

    /// Whether the server takes only secure connections.
    pub fn https_required(&self) -> bool {
        self.https_required
    }

    /// Its connections, as plex.tv lists them.
    pub fn connections(&self) -> &[ResourceConnection] {
        &self.connections
    }

    /// The token to reach this server with: the account's own for a server it owns
    /// (usually), one of its own for a shared server. Keep it as secret as the account's.
    pub fn access_token(&self) -> &str {
        self.access_token.expose()
    }

    /// Connects to the server through its best connection that answers as this server,
    /// as python-plexapi's `resource.connect()`, without waiting for the slow ones: see
    /// [`ResourceConnector`]. [`Error::NoConnection`] says what was tried and why each
    /// failed.
    pub fn connect(&self) -> Result<PlexServer, Error> {
        self.connector().connect()
    }

    /// A connection race with options: TLS, its deadline, the grace for a better kind of
    /// connection.
    pub fn connector(&self) -> ResourceConnector {
        ResourceConnector::new(self.clone())
    }
}

impl fmt::Debug for ServerResource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerResource")
            .field("name", &self.name)
            .field("machine_identifier", &self.machine_identifier)
            .field("owned", &self.owned)
            .field("connections", &self.connections)
            .field("access_token", &self.access_token)
            .finish_non_exhaustive()
    }
}

/// A resource as plex.tv sends it, every field optional and read leniently (numbers as
/// text, `"1"` for true, odd types as absent).
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
pub(super) struct RawResource {
    #[serde(deserialize_with = "soft::string")]
    name: Option<String>,
    #[serde(deserialize_with = "soft::string")]
    product: Option<String>,
    #[serde(deserialize_with = "soft::string")]
    product_version: Option<String>,
    #[serde(deserialize_with = "soft::string")]
    client_identifier: Option<String>,
    #[serde(deserialize_with = "soft::string")]
    provides: Option<String>,
    #[serde(deserialize_with = "soft::boolean")]
    owned: Option<bool>,
    #[serde(deserialize_with = "soft::string")]
    access_token: Option<String>,
    #[serde(deserialize_with = "soft::boolean")]
    public_address_matches: Option<bool>,
    #[serde(deserialize_with = "soft::boolean")]
    https_required: Option<bool>,
    connections: Value,
}

impl FromObject for RawResource {
    fn from_object(object: Value) -> Option<RawResource> {
        RawResource::deserialize(object).ok()
    }
}

impl RawResource {
    /// The server this is, if it is one (it provides `server`, and says which).
    pub(super) fn into_server(self, site: &Site) -> Option<ServerResource> {
        let provides = self.provides.unwrap_or_default();
        if !provides.split(',').any(|p| p.trim() == "server") {
            return None;
        }
        let machine_identifier = self.client_identifier.filter(|c| !c.is_empty())?;
        let connections = match &self.connections {
            Value::Array(list) => list.iter().filter_map(connection).collect(),
            one @ Value::Object(_) => connection(one).into_iter().collect(),
            _ => Vec::new(),
        };
        Some(ServerResource {
            name: self.name.unwrap_or_default(),
            machine_identifier,
            product: self.product.unwrap_or_default(),
            product_version: self.product_version.unwrap_or_default(),
            owned: self.owned.unwrap_or(false),
            public_address_matches: self.public_address_matches.unwrap_or(false),
            https_required: self.https_required.unwrap_or(false),
            connections,
            access_token: Token::new(self.access_token.unwrap_or_default()),
            site: site.clone(),
        })
    }
}

/// One connection, if it is one: an object with a URI.
fn connection(value: &Value) -> Option<ResourceConnection> {
    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct Raw {
        #[serde(deserialize_with = "soft::string")]
        protocol: Option<String>,
        #[serde(deserialize_with = "soft::string")]
        address: Option<String>,
        #[serde(deserialize_with = "soft::int")]
        port: Option<i64>,
        #[serde(deserialize_with = "soft::string")]
        uri: Option<String>,
        #[serde(deserialize_with = "soft::boolean")]
        local: Option<bool>,
        #[serde(deserialize_with = "soft::boolean")]
        relay: Option<bool>,
        #[serde(rename = "IPv6", deserialize_with = "soft::boolean")]
        ipv6: Option<bool>,
    }
    let raw = Raw::deserialize(value).ok()?;
    Some(ResourceConnection {
        uri: raw.uri.filter(|u| !u.trim().is_empty())?,
        protocol: raw.protocol.unwrap_or_default(),
        address: raw.address.unwrap_or_default(),
        port: raw.port.and_then(|p| u16::try_from(p).ok()),
        local: raw.local.unwrap_or(false),
        relay: raw.relay.unwrap_or(false),
        ipv6: raw.ipv6.unwrap_or(false),
    })
}
