//! One inotify instance: open, add watches, and block (on a dedicated thread, never the async runtime) until
//! events arrive. Callers parse the raw event buffer themselves (`cameras::hotplug` looks for `videoN` nodes,
//! `media::index` for media files); this module owns only the fd and the poll/read loop.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// How long one `poll` waits before the caller's stop check runs again.
const POLL_MS: i32 = 250;

/// An owned, non-blocking inotify fd; closed on drop.
pub struct Inotify(i32);

impl Inotify {
    pub fn new() -> Result<Inotify, String> {
        // SAFETY: plain syscall; the result is checked.
        let fd = unsafe { libc::inotify_init1(libc::IN_CLOEXEC | libc::IN_NONBLOCK) };
        if fd < 0 {
            return Err(format!("inotify_init1: {}", std::io::Error::last_os_error()));
        }
        Ok(Inotify(fd))
    }

    /// Watches `dir` for the events in `mask`; returns the watch descriptor.
    pub fn add_watch(&self, dir: &Path, mask: u32) -> Result<i32, String> {
        let path = CString::new(dir.as_os_str().as_bytes()).map_err(|_| "path contains a NUL byte".to_owned())?;
        // SAFETY: valid fd and NUL-terminated path.
        let wd = unsafe { libc::inotify_add_watch(self.0, path.as_ptr(), mask) };
        if wd < 0 {
            return Err(format!(
                "cannot watch {}: {}",
                dir.display(),
                std::io::Error::last_os_error()
            ));
        }
        Ok(wd)
    }

    /// Blocks until events arrive and reads them into `buf`: `Ok(Some(n))` bytes of events, `Ok(None)` once
    /// `stop()` is true (checked every [`POLL_MS`]), `Err` when the fd fails.
    pub fn wait_events(&self, buf: &mut [u8], stop: impl Fn() -> bool) -> Result<Option<usize>, String> {
        loop {
            if stop() {
                return Ok(None);
            }
            let mut pfd = libc::pollfd {
                fd: self.0,
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd.
            let ready = unsafe { libc::poll(&mut pfd, 1, POLL_MS) };
            if ready < 0 {
                let e = std::io::Error::last_os_error();
                if e.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(format!("poll: {e}"));
            }
            if ready == 0 {
                continue;
            }
            // SAFETY: reads into the caller's buffer, at most its length.
            let n = unsafe { libc::read(self.0, buf.as_mut_ptr().cast(), buf.len()) };
            if n < 0 {
                let e = std::io::Error::last_os_error();
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::Interrupted
                ) {
                    continue;
                }
                return Err(format!("reading inotify events: {e}"));
            }
            return Ok(Some(usize::try_from(n).unwrap_or(0)));
        }
    }
}

impl Drop for Inotify {
    fn drop(&mut self) {
        // SAFETY: we own this fd and close it once.
        unsafe {
            libc::close(self.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};

    #[test]
    fn sees_a_created_file_and_stops_on_request() {
        let dir = tempfile::tempdir().expect("tempdir");
        let watch = Inotify::new().expect("inotify");
        watch.add_watch(dir.path(), libc::IN_CREATE).expect("watch");
        std::fs::write(dir.path().join("a"), b"x").expect("write");
        let mut buf = [0u8; 4096];
        let n = watch.wait_events(&mut buf, || false).expect("read").expect("events");
        assert!(n >= std::mem::size_of::<libc::inotify_event>());
        let stop = AtomicBool::new(true);
        assert_eq!(
            watch
                .wait_events(&mut buf, || stop.load(Ordering::Relaxed))
                .expect("stop"),
            None
        );
        assert!(watch.add_watch(&dir.path().join("missing"), libc::IN_CREATE).is_err());
    }
}
