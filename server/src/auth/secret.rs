//! The JWT signing secret: where it comes from, and its first-start generation.
//!
//! Precedence: the `CAMERA_SERVICE_JWT_SECRET` environment variable (passed in by the caller, so tests need not
//! touch the process environment), else the file named by `security.jwt_secret_file`, else
//! `<data_dir>/jwt_secret`, which is generated on first start: 32 random bytes from aws-lc-rs, written as
//! base64url text with mode 0600. The file is created under a temporary name and hard-linked into place, so a
//! concurrent start (the CLI and the server) can never see a half-written secret or replace one another's; the
//! loser of that race reads the winner's file. The secret is the file's text (surrounding whitespace removed)
//! as bytes and must be at least [`MIN_SECRET_BYTES`] long. It is never logged.

use base64::Engine as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::{Error, ErrorKind};

/// The shortest accepted secret (HS256 wants at least the hash size).
pub const MIN_SECRET_BYTES: usize = 32;

/// File name of the generated secret inside `data_dir`.
pub const GENERATED_SECRET_FILE: &str = "jwt_secret";

/// Returns the JWT secret. See the module docs for the precedence. Blocking file I/O: call at start-up.
pub fn load_jwt_secret(config: &Config, env_secret: Option<String>) -> crate::Result<Vec<u8>> {
    if let Some(secret) = env_secret {
        return check_length(secret.trim().as_bytes().to_vec(), "CAMERA_SERVICE_JWT_SECRET");
    }
    if let Some(path) = &config.security.jwt_secret_file {
        return read_secret_file(path);
    }
    let path = config.data_dir.join(GENERATED_SECRET_FILE);
    match std::fs::symlink_metadata(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => generate_secret_file(&config.data_dir, &path),
        _ => read_secret_file(&path),
    }
}

/// A start-up failure (never reaches a client): the details say what to fix.
fn config_error(details: String) -> Error {
    Error::new(ErrorKind::Internal, "internal_error", details)
}

fn check_length(secret: Vec<u8>, source: &str) -> crate::Result<Vec<u8>> {
    if secret.len() < MIN_SECRET_BYTES {
        return Err(config_error(format!(
            "the JWT secret from {source} is {} bytes long; at least {MIN_SECRET_BYTES} are required",
            secret.len()
        )));
    }
    Ok(secret)
}

fn read_secret_file(path: &Path) -> crate::Result<Vec<u8>> {
    let text = std::fs::read(path)
        .map_err(|e| config_error(format!("cannot read the JWT secret file {}: {e}", path.display())))?;
    warn_if_readable_by_others(path);
    let trimmed = text.trim_ascii().to_vec();
    check_length(trimmed, &path.display().to_string())
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    if let Ok(meta) = std::fs::metadata(path)
        && meta.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(path = %path.display(), "the JWT secret file is accessible by group or others; chmod 600 it");
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_path: &Path) {}

fn generate_secret_file(data_dir: &Path, path: &Path) -> crate::Result<Vec<u8>> {
    std::fs::create_dir_all(data_dir)
        .map_err(|e| config_error(format!("cannot create data directory {}: {e}", data_dir.display())))?;
    let mut raw = [0u8; 32];
    aws_lc_rs::rand::fill(&mut raw).map_err(|_| Error::internal("the system random generator failed"))?;
    let text = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw);

    let tmp = temp_name(data_dir)?;
    let write = || -> std::io::Result<()> {
        let mut file = create_private(&tmp)?;
        file.write_all(text.as_bytes())?;
        file.write_all(b"\n")?;
        file.sync_all()
    };
    let result = write().and_then(|()| std::fs::hard_link(&tmp, path));
    let _ = std::fs::remove_file(&tmp);
    match result {
        Ok(()) => {
            sync_dir(data_dir);
            tracing::info!(path = %path.display(), "generated a new JWT secret");
            Ok(text.into_bytes())
        }
        // Someone else created it first: theirs is the secret.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => read_secret_file(path),
        Err(e) => Err(config_error(format!(
            "cannot write the JWT secret file {}: {e}",
            path.display()
        ))),
    }
}

fn temp_name(dir: &Path) -> crate::Result<PathBuf> {
    let mut suffix = [0u8; 8];
    aws_lc_rs::rand::fill(&mut suffix).map_err(|_| Error::internal("the system random generator failed"))?;
    let hex: String = suffix.iter().map(|b| format!("{b:02x}")).collect();
    Ok(dir.join(format!(".{GENERATED_SECRET_FILE}.{hex}.tmp")))
}

#[cfg(unix)]
fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt as _;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new().write(true).create_new(true).open(path)
}

fn sync_dir(dir: &Path) {
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_in(dir: &Path) -> Config {
        Config {
            data_dir: dir.to_path_buf(),
            ..Config::default()
        }
    }

    #[test]
    fn env_secret_wins_and_is_length_checked() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = config_in(dir.path());
        config.security.jwt_secret_file = Some(dir.path().join("missing"));
        let s = load_jwt_secret(&config, Some("x".repeat(40))).expect("env secret");
        assert_eq!(s, "x".repeat(40).into_bytes());
        let err = load_jwt_secret(&config, Some("short".into())).expect_err("too short");
        assert!(err.details.contains("at least 32"), "{err}");
        assert!(!dir.path().join(GENERATED_SECRET_FILE).exists(), "nothing generated");
    }

    #[test]
    fn secret_file_is_read_and_trimmed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("secret.txt");
        std::fs::write(&file, format!("{}\n", "s".repeat(32))).expect("write");
        let mut config = config_in(dir.path());
        config.security.jwt_secret_file = Some(file.clone());
        assert_eq!(
            load_jwt_secret(&config, None).expect("file"),
            "s".repeat(32).into_bytes()
        );
        std::fs::write(&file, "tooshort\n").expect("write");
        assert!(load_jwt_secret(&config, None).is_err());
        config.security.jwt_secret_file = Some(dir.path().join("absent"));
        let err = load_jwt_secret(&config, None).expect_err("missing file is an error, not a generation");
        assert!(err.details.contains("absent"), "{err}");
    }

    #[test]
    fn generated_once_with_mode_0600_then_reused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        let config = config_in(&data);
        let first = load_jwt_secret(&config, None).expect("generate");
        assert_eq!(first.len(), 43, "32 bytes as base64url");
        assert!(
            first
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
        );
        let path = data.join(GENERATED_SECRET_FILE);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let second = load_jwt_secret(&config, None).expect("reuse");
        assert_eq!(first, second);
        let leftovers: Vec<_> = std::fs::read_dir(&data)
            .expect("list")
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "temporary files removed");
        // A different data dir gets a different secret.
        let other = load_jwt_secret(&config_in(&dir.path().join("other")), None).expect("other");
        assert_ne!(first, other);
    }

    #[test]
    fn concurrent_generation_agrees_on_one_secret() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = config_in(dir.path());
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let config = config.clone();
                std::thread::spawn(move || load_jwt_secret(&config, None).expect("load"))
            })
            .collect();
        let secrets: Vec<_> = handles.into_iter().map(|h| h.join().expect("join")).collect();
        assert!(
            secrets.windows(2).all(|w| w[0] == w[1]),
            "every starter sees the same secret"
        );
    }
}
