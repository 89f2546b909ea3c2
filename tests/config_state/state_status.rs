//! `--status` rendering.

use std::path::Path;

use kalypso_bootstrap::state::status::{
    render_absent_text, render_status, render_text, StatusFormat,
};
use kalypso_bootstrap::state::{
    BootstrapState, ClusterIdentity, InstallationIdentity, InstallationWorld, Ownership, Phase,
    RepositoriesIdentity, RepositoryIdentity, Resource, ResourceStatus, RunStatus, Timestamp,
};
use time::macros::datetime;

fn at(minute: u8) -> Timestamp {
    Timestamp::new(
        datetime!(2025-11-11 10:00 UTC)
            .replace_minute(minute)
            .unwrap(),
    )
}

fn recorded_run() -> BootstrapState {
    let mut s = BootstrapState::new(at(0));
    s.cluster.created = true;
    s.cluster.name = Some("demo".into());
    s.cluster.resource_group = Some("demo-rg".into());
    s.cluster.region = Some("westeurope".into());
    s.cluster.kube_context = Some("demo-admin".into());
    s.repositories.control_plane.created = true;
    s.repositories.control_plane.name = Some("demo-control-plane".into());
    s.repositories.control_plane.owner = Some("acme".into());
    s.repositories.control_plane.url = Some("https://github.com/acme/demo-control-plane".into());
    s.repositories.gitops.name = Some("demo-gitops".into());
    s.repositories.gitops.owner = Some("acme".into());
    s.repositories.gitops.url = Some("https://github.com/acme/demo-gitops".into());
    s.installation.namespace = Some("kalypso-system".into());
    s.installation.helm_release = Some("kalypso-scheduler".into());
    s.installation.version = Some("1.1.2-alpha".into());
    s.step_succeeded("cluster.create", Phase::Cluster, None, at(5));
    s.step_failed(
        "install.helm",
        Phase::Installation,
        "helm timed out waiting for the controller",
        at(9),
    );
    s.record_resource(
        Resource::ResourceGroup {
            name: "demo-rg".into(),
            subscription_id: None,
        },
        Ownership::CreatedByUs,
        ResourceStatus::Present,
        None,
        at(1),
    );
    s.record_resource(
        Resource::Repository {
            owner: "acme".into(),
            name: "demo-gitops".into(),
            url: "https://github.com/acme/demo-gitops".into(),
        },
        Ownership::Reused,
        ResourceStatus::Present,
        None,
        at(2),
    );
    s.push_error("installation failed: helm timed out", at(9));
    s.push_error(
        "rollback of resource_group demo-rg failed: AuthorizationFailed",
        at(9),
    );
    s.set_status(RunStatus::Failed, at(10));
    s
}

#[test]
fn text_shows_every_key_field() {
    let text = render_text(
        &recorded_run(),
        Path::new("/h/.kalypso/bootstrap-state.json"),
    );
    for expected in [
        "/h/.kalypso/bootstrap-state.json",
        "Status:          failed",
        "2025-11-11T10:10:00.000Z",
        "demo (created by kalypso-bootstrap)",
        "demo-rg",
        "westeurope",
        "Kube context:    demo-admin",
        "https://github.com/acme/demo-control-plane (created by kalypso-bootstrap)",
        "https://github.com/acme/demo-gitops (existing)",
        "kalypso-system",
        "kalypso-scheduler",
        "1.1.2-alpha",
        "installation failed: helm timed out",
        "rollback of resource group demo-rg failed: AuthorizationFailed",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    let step_line = text.lines().find(|l| l.contains("install.helm")).unwrap();
    assert!(
        step_line.contains("failed") && step_line.contains("installation"),
        "{step_line}"
    );
    assert!(step_line.contains("helm timed out waiting"), "{step_line}");
    let ok_line = text.lines().find(|l| l.contains("cluster.create")).unwrap();
    assert!(ok_line.contains("succeeded"), "{ok_line}");
    // People's words, not the file's identifiers (`resource_group`, `created_by_us`).
    let rg_line = text
        .lines()
        .find(|l| l.contains("resource group demo-rg"))
        .unwrap();
    assert!(rg_line.contains("created by this tool"), "{rg_line}");
    assert!(
        !text.contains("created_by_us") && !text.contains("resource_group"),
        "{text}"
    );
    let repo_line = text
        .lines()
        .find(|l| l.contains("repository https://"))
        .unwrap();
    assert!(repo_line.contains("reused"), "{repo_line}");
}

#[test]
fn an_empty_state_says_nothing_is_recorded() {
    let text = render_text(&BootstrapState::new(at(0)), Path::new("s.json"));
    assert!(text.contains("Status:          in progress"), "{text}");
    assert!(text.contains("(not recorded)"), "{text}");
    assert!(text.contains("(none)"), "{text}");
}

#[test]
fn json_output_is_the_raw_state() {
    let state = recorded_run();
    let json = render_status(Some(&state), Path::new("s.json"), StatusFormat::Json);
    let parsed = kalypso_bootstrap::state::parse_state(json.as_bytes()).unwrap();
    assert_eq!(parsed, state);
}

#[test]
fn no_state_file_is_reported_in_both_formats() {
    let path = Path::new("/nowhere/bootstrap-state.json");
    let text = render_status(None, path, StatusFormat::Text);
    assert_eq!(text, render_absent_text(path));
    assert!(text.contains("No bootstrap state found at /nowhere/bootstrap-state.json"));
    let json: serde_json::Value =
        serde_json::from_str(&render_status(None, path, StatusFormat::Json)).unwrap();
    assert_eq!(json["found"], false);
    assert_eq!(json["stateFile"], "/nowhere/bootstrap-state.json");
}

#[test]
fn status_text_masks_registered_secrets() {
    let token = "ghp_StatusCanary0123456789abcdef";
    kalypso_bootstrap::secrets::register(token);
    let mut state = recorded_run();
    state.cluster.kube_context = Some(format!("ctx-{token}"));
    let text = render_text(&state, Path::new("s.json"));
    assert!(!text.contains(token), "{text}");
}

fn with_identity(world: InstallationWorld) -> BootstrapState {
    let mut state = recorded_run();
    state.identity = Some(InstallationIdentity {
        id: "kb-0a1b2c3d4e5f".into(),
        world,
        subscription: Some("11111111-2222-3333-4444-555555555555".into()),
        cluster: ClusterIdentity::Aks {
            resource_group: "demo-rg".into(),
            name: "demo".into(),
        },
        repositories: RepositoriesIdentity {
            control_plane: RepositoryIdentity {
                owner: Some("acme".into()),
                name: "demo-control-plane".into(),
            },
            gitops: RepositoryIdentity {
                owner: Some("acme".into()),
                name: "demo-gitops".into(),
            },
            github_host: "github.com".into(),
        },
        namespace: "kalypso-system".into(),
        environments: vec!["dev".into()],
    });
    state
}

#[test]
fn text_names_the_installation_and_its_world() {
    let real = render_text(&with_identity(InstallationWorld::Real), Path::new("s.json"));
    let lines: Vec<&str> = real.lines().collect();
    assert_eq!(lines[1], "  Installation:    kb-0a1b2c3d4e5f", "{real}");
    assert!(lines[2].starts_with("  World:           real"), "{real}");
    assert!(
        real.contains("  Subscription:    11111111-2222-3333-4444-555555555555"),
        "{real}"
    );
    let demo = render_text(&with_identity(InstallationWorld::Demo), Path::new("s.json"));
    assert!(
        demo.lines().nth(2).is_some_and(
            |line| line.starts_with("  World:           demo") && line.contains("--demo")
        ),
        "{demo}"
    );
    // A state written before identities existed says so.
    let old = render_text(&recorded_run(), Path::new("s.json"));
    assert!(
        old.contains("Installation:    (not recorded)")
            && old.contains("World:           (not recorded)"),
        "{old}"
    );
}

#[test]
fn json_output_carries_the_identity_and_the_world() {
    let state = with_identity(InstallationWorld::Demo);
    let json: serde_json::Value = serde_json::from_str(&render_status(
        Some(&state),
        Path::new("s.json"),
        StatusFormat::Json,
    ))
    .unwrap();
    assert_eq!(json["identity"]["id"], "kb-0a1b2c3d4e5f");
    assert_eq!(json["identity"]["world"], "demo");
    assert_eq!(
        json["identity"]["cluster"]["aks"]["resourceGroup"],
        "demo-rg"
    );
    assert_eq!(
        json["identity"]["repositories"]["controlPlane"]["owner"],
        "acme"
    );
    assert_eq!(json["identity"]["namespace"], "kalypso-system");
}

/// Before Helm installed into it, the installation records no namespace, while the resources
/// list the namespace the run is creating: `--status` names that one, with its status.
#[test]
fn the_namespace_being_created_is_the_namespace_shown() {
    let mut state = BootstrapState::new(at(0));
    state.record_resource(
        Resource::Namespace {
            kube_context: "demo".into(),
            name: "kalypso-system".into(),
        },
        Ownership::CreatedByUs,
        ResourceStatus::Creating,
        None,
        at(1),
    );
    let text = render_text(&state, Path::new("s.json"));
    assert!(
        text.contains("  Namespace:       kalypso-system (being created)\n"),
        "{text}"
    );
    assert!(
        text.contains(
            "created by this tool  being created  namespace kalypso-system in context demo"
        ),
        "{text}"
    );
}
