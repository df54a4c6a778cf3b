//! When a PEM certificate expires: just enough DER to reach `notAfter`, so a TLS Secret's
//! expiry can be checked without a full X.509 stack.

use base64::Engine;
use time::OffsetDateTime;
use time::macros::format_description;

/// One DER element at the start of `der`: its tag, its content and what follows it.
fn element(der: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = der.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (first as usize, rest)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n].iter().fold(0usize, |a, &b| (a << 8) | b as usize);
        (len, &rest[n..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

/// `notAfter` of the first certificate in `pem`.
pub fn not_after(pem: &str) -> Option<OffsetDateTime> {
    let body: String = pem
        .lines()
        .skip_while(|l| !l.starts_with("-----BEGIN CERTIFICATE"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .ok()?;
    let (_, cert, _) = element(&der)?;
    let (_, tbs, _) = element(cert)?;
    let mut rest = tbs;
    // [0] version is optional; then serial, signature algorithm, issuer, validity.
    let (tag, _, after) = element(rest)?;
    if tag == 0xa0 {
        rest = after;
    }
    for _ in 0..3 {
        rest = element(rest)?.2;
    }
    let (_, validity, _) = element(rest)?;
    let (_, _, after_not_before) = element(validity)?;
    let (tag, time, _) = element(after_not_before)?;
    let text = std::str::from_utf8(time).ok()?;
    let text = if tag == 0x17 {
        // UTCTime: two-digit years 50..99 are 19xx (RFC 5280).
        let century = if text.get(..2)? >= "50" { "19" } else { "20" };
        format!("{century}{text}")
    } else {
        text.to_owned()
    };
    let fmt = format_description!("[year][month][day][hour][minute][second]Z");
    time::PrimitiveDateTime::parse(&text, &fmt)
        .ok()
        .map(time::PrimitiveDateTime::assume_utc)
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
    }

    const NOT_AFTER: i64 = 1_795_519_382;
}
