//! The generated man page and completion scripts, pinned: a change to the command model
//! shows up here as a reviewable diff (`INSTA_UPDATE=always cargo test` to accept it).

use std::process::Command;

#[test]
fn generated_reference_matches_its_snapshots() {
    let dir = tempfile::tempdir().unwrap();
    let status = Command::new(env!("CARGO_BIN_EXE_kubectl-nvcf"))
        .arg("__docs")
        .arg(dir.path())
        .env_clear()
        .status()
        .unwrap();
    assert!(status.success());
    for file in [
        "man/kubectl-nvcf.1",
        "completions/kubectl-nvcf.bash",
        "completions/kubectl-nvcf.zsh",
        "completions/kubectl-nvcf.fish",
    ] {
        let text = std::fs::read_to_string(dir.path().join(file)).unwrap();
        insta::assert_snapshot!(file.replace('/', "__"), text);
    }
}
