//! The V4L2 [`CameraProbe`]: finds `videoN` nodes in `cameras.v4l2.device_dir` and probes them with the kernel
//! ioctls (through the pure-Rust `linuxvideo` crate).
//!
//! Rules and invariants:
//! - `/dev/videoN` becomes `cameraN`. Only names `video<digits>` are looked at.
//! - A node whose device capabilities lack video capture (e.g. a UVC metadata node) is not a camera and is not
//!   returned. A node that cannot be opened or probed (permission denied, not a V4L2 device, ...) is returned
//!   with `error` set, so the registry lists it as `ERROR` with the reason.
//! - Capabilities are format × frame size × frame rates, always enumerated; the result is cached per device
//!   identity (inode + device number) so a rescan of an unchanged node costs one `stat`. Failures are not
//!   cached (udev may fix permissions a moment after the node appears).
//! - All filesystem and ioctl work runs on tokio's blocking pool; a panic inside the ioctl wrapper is contained
//!   there and reported as a probe error.

use super::{CameraProbe, CameraSource, Mode, ProbeFuture, ProbedCamera};
use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Largest number of frame sizes enumerated from a stepwise/continuous range per format.
const STEPWISE_SIZES: [(u32, u32); 6] = [
    (3840, 2160),
    (1920, 1080),
    (1280, 720),
    (800, 600),
    (640, 480),
    (320, 240),
];

/// Identity of a node: (inode, device number). A replug gives a new inode.
type NodeId = (u64, u64);

#[derive(Clone, Debug)]
struct Probed {
    name: String,
    modes: Vec<Mode>,
    current: Option<(u32, u32, u32)>,
}

/// What probing one node found.
#[derive(Debug)]
enum NodeResult {
    Camera(Probed),
    /// A V4L2 node without video capture (metadata, output, ...).
    NotCapture,
    Failed(String),
}

/// Probes `device_dir` for V4L2 capture nodes.
pub struct V4l2Probe {
    dir: PathBuf,
    cache: Arc<Mutex<HashMap<PathBuf, (NodeId, Probed)>>>,
}

impl V4l2Probe {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        V4l2Probe {
            dir: dir.into(),
            cache: Arc::new(Mutex::new(HashMap::new())),
        }
    }
}

impl CameraProbe for V4l2Probe {
    fn scan(&self) -> ProbeFuture<'_> {
        let dir = self.dir.clone();
        let cache = Arc::clone(&self.cache);
        Box::pin(async move {
            match tokio::task::spawn_blocking(move || scan_dir(&dir, &cache)).await {
                Ok(found) => found,
                Err(e) => {
                    tracing::error!(error = %e, "V4L2 probe task failed");
                    Vec::new()
                }
            }
        })
    }
}

/// The number of a `videoN` file name.
pub fn node_number(name: &str) -> Option<u32> {
    let digits = name.strip_prefix("video")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.len() > 9 {
        return None;
    }
    digits.parse().ok()
}

fn scan_dir(dir: &Path, cache: &Mutex<HashMap<PathBuf, (NodeId, Probed)>>) -> Vec<ProbedCamera> {
    let read = match std::fs::read_dir(dir) {
        Ok(r) => r,
        Err(e) => {
            tracing::debug!(dir = %dir.display(), error = %e, "cannot read the V4L2 device directory");
            return Vec::new();
        }
    };
    let mut nodes: Vec<(u32, PathBuf)> = read
        .filter_map(Result::ok)
        .filter_map(|d| {
            let name = d.file_name();
            node_number(name.to_str()?).map(|n| (n, d.path()))
        })
        .collect();
    nodes.sort_unstable();
    let mut found = Vec::with_capacity(nodes.len());
    let mut cache = cache.lock().unwrap_or_else(|p| p.into_inner());
    cache.retain(|path, _| nodes.iter().any(|(_, p)| p == path));
    for (n, path) in nodes {
        let id = format!("camera{n}");
        let identity = match std::fs::metadata(&path) {
            Ok(m) => (m.ino(), m.rdev()),
            Err(e) => {
                // Vanished between the listing and now, or not stat-able.
                if e.kind() != std::io::ErrorKind::NotFound {
                    found.push(failed(id, &path, format!("cannot stat {}: {e}", file_name(&path))));
                }
                continue;
            }
        };
        if let Some((cached_id, probed)) = cache.get(&path)
            && *cached_id == identity
        {
            found.push(camera(id, &path, probed.clone()));
            continue;
        }
        match probe_node(&path) {
            NodeResult::Camera(probed) => {
                cache.insert(path.clone(), (identity, probed.clone()));
                found.push(camera(id, &path, probed));
            }
            NodeResult::NotCapture => {}
            NodeResult::Failed(reason) => {
                cache.remove(&path);
                found.push(failed(id, &path, reason));
            }
        }
    }
    found
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
}

fn camera(id: String, path: &Path, probed: Probed) -> ProbedCamera {
    ProbedCamera {
        id,
        name: probed.name,
        source: CameraSource::V4l2 {
            path: path.to_path_buf(),
        },
        modes: probed.modes,
        current: probed.current,
        error: None,
    }
}

fn failed(id: String, path: &Path, reason: String) -> ProbedCamera {
    ProbedCamera {
        name: format!("Video device {}", file_name(path)),
        id,
        source: CameraSource::V4l2 {
            path: path.to_path_buf(),
        },
        modes: Vec::new(),
        current: None,
        error: Some(reason),
    }
}

/// Opens and probes one node. Any panic of the ioctl wrapper becomes a failure.
fn probe_node(path: &Path) -> NodeResult {
    match std::panic::catch_unwind(|| probe_node_inner(path)) {
        Ok(r) => r,
        Err(_) => NodeResult::Failed("the V4L2 driver returned unexpected data".into()),
    }
}

fn probe_node_inner(path: &Path) -> NodeResult {
    use linuxvideo::{BufType, CapabilityFlags, Device};
    let device = match Device::open(path) {
        Ok(d) => d,
        Err(e) => return NodeResult::Failed(describe_open_error(&e)),
    };
    let caps = match device.capabilities() {
        Ok(c) => c,
        Err(e) => return NodeResult::Failed(format!("cannot query capabilities: {e}")),
    };
    let flags = caps.device_capabilities();
    if !flags.contains(CapabilityFlags::VIDEO_CAPTURE) {
        return NodeResult::NotCapture;
    }
    let name = caps.card().trim().to_owned();
    let mut modes = Vec::new();
    for desc in device.formats(BufType::VIDEO_CAPTURE) {
        let desc = match desc {
            Ok(d) => d,
            Err(e) => return NodeResult::Failed(format!("cannot enumerate formats: {e}")),
        };
        let pixel_format = desc.pixel_format();
        let format = pixel_format.to_string().trim().to_owned();
        let sizes = match device.frame_sizes(pixel_format) {
            Ok(s) => s,
            Err(_) => continue,
        };
        for (width, height) in sizes_of(&sizes) {
            let fps = match device.frame_intervals(pixel_format, width, height) {
                Ok(ivals) => rates_of(&ivals),
                Err(_) => Vec::new(),
            };
            modes.push(Mode {
                format: format.clone(),
                width,
                height,
                fps,
            });
        }
    }
    let current = match device.format(BufType::VIDEO_CAPTURE) {
        Ok(linuxvideo::format::Format::VideoCapture(pix)) => {
            let (w, h) = (pix.width(), pix.height());
            let fps = modes
                .iter()
                .filter(|m| m.width == w && m.height == h)
                .flat_map(|m| m.fps.iter().copied())
                .max()
                .unwrap_or(0);
            Some((w, h, fps))
        }
        _ => None,
    };
    NodeResult::Camera(Probed {
        name: if name.is_empty() { "V4L2 camera".into() } else { name },
        modes,
        current,
    })
}

fn describe_open_error(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(libc::EACCES) | Some(libc::EPERM) => format!("permission denied: {e}"),
        Some(libc::ENOTTY) | Some(libc::EINVAL) => format!("not a V4L2 device: {e}"),
        Some(libc::EBUSY) => format!("device busy: {e}"),
        _ => format!("cannot open: {e}"),
    }
}

fn sizes_of(sizes: &linuxvideo::format::FrameSizes) -> Vec<(u32, u32)> {
    use linuxvideo::format::FrameSizes;
    match sizes {
        FrameSizes::Discrete(list) => list.iter().map(|s| (s.width(), s.height())).collect(),
        FrameSizes::Stepwise(range) | FrameSizes::Continuous(range) => {
            let fits = |&(w, h): &(u32, u32)| {
                (range.min_width()..=range.max_width()).contains(&w)
                    && (range.min_height()..=range.max_height()).contains(&h)
            };
            let mut out: Vec<(u32, u32)> = STEPWISE_SIZES.iter().copied().filter(fits).collect();
            if out.is_empty() {
                out.push((range.max_width(), range.max_height()));
            }
            out
        }
    }
}

/// Frame rates (integer, descending, distinct) of an interval list.
fn rates_of(ivals: &linuxvideo::format::FrameIntervals) -> Vec<u32> {
    use linuxvideo::format::FrameIntervals;
    let rate = |f: &linuxvideo::Fract| -> u32 {
        if f.numerator() == 0 {
            0
        } else {
            (f64::from(f.denominator()) / f64::from(f.numerator())).round() as u32
        }
    };
    let mut rates: Vec<u32> = match ivals {
        FrameIntervals::Discrete(list) => list.iter().map(|i| rate(i.fract())).collect(),
        FrameIntervals::Stepwise(r) | FrameIntervals::Continuous(r) => vec![rate(r.min()), rate(r.max())],
    };
    rates.retain(|r| *r > 0);
    rates.sort_unstable_by(|a, b| b.cmp(a));
    rates.dedup();
    rates
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_names() {
        assert_eq!(node_number("video0"), Some(0));
        assert_eq!(node_number("video12"), Some(12));
        assert_eq!(node_number("video"), None);
        assert_eq!(node_number("video1a"), None);
        assert_eq!(node_number("vbi0"), None);
        assert_eq!(node_number("video9999999999"), None);
    }

    #[tokio::test]
    async fn regular_files_are_listed_as_errors() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("video3"), b"").expect("write");
        std::fs::write(dir.path().join("video10"), b"").expect("write");
        std::fs::write(dir.path().join("notes.txt"), b"").expect("write");
        let probe = V4l2Probe::new(dir.path());
        let found = probe.scan().await;
        let ids: Vec<&str> = found.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["camera3", "camera10"]);
        for c in &found {
            let reason = c.error.as_deref().expect("error");
            assert!(reason.contains("not a V4L2 device"), "{reason}");
            assert!(c.modes.is_empty());
        }
        std::fs::remove_file(dir.path().join("video3")).expect("rm");
        let found = probe.scan().await;
        assert_eq!(found.len(), 1);
        // A missing directory is just empty.
        assert!(V4l2Probe::new(dir.path().join("nope")).scan().await.is_empty());
    }
}
