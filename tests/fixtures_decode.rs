//! Every captured notification arrives through a real socket as the right typed view,
//! with its raw JSON unchanged.

mod common;

use common::*;
use plex_alerts::mock::MockServer;
use plex_alerts::{Filters, Notification, PlaybackState, Transport};
use serde_json::Value;

#[test]
fn every_fixture_decodes_to_its_typed_view_with_raw_json_unchanged() {
    let server = MockServer::start();
    let (builder, rx) = builder(&server, Transport::WebSocket);
    let listener = builder.filters(Filters::all()).start().unwrap();
    assert!(server.wait_for_clients(1, HANG_GUARD));
    let frames = all_fixture_frames();
    for frame in &frames {
        assert_eq!(server.send(frame), 1);
    }
    for frame in &frames {
        let alert = next_alert(&rx);
        let sent: Value = serde_json::from_str(frame).unwrap();
        let container = &sent["NotificationContainer"];
        assert_eq!(alert.raw(), container, "raw() is the container, unchanged");
        assert_eq!(alert.kind(), container["type"].as_str().unwrap());
        let expected_variant = match alert.kind() {
            "playing" => matches!(alert.notification(), Notification::Playing(v) if v.len() == 1),
            "timeline" => matches!(alert.notification(), Notification::Timeline(v) if v.len() == 1),
            "activity" => matches!(alert.notification(), Notification::Activity(v) if v.len() == 1),
            "status" => matches!(alert.notification(), Notification::Status(v) if v.len() == 1),
            "progress" => matches!(alert.notification(), Notification::Progress(v) if v.len() == 1),
            "reachability" => {
                matches!(alert.notification(), Notification::Reachability(v) if v.len() == 1)
            }
            "transcodeSession.update" => {
                matches!(alert.notification(), Notification::TranscodeSessionUpdate(v) if v.len() == 1)
            }
            "transcodeSession.end" => {
                matches!(alert.notification(), Notification::TranscodeSessionEnd(v) if v.len() == 1)
            }
            "preference" => {
                matches!(alert.notification(), Notification::Preference(v) if v.len() == 1)
            }
            "update.statechange" => {
                matches!(alert.notification(), Notification::UpdateStateChange(v) if v.len() == 1)
            }
            "backgroundProcessingQueue" => {
                matches!(alert.notification(), Notification::BackgroundProcessingQueue(v) if v.len() == 1)
            }
            "provider.content.change" => {
                matches!(alert.notification(), Notification::ProviderContentChange(v) if v.len() == 1)
            }
            "log" => matches!(alert.notification(), Notification::Log(v) if v.len() == 1),
            other => panic!("a fixture of unexpected type {other}"),
        };
        assert!(
            expected_variant,
            "{}: {:?}",
            alert.kind(),
            alert.notification()
        );
    }
    listener.stop();
}

#[test]
fn every_fixture_is_the_same_alert_over_both_transports() {
    let frames = all_fixture_frames();
    let alerts = BOTH.map(|transport| {
        let server = MockServer::start();
        let (builder, rx) = builder(&server, transport);
        let listener = builder.filters(Filters::all()).start().unwrap();
        assert!(server.wait_for_clients(1, HANG_GUARD));
        for frame in &frames {
            assert_eq!(server.send(frame), 1);
        }
        let alerts: Vec<_> = frames.iter().map(|_| next_alert(&rx)).collect();
        listener.stop();
        alerts
    });
    let [websocket, eventsource] = alerts;
    for ((ws, sse), frame) in websocket.iter().zip(&eventsource).zip(&frames) {
        // The same type, typed view and raw() (an event's container is rebuilt from its data).
        assert_eq!(ws, sse, "{frame}");
        assert_ne!(ws.notification(), &Notification::Other, "{frame}");
    }
}

#[test]
fn typed_fields_hold_the_captured_values() {
    let frames = captured_frames();
    let server = MockServer::start();
    let (builder, rx) = builder(&server, Transport::WebSocket);
    let listener = builder.filters(Filters::all()).start().unwrap();
    assert!(server.wait_for_clients(1, HANG_GUARD));
    for frame in &frames {
        server.send(frame);
    }
    let alerts: Vec<_> = frames.iter().map(|_| next_alert(&rx)).collect();
    listener.stop();

    let Notification::Activity(a) = alerts[0].notification() else {
        panic!()
    };
    let activity = a[0].activity.as_ref().unwrap();
    assert_eq!(a[0].event.as_deref(), Some("ended"));
    assert_eq!(
        activity.activity_type.as_deref(),
        Some("library.refresh.items")
    );
    assert_eq!(activity.progress, Some(100.0));
    assert_eq!(activity.user_id.as_deref(), Some("1"));
    assert_eq!(
        activity.context.as_ref().unwrap()["key"],
        "/library/metadata/10123"
    );

    let Notification::Playing(p) = alerts[1].notification() else {
        panic!()
    };
    assert_eq!(p[0].state, PlaybackState::Paused);
    assert_eq!(p[0].view_offset, Some(4910));
    assert_eq!(p[0].play_queue_item_id.as_deref(), Some("576940"));
    assert_eq!(p[0].rating_key.as_deref(), Some("147967"));

    let Notification::Playing(p) = alerts[3].notification() else {
        panic!()
    };
    assert_eq!(p[0].state, PlaybackState::Buffering);
    assert_eq!(
        p[0].rating_key.as_deref(),
        Some("com.gracenote.onconnect://episode/EP019919100088")
    );
    assert_eq!(
        p[0].transcode_session.as_deref(),
        Some("48ed73b09b53b2109ce7af6bd5834001")
    );

    let Notification::TranscodeSessionEnd(t) = alerts[4].notification() else {
        panic!()
    };
    assert_eq!(t[0].progress, Some(-1.0));
    assert_eq!(t[0].speed, Some(3.200000047683716));
    assert_eq!(t[0].audio_channels, Some(2));
    assert_eq!(t[0].throttled, Some(false));

    let Notification::Reachability(r) = alerts[7].notification() else {
        panic!()
    };
    assert_eq!(r[0].reachability, Some(true));

    let Notification::Timeline(t) = alerts[11].notification() else {
        panic!()
    };
    assert_eq!(t[0].state, Some(9));
    assert_eq!(t[0].metadata_state.as_deref(), Some("deleted"));
    assert_eq!(t[0].library_section_id.as_deref(), Some("2"));
    assert_eq!(t[0].root_item_id.as_deref(), Some("581"));
    assert_eq!(t[0].media_type, Some(4));

    let Notification::Log(l) = alerts[16].notification() else {
        panic!()
    };
    assert_eq!(l[0].level, Some(3));
    assert_eq!(
        l[0].message.as_deref(),
        Some("Beginning read from WebSocket")
    );
}

#[test]
fn drifting_field_types_extra_fields_and_several_children_are_accepted() {
    let server = MockServer::start();
    let (listener, rx) = connected(&server, Transport::WebSocket);
    // 2018 servers sent ids as numbers, 2022 ones as strings; fields come and go.
    server.send(r#"{"NotificationContainer":{"type":"timeline","size":3,"TimelineEntry":[
        {"identifier":"com.plexapp.plugins.library","sectionID":"1","itemID":"513","type":"1","state":"5","updatedAt":"1700000000","brandNew":{"x":1}},
        {"identifier":"com.plexapp.plugins.library","sectionID":1,"itemID":514,"type":1,"state":0},
        {"itemID":515}]}}"#);
    let alert = next_alert(&rx);
    let Notification::Timeline(entries) = alert.notification() else {
        panic!("{alert:?}")
    };
    assert_eq!(entries.len(), 3, "every child is delivered");
    assert_eq!(entries[0].library_section_id, entries[1].library_section_id);
    assert_eq!(entries[0].media_type, Some(1));
    assert_eq!(entries[0].state, Some(5));
    assert_eq!(entries[0].updated_at, Some(1_700_000_000));
    assert_eq!(entries[2].item_id.as_deref(), Some("515"));
    assert_eq!(entries[2].library_section_id, None);
    assert_eq!(
        alert.raw()["TimelineEntry"][0]["brandNew"]["x"],
        1,
        "extra fields stay in raw()"
    );
    listener.stop();
}
