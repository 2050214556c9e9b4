//! What every example that reaches a real server shares: the flags that say which server
//! to reach and how (a URL and a token, or a server's name found through plex.tv with
//! the token the `login` example saved), checking the server before listening, Ctrl-C,
//! and exit codes.
//!
//! Included by `activities` and `login` with `#[path = "support/cli.rs"] mod cli;`, and
//! by `listen` and the app examples through `support/mod.rs` (a file in a subdirectory
//! of `examples/` is not built as an example of its own).

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crossbeam_channel::Receiver;
use plex_alerts::{Client, Error, Filters, PlexAccount, PlexServer, TlsOptions, Transport};

/// plex.tv, unless `--plex-tv` says otherwise.
pub const PLEX_TV: &str = "https://plex.tv";

/// The connection flags, for each example's usage text.
pub const CONNECTION_FLAGS: &str =
    "  --url URL                   the server's base URL, e.g. http://192.168.1.5:32400
                              or https://192-168-1-5.<hash>.plex.direct:32400
                              (default: $PLEX_URL)
  --token TOKEN               the X-Plex-Token (default: $PLEX_TOKEN; with --server,
                              the one the login example saved)
  --server NAME               instead of --url: the server of this name on your Plex
                              account, found through plex.tv and reached by its best
                              connection (sign in first: cargo run --example login --
                              --real)
  --plex-tv URL               plex.tv's base URL, for --server (default
                              https://plex.tv): a proxy, or a test's mock
  --token-file FILE           where the login example saved the token (default:
                              ~/.config/plex-alerts/token)
  --transport websocket|eventsource
                              how to receive notifications (default websocket);
                              eventsource is plain HTTP, for proxies that do not
                              pass WebSocket upgrades
  --filters LIST              which notification types the server sends, in its own
                              syntax: 'playing,timeline' only those, '-log,activity'
                              all but those, '' (empty) all of them including log;
                              without this flag, the server's default (all but log)
  --accept-hostname-mismatch  accept a trusted certificate that names another host:
                              a *.plex.direct certificate reached by IP address
  --ca-cert FILE              also trust this root certificate (PEM), for a private CA
  --insecure                  accept any certificate at all (for tests only: anyone on
                              the network path can then read the token)
  -h, --help                  show this text";

/// The environment variables, for each example's usage text.
pub const ENVIRONMENT: &str = "  PLEX_URL     the server's base URL, when --url is not given
  PLEX_TOKEN   the X-Plex-Token, when --token is not given";

/// Prints the usage text; a closed stdout (`--help | head`) is not an error worth a panic.
fn print_help(text: &str) {
    let _ = writeln!(std::io::stdout(), "{text}");
}

/// Why the program stops early: a message for stderr and an exit code.
pub struct Failure {
    code: u8,
    message: String,
}

impl Failure {
    /// Bad usage: a wrong flag or value. Exit code 2.
    pub fn usage(message: impl fmt::Display) -> Failure {
        Failure {
            code: 2,
            message: format!("{message}\n(run with --help for usage)"),
        }
    }

    /// The server could not be used, or listening failed. Exit code 1.
    pub fn runtime(message: impl fmt::Display) -> Failure {
        Failure {
            code: 1,
            message: message.to_string(),
        }
    }

    /// Prints the message, prefixed with the program's name, and gives the exit code.
    pub fn report(self, program: &str) -> ExitCode {
        eprintln!("{program}: {}", self.message);
        ExitCode::from(self.code)
    }

    /// Prints the message, prefixed with the program's name, and exits with its code.
    pub fn exit(self, program: &str) -> ! {
        eprintln!("{program}: {}", self.message);
        std::process::exit(i32::from(self.code))
    }
}

/// The flags shared by the examples, with the environment applied (flags win).
pub struct Options {
    pub url: Option<String>,
    pub token: Option<String>,
    pub server: Option<String>,
    pub plex_tv: Option<String>,
    pub token_file: Option<PathBuf>,
    pub transport: Transport,
    pub filters: Filters,
    pub tls: TlsOptions,
    pub insecure: bool,
}

/// Parses the command line. `extra` is offered every flag that is not a shared one: it
/// returns `Ok(true)` if it took it (reading a value with [`Args::value`] if it needs one).
/// `--help` prints `usage` and gives `None`: the program has nothing more to do.
pub fn parse(
    usage: &str,
    mut extra: impl FnMut(&str, &mut Args) -> Result<bool, Failure>,
) -> Result<Option<Options>, Failure> {
    let mut args = Args::from_env()?;
    let mut url = None;
    let mut token = None;
    let mut server = None;
    let mut plex_tv = None;
    let mut token_file = None;
    let mut transport = Transport::WebSocket;
    let mut filters = Filters::server_default();
    let mut tls = TlsOptions::new();
    let mut insecure = false;
    while let Some(flag) = args.next_flag()? {
        match flag.as_str() {
            "-h" | "--help" => {
                print_help(usage);
                return Ok(None);
            }
            "--url" => url = Some(args.value(&flag)?),
            "--token" => token = Some(args.value(&flag)?),
            "--server" => server = Some(args.value(&flag)?),
            "--plex-tv" => plex_tv = Some(args.value(&flag)?),
            "--token-file" => token_file = Some(PathBuf::from(args.value(&flag)?)),
            "--transport" => {
                transport = match args.value(&flag)?.as_str() {
                    "websocket" => Transport::WebSocket,
                    "eventsource" => Transport::EventSource,
                    other => {
                        return Err(Failure::usage(format!(
                            "--transport {other:?}: expected websocket or eventsource"
                        )));
                    }
                }
            }
            "--filters" => {
                let value = args.value(&flag)?;
                let list = value.strip_prefix('-').unwrap_or(&value);
                if !value.is_empty() && list.split(',').all(str::is_empty) {
                    return Err(Failure::usage(format!(
                        "--filters {value:?} names no type (for every type, give an empty list: --filters '')"
                    )));
                }
                filters = value
                    .parse()
                    .map_err(|e: Error| Failure::usage(format!("--filters {value:?}: {e}")))?;
            }
            "--accept-hostname-mismatch" => tls = tls.accept_hostname_mismatch(true),
            "--ca-cert" => {
                let file = args.value(&flag)?;
                let pem = std::fs::read(&file)
                    .map_err(|e| Failure::usage(format!("--ca-cert {file}: {e}")))?;
                tls = tls.add_root_certificate_pem(pem);
            }
            "--insecure" => {
                insecure = true;
                tls = tls.danger_accept_invalid_certs(true);
            }
            _ if extra(&flag, &mut args)? => {}
            _ if flag.starts_with('-') => {
                return Err(Failure::usage(format!("unknown flag {flag}")));
            }
            _ => return Err(Failure::usage(format!("unexpected argument {flag:?}"))),
        }
        args.done_with(&flag)?;
    }
    let from_env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    Ok(Some(Options {
        url: url.or_else(|| from_env("PLEX_URL")),
        token: token.or_else(|| from_env("PLEX_TOKEN")),
        server,
        plex_tv,
        token_file,
        transport,
        filters,
        tls,
        insecure,
    }))
}

/// The command line, one flag at a time; `--flag=value` and `--flag value` both work.
pub struct Args {
    rest: std::vec::IntoIter<String>,
    /// The value glued to the current flag with `=`, until it is taken.
    glued: Option<String>,
}

impl Args {
    fn from_env() -> Result<Args, Failure> {
        let args = std::env::args_os()
            .skip(1)
            .map(|a| {
                a.into_string()
                    .map_err(|a| Failure::usage(format!("argument {a:?} is not valid UTF-8")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Args {
            rest: args.into_iter(),
            glued: None,
        })
    }

    fn next_flag(&mut self) -> Result<Option<String>, Failure> {
        let Some(arg) = self.rest.next() else {
            return Ok(None);
        };
        match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => {
                self.glued = Some(value.to_owned());
                Ok(Some(flag.to_owned()))
            }
            _ => Ok(Some(arg)),
        }
    }

    /// The value of `flag`: after `=`, or the next argument.
    pub fn value(&mut self, flag: &str) -> Result<String, Failure> {
        self.glued
            .take()
            .or_else(|| self.rest.next())
            .ok_or_else(|| Failure::usage(format!("{flag} needs a value")))
    }

    /// A switch given a value (`--json=yes`) is a mistake, not something to ignore.
    fn done_with(&mut self, flag: &str) -> Result<(), Failure> {
        match self.glued.take() {
            Some(value) => Err(Failure::usage(format!(
                "{flag} takes no value (got {flag}={value})"
            ))),
            None => Ok(()),
        }
    }
}

/// Checks the URL and the token with a real request (`GET /`), so that a wrong token or an
/// unreachable server fails here, at once, with a message that says what to do.
pub fn connect(url: &str, options: &Options) -> Result<PlexServer, Failure> {
    if options.insecure {
        eprintln!(
            "warning: --insecure: the server's certificate is not checked; anyone on the \
             network path can read the token and the notifications"
        );
    }
    let token = options.token.clone().unwrap_or_default();
    let server = PlexServer::builder(url)
        .token(token)
        .tls(options.tls.clone());
    server.connect().map_err(|error| {
        let hint = match &error {
            Error::InvalidUrl { .. } | Error::InvalidConfig { .. } => {
                return Failure::usage(&error);
            }
            Error::Unauthorized { .. } if options.token.is_none() => {
                "\nno token was given: pass --token or set PLEX_TOKEN"
            }
            Error::Unauthorized { .. } => "",
            Error::Tls { .. } => {
                "\nfor a *.plex.direct certificate reached by IP address, add \
                 --accept-hostname-mismatch; for a private CA, --ca-cert FILE"
            }
            Error::Connect { .. } | Error::Timeout { .. } => {
                "\nis the server running, and are the host and port right?"
            }
            _ => "",
        };
        Failure::runtime(format!("cannot use the server at {url}: {error}{hint}"))
    })
}

/// The server the flags name: `--url` (checked with `--token`), or `--server`, found
/// through plex.tv; `None` when neither is given.
pub fn server(options: &Options) -> Result<Option<PlexServer>, Failure> {
    match (&options.url, &options.server) {
        (Some(_), Some(_)) => Err(Failure::usage("give --url or --server, not both")),
        (Some(url), None) => connect(url, options).map(Some),
        (None, Some(name)) => find_server(name, options).map(Some),
        (None, None) => Ok(None),
    }
}

/// Signs in with the token (`--token`, or the one `login` saved), finds the server named
/// `name` and connects to it through its best connection.
pub fn find_server(name: &str, options: &Options) -> Result<PlexServer, Failure> {
    let file = options
        .token_file
        .clone()
        .unwrap_or_else(default_token_file);
    let token = match &options.token {
        Some(token) => token.clone(),
        None => std::fs::read_to_string(&file)
            .map(|t| t.trim().to_owned())
            .map_err(|e| {
                Failure::usage(format!(
                    "no token for --server: {} ({e}); sign in first with \
                     `cargo run --example login -- --real`, or pass --token",
                    file.display()
                ))
            })?,
    };
    let client = app_client(&file)?;
    let account = PlexAccount::builder(&client, token)
        .plex_tv(options.plex_tv.as_deref().unwrap_or(PLEX_TV))
        .connect()
        .map_err(|error| match error {
            Error::Unauthorized { .. } => Failure::runtime(format!(
                "plex.tv refused the token ({error}): sign in again with \
                 `cargo run --example login -- --real`"
            )),
            Error::InvalidUrl { .. } | Error::InvalidConfig { .. } => Failure::usage(error),
            _ => Failure::runtime(format!("cannot reach plex.tv: {error}")),
        })?;
    let resource = account.server(name).map_err(Failure::runtime)?;
    eprintln!(
        "found {} on the account of {}: trying its {} connections",
        resource.name(),
        account.user().username.as_deref().unwrap_or("?"),
        resource.connections().len()
    );
    resource
        .connector()
        .tls(options.tls.clone())
        .connect()
        .map_err(|e| Failure::runtime(format!("cannot use the server {name:?}: {e}")))
}

/// Where `login` keeps the token: `~/.config/plex-alerts/token` (`$XDG_CONFIG_HOME`
/// first; `%APPDATA%` on Windows), or beside the current directory if there is no home.
pub fn default_token_file() -> PathBuf {
    let env = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    let config = env("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| env("APPDATA").map(PathBuf::from))
        .or_else(|| env("HOME").map(|home| Path::new(&home).join(".config")))
        .unwrap_or_else(|| PathBuf::from("."));
    config.join("plex-alerts").join("token")
}

/// Who the examples are to plex.tv: an identifier of their own, made once and kept
/// beside the token (plex.tv ties a sign-in to it, and lists it as one device).
pub fn app_client(token_file: &Path) -> Result<Client, Failure> {
    let file = token_file.with_file_name("client-id");
    let identifier = match std::fs::read_to_string(&file) {
        Ok(id) if !id.trim().is_empty() => id.trim().to_owned(),
        _ => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            let id = format!(
                "plex-alerts-examples-{:016x}",
                now ^ u128::from(std::process::id()) << 64
            );
            write_private(&file, &id)
                .map_err(|e| Failure::runtime(format!("cannot write {}: {e}", file.display())))?;
            id
        }
    };
    Ok(Client::new("plex-alerts examples", identifier))
}

/// Writes `text` to `file` so that only this user can read it (mode 0600 on Unix; the
/// directory, if made, 0700), replacing what was there.
pub fn write_private(file: &Path, text: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        let mut dirs = std::fs::DirBuilder::new();
        dirs.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut dirs, 0o700);
        dirs.create(dir)?;
    }
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut out = options.open(file)?;
    // A file that was there keeps its mode when opened: set it before writing.
    #[cfg(unix)]
    out.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    out.write_all(text.as_bytes())
}

/// A channel that receives `()` on Ctrl-C (or SIGTERM). A second Ctrl-C exits at once, in
/// case stopping ever hangs.
pub fn ctrl_c() -> Result<Receiver<()>, Failure> {
    let (tx, rx) = crossbeam_channel::bounded(1);
    let mut pressed = false;
    ctrlc::set_handler(move || {
        if pressed {
            std::process::exit(130);
        }
        pressed = true;
        let _ = tx.try_send(());
    })
    .map_err(|e| Failure::runtime(format!("cannot handle Ctrl-C: {e}")))?;
    Ok(rx)
}
