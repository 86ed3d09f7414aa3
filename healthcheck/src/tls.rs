//! TLS client configuration for SSL_GET: unverified by default (as keepalived), verified on request.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

/// Why a TLS client configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    #[error("cannot read CA file {path}: {source}")]
    CaFile {
        path: String,
        source: std::io::Error,
    },
    #[error("CA file {0} holds no usable certificate")]
    NoCertificates(String),
    #[error("invalid TLS server name {0:?}")]
    ServerName(String),
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Build a client configuration.
///
/// Without `ca_file` the server certificate is not verified, like keepalived's SSL_GET (which checks
/// that the service answers, not who it is); handshake signatures are still checked so that the
/// connection is a real TLS session. With `ca_file` the chain must lead to one of its certificates and
/// match the server name given to [`server_name`].
pub fn client_config(
    ca_file: Option<&Path>,
    sni: bool,
) -> Result<Arc<ClientConfig>, TlsSetupError> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?;
    let mut config = match ca_file {
        None => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
            .with_no_client_auth(),
        Some(path) => {
            let display = path.display().to_string();
            let pem = std::fs::read(path).map_err(|source| TlsSetupError::CaFile {
                path: display.clone(),
                source,
            })?;
            let mut roots = RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(&pem).flatten() {
                // A malformed certificate among good ones is skipped, as OpenSSL's CAfile loading does.
                let _ = roots.add(cert);
            }
            if roots.is_empty() {
                return Err(TlsSetupError::NoCertificates(display));
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
    };
    config.enable_sni = sni;
    Ok(Arc::new(config))
}

/// The name to present/verify: a DNS name if given, else the target IP (which never goes into SNI).
pub fn server_name(
    name: Option<&str>,
    ip: std::net::IpAddr,
) -> Result<ServerName<'static>, TlsSetupError> {
    match name {
        Some(n) => {
            ServerName::try_from(n.to_owned()).map_err(|_| TlsSetupError::ServerName(n.to_owned()))
        }
        None => Ok(ServerName::IpAddress(ip.into())),
    }
}

/// Accepts any certificate chain but still verifies handshake signatures with the chain's key.
struct AcceptAnyCertificate(Arc<CryptoProvider>);

impl fmt::Debug for AcceptAnyCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AcceptAnyCertificate")
    }
}

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
