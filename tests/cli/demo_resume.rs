//! `--demo --state-file X` keeps its simulated world in `X.demo/`, so later processes
//! resume, re-run and clean it like a real run: the real binary, run several times.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;
use tempfile::TempDir;

const CANARY: &str = "ghp_DEMOresume0123456789abcdefghijKLMNOP";

/// One demo run in a private HOME and TMPDIR, answering at once, on `state`.
fn demo_on(home: &Path, state: &Path) -> Command {
    let mut cmd = Command::cargo_bin("kalypso-bootstrap").unwrap();
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("TMPDIR", home)
        .env("GITHUB_TOKEN", CANARY)
        .env("KALYPSO_DEMO_LATENCY", "zero")
        .current_dir(home)
        .args(["--demo", "--no-tui", "--non-interactive", "--state-file"])
        .arg(state);
    cmd
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    /// The JSON event lines (`--output json`).
    fn events(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
            .collect()
    }
}

fn run(mut cmd: Command) -> Run {
    let output = cmd.output().unwrap();
    Run {
        code: output.status.code(),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn world_dir(state: &Path) -> PathBuf {
    PathBuf::from(format!("{}.demo", state.display()))
}

fn world(state: &Path) -> Value {
    json(&world_dir(state).join("simulated-world.json"))
}

/// `step id -> (action, outcome)` of every `step_finished` event.
fn finished_steps(events: &[Value]) -> Vec<(String, String, String)> {
    events
        .iter()
        .filter(|e| e["event"] == "step_finished")
        .map(|e| {
            (
                e["step"].as_str().unwrap().to_string(),
                e["action"].as_str().unwrap_or_default().to_string(),
                e["outcome"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The commit a branch of a simulated GitHub repository points at.
fn head(state: &Path, repo: &str, branch: &str) -> String {
    let bare = world_dir(state)
        .join("github")
        .join("kalypso-demo")
        .join(format!("{repo}.git"));
    let output = std::process::Command::new("git")
        .arg("--git-dir")
        .arg(&bare)
        .args(["rev-parse", &format!("refs/heads/{branch}")])
        .output()
        .unwrap();
    assert!(output.status.success(), "{repo} has no {branch}");
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}

const CLUSTER_STEPS: [&str; 4] = [
    "cluster.resource-group",
    "cluster.create",
    "cluster.credentials",
    "cluster.ready",
];
const REPOSITORY_STEPS: [&str; 7] = [
    "control-plane.repo",
    "control-plane.seed",
    "control-plane.secrets",
    "gitops.repo",
    "gitops.seed",
    "gitops.secrets",
    "gitops.label",
];

#[test]
fn a_failed_demo_run_resumes_in_a_new_process_without_recreating_anything() {
    let home = TempDir::new().unwrap();
    let state = home.path().join("state.json");
    let failed = run({
        let mut cmd = demo_on(home.path(), &state);
        cmd.env("KALYPSO_DEMO_FAIL", "installation.kalypso");
        cmd
    });
    assert_eq!(failed.code, Some(6), "{}{}", failed.stdout, failed.stderr);
    assert_eq!(json(&state)["status"], "failed");
    let dir = world_dir(&state);
    assert!(
        failed.stderr.contains(&format!(
            "DEMO: simulated Azure, GitHub and cluster in {}",
            dir.canonicalize().unwrap().display()
        )) && failed.stderr.contains("new, kept for later runs"),
        "{}",
        failed.stderr
    );
    assert_eq!(
        std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
        0o700
    );
    let cluster_before = world(&state)["azure"]["clusters"].clone();
    let heads_before = [
        head(&state, "kalypso-demo-control-plane", "main"),
        head(&state, "kalypso-demo-gitops", "dev"),
    ];

    let resumed = run({
        let mut cmd = demo_on(home.path(), &state);
        cmd.args(["--output", "json"]);
        cmd
    });
    assert_eq!(
        resumed.code,
        Some(0),
        "{}{}",
        resumed.stdout,
        resumed.stderr
    );
    assert!(
        resumed.stderr.contains("restored from an earlier run"),
        "{}",
        resumed.stderr
    );
    let steps = finished_steps(&resumed.events());
    for id in CLUSTER_STEPS.iter().chain(REPOSITORY_STEPS.iter()) {
        let step = steps
            .iter()
            .find(|(step, _, _)| step == id)
            .unwrap_or_else(|| panic!("{id} missing from {steps:?}"));
        assert_eq!(
            (step.1.as_str(), step.2.as_str()),
            ("reuse", "reused"),
            "{id}"
        );
    }
    let ran: Vec<&str> = steps
        .iter()
        .filter(|(_, action, _)| action == "create")
        .map(|(step, _, _)| step.as_str())
        .collect();
    assert_eq!(
        ran,
        ["installation.kalypso", "validation.health"],
        "{steps:?}"
    );
    assert!(steps
        .iter()
        .filter(|(_, action, _)| action == "create")
        .all(|(_, _, outcome)| outcome == "succeeded"));
    assert_eq!(json(&state)["status"], "completed");

    // The same cluster and the same pushed commits: nothing was made anew.
    assert_eq!(world(&state)["azure"]["clusters"], cluster_before);
    assert_eq!(
        [
            head(&state, "kalypso-demo-control-plane", "main"),
            head(&state, "kalypso-demo-gitops", "dev"),
        ],
        heads_before
    );
    let saved = std::fs::read_to_string(dir.join("simulated-world.json")).unwrap();
    assert!(!saved.contains(CANARY), "no token in the saved world");
}

#[test]
fn a_completed_demo_run_re_run_in_a_new_process_creates_nothing_and_passes_its_checks() {
    let home = TempDir::new().unwrap();
    let state = home.path().join("state.json");
    let first = run(demo_on(home.path(), &state));
    assert_eq!(first.code, Some(0), "{}{}", first.stdout, first.stderr);

    let again = run({
        let mut cmd = demo_on(home.path(), &state);
        cmd.args(["--output", "json"]);
        cmd
    });
    assert_eq!(again.code, Some(0), "{}{}", again.stdout, again.stderr);
    let events = again.events();
    let steps = finished_steps(&events);
    assert!(!steps.is_empty());
    assert!(
        steps
            .iter()
            .all(|(_, action, outcome)| action != "create" && outcome != "succeeded"),
        "{steps:?}"
    );
    // Flux in the restored world still reaches the private control-plane repository,
    // though the token given to it was never saved.
    assert!(
        events.iter().any(|e| e["event"] == "health_check"
            && e["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("GitRepository control-plane Ready"))),
        "{}",
        again.stdout
    );
    assert!(events.iter().any(|e| e["event"] == "run_finished"));
}

#[test]
fn clean_in_a_new_process_removes_what_a_demo_run_created_then_has_nothing_to_do() {
    let home = TempDir::new().unwrap();
    let state = home.path().join("state.json");
    let completed = run(demo_on(home.path(), &state));
    assert_eq!(
        completed.code,
        Some(0),
        "{}{}",
        completed.stdout,
        completed.stderr
    );
    let created = world(&state);
    assert_eq!(created["azure"]["clusters"].as_object().unwrap().len(), 1);
    // Ours, and the three upstream sample repositories every simulated world has.
    assert_eq!(created["github"]["repos"].as_object().unwrap().len(), 5);

    let clean = run({
        let mut cmd = demo_on(home.path(), &state);
        // No terminal here: consent is the flag.
        cmd.args(["--clean", "--yes", "--output", "json"]);
        cmd
    });
    assert_eq!(clean.code, Some(0), "{}{}", clean.stdout, clean.stderr);
    let events = clean.events();
    let actions: Vec<&Value> = events
        .iter()
        .filter(|e| e["event"] == "rollback_action")
        .collect();
    let removed: Vec<&str> = actions
        .iter()
        .map(|e| e["resource"].as_str().unwrap())
        .collect();
    for kind in [
        "helm_release",
        "aks_cluster",
        "resource_group",
        "repository",
    ] {
        assert!(
            removed.iter().any(|r| r.starts_with(kind)),
            "{kind} not removed: {removed:?}"
        );
    }
    for action in &actions {
        assert_eq!(action["outcome"], "succeeded", "{action}");
    }
    let finished = events
        .iter()
        .find(|e| e["event"] == "rollback_finished")
        .unwrap();
    assert_eq!(finished["outcome"], "succeeded");
    assert_eq!(json(&state)["status"], "rolled_back");

    // The simulated world itself is back to the seeded demo world.
    let after = world(&state);
    assert!(after["azure"]["clusters"].as_object().unwrap().is_empty());
    assert!(after["azure"]["resource_groups"]
        .as_object()
        .unwrap()
        .is_empty());
    // Only the upstream repositories are left: they are not ours.
    assert_eq!(
        after["github"]["repos"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        [
            "microsoft/kalypso-app-gitops",
            "microsoft/kalypso-app-src",
            "microsoft/kalypso-svc-src"
        ]
    );
    assert!(after["kube"].as_object().unwrap().is_empty());
    assert!(!world_dir(&state)
        .join("github/kalypso-demo/kalypso-demo-control-plane.git")
        .exists());

    let nothing = run({
        let mut cmd = demo_on(home.path(), &state);
        cmd.arg("--clean");
        cmd
    });
    assert_eq!(
        nothing.code,
        Some(0),
        "{}{}",
        nothing.stdout,
        nothing.stderr
    );
    assert!(
        nothing.stdout.contains("nothing to clean"),
        "{}",
        nothing.stdout
    );
}

#[test]
fn without_a_state_file_every_demo_run_gets_a_fresh_world() {
    let home = TempDir::new().unwrap();
    let fresh = || {
        let mut cmd = Command::cargo_bin("kalypso-bootstrap").unwrap();
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", home.path())
            .env("TMPDIR", home.path())
            .env("KALYPSO_DEMO_LATENCY", "zero")
            .current_dir(home.path())
            .args(["--demo", "--no-tui", "--non-interactive", "--dry-run"]);
        run(cmd)
    };
    let first = fresh();
    let second = fresh();
    assert_eq!(first.code, Some(0), "{}", first.stderr);
    assert_eq!(second.code, Some(0), "{}", second.stderr);
    let dirs: Vec<String> = std::fs::read_dir(home.path())
        .unwrap()
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("kalypso-demo-"))
        .collect();
    assert_eq!(dirs.len(), 2, "{dirs:?}");
    for dir in &dirs {
        assert!(
            !home.path().join(dir).join("simulated-world.json").exists(),
            "a throwaway world is not saved"
        );
    }
    assert!(
        !first.stderr.contains("kept for later runs"),
        "{}",
        first.stderr
    );
}

// ---- A state file belongs to one installation and one world (issue 12, item 2) ----

/// The state file's bytes and the saved simulated world's, to show a refused run
/// changed neither.
fn snapshot(state: &Path) -> (Vec<u8>, Vec<u8>) {
    (
        std::fs::read(state).unwrap(),
        std::fs::read(world_dir(state).join("simulated-world.json")).unwrap(),
    )
}

#[test]
fn a_run_naming_another_cluster_changes_nothing_and_exits_3_showing_both_installations() {
    let home = TempDir::new().unwrap();
    let state = home.path().join("state.json");
    let alpha = run({
        let mut cmd = demo_on(home.path(), &state);
        cmd.args(["--cluster-name", "alpha"]);
        cmd
    });
    assert_eq!(alpha.code, Some(0), "{}{}", alpha.stdout, alpha.stderr);
    let recorded = json(&state);
    let id = recorded["identity"]["id"].as_str().unwrap().to_string();
    assert_eq!(recorded["identity"]["world"], "demo");
    assert_eq!(
        recorded["identity"]["cluster"]["aks"]["name"], "alpha",
        "{recorded:#}"
    );
    let before = snapshot(&state);

    for extra in [&[][..], &["--dry-run"][..]] {
        let beta = run({
            let mut cmd = demo_on(home.path(), &state);
            cmd.args(["--cluster-name", "beta"]).args(extra);
            cmd
        });
        assert_eq!(
            beta.code,
            Some(3),
            "{extra:?}: {}{}",
            beta.stdout,
            beta.stderr
        );
        let cluster_row = beta
            .stderr
            .lines()
            .find(|line| line.trim_start().starts_with("cluster "))
            .unwrap_or_else(|| panic!("no cluster row in {}", beta.stderr));
        assert!(
            cluster_row.contains("AKS alpha (resource group alpha-rg)")
                && cluster_row.contains("AKS beta (resource group beta-rg)")
                && cluster_row.ends_with("<- differs"),
            "{}",
            beta.stderr
        );
        assert!(beta.stderr.contains(&id), "{}", beta.stderr);
        let suggestion = home.path().join("bootstrap-state-beta.json");
        assert!(
            beta.stderr
                .contains(&format!("--state-file {}", suggestion.display())),
            "{}",
            beta.stderr
        );
        assert!(
            !beta.stdout.contains("to create"),
            "no plan merging both: {}",
            beta.stdout
        );
        assert_eq!(snapshot(&state), before, "{extra:?}: nothing changed");
    }

    // The suggested state file works for the other installation.
    let beta = run({
        let mut cmd = demo_on(home.path(), &home.path().join("bootstrap-state-beta.json"));
        cmd.args(["--cluster-name", "beta", "--dry-run"]);
        cmd
    });
    assert_eq!(beta.code, Some(0), "{}{}", beta.stdout, beta.stderr);
}

#[test]
fn settings_outside_the_identity_may_change_between_runs() {
    let home = TempDir::new().unwrap();
    let state = home.path().join("state.json");
    let first = run({
        let mut cmd = demo_on(home.path(), &state);
        cmd.args(["--cluster-nodes", "3"]);
        cmd
    });
    assert_eq!(first.code, Some(0), "{}{}", first.stdout, first.stderr);
    let id = json(&state)["identity"]["id"].clone();
    assert!(id.as_str().is_some_and(|id| id.starts_with("kb-")), "{id}");
    let again = run({
        let mut cmd = demo_on(home.path(), &state);
        cmd.args([
            "--cluster-nodes",
            "5",
            "--cluster-vm-size",
            "Standard_D4s_v3",
        ]);
        cmd
    });
    assert_eq!(again.code, Some(0), "{}{}", again.stdout, again.stderr);
    assert_eq!(json(&state)["identity"]["id"], id, "the same installation");
}

#[test]
fn a_state_recording_other_repository_owners_is_refused_once_the_owner_is_known() {
    let home = TempDir::new().unwrap();
    let state = home.path().join("state.json");
    let first = run(demo_on(home.path(), &state));
    assert_eq!(first.code, Some(0), "{}{}", first.stdout, first.stderr);
    let mut recorded = json(&state);
    // Written without --github-org: the owner is the signed-in account, learnt in the run.
    assert_eq!(
        recorded["identity"]["repositories"]["gitops"]["owner"],
        "kalypso-demo"
    );
    recorded["identity"]["repositories"]["gitops"]["owner"] = "someone-else".into();
    std::fs::write(&state, serde_json::to_string_pretty(&recorded).unwrap()).unwrap();
    let before = snapshot(&state);

    let other = run(demo_on(home.path(), &state));
    assert_eq!(other.code, Some(3), "{}{}", other.stdout, other.stderr);
    let gitops_row = other
        .stderr
        .lines()
        .find(|line| line.trim_start().starts_with("gitops "))
        .unwrap_or_else(|| panic!("no gitops row in {}", other.stderr));
    assert!(
        gitops_row.contains("someone-else/kalypso-demo-gitops")
            && gitops_row.contains("kalypso-demo/kalypso-demo-gitops")
            && gitops_row.ends_with("<- differs"),
        "{}",
        other.stderr
    );
    assert_eq!(snapshot(&state), before, "nothing changed");
}

#[test]
fn a_state_without_an_identity_is_adopted_by_the_next_run() {
    let home = TempDir::new().unwrap();
    let state = home.path().join("state.json");
    let first = run(demo_on(home.path(), &state));
    assert_eq!(first.code, Some(0), "{}{}", first.stdout, first.stderr);
    let mut old = json(&state);
    old.as_object_mut().unwrap().remove("identity");
    std::fs::write(&state, serde_json::to_string_pretty(&old).unwrap()).unwrap();

    let status = run({
        let mut cmd = demo_on(home.path(), &state);
        cmd.arg("--status");
        cmd
    });
    assert_eq!(status.code, Some(0), "{}", status.stderr);
    assert!(
        status
            .stdout
            .contains("Installation:    (not recorded) (written before"),
        "{}",
        status.stdout
    );
    // Its simulated world beside it tells it is a demo's: refused without --demo.
    let before = snapshot(&state);
    let mut clean = Command::cargo_bin("kalypso-bootstrap").unwrap();
    clean
        .env_clear()
        .env("PATH", home.path().join("no-tools"))
        .env("HOME", home.path())
        .args(["--clean", "--no-tui", "--non-interactive", "--state-file"])
        .arg(&state);
    let refused = run(clean);
    assert_eq!(
        refused.code,
        Some(3),
        "{}{}",
        refused.stdout,
        refused.stderr
    );
    assert!(
        refused
            .stderr
            .contains("belongs to a --demo installation (no installation id"),
        "{}",
        refused.stderr
    );
    assert_eq!(snapshot(&state), before);
    let again = run(demo_on(home.path(), &state));
    assert_eq!(again.code, Some(0), "{}{}", again.stdout, again.stderr);
    let adopted = json(&state);
    assert!(
        adopted["identity"]["id"]
            .as_str()
            .is_some_and(|id| id.starts_with("kb-")),
        "{adopted:#}"
    );
    assert_eq!(adopted["identity"]["world"], "demo");
    assert_eq!(adopted["identity"]["namespace"], "kalypso-system");
}

/// Stand-ins for every tool that note each call in `calls`: a refused run calls none.
fn recording_tools(bin: &Path, calls: &Path) {
    for tool in ["az", "gh", "git", "kubectl", "helm"] {
        let path = bin.join(tool);
        std::fs::write(
            &path,
            format!(
                "#!/bin/sh\necho \"{tool} $*\" >> '{}'\nexit 1\n",
                calls.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

#[test]
fn a_demo_state_is_refused_without_demo_by_run_clean_and_status_calling_no_tool() {
    let home = TempDir::new().unwrap();
    let state = home.path().join("state.json");
    let completed = run(demo_on(home.path(), &state));
    assert_eq!(completed.code, Some(0), "{}", completed.stderr);
    let id = json(&state)["identity"]["id"].as_str().unwrap().to_string();
    let before = snapshot(&state);
    let bin = TempDir::new().unwrap();
    let calls = home.path().join("calls.log");
    recording_tools(bin.path(), &calls);

    for mode in [
        &["--cluster-name", "kalypso-demo"][..],
        &["--clean"][..],
        &["--clean", "--skip-confirmation"][..],
        &["--status"][..],
        &["--status", "--output", "json"][..],
    ] {
        let mut cmd = Command::cargo_bin("kalypso-bootstrap").unwrap();
        cmd.env_clear()
            .env("PATH", bin.path())
            .env("HOME", home.path())
            .env("GITHUB_TOKEN", CANARY)
            .current_dir(home.path())
            .args(["--no-tui", "--non-interactive", "--state-file"])
            .arg(&state)
            .args(mode);
        let refused = run(cmd);
        assert_eq!(
            refused.code,
            Some(3),
            "{mode:?}: {}{}",
            refused.stdout,
            refused.stderr
        );
        assert!(
            refused.stderr.contains("belongs to a --demo installation")
                && refused.stderr.contains(&id)
                && refused.stderr.contains("with --demo"),
            "{mode:?}: {}",
            refused.stderr
        );
        assert!(
            !calls.exists(),
            "{mode:?} called a tool: {}",
            std::fs::read_to_string(&calls).unwrap_or_default()
        );
        assert_eq!(snapshot(&state), before, "{mode:?} changed nothing");
    }
    // With --demo, --status shows it, naming the installation and its world.
    let status = run({
        let mut cmd = demo_on(home.path(), &state);
        cmd.arg("--status");
        cmd
    });
    assert_eq!(status.code, Some(0), "{}", status.stderr);
    assert!(
        status.stdout.contains(&format!("Installation:    {id}"))
            && status.stdout.contains("World:           demo"),
        "{}",
        status.stdout
    );
}

#[test]
fn demo_refuses_a_real_state_and_leaves_nothing_beside_it() {
    use kalypso_bootstrap::state::{
        BootstrapState, ClusterIdentity, InstallationIdentity, InstallationWorld,
        RepositoriesIdentity, RepositoryIdentity, StateStore, Timestamp,
    };
    let home = TempDir::new().unwrap();
    let state = home.path().join("real.json");
    let repo = |name: &str| RepositoryIdentity {
        owner: Some("acme".into()),
        name: name.into(),
    };
    let mut real = BootstrapState::new(Timestamp::now());
    // The same names as the demo's: only the world tells them apart.
    real.identity = Some(InstallationIdentity {
        id: "kb-0123456789ab".into(),
        world: InstallationWorld::Real,
        subscription: Some("11111111-2222-3333-4444-555555555555".into()),
        cluster: ClusterIdentity::Aks {
            resource_group: "kalypso-demo-rg".into(),
            name: "kalypso-demo".into(),
        },
        repositories: RepositoriesIdentity {
            control_plane: repo("kalypso-demo-control-plane"),
            gitops: repo("kalypso-demo-gitops"),
            github_host: "github.com".into(),
        },
        namespace: "kalypso-system".into(),
        environments: vec!["dev".into()],
    });
    StateStore::at_custom(&state).save(&real).unwrap();
    let before = std::fs::read(&state).unwrap();
    let listing = || {
        let mut names: Vec<String> = std::fs::read_dir(home.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    let files_before = listing();

    for mode in [
        &[][..],
        &["--dry-run"][..],
        &["--clean"][..],
        &["--status"][..],
    ] {
        let refused = run({
            let mut cmd = demo_on(home.path(), &state);
            cmd.args(mode);
            cmd
        });
        assert_eq!(
            refused.code,
            Some(3),
            "{mode:?}: {}{}",
            refused.stdout,
            refused.stderr
        );
        assert!(
            refused
                .stderr
                .contains("belongs to a real installation (kb-0123456789ab)")
                && refused.stderr.contains("without --demo"),
            "{mode:?}: {}",
            refused.stderr
        );
        assert_eq!(std::fs::read(&state).unwrap(), before, "{mode:?}");
        assert_eq!(
            listing(),
            files_before,
            "{mode:?}: no simulated world, lock or log beside it"
        );
    }
}

/// A repository whose live GitHub id is not the one the state recorded at creation (it was
/// deleted and made again by someone else) is kept by `--clean`, which says why and exits 1;
/// everything else is removed.
#[test]
fn clean_keeps_a_repository_without_our_mark_and_exits_1() {
    let home = TempDir::new().unwrap();
    let state = home.path().join("state.json");
    let completed = run(demo_on(home.path(), &state));
    assert_eq!(
        completed.code,
        Some(0),
        "{}{}",
        completed.stdout,
        completed.stderr
    );

    let world_file = world_dir(&state).join("simulated-world.json");
    let mut changed = world(&state);
    let repos = changed["github"]["repos"].as_object_mut().unwrap();
    let (key, repo) = repos
        .iter_mut()
        .find(|(key, _)| key.ends_with("control-plane"))
        .expect("the control-plane repository");
    let key = key.clone();
    repo["id"] = Value::from(repo["id"].as_u64().unwrap() + 1000);
    std::fs::write(&world_file, serde_json::to_string(&changed).unwrap()).unwrap();

    let clean = run({
        let mut cmd = demo_on(home.path(), &state);
        cmd.args(["--clean", "--yes", "--output", "json"]);
        cmd
    });
    assert_eq!(clean.code, Some(1), "{}{}", clean.stdout, clean.stderr);
    let events = clean.events();
    let kept: Vec<&Value> = events
        .iter()
        .filter(|e| e["event"] == "rollback_action" && e["outcome"] == "skipped")
        .collect();
    assert_eq!(kept.len(), 1, "{events:?}");
    assert!(kept[0]["resource"]
        .as_str()
        .unwrap()
        .contains("control-plane"));
    assert!(
        kept[0]["message"].as_str().unwrap().contains("GitHub id"),
        "{}",
        kept[0]
    );
    let finished = events
        .iter()
        .find(|e| e["event"] == "rollback_finished")
        .unwrap();
    assert_eq!(finished["outcome"], "failed");
    assert!(
        finished["message"].as_str().unwrap().contains("kept 1"),
        "{finished}"
    );

    let after = world(&state);
    let repos = after["github"]["repos"].as_object().unwrap();
    // (Besides the upstream workload repositories every simulated world has.)
    assert_eq!(
        repos
            .keys()
            .filter(|k| !k.starts_with("microsoft/"))
            .collect::<Vec<_>>(),
        vec![&key],
        "only the kept one is left"
    );
    assert!(repos.contains_key("microsoft/kalypso-app-src"));
    assert!(after["azure"]["clusters"].as_object().unwrap().is_empty());
    let saved = json(&state);
    assert_eq!(saved["status"], "failed");
    assert!(saved["resources"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["status"] == "kept_not_ours"));
}

/// The failure's next steps name the exact command that resumes it (with `--demo` and
/// `--state-file`), and that command, copied as printed, resumes the run to its end.
#[test]
fn the_printed_resume_command_works_when_copied() {
    let home = TempDir::new().unwrap();
    let state = home.path().join("state.json");
    let failed = run({
        let mut cmd = demo_on(home.path(), &state);
        cmd.env("KALYPSO_DEMO_FAIL", "gitops.secrets");
        cmd
    });
    assert_eq!(failed.code, Some(5), "{}{}", failed.stdout, failed.stderr);
    let marker = "run this again to resume at the failed step: ";
    let next = failed
        .stdout
        .lines()
        .find(|line| line.trim_start().starts_with("Next:"))
        .unwrap_or_else(|| panic!("no Next row: {}", failed.stdout));
    let command = next
        .split(marker)
        .nth(1)
        .and_then(|rest| rest.split("; ").next())
        .unwrap_or_else(|| panic!("no resume command in {next}"));
    assert_eq!(
        command,
        format!(
            "kalypso-bootstrap --demo --no-tui --non-interactive --state-file {}",
            state.display()
        )
    );
    let words: Vec<&str> = command.split_whitespace().collect();
    assert_eq!(words[0], "kalypso-bootstrap");
    let mut copied = Command::cargo_bin("kalypso-bootstrap").unwrap();
    copied
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("TMPDIR", home.path())
        .env("GITHUB_TOKEN", CANARY)
        .env("KALYPSO_DEMO_LATENCY", "zero")
        .current_dir(home.path())
        .args(&words[1..]);
    let resumed = run(copied);
    assert_eq!(
        resumed.code,
        Some(0),
        "{}{}",
        resumed.stdout,
        resumed.stderr
    );
    assert_eq!(json(&state)["status"], "completed");
}

/// After a failed run, the plan of the next run (here its dry run, as text) says that it
/// resumes that run: its done and failed steps, and what runs now; what it made is `=`.
#[test]
fn the_plan_of_a_resumed_run_names_the_earlier_runs_done_and_failed_steps() {
    let home = TempDir::new().unwrap();
    let state = home.path().join("state.json");
    let failed = run({
        let mut cmd = demo_on(home.path(), &state);
        cmd.env("KALYPSO_DEMO_FAIL", "installation.kalypso");
        cmd
    });
    assert_eq!(failed.code, Some(6), "{}{}", failed.stdout, failed.stderr);
    let planned = run({
        let mut cmd = demo_on(home.path(), &state);
        cmd.arg("--dry-run");
        cmd
    });
    assert_eq!(
        planned.code,
        Some(0),
        "{}{}",
        planned.stdout,
        planned.stderr
    );
    let overview = planned
        .stdout
        .split("The commands, step by step:")
        .next()
        .unwrap();
    // The time of the earlier run's last change differs from run to run.
    let overview = regex::Regex::new(r"last change \d{4}-\d\d-\d\d \d\d:\d\d UTC")
        .unwrap()
        .replace(overview, "last change [time]");
    // So does the installation id of the marks, in the failed command's text.
    let overview = regex::Regex::new(r"kb-[0-9a-f]{12}")
        .unwrap()
        .replace_all(&overview, "kb-[id]");
    insta::assert_snapshot!("resumed_dry_run_plan_by_resource", overview);
    assert!(
        planned
            .stdout
            .trim_end()
            .ends_with("Plan: 2 to create, 0 to change, 12 to reuse."),
        "{}",
        planned.stdout
    );
}
