//! `helm template` output kept by everything it was rendered from, so re-rendering a stack
//! after editing one release's values runs helm for that release only.
//!
//! Only renders that are a pure function of their inputs are kept:
//! - the chart is on disk, and its bytes are hashed into the key, so an edited chart is a
//!   miss (a chart pulled by tag, `oci://…` or a repository, could change under that tag);
//! - no template action calls a function whose result differs per render (random strings,
//!   generated keys and certificates, the time), or every render would mint the same ones;
//! - the output holds no Secret, so no credential is ever written to the cache.
//!
//! `NVCF_RENDER_CACHE=off` turns the cache off.

use crate::clients::helm::{ChartRef, TemplateRequest};
use crate::model::settings::EnvLookup;
use regex_lite::Regex;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Entries beyond this many are pruned, oldest first, so the cache stays a few megabytes.
const MAX_ENTRIES: usize = 400;
/// Chart trees are hashed this deep at most: a symlink loop must not hang a render.
const MAX_DEPTH: usize = 12;

#[derive(Debug, Clone)]
pub struct TemplateCache {
    dir: PathBuf,
}

impl TemplateCache {
    /// `$XDG_CACHE_HOME/nvcf-plugins/helm-template` (else `~/.cache/…`), unless
    /// `NVCF_RENDER_CACHE` is `off`, `0` or `false`.
    pub fn from_env(env: &dyn EnvLookup) -> Option<TemplateCache> {
        if env
            .get("NVCF_RENDER_CACHE")
            .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "off" | "0" | "false"))
        {
            return None;
        }
        let base = env
            .get("XDG_CACHE_HOME")
            .filter(|d| Path::new(d).is_absolute())
            .map(PathBuf::from)
            .or_else(|| crate::model::target::home_dir(env).map(|h| h.join(".cache")))?;
        Some(TemplateCache {
            dir: base.join("nvcf-plugins").join("helm-template"),
        })
    }

    pub fn at(dir: PathBuf) -> TemplateCache {
        TemplateCache { dir }
    }

    /// The key of one render, or `None` when it must run helm: its chart is not on disk,
    /// cannot be read (helm reports the real problem) or renders differently every time.
    pub fn key(helm_version: &str, req: &TemplateRequest<'_>, values: &[u8]) -> Option<String> {
        let ChartRef::Path(chart) = req.chart else {
            return None;
        };
        let mut h = Sha256::new();
        for part in [
            "helm-template/1",
            helm_version,
            req.release,
            req.namespace,
            req.version,
        ] {
            field(&mut h, part.as_bytes());
        }
        for api in req.api_versions {
            field(&mut h, api.as_bytes());
        }
        if varies_per_render(values) {
            return None;
        }
        field(&mut h, values);
        hash_tree(&mut h, chart, Path::new(""), 0).ok()?;
        Some(hex(&h.finalize()))
    }

    /// Whether a render may be stored: Secrets stay out of the cache.
    pub fn storable(rendered: &str) -> bool {
        !rendered.lines().any(|l| {
            matches!(
                l.trim(),
                "kind: Secret" | "kind: \"Secret\"" | "- kind: Secret"
            )
        })
    }

    pub fn get(&self, key: &str) -> Option<String> {
        std::fs::read_to_string(self.dir.join(key)).ok()
    }

    /// Best effort: a cache that cannot be written only costs the next render its speed.
    pub fn put(&self, key: &str, rendered: &str) {
        if !Self::storable(rendered) || std::fs::create_dir_all(&self.dir).is_err() {
            return;
        }
        if crate::base::files::write_atomic(&self.dir.join(key), rendered.as_bytes()).is_ok() {
            self.prune();
        }
    }

    fn prune(&self) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        let mut files: Vec<(std::time::SystemTime, PathBuf)> = entries
            .flatten()
            .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
            .collect();
        if files.len() <= MAX_ENTRIES {
            return;
        }
        files.sort();
        for (_, path) in &files[..files.len() - MAX_ENTRIES] {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Length-prefixed, so `("ab", "c")` and `("a", "bc")` hash differently.
fn field(h: &mut Sha256, bytes: &[u8]) {
    h.update((bytes.len() as u64).to_le_bytes());
    h.update(bytes);
}

/// Template functions whose result differs from one render to the next.
const PER_RENDER: &str = r"\b(rand[A-Za-z]*|genCA[A-Za-z]*|genPrivateKey|genSelfSigned[A-Za-z]*|genSignedCert[A-Za-z]*|uuidv4|now|htpasswd|derivePassword|encryptAES|shuffle|bcrypt)\b";

/// Whether any template action in `text` calls a per-render function. Comments are not
/// actions; text outside `{{ }}` (scripts, prose) calls nothing.
fn varies_per_render(text: &[u8]) -> bool {
    static ACTION: OnceLock<(Regex, Regex, Regex)> = OnceLock::new();
    let (comment, action, func) = ACTION.get_or_init(|| {
        (
            Regex::new(r"(?s)/\*.*?\*/").expect("comment pattern"),
            Regex::new(r"(?s)\{\{.*?\}\}").expect("action pattern"),
            Regex::new(PER_RENDER).expect("function pattern"),
        )
    });
    let text = String::from_utf8_lossy(text);
    if !text.contains("{{") {
        return false;
    }
    let text = comment.replace_all(&text, "");
    action.find_iter(&text).any(|a| func.is_match(a.as_str()))
}

/// Every file under `path` (or `path` itself, a packaged chart), by relative name and bytes,
/// in a stable order. A chart that renders differently per run, or packs a subchart whose
/// templates we do not read, is refused as an error.
fn hash_tree(h: &mut Sha256, path: &Path, rel: &Path, depth: usize) -> std::io::Result<()> {
    if depth > MAX_DEPTH {
        return Err(std::io::Error::other("chart tree too deep"));
    }
    if std::fs::metadata(path)?.is_dir() {
        let mut names: Vec<_> = std::fs::read_dir(path)?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<std::io::Result<_>>()?;
        names.sort();
        for name in names {
            hash_tree(h, &path.join(&name), &rel.join(&name), depth + 1)?;
        }
    } else {
        let bytes = std::fs::read(path)?;
        if path.extension().is_some_and(|e| e == "tgz") || varies_per_render(&bytes) {
            return Err(std::io::Error::other("renders differently per run"));
        }
        field(h, rel.as_os_str().as_encoded_bytes());
        field(h, &bytes);
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::settings::MapEnv;

    fn request<'a>(
        chart: &'a ChartRef,
        values: &'a Path,
        apis: &'a [String],
    ) -> TemplateRequest<'a> {
        TemplateRequest {
            release: "api",
            namespace: "nvcf",
            chart,
            version: "1.0.0",
            values,
            api_versions: apis,
        }
    }

    fn chart_dir() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Chart.yaml"), "name: api\nversion: 1.0.0\n").unwrap();
        std::fs::create_dir(dir.path().join("templates")).unwrap();
        std::fs::write(dir.path().join("templates/cm.yaml"), "kind: ConfigMap\n").unwrap();
        dir
    }

    #[test]
    fn every_input_of_a_render_changes_its_key() {
        let dir = chart_dir();
        let chart = ChartRef::Path(dir.path().to_path_buf());
        let apis = vec!["a/v1".to_owned()];
        let values = Path::new("unused");
        let base = TemplateCache::key("v3.16.0", &request(&chart, values, &apis), b"x: 1").unwrap();
        assert_eq!(
            TemplateCache::key("v3.16.0", &request(&chart, values, &apis), b"x: 1").unwrap(),
            base,
            "the same inputs give the same key"
        );
        assert_ne!(
            TemplateCache::key("v4.0.0", &request(&chart, values, &apis), b"x: 1").unwrap(),
            base
        );
        assert_ne!(
            TemplateCache::key("v3.16.0", &request(&chart, values, &apis), b"x: 2").unwrap(),
            base
        );
        assert_ne!(
            TemplateCache::key("v3.16.0", &request(&chart, values, &[]), b"x: 1").unwrap(),
            base
        );
        let mut other_ns = request(&chart, values, &apis);
        other_ns.namespace = "other";
        assert_ne!(
            TemplateCache::key("v3.16.0", &other_ns, b"x: 1").unwrap(),
            base
        );
        std::fs::write(dir.path().join("templates/cm.yaml"), "kind: Secret\n").unwrap();
        assert_ne!(
            TemplateCache::key("v3.16.0", &request(&chart, values, &apis), b"x: 1").unwrap(),
            base,
            "an edited template is a miss"
        );
    }

    #[test]
    fn charts_that_mint_values_per_render_are_never_cached() {
        let dir = chart_dir();
        let chart = ChartRef::Path(dir.path().to_path_buf());
        let req = request(&chart, Path::new("v"), &[]);
        assert!(TemplateCache::key("v3", &req, b"").is_some());
        std::fs::write(
            dir.path().join("templates/_helpers.tpl"),
            "{{/* now and then */}}\n{{- define \"pw\" -}}{{ randAlphaNum 24 | b64enc }}{{- end }}\n",
        )
        .unwrap();
        assert!(
            TemplateCache::key("v3", &req, b"").is_none(),
            "random in a helper"
        );
        std::fs::write(dir.path().join("templates/_helpers.tpl"), "{{/* now */}}\n").unwrap();
        assert!(
            TemplateCache::key("v3", &req, b"").is_some(),
            "a comment calls nothing"
        );
        assert!(
            TemplateCache::key("v3", &req, b"token: '{{ uuidv4 }}'").is_none(),
            "values rendered through tpl count too"
        );
        std::fs::write(dir.path().join("templates/sub.tgz"), b"\x1f\x8b").unwrap();
        assert!(
            TemplateCache::key("v3", &req, b"").is_none(),
            "a packed subchart is unread"
        );
    }

    #[test]
    fn renders_holding_a_secret_are_not_stored() {
        let dir = tempfile::tempdir().unwrap();
        let cache = TemplateCache::at(dir.path().to_path_buf());
        cache.put(
            "s",
            "---\napiVersion: v1\nkind: Secret\ndata:\n  k: cGFzcw==\n",
        );
        assert!(cache.get("s").is_none());
        assert!(TemplateCache::storable(
            "kind: ConfigMap\ndata:\n  kind: Secret-ish\n"
        ));
    }

    #[test]
    fn charts_pulled_by_tag_are_never_cached() {
        let chart = ChartRef::Oci("oci://example/charts/api".into());
        assert!(TemplateCache::key("v3", &request(&chart, Path::new("v"), &[]), b"").is_none());
    }

    #[test]
    fn a_missing_chart_is_left_to_helm_to_report() {
        let chart = ChartRef::Path("/nonexistent/chart".into());
        assert!(TemplateCache::key("v3", &request(&chart, Path::new("v"), &[]), b"").is_none());
    }

    #[test]
    fn stored_renders_come_back_and_the_cache_stays_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let cache = TemplateCache::at(dir.path().join("c"));
        cache.put("k", "kind: ConfigMap\n");
        assert_eq!(cache.get("k").as_deref(), Some("kind: ConfigMap\n"));
        for i in 0..MAX_ENTRIES + 5 {
            cache.put(&format!("e{i}"), "x");
        }
        assert_eq!(
            std::fs::read_dir(dir.path().join("c")).unwrap().count(),
            MAX_ENTRIES
        );
    }

    #[test]
    fn the_cache_can_be_turned_off() {
        let off = MapEnv::new([("NVCF_RENDER_CACHE", "off"), ("HOME", "/home/u")]);
        assert!(TemplateCache::from_env(&off).is_none());
        let on = MapEnv::new([("HOME", "/home/u")]);
        assert_eq!(
            TemplateCache::from_env(&on).unwrap().dir,
            PathBuf::from("/home/u/.cache/nvcf-plugins/helm-template")
        );
    }
}
