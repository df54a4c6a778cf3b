//! Small shared helpers: timestamps, ISO-8601 durations, rate strings.

use std::time::Duration;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// ISO-8601 instant with millisecond precision, as Jackson writes `Instant`.
pub fn ts(t: OffsetDateTime) -> String {
    let t = t
        .replace_nanosecond(t.nanosecond() / 1_000_000 * 1_000_000)
        .unwrap_or(t);
    t.format(&Rfc3339).unwrap_or_default()
}

pub fn parse_ts(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).ok()
}

/// ISO-8601 duration (`PT10S`, `P7D`, `PT1H30M`, `PT0.5S`); years/months are not
/// meaningful for Java `Duration` and are refused.
pub fn parse_iso_duration(s: &str) -> Option<Duration> {
    let rest = s.strip_prefix('P')?;
    let (date, time) = match rest.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (rest, None),
    };
    let mut secs = 0f64;
    let mut seen = false;
    let mut take = |part: &str, units: &[(char, f64)]| -> Option<()> {
        let mut num = String::new();
        for c in part.chars() {
            if c.is_ascii_digit() || c == '.' {
                num.push(c);
                continue;
            }
            let mult = units.iter().find(|(u, _)| *u == c)?.1;
            secs += num.parse::<f64>().ok()? * mult;
            num.clear();
            seen = true;
        }
        num.is_empty().then_some(())
    };
    take(date, &[('D', 86_400.0)])?;
    if let Some(t) = time {
        if t.is_empty() {
            return None;
        }
        take(t, &[('H', 3600.0), ('M', 60.0), ('S', 1.0)])?;
    }
    seen.then(|| Duration::from_secs_f64(secs))
}

/// A rate such as `100-S,5000-M`: a positive count per unit, each unit at most once
/// (the lookahead in the upstream regex). Returns `(count, window)` pairs.
pub fn parse_rate(s: &str, units: &str) -> Option<Vec<(u64, Duration)>> {
    let mut out = Vec::new();
    let mut seen = String::new();
    for (i, part) in s.split(',').enumerate() {
        // The regex allows whitespace only after a comma.
        let part = if i == 0 { part } else { part.trim_start() };
        let (n, unit) = part.split_once('-')?;
        if n.is_empty() || n.starts_with('0') || !n.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        if unit.len() != 1 || !units.contains(unit) || seen.contains(unit) {
            return None;
        }
        seen.push_str(unit);
        let window = match unit {
            "S" => 1,
            "M" => 60,
            "H" => 3600,
            "D" => 86_400,
            "W" => 604_800,
            _ => return None,
        };
        out.push((n.parse().ok()?, Duration::from_secs(window)));
    }
    Some(out)
}

/// Go's `time.Duration.String()`, which the LLM gateway uses for `X-Ratelimit-Reset-Tokens`.
pub fn go_duration(d: Duration) -> String {
    let total = d.as_secs_f64();
    if total == 0.0 {
        return "0s".into();
    }
    if total < 1.0 {
        let ms = d.as_secs_f64() * 1000.0;
        return format!("{}ms", trim_float(ms));
    }
    let h = (total / 3600.0).floor();
    let m = ((total - h * 3600.0) / 60.0).floor();
    let s = total - h * 3600.0 - m * 60.0;
    let s = trim_float(s);
    if h > 0.0 {
        format!("{h}h{m}m{s}s")
    } else if m > 0.0 {
        format!("{m}m{s}s")
    } else {
        format!("{s}s")
    }
}

fn trim_float(v: f64) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

/// Masks a secret for logs: the first 8 characters and `...`.
pub fn mask(secret: &str) -> String {
    let head: String = secret.chars().take(8).collect();
    format!("{head}...")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_durations() {
        assert_eq!(parse_iso_duration("PT10S"), Some(Duration::from_secs(10)));
        assert_eq!(
            parse_iso_duration("PT1H30M"),
            Some(Duration::from_secs(5400))
        );
        assert_eq!(
            parse_iso_duration("P7D"),
            Some(Duration::from_secs(604_800))
        );
        assert_eq!(parse_iso_duration("PT0S"), Some(Duration::ZERO));
        assert_eq!(parse_iso_duration("10S"), None);
        assert_eq!(parse_iso_duration("PT"), None);
        assert_eq!(parse_iso_duration("P"), None);
    }

    #[test]
    fn rates_follow_the_upstream_regex() {
        assert!(parse_rate("100-S", "SMHD").is_some());
        assert!(parse_rate("1000-S,5000-M,100000-H,500000-D,1000000-W", "SMHDW").is_some());
        assert!(parse_rate("10-M, 5-S", "SMHDW").is_some());
        assert!(parse_rate("10-S,5-S", "SMHDW").is_none());
        assert!(parse_rate("0-S", "SMHD").is_none());
        assert!(parse_rate("5-W", "SMHD").is_none());
        assert!(parse_rate("", "SMHD").is_none());
    }

    #[test]
    fn go_durations() {
        assert_eq!(go_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(go_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(go_duration(Duration::from_millis(250)), "250ms");
        assert_eq!(go_duration(Duration::from_secs(3600)), "1h0m0s");
    }

    #[test]
    fn masks_keep_eight_chars() {
        assert_eq!(mask("nvapi-nvcf-stg-abcdef"), "nvapi-nv...");
    }
}
