//! Documents generated from the command model: the agent skill, man pages and completion
//! scripts. Each must cover every visible command, so none can drift from the binary.

use nvcf_e2e::{Home, Run, bin};

/// Visible command paths, as the binary's own completion sees them, walked breadth first.
fn command_paths(binary: &str) -> Vec<String> {
    let home = Home::new();
    let mut paths = Vec::new();
    let mut queue: Vec<Vec<String>> = vec![Vec::new()];
    while let Some(prefix) = queue.pop() {
        let mut args = vec!["__complete".to_owned()];
        args.extend(prefix.iter().cloned());
        args.push(String::new());
        let run = Run::of(home.command(bin(binary)).args(&args));
        run.expect_success();
        for line in run.stdout.lines().filter(|l| !l.starts_with(':')) {
            let name = line.split('\t').next().unwrap();
            if name == "help" || name.starts_with('-') || !line.contains('\t') {
                continue;
            }
            let mut path = prefix.clone();
            path.push(name.to_owned());
            paths.push(path.join(" "));
            queue.push(path);
        }
    }
    paths.sort();
    paths
}

#[test]
fn the_agent_skill_lists_every_command_and_installs_and_uninstalls() {
    let home = Home::new();
    let show = Run::of(
        home.command(bin("kubectl-nvcf"))
            .args(["agent-skill", "show"]),
    );
    show.expect_success();
    for path in command_paths("kubectl-nvcf") {
        assert!(
            show.stdout.contains(&format!("| `kubectl nvcf {path}` |")),
            "skill misses `{path}`"
        );
    }
    assert!(
        show.stdout.contains("| 130 | cancelled |"),
        "exit codes come from docs/exit-codes.md"
    );

    let target = home.path().join("skills/SKILL.md");
    let install = Run::of(
        home.command(bin("kubectl-nvcf"))
            .args(["agent-skill", "install", "--path"])
            .arg(&target),
    );
    install.expect_success();
    assert_eq!(std::fs::read_to_string(&target).unwrap(), show.stdout);
    // The default location follows CLAUDE_CONFIG_DIR.
    let install = Run::of(
        home.command(bin("kubectl-nvcf"))
            .env("CLAUDE_CONFIG_DIR", home.path().join("agent"))
            .args(["agent-skill", "install"]),
    );
    install.expect_success();
    assert!(home.path().join("agent/skills/nvcf/SKILL.md").exists());

    Run::of(
        home.command(bin("kubectl-nvcf"))
            .args(["agent-skill", "uninstall", "--path"])
            .arg(&target),
    )
    .expect_success();
    assert!(!target.exists());
    let again = Run::of(
        home.command(bin("kubectl-nvcf"))
            .args(["agent-skill", "uninstall", "--path"])
            .arg(&target),
    );
    assert_eq!(again.code, Some(4), "{again:#?}");
}

#[test]
fn man_pages_and_completions_cover_every_command_of_every_plugin() {
    for (binary, display) in [
        ("kubectl-nvcf", "kubectl nvcf"),
        ("kubectl-nvca", "kubectl nvca"),
        ("helm-nvcf", "helm nvcf"),
    ] {
        let home = Home::new();
        let dir = home.path().join("docs");
        let run = Run::of(home.command(bin(binary)).arg("__docs").arg(&dir));
        run.expect_success();
        let root = std::fs::read_to_string(dir.join(format!("man/{binary}.1"))).unwrap();
        assert!(
            root.starts_with(".ie"),
            "{binary}: not roff: {}",
            &root[..root.len().min(80)]
        );
        assert!(
            root.contains(&display.replace(' ', "\\ ")) || root.contains(display),
            "{binary}: the page names {display}"
        );
        for path in command_paths(binary) {
            let page = dir.join(format!("man/{binary}-{}.1", path.replace(' ', "-")));
            assert!(page.exists(), "{binary}: no man page for `{path}`");
        }
        for ext in ["bash", "zsh", "fish"] {
            let script =
                std::fs::read_to_string(dir.join(format!("completions/{binary}.{ext}"))).unwrap();
            assert!(
                script.contains("version"),
                "{binary}.{ext} completes nothing"
            );
        }
        let bash = dir.join(format!("completions/{binary}.bash"));
        let syntax = Run::of(std::process::Command::new("bash").arg("-n").arg(&bash));
        syntax.expect_success();
    }
}
