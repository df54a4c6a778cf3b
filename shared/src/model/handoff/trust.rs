//! Trust material in handoff files: PEM certificate bundles and upstream's trust-bundle
//! fingerprint, which NVCA compares before it trusts a bundle.

use base64::Engine;
use sha2::{Digest, Sha256};

/// One PEM block: its label (`CERTIFICATE`, `PRIVATE KEY`, …) and decoded body.
#[derive(Debug, PartialEq, Eq)]
pub struct Block {
    pub label: String,
    pub der: Vec<u8>,
}

/// Splits PEM text into blocks. `strict`: nothing but whitespace may stand between
/// blocks (a bundle in a profile must be certificates only); otherwise text around
/// blocks (comments) is skipped.
pub fn blocks(pem: &str, strict: bool) -> Result<Vec<Block>, String> {
    let mut out = Vec::new();
    let mut lines = pem.lines().map(str::trim);
    while let Some(line) = lines.next() {
        if line.is_empty() {
            continue;
        }
        let Some(label) = line
            .strip_prefix("-----BEGIN ")
            .and_then(|l| l.strip_suffix("-----"))
        else {
            if strict {
                return Err(format!("text outside a PEM block: {:?}", clip(line)));
            }
            continue;
        };
        let end = format!("-----END {label}-----");
        let mut body = String::new();
        let mut closed = false;
        for inner in lines.by_ref() {
            if inner == end {
                closed = true;
                break;
            }
            body.push_str(inner);
        }
        if !closed {
            return Err(format!("the {label} block has no END line"));
        }
        let der = base64::engine::general_purpose::STANDARD
            .decode(body.as_bytes())
            .map_err(|e| format!("the {label} block is not base64: {e}"))?;
        out.push(Block {
            label: label.to_owned(),
            der,
        });
    }
    Ok(out)
}

fn clip(s: &str) -> String {
    s.chars().take(40).collect()
}

/// Checks a bundle holds certificates and nothing else (no keys, no stray text).
pub fn certificates_only(pem: &str) -> Result<Vec<Vec<u8>>, String> {
    let found = blocks(pem, true)?;
    if found.is_empty() {
        return Err("no PEM certificate in it".into());
    }
    let mut certs = Vec::new();
    for b in found {
        if b.label.contains("PRIVATE KEY") {
            return Err("it holds a private key: share certificates only".into());
        }
        if b.label != "CERTIFICATE" {
            return Err(format!("it holds a {} block: certificates only", b.label));
        }
        if b.der.first() != Some(&0x30) {
            return Err("a CERTIFICATE block is not DER".into());
        }
        certs.push(b.der);
    }
    Ok(certs)
}

/// Upstream's fingerprint: `sha256:` and the SHA-256 of `nvcf-trust-bundle-v1\n` followed
/// by each distinct certificate's SHA-256 (hex, sorted, one per line). The same for any
/// order, duplicates, whitespace or comments; blocks that are not certificates are ignored.
pub fn fingerprint(pem: &str) -> Result<String, String> {
    let mut lines: Vec<String> = blocks(pem, false)?
        .into_iter()
        .filter(|b| b.label == "CERTIFICATE")
        .map(|b| {
            if b.der.first() != Some(&0x30) {
                return Err("a CERTIFICATE block is not DER".to_owned());
            }
            Ok(hex(&Sha256::digest(&b.der)))
        })
        .collect::<Result<_, _>>()?;
    if lines.is_empty() {
        return Err("no certificate to fingerprint".into());
    }
    lines.sort();
    lines.dedup();
    let mut h = Sha256::new();
    h.update(b"nvcf-trust-bundle-v1\n");
    for l in &lines {
        h.update(l.as_bytes());
        h.update(b"\n");
    }
    Ok(format!("sha256:{}", hex(&h.finalize())))
}

/// `sha256:` and 64 hex digits.
pub fn is_fingerprint(s: &str) -> bool {
    s.strip_prefix("sha256:")
        .is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Two small DER "certificates": SEQUENCE-shaped bytes, enough for the PEM rules.
    pub(crate) fn cert(n: u8) -> String {
        let der = [0x30, 0x03, 0x02, 0x01, n];
        format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            base64::engine::general_purpose::STANDARD.encode(der)
        )
    }

    #[test]
    fn the_fingerprint_ignores_order_duplicates_whitespace_and_comments() {
        let a = fingerprint(&format!("{}{}", cert(1), cert(2))).unwrap();
        let b = fingerprint(&format!("# root\n\n{}\n  {}{}", cert(2), cert(1), cert(2))).unwrap();
        assert_eq!(a, b);
        assert!(is_fingerprint(&a), "{a}");
        assert_ne!(a, fingerprint(&cert(1)).unwrap());
        assert_eq!(
            fingerprint(&cert(1)).unwrap(),
            fingerprint(&cert(1)).unwrap()
        );
    }

    #[test]
    fn the_fingerprint_needs_a_certificate() {
        assert!(fingerprint("").is_err());
        assert!(
            fingerprint("-----BEGIN PUBLIC KEY-----\nMAMCAQE=\n-----END PUBLIC KEY-----\n")
                .is_err()
        );
        assert!(
            fingerprint("-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----\n").is_err()
        );
        let with_key = format!(
            "{}-----BEGIN PUBLIC KEY-----\nMAMCAQE=\n-----END PUBLIC KEY-----\n",
            cert(1)
        );
        assert_eq!(fingerprint(&with_key), fingerprint(&cert(1)));
    }

    #[test]
    fn a_bundle_is_certificates_only() {
        assert_eq!(
            certificates_only(&format!("{}\n\n{}", cert(1), cert(2)))
                .unwrap()
                .len(),
            2
        );
        let key = "-----BEGIN PRIVATE KEY-----\nMAMCAQE=\n-----END PRIVATE KEY-----\n";
        assert!(
            certificates_only(&format!("{}{key}", cert(1)))
                .unwrap_err()
                .contains("private key")
        );
        assert!(
            certificates_only(&format!("junk\n{}", cert(1)))
                .unwrap_err()
                .contains("outside")
        );
        assert!(certificates_only("").is_err());
        assert!(certificates_only("-----BEGIN CERTIFICATE-----\nMAMC").is_err());
    }
}
