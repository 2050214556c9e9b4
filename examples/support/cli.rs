//! What every example that reaches a real server shares: the flags that say which server
//! to reach and how, checking the server before listening, Ctrl-C, and exit codes.
//!
//! Included by `listen` and `activities` with `#[path = "support/cli.rs"] mod cli;`, and
//! by the app examples through `support/mod.rs` (a file in a subdirectory of `examples/`
//! is not built as an example of its own).

use std::fmt;
use std::io::Write;
use std::process::ExitCode;

use crossbeam_channel::Receiver;
use plex_alerts::{Error, Filters, PlexServer, TlsOptions, Transport};

/// The connection flags, for each example's usage text.
pub const CONNECTION_FLAGS: &str =
    "  --url URL                   the server's base URL, e.g. http://192.168.1.5:32400
                              or https://192-168-1-5.<hash>.plex.direct:32400
                              (default: $PLEX_URL)
  --token TOKEN               the X-Plex-Token (default: $PLEX_TOKEN)
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
pub fn print_help(text: &str) {
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
    pub transport: Transport,
    pub filters: Filters,
    pub tls: TlsOptions,
    pub insecure: bool,
}

/// What the command line asks for.
pub enum Command {
    Help,
    Run(Options),
}

/// Parses the command line. `extra` is offered every flag that is not a shared one: it
/// returns `Ok(true)` if it took it (reading a value with [`Args::value`] if it needs one).
pub fn parse(
    mut extra: impl FnMut(&str, &mut Args) -> Result<bool, Failure>,
) -> Result<Command, Failure> {
    let mut args = Args::from_env()?;
    let mut url = None;
    let mut token = None;
    let mut transport = Transport::WebSocket;
    let mut filters = Filters::server_default();
    let mut tls = TlsOptions::new();
    let mut insecure = false;
    while let Some(flag) = args.next_flag()? {
        match flag.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--url" => url = Some(args.value(&flag)?),
            "--token" => token = Some(args.value(&flag)?),
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
    Ok(Command::Run(Options {
        url: url.or_else(|| from_env("PLEX_URL")),
        token: token.or_else(|| from_env("PLEX_TOKEN")),
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
