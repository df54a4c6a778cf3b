//! Which plugin this process runs as. The library names commands in hints, reports and
//! user agents through it, so `kubectl nvca validate -o ctrf` says kubectl-nvca and an
//! NVCF API hint says `nvcf-cli …` when the user ran nvcf-cli.

/// Who is running: names used in help, messages and the User-Agent.
#[derive(Debug, Clone, Copy)]
pub struct Plugin {
    /// How users type it: `kubectl nvcf`.
    pub display: &'static str,
    /// The executable: `kubectl-nvcf`.
    pub binary: &'static str,
}

impl Plugin {
    pub fn user_agent(&self) -> String {
        format!("{}/{}", self.binary, env!("CARGO_PKG_VERSION"))
    }
}

static RUNNING: std::sync::OnceLock<Plugin> = std::sync::OnceLock::new();

/// The first words of the NVCF API commands, which nvcf-cli also runs under its own name.
const API_COMMANDS: [&str; 6] = [
    "init",
    "api-key",
    "function",
    "task",
    "registry-credential",
    "cluster",
];

/// A `kubectl nvcf` command as the user types it from the running plugin: `nvcf-cli REST`
/// for the API commands when they ran nvcf-cli, else `kubectl nvcf REST`.
pub fn nvcf(rest: &str) -> String {
    let first = rest.split_whitespace().next().unwrap_or_default();
    match running().binary {
        "nvcf-cli" if API_COMMANDS.contains(&first) => format!("nvcf-cli {rest}"),
        _ => format!("{} {rest}", NVCF.display),
    }
}

/// A `kubectl nvca` command.
pub fn nvca(rest: &str) -> String {
    format!("{} {rest}", NVCA.display)
}

/// A `helm nvcf` command.
pub fn helm_nvcf(rest: &str) -> String {
    format!("{} {rest}", HELM_NVCF.display)
}

/// Static hints (check specs are constants) name our commands as `{nvcf} REST`,
/// `{nvca} REST` and `{helm-nvcf} REST`; this spells them as [`nvcf`], [`nvca`] and
/// [`helm_nvcf`] do.
pub fn spell(hint: &str) -> String {
    let mut out = String::with_capacity(hint.len());
    let mut rest = hint;
    while let Some(at) = rest.find('{') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        let (name, speller): (&str, fn(&str) -> String) = if tail.starts_with("{nvcf} ") {
            ("{nvcf} ", nvcf)
        } else if tail.starts_with("{nvca} ") {
            ("{nvca} ", nvca)
        } else if tail.starts_with("{helm-nvcf} ") {
            ("{helm-nvcf} ", helm_nvcf)
        } else {
            out.push('{');
            rest = &tail[1..];
            continue;
        };
        let after = &tail[name.len()..];
        let words = after.split(' ').next().unwrap_or_default();
        out.push_str(&speller(words));
        rest = &after[words.len()..];
    }
    out.push_str(rest);
    out
}

pub const NVCF: Plugin = Plugin {
    display: "kubectl nvcf",
    binary: "kubectl-nvcf",
};
pub const NVCA: Plugin = Plugin {
    display: "kubectl nvca",
    binary: "kubectl-nvca",
};
pub const HELM_NVCF: Plugin = Plugin {
    display: "helm nvcf",
    binary: "helm-nvcf",
};

/// The plugin this process runs as, so reports shared by several plugins (CTRF, JSON tool
/// names) name the one the user ran. Library code outside a plugin sees `kubectl nvcf`.
pub fn running() -> Plugin {
    RUNNING.get().copied().unwrap_or(NVCF)
}

/// Records the plugin once, at start-up; later calls keep the first.
pub(crate) fn set_running(plugin: Plugin) {
    let _ = RUNNING.set(plugin);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The library names our commands through this module, never as text of its own: a
    /// hint written `kubectl nvcf init` would be wrong when nvcf-cli runs it.
    #[test]
    fn the_library_names_no_plugin_by_hand() {
        fn scan(dir: &std::path::Path, found: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                if path.is_dir() {
                    scan(&path, found);
                    continue;
                }
                // upstream_cli's help lists which of our plugins runs each upstream command.
                if !name.ends_with(".rs")
                    || name.contains("test")
                    || name == "plugin.rs"
                    || name == "upstream_cli.rs"
                {
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap();
                let code = text.split("#[cfg(test)]").next().unwrap_or_default();
                for (n, line) in code.lines().enumerate() {
                    let code_part = line.split("//").next().unwrap_or_default();
                    let quoted = code_part.contains('"') || !line.trim_start().starts_with("//");
                    if quoted
                        && ["kubectl nvcf ", "kubectl nvca ", "helm nvcf "]
                            .iter()
                            .any(|p| code_part.contains(p))
                    {
                        found.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
                    }
                }
            }
        }
        let mut found = Vec::new();
        scan(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut found,
        );
        assert!(
            found.is_empty(),
            "name commands with plugin::nvcf|nvca|helm_nvcf (or {{nvcf}} in check specs):\n{}",
            found.join("\n")
        );
    }

    #[test]
    fn static_hints_spell_each_plugins_commands() {
        assert_eq!(
            spell("run {nvca} bootstrap; then {nvcf} init, or {helm-nvcf} bundle; '{.items[0]}'"),
            "run kubectl nvca bootstrap; then kubectl nvcf init, or helm nvcf bundle; '{.items[0]}'"
        );
    }
}
