//! File catalogue tests: real files in temporary storage folders, real ffprobe.

use super::*;
use crate::media::recorder::StartRequest;
use crate::media::snapshots::{SnapshotRequest, SnapshotService};
use crate::media::test_support::{Harness, harness};

struct Fixture {
    h: Harness,
    recorder: Arc<Recorder>,
    catalog: FileCatalog,
}

async fn fixture() -> Fixture {
    let h = harness().await;
    let (recorder, catalog) = h.recorder_and_catalog();
    Fixture { h, recorder, catalog }
}

fn touch(dir: &Path, name: &str, bytes: usize) {
    std::fs::write(dir.join(name), vec![0u8; bytes]).expect("write");
}

#[tokio::test]
async fn lists_only_valid_names_newest_first_with_paging_and_device_filter() {
    let f = fixture().await;
    let rec = f.h.config.storage.recordings_path.clone();
    touch(&rec, "camera0_2025-01-15_14-30-00.mp4", 10);
    touch(&rec, "camera0_2025-01-15_15-30-00.mp4", 20);
    touch(&rec, "camera1_2025-01-15_15-00-00.mkv", 30);
    touch(&rec, "bad name.mp4", 1);
    touch(&rec, ".hidden.mp4", 1);
    touch(&rec, "notes.txt", 1);
    std::fs::create_dir(rec.join("dir.mp4")).expect("dir");
    let outside =
        f.h.config
            .storage
            .snapshots_path
            .parent()
            .expect("parent")
            .join("outside.mp4");
    std::fs::write(&outside, b"secret").expect("outside");
    std::os::unix::fs::symlink(&outside, rec.join("link.mp4")).expect("symlink");

    let page = f.catalog.list_recordings(None, 50, 0).await.expect("list");
    let names: Vec<&str> = page.files.iter().map(|i| i.filename.as_str()).collect();
    assert_eq!(
        names,
        [
            "camera0_2025-01-15_15-30-00.mp4",
            "camera1_2025-01-15_15-00-00.mkv",
            "camera0_2025-01-15_14-30-00.mp4"
        ]
    );
    assert_eq!((page.total, page.limit, page.offset), (3, 50, 0));
    let first = &page.files[0];
    assert_eq!(first.created_time, "2025-01-15T15:30:00.000Z");
    assert_eq!(first.device, "camera0");
    assert_eq!(first.format, "fmp4");
    assert_eq!(first.file_size, 20);
    assert!(!first.in_progress);
    assert_eq!(first.download_url, "/files/recordings/camera0_2025-01-15_15-30-00.mp4");
    assert_eq!(page.files[1].format, "mkv");

    let page = f.catalog.list_recordings(None, 1, 1).await.expect("page");
    assert_eq!(page.files.len(), 1);
    assert_eq!(page.files[0].filename, "camera1_2025-01-15_15-00-00.mkv");
    assert_eq!(page.total, 3);
    let past = f.catalog.list_recordings(None, 10, 7).await.expect("past the end");
    assert!(past.files.is_empty());
    assert_eq!(past.total, 3);
    let cam0 = f.catalog.list_recordings(Some("camera0"), 50, 0).await.expect("filter");
    assert_eq!(cam0.total, 2);
    assert_eq!(
        f.catalog
            .list_recordings(Some("nope"), 50, 0)
            .await
            .expect("unknown")
            .total,
        0
    );

    for bad in ["link.mp4", "dir.mp4", "notes.txt", "missing.mp4"] {
        let err = f.catalog.recording_info(bad).await.expect_err(bad);
        assert_eq!(err.reason, "recording_not_found", "{bad}");
        let err = f.catalog.delete_recording(bad).await.expect_err(bad);
        assert_eq!(err.reason, "recording_not_found", "{bad}");
    }
    assert!(outside.exists(), "a symlink target is never touched");
    assert_eq!(
        f.catalog
            .recording_info("../outside.mp4")
            .await
            .expect_err("bad")
            .reason,
        "invalid_filename"
    );
    assert_eq!(
        f.catalog
            .path_of(FileKind::Recording, "camera0_2025-01-15_14-30-00.mp4")
            .await
            .expect("path"),
        rec.join("camera0_2025-01-15_14-30-00.mp4")
    );
}

#[tokio::test]
async fn snapshots_info_and_delete() {
    let f = fixture().await;
    let snaps = SnapshotService::new(
        &f.h.config,
        Arc::clone(&f.h.cameras),
        Ffmpeg::default(),
        Arc::clone(&f.h.events),
        f.h.clock.clone(),
        f.h.store.clone(),
    );
    let front = snaps
        .take(SnapshotRequest {
            device: "camera1".into(),
            filename: Some("front".into()),
            format: Some("png".into()),
            max_height: Some(240),
            ..Default::default()
        })
        .await
        .expect("snapshot");
    f.h.clock.advance(Duration::from_secs(1));
    let generated = snaps
        .take(SnapshotRequest {
            device: "camera0".into(),
            ..Default::default()
        })
        .await
        .expect("snapshot");

    let page = f.catalog.list_snapshots(None, 50, 0).await.expect("list");
    let names: Vec<&str> = page.files.iter().map(|i| i.filename.as_str()).collect();
    assert_eq!(names, [generated.filename.as_str(), "front.png"]);
    assert_eq!(page.files[1].device, "camera1", "from the index");
    assert_eq!(page.files[1].created_time, "2025-01-15T14:30:00.123Z");
    assert_eq!(page.files[0].format, "jpg");
    let only = f.catalog.list_snapshots(Some("camera1"), 50, 0).await.expect("filter");
    assert_eq!(only.total, 1);
    let json = serde_json::to_value(&page.files[0]).expect("json");
    assert!(json.get("resolution").is_none(), "list items have no resolution");

    let info = f.catalog.snapshot_info("front.png").await.expect("info");
    assert_eq!(info.resolution, "320x240");
    assert_eq!(info.file.format, "png");
    assert_eq!(info.file.file_size, front.file_size);

    let deleted = f.catalog.delete_snapshot("front.png").await.expect("delete");
    assert!(deleted.deleted);
    assert_eq!(deleted.message, "Snapshot file deleted successfully");
    assert_eq!(
        f.catalog.snapshot_info("front.png").await.expect_err("gone").reason,
        "snapshot_not_found"
    );
    assert_eq!(
        f.catalog.delete_snapshot("front.png").await.expect_err("gone").reason,
        "snapshot_not_found"
    );
    let event = &f.h.payloads("file.deleted")[0];
    assert_eq!(
        *event,
        json!({"kind": "snapshot", "filename": "front.png", "device": "camera1", "reason": "api"})
    );
}

#[tokio::test]
async fn recording_info_probes_duration_and_in_progress_files_cannot_be_deleted() {
    let f = fixture().await;
    let started = f
        .recorder
        .start(StartRequest {
            device: "camera0".into(),
            ..Default::default()
        })
        .await
        .expect("start");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let err = f.catalog.delete_recording(&started.filename).await.expect_err("in use");
    assert_eq!((err.kind, err.reason), (ErrorKind::InvalidState, "file_in_use"));
    let listed = f.catalog.list_recordings(None, 50, 0).await.expect("list");
    assert!(listed.files[0].in_progress);
    tokio::time::sleep(Duration::from_millis(1600)).await;
    f.recorder.stop("camera0").await.expect("stop");

    let info = f.catalog.recording_info(&started.filename).await.expect("info");
    assert!(!info.in_progress);
    assert_eq!(info.duration, 2, "ffprobe duration, rounded");
    assert_eq!(info.format, "fmp4");
    assert_eq!(info.device, "camera0");
    assert_eq!(
        f.catalog.list_recordings(None, 50, 0).await.expect("list").files[0].duration,
        2,
        "cached"
    );

    let deleted = f.catalog.delete_recording(&started.filename).await.expect("delete");
    assert_eq!(deleted.message, "Recording file deleted successfully");
    assert_eq!(f.catalog.list_recordings(None, 50, 0).await.expect("list").total, 0);
    let event = &f.h.payloads("file.deleted")[0];
    assert_eq!(event["kind"], "recording");
    assert_eq!(event["device"], "camera0");
}
