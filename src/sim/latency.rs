//! How long simulated commands take.

use std::time::Duration;

/// A latency profile: a default per command, overrides per command prefix, and how long
/// AKS takes to provision and delete a cluster started with `--no-wait`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Latency {
    default: Duration,
    /// `(program and leading words, latency)`: the longest matching prefix wins.
    rules: Vec<(Vec<String>, Duration)>,
    /// From `az aks create --no-wait` to `provisioningState: Succeeded`.
    pub aks_provisioning: Duration,
    /// From `az aks delete --no-wait` (or `az group delete`) to the cluster being gone.
    pub aks_deletion: Duration,
    /// From the Kalypso Scheduler's GitOpsRepo controller finding a GitOpsRepo ready for a
    /// pull request (its `ReadyToPR` condition) to opening it: `prCreateTimeOut` in
    /// `controllers/gitopsrepo_controller.go` (3 s).
    pub scheduler_pull_request: Duration,
    /// How long a GitHub Actions workflow run takes, from the push or dispatch that starts
    /// it to its end (when its effects happen): [`super::actions`].
    pub actions_run: Duration,
}

impl Latency {
    /// Every command answers at once; clusters are ready (and gone) at the next look.
    pub fn zero() -> Self {
        Self::fixed(Duration::ZERO)
    }

    /// Every command takes `each`; provisioning and deletion are immediate (set them with
    /// [`Latency::with_aks_provisioning`] / [`Latency::with_aks_deletion`]). For benchmarks.
    pub fn fixed(each: Duration) -> Self {
        Self {
            default: each,
            rules: Vec::new(),
            aks_provisioning: Duration::ZERO,
            aks_deletion: Duration::ZERO,
            scheduler_pull_request: Duration::ZERO,
            actions_run: Duration::ZERO,
        }
    }

    /// Realistic proportions, short enough for a demo run of 20 to 40 seconds.
    pub fn demo() -> Self {
        let ms = Duration::from_millis;
        let mut latency = Self::fixed(ms(250));
        latency.aks_provisioning = Duration::from_secs(12);
        latency.aks_deletion = Duration::from_secs(4);
        latency.scheduler_pull_request = Duration::from_secs(3);
        // A real run of these workflows takes 20 s to a minute; a few seconds keep the
        // order of events visible in a demo.
        latency.actions_run = Duration::from_secs(4);
        for (command, millis) in [
            ("az", 600),
            ("az version", 400),
            ("az account show", 500),
            ("az role assignment list", 700),
            ("az group show", 400),
            ("az group create", 900),
            ("az group delete", 700),
            ("az aks get-versions", 800),
            ("az vm list-skus", 1500),
            ("az vm list-usage", 700),
            ("az aks show", 500),
            ("az aks create", 2000),
            ("az aks get-credentials", 900),
            ("az aks delete", 1000),
            ("gh", 300),
            ("gh --version", 50),
            ("gh repo create", 1200),
            ("gh repo delete", 800),
            ("gh secret set", 450),
            ("gh label create", 350),
            ("kubectl", 150),
            ("kubectl version", 200),
            ("kubectl apply", 1200),
            ("kubectl wait", 2500),
            ("kubectl delete", 800),
            ("helm", 300),
            ("helm show", 700),
            ("helm upgrade", 4000),
            ("helm install", 4000),
            ("helm uninstall", 1500),
        ] {
            latency = latency.with_command(command, ms(millis));
        }
        latency
    }

    /// Commands starting with `command` (program and words, space separated, e.g.
    /// `"az aks create"`) take `each`.
    pub fn with_command(mut self, command: &str, each: Duration) -> Self {
        let words: Vec<String> = command.split_whitespace().map(str::to_string).collect();
        self.rules.retain(|(w, _)| *w != words);
        self.rules.push((words, each));
        self
    }

    pub fn with_aks_provisioning(mut self, time: Duration) -> Self {
        self.aks_provisioning = time;
        self
    }

    pub fn with_aks_deletion(mut self, time: Duration) -> Self {
        self.aks_deletion = time;
        self
    }

    pub fn with_scheduler_pull_request(mut self, time: Duration) -> Self {
        self.scheduler_pull_request = time;
        self
    }

    pub fn with_actions_run(mut self, time: Duration) -> Self {
        self.actions_run = time;
        self
    }

    /// The latency of a command given as program followed by its command words.
    pub fn for_command(&self, words: &[String]) -> Duration {
        self.longest_rule(words).unwrap_or(self.default)
    }

    /// The latency added before a program the environment runs for real (`git`): only a
    /// rule naming it applies (e.g. `"git push"`), never the default, since the real
    /// program already takes its own time; the rule stands for the network round trips a
    /// local bare repository does not have. The command word is the first argument that
    /// is not an option (`git -c k=v push …` is `git push`).
    pub fn for_delegated(&self, program: &str, args: &[String]) -> Duration {
        let mut words = vec![program.to_string()];
        let mut rest = args.iter();
        while let Some(arg) = rest.next() {
            match arg.as_str() {
                // git's global options that take the next argument as their value.
                "-c" | "-C" | "--git-dir" | "--work-tree" | "--namespace" => {
                    rest.next();
                }
                option if option.starts_with('-') => {}
                command => {
                    words.push(command.to_string());
                    break;
                }
            }
        }
        self.longest_rule(&words).unwrap_or(Duration::ZERO)
    }

    fn longest_rule(&self, words: &[String]) -> Option<Duration> {
        self.rules
            .iter()
            .filter(|(prefix, _)| {
                words.len() >= prefix.len() && words[..prefix.len()] == prefix[..]
            })
            .max_by_key(|(prefix, _)| prefix.len())
            .map(|(_, latency)| *latency)
    }
}

/// What `KALYPSO_DEMO_LATENCY` may say.
pub const LATENCY_SYNTAX: &str = "zero, demo, or a comma-separated list starting with an optional base (zero or demo, default demo) followed by RULE=DURATION, where RULE is command words (e.g. `az aks create`), `default`, `aks-provisioning`, `aks-deletion`, `scheduler-pull-request` (the Kalypso Scheduler's wait before it opens a pull request) or `actions-run` (how long a GitHub Actions workflow run takes) and DURATION is like 300ms, 2s or 1.5m";

impl Latency {
    /// A profile as `KALYPSO_DEMO_LATENCY` writes it (see [`LATENCY_SYNTAX`]), e.g.
    /// `zero,aks-provisioning=60s,helm upgrade=4s`. The error names the part at fault.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut parts = text
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .peekable();
        let mut latency = match parts.peek().copied() {
            Some("zero") => {
                parts.next();
                Self::zero()
            }
            Some("demo") => {
                parts.next();
                Self::demo()
            }
            _ => Self::demo(),
        };
        for rule in parts {
            let (name, duration) = rule
                .split_once('=')
                .ok_or_else(|| format!("{rule:?} is not RULE=DURATION (only the first part may be a base, zero or demo)"))?;
            let name = name.trim();
            let duration = parse_duration(duration.trim()).ok_or_else(|| {
                format!(
                    "{rule:?}: {:?} is not a duration such as 300ms, 2s or 1.5m",
                    duration.trim()
                )
            })?;
            latency = match name {
                "" => return Err(format!("{rule:?} names no rule")),
                "default" => Self {
                    default: duration,
                    ..latency
                },
                "aks-provisioning" => latency.with_aks_provisioning(duration),
                "aks-deletion" => latency.with_aks_deletion(duration),
                "scheduler-pull-request" => latency.with_scheduler_pull_request(duration),
                "actions-run" => latency.with_actions_run(duration),
                command => latency.with_command(command, duration),
            };
        }
        Ok(latency)
    }
}

/// `300ms`, `2s`, `1.5m`, or `0`.
fn parse_duration(text: &str) -> Option<Duration> {
    if text == "0" {
        return Some(Duration::ZERO);
    }
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let seconds = match unit {
        "ms" => number / 1000.0,
        "s" => number,
        "m" => number * 60.0,
        _ => return None,
    };
    Duration::try_from_secs_f64(seconds).ok()
}

impl Default for Latency {
    fn default() -> Self {
        Self::zero()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn longest_prefix_wins() {
        let latency = Latency::fixed(Duration::from_millis(1))
            .with_command("az", Duration::from_millis(2))
            .with_command("az aks create", Duration::from_millis(3));
        assert_eq!(
            latency.for_command(&words("gh api user")),
            Duration::from_millis(1)
        );
        assert_eq!(
            latency.for_command(&words("az group show")),
            Duration::from_millis(2)
        );
        assert_eq!(
            latency.for_command(&words("az aks create --no-wait")),
            Duration::from_millis(3)
        );
        assert_eq!(Latency::zero().for_command(&words("az")), Duration::ZERO);
        assert!(Latency::demo().aks_provisioning > Duration::ZERO);
    }

    #[test]
    fn a_real_program_waits_only_for_a_rule_naming_it() {
        let latency = Latency::fixed(Duration::from_millis(7))
            .with_command("git push", Duration::from_millis(200));
        let args = |text: &str| words(text);
        assert_eq!(
            latency.for_delegated("git", &args("-c a=b -C /w push --no-verify origin main")),
            Duration::from_millis(200)
        );
        // The default is for the simulated programs only.
        assert_eq!(
            latency.for_delegated("git", &args("init -b main")),
            Duration::ZERO
        );
        assert_eq!(
            latency.for_delegated("git", &args("--version")),
            Duration::ZERO
        );
    }

    #[test]
    fn profiles_parse_from_a_base_and_rules() {
        assert_eq!(Latency::parse("zero").unwrap(), Latency::zero());
        assert_eq!(Latency::parse("demo").unwrap(), Latency::demo());
        let custom =
            Latency::parse("zero, aks-provisioning=1.5m, az aks create=2s, gh=300ms, default=0")
                .unwrap();
        assert_eq!(custom.aks_provisioning, Duration::from_secs(90));
        assert_eq!(
            custom.for_command(&words("az aks create")),
            Duration::from_secs(2)
        );
        assert_eq!(
            custom.for_command(&words("gh repo view")),
            Duration::from_millis(300)
        );
        assert_eq!(custom.for_command(&words("helm version")), Duration::ZERO);
        assert_eq!(
            Latency::parse("zero,actions-run=2s").unwrap().actions_run,
            Duration::from_secs(2)
        );
        // Without a base, the rules change the demo profile.
        let tweaked = Latency::parse("helm upgrade=10s").unwrap();
        assert_eq!(tweaked.aks_provisioning, Latency::demo().aks_provisioning);
        assert_eq!(
            tweaked.for_command(&words("helm upgrade --install")),
            Duration::from_secs(10)
        );
        for (bad, says) in [
            ("fast", "\"fast\" is not RULE=DURATION"),
            ("zero,demo", "\"demo\" is not RULE=DURATION"),
            ("gh=soon", "\"soon\" is not a duration"),
            ("gh=5h", "\"5h\" is not a duration"),
            ("=1s", "names no rule"),
        ] {
            let error = Latency::parse(bad).unwrap_err();
            assert!(error.contains(says), "{bad}: {error}");
        }
    }
}
