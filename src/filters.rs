//! Which notification types the server sends: its `filters` query parameter.

use crate::Error;

/// Which notification types to ask the server for.
///
/// Sent as the server's `filters` query parameter, which filters on the server, so that
/// unwanted notifications never cross the network.
///
/// ```
/// use plex_alerts::Filters;
///
/// assert_eq!(Filters::default().query_value(), None); // server default: all but `log`
/// assert_eq!(Filters::all().query_value().as_deref(), Some(""));
/// assert_eq!(Filters::only(["playing", "timeline"]).query_value().as_deref(), Some("playing,timeline"));
/// assert_eq!(Filters::except(["activity", "log"]).query_value().as_deref(), Some("-activity,log"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters(Kind);

#[derive(Debug, Clone, Default, PartialEq, Eq)]
enum Kind {
    #[default]
    ServerDefault,
    All,
    Only(Vec<String>),
    Except(Vec<String>),
}

impl Filters {
    /// The server's default: every type except `log` (no `filters` parameter is sent).
    pub fn server_default() -> Filters {
        Filters(Kind::ServerDefault)
    }

    /// Every type, `log` included (`filters=`).
    pub fn all() -> Filters {
        Filters(Kind::All)
    }

    /// Only these types (`filters=playing,timeline`).
    ///
    /// An empty list is rejected by [`Builder::start`](crate::Builder::start): the server
    /// would read it as "everything".
    pub fn only<I, S>(types: I) -> Filters
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Filters(Kind::Only(types.into_iter().map(Into::into).collect()))
    }

    /// Every type except these (`filters=-log,activity`: the server applies the leading `-`
    /// to the whole list). `log` is only excluded if you list it.
    pub fn except<I, S>(types: I) -> Filters
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Filters(Kind::Except(types.into_iter().map(Into::into).collect()))
    }

    /// Whether a notification of type `kind` passes these filters.
    pub(crate) fn admits(&self, kind: &str) -> bool {
        match &self.0 {
            Kind::ServerDefault => kind != "log",
            Kind::All => true,
            Kind::Only(types) => types.iter().any(|t| t == kind),
            Kind::Except(types) => !types.iter().any(|t| t == kind),
        }
    }

    /// The value of the `filters` query parameter, or `None` when none is sent.
    pub fn query_value(&self) -> Option<String> {
        match &self.0 {
            Kind::ServerDefault => None,
            Kind::All => Some(String::new()),
            Kind::Only(types) => Some(types.join(",")),
            Kind::Except(types) if types.is_empty() => Some(String::new()),
            Kind::Except(types) => Some(format!("-{}", types.join(","))),
        }
    }

    /// Parses a `filters` query value the way the server reads it: absent is the default,
    /// empty is all, a leading `-` excludes the whole list. Unchecked: see `FromStr`.
    pub(crate) fn from_query_value(value: Option<&str>) -> Filters {
        let split = |s: &str| -> Vec<String> {
            s.split(',')
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect()
        };
        match value {
            None => Filters::server_default(),
            Some("") => Filters::all(),
            Some(v) => match v.strip_prefix('-') {
                Some(rest) => Filters(Kind::Except(split(rest))),
                None => Filters(Kind::Only(split(v))),
            },
        }
    }

    /// These filters with `kind` admitted too: added to a positive list, taken out of a
    /// negative one. The event stream asks for `ping` this way so its watchdog keeps seeing
    /// pings.
    pub(crate) fn also_admitting(&self, kind: &str) -> Filters {
        if self.admits(kind) {
            return self.clone();
        }
        match &self.0 {
            Kind::Only(types) if !types.iter().any(|t| t == kind) => {
                let mut types = types.clone();
                types.push(kind.to_owned());
                Filters(Kind::Only(types))
            }
            Kind::Except(types) if types.iter().any(|t| t == kind) => Filters(Kind::Except(
                types.iter().filter(|t| *t != kind).cloned().collect(),
            )),
            _ => self.clone(),
        }
    }

    pub(crate) fn validate(&self) -> Result<(), Error> {
        let types = match &self.0 {
            Kind::Only(types) if types.is_empty() => {
                return Err(Error::config(
                    "Filters::only needs at least one type (an empty list means every type to the server)",
                ));
            }
            Kind::Only(types) | Kind::Except(types) => types,
            _ => return Ok(()),
        };
        match types
            .iter()
            .find(|t| t.is_empty() || t.contains([',', '&', '#']) || t.starts_with('-'))
        {
            Some(bad) => Err(Error::config(format!(
                "notification type {bad:?} in filters can't be sent to the server"
            ))),
            None => Ok(()),
        }
    }
}

/// Parses the server's own syntax, checked: `playing,timeline` (only those),
/// `-log,activity` (all but those), `` (empty: all). For command-line flags.
///
/// ```
/// use plex_alerts::Filters;
///
/// let f: Filters = "-log,activity".parse().unwrap();
/// assert_eq!(f, Filters::except(["log", "activity"]));
/// assert!(",".parse::<Filters>().is_err()); // names no type
/// ```
impl std::str::FromStr for Filters {
    type Err = Error;
    fn from_str(s: &str) -> Result<Filters, Error> {
        let filters = Filters::from_query_value(Some(s.trim()));
        filters.validate()?;
        Ok(filters)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_the_query_value() {
        for f in [
            Filters::server_default(),
            Filters::all(),
            Filters::only(["playing", "timeline"]),
            Filters::except(["log", "activity"]),
        ] {
            assert_eq!(Filters::from_query_value(f.query_value().as_deref()), f);
        }
    }

    #[test]
    fn leading_minus_excludes_the_whole_list() {
        let f = Filters::from_query_value(Some("-playing,timeline"));
        assert!(!f.admits("playing"));
        assert!(!f.admits("timeline"));
        assert!(f.admits("log"));
    }

    #[test]
    fn default_excludes_log_and_all_includes_it() {
        assert!(!Filters::default().admits("log"));
        assert!(Filters::default().admits("playing"));
        assert!(Filters::all().admits("log"));
    }

    #[test]
    fn empty_only_list_is_rejected() {
        assert!(Filters::only(Vec::<String>::new()).validate().is_err());
        assert!(Filters::only(["a,b"]).validate().is_err());
        assert!(Filters::only(["playing"]).validate().is_ok());
    }

    #[test]
    fn ping_is_added_only_to_positive_lists() {
        assert_eq!(
            Filters::only(["playing"]).also_admitting("ping"),
            Filters::only(["playing", "ping"])
        );
        assert_eq!(Filters::all().also_admitting("ping"), Filters::all());
        assert_eq!(
            Filters::except(["log"]).also_admitting("ping"),
            Filters::except(["log"])
        );
        assert_eq!(
            Filters::except(["ping", "log"]).also_admitting("ping"),
            Filters::except(["log"])
        );
    }
}
