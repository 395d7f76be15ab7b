//! Test certificates made at run time with rcgen: a throw-away CA and a server certificate for
//! `127.0.0.1` / `localhost` signed by it, written as PEM files.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// Writes `server.crt` (leaf + CA), `server.key` and `ca.pem` into `dir` and returns their paths.
pub fn make_certs(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
    let fail = |what: &str, e: &dyn std::fmt::Display| -> ! { panic!("{what}: {e}") };
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap_or_else(|e| fail("ca params", &e));
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "camera-sdk test CA");
    let ca_key = KeyPair::generate().unwrap_or_else(|e| fail("ca key", &e));
    let ca = CertifiedIssuer::self_signed(ca_params, ca_key).unwrap_or_else(|e| fail("ca", &e));
    let mut params = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
        .unwrap_or_else(|e| fail("params", &e));
    params
        .distinguished_name
        .push(DnType::CommonName, "camera-service test");
    let key = KeyPair::generate().unwrap_or_else(|e| fail("key", &e));
    let cert = params.signed_by(&key, &ca).unwrap_or_else(|e| fail("cert", &e));
    let (cert_file, key_file, ca_file) = (dir.join("server.crt"), dir.join("server.key"), dir.join("ca.pem"));
    let write = |p: &Path, s: String| std::fs::write(p, s).unwrap_or_else(|e| fail("write", &e));
    write(&cert_file, format!("{}{}", cert.pem(), ca.pem()));
    write(&key_file, key.serialize_pem());
    write(&ca_file, ca.pem());
    (cert_file, key_file, ca_file)
}
