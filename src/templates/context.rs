//! The values the templates are rendered with. Deliberately independent of the configuration
//! module: the caller maps its effective configuration onto [`TemplateContext`].

use super::structure::MAIN_BRANCH;
use super::TemplateError;

/// A repository on a GitHub host (github.com or an Enterprise Server), by owner and name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RepoRef {
    /// `github.com`, or a GitHub Enterprise Server's host name.
    pub host: String,
    pub owner: String,
    pub name: String,
}

impl RepoRef {
    pub const DEFAULT_HOST: &'static str = "github.com";

    /// A repository on github.com; [`RepoRef::on_host`] moves it to another host.
    pub fn new(owner: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            host: Self::DEFAULT_HOST.to_string(),
            owner: owner.into(),
            name: name.into(),
        }
    }

    /// The same repository on `host`.
    pub fn on_host(mut self, host: impl Into<String>) -> Self {
        self.host = host.into();
        self
    }

    /// Parses `https://HOST/OWNER/NAME` (a trailing `/` or `.git` is accepted).
    /// `field` names the setting the URL came from, for the error message.
    pub fn from_url(field: &'static str, url: &str) -> Result<Self, TemplateError> {
        let invalid = || TemplateError::InvalidValue {
            field,
            value: url.to_string(),
            rule: "must be https://HOST/OWNER/NAME",
        };
        let rest = url.trim().strip_prefix("https://").ok_or_else(invalid)?;
        let (host, rest) = rest.split_once('/').ok_or_else(invalid)?;
        let rest = rest.trim_end_matches('/');
        let rest = rest.strip_suffix(".git").unwrap_or(rest);
        let (owner, name) = rest.split_once('/').ok_or_else(invalid)?;
        let repo = Self::new(owner, name).on_host(host.to_ascii_lowercase());
        repo.validate(field, field).map_err(|_| invalid())?;
        Ok(repo)
    }

    /// `OWNER/NAME`, the form `gh --repo` and the `GITOPS_REPO` secret use.
    pub fn slug(&self) -> String {
        format!("{}/{}", self.owner, self.name)
    }

    /// `https://HOST/OWNER/NAME`, the form Kalypso resources and Flux use.
    pub fn url(&self) -> String {
        format!("https://{}/{}/{}", self.host, self.owner, self.name)
    }

    fn validate(
        &self,
        owner_field: &'static str,
        name_field: &'static str,
    ) -> Result<(), TemplateError> {
        check("GitHub host", &self.host, is_dns_host, DNS_HOST_RULE)?;
        check(owner_field, &self.owner, is_github_owner, GITHUB_OWNER_RULE)?;
        check(
            name_field,
            &self.name,
            is_github_repo_name,
            GITHUB_REPO_RULE,
        )
    }
}

/// Everything the templates need: both repositories, the Kalypso namespace, the
/// environments in promotion order and the cluster type the sample scheduling policy targets.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TemplateContext {
    pub control_plane: RepoRef,
    pub gitops: RepoRef,
    /// Namespace the Kalypso Scheduler is installed into.
    pub namespace: String,
    /// The environments in promotion order (at least one); each names its own branch in both
    /// repositories. The first is where ci.yaml promotes every push to main.
    pub environments: Vec<String>,
    pub cluster_type: String,
}

impl TemplateContext {
    pub const DEFAULT_NAMESPACE: &'static str = "kalypso-system";
    pub const DEFAULT_ENVIRONMENT: &'static str = "dev";
    /// The most environments one context holds (as the configuration allows).
    pub const MAX_ENVIRONMENTS: usize = 8;
    pub const DEFAULT_CLUSTER_TYPE: &'static str = "default";

    /// A context with the default namespace, environment and cluster type.
    pub fn new(control_plane: RepoRef, gitops: RepoRef) -> Self {
        Self {
            control_plane,
            gitops,
            namespace: Self::DEFAULT_NAMESPACE.to_string(),
            environments: vec![Self::DEFAULT_ENVIRONMENT.to_string()],
            cluster_type: Self::DEFAULT_CLUSTER_TYPE.to_string(),
        }
    }

    /// The first environment: where every push to main is promoted first.
    pub fn first_environment(&self) -> &str {
        self.environments
            .first()
            .map(String::as_str)
            .unwrap_or(Self::DEFAULT_ENVIRONMENT)
    }

    /// The environment `environment` promotes to (its `NEXT_ENVIRONMENT`); `None` for the last.
    pub fn next_environment(&self, environment: &str) -> Option<&str> {
        let index = self.environments.iter().position(|e| e == environment)?;
        self.environments.get(index + 1).map(String::as_str)
    }

    /// Checks every value against the rules of the places it is rendered into (GitHub names,
    /// Kubernetes names, git branch names). Rendering calls this first, so a value can never
    /// break the YAML or the shell code around it.
    pub fn validate(&self) -> Result<(), TemplateError> {
        self.control_plane.validate(
            "control-plane repository owner",
            "control-plane repository name",
        )?;
        self.gitops
            .validate("gitops repository owner", "gitops repository name")?;
        if self.control_plane == self.gitops {
            return Err(TemplateError::InvalidValue {
                field: "gitops repository",
                value: self.gitops.slug(),
                rule: "must differ from the control-plane repository",
            });
        }
        check("namespace", &self.namespace, is_dns_label, DNS_LABEL_RULE)?;
        if self.environments.is_empty() || self.environments.len() > Self::MAX_ENVIRONMENTS {
            return Err(TemplateError::InvalidValue {
                field: "environments",
                value: self.environments.join(","),
                rule: "1 to 8 environments",
            });
        }
        for (index, environment) in self.environments.iter().enumerate() {
            check("environment", environment, is_dns_label, DNS_LABEL_RULE)?;
            if environment == MAIN_BRANCH {
                return Err(TemplateError::InvalidValue {
                    field: "environment",
                    value: environment.clone(),
                    rule: "must not be \"main\": the environment names its own branch next to main",
                });
            }
            if self.environments[..index].contains(environment) {
                return Err(TemplateError::InvalidValue {
                    field: "environment",
                    value: environment.clone(),
                    rule: "each environment once: it names its own branch",
                });
            }
        }
        check(
            "cluster type",
            &self.cluster_type,
            is_dns_label,
            DNS_LABEL_RULE,
        )
    }
}

const GITHUB_OWNER_RULE: &str =
    "1 to 39 letters, digits or single hyphens, not starting or ending with a hyphen";
const GITHUB_REPO_RULE: &str = "1 to 100 letters, digits, '.', '-' or '_', and not \".\" or \"..\"";
const DNS_HOST_RULE: &str =
    "a DNS host name: dot-separated labels of letters, digits and '-', no scheme, port or path";
const DNS_LABEL_RULE: &str =
    "1 to 63 lowercase letters, digits or '-', starting and ending with a letter or digit";

fn check(
    field: &'static str,
    value: &str,
    is_valid: fn(&str) -> bool,
    rule: &'static str,
) -> Result<(), TemplateError> {
    if is_valid(value) {
        Ok(())
    } else {
        Err(TemplateError::InvalidValue {
            field,
            value: value.to_string(),
            rule,
        })
    }
}

fn is_github_owner(value: &str) -> bool {
    (1..=39).contains(&value.len())
        && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !value.starts_with('-')
        && !value.ends_with('-')
        && !value.contains("--")
}

fn is_github_repo_name(value: &str) -> bool {
    (1..=100).contains(&value.len())
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        && value != "."
        && value != ".."
}

fn is_dns_host(value: &str) -> bool {
    value.len() <= 253
        && value.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

fn is_dns_label(value: &str) -> bool {
    (1..=63).contains(&value.len())
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !value.starts_with('-')
        && !value.ends_with('-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context() -> TemplateContext {
        TemplateContext::new(RepoRef::new("acme", "cp"), RepoRef::new("acme", "go"))
    }

    fn rejected(context: &TemplateContext) -> (String, String) {
        match context.validate() {
            Err(TemplateError::InvalidValue { field, value, .. }) => (field.to_string(), value),
            other => panic!("expected an invalid value, got {other:?}"),
        }
    }

    #[test]
    fn defaults_are_valid() {
        let context = context();
        assert_eq!(context.namespace, "kalypso-system");
        assert_eq!(context.environments, ["dev"]);
        assert_eq!(context.first_environment(), "dev");
        assert_eq!(context.next_environment("dev"), None);
        assert_eq!(context.cluster_type, "default");
        context.validate().unwrap();
    }

    #[test]
    fn repository_forms() {
        let repo = RepoRef::new("acme", "cp");
        assert_eq!(repo.slug(), "acme/cp");
        assert_eq!(repo.url(), "https://github.com/acme/cp");
    }

    #[test]
    fn urls_parse_with_or_without_git_suffix() {
        for url in [
            "https://github.com/acme/cp",
            "https://github.com/acme/cp/",
            "https://github.com/acme/cp.git",
        ] {
            assert_eq!(
                RepoRef::from_url("control-plane URL", url).unwrap(),
                RepoRef::new("acme", "cp"),
                "{url}"
            );
        }
    }

    #[test]
    fn a_repository_on_an_enterprise_server_keeps_its_host() {
        let repo = RepoRef::from_url("gitops URL", "https://GHE.example.test/acme/go.git").unwrap();
        assert_eq!(repo, RepoRef::new("acme", "go").on_host("ghe.example.test"));
        assert_eq!(repo.url(), "https://ghe.example.test/acme/go");
        let mut c = context();
        c.gitops.host = "ghe.example.test/x".into();
        assert_eq!(rejected(&c).0, "GitHub host");
    }

    #[test]
    fn bad_urls_name_the_field_and_value() {
        for url in [
            "http://github.com/acme/cp",
            "https://github.com/acme",
            "https://ghe.example.test:8443/acme/cp",
            "https://github.com/acme/cp/tree/main",
            "https://github.com/-acme/cp",
        ] {
            let error = RepoRef::from_url("gitops URL", url).unwrap_err();
            let message = error.to_string();
            assert!(message.contains("gitops URL"), "{message}");
            assert!(message.contains(url), "{message}");
            assert!(message.contains("https://HOST/OWNER/NAME"), "{message}");
        }
    }

    #[test]
    fn each_field_is_checked() {
        let mut c = context();
        c.control_plane.owner = "ac me".into();
        assert_eq!(rejected(&c).0, "control-plane repository owner");

        let mut c = context();
        c.gitops.name = "go\"; rm -rf /".into();
        assert_eq!(rejected(&c).0, "gitops repository name");

        let mut c = context();
        c.namespace = "Kalypso".into();
        assert_eq!(rejected(&c), ("namespace".into(), "Kalypso".into()));

        let mut c = context();
        c.environments = vec!["main".into()];
        assert_eq!(rejected(&c), ("environment".into(), "main".into()));

        let mut c = context();
        c.environments = vec!["dev".into(), "dev/x".into()];
        assert_eq!(rejected(&c).0, "environment");

        let mut c = context();
        c.environments = vec!["dev".into(), "stage".into(), "dev".into()];
        assert_eq!(rejected(&c), ("environment".into(), "dev".into()));

        let mut c = context();
        c.environments = Vec::new();
        assert_eq!(rejected(&c).0, "environments");

        let mut c = context();
        c.environments = (0..9).map(|i| format!("e{i}")).collect();
        assert_eq!(rejected(&c).0, "environments");

        let mut c = context();
        c.cluster_type = "-large".into();
        assert_eq!(rejected(&c).0, "cluster type");

        let mut c = context();
        c.gitops = c.control_plane.clone();
        assert_eq!(rejected(&c).0, "gitops repository");
    }

    #[test]
    fn the_promotion_chain_follows_the_order_given() {
        let mut c = context();
        c.environments = vec!["dev".into(), "stage".into(), "prod".into()];
        c.validate().unwrap();
        assert_eq!(c.first_environment(), "dev");
        assert_eq!(c.next_environment("dev"), Some("stage"));
        assert_eq!(c.next_environment("stage"), Some("prod"));
        assert_eq!(c.next_environment("prod"), None);
        assert_eq!(c.next_environment("qa"), None);
    }

    #[test]
    fn github_name_rules() {
        assert!(is_github_owner("a"));
        assert!(is_github_owner("my-org-2"));
        assert!(!is_github_owner("my--org"));
        assert!(!is_github_owner(&"a".repeat(40)));
        assert!(is_github_repo_name("kalypso.control_plane-1"));
        assert!(!is_github_repo_name(".."));
        assert!(!is_github_repo_name("a/b"));
        assert!(!is_github_repo_name(""));
    }
}
