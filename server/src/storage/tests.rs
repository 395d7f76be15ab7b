//! Storage service tests: real files with set modification times in temp storage folders, a real state store,
//! a manual clock, and either a stand-in recorder or the real ffmpeg recorder on a virtual (lavfi) camera.

use super::*;
use crate::clock::ManualClock;
use crate::media::ffmpeg::Ffmpeg;
use crate::media::recorder::StartRequest;
use crate::media::snapshots::{SnapshotRequest, SnapshotService};
use crate::media::test_support::{Harness, eventually, harness_with};
use crate::storage::monitor::SAMPLE_INTERVAL;
use std::path::Path;
use std::sync::Mutex;
use std::time::SystemTime;

const DAY: time::Duration = time::Duration::DAY;

/// Stands in for the recorder: a settable list of segments being written; records storage-full stops.
#[derive(Default)]
struct FakeRecorder {
    writing: Mutex<Vec<String>>,
    stopped: Mutex<Vec<(String, String)>>,
}

impl RecordingControl for FakeRecorder {
    fn files_in_progress(&self) -> Vec<String> {
        self.writing.lock().expect("lock").clone()
    }
    fn stop_storage_full<'a>(
        &'a self,
        device: &'a str,
        message: &'a str,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>> {
        self.stopped
            .lock()
            .expect("lock")
            .push((device.to_owned(), message.to_owned()));
        self.writing
            .lock()
            .expect("lock")
            .retain(|f| !f.starts_with(&format!("{device}_")));
        Box::pin(async {})
    }
}

struct Fixture {
    h: Harness,
    recorder: Arc<Recorder>,
    fake: Arc<FakeRecorder>,
    storage: Arc<StorageService>,
}

/// The media harness (temp storage, store, virtual cameras camera0/camera1, manual clock at
/// 2025-01-15T14:30:00.123Z) plus a storage service; `real` selects the ffmpeg recorder over the stand-in.
async fn fixture_with(real: bool, adjust: impl FnOnce(&mut Config)) -> Fixture {
    let h = harness_with(adjust).await;
    let (recorder, files) = h.recorder_and_catalog();
    let files = Arc::new(files);
    let fake = Arc::new(FakeRecorder::default());
    let control: Arc<dyn RecordingControl> = if real { recorder.clone() } else { fake.clone() };
    let storage = StorageService::new(
        &h.config,
        h.store.clone(),
        files,
        control,
        h.events.clone(),
        h.clock.clone(),
    );
    Fixture {
        h,
        recorder,
        fake,
        storage,
    }
}

async fn fixture() -> Fixture {
    fixture_with(false, |_| {}).await
}

impl Fixture {
    fn dir(&self, kind: FileKind) -> &Path {
        match kind {
            FileKind::Recording => &self.h.config.storage.recordings_path,
            FileKind::Snapshot => &self.h.config.storage.snapshots_path,
        }
    }

    /// Writes `size` bytes and sets the modification time to `age` before the manual clock's now.
    fn put(&self, kind: FileKind, name: &str, size: usize, age: time::Duration) {
        let dir = self.dir(kind);
        std::fs::create_dir_all(dir).expect("mkdir");
        let path = dir.join(name);
        std::fs::write(&path, vec![7u8; size]).expect("write");
        let mtime = SystemTime::from(self.h.clock.now() - age);
        std::fs::File::options()
            .write(true)
            .open(&path)
            .and_then(|f| f.set_modified(mtime))
            .expect("set mtime");
    }

    fn exists(&self, kind: FileKind, name: &str) -> bool {
        self.dir(kind).join(name).exists()
    }

    /// Names left in a folder, sorted.
    fn left(&self, kind: FileKind) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.dir(kind))
            .map(|rd| rd.flatten().filter_map(|e| e.file_name().into_string().ok()).collect())
            .unwrap_or_default();
        names.sort();
        names
    }

    async fn set(&self, t: &str, days: Option<u32>, gb: Option<f64>, floor: Option<f64>) -> SetRetentionPolicyResult {
        let p = SetRetentionPolicyParams {
            policy_type: t.into(),
            enabled: true,
            max_age_days: days,
            max_size_gb: gb,
            min_free_percent: floor,
        };
        self.storage.set_policy(p, "tester").await.expect("set policy")
    }

    /// `(filename, reason)` of every `file.deleted`, sorted.
    fn deleted_events(&self) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = self
            .h
            .payloads("file.deleted")
            .iter()
            .map(|p| {
                (
                    p["filename"].as_str().unwrap_or("").to_owned(),
                    p["reason"].as_str().unwrap_or("").to_owned(),
                )
            })
            .collect();
        v.sort();
        v
    }
}

fn clock_of(f: &Fixture) -> Arc<ManualClock> {
    f.h.clock.clone()
}

#[tokio::test]
async fn retention_by_age_deletes_exactly_the_expected_files() {
    let f = fixture().await;
    f.put(FileKind::Recording, "camera0_2024-12-01_10-00-00.mp4", 1000, DAY * 40);
    f.put(
        FileKind::Recording,
        "camera0_2024-12-16_10-00-00.mkv",
        1000,
        DAY * 30 - time::Duration::SECOND,
    );
    f.put(FileKind::Recording, "camera1_2025-01-14_10-00-00.mp4", 1000, DAY);
    f.put(FileKind::Snapshot, "camera0_2024-12-14_10-00-00_000.jpg", 10, DAY * 31);
    f.put(FileKind::Snapshot, "front.png", 10, DAY * 2);
    // Not media: never touched, whatever their age.
    f.put(FileKind::Recording, "notes.txt", 10, DAY * 400);
    f.put(FileKind::Snapshot, ".partial.jpg", 10, DAY * 400);

    assert_eq!(
        f.storage.run_retention(Trigger::Scheduled).await.expect("run"),
        None,
        "disabled by default"
    );
    let err = f.storage.cleanup(false, false, "tester").await.expect_err("disabled");
    assert_eq!((err.kind, err.reason), (ErrorKind::InvalidState, "retention_disabled"));
    assert!(f.h.payloads("file.deleted").is_empty());

    let set = f.set("age", Some(30), None, Some(0.0)).await;
    assert_eq!(
        (set.policy_type.as_str(), set.max_age_days, set.updated_at.as_str()),
        ("age", Some(30), "2025-01-15T14:30:00.123Z")
    );
    assert_eq!(f.left(FileKind::Recording).len(), 4, "setting a policy deletes nothing");

    let outcome = f
        .storage
        .run_retention(Trigger::Scheduled)
        .await
        .expect("run")
        .expect("ran");
    assert_eq!(
        outcome,
        Outcome {
            files_deleted: 2,
            recordings_removed: 1,
            snapshots_removed: 1,
            space_freed: 1010
        }
    );
    assert_eq!(
        f.left(FileKind::Recording),
        [
            "camera0_2024-12-16_10-00-00.mkv",
            "camera1_2025-01-14_10-00-00.mp4",
            "notes.txt"
        ]
    );
    assert_eq!(f.left(FileKind::Snapshot), [".partial.jpg", "front.png"]);
    assert_eq!(
        f.deleted_events(),
        [
            ("camera0_2024-12-01_10-00-00.mp4".to_owned(), "retention".to_owned()),
            ("camera0_2024-12-14_10-00-00_000.jpg".to_owned(), "retention".to_owned())
        ]
    );
    let deleted = f.h.payloads("file.deleted");
    assert!(deleted.iter().all(|p| p["device"] == "camera0"), "{deleted:?}");
    let cleanups = f.h.payloads("storage.cleanup");
    assert_eq!(
        cleanups,
        [json!({"trigger": "scheduled", "files_deleted": 2, "space_freed": 1010})]
    );

    // A second run finds nothing and announces nothing.
    assert_eq!(
        f.storage.run_retention(Trigger::Scheduled).await.expect("run"),
        Some(Outcome::default())
    );
    assert_eq!(f.h.payloads("storage.cleanup").len(), 1);
}

#[tokio::test]
async fn retention_by_size_keeps_the_newest_within_the_limit() {
    let f = fixture().await;
    for (i, kind) in [
        FileKind::Recording,
        FileKind::Snapshot,
        FileKind::Recording,
        FileKind::Snapshot,
        FileKind::Recording,
    ]
    .into_iter()
    .enumerate()
    {
        let ext = if kind == FileKind::Recording { "mp4" } else { "jpg" };
        f.put(kind, &format!("f{i}.{ext}"), 1000, DAY * (10 - i as i32));
    }
    // 5000 bytes; keep at most 2500: f0, f1, f2 go (oldest first), 2000 remain.
    let gb = 2500.0 / policy::GIB;
    f.set("size", None, Some(gb), Some(0.0)).await;
    let dry = f.storage.cleanup(false, true, "tester").await.expect("dry run");
    assert_eq!(
        (dry.cleanup_executed, dry.dry_run, dry.files_deleted, dry.space_freed),
        (false, true, 3, 3000)
    );
    assert_eq!(
        (dry.recordings_removed, dry.snapshots_removed, dry.guard_tripped),
        (2, 1, false)
    );
    assert_eq!(
        f.left(FileKind::Recording).len() + f.left(FileKind::Snapshot).len(),
        5,
        "a dry run deletes nothing"
    );
    assert!(f.h.payloads("file.deleted").is_empty() && f.h.payloads("storage.cleanup").is_empty());

    let done = f.storage.cleanup(false, false, "tester").await.expect("cleanup");
    assert_eq!(
        (done.cleanup_executed, done.files_deleted, done.space_freed),
        (true, 3, 3000)
    );
    assert_eq!(done.message, "Cleanup completed successfully");
    assert_eq!(f.left(FileKind::Recording), ["f4.mp4"]);
    assert_eq!(f.left(FileKind::Snapshot), ["f3.jpg"]);
    assert_eq!(
        f.h.payloads("storage.cleanup"),
        [json!({"trigger": "manual", "files_deleted": 3, "space_freed": 3000})]
    );
    let audit = f.h.store.call(|c| audit::recent(c, 10)).await.expect("audit");
    let actions: Vec<&str> = audit.iter().map(|a| a.action.as_str()).collect();
    assert_eq!(actions, ["storage.cleanup", "retention_policy.set"]);
}

#[tokio::test]
async fn free_space_floor_with_a_configured_capacity() {
    let f = fixture_with(false, |c| {
        c.storage.capacity_bytes = Some(10_000);
        c.storage.warn_percent = 80.0;
        c.storage.block_percent = 99.0;
    })
    .await;
    f.put(FileKind::Recording, "a.mp4", 3000, DAY * 5);
    f.put(FileKind::Snapshot, "b.jpg", 500, DAY * 4);
    f.put(FileKind::Recording, "c.mp4", 3000, DAY * 3);
    f.put(FileKind::Recording, "d.mp4", 3000, DAY * 2);
    // 9500 of 10000 used: 5 % free. Floor 30 %: 3000 bytes must go → a (3000) is enough.
    f.set("manual", None, None, Some(30.0)).await;
    let info = f.storage.info().await.expect("info");
    assert_eq!(
        (info.total_space, info.used_space, info.available_space),
        (10_000, 9_500, 500)
    );
    assert_eq!((info.usage_percentage, info.low_space_warning), (95.0, true));
    assert_eq!(
        (
            info.recordings_count,
            info.recordings_size,
            info.snapshots_count,
            info.snapshots_size
        ),
        (3, 9000, 1, 500)
    );
    assert_eq!((info.warn_percent, info.block_percent), (80, 99));

    let outcome = f
        .storage
        .run_retention(Trigger::Floor)
        .await
        .expect("run")
        .expect("ran");
    assert_eq!((outcome.files_deleted, outcome.space_freed), (1, 3000));
    assert_eq!(f.left(FileKind::Recording), ["c.mp4", "d.mp4"]);
    assert_eq!(f.h.payloads("storage.cleanup")[0]["trigger"], "floor");
    let info = f.storage.info().await.expect("info");
    assert_eq!(
        (info.available_space, info.usage_percentage, info.low_space_warning),
        (3500, 65.0, false)
    );
}

#[tokio::test]
async fn the_mass_delete_guard() {
    let f = fixture().await;
    for i in 0..25 {
        f.put(FileKind::Snapshot, &format!("old{i:02}.jpg"), 100, DAY * 60);
    }
    for i in 0..5 {
        f.put(FileKind::Recording, &format!("new{i}.mp4"), 100, DAY);
    }
    f.set("age", Some(30), None, Some(0.0)).await;

    let dry = f
        .storage
        .cleanup(false, true, "tester")
        .await
        .expect("a dry run never fails on the guard");
    assert_eq!(
        (
            dry.guard_tripped,
            dry.files_deleted,
            dry.snapshots_removed,
            dry.space_freed
        ),
        (true, 25, 25, 2500)
    );
    assert!(dry.message.contains("guard"), "{}", dry.message);

    let err = f.storage.cleanup(false, false, "tester").await.expect_err("guard");
    assert_eq!((err.kind, err.reason), (ErrorKind::InvalidState, "mass_delete_guard"));
    assert_eq!(
        (&err.data["would_delete"], &err.data["total_files"]),
        (&json!(25), &json!(30))
    );
    assert_eq!(f.left(FileKind::Snapshot).len(), 25, "the guard deletes nothing");

    assert_eq!(
        f.storage.run_retention(Trigger::Scheduled).await.expect("run"),
        None,
        "a scheduled run is skipped"
    );
    assert_eq!(f.left(FileKind::Snapshot).len(), 25);
    let errors = f.h.payloads("system.error");
    assert_eq!(errors.len(), 1);
    assert_eq!(
        (&errors[0]["component"], &errors[0]["reason"]),
        (&json!("storage"), &json!("mass_delete_guard"))
    );
    assert!(f.h.payloads("file.deleted").is_empty());

    let forced = f
        .storage
        .cleanup(true, false, "tester")
        .await
        .expect("force overrides the guard");
    assert_eq!(
        (forced.cleanup_executed, forced.files_deleted, forced.guard_tripped),
        (true, 25, false)
    );
    assert!(f.left(FileKind::Snapshot).is_empty());
    assert_eq!(f.left(FileKind::Recording).len(), 5);
    assert_eq!(f.h.payloads("file.deleted").len(), 25);
}

#[tokio::test]
async fn files_of_in_progress_recordings_are_never_deleted() {
    let f = fixture().await;
    let (seg1, seg2, seg3) = (
        "camera0_2024-11-01_10-00-00.mp4",
        "camera0_2024-11-01_11-00-00.mp4",
        "camera0_2024-11-01_12-00-00.mp4",
    );
    let (resumable, other) = ("camera1_2024-11-01_10-00-00.mkv", "camera1_2024-10-01_10-00-00.mkv");
    for name in [seg1, seg2, seg3, resumable, other] {
        f.put(FileKind::Recording, name, 100, DAY * 60);
    }
    // camera0 is recording (segments 1 and 2 in its row, 3 being written); camera1's row waits for a resume.
    f.h.store
        .call(move |c| {
            c.execute(
                "INSERT INTO active_recordings (device, format, start_time, files) VALUES
                 ('camera0', 'fmp4', '2024-11-01T10:00:00.000Z', ?1), ('camera1', 'mkv', '2024-11-01T10:00:00.000Z', ?2)",
                [json!([seg1, seg2]).to_string(), json!([resumable]).to_string()],
            )?;
            Ok(())
        })
        .await
        .expect("rows");
    f.fake.writing.lock().expect("lock").push(seg3.to_owned());
    f.set("age_and_size", Some(1), Some(1e-9), Some(50.0)).await;

    let done = f.storage.cleanup(true, false, "tester").await.expect("cleanup");
    assert_eq!(done.files_deleted, 1);
    assert_eq!(f.left(FileKind::Recording), [seg1, seg2, seg3, resumable]);
    assert!(!f.exists(FileKind::Recording, other));
}

#[tokio::test]
async fn policy_persists_across_service_instances() {
    let f = fixture().await;
    let err = f
        .storage
        .set_policy(
            SetRetentionPolicyParams {
                policy_type: "size".into(),
                enabled: true,
                max_age_days: None,
                max_size_gb: None,
                min_free_percent: None,
            },
            "tester",
        )
        .await
        .expect_err("size needs max_size_gb");
    assert_eq!(
        (err.kind, err.reason, &err.data["param"]),
        (ErrorKind::InvalidArgument, "missing_param", &json!("max_size_gb"))
    );
    assert_eq!(f.storage.policy().await.expect("policy"), RetentionPolicy::default());
    f.set("age_and_size", Some(14), Some(2.5), Some(12.5)).await;

    let files = Arc::new(FileCatalog::new(
        &f.h.config,
        f.recorder.clone(),
        Ffmpeg::default(),
        f.h.events.clone(),
        f.h.clock.clone(),
        f.h.store.clone(),
    ));
    let fresh = StorageService::new(
        &f.h.config,
        f.h.store.clone(),
        files,
        f.fake.clone(),
        f.h.events.clone(),
        f.h.clock.clone(),
    );
    let p = fresh.policy().await.expect("policy");
    assert_eq!(
        (
            p.policy_type,
            p.enabled,
            p.max_age_days,
            p.max_size_gb,
            p.min_free_percent
        ),
        (PolicyType::AgeAndSize, true, Some(14), Some(2.5), 12.5)
    );
    // Omitted limits keep the stored values.
    let kept = fresh
        .set_policy(
            SetRetentionPolicyParams {
                policy_type: "age".into(),
                enabled: false,
                max_age_days: None,
                max_size_gb: None,
                min_free_percent: None,
            },
            "tester",
        )
        .await
        .expect("merge");
    assert_eq!(
        (kept.max_age_days, kept.max_size_gb, kept.min_free_percent, kept.enabled),
        (Some(14), Some(2.5), 12.5, false)
    );
}

#[tokio::test]
async fn low_space_refuses_new_media_and_the_monitor_stops_recordings() {
    let f = fixture_with(false, |c| {
        c.storage.capacity_bytes = Some(10_000);
        c.storage.warn_percent = 50.0;
        c.storage.block_percent = 90.0;
    })
    .await;
    let clock = clock_of(&f);
    let levels = Arc::new(Mutex::new(Vec::new()));
    let hook: monitor::LevelHook = {
        let levels = levels.clone();
        Arc::new(move |l| levels.lock().expect("lock").push(l))
    };
    f.fake
        .writing
        .lock()
        .expect("lock")
        .push("camera1_2025-01-15_14-00-00.mp4".into());
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(f.storage.clone().run_monitor(Some(hook), shutdown));

    // Below the thresholds: nothing to announce.
    f.put(
        FileKind::Recording,
        "camera1_2025-01-15_14-00-00.mp4",
        4000,
        time::Duration::ZERO,
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(f.h.payloads("storage.warning").is_empty());

    // 60 %: warn.
    f.put(FileKind::Snapshot, "a.jpg", 2000, time::Duration::ZERO);
    clock.advance(SAMPLE_INTERVAL);
    assert!(eventually(Duration::from_secs(5), || !f.h.payloads("storage.warning").is_empty()).await);
    assert_eq!(
        f.h.payloads("storage.warning")[0],
        json!({"usage_percentage": 60.0, "available_space": 4000, "level": "warn"})
    );
    assert!(f.fake.stopped.lock().expect("lock").is_empty());

    // 95 %: block — new media refused, the running recording ends with storage_full.
    f.put(FileKind::Snapshot, "b.jpg", 3500, time::Duration::ZERO);
    let snapshots = SnapshotService::new(
        &f.h.config,
        f.h.cameras.clone(),
        Ffmpeg::default(),
        f.h.events.clone(),
        f.h.clock.clone(),
        f.h.store.clone(),
    );
    let err = snapshots
        .take(SnapshotRequest {
            device: "camera0".into(),
            ..Default::default()
        })
        .await
        .expect_err("full");
    assert_eq!((err.kind, err.reason), (ErrorKind::StorageFull, "storage_full"));
    assert_eq!(
        (&err.data["available_bytes"], &err.data["usage_percentage"]),
        (&json!(500), &json!(95.0))
    );
    let err = f
        .recorder
        .start(StartRequest {
            device: "camera0".into(),
            ..Default::default()
        })
        .await
        .expect_err("full");
    assert_eq!(err.reason, "storage_full");
    assert!(
        !f.recorder.status("camera0").active,
        "the refused start left no slot behind"
    );

    clock.advance(SAMPLE_INTERVAL);
    assert!(
        eventually(Duration::from_secs(5), || !f
            .fake
            .stopped
            .lock()
            .expect("lock")
            .is_empty())
        .await
    );
    let stopped = f.fake.stopped.lock().expect("lock").clone();
    assert_eq!(stopped.len(), 1);
    assert_eq!(stopped[0].0, "camera1");
    assert!(stopped[0].1.contains("95.0%"), "{}", stopped[0].1);
    assert_eq!(f.h.payloads("storage.warning")[1]["level"], "block");

    // Space freed: back to ok.
    std::fs::remove_file(f.dir(FileKind::Snapshot).join("b.jpg")).expect("rm");
    std::fs::remove_file(f.dir(FileKind::Snapshot).join("a.jpg")).expect("rm");
    clock.advance(SAMPLE_INTERVAL);
    assert!(eventually(Duration::from_secs(5), || f.h.payloads("storage.warning").len() == 3).await);
    assert_eq!(f.h.payloads("storage.warning")[2]["level"], "ok");
    assert_eq!(*levels.lock().expect("lock"), [Level::Warn, Level::Block, Level::Ok]);

    stop.send_replace(true);
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("monitor stops")
        .expect("join");
}

#[tokio::test]
async fn scheduled_runs_follow_the_check_interval_of_the_clock() {
    let f = fixture_with(false, |c| {
        c.retention.check_interval = 600;
        // Start at the warning level so the first tick is observable.
        c.storage.capacity_bytes = Some(1_000);
        c.storage.warn_percent = 10.0;
        c.storage.block_percent = 100.0;
    })
    .await;
    let clock = clock_of(&f);
    f.put(FileKind::Snapshot, "old.jpg", 100, DAY * 3);
    f.put(FileKind::Snapshot, "new.jpg", 100, time::Duration::ZERO);
    f.set("age", Some(2), None, Some(0.0)).await;
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(f.storage.clone().run_monitor(None, shutdown));
    assert!(
        eventually(Duration::from_secs(5), || !f.h.payloads("storage.warning").is_empty()).await,
        "first tick"
    );

    // Step the clock by the sample interval; nothing is deleted before 600 s.
    let mut elapsed = Duration::ZERO;
    while elapsed + SAMPLE_INTERVAL < Duration::from_secs(600) {
        clock.advance(SAMPLE_INTERVAL);
        elapsed += SAMPLE_INTERVAL;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(f.exists(FileKind::Snapshot, "old.jpg"), "not due before the interval");
    clock.advance(SAMPLE_INTERVAL);
    assert!(
        eventually(Duration::from_secs(5), || !f.exists(FileKind::Snapshot, "old.jpg")).await,
        "due at 600 s"
    );
    assert!(f.exists(FileKind::Snapshot, "new.jpg"));
    assert_eq!(
        f.h.payloads("storage.cleanup"),
        [json!({"trigger": "scheduled", "files_deleted": 1, "space_freed": 100})]
    );

    stop.send_replace(true);
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("monitor stops")
        .expect("join");
}

/// The real recorder on a lavfi camera: retention leaves the segment being written alone, and the monitor
/// ends the recording with `storage_full` once the capacity is used up.
#[tokio::test]
async fn monitor_stops_a_real_recording_at_the_blocking_level() {
    let f = fixture_with(true, |c| {
        c.storage.capacity_bytes = Some(100_000_000);
        c.storage.warn_percent = 80.0;
        c.storage.block_percent = 90.0;
    })
    .await;
    let clock = clock_of(&f);
    let started = f
        .recorder
        .start(StartRequest {
            device: "camera0".into(),
            ..Default::default()
        })
        .await
        .expect("start");
    f.put(FileKind::Snapshot, "old.jpg", 100, DAY * 10);
    f.set("size", None, Some(1e-9), Some(0.0)).await;
    let done = f.storage.cleanup(true, false, "tester").await.expect("cleanup");
    assert_eq!(
        done.files_deleted, 1,
        "only the snapshot; the segment being written stays"
    );
    assert!(f.exists(FileKind::Recording, &started.filename));
    assert!(!f.exists(FileKind::Snapshot, "old.jpg"));

    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(f.storage.clone().run_monitor(None, shutdown));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(f.recorder.status("camera0").active, "room left: still recording");
    // A sparse file: its length counts against the capacity without using the disk.
    std::fs::File::create(f.dir(FileKind::Snapshot).join("filler.png"))
        .and_then(|file| file.set_len(95_000_000))
        .expect("sparse filler");
    clock.advance(SAMPLE_INTERVAL);
    assert!(
        eventually(Duration::from_secs(20), || !f.recorder.status("camera0").active).await,
        "stopped at the blocking level"
    );
    let errors = f.h.payloads("recording.error");
    assert_eq!(errors.len(), 1);
    assert_eq!(
        (&errors[0]["device"], &errors[0]["reason"]),
        (&json!("camera0"), &json!("storage_full"))
    );
    let updates = f.h.payloads("recording_status_update");
    let last = updates.last().expect("updates");
    assert_eq!(
        (&last["status"], &last["reason"]),
        (&json!("ERROR"), &json!("storage_full"))
    );
    assert!(f.exists(FileKind::Recording, &started.filename), "the files are kept");

    stop.send_replace(true);
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("monitor stops")
        .expect("join");
}
