//! Test certificates made at run time with rcgen: a throw-away CA and a server certificate for `127.0.0.1` and
//! `localhost` signed by it, written as PEM files for the server's `server.tls` keys, and a rustls client
//! configuration that trusts exactly that CA.

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rustls_pki_types::CertificateDer;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Files and trust anchor of one generated certificate chain.
#[derive(Clone, Debug)]
pub struct TlsMaterial {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
    pub ca_der: CertificateDer<'static>,
}

impl TlsMaterial {
    /// Generates a CA and a server certificate into `dir` (`server.crt`, `server.key`).
    pub fn generate(dir: &Path) -> TlsMaterial {
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "contract-tests CA");
        let ca_key = KeyPair::generate().expect("CA key");
        let ca = CertifiedIssuer::self_signed(ca_params, ca_key).expect("self-signed CA");

        let mut params =
            CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).expect("server params");
        params
            .distinguished_name
            .push(DnType::CommonName, "camera-service test");
        let key = KeyPair::generate().expect("server key");
        let cert = params.signed_by(&key, &ca).expect("server certificate");

        std::fs::create_dir_all(dir).expect("tls dir");
        let cert_file = dir.join("server.crt");
        let key_file = dir.join("server.key");
        // The chain: leaf first, then the CA (harmless for clients that trust the CA directly).
        std::fs::write(&cert_file, format!("{}{}", cert.pem(), ca.pem())).expect("write cert");
        std::fs::write(&key_file, key.serialize_pem()).expect("write key");
        TlsMaterial {
            cert_file,
            key_file,
            ca_der: ca.der().clone(),
        }
    }

    /// A rustls client configuration trusting only the generated CA.
    pub fn client_config(&self) -> Arc<rustls::ClientConfig> {
        crate::install_crypto_provider();
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.ca_der.clone()).expect("add CA to root store");
        Arc::new(
            rustls::ClientConfig::builder()
                .with_root_certificates(roots)
                .with_no_client_auth(),
        )
    }
}
