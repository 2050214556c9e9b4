//! The session rules' cases, one per rule and per quirk of Plex: the script of each
//! (the language is in [`tests`](super::tests)) and exactly the events it makes.

/// The cases: a rule or a quirk of Plex each, its script, and exactly what comes out.
pub(super) const CASES: &[(&str, &str, &[&str])] = &[
    (
        "a new session is bound to who and what, with one read",
        "play 1 alice movie playing 0; list 1 alice movie 0; at 1; reads 2 0",
        &["started 1 alice Arrival"],
    ),
    (
        "sessions that start together share one read",
        "play 1 alice movie playing 0; play 2 bob ep1 playing 0; list 1 alice movie 0; list 2 bob ep1 0; at 1; reads 2 0",
        &["started 1 alice Arrival", "started 2 bob Hell"],
    ),
    (
        "a session not visible yet is read again, spaced, until it is",
        "play 1 alice movie playing 0; at 0.2; list 1 alice movie 0; at 2; reads 3 0",
        &["started 1 alice Arrival"],
    ),
    (
        "a session never listed is read three more times, then goes on with its item alone",
        "play 1 alice movie playing 0; at 5; reads 5 1",
        &["started 1 - Arrival"],
    ),
    (
        "pause, resume and buffering follow the state; a resume after buffering needs a pause",
        "list 1 alice movie 0; play 1 alice movie playing 0; at 1
         play 1 alice movie paused 1000; at 5; play 1 alice movie paused 1000
         play 1 alice movie playing 1000; play 1 alice movie buffering 1000
         play 1 alice movie playing 1000; play 1 alice movie paused 1000
         play 1 alice movie buffering 1000; play 1 alice movie playing 1000",
        &[
            "started(found) 1 alice Arrival",
            "paused 1 alice Arrival",
            "resumed 1 alice Arrival",
            "buffering 1 alice Arrival",
            "paused 1 alice Arrival",
            "buffering 1 alice Arrival",
            "resumed 1 alice Arrival",
        ],
    ),
    (
        "an offset that keeps pace with the clock is progress; a jump is a seek, paused too",
        "list 1 alice movie 0; play 1 alice movie playing 0; at 10; play 1 alice movie playing 10000
         at 20; play 1 alice movie playing 24900; at 30; play 1 alice movie playing 64900
         play 1 alice movie paused 64900; play 1 alice movie paused 600000",
        &[
            "started(found) 1 alice Arrival",
            "progress 1 alice Arrival",
            "progress 1 alice Arrival",
            "seeked 1 alice Arrival",
            "paused 1 alice Arrival",
            "seeked 1 alice Arrival",
        ],
    ),
    (
        "no seek is judged across buffering",
        "list 1 alice movie 0; play 1 alice movie playing 0; at 1
         play 1 alice movie buffering 0; at 2; play 1 alice movie playing 900000",
        &[
            "started(found) 1 alice Arrival",
            "buffering 1 alice Arrival",
            "progress 1 alice Arrival",
        ],
    ),
    (
        "autoplay with the listing up to date: the new item from it, one read",
        "list 1 alice ep1 0; play 1 alice ep1 playing 0; at 1
         list 1 alice ep2 0; play 1 alice ep2 playing 0; at 2; reads 2 0",
        &["started(found) 1 alice Hell", "changed 1 alice Hell>Loop"],
    ),
    (
        "autoplay while the listing still shows the old item: the new one from its metadata",
        "list 1 alice ep1 0; play 1 alice ep1 playing 0; at 1
         play 1 alice ep2 playing 0; at 2; at 60; reads 2 1",
        &["started(found) 1 alice Hell", "changed 1 alice Hell>Loop"],
    ),
    (
        "autoplay while the listing shows nothing: the new item from its metadata",
        "list 1 alice ep1 0; play 1 alice ep1 playing 0; at 1; unlist 1
         play 1 alice ep2 playing 0; at 60; reads 2 1",
        &["started(found) 1 alice Hell", "changed 1 alice Hell>Loop"],
    ),
    (
        "autoplay while the listing fails: said once, the new item from its metadata",
        "list 1 alice ep1 0; play 1 alice ep1 playing 0; at 1; fail sessions 1000
         play 1 alice ep2 playing 0; at 60; reads 2 1",
        &[
            "started(found) 1 alice Hell",
            "error 500",
            "changed 1 alice Hell>Loop",
        ],
    ),
    (
        "autoplay while everything fails: a few spaced reads, then the change as known",
        "list 1 alice ep1 0; play 1 alice ep1 playing 0; at 1; fail sessions 1000; fail metadata 1000
         play 1 alice ep2 playing 0; at 1.5; reads 2 1; at 2.5; reads 2 2; at 60; reads 2 3",
        &[
            "started(found) 1 alice Hell",
            "error 500",
            "error 500",
            "error 500",
            "error 500",
            "changed 1 alice Hell>#ep2",
        ],
    ),
    (
        "watched once per item, past the type's threshold, at the seek that passes it",
        "list 1 alice ep1 0; play 1 alice ep1 playing 0; at 1
         play 1 alice ep1 playing 3000000; at 3; play 1 alice ep1 playing 3002000",
        &[
            "started(found) 1 alice Hell",
            "seeked 1 alice Hell",
            "watched 1 alice Hell",
            "progress 1 alice Hell",
        ],
    ),
    (
        "never watched while buffering; watched when it plays on",
        "list 1 alice movie 0; play 1 alice movie playing 0; at 1
         play 1 alice movie buffering 6800000; play 1 alice movie playing 6800000",
        &[
            "started(found) 1 alice Arrival",
            "buffering 1 alice Arrival",
            "watched 1 alice Arrival",
        ],
    ),
    (
        "a stop near the end snaps to it and is watched first",
        "list 1 alice ep2 0; play 1 alice ep2 playing 0; at 1; play 1 alice ep2 stopped 3295000",
        &[
            "started(found) 1 alice Loop",
            "watched 1 alice Loop",
            "stopped 1 alice Loop",
        ],
    ),
    (
        "a stop with an empty rating key ends the stored session",
        "list 1 alice movie 0; play 1 alice movie playing 0; at 1; play 1 alice - stopped 5000",
        &["started(found) 1 alice Arrival", "stopped 1 alice Arrival"],
    ),
    (
        "a stop told twice ends the session once; error is a stop",
        "list 1 alice movie 0; list 2 bob ep1 0; play 1 alice movie stopped 5000
         play 1 alice movie stopped 5000; play 2 bob ep1 error 100",
        &[
            "started(found) 1 alice Arrival",
            "started(found) 2 bob Hell",
            "stopped 1 alice Arrival",
            "stopped 2 bob Hell",
        ],
    ),
    (
        "a session over before it was ever listed is started and stopped",
        "play 1 alice movie playing 0; play 1 alice movie stopped 2000",
        &["started 1 - #movie", "stopped 1 - #movie"],
    ),
    (
        "a preroll is flagged transient and never watched",
        "list 3 alice preroll 0; play 3 alice preroll playing 0; at 1
         play 3 alice preroll playing 30000; play 3 alice preroll stopped 30000",
        &[
            "started(found) 3 alice Preroll~",
            "seeked 3 alice Preroll~",
            "stopped 3 alice Preroll~",
        ],
    ),
    (
        "theme music is transient",
        "list 4 alice theme 0",
        &["started(found) 4 alice Theme~"],
    ),
    (
        "transient sessions can be left out entirely",
        "opt skip_transient; list 3 alice preroll 0; list 1 bob movie 0
         play 3 alice preroll stopped 30000",
        &["started(found) 1 bob Arrival"],
    ),
    (
        "a token that may not list sessions: told once, items from metadata, users unknown",
        "forbid; play 1 alice movie playing 0; at 1; play 2 bob ep1 playing 0; at 2; reads 1 2",
        &["error forbidden", "started 1 - Arrival", "started 2 - Hell"],
    ),
    (
        "without the listing, a preroll or a clip is judged transient from the item",
        "forbid; play 3 alice preroll playing 0; play 5 bob trailer playing 0; at 1
         play 3 alice preroll playing 29000; play 5 bob trailer playing 119000",
        &[
            "error forbidden",
            "started 3 - Preroll~",
            "started 5 - Trailer~",
            "seeked 3 - Preroll~",
            "seeked 5 - Trailer~",
        ],
    ),
    (
        "without the listing, transient sessions can still be left out",
        "opt skip_transient; forbid; play 3 alice preroll playing 0; at 1; play 3 alice preroll stopped 30000",
        &["error forbidden"],
    ),
    (
        "a session heard of for the stale period is stale",
        "opt stale 300; list 1 alice movie 0; play 1 alice movie playing 0; at 299; at 301",
        &["started(found) 1 alice Arrival", "stale 1 alice Arrival"],
    ),
    (
        "a session that says it plays at an offset that does not move is stale",
        "opt stale 300; list 1 alice movie 1000; play 1 alice movie playing 1000; at 100
         play 1 alice movie playing 1000; at 200; play 1 alice movie playing 1000; at 301",
        &[
            "started(found) 1 alice Arrival",
            "stale 1 alice Arrival",
        ],
    ),
    (
        "a paused session that keeps reporting is not stale",
        "opt stale 300; list 1 alice movie 0 paused; play 1 alice movie paused 1000
         at 200; play 1 alice movie paused 1000; at 400; play 1 alice movie paused 1000; at 599",
        &["started(found) 1 alice Arrival"],
    ),
    (
        "the stale clock does not run while disconnected",
        "opt stale 300; list 1 alice movie 0; gap; at 3600; connect; at 3601; at 3901",
        &["started(found) 1 alice Arrival", "stale 1 alice Arrival"],
    ),
    (
        "a stale session still reporting where it stood says nothing and reads nothing",
        "opt stale 300; list 1 alice movie 1000; play 1 alice movie playing 1000; at 301; reads 1 0
         play 1 alice movie playing 1000; at 400; play 1 alice movie playing 1000; at 700
         play 1 alice movie playing 1000; at 1000; reads 1 0",
        &["started(found) 1 alice Arrival", "stale 1 alice Arrival"],
    ),
    (
        "a stale session whose offset moves again is a new session, told once, without a read",
        "opt stale 300; list 1 alice movie 1000; play 1 alice movie playing 1000; at 301
         play 1 alice movie playing 1000; play 1 alice movie playing 60000; at 310
         play 1 alice movie playing 69000; play 1 alice movie stopped 70000; reads 1 0",
        &[
            "started(found) 1 alice Arrival",
            "stale 1 alice Arrival",
            "started(again) 1 alice Arrival",
            "progress 1 alice Arrival",
            "stopped 1 alice Arrival",
        ],
    ),
    (
        "the stop of a stale session, late, says nothing",
        "opt stale 300; list 1 alice movie 0; at 301; play 1 alice movie stopped 0",
        &["started(found) 1 alice Arrival", "stale 1 alice Arrival"],
    ),
    (
        "a stale session's key named by another player is a new session",
        "opt stale 300; list 1 alice movie 0; at 301; list 1 bob ep1 0; play 1 bob ep1 playing 0; at 302",
        &[
            "started(found) 1 alice Arrival",
            "stale 1 alice Arrival",
            "started 1 bob Hell",
        ],
    ),
    (
        "a known key named by another player ends the old session and starts the new one",
        "list 1 alice ep1 0; play 1 alice ep1 playing 0; list 1 bob movie 0
         play 1 bob movie playing 0; at 1; play 1 bob movie stopped 2000",
        &[
            "started(found) 1 alice Hell",
            "restarted 1 alice Hell",
            "started 1 bob Arrival",
            "stopped 1 bob Arrival",
        ],
    ),
    (
        "a resync that finds a known key with another viewer ends the old session",
        "list 1 alice ep1 0; gap; list 1 bob movie 0; connect; at 1",
        &[
            "started(found) 1 alice Hell",
            "restarted 1 alice Hell",
            "started(gap) 1 bob Arrival",
        ],
    ),
    (
        "a new version after a gap ends every session; the same viewer starts anew",
        "list 1 alice ep1 0; gap; version 2.0; connect; at 1",
        &[
            "started(found) 1 alice Hell",
            "restarted 1 alice Hell",
            "started(gap) 1 alice Hell",
        ],
    ),
    (
        "a session gone at a resync vanishes after the grace, at one confirming read",
        "opt grace 30; list 1 alice movie 0; list 2 bob ep1 0; gap; unlist 1
         list 2 bob ep1 0 paused; list 3 carol ep2 0; connect; at 29; reads 2 0; at 31; reads 3 0",
        &[
            "started(found) 1 alice Arrival",
            "started(found) 2 bob Hell",
            "paused 2 bob Hell",
            "started(gap) 3 carol Loop",
            "vanished 1 alice Arrival",
        ],
    ),
    (
        "a session briefly missing from the listing is not stopped",
        "opt grace 30; list 1 alice movie 0; gap; unlist 1; connect; list 1 alice movie 0; at 31",
        &["started(found) 1 alice Arrival"],
    ),
    (
        "a confirming read that fails is tried a few times, then the stale clock decides",
        "opt grace 30; opt stale 300; list 1 alice movie 0; gap; unlist 1; connect; fail sessions 1000
         at 200; reads 6 0; at 290; reads 6 0; at 310",
        &[
            "started(found) 1 alice Arrival",
            "error 500",
            "error 500",
            "error 500",
            "error 500",
            "stale 1 alice Arrival",
        ],
    ),
    (
        "a sync that fails is tried three more times, spaced, then given up",
        "fail sessions 1000; at 60; reads 4 0",
        &["error 500", "error 500", "error 500", "error 500"],
    ),
    (
        "a client without a session key is tracked by its client; one with neither is counted",
        "play - carol movie playing 0; play - - movie playing 0; at 5; play - carol movie paused 100",
        &["started - - Arrival", "paused - - Arrival"],
    ),
    (
        "Live TV: the programme changes within one session, read from the listing",
        "list 1 alice news 0; play 1 alice news playing 0; at 1
         list 1 alice weather 0; play 1 alice weather playing 0; at 2",
        &["started(found) 1 alice News", "changed 1 alice News>Weather"],
    ),
    (
        "an offset past the end is the end",
        "list 1 alice movie 0; play 1 alice movie playing 99000000",
        &[
            "started(found) 1 alice Arrival",
            "seeked 1 alice Arrival",
            "watched 1 alice Arrival",
        ],
    ),
    (
        "a session starting in buffering is started, and not watched while it buffers",
        "list 1 alice movie 6900000 buffering; play 1 alice movie buffering 6900000; play 1 alice movie playing 6900000",
        &["started(found) 1 alice Arrival", "watched 1 alice Arrival"],
    ),
    (
        "sessions past the bound are told once and left out",
        "opt max 1; list 1 alice movie 0; play 2 bob ep1 playing 0; play 3 carol ep2 playing 0",
        &["started(found) 1 alice Arrival", "error full"],
    ),
    (
        "sessions playing when the tracker starts and after a gap are found",
        "list 1 alice movie 0; gap; list 2 bob ep1 0; connect",
        &["started(found) 1 alice Arrival", "started(gap) 2 bob Hell"],
    ),
    (
        "the tracker stopping is no session's end",
        "list 1 alice movie 0; play 2 bob ep1 playing 0; finish",
        &["started(found) 1 alice Arrival"],
    ),
    (
        "the tracker stopping ends what it announced, if asked",
        "opt end_on_stop; list 1 alice movie 0; play 2 bob ep1 playing 0; finish",
        &["started(found) 1 alice Arrival", "ended 1 alice Arrival"],
    ),
];
