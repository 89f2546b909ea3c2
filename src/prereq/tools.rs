//! Which tools are needed, at which version, and how one tool's probe becomes a table row.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::tools::error::{output_excerpt, run_checked};
use crate::tools::runner::{CommandRunner, CommandSpec};
use crate::tools::{az::Az, gh::Gh, git::Git, helm::Helm, kubectl::Kubectl};
use crate::tools::{ToolError, Version};

use super::env::AzureUse;
use super::report::{ToolCheck, Verdict};

/// What this program needs of a tool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// Required, at least `minimum`; a major above `newest_tested_major` works but warns.
    AtLeast {
        minimum: Version,
        newest_tested_major: Option<u64>,
    },
    /// Reported for the user's information only.
    NotNeeded,
}

/// How to install a tool.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct InstallHint {
    pub macos: &'static str,
    pub linux: &'static str,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ToolRequirement {
    pub name: &'static str,
    pub need: Need,
    pub install: InstallHint,
}

impl ToolRequirement {
    pub fn minimum(&self) -> Option<Version> {
        match self.need {
            Need::AtLeast { minimum, .. } => Some(minimum),
            Need::NotNeeded => None,
        }
    }

    pub fn required(&self) -> bool {
        !matches!(self.need, Need::NotNeeded)
    }
}

/// The flags were not traced to their az releases: the floor stays (see [`super::minimums`]).
pub const AZ: ToolRequirement = ToolRequirement {
    name: "az",
    need: Need::AtLeast {
        minimum: Version::new(2, 50, 0),
        newest_tested_major: None,
    },
    install: InstallHint {
        macos: "brew install azure-cli",
        linux: "curl -sL https://aka.ms/InstallAzureCLIDeb | sudo bash  (Debian/Ubuntu; others: https://learn.microsoft.com/cli/azure/install-azure-cli-linux)",
    },
};

/// Every flag is in kubectl 1.16; 1.25 is a floor kept for version skew (see
/// [`super::minimums`]).
pub const KUBECTL: ToolRequirement = ToolRequirement {
    name: "kubectl",
    need: Need::AtLeast {
        minimum: Version::new(1, 25, 0),
        newest_tested_major: None,
    },
    install: InstallHint {
        macos: "brew install kubectl",
        linux: "sudo az aks install-cli  (or https://kubernetes.io/docs/tasks/tools/install-kubectl-linux/)",
    },
};

/// 2.36 is the first gh with `secret list --json` (cli/cli#8081); every flag with its
/// release is in [`super::minimums`].
pub const GH: ToolRequirement = ToolRequirement {
    name: "gh",
    need: Need::AtLeast {
        minimum: Version::new(2, 36, 0),
        newest_tested_major: None,
    },
    install: InstallHint {
        macos: "brew install gh",
        linux:
            "https://github.com/cli/cli/blob/trunk/docs/install_linux.md  (apt, dnf, zypper, ...)",
    },
};

/// 3.13 is the first helm with `upgrade --labels` (helm/helm#10533) and `get metadata`
/// (helm/helm#11631); every flag with its release is in [`super::minimums`].
pub const HELM: ToolRequirement = ToolRequirement {
    name: "helm",
    need: Need::AtLeast {
        minimum: Version::new(3, 13, 0),
        newest_tested_major: Some(4),
    },
    install: InstallHint {
        macos: "brew install helm",
        linux: "curl -fsSL https://raw.githubusercontent.com/helm/helm/main/scripts/get-helm-3 | bash  (or https://helm.sh/docs/intro/install/)",
    },
};

/// 2.31 is the first git that reads `GIT_CONFIG_COUNT` (Documentation/RelNotes/2.31.0.txt),
/// which carries the credential helper to the push without touching the user's git config.
pub const GIT: ToolRequirement = ToolRequirement {
    name: "git",
    need: Need::AtLeast {
        minimum: Version::new(2, 31, 0),
        newest_tested_major: None,
    },
    install: InstallHint {
        macos: "xcode-select --install  (or brew install git)",
        linux: "sudo apt-get install git  (or sudo dnf install git)",
    },
};

pub const JQ: ToolRequirement = ToolRequirement {
    name: "jq",
    need: Need::NotNeeded,
    install: InstallHint {
        macos: "brew install jq",
        linux: "sudo apt-get install jq  (or sudo dnf install jq)",
    },
};

pub const BASH: ToolRequirement = ToolRequirement {
    name: "bash",
    need: Need::NotNeeded,
    install: InstallHint {
        macos: "brew install bash",
        linux: "sudo apt-get install bash  (or sudo dnf install bash)",
    },
};

/// Every tool in table order.
pub const TOOL_REQUIREMENTS: [ToolRequirement; 7] = [AZ, KUBECTL, GH, HELM, GIT, JQ, BASH];

const NOT_NEEDED: &str = "not needed by kalypso-bootstrap";

/// Why az is not checked in a run that involves no Azure resource.
pub const AZURE_NOT_NEEDED: &str = "not needed: an existing cluster uses nothing in Azure";

/// The az row of a run that involves no Azure resource: not probed, not required, and
/// shown only in the JSON report (like a tool we only report that is not found).
pub fn az_not_needed() -> ToolCheck {
    ToolCheck {
        name: AZ.name,
        required: false,
        found: false,
        version: None,
        minimum: None,
        verdict: Verdict::Info,
        detail: AZURE_NOT_NEEDED.to_string(),
        install: AZ.install,
    }
}

/// Turn one probe's result into a table row.
pub fn evaluate_tool(
    requirement: &ToolRequirement,
    probe: Result<Version, ToolError>,
) -> ToolCheck {
    let found = !matches!(&probe, Err(e) if e.is_not_found());
    let version = probe.as_ref().ok().copied();
    let (verdict, detail) = match (requirement.need, probe) {
        (Need::NotNeeded, Ok(_)) => (Verdict::Info, NOT_NEEDED.to_string()),
        (Need::NotNeeded, Err(e)) if e.is_not_found() => {
            (Verdict::Info, format!("{NOT_NEEDED} (not installed)"))
        }
        (Need::NotNeeded, Err(_)) => (Verdict::Info, format!("{NOT_NEEDED} (version unreadable)")),
        (_, Err(e)) if e.is_not_found() => (Verdict::Fail, "not found on PATH".to_string()),
        (Need::AtLeast { minimum, .. }, Ok(v)) if v < minimum => (
            Verdict::Fail,
            format!("{v} is older than the minimum {minimum}: upgrade it"),
        ),
        (
            Need::AtLeast {
                newest_tested_major: Some(newest),
                ..
            },
            Ok(v),
        ) if v.major > newest => (
            Verdict::Warn,
            format!(
                "major version {} is newer than the newest tested ({newest})",
                v.major
            ),
        ),
        (Need::AtLeast { .. }, Ok(_)) => (Verdict::Pass, "ok".to_string()),
        (Need::AtLeast { .. }, Err(ToolError::UnexpectedOutput { reason, .. })) => (
            Verdict::Fail,
            format!("found, but its version could not be read: {reason}"),
        ),
        (Need::AtLeast { .. }, Err(e)) => (Verdict::Fail, format!("found but not working: {e}")),
    };
    ToolCheck {
        name: requirement.name,
        required: requirement.required(),
        found,
        version,
        minimum: requirement.minimum(),
        verdict,
        detail,
        install: requirement.install,
    }
}

/// Probe every tool the run needs at once; rows in [`TOOL_REQUIREMENTS`] order. Without
/// Azure (`AzureUse::NotNeeded`) az is not run at all: its row is [`az_not_needed`].
pub async fn probe_tools(runner: &Arc<dyn CommandRunner>, azure: AzureUse) -> Vec<ToolCheck> {
    probe_tools_reporting(runner, azure, &|_| {}).await
}

/// [`probe_tools`], telling `on_row` about each row the moment its probe returns (the
/// wizard's checklist fills in live).
pub async fn probe_tools_reporting(
    runner: &Arc<dyn CommandRunner>,
    azure: AzureUse,
    on_row: &(dyn Fn(&ToolCheck) + Sync),
) -> Vec<ToolCheck> {
    let az = Az::new(runner.clone(), None);
    let kubectl = Kubectl::new(runner.clone());
    let gh = Gh::new(runner.clone());
    let helm = Helm::new(runner.clone());
    let git = Git::new(runner.clone());
    let reported = |requirement: &'static ToolRequirement, probed| {
        let row = evaluate_tool(requirement, probed);
        on_row(&row);
        row
    };
    let (az, kubectl, gh, helm, git, jq, bash) = tokio::join!(
        async {
            if azure.needed() {
                reported(&AZ, az.version().await)
            } else {
                let row = az_not_needed();
                on_row(&row);
                row
            }
        },
        async { reported(&KUBECTL, kubectl.version().await) },
        async { reported(&GH, gh.version().await) },
        async { reported(&HELM, helm.version().await) },
        async { reported(&GIT, git.version().await) },
        async { reported(&JQ, informational_version(runner.as_ref(), JQ.name).await) },
        async {
            reported(
                &BASH,
                informational_version(runner.as_ref(), BASH.name).await,
            )
        },
    );
    vec![az, kubectl, gh, helm, git, jq, bash]
}

/// `<program> --version` for tools we only report (`jq-1.7.1`, `GNU bash, version 5.2.15…`).
async fn informational_version(
    runner: &dyn CommandRunner,
    program: &str,
) -> Result<Version, ToolError> {
    let spec = CommandSpec::new(program)
        .arg("--version")
        .timeout(Duration::from_secs(15));
    let command = spec.display();
    let output = run_checked(runner, spec).await?;
    let first = output.stdout.lines().next().unwrap_or("");
    Version::find_in(first).ok_or_else(|| ToolError::UnexpectedOutput {
        command,
        reason: format!("no version in {}", output_excerpt(first)),
    })
}
