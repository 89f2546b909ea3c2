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
        }
    }

    /// Realistic proportions, short enough for a demo run of 20 to 40 seconds.
    pub fn demo() -> Self {
        let ms = Duration::from_millis;
        let mut latency = Self::fixed(ms(250));
        latency.aks_provisioning = Duration::from_secs(12);
        latency.aks_deletion = Duration::from_secs(4);
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

    /// The latency of a command given as program followed by its command words.
    pub fn for_command(&self, words: &[String]) -> Duration {
        self.rules
            .iter()
            .filter(|(prefix, _)| {
                words.len() >= prefix.len() && words[..prefix.len()] == prefix[..]
            })
            .max_by_key(|(prefix, _)| prefix.len())
            .map(|(_, latency)| *latency)
            .unwrap_or(self.default)
    }
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
}
