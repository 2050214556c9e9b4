//! A new-media notifier: one message per new movie, and one per new episode, or per
//! group of episodes of one show added within 2 minutes of each other, from the library
//! tracker's events. Each item comes once, when its metadata is ready; python-plexapi's
//! version of this app follows timeline states by hand, and misses what is added while
//! it is disconnected (the tracker resyncs).
//!
//! ```text
//! cargo run --example new_items    # a mock server plays a story through it
//! cargo run --example new_items -- --url http://192.168.1.5:32400 --token <X-Plex-Token>
//! ```
#[path = "support/mod.rs"]
mod support;

use std::time::Duration;

use plex_alerts::{LibraryEvent, LibraryItem, MediaType};

fn main() {
    let mut app = support::App::start("new_items");
    let code = |e: &LibraryItem| {
        format!(
            "S{:02}E{:02}",
            e.parent_index.unwrap_or(0),
            e.index.unwrap_or(0)
        )
    };
    let title = |t: &Option<String>| t.clone().unwrap_or_else(|| "?".into());
    let tracker = app
        .plex
        .library_tracker()
        .group_within(Duration::from_secs(120));
    let _tracker = app.listen(tracker.handler(move |event: LibraryEvent| match event {
        LibraryEvent::ItemAdded(movie) if movie.media_type == Some(MediaType::Movie) => {
            let year = movie.year.map(|y| format!(" ({y})")).unwrap_or_default();
            println!("🎬 New movie: {}{year}", title(&movie.title));
        }
        LibraryEvent::ItemsAdded { group, items } if group.media_type == MediaType::Show => {
            let show = title(&group.title);
            match items.as_slice() {
                [ep] => println!("📺 New episode: {show} {} {}", code(ep), title(&ep.title)),
                _ => {
                    let codes: Vec<String> = items.iter().map(code).collect();
                    println!(
                        "📺 {} new episodes of {show}: {}",
                        items.len(),
                        codes.join(", ")
                    );
                }
            }
        }
        _ => {}
    }));
    app.wait();
}
