use super::*;
use crate::ExitCode;
use crate::model::settings::MapEnv;

const KUBECONFIG_A: &str = r#"
apiVersion: v1
kind: Config
current-context: alpha
clusters:
- name: alpha-cluster
  cluster: {server: "https://127.0.0.1:6443"}
- name: shared
  cluster: {server: "https://a.example:6443"}
contexts:
- name: alpha
  context: {cluster: alpha-cluster, user: alpha-user, namespace: nvcf}
- name: beta
  context: {cluster: shared, user: alpha-user}
users:
- name: alpha-user
  user: {token: abc}
"#;

const KUBECONFIG_B: &str = r#"
apiVersion: v1
kind: Config
current-context: gamma
clusters:
- name: shared
  cluster: {server: "https://b.example:6443"}
- name: gamma-cluster
  cluster: {server: "https://127.0.0.2:6443"}
contexts:
- name: gamma
  context: {cluster: gamma-cluster, user: gamma-user}
users:
- name: gamma-user
  user: {token: def}
"#;

struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.yaml"), KUBECONFIG_A).unwrap();
        std::fs::write(dir.path().join("b.yaml"), KUBECONFIG_B).unwrap();
        Fixture { dir }
    }
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    fn env_with_kubeconfig(&self, list: &[&str]) -> MapEnv {
        let joined = std::env::join_paths(list.iter().map(|n| self.path(n))).unwrap();
        MapEnv::new([
            ("KUBECONFIG", joined.to_str().unwrap()),
            ("HOME", self.dir.path().to_str().unwrap()),
        ])
    }
}

#[test]
fn current_context_and_its_namespace() {
    let f = Fixture::new();
    let t = Target::resolve(
        &KubeSelection::default(),
        &f.env_with_kubeconfig(&["a.yaml"]),
    )
    .unwrap();
    assert_eq!(t.context.as_deref(), Some("alpha"));
    assert_eq!(t.cluster, "alpha-cluster");
    assert_eq!(t.server, "https://127.0.0.1:6443");
    assert_eq!(t.namespace, "nvcf");
    assert_eq!(t.namespace_source, NamespaceSource::Context);
    assert_eq!(t.user.as_deref(), Some("alpha-user"));
}

#[test]
fn kubeconfig_list_merges_first_wins_and_skips_missing_files() {
    let f = Fixture::new();
    let env = f.env_with_kubeconfig(&["missing.yaml", "a.yaml", "b.yaml"]);
    // current-context comes from the first file that sets it.
    let t = Target::resolve(&KubeSelection::default(), &env).unwrap();
    assert_eq!(t.context.as_deref(), Some("alpha"));
    assert_eq!(
        t.source,
        Source::Files(vec![f.path("a.yaml"), f.path("b.yaml")])
    );
    // A context only in the second file is reachable.
    let sel = KubeSelection {
        context: Some("gamma".into()),
        ..Default::default()
    };
    assert_eq!(
        Target::resolve(&sel, &env).unwrap().server,
        "https://127.0.0.2:6443"
    );
    // A cluster named in both files keeps the first file's definition.
    let sel = KubeSelection {
        context: Some("beta".into()),
        ..Default::default()
    };
    let t = Target::resolve(&sel, &env).unwrap();
    assert_eq!(t.server, "https://a.example:6443");
    assert_eq!(t.namespace, "default");
    assert_eq!(t.namespace_source, NamespaceSource::Default);
}

#[test]
fn flags_override_context_values() {
    let f = Fixture::new();
    let sel = KubeSelection {
        kubeconfig: Some(f.path("b.yaml")),
        namespace: Some("other".into()),
        cluster: Some("shared".into()),
        ..Default::default()
    };
    let t = Target::resolve(&sel, &f.env_with_kubeconfig(&["a.yaml"])).unwrap();
    assert_eq!(
        t.context.as_deref(),
        Some("gamma"),
        "--kubeconfig replaces KUBECONFIG"
    );
    assert_eq!(t.server, "https://b.example:6443");
    assert_eq!(t.namespace, "other");
    assert_eq!(t.namespace_source, NamespaceSource::Flag);
}

#[test]
fn unknown_context_names_the_known_ones() {
    let f = Fixture::new();
    let sel = KubeSelection {
        context: Some("nope".into()),
        ..Default::default()
    };
    let err = Target::resolve(&sel, &f.env_with_kubeconfig(&["a.yaml"])).unwrap_err();
    assert_eq!(err.exit_code(), ExitCode::Config);
    let line = err.one_line();
    assert!(
        line.contains("\"nope\"") && line.contains("alpha, beta") && line.contains("--context"),
        "{line}"
    );
}

#[test]
fn missing_explicit_kubeconfig_is_input_missing() {
    let f = Fixture::new();
    let sel = KubeSelection {
        kubeconfig: Some(f.path("nope.yaml")),
        ..Default::default()
    };
    let err = Target::resolve(&sel, &MapEnv::default()).unwrap_err();
    assert_eq!(err.exit_code(), ExitCode::InputMissing);
    assert!(err.one_line().contains("nope.yaml"));
}

#[test]
fn no_kubeconfig_anywhere_says_how_to_fix_it() {
    let home = tempfile::tempdir().unwrap();
    let env = MapEnv::new([("HOME", home.path().to_str().unwrap())]);
    let err = Target::resolve(&KubeSelection::default(), &env).unwrap_err();
    assert_eq!(err.exit_code(), ExitCode::Config);
    assert!(err.one_line().contains("--kubeconfig"));
}

#[test]
fn malformed_kubeconfig_is_a_config_error() {
    let f = Fixture::new();
    std::fs::write(f.path("bad.yaml"), "clusters: [unterminated").unwrap();
    let err = Target::resolve(
        &KubeSelection::default(),
        &f.env_with_kubeconfig(&["bad.yaml"]),
    )
    .unwrap_err();
    assert_eq!(err.exit_code(), ExitCode::Config);
    assert!(err.one_line().contains("bad.yaml"));
}

#[test]
fn helm_environment_selects_context_and_namespace() {
    let env = MapEnv::new([
        ("HELM_KUBECONTEXT", "beta"),
        ("HELM_NAMESPACE", "ns1"),
        ("HELM_KUBEASUSER", ""),
    ]);
    let sel = KubeSelection::from_helm_env(&env);
    assert_eq!(sel.context.as_deref(), Some("beta"));
    assert_eq!(sel.namespace.as_deref(), Some("ns1"));
    assert_eq!(sel.user, None);
}

#[test]
fn durations_parse_like_kubectl() {
    assert_eq!(parse_duration("--t", "0").unwrap(), Duration::ZERO);
    assert_eq!(
        parse_duration("--t", "30").unwrap(),
        Duration::from_secs(30)
    );
    assert_eq!(
        parse_duration("--t", "1m30s").unwrap(),
        Duration::from_secs(90)
    );
    assert_eq!(
        parse_duration("--t", "500ms").unwrap(),
        Duration::from_millis(500)
    );
    assert_eq!(
        parse_duration("--t", "2h").unwrap(),
        Duration::from_secs(7200)
    );
    // Found by fuzzing (fuzz/regressions/small_parsers): too large for a Duration.
    let huge = parse_duration("--timeout", "19999999999999999999999999999999m30s").unwrap_err();
    assert_eq!(huge.exit_code(), ExitCode::Usage);
    assert!(parse_duration("--timeout", "1e400s").is_err());
    let err = parse_duration("--request-timeout", "soon").unwrap_err();
    assert_eq!(err.exit_code(), ExitCode::Usage);
    assert!(err.one_line().contains("--request-timeout"));
}

#[tokio::test]
async fn client_builds_for_a_token_user() {
    let f = Fixture::new();
    let t = Target::resolve(
        &KubeSelection::default(),
        &f.env_with_kubeconfig(&["a.yaml"]),
    )
    .unwrap();
    t.client("nvcf-test/0").await.unwrap();
}
