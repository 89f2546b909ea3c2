//! Keeping a simulated world across processes: a JSON file in the environment's root,
//! rewritten (temp file + rename) after every call that changed the world, and read back
//! by [`super::SimulatedEnvironment::demo_persistent`]. With it a `--demo` run can be
//! resumed, inspected and cleaned by a later process, as a real one can.
//!
//! What is kept: Azure, the Kubernetes API servers (objects, Helm releases), GitHub (users,
//! organisations, repositories with the names of their secrets and their labels), the
//! kubeconfig files the world knows, the catalogs, id counters and pending provisioning or
//! deletion (as wall-clock times, so a cluster still provisioning when one process ended is
//! ready on time for the next). The bare repositories and kubeconfig files live in the root
//! already.
//!
//! What is not: secret values. An Actions secret is kept by name only. A Helm release keeps
//! its user-supplied values with secret-like ones masked (`helm status -o json` in a
//! restored world shows them so; the process that installed the release shows them whole). A Kubernetes Secret
//! value is kept as the GitHub login it authenticated as, never as the value, so Flux in a
//! restored world can still reach the repositories the token could. Tokens, the latency
//! profile, fault rules and the call log belong to the process.

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fs4::fs_std::FileExt;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use super::catalog::{AzureCatalog, ChartCatalog};
use super::kube::Counter;
use super::state::{AzureState, GithubState, KubeCluster};
use super::world::{
    KubeSecretValue, Pending, PendingKey, RestoredActionsSecret, TokenPolicy, World,
    PUBLIC_SECRET_KEYS,
};

/// The world file's name inside the environment's root.
pub const WORLD_FILE: &str = "simulated-world.json";

/// Bumped when the file's layout changes; another version is refused, not guessed at.
const FORMAT_VERSION: u32 = 1;

/// The world file of one environment, and what this process last read from or wrote to it.
pub(crate) struct WorldStore {
    path: PathBuf,
    root: PathBuf,
    clock: WallClock,
    /// The file's text as this process last read or wrote it (`None`: no file yet).
    last_known: std::sync::Mutex<Option<String>>,
    /// Saving starts once the world is complete (not while the demo world is being seeded).
    active: std::sync::atomic::AtomicBool,
}

impl WorldStore {
    pub fn new(root: &Path) -> Self {
        Self {
            path: root.join(WORLD_FILE),
            root: root.to_path_buf(),
            clock: WallClock::now(),
            last_known: std::sync::Mutex::new(None),
            active: std::sync::atomic::AtomicBool::new(false),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Save after every change from now on.
    pub fn activate(&self) {
        self.active.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Read the saved world into `world`, if there is one; `Ok(false)` when there is none.
    pub fn load_into(&self, world: &mut World) -> io::Result<bool> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(err) => return Err(self.error("cannot read", err)),
        };
        let saved = SavedWorld::parse(&text).map_err(|why| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "the simulated world {} is unreadable ({why}); remove its directory to start a new one",
                    self.path.display()
                ),
            )
        })?;
        saved.restore(world, &self.root, &self.clock);
        *self.last_known() = Some(text);
        Ok(true)
    }

    /// Write `world` if it differs from what the file holds. Refuses to overwrite a file
    /// another process changed since this one read it: the two worlds have diverged.
    pub fn save(&self, world: &World) -> io::Result<()> {
        if !self.active.load(std::sync::atomic::Ordering::SeqCst) {
            return Ok(());
        }
        let text = SavedWorld::capture(world, &self.root, &self.clock).to_text();
        let mut last_known = self.last_known();
        if last_known.as_deref() == Some(text.as_str()) {
            return Ok(());
        }
        // Held from the check to the rename, so two processes cannot both pass the check.
        let lock = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(self.lock_path())
            .map_err(|err| self.error("cannot open the lock of", err))?;
        FileExt::lock_exclusive(&lock).map_err(|err| self.error("cannot lock", err))?;
        let on_disk = match std::fs::read_to_string(&self.path) {
            Ok(text) => Some(text),
            Err(err) if err.kind() == io::ErrorKind::NotFound => None,
            Err(err) => return Err(self.error("cannot read", err)),
        };
        // The same world written by someone else is no conflict.
        if on_disk != *last_known && on_disk.as_deref() != Some(text.as_str()) {
            return Err(io::Error::other(format!(
                "the simulated world {} was changed by another process since this one read it; \
                 not overwriting it (run one --demo at a time per state file)",
                self.path.display()
            )));
        }
        let mut temp = tempfile::Builder::new()
            .prefix(".simulated-world-")
            .suffix(".tmp")
            .tempfile_in(&self.root)
            .map_err(|err| self.error("cannot create a temporary file beside", err))?;
        // No fsync: the rename guards against a process ending mid-write, which is the
        // case that matters for a simulation; a machine crash may lose the last change.
        temp.write_all(text.as_bytes())
            .map_err(|err| self.error("cannot write", err))?;
        temp.persist(&self.path)
            .map_err(|err| self.error("cannot replace", err.error))?;
        *last_known = Some(text);
        drop(lock);
        Ok(())
    }

    fn lock_path(&self) -> PathBuf {
        let mut name = self.path.as_os_str().to_owned();
        name.push(".lock");
        PathBuf::from(name)
    }

    fn last_known(&self) -> std::sync::MutexGuard<'_, Option<String>> {
        self.last_known
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn error(&self, what: &str, err: io::Error) -> io::Error {
        io::Error::new(
            err.kind(),
            format!("{what} the simulated world {}: {err}", self.path.display()),
        )
    }
}

/// Converts the simulation's monotonic instants to wall-clock times and back, from one
/// pair of readings taken together (so a time converted back and forth stays the same).
#[derive(Clone, Copy, Debug)]
struct WallClock {
    instant: Instant,
    system: SystemTime,
}

impl WallClock {
    fn now() -> Self {
        Self {
            instant: Instant::now(),
            system: SystemTime::now(),
        }
    }

    /// Milliseconds since the Unix epoch.
    fn unix_millis(&self, at: Instant) -> u64 {
        let system = if at >= self.instant {
            self.system + (at - self.instant)
        } else {
            self.system - (self.instant - at)
        };
        system.duration_since(UNIX_EPOCH).map_or(0, |since| {
            u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
        })
    }

    /// The instant of a wall-clock time; one already past is due now.
    fn instant(&self, unix_millis: u64) -> Instant {
        let system = UNIX_EPOCH + Duration::from_millis(unix_millis);
        match system.duration_since(self.system) {
            Ok(ahead) => self.instant + ahead,
            Err(_) => self.instant,
        }
    }
}

/// The world file's content.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SavedWorld {
    format_version: u32,
    azure: AzureState,
    /// API servers by server URL.
    kube: BTreeMap<String, KubeCluster>,
    github: GithubState,
    azure_catalog: AzureCatalog,
    charts: ChartCatalog,
    counter: Counter,
    next_github_id: u64,
    token_policy: TokenPolicy,
    az_token_expired: bool,
    /// Kubeconfig files the world reports, relative to the root when inside it.
    kubeconfigs: Vec<PathBuf>,
    pending: Vec<SavedPending>,
    kube_secrets: Vec<SavedKubeSecret>,
    /// What GitHub Actions runs of a later process need of the Actions secrets (never a
    /// token's value).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    actions_secrets: Vec<SavedActionsSecret>,
}

/// An Actions secret (of a repository, or of one of its GitHub environments) as the file
/// keeps it.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SavedActionsSecret {
    repo: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    environment: Option<String>,
    name: String,
    kept: RestoredActionsSecret,
}

/// What the file may keep of an Actions secret's value: the name it is when it names a
/// repository of the world or an environment of its repository (the file holds those
/// anyway), else the login it signs in as when it is a token, else nothing.
fn restorable(world: &World, repo: &str, value: &str) -> RestoredActionsSecret {
    let names_repository = world
        .github
        .repos
        .values()
        .any(|r| r.full_name().eq_ignore_ascii_case(value));
    let names_environment = world
        .github
        .repos
        .get(repo)
        .is_some_and(|r| r.environments.contains_key(value));
    if names_repository || names_environment {
        return RestoredActionsSecret::Name {
            name: value.to_string(),
        };
    }
    match world.login_for_token(value) {
        Some(github_login) => RestoredActionsSecret::Token { github_login },
        None => RestoredActionsSecret::Unknown,
    }
}

/// A provisioning or deletion that completes at a wall-clock time.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SavedPending {
    key: String,
    kind: PendingKey,
    what: Pending,
    due_unix_ms: u64,
}

/// A Kubernetes Secret's keys, each with the GitHub login its value signed in as (never
/// the value).
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SavedKubeSecret {
    server: String,
    namespace: String,
    name: String,
    github_logins: BTreeMap<String, Option<String>>,
    /// By key, the public key of a value that is an SSH private key.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    ssh_public_keys: BTreeMap<String, String>,
    /// By key, the values that are public ([`PUBLIC_SECRET_KEYS`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    public_values: BTreeMap<String, String>,
}

impl SavedWorld {
    fn capture(world: &World, root: &Path, clock: &WallClock) -> Self {
        let pending = world
            .timers
            .iter()
            .map(|((key, kind), (at, what))| SavedPending {
                key: key.clone(),
                kind: *kind,
                what: *what,
                due_unix_ms: clock.unix_millis(*at),
            })
            .collect();
        let mut kube_secrets: Vec<SavedKubeSecret> = world
            .kube_secret_values
            .iter()
            .map(|((server, namespace, name), data)| SavedKubeSecret {
                server: server.clone(),
                namespace: namespace.clone(),
                name: name.clone(),
                github_logins: data
                    .iter()
                    .map(|(key, value)| (key.clone(), value.github_login(world)))
                    .collect(),
                ssh_public_keys: data
                    .iter()
                    .filter_map(|(key, value)| Some((key.clone(), value.ssh_public_key().ok()?)))
                    .collect(),
                public_values: data
                    .iter()
                    .filter(|(key, _)| PUBLIC_SECRET_KEYS.contains(&key.as_str()))
                    .filter_map(|(key, value)| Some((key.clone(), value.text()?)))
                    .collect(),
            })
            .collect();
        // The table is a hash map: sort, so an unchanged world gives the same text.
        kube_secrets.sort_by(|a, b| {
            (&a.server, &a.namespace, &a.name).cmp(&(&b.server, &b.namespace, &b.name))
        });
        // Known values first; what a restored world knew of the others stays. Only secrets
        // that still exist are kept.
        let mut actions: BTreeMap<(String, Option<String>, String), RestoredActionsSecret> = world
            .gh_secret_restored
            .iter()
            .map(|(key, kept)| (key.clone(), kept.clone()))
            .collect();
        for ((repo, name), value) in &world.gh_secret_values {
            actions.insert(
                (repo.clone(), None, name.clone()),
                restorable(world, repo, value.expose_secret()),
            );
        }
        for ((repo, environment, name), value) in &world.gh_environment_secret_values {
            actions.insert(
                (repo.clone(), Some(environment.clone()), name.clone()),
                restorable(world, repo, value.expose_secret()),
            );
        }
        let actions_secrets = actions
            .into_iter()
            .filter(|((repo, environment, name), _)| {
                world
                    .github
                    .repos
                    .get(repo)
                    .is_some_and(|r| match environment {
                        None => r.secrets.contains(name),
                        Some(environment) => r
                            .environments
                            .get(environment)
                            .is_some_and(|secrets| secrets.contains_key(name)),
                    })
            })
            .map(|((repo, environment, name), kept)| SavedActionsSecret {
                repo,
                environment,
                name,
                kept,
            })
            .collect();
        Self {
            format_version: FORMAT_VERSION,
            azure: world.azure.clone(),
            kube: world.kube.clone(),
            github: world.github.clone(),
            azure_catalog: world.azure_catalog.clone(),
            charts: world.charts.clone(),
            counter: world.counter.clone(),
            next_github_id: world.next_github_id,
            token_policy: world.token_policy.clone(),
            az_token_expired: world.az_token_expired,
            kubeconfigs: world
                .kubeconfigs
                .iter()
                .map(|path| path.strip_prefix(root).unwrap_or(path).to_path_buf())
                .collect(),
            pending,
            kube_secrets,
            actions_secrets,
        }
    }

    /// Replace what `world` keeps across processes by the saved state. Process-bound parts
    /// (tokens, latency) stay; secret values known to this process are dropped.
    fn restore(self, world: &mut World, root: &Path, clock: &WallClock) {
        world.azure = self.azure;
        world.kube = self.kube;
        world.github = self.github;
        world.azure_catalog = self.azure_catalog;
        world.charts = self.charts;
        world.counter = self.counter;
        world.next_github_id = self.next_github_id;
        world.token_policy = self.token_policy;
        world.az_token_expired = self.az_token_expired;
        world.kubeconfigs = self
            .kubeconfigs
            .into_iter()
            .map(|path| root.join(path))
            .collect();
        world.timers = self
            .pending
            .into_iter()
            .map(|p| ((p.key, p.kind), (clock.instant(p.due_unix_ms), p.what)))
            .collect();
        world.gh_secret_values.clear();
        world.gh_environment_secret_values.clear();
        world.gh_secret_restored = self
            .actions_secrets
            .into_iter()
            .map(|secret| ((secret.repo, secret.environment, secret.name), secret.kept))
            .collect();
        world.helm_release_config.clear();
        world.kube_secret_values = self
            .kube_secrets
            .into_iter()
            .map(|secret| {
                let mut ssh_public_keys = secret.ssh_public_keys;
                let mut public_values = secret.public_values;
                let data = secret
                    .github_logins
                    .into_iter()
                    .map(|(key, github_login)| {
                        let restored = KubeSecretValue::Restored {
                            github_login,
                            ssh_public_key: ssh_public_keys.remove(&key),
                            public_text: public_values.remove(&key),
                        };
                        (key, restored)
                    })
                    .collect();
                ((secret.server, secret.namespace, secret.name), data)
            })
            .collect();
    }

    fn parse(text: &str) -> Result<Self, String> {
        #[derive(Deserialize)]
        struct FormatVersionOnly {
            format_version: Option<u32>,
        }
        let version: FormatVersionOnly =
            serde_json::from_str(text).map_err(|err| err.to_string())?;
        if version.format_version != Some(FORMAT_VERSION) {
            return Err(format!(
                "format_version {:?}, this program reads {FORMAT_VERSION}",
                version.format_version
            ));
        }
        serde_json::from_str(text).map_err(|err| err.to_string())
    }

    fn to_text(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("the world serialises");
        text.push('\n');
        text
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use secrecy::{SecretSlice, SecretString};

    use super::WORLD_FILE;
    use crate::sim::{Latency, SimulatedEnvironment};
    use crate::tools::{CommandOutput, CommandRunner, CommandSpec};

    const TOKEN: &str = "ghp_PersistRoundTrip0000000000000000000001";
    const SECRET_VALUE: &str = "actions-secret-value-never-saved";
    const KUBE_SECRET_VALUE: &str = "kube-secret-value-never-saved";

    fn spec(program: &str, args: &[&str]) -> CommandSpec {
        CommandSpec::new(program).args(args.iter().copied())
    }

    fn gh(args: &[&str]) -> CommandSpec {
        spec("gh", args).secret_env("GH_TOKEN", SecretString::from(TOKEN.to_string()))
    }

    async fn ok(env: &SimulatedEnvironment, spec: CommandSpec) -> CommandOutput {
        let shown = spec.display();
        let out = env.run(spec).await.unwrap();
        assert_eq!(out.exit_code, Some(0), "{shown}: {}", out.stderr);
        out
    }

    /// A world with something of every kind: groups, a provisioned cluster with its
    /// kubeconfig and a Secret, a cluster still provisioning, a repository with content,
    /// an Actions secret and a label.
    async fn populate(env: &SimulatedEnvironment) -> String {
        env.set_latency(Latency::zero());
        let kubeconfig = env.root().join("kube").join("round-trip");
        let kubeconfig = kubeconfig.display().to_string();
        ok(
            env,
            spec(
                "az",
                &["group", "create", "--name", "rg", "--location", "eastus"],
            ),
        )
        .await;
        // Without --no-wait: provisioned at once.
        ok(
            env,
            spec(
                "az",
                &[
                    "aks",
                    "create",
                    "-g",
                    "rg",
                    "-n",
                    "ready",
                    "--node-count",
                    "1",
                    "--no-ssh-key",
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
                    "rg",
                    "-n",
                    "ready",
                    "--context",
                    "ready",
                    "--file",
                    &kubeconfig,
                ],
            ),
        )
        .await;
        // With --no-wait: still provisioning an hour from now.
        env.set_latency(Latency::zero().with_aks_provisioning(Duration::from_secs(3600)));
        ok(
            env,
            spec(
                "az",
                &[
                    "aks",
                    "create",
                    "-g",
                    "rg",
                    "-n",
                    "later",
                    "--no-ssh-key",
                    "--no-wait",
                ],
            ),
        )
        .await;
        let secret = format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: gh-repo-secret\n  namespace: default\nstringData:\n  password: {KUBE_SECRET_VALUE}\n"
        );
        ok(
            env,
            spec(
                "kubectl",
                &[
                    "--context",
                    "ready",
                    "--kubeconfig",
                    &kubeconfig,
                    "apply",
                    "-f",
                    "-",
                ],
            )
            .stdin_bytes(secret),
        )
        .await;
        ok(
            env,
            gh(&["repo", "create", "kalypso-demo-org/cp", "--private"]),
        )
        .await;
        ok(
            env,
            gh(&[
                "secret",
                "set",
                "GITOPS_REPO",
                "--repo",
                "kalypso-demo-org/cp",
            ])
            .secret_stdin(SecretSlice::from(SECRET_VALUE.as_bytes().to_vec())),
        )
        .await;
        ok(
            env,
            gh(&[
                "label",
                "create",
                "promoted",
                "--repo",
                "kalypso-demo-org/cp",
                "--color",
                "0e8a16",
                "--description",
                "Promoted",
            ]),
        )
        .await;
        kubeconfig
    }

    /// What GitHub Actions runs of a later process need of the Actions secrets survives,
    /// never a token's value: a secret naming a repository (or an environment) of the
    /// world as that name, a token as the login it signs in as.
    #[tokio::test]
    async fn actions_secrets_survive_as_names_and_logins_never_as_values() {
        use crate::sim::world::RestoredActionsSecret;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("world");
        let first = SimulatedEnvironment::demo_persistent(&root).unwrap();
        first.set_latency(Latency::zero());
        for repo in ["kalypso-demo-org/cp", "kalypso-demo-org/gitops"] {
            ok(&first, gh(&["repo", "create", repo, "--private"])).await;
        }
        for (name, value) in [
            ("GITOPS_REPO", "kalypso-demo-org/gitops"),
            ("GITOPS_REPO_TOKEN", TOKEN),
        ] {
            ok(
                &first,
                gh(&["secret", "set", name, "--repo", "kalypso-demo-org/cp"])
                    .secret_stdin(SecretSlice::from(value.as_bytes().to_vec())),
            )
            .await;
        }
        let login = first
            .world()
            .login_for_token(TOKEN)
            .expect("the demo accepts the token");
        drop(first);

        let text = std::fs::read_to_string(root.join(WORLD_FILE)).unwrap();
        assert!(!text.contains(TOKEN));
        let second = SimulatedEnvironment::demo_persistent(&root).unwrap();
        let restored = second.world().gh_secret_restored.clone();
        let key = |name: &str| ("kalypso-demo-org/cp".to_string(), None, name.to_string());
        assert_eq!(
            restored[&key("GITOPS_REPO")],
            RestoredActionsSecret::Name {
                name: "kalypso-demo-org/gitops".into()
            }
        );
        assert_eq!(
            restored[&key("GITOPS_REPO_TOKEN")],
            RestoredActionsSecret::Token {
                github_login: login
            }
        );
    }

    #[tokio::test]
    async fn a_saved_world_loads_back_to_the_same_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("world");
        let first = SimulatedEnvironment::demo_persistent(&root).unwrap();
        assert!(!first.restored());
        let kubeconfig = populate(&first).await;
        let server = first.snapshot().kube_clusters.into_keys().next().unwrap();
        assert!(first.kube_secret_is(
            &server,
            "default",
            "gh-repo-secret",
            "password",
            KUBE_SECRET_VALUE
        ));
        let before = first.snapshot();
        drop(first);

        let second = SimulatedEnvironment::demo_persistent(&root).unwrap();
        assert!(second.restored());
        assert_eq!(second.snapshot(), before);
        assert_eq!(
            second.world_file(),
            Some(second.root().join(WORLD_FILE).as_path())
        );

        // What a snapshot does not show came back too: the cluster is still provisioning
        // (due in an hour), the ids go on, the kubeconfig is the one the world knows.
        let later = &before.azure.clusters["rg/later"];
        assert_eq!(later.provisioning_state, "Creating");
        second.settle();
        assert_eq!(
            second.snapshot().azure.clusters["rg/later"].provisioning_state,
            "Succeeded"
        );
        assert!(before.kubeconfigs.contains_key(&kubeconfig));

        // Secret values never reach the file, and a restored world does not claim to know them.
        let text = std::fs::read_to_string(root.join(WORLD_FILE)).unwrap();
        for value in [
            TOKEN,
            SECRET_VALUE,
            KUBE_SECRET_VALUE,
            "gho_SimulatedDemoToken",
        ] {
            assert!(!text.contains(value), "{value} is in the world file");
        }
        assert!(before.github.repos["kalypso-demo-org/cp"]
            .secrets
            .contains("GITOPS_REPO"));
        assert!(!second.kube_secret_is(
            &server,
            "default",
            "gh-repo-secret",
            "password",
            KUBE_SECRET_VALUE
        ));
        assert!(!second.github_secret_is("kalypso-demo-org", "cp", "GITOPS_REPO", SECRET_VALUE));
    }

    #[tokio::test]
    async fn pending_provisioning_keeps_its_wall_clock_time_across_processes() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("world");
        let first = SimulatedEnvironment::demo_persistent(&root).unwrap();
        first.set_latency(Latency::zero().with_aks_provisioning(Duration::from_millis(30)));
        ok(
            &first,
            spec(
                "az",
                &["group", "create", "--name", "rg", "--location", "eastus"],
            ),
        )
        .await;
        ok(
            &first,
            spec(
                "az",
                &[
                    "aks",
                    "create",
                    "-g",
                    "rg",
                    "-n",
                    "c1",
                    "--no-ssh-key",
                    "--no-wait",
                ],
            ),
        )
        .await;
        drop(first);
        // Provisioning finishes while no process runs the world.
        std::thread::sleep(Duration::from_millis(80));
        let second = SimulatedEnvironment::demo_persistent(&root).unwrap();
        let snapshot = second.snapshot();
        assert_eq!(
            snapshot.azure.clusters["rg/c1"].provisioning_state,
            "Succeeded"
        );
        assert_eq!(snapshot.kube_clusters.len(), 1, "its API server is up");
    }

    #[tokio::test]
    async fn a_process_never_overwrites_changes_made_by_another() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("world");
        let first = SimulatedEnvironment::demo_persistent(&root).unwrap();
        first.set_latency(Latency::zero());
        let second = SimulatedEnvironment::demo_persistent(&root).unwrap();
        second.set_latency(Latency::zero());
        ok(
            &first,
            spec(
                "az",
                &["group", "create", "--name", "one", "--location", "eastus"],
            ),
        )
        .await;
        // Reading changes nothing, so it writes nothing and meets no conflict.
        let read = second
            .run(spec("az", &["group", "list", "-o", "json"]))
            .await
            .unwrap();
        assert_eq!(read.exit_code, Some(0), "{}", read.stderr);
        let conflicting = second
            .run(spec(
                "az",
                &["group", "create", "--name", "two", "--location", "eastus"],
            ))
            .await
            .unwrap();
        assert_eq!(conflicting.exit_code, Some(1));
        assert!(
            conflicting.stderr.contains("changed by another process"),
            "{}",
            conflicting.stderr
        );
        let third = SimulatedEnvironment::demo_persistent(&root).unwrap();
        let groups = third.snapshot().azure.resource_groups;
        assert!(
            groups.contains_key("one") && !groups.contains_key("two"),
            "{groups:?}"
        );
    }

    #[test]
    fn an_unreadable_world_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("world");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::write(root.join(WORLD_FILE), "{\"format_version\": 99}").unwrap();
        let err = SimulatedEnvironment::demo_persistent(&root).unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains(WORLD_FILE) && message.contains("format_version"),
            "{message}"
        );
    }
}
