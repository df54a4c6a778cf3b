//! Time as events show it: RFC3339 UTC to the second on the wire, Go-style durations in
//! plain text. Formats are upstream's so golden files and grep patterns keep working.

use serde::{Serialize, Serializer};
use std::time::Duration;
use time::OffsetDateTime;
use time::macros::format_description;

/// An instant, serialised as `2026-04-29T01:23:45Z` (UTC, whole seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ts(OffsetDateTime);

impl Ts {
    pub fn now() -> Self {
        Ts(OffsetDateTime::now_utc())
    }
    pub fn from_unix(seconds: i64) -> Self {
        Ts(OffsetDateTime::from_unix_timestamp(seconds).unwrap_or(OffsetDateTime::UNIX_EPOCH))
    }
    /// Parses `YYYY-MM-DDTHH:MM:SSZ` (and any RFC3339 instant).
    pub fn parse(text: &str) -> Option<Self> {
        OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
            .ok()
            .map(Ts)
    }
    pub fn unix(self) -> i64 {
        self.0.unix_timestamp()
    }
    pub fn rfc3339(self) -> String {
        let fmt = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
        self.0
            .to_offset(time::UtcOffset::UTC)
            .format(&fmt)
            .unwrap_or_default()
    }
    pub fn saturating_sub(self, earlier: Ts) -> Duration {
        let d = self.0 - earlier.0;
        d.try_into().unwrap_or(Duration::ZERO)
    }
}

impl Serialize for Ts {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.rfc3339())
    }
}

/// Durations go on the wire as whole seconds, truncated (upstream: `int(d.Seconds())`).
pub fn serialize_whole_seconds<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_secs())
}

/// Go's `time.Duration.String()`: `0s`, `750ms`, `3.25s`, `1m0s`, `5m18s`, `1h2m3s`.
pub fn go_duration(d: Duration) -> String {
    let nanos = d.as_nanos();
    if nanos == 0 {
        return "0s".into();
    }
    if nanos < 1_000 {
        return format!("{nanos}ns");
    }
    if nanos < 1_000_000 {
        return format!("{}µs", trim_fraction(nanos as f64 / 1e3));
    }
    if nanos < 1_000_000_000 {
        return format!("{}ms", trim_fraction(nanos as f64 / 1e6));
    }
    let total_secs = d.as_secs();
    let hours = total_secs / 3600;
    let minutes = (total_secs % 3600) / 60;
    let secs = (total_secs % 60) as f64 + f64::from(d.subsec_nanos()) / 1e9;
    let secs = trim_fraction(secs);
    match (hours, minutes) {
        (0, 0) => format!("{secs}s"),
        (0, m) => format!("{m}m{secs}s"),
        (h, m) => format!("{h}h{m}m{secs}s"),
    }
}

fn trim_fraction(v: f64) -> String {
    let text = format!("{v:.9}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// Upstream's `humanizeSec`: `45s`, `02m41s`, `3h`, `14d`.
pub fn humanize_sec(seconds: u64) -> String {
    match seconds {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{:02}m{:02}s", s / 60, s % 60),
        s if s < 86_400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

/// Go's `%g` for the float durations of `category_completed`: shortest representation.
pub fn go_float(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e21 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// Serialises a float the way Go's `encoding/json` does: whole numbers without `.0`.
pub fn serialize_go_float<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    if v.fract() == 0.0 && v.abs() < 1e21 {
        s.serialize_i64(*v as i64)
    } else {
        s.serialize_f64(*v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_duration_matches_go() {
        let cases = [
            (Duration::ZERO, "0s"),
            (Duration::from_secs(8), "8s"),
            (Duration::from_secs(60), "1m0s"),
            (Duration::from_secs(318), "5m18s"),
            (Duration::from_secs(700), "11m40s"),
            (Duration::from_secs(3723), "1h2m3s"),
            (Duration::from_millis(3250), "3.25s"),
            (Duration::from_millis(750), "750ms"),
        ];
        for (d, want) in cases {
            assert_eq!(go_duration(d), want, "{d:?}");
        }
    }

    #[test]
    fn humanize_matches_upstream() {
        assert_eq!(humanize_sec(45), "45s");
        assert_eq!(humanize_sec(120), "02m00s");
        assert_eq!(humanize_sec(161), "02m41s");
        assert_eq!(humanize_sec(7200), "2h");
        assert_eq!(humanize_sec(1_209_600), "14d");
    }

    #[test]
    fn timestamps_are_utc_seconds() {
        let ts = Ts::parse("2026-04-29T03:45:12.734+02:00").unwrap();
        assert_eq!(ts.rfc3339(), "2026-04-29T01:45:12Z");
    }
}
