//! State file persistence: round trip, backup, permissions, refusal of unusable files,
//! `--force`, crash leftovers, and secrets kept out of the file.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use kalypso_bootstrap::secrets;
use kalypso_bootstrap::state::{
    BootstrapState, ClusterIdentity, InstallationIdentity, InstallationWorld, Ownership, Phase,
    RepositoriesIdentity, RepositoryIdentity, Resource, ResourceStatus, RunStatus, StateError,
    StateProblem, StateStore, Timestamp,
};
use tempfile::TempDir;
use time::macros::datetime;

fn at(minute: u8) -> Timestamp {
    Timestamp::new(
        datetime!(2025-11-11 10:00:45 UTC)
            .replace_minute(minute)
            .unwrap(),
    )
}

fn sample_state() -> BootstrapState {
    let mut state = BootstrapState::new(at(0));
    state.cluster.created = true;
    state.cluster.name = Some("demo".into());
    state.cluster.resource_group = Some("demo-rg".into());
    state.cluster.region = Some("eastus".into());
    state.repositories.gitops.url = Some("https://github.com/acme/demo-gitops".into());
    state.step_started("cluster.create", Phase::Cluster, at(1));
    state.record_resource(
        Resource::ResourceGroup {
            name: "demo-rg".into(),
            subscription_id: Some("00000000-0000-0000-0000-000000000000".into()),
        },
        Ownership::CreatedByUs,
        ResourceStatus::Present,
        Some("cluster.resource-group"),
        at(1),
    );
    state
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn absent_state_loads_as_none() {
    let home = TempDir::new().unwrap();
    let store = StateStore::at_default(home.path());
    assert_eq!(store.load().unwrap(), None);
    let outcome = store.load_or_move_aside(true, at(0)).unwrap();
    assert!(outcome.state.is_none() && outcome.moved_aside.is_none());
}

#[test]
fn save_then_load_round_trips() {
    let home = TempDir::new().unwrap();
    let store = StateStore::at_default(home.path());
    let state = sample_state();
    store.save(&state).unwrap();
    assert_eq!(store.load().unwrap(), Some(state));
    let text = fs::read_to_string(store.path()).unwrap();
    assert!(
        text.starts_with("{\n  \"version\": \"1.0\""),
        "indented JSON: {text}"
    );
}

#[test]
fn second_save_keeps_the_previous_version_as_backup() {
    let home = TempDir::new().unwrap();
    let store = StateStore::at_default(home.path());
    let first = sample_state();
    store.save(&first).unwrap();
    assert!(
        !store.backup_path().exists(),
        "no backup before a previous version exists"
    );
    let first_bytes = fs::read(store.path()).unwrap();

    let mut second = first.clone();
    second.set_status(RunStatus::Completed, at(9));
    store.save(&second).unwrap();

    assert_eq!(
        store.backup_path(),
        home.path().join(".kalypso/.bootstrap-state.json.bak")
    );
    assert_eq!(fs::read(store.backup_path()).unwrap(), first_bytes);
    assert_eq!(store.load().unwrap(), Some(second));
    // No temp file is left behind by successful saves.
    assert_eq!(
        file_names(&home.path().join(".kalypso")),
        vec![".bootstrap-state.json.bak", "bootstrap-state.json"]
    );
}

#[test]
fn custom_path_backup_is_path_dot_bak() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("nested/run.json");
    let store = StateStore::at_custom(&path);
    store.save(&sample_state()).unwrap();
    store.save(&sample_state()).unwrap();
    assert!(dir.path().join("nested/run.json.bak").is_file());
    assert_eq!(mode(&dir.path().join("nested")), 0o700);
}

#[test]
fn files_are_0600_and_the_directory_0700() {
    let home = TempDir::new().unwrap();
    let store = StateStore::at_default(home.path());
    store.save(&sample_state()).unwrap();
    store.save(&sample_state()).unwrap();
    assert_eq!(mode(&home.path().join(".kalypso")), 0o700);
    assert_eq!(mode(store.path()), 0o600);
    assert_eq!(mode(store.backup_path()), 0o600);
}

#[test]
fn a_loose_default_directory_is_tightened_but_a_custom_one_is_left_alone() {
    let home = TempDir::new().unwrap();
    let kalypso = home.path().join(".kalypso");
    fs::create_dir(&kalypso).unwrap();
    fs::set_permissions(&kalypso, fs::Permissions::from_mode(0o755)).unwrap();
    StateStore::at_default(home.path())
        .save(&sample_state())
        .unwrap();
    assert_eq!(mode(&kalypso), 0o700);

    let shared = TempDir::new().unwrap();
    fs::set_permissions(shared.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let store = StateStore::at_custom(shared.path().join("s.json"));
    store.save(&sample_state()).unwrap();
    assert_eq!(mode(shared.path()), 0o755);
    assert_eq!(mode(store.path()), 0o600);
}

#[test]
fn an_existing_0644_state_becomes_0600_on_save() {
    let dir = TempDir::new().unwrap();
    let store = StateStore::at_custom(dir.path().join("s.json"));
    fs::write(store.path(), sample_state().to_json()).unwrap();
    fs::set_permissions(store.path(), fs::Permissions::from_mode(0o644)).unwrap();
    store.save(&sample_state()).unwrap();
    assert_eq!(mode(store.path()), 0o600);
    assert_eq!(mode(store.backup_path()), 0o600);
}

/// Files that must never be overwritten, with a word the error must contain.
fn unusable_files() -> Vec<(&'static str, Vec<u8>, &'static str)> {
    let full = sample_state().to_json();
    let truncated = full.as_bytes()[..full.len() / 2].to_vec();
    let mut future: serde_json::Value = serde_json::from_str(&full).unwrap();
    future["version"] = serde_json::json!("2.0");
    let mut extra: serde_json::Value = serde_json::from_str(&full).unwrap();
    extra["cluster"]["nodePools"] = serde_json::json!(3);
    vec![
        (
            "corrupt",
            b"\x00\x01garbage, not json".to_vec(),
            "not valid JSON",
        ),
        ("truncated", truncated, "truncated"),
        ("empty", Vec::new(), "empty"),
        (
            "future version",
            serde_json::to_vec_pretty(&future).unwrap(),
            "newer kalypso-bootstrap",
        ),
        (
            "not ours",
            br#"{"name": "my-app", "dependencies": {}}"#.to_vec(),
            "not a kalypso-bootstrap state file",
        ),
        (
            "ours-looking with an unknown field",
            serde_json::to_vec_pretty(&extra).unwrap(),
            "nodePools",
        ),
    ]
}

#[test]
fn unusable_files_are_refused_and_left_byte_for_byte_unchanged() {
    for (label, bytes, expected) in unusable_files() {
        let dir = TempDir::new().unwrap();
        let store = StateStore::at_custom(dir.path().join("state.json"));
        fs::write(store.path(), &bytes).unwrap();

        let err = store.load().unwrap_err();
        let message = err.to_string();
        assert!(
            matches!(err, StateError::Unusable { .. }),
            "{label}: {err:?}"
        );
        assert!(
            message.contains(&store.path().display().to_string()),
            "{label}: {message}"
        );
        assert!(message.contains(expected), "{label}: {message}");
        assert!(message.contains("--force"), "{label}: {message}");

        let save_err = store.save(&sample_state()).unwrap_err();
        assert!(
            matches!(save_err, StateError::Unusable { .. }),
            "{label}: {save_err:?}"
        );
        assert!(store.load_or_move_aside(false, at(0)).is_err(), "{label}");

        assert_eq!(
            fs::read(store.path()).unwrap(),
            bytes,
            "{label}: file changed"
        );
        assert!(
            !store.backup_path().exists(),
            "{label}: a backup was written"
        );
        assert_eq!(file_names(dir.path()), vec!["state.json"], "{label}");
    }
}

#[test]
fn truncated_and_future_version_are_named_precisely() {
    let dir = TempDir::new().unwrap();
    let store = StateStore::at_custom(dir.path().join("state.json"));
    let (_, truncated, _) = unusable_files().remove(1);
    fs::write(store.path(), truncated).unwrap();
    assert!(matches!(
        store.load().unwrap_err(),
        StateError::Unusable {
            problem: StateProblem::Truncated { .. },
            ..
        }
    ));
    fs::write(store.path(), br#"{"version": "1.7"}"#).unwrap();
    match store.load().unwrap_err() {
        StateError::Unusable {
            problem: StateProblem::NewerVersion { found },
            ..
        } => assert_eq!(found, "1.7"),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn force_moves_the_unusable_file_aside_with_a_timestamp() {
    for (label, bytes, _) in unusable_files() {
        let dir = TempDir::new().unwrap();
        let store = StateStore::at_custom(dir.path().join("state.json"));
        fs::write(store.path(), &bytes).unwrap();

        let outcome = store.load_or_move_aside(true, at(30)).unwrap();
        assert!(outcome.state.is_none(), "{label}");
        let moved = outcome.moved_aside.expect("moved aside");
        assert_eq!(moved.from, store.path());
        let name = moved.to.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            name.starts_with("state.json.20251111T103045Z."),
            "{label}: {name}"
        );
        assert_eq!(moved.to.parent(), store.path().parent());
        assert_eq!(fs::read(&moved.to).unwrap(), bytes, "{label}: content kept");
        assert!(!store.path().exists(), "{label}");
        assert!(moved.message().contains(&moved.to.display().to_string()));

        // A fresh state can now be saved.
        store.save(&sample_state()).unwrap();
        assert_eq!(store.load().unwrap(), Some(sample_state()));
    }
}

#[test]
fn force_names_the_reason_and_never_clobbers_an_earlier_move() {
    let dir = TempDir::new().unwrap();
    let store = StateStore::at_custom(dir.path().join("state.json"));
    fs::write(store.path(), b"{broken").unwrap();
    let first = store
        .load_or_move_aside(true, at(30))
        .unwrap()
        .moved_aside
        .unwrap();
    assert!(first.to.to_string_lossy().ends_with(".corrupt"));

    fs::write(store.path(), br#"{"version": "9.0"}"#).unwrap();
    let second = store
        .load_or_move_aside(true, at(30))
        .unwrap()
        .moved_aside
        .unwrap();
    assert!(second.to.to_string_lossy().ends_with(".newer-version"));

    fs::write(store.path(), b"{broken again").unwrap();
    let third = store
        .load_or_move_aside(true, at(30))
        .unwrap()
        .moved_aside
        .unwrap();
    assert_ne!(third.to, first.to);
    assert_eq!(fs::read(&first.to).unwrap(), b"{broken");
    assert_eq!(fs::read(&third.to).unwrap(), b"{broken again");
}

#[test]
fn a_usable_state_is_loaded_normally_even_with_force() {
    let home = TempDir::new().unwrap();
    let store = StateStore::at_default(home.path());
    store.save(&sample_state()).unwrap();
    let outcome = store.load_or_move_aside(true, at(0)).unwrap();
    assert_eq!(outcome.state, Some(sample_state()));
    assert!(outcome.moved_aside.is_none());
}

#[test]
fn a_directory_in_place_of_the_state_file_is_refused() {
    let dir = TempDir::new().unwrap();
    let store = StateStore::at_custom(dir.path().join("state.json"));
    fs::create_dir(store.path()).unwrap();
    let err = store.load().unwrap_err();
    assert!(err.to_string().contains("not a regular file"), "{err}");
    assert!(store.save(&sample_state()).is_err());
    assert!(store.path().is_dir());
}

#[test]
fn leftover_temp_files_from_a_crash_do_not_confuse_the_loader() {
    let home = TempDir::new().unwrap();
    let store = StateStore::at_default(home.path());
    let dir = home.path().join(".kalypso");
    fs::create_dir_all(&dir).unwrap();
    // What an interrupted save leaves: a half-written temp file beside the state.
    let leftover = dir.join(".bootstrap-state.json.Xy12ab.tmp");
    fs::write(&leftover, &sample_state().to_json().as_bytes()[..40]).unwrap();

    assert_eq!(store.load().unwrap(), None);
    store.save(&sample_state()).unwrap();
    assert_eq!(store.load().unwrap(), Some(sample_state()));
    let mut second = sample_state();
    second.set_status(RunStatus::Failed, at(5));
    store.save(&second).unwrap();
    assert_eq!(store.load().unwrap(), Some(second));
    assert!(
        leftover.exists(),
        "the loader neither reads nor needs to remove it"
    );
}

#[test]
fn a_registered_secret_never_reaches_the_file() {
    let token = "ghp_StateFileCanary0123456789abcdefXYZ";
    secrets::register(token);
    let home = TempDir::new().unwrap();
    let store = StateStore::at_default(home.path());

    let mut state = sample_state();
    // Simulate careless callers: the secret arrives through free-text fields.
    state.push_error(
        &format!("git push failed: https://x:{token}@github.com/a/b"),
        at(2),
    );
    state.step_failed(
        "repo.push",
        Phase::Repositories,
        &format!("token {token} rejected"),
        at(3),
    );
    state.cluster.kube_context = Some(format!("ctx-{token}"));
    state.repositories.control_plane.url = Some(format!("https://{token}@github.com/a/cp"));
    store.save(&state).unwrap();
    store.save(&state).unwrap();

    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(token);
    for path in [store.path(), store.backup_path()] {
        let text = fs::read_to_string(path).unwrap();
        assert!(!text.contains(token), "{}: {text}", path.display());
        assert!(!text.contains(&encoded));
        assert!(text.contains("***"));
        // Still a valid state after masking.
        kalypso_bootstrap::state::parse_state(text.as_bytes()).unwrap();
    }
}

fn identity(world: InstallationWorld) -> InstallationIdentity {
    InstallationIdentity {
        id: "kb-00000000beef".into(),
        world,
        subscription: None,
        cluster: ClusterIdentity::KubeContext("kind-dev".into()),
        repositories: RepositoriesIdentity {
            control_plane: RepositoryIdentity {
                owner: Some("acme".into()),
                name: "cp".into(),
            },
            gitops: RepositoryIdentity {
                owner: None,
                name: "gitops".into(),
            },
            github_host: "github.com".into(),
        },
        namespace: "kalypso-system".into(),
        environments: vec!["dev".into()],
    }
}

#[test]
fn the_identity_round_trips_and_a_file_without_one_still_loads() {
    let dir = TempDir::new().unwrap();
    let store = StateStore::at_custom(dir.path().join("s.json"));
    let mut state = sample_state();
    state.identity = Some(identity(InstallationWorld::Demo));
    store.save(&state).unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(store.path()).unwrap()).unwrap();
    assert_eq!(json["identity"]["id"], "kb-00000000beef");
    assert_eq!(json["identity"]["world"], "demo");
    assert_eq!(json["identity"]["cluster"]["kubeContext"], "kind-dev");
    assert_eq!(
        json["identity"]["repositories"]["gitops"]["owner"],
        serde_json::Value::Null
    );
    assert_eq!(store.load().unwrap(), Some(state));

    let mut old = json.clone();
    old.as_object_mut().unwrap().remove("identity");
    fs::write(store.path(), old.to_string()).unwrap();
    let loaded = store.load().unwrap().unwrap();
    assert_eq!(loaded.identity, None);
    // Its world is unknown: neither world refuses it.
    for world in [InstallationWorld::Real, InstallationWorld::Demo] {
        assert!(store.load_in(world).unwrap().is_some());
    }
    // Unless a demo's simulated world is beside it: only --demo makes `<file>.demo/`.
    fs::create_dir(dir.path().join("s.json.demo")).unwrap();
    assert!(store.load_in(InstallationWorld::Demo).unwrap().is_some());
    assert!(matches!(
        store.load_in(InstallationWorld::Real).unwrap_err(),
        StateError::OtherWorld {
            id: None,
            recorded: InstallationWorld::Demo,
            ..
        }
    ));
}

#[test]
fn a_state_of_the_other_world_is_refused_with_exit_3_and_left_unchanged() {
    let dir = TempDir::new().unwrap();
    let store = StateStore::at_custom(dir.path().join("s.json"));
    let mut state = sample_state();
    state.identity = Some(identity(InstallationWorld::Demo));
    store.save(&state).unwrap();
    let before = fs::read(store.path()).unwrap();
    let refused = store.load_in(InstallationWorld::Real).unwrap_err();
    assert!(
        matches!(
            &refused,
            StateError::OtherWorld {
                recorded: InstallationWorld::Demo,
                ..
            }
        ),
        "{refused:?}"
    );
    assert_eq!(
        refused.exit_code(),
        kalypso_bootstrap::ExitCode::ConfigInvalid
    );
    let message = refused.to_string();
    assert!(
        message.contains("kb-00000000beef")
            && message.contains("--demo")
            && message
                .contains("kalypso-bootstrap --explain state-file-belongs-to-another-installation"),
        "{message}"
    );
    assert!(store.load_in(InstallationWorld::Demo).unwrap().is_some());
    assert_eq!(fs::read(store.path()).unwrap(), before);
    assert_eq!(file_names(dir.path()), ["s.json"]);
}
