//! When a PEM certificate expires, read with RustCrypto's X.509 parser.

use time::OffsetDateTime;
use x509_cert::Certificate;
use x509_cert::der::DecodePem;

const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
const END: &str = "-----END CERTIFICATE-----";

/// `notAfter` of the first certificate in `pem` (a TLS Secret's `tls.crt` holds the leaf
/// first, then its chain).
pub fn not_after(pem: &str) -> Option<OffsetDateTime> {
    let start = pem.find(BEGIN)?;
    let end = start + pem[start..].find(END)? + END.len();
    let cert = Certificate::from_pem(&pem[start..end]).ok()?;
    let since_epoch = cert.tbs_certificate.validity.not_after.to_unix_duration();
    OffsetDateTime::from_unix_timestamp(i64::try_from(since_epoch.as_secs()).ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=t`,
    /// notAfter 2026-11-24 11:23:02 UTC.
    const CERT: &str = include_str!("cert_expiry_test.pem");

    #[test]
    fn reads_not_after() {
        let t = not_after(CERT).unwrap();
        assert_eq!(t.unix_timestamp(), NOT_AFTER);
        assert!(not_after("not a certificate").is_none());
        let chain = format!("{CERT}{CERT}");
        assert_eq!(not_after(&chain).unwrap().unix_timestamp(), NOT_AFTER);
        let torn = &CERT[..CERT.len() / 2];
        assert!(not_after(torn).is_none());
    }

    const NOT_AFTER: i64 = 1_795_519_382;
}
