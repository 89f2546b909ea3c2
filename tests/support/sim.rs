//! Shared set-up for the simulated-environment tests.

use kalypso_bootstrap::sim::{AzureAccount, SimulatedEnvironment};
use kalypso_bootstrap::tools::{CommandOutput, CommandRunner, CommandSpec};
use secrecy::SecretString;

pub const SUBSCRIPTION: &str = "11111111-2222-3333-4444-555555555555";
pub const USER: &str = "alice@contoso.example";
pub const ALICE_TOKEN: &str = "ghp_aliceSimToken000000000000000000000001";
pub const BOB_TOKEN: &str = "ghp_bobSimToken00000000000000000000000002";

/// A zero-latency environment with an Azure account (Owner), GitHub users `alice`
/// (repo, workflow, read:org, delete_repo) and `bob` (repo only), and org `acme` where
/// alice is admin and bob a member.
pub fn standard() -> (tempfile::TempDir, SimulatedEnvironment) {
    let dir = tempfile::tempdir().expect("temp dir");
    let env = SimulatedEnvironment::new(dir.path().join("sim")).expect("environment");
    env.seed_azure_account(AzureAccount {
        subscription_id: SUBSCRIPTION.to_string(),
        subscription_name: "Test Subscription".to_string(),
        tenant_id: "99999999-8888-7777-6666-555555555555".to_string(),
        user_name: USER.to_string(),
        user_type: "user".to_string(),
        roles: vec!["Owner".to_string()],
    });
    env.seed_github_user(
        "alice",
        ALICE_TOKEN,
        &["repo", "workflow", "read:org", "delete_repo"],
    );
    env.seed_github_user("bob", BOB_TOKEN, &["repo"]);
    env.seed_github_org("acme", &[("alice", "admin"), ("bob", "member")]);
    (dir, env)
}

pub fn spec(program: &str, args: &[&str]) -> CommandSpec {
    CommandSpec::new(program).args(args.iter().copied())
}

/// A gh call authenticated as `token` (by `GH_TOKEN`, as the adapters do).
pub fn gh(token: &str, args: &[&str]) -> CommandSpec {
    spec("gh", args).secret_env("GH_TOKEN", SecretString::from(token.to_string()))
}

/// A gh call as one reads it: `words` is the command line after `gh`, split at white
/// space (so no argument of it may hold a space).
pub fn gh_words(token: &str, words: &str) -> CommandSpec {
    gh(token, &words.split_whitespace().collect::<Vec<_>>())
}

pub async fn run(env: &SimulatedEnvironment, spec: CommandSpec) -> CommandOutput {
    env.run(spec).await.expect("the simulated command runs")
}

/// Run and require exit 0, returning stdout.
pub async fn ok(env: &SimulatedEnvironment, spec: CommandSpec) -> String {
    let line = spec.display();
    let out = run(env, spec).await;
    assert_eq!(
        out.exit_code,
        Some(0),
        "{line}\nstdout: {}\nstderr: {}",
        out.stdout,
        out.stderr
    );
    out.stdout
}

pub async fn ok_json(env: &SimulatedEnvironment, spec: CommandSpec) -> serde_json::Value {
    let stdout = ok(env, spec).await;
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}

/// Create an AKS cluster (already provisioned) and fetch its credentials into `kubeconfig`
/// under context `ctx`; returns the kubeconfig path as a string.
pub async fn cluster_with_context(
    env: &SimulatedEnvironment,
    rg: &str,
    name: &str,
    ctx: &str,
) -> String {
    let kubeconfig = env.root().join("kubeconfig-test");
    let path = kubeconfig.display().to_string();
    ok(
        env,
        spec(
            "az",
            &[
                "group",
                "create",
                "--name",
                rg,
                "--location",
                "eastus",
                "-o",
                "json",
            ],
        ),
    )
    .await;
    ok(
        env,
        spec(
            "az",
            &[
                "aks",
                "create",
                "-g",
                rg,
                "-n",
                name,
                "--node-count",
                "2",
                "--no-ssh-key",
                "--enable-managed-identity",
                "-o",
                "json",
            ],
        ),
    )
    .await;
    ok(
        env,
        spec(
            "az",
            &[
                "aks",
                "get-credentials",
                "-g",
                rg,
                "-n",
                name,
                "--context",
                ctx,
                "--file",
                &path,
                "--overwrite-existing",
            ],
        ),
    )
    .await;
    path
}

/// `kubectl --context CTX --kubeconfig PATH args…`
pub fn kubectl(kubeconfig: &str, ctx: &str, args: &[&str]) -> CommandSpec {
    spec("kubectl", &["--context", ctx, "--kubeconfig", kubeconfig]).args(args.iter().copied())
}

/// `helm args… --kube-context CTX` with `KUBECONFIG` in the child's environment.
pub fn helm(kubeconfig: &str, ctx: &str, args: &[&str]) -> CommandSpec {
    spec("helm", args)
        .args(["--kube-context", ctx])
        .env("KUBECONFIG", kubeconfig)
}

/// Assert two snapshots are equal, naming the paths that differ (instead of dumping both).
pub fn assert_same_state(
    before: &kalypso_bootstrap::sim::SimSnapshot,
    after: &kalypso_bootstrap::sim::SimSnapshot,
) {
    if before == after {
        return;
    }
    let a = serde_json::to_value(before).unwrap();
    let b = serde_json::to_value(after).unwrap();
    let mut paths = Vec::new();
    diff("", &a, &b, &mut paths);
    panic!(
        "the state changed at:\n  {}",
        paths.into_iter().take(20).collect::<Vec<_>>().join("\n  ")
    );
}

fn diff(path: &str, a: &serde_json::Value, b: &serde_json::Value, out: &mut Vec<String>) {
    use serde_json::Value;
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for key in x.keys().chain(y.keys().filter(|k| !x.contains_key(*k))) {
                let child = format!("{path}/{key}");
                match (x.get(key), y.get(key)) {
                    (Some(p), Some(q)) => diff(&child, p, q, out),
                    (Some(_), None) => out.push(format!("{child}: removed")),
                    (None, Some(_)) => out.push(format!("{child}: added")),
                    (None, None) => {}
                }
            }
        }
        _ if a != b => out.push(format!("{path}: {a} -> {b}")),
        _ => {}
    }
}

/// A fresh Ed25519 key pair made by the real `ssh-keygen` (no passphrase): `(private key
/// in OpenSSH format, public key line)`.
pub fn ssh_key_pair(comment: &str) -> (String, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("id_ed25519");
    let status = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f"])
        .arg(&path)
        .status()
        .expect("ssh-keygen runs");
    assert!(status.success(), "ssh-keygen failed");
    let private = std::fs::read_to_string(&path).expect("private key");
    let public = std::fs::read_to_string(path.with_extension("pub")).expect("public key");
    (private, public.trim().to_string())
}
