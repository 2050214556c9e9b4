//! Sign in at plex.tv as Plex's own apps do, once, and keep the token for the other
//! examples: it shows a link, waits while you approve it at plex.tv, and saves the
//! account's token in a file only you can read. Then the other examples find your server
//! by its name, through its best connection: no URL, no token to type.
//!
//! ```text
//! cargo run --example login                  # a mock plex.tv, whose story approves the PIN
//! cargo run --example login -- --real        # plex.tv itself: open the link and allow it
//! cargo run --example now_playing -- --server "Living Room"
//! ```
// Sign-in uses some of what the examples share.
#[allow(dead_code)]
#[path = "support/cli.rs"]
mod cli;

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use cli::Failure;
use plex_alerts::mock::{MockPlexTv, MockServer};
use plex_alerts::{Error, PinLogin};

const PROGRAM: &str = "login";

fn usage() -> String {
    "\
login: sign in at plex.tv with a PIN, as Plex's own apps do, and save the account's
token for the other examples' --server NAME.

It prints a link; open it, sign in to Plex and allow access. It saves the token in a file
only you can read (mode 0600), and lists the account's servers. Without --real it signs
in at a mock plex.tv, whose story approves the PIN after a moment, and saves the mock's
token apart from a real one.

usage: cargo run --example login -- [--real] [options]

options:
  --real                      sign in at plex.tv itself
  --plex-tv URL               sign in at this plex.tv instead (a proxy, a test's mock)
  --token-file FILE           where to save the token (default, with --real:
                              ~/.config/plex-alerts/token, where --server looks)
  -h, --help                  show this text

exit codes: 0 when signed in; 1 if the sign-in failed, expired or was given up (Ctrl-C);
2 for bad usage."
        .to_owned()
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.report(PROGRAM),
    }
}

fn run() -> Result<(), Failure> {
    let mut real = false;
    let Some(options) = cli::parse(&usage(), |flag, _| {
        Ok(match flag {
            "--real" => {
                real = true;
                true
            }
            _ => false,
        })
    })?
    else {
        return Ok(());
    };
    if options.url.is_some() || options.server.is_some() {
        return Err(Failure::usage("login takes no --url or --server"));
    }
    // Without --real or --plex-tv: a mock plex.tv, and the mock server it lists.
    let mock = (!real && options.plex_tv.is_none()).then(|| {
        let server = MockServer::start();
        let plex_tv = Arc::new(MockPlexTv::start(&server));
        eprintln!(
            "no --real: signing in at a mock plex.tv at {}, whose story approves the PIN",
            plex_tv.url()
        );
        (server, plex_tv)
    });
    let plex_tv = match &mock {
        Some((_, plex_tv)) => plex_tv.url(),
        None => options.plex_tv.clone().unwrap_or(cli::PLEX_TV.to_owned()),
    };
    let file = match (&options.token_file, &mock) {
        (Some(file), _) => file.clone(),
        (None, Some(_)) => std::env::temp_dir().join("plex-alerts-mock").join("token"),
        (None, None) => cli::default_token_file(),
    };
    let client = cli::app_client(&file)?;
    let pin = PinLogin::builder(&client)
        .plex_tv(&plex_tv)
        .start()
        .map_err(|e| Failure::runtime(format!("cannot start a sign-in at {plex_tv}: {e}")))?;
    println!(
        "Open this link, sign in to Plex and allow access:\n\n    {}\n",
        pin.link()
    );
    let minutes = pin.expires_in().as_secs().div_ceil(60);
    eprintln!("waiting for your approval (the link holds for {minutes} min; Ctrl-C gives up)");
    if let Some((_, plex_tv)) = &mock {
        approve_after_a_moment(Arc::clone(plex_tv));
    }
    let ctrl_c = cli::ctrl_c()?;
    let stopper = pin.clone();
    std::thread::spawn(move || ctrl_c.recv().map(|()| stopper.stop()));
    let account = pin.wait(pin.expires_in()).map_err(|error| match error {
        Error::Stopped => Failure::runtime("given up: not signed in"),
        Error::PinExpired | Error::Timeout { .. } => {
            Failure::runtime("the link expired before it was approved: run login again")
        }
        error => Failure::runtime(format!("the sign-in failed: {error}")),
    })?;
    cli::write_private(&file, account.token()).map_err(|e| {
        Failure::runtime(format!("cannot save the token in {}: {e}", file.display()))
    })?;
    let who = account.user().username.clone().unwrap_or_default();
    eprintln!(
        "signed in as {who}; the token is in {} (only you can read it)",
        file.display()
    );
    let servers = account
        .servers()
        .map_err(|e| Failure::runtime(format!("cannot list the servers: {e}")))?;
    for server in &servers {
        let owned = if server.owned() {
            "yours"
        } else {
            "shared with you"
        };
        println!("{} ({owned})", server.name());
    }
    if let Some(first) = servers.first() {
        eprintln!(
            "{}",
            next_step(first.name(), &options, mock.is_some(), &file)
        );
    }
    Ok(())
}

/// The mock's story: the user opens the link, and allows access after a moment.
fn approve_after_a_moment(plex_tv: Arc<MockPlexTv>) {
    std::thread::spawn(move || {
        let Some(code) = plex_tv.wait_for_pin(Duration::from_secs(10)) else {
            return;
        };
        // The pause is the story's: the user reading the page.
        std::thread::sleep(Duration::from_millis(1500));
        eprintln!("  [plex.tv] mockuser signs in and allows access");
        plex_tv.approve(&code);
    });
}

/// What to run next, with the flags this run was given.
fn next_step(server: &str, options: &cli::Options, mock: bool, file: &Path) -> String {
    if mock {
        return format!(
            "(the mock's token opens nothing once this ends: sign in for real with --real, \
             then `cargo run --example now_playing -- --server \"{server}\"`)"
        );
    }
    let mut flags = format!("--server \"{server}\"");
    if let Some(plex_tv) = &options.plex_tv {
        flags += &format!(" --plex-tv {plex_tv}");
    }
    if options.token_file.is_some() {
        flags += &format!(" --token-file {}", file.display());
    }
    format!("next: cargo run --example now_playing -- {flags}")
}
