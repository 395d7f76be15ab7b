//! Media index tests: real files in temporary storage folders, the real watch.

use super::*;
use crate::media::test_support::{eventually, harness};

fn names(rows: &[IndexRow]) -> Vec<&str> {
    rows.iter().map(|r| r.filename.as_str()).collect()
}

#[tokio::test]
async fn reconcile_adds_updates_and_removes_rows() {
    let h = harness().await;
    let (rec, snap) = (
        h.config.storage.recordings_path.clone(),
        h.config.storage.snapshots_path.clone(),
    );
    std::fs::create_dir_all(&rec).expect("dir");
    std::fs::create_dir_all(&snap).expect("dir");
    let index = MediaIndex::new(h.store.clone(), rec.clone(), snap.clone());
    std::fs::write(rec.join("camera0_2025-01-15_14-30-00.mp4"), b"a").expect("write");
    std::fs::write(rec.join("camera1_2025-01-15_15-30-00.mkv"), b"bb").expect("write");
    std::fs::write(rec.join("notes.txt"), b"x").expect("write");
    std::fs::write(snap.join("front.jpg"), b"x").expect("write");
    assert_eq!(index.reconcile().await.expect("reconcile"), 3);
    assert_eq!(index.reconcile().await.expect("again"), 0, "nothing changed");

    let (rows, total) = index.page(FileKind::Recording, None, 1, 0).await.expect("page");
    assert_eq!((names(&rows), total), (vec!["camera1_2025-01-15_15-30-00.mkv"], 2));
    let (rows, total) = index
        .page(FileKind::Recording, Some("camera0"), 10, 0)
        .await
        .expect("page");
    assert_eq!((names(&rows), total), (vec!["camera0_2025-01-15_14-30-00.mp4"], 1));
    assert_eq!(rows[0].format, "fmp4");
    assert_eq!(rows[0].created_at, "2025-01-15T14:30:00.000Z");

    index
        .set_duration(FileKind::Recording, "camera0_2025-01-15_14-30-00.mp4", 1, 3.0)
        .await
        .expect("duration");
    std::fs::write(rec.join("camera0_2025-01-15_14-30-00.mp4"), b"longer").expect("write");
    std::fs::remove_file(rec.join("camera1_2025-01-15_15-30-00.mkv")).expect("rm");
    assert_eq!(index.reconcile().await.expect("reconcile"), 2);
    let row = index
        .get(FileKind::Recording, "camera0_2025-01-15_14-30-00.mp4")
        .await
        .expect("get")
        .expect("row");
    assert_eq!(
        (row.file_size, row.duration),
        (6, None),
        "a changed file loses its probed duration"
    );
    let (_, total) = index.page(FileKind::Recording, None, 10, 0).await.expect("page");
    assert_eq!(total, 1);
}

#[tokio::test]
async fn media_files_facts_win_in_either_order() {
    let h = harness().await;
    let (rec, snap) = (
        h.config.storage.recordings_path.clone(),
        h.config.storage.snapshots_path.clone(),
    );
    std::fs::create_dir_all(&snap).expect("dir");
    let index = MediaIndex::new(h.store.clone(), rec, snap.clone());
    std::fs::write(snap.join("front.jpg"), b"x").expect("write");
    index.reconcile().await.expect("reconcile");
    assert_eq!(
        index
            .get(FileKind::Snapshot, "front.jpg")
            .await
            .expect("get")
            .expect("row")
            .device,
        ""
    );
    h.store
        .call(|c| {
            c.execute(
                "INSERT INTO media_files (kind, filename, device, format, created_at)
                 VALUES ('snapshot', 'front.jpg', 'camera1', 'jpg', '2025-01-15T14:30:00.123Z')",
                [],
            )?;
            Ok(())
        })
        .await
        .expect("insert");
    let row = index
        .get(FileKind::Snapshot, "front.jpg")
        .await
        .expect("get")
        .expect("row");
    assert_eq!(
        (row.device.as_str(), row.created_at.as_str()),
        ("camera1", "2025-01-15T14:30:00.123Z")
    );
}

#[tokio::test]
async fn the_watch_follows_creates_renames_and_deletes() {
    let h = harness().await;
    let (rec, snap) = (
        h.config.storage.recordings_path.clone(),
        h.config.storage.snapshots_path.clone(),
    );
    let index = MediaIndex::new(h.store.clone(), rec.clone(), snap.clone());
    let (stop, shutdown) = watch::channel(false);
    let task = tokio::spawn(Arc::clone(&index).run(h.clock.clone(), shutdown));
    assert!(eventually(Duration::from_secs(5), || index.is_live()).await, "live");

    let total = |kind| {
        let index = Arc::clone(&index);
        async move { index.page(kind, None, 10, 0).await.expect("page").1 }
    };
    std::fs::write(rec.join("camera0_2025-01-15_14-30-00.mp4"), b"a").expect("write");
    std::fs::write(snap.join("tmp.part"), b"x").expect("write");
    std::fs::rename(snap.join("tmp.part"), snap.join("s.png")).expect("rename");
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while (total(FileKind::Recording).await, total(FileKind::Snapshot).await) != (1, 1) {
        assert!(std::time::Instant::now() < deadline, "created files indexed");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    std::fs::remove_file(rec.join("camera0_2025-01-15_14-30-00.mp4")).expect("rm");
    while total(FileKind::Recording).await != 0 {
        assert!(std::time::Instant::now() < deadline, "deleted file dropped");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.send_replace(true);
    tokio::time::timeout(Duration::from_secs(2), task)
        .await
        .expect("ends")
        .expect("join");
}

#[tokio::test]
async fn new_recording_files_are_announced_while_the_watch_runs() {
    let h = harness().await;
    let (rec, snap) = (
        h.config.storage.recordings_path.clone(),
        h.config.storage.snapshots_path.clone(),
    );
    let index = MediaIndex::new(h.store.clone(), rec.clone(), snap.clone());
    assert!(index.recording_arrivals().is_none(), "no watch yet: callers must list");
    let (stop, shutdown) = watch::channel(false);
    let task = tokio::spawn(Arc::clone(&index).run(h.clock.clone(), shutdown));
    assert!(eventually(Duration::from_secs(5), || index.is_live()).await, "live");
    let mut arrivals = index.recording_arrivals().expect("the watch runs");

    std::fs::write(snap.join("s.png"), b"x").expect("a snapshot is not announced");
    std::fs::write(rec.join("notes.txt"), b"x").expect("nor a file that is not a recording");
    std::fs::write(rec.join("camera0_2025-01-15_14-30-00.mp4"), b"a").expect("write");
    let heard = tokio::time::timeout(Duration::from_secs(5), arrivals.recv())
        .await
        .expect("announced")
        .expect("open");
    assert_eq!(heard, "camera0_2025-01-15_14-30-00.mp4");

    stop.send_replace(true);
    tokio::time::timeout(Duration::from_secs(2), task)
        .await
        .expect("ends")
        .expect("join");
}
