//! The GitHub host the repositories live on: github.com, or a GitHub Enterprise Server
//! instance (`--github-host`, else `GH_HOST` as gh reads it, else github.com).

use std::fmt;

use super::rules::Violation;

/// The host when neither `--github-host` (or its variable or key) nor `GH_HOST` names one.
pub const DEFAULT_HOST: &str = "github.com";

/// The variable gh reads its default host from; ours defaults to it, below the file.
pub const GH_HOST_VAR: &str = "GH_HOST";

/// The longest DNS name (RFC 1035).
const MAX_HOST_LEN: usize = 253;
const MAX_LABEL_LEN: usize = 63;

/// A validated, lower-case DNS host name (no scheme, port, path or credentials).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GitHubHost(String);

impl Default for GitHubHost {
    fn default() -> Self {
        GitHubHost(DEFAULT_HOST.to_string())
    }
}

impl GitHubHost {
    /// Check `text` against [`host_name`] and keep it lower-cased (host names ignore case).
    pub fn parse(text: &str) -> Result<GitHubHost, Violation> {
        host_name(text)?;
        Ok(GitHubHost(text.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// github.com itself (not an Enterprise Server).
    pub fn is_github_com(&self) -> bool {
        self.0 == DEFAULT_HOST
    }

    /// `https://HOST`, the web address of the instance.
    pub fn web_url(&self) -> String {
        format!("https://{}", self.0)
    }

    /// `https://HOST/OWNER/NAME`.
    pub fn repo_url(&self, owner: &str, name: &str) -> String {
        format!("https://{}/{owner}/{name}", self.0)
    }

    /// How a gh command the user copies names `OWNER/NAME` on this host (`--repo`):
    /// `OWNER/NAME` on github.com, `HOST/OWNER/NAME` elsewhere (gh's `[HOST/]OWNER/REPO`).
    pub fn gh_repo_arg(&self, slug: &str) -> String {
        if self.is_github_com() {
            slug.to_string()
        } else {
            format!("{}/{slug}", self.0)
        }
    }

    /// The variable gh takes a token for this host from: `GH_TOKEN` for github.com and
    /// GitHub Enterprise Cloud (`*.ghe.com`), `GH_ENTERPRISE_TOKEN` for an Enterprise
    /// Server (`gh help environment`); gh ignores the other one for this host.
    pub fn gh_token_var(&self) -> &'static str {
        if self.is_github_com() || self.0.ends_with(".ghe.com") {
            "GH_TOKEN"
        } else {
            "GH_ENTERPRISE_TOKEN"
        }
    }
}

impl fmt::Display for GitHubHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A DNS host name: dot-separated labels of letters, digits and hyphens, each 1 to 63
/// characters and not starting or ending with a hyphen, 253 characters at most. No
/// scheme, port, path or `user@`: gh, git's credential configuration and the URLs we
/// build all take the bare name (an instance on a non-standard port is not supported).
pub fn host_name(text: &str) -> Result<(), Violation> {
    const RULE: &str = "must be a DNS host name such as github.example.com (letters, digits, hyphens and dots; no scheme, port or path)";
    let bare = bare_host(text);
    let hint = if bare != text && !bare.is_empty() && host_name(bare).is_ok() {
        format!("give the host alone: {bare}")
    } else {
        format!("e.g. github.example.com, or {DEFAULT_HOST}")
    };
    let labels_ok = !text.is_empty()
        && text.len() <= MAX_HOST_LEN
        && text.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= MAX_LABEL_LEN
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
    if labels_ok {
        Ok(())
    } else {
        Err(Violation::new(RULE, hint))
    }
}

/// `text` without a scheme, credentials, path and port: what the user probably meant.
fn bare_host(text: &str) -> &str {
    let rest = text.split_once("://").map_or(text, |(_, rest)| rest);
    let authority = rest.split('/').next().unwrap_or("");
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    host.split(':').next().unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_are_accepted_and_lower_cased() {
        for (text, kept) in [
            ("github.com", "github.com"),
            ("GHE.Example.TEST", "ghe.example.test"),
            ("ghe", "ghe"),
            ("git-hub.corp-1.example", "git-hub.corp-1.example"),
        ] {
            assert_eq!(GitHubHost::parse(text).unwrap().as_str(), kept, "{text}");
        }
        assert_eq!(GitHubHost::default().as_str(), "github.com");
    }

    #[test]
    fn anything_but_a_bare_host_name_is_refused_with_the_host_to_use() {
        for (text, hint) in [
            (
                "https://ghe.example.test",
                "give the host alone: ghe.example.test",
            ),
            (
                "https://ghe.example.test/",
                "give the host alone: ghe.example.test",
            ),
            (
                "ghe.example.test:8443",
                "give the host alone: ghe.example.test",
            ),
            (
                "user:tok@ghe.example.test",
                "give the host alone: ghe.example.test",
            ),
            (
                "ghe.example.test/org",
                "give the host alone: ghe.example.test",
            ),
            ("", "e.g. github.example.com"),
            ("-ghe.example", "e.g."),
            ("ghe..example", "e.g."),
            ("ghe.example.", "e.g."),
            ("ghé.example", "e.g."),
            ("ghe example", "e.g."),
        ] {
            let violation = GitHubHost::parse(text).unwrap_err();
            assert!(violation.rule.contains("DNS host name"), "{text}");
            assert!(violation.hint.contains(hint), "{text}: {}", violation.hint);
        }
        assert!(host_name(&"a".repeat(64)).is_err());
        assert!(host_name(&["a".repeat(63), "b".repeat(63)].join(".")).is_ok());
        assert!(
            host_name(&vec!["a".repeat(63); 4].join(".")).is_err(),
            "255 characters"
        );
    }

    #[test]
    fn the_token_variable_follows_gh_s_host_rules() {
        let host = |h: &str| GitHubHost::parse(h).unwrap();
        assert_eq!(host("github.com").gh_token_var(), "GH_TOKEN");
        assert_eq!(host("acme.ghe.com").gh_token_var(), "GH_TOKEN");
        assert_eq!(
            host("ghe.example.test").gh_token_var(),
            "GH_ENTERPRISE_TOKEN"
        );
        assert_eq!(
            host("ghe.example.test").repo_url("acme", "cp"),
            "https://ghe.example.test/acme/cp"
        );
    }
}
