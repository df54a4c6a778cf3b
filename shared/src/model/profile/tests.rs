use super::*;
use crate::model::settings::MapEnv;
use std::os::unix::fs::PermissionsExt;

fn env_for(home: &Path) -> MapEnv {
    MapEnv::new([("HOME", home.to_str().unwrap())])
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn profile_defaults_to_the_kube_context() {
    let home = tempfile::tempdir().unwrap();
    let env = env_for(home.path());
    let p = Profile::locate(&ProfileArgs::default(), Some("admin@cp/east"), &env).unwrap();
    assert_eq!(p.name, "admin-cp-east");
    assert!(
        p.config_path
            .starts_with(home.path().join(".config/nvcf/profiles/admin-cp-east"))
    );
    let p = Profile::locate(&ProfileArgs::default(), None, &env).unwrap();
    assert_eq!(p.name, "default");
}

#[test]
fn explicit_profile_names_are_validated() {
    let home = tempfile::tempdir().unwrap();
    let args = ProfileArgs {
        profile: Some("../escape".into()),
        config: None,
    };
    let err = Profile::locate(&args, None, &env_for(home.path())).unwrap_err();
    assert_eq!(err.exit_code(), crate::ExitCode::Usage);
}

#[test]
fn writes_are_private_and_round_trip() {
    let home = tempfile::tempdir().unwrap();
    let env = env_for(home.path());
    let p = Profile::locate(&ProfileArgs::default(), Some("testenv"), &env).unwrap();
    p.update_config(|c| set_setting(c, "base_http_url", "http://api.nvcf.local"))
        .unwrap();
    p.update_state(|s| {
        s.token = Some(Secret::new("eyJhbGciOi.profile-test.token"));
        Ok(())
    })
    .unwrap();
    assert_eq!(mode(&p.config_path), 0o600);
    assert_eq!(mode(&p.state_path), 0o600);
    assert_eq!(mode(p.config_path.parent().unwrap()), 0o700);
    assert_eq!(
        p.read_config().unwrap().settings["base_http_url"],
        "http://api.nvcf.local"
    );
    assert_eq!(
        p.read_state().unwrap().token.unwrap().expose(),
        "eyJhbGciOi.profile-test.token"
    );
    assert_eq!(Profile::list(&env).unwrap(), vec!["testenv".to_string()]);
}

#[test]
fn unknown_settings_are_rejected_and_nothing_is_written() {
    let home = tempfile::tempdir().unwrap();
    let p = Profile::locate(&ProfileArgs::default(), Some("x"), &env_for(home.path())).unwrap();
    let err = p
        .update_config(|c| set_setting(c, "base_url", "x"))
        .unwrap_err();
    assert!(err.message().contains("base_url"));
    assert!(!p.config_path.exists());
}

#[test]
fn upstream_config_is_imported_only_while_no_profile_exists() {
    let home = tempfile::tempdir().unwrap();
    fs::write(
        home.path().join(".nvcf-cli.yaml"),
        "base_http_url: http://api.legacy\nclient_id: legacy-nca\nunknown_key: dropped\n",
    )
    .unwrap();
    fs::write(
        home.path().join(".nvcf-cli.state"),
        r#"{"functionId":"fn-1","lastModified":"x"}"#,
    )
    .unwrap();
    let env = env_for(home.path());
    let first = Profile::locate(&ProfileArgs::default(), Some("first"), &env).unwrap();
    let config = first.read_config().unwrap();
    assert_eq!(config.settings["base_http_url"], "http://api.legacy");
    assert!(!config.settings.contains_key("unknown_key"));
    assert!(config.imported_from.unwrap().ends_with(".nvcf-cli.yaml"));
    assert_eq!(
        first.read_state().unwrap().function_id.as_deref(),
        Some("fn-1")
    );
    assert!(!first.exists(), "reading imports in memory only");
    first.update_state(|_| Ok(())).unwrap();
    assert_eq!(
        first.read_state().unwrap().function_id.as_deref(),
        Some("fn-1")
    );
    // A second cluster's profile starts empty: the single shared slot is gone.
    let second = Profile::locate(&ProfileArgs::default(), Some("second"), &env).unwrap();
    assert!(second.read_config().unwrap().settings.is_empty());
    assert_eq!(second.read_state().unwrap().function_id, None);
}

#[test]
fn explicit_config_file_keeps_state_beside_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("prod.yaml");
    let args = ProfileArgs {
        profile: None,
        config: Some(file.clone()),
    };
    let p = Profile::locate(&args, Some("ignored"), &MapEnv::default()).unwrap();
    assert_eq!(p.name, "prod");
    p.update_state(|s| {
        s.task_id = Some("t-1".into());
        Ok(())
    })
    .unwrap();
    assert!(dir.path().join("prod.yaml.state.json").exists());
}

#[test]
fn corrupt_files_are_reported_with_their_path() {
    let home = tempfile::tempdir().unwrap();
    let p = Profile::locate(&ProfileArgs::default(), Some("c"), &env_for(home.path())).unwrap();
    fs::create_dir_all(p.state_path.parent().unwrap()).unwrap();
    fs::write(&p.state_path, "{not json").unwrap();
    let err = p.read_state().unwrap_err();
    assert_eq!(err.exit_code(), crate::ExitCode::Config);
    assert!(err.message().contains("state.json"), "{}", err.message());
}
