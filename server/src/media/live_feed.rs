//! Live feeds: where a camera's picture is already flowing, so that a snapshot reads it there instead of opening
//! the source a second time (API.md §4.3; a V4L2 device allows one reader, and MediaMTX's on-demand publisher is
//! that reader while the path runs).
//!
//! [`capture_inputs`] decides the ffmpeg inputs a snapshot tries, in order:
//! 1. the running feed, when there is one (no second open of the device, no start-up delay);
//! 2. the source itself;
//! 3. for V4L2 sources only, the feed started on demand: when the direct open failed because the device became
//!    busy in between (a viewer started the publisher), reading through MediaMTX still gets a frame.
//!
//! Network and virtual sources allow many readers, so they never get the third attempt: a failing network
//! camera fails once, within one `snapshots.timeout`, not twice.

use crate::cameras::CameraSource;
use crate::media::input_args;
use std::future::Future;
use std::pin::Pin;

/// What [`LiveFeed::running`] returns.
pub type RunningFuture<'a> = Pin<Box<dyn Future<Output = Option<Vec<String>>> + Send + 'a>>;

/// Something that carries a camera's live picture (implemented by the MediaMTX streaming service).
pub trait LiveFeed: Send + Sync {
    /// ffmpeg input arguments that read `device`'s feed, when it is running now (a fresh look, not a cached one:
    /// a feed that started a moment ago holds the device already).
    fn running<'a>(&'a self, device: &'a str) -> RunningFuture<'a>;
    /// ffmpeg input arguments that read `device`'s feed whether or not it runs (reading it starts it).
    fn on_demand(&self, device: &str) -> Option<Vec<String>>;
}

/// One way to get a picture, and where it comes from (for logs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaptureInput {
    pub args: Vec<String>,
    pub via: InputKind,
}

/// Where a [`CaptureInput`] reads from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputKind {
    /// A running live feed.
    Feed,
    /// The camera's own source.
    Source,
    /// The live feed, started by this read.
    FeedOnDemand,
}

impl InputKind {
    pub fn as_str(self) -> &'static str {
        match self {
            InputKind::Feed => "live feed",
            InputKind::Source => "source",
            InputKind::FeedOnDemand => "live feed (on demand)",
        }
    }
}

/// The inputs a snapshot of `device` tries, in order (see the module docs).
pub async fn capture_inputs(device: &str, source: &CameraSource, feed: Option<&dyn LiveFeed>) -> Vec<CaptureInput> {
    let direct = CaptureInput {
        args: input_args(source, false),
        via: InputKind::Source,
    };
    let Some(feed) = feed else {
        return vec![direct];
    };
    if let Some(args) = feed.running(device).await {
        return vec![
            CaptureInput {
                args,
                via: InputKind::Feed,
            },
            direct,
        ];
    }
    let mut inputs = vec![direct];
    if matches!(source, CameraSource::V4l2 { .. })
        && let Some(args) = feed.on_demand(device)
    {
        inputs.push(CaptureInput {
            args,
            via: InputKind::FeedOnDemand,
        });
    }
    inputs
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    struct Feed {
        running: bool,
    }

    impl LiveFeed for Feed {
        fn running<'a>(&'a self, device: &'a str) -> RunningFuture<'a> {
            let args = self
                .running
                .then(|| vec!["-i".to_owned(), format!("rtsp://mtx/{device}")]);
            Box::pin(async move { args })
        }
        fn on_demand(&self, device: &str) -> Option<Vec<String>> {
            Some(vec!["-i".to_owned(), format!("rtsp://mtx/{device}")])
        }
    }

    fn kinds(inputs: &[CaptureInput]) -> Vec<InputKind> {
        inputs.iter().map(|i| i.via).collect()
    }

    #[tokio::test]
    async fn without_a_feed_only_the_source_is_read() {
        let source = CameraSource::V4l2 {
            path: PathBuf::from("/dev/video0"),
        };
        let inputs = capture_inputs("camera0", &source, None).await;
        assert_eq!(kinds(&inputs), [InputKind::Source]);
        assert_eq!(inputs[0].args, ["-f", "v4l2", "-i", "/dev/video0"]);
    }

    #[tokio::test]
    async fn a_running_feed_is_read_first_then_the_source() {
        let source = CameraSource::V4l2 {
            path: PathBuf::from("/dev/video0"),
        };
        let inputs = capture_inputs("camera0", &source, Some(&Feed { running: true })).await;
        assert_eq!(kinds(&inputs), [InputKind::Feed, InputKind::Source]);
        assert_eq!(inputs[0].args, ["-i", "rtsp://mtx/camera0"]);
    }

    #[tokio::test]
    async fn only_exclusive_devices_fall_back_to_starting_the_feed() {
        let device = CameraSource::V4l2 {
            path: PathBuf::from("/dev/video0"),
        };
        let idle = Feed { running: false };
        assert_eq!(
            kinds(&capture_inputs("camera0", &device, Some(&idle)).await),
            [InputKind::Source, InputKind::FeedOnDemand]
        );
        let network = CameraSource::Rtsp {
            url: "rtsp://10.0.0.5/stream".into(),
        };
        assert_eq!(
            kinds(&capture_inputs("cam_net", &network, Some(&idle)).await),
            [InputKind::Source]
        );
    }
}
