//! GitHub repository URLs: only `https://HOST/OWNER/NAME`, HOST being the configured
//! GitHub host (a trailing `.git` or `/` is accepted and dropped). Other forms get a rule
//! and a hint; credentials in a URL are masked before the URL is shown anywhere.

use super::configuration::GitHubRepo;
use super::github_host::GitHubHost;
use super::rules::{self, Violation};

/// Parse and normalise a repository URL on `host` (`repositories.githubHost`).
pub fn parse(url: &str, host: &GitHubHost) -> Result<GitHubRepo, Violation> {
    let form = format!("must be https://{host}/OWNER/NAME");
    let form = form.as_str();
    let base = host.web_url();
    if let Some(path) = ssh_path(url) {
        return Err(Violation::new(
            format!("{form} (SSH URLs are not accepted)"),
            match split_owner_name(path) {
                Some((owner, name)) => format!("use {base}/{owner}/{name}"),
                None => "use the repository's https URL".to_string(),
            },
        ));
    }
    let Some((scheme, rest)) = url.split_once("://") else {
        let bare = url
            .strip_prefix(host.as_str())
            .and_then(|rest| rest.strip_prefix('/'))
            .unwrap_or(url);
        let hint = match split_owner_name(bare) {
            Some((owner, name)) => format!("write the full URL: {base}/{owner}/{name}"),
            None => format!("e.g. {base}/my-org/my-repo"),
        };
        return Err(Violation::new(form, hint));
    };
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    if authority.contains('@') {
        return Err(Violation::new(
            format!("{form} without credentials in it"),
            "remove the user:token@ part; the GitHub token is read from GITHUB_TOKEN, GH_TOKEN or gh",
        ));
    }
    if !scheme.eq_ignore_ascii_case("https") {
        let hint = if scheme.eq_ignore_ascii_case("http") {
            format!("use https://{rest}")
        } else {
            "use the repository's https URL".to_string()
        };
        return Err(Violation::new(format!("{form} (https only)"), hint));
    }
    if !authority.eq_ignore_ascii_case(host.as_str()) {
        return Err(Violation::new(
            format!("{form} (the host is {host}, repositories.githubHost)"),
            other_host_hint(authority, host),
        ));
    }
    if path.contains(['?', '#']) {
        return Err(Violation::new(
            format!("{form} without a query or fragment"),
            "remove everything from ? or #",
        ));
    }
    let path = path.strip_suffix('/').unwrap_or(path);
    let path = path.strip_suffix(".git").unwrap_or(path);
    let segments: Vec<&str> = path.split('/').collect();
    match segments.as_slice() {
        [owner, name] if !owner.is_empty() && !name.is_empty() => {
            rules::github_login(owner)
                .map_err(|v| Violation::new(format!("{form} where OWNER {}", v.rule), v.hint))?;
            rules::repo_name(name)
                .map_err(|v| Violation::new(format!("{form} where NAME {}", v.rule), v.hint))?;
            Ok(GitHubRepo::on_host(
                host.clone(),
                owner.to_string(),
                name.to_string(),
            ))
        }
        [owner, name, ..] if segments.len() > 2 && !owner.is_empty() && !name.is_empty() => {
            Err(Violation::new(
                format!("{form} (no further path segments)"),
                format!("use the repository itself: {base}/{owner}/{name}"),
            ))
        }
        _ => Err(Violation::new(
            format!("{form} (both OWNER and NAME)"),
            format!("e.g. {base}/my-org/my-repo"),
        )),
    }
}

/// A URL on another host: both repositories live on the one configured GitHub host.
fn other_host_hint(authority: &str, host: &GitHubHost) -> String {
    let named = authority.split(':').next().unwrap_or(authority);
    match GitHubHost::parse(named) {
        Ok(other) if other != *host => format!(
            "both repositories must be on {host}; if they are on {other}, pass --github-host {other}"
        ),
        _ => format!("both repositories must be on {host}, without a port"),
    }
}

/// Mask the `user:password@` part of a URL-like value, so it can be shown in messages.
pub fn mask_credentials(value: &str) -> String {
    let Some((scheme, rest)) = value.split_once("://") else {
        return value.to_string();
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((_, host)) => format!("{scheme}://***@{host}{path}"),
        None => value.to_string(),
    }
}

/// The `OWNER/NAME(.git)` part of `git@github.com:OWNER/NAME.git` or
/// `ssh://git@github.com/OWNER/NAME.git`.
fn ssh_path(url: &str) -> Option<&str> {
    if let Some(rest) = url.strip_prefix("ssh://") {
        return Some(rest.split_once('/').map(|(_, p)| p).unwrap_or(""));
    }
    let rest = url.strip_prefix("git@")?;
    Some(rest.split_once(':').map(|(_, p)| p).unwrap_or(""))
}

fn split_owner_name(path: &str) -> Option<(&str, &str)> {
    let path = path.strip_suffix('/').unwrap_or(path);
    let path = path.strip_suffix(".git").unwrap_or(path);
    let (owner, name) = path.split_once('/')?;
    (!owner.is_empty() && !name.is_empty() && !name.contains('/')).then_some((owner, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FORM: &str = "must be https://github.com/OWNER/NAME";

    /// On github.com, the default host.
    fn parse(url: &str) -> Result<GitHubRepo, Violation> {
        super::parse(url, &GitHubHost::default())
    }

    #[test]
    fn accepted_forms_normalise_and_expose_owner_and_name() {
        for url in [
            "https://github.com/acme/control-plane",
            "https://github.com/acme/control-plane/",
            "https://github.com/acme/control-plane.git",
            "https://github.com/acme/control-plane.git/",
            "HTTPS://GitHub.com/acme/control-plane",
        ] {
            let repo = parse(url).unwrap_or_else(|v| panic!("{url}: {v:?}"));
            assert_eq!(repo.owner(), "acme", "{url}");
            assert_eq!(repo.name(), "control-plane", "{url}");
            assert_eq!(repo.url(), "https://github.com/acme/control-plane", "{url}");
        }
        let dotted = parse("https://github.com/my-org/repo.name_1").unwrap();
        assert_eq!(dotted.name(), "repo.name_1");
    }

    #[test]
    fn rejected_forms_and_their_hints() {
        let cases = [
            (
                "git@github.com:acme/cp.git",
                "SSH",
                "use https://github.com/acme/cp",
            ),
            (
                "ssh://git@github.com/acme/cp.git",
                "SSH",
                "use https://github.com/acme/cp",
            ),
            (
                "http://github.com/acme/cp",
                "https only",
                "use https://github.com/acme/cp",
            ),
            ("ftp://github.com/acme/cp", "https only", "https URL"),
            (
                "https://gitlab.com/acme/cp",
                "the host is github.com",
                "pass --github-host gitlab.com",
            ),
            (
                "https://github.example.com/acme/cp",
                "the host is github.com",
                "pass --github-host github.example.com",
            ),
            (
                "https://github.com:443/acme/cp",
                "the host is github.com",
                "without a port",
            ),
            (
                "https://github.com/acme/cp/tree/main",
                "no further path",
                "https://github.com/acme/cp",
            ),
            ("https://github.com/acme", "both OWNER and NAME", "e.g."),
            ("https://github.com/", "both OWNER and NAME", "e.g."),
            ("https://github.com//cp", "both OWNER and NAME", "e.g."),
            (
                "https://github.com/acme/.git",
                "both OWNER and NAME",
                "e.g.",
            ),
            ("https://github.com/acme/cp?tab=readme", "query", "remove"),
            ("acme/cp", FORM, "https://github.com/acme/cp"),
            ("github.com/acme/cp", FORM, "https://github.com/acme/cp"),
            ("https://github.com/-acme/cp", "OWNER", ""),
            ("https://github.com/acme/c%20p", "NAME", ""),
            ("https://github.com/acme/..", "NAME", ""),
            ("https://github.com/acmé/cp", "OWNER", ""),
        ];
        for (url, rule_part, hint_part) in cases {
            let violation = parse(url).expect_err(url);
            assert!(violation.rule.contains(rule_part), "{url}: {violation:?}");
            assert!(violation.hint.contains(hint_part), "{url}: {violation:?}");
        }
    }

    /// On a GitHub Enterprise Server, its host is the only one accepted, github.com
    /// included, and every hint names it.
    #[test]
    fn on_an_enterprise_server_only_its_host_is_accepted() {
        let ghes = GitHubHost::parse("ghe.example.test").unwrap();
        for url in [
            "https://ghe.example.test/acme/cp",
            "https://GHE.example.test/acme/cp.git/",
        ] {
            let repo = super::parse(url, &ghes).unwrap_or_else(|v| panic!("{url}: {v:?}"));
            assert_eq!(repo.url(), "https://ghe.example.test/acme/cp");
            assert_eq!(repo.host(), &ghes);
        }
        for (url, rule_part, hint_part) in [
            (
                "https://github.com/acme/cp",
                "must be https://ghe.example.test/OWNER/NAME (the host is ghe.example.test",
                "pass --github-host github.com",
            ),
            (
                "git@ghe.example.test:acme/cp.git",
                "SSH",
                "use https://ghe.example.test/acme/cp",
            ),
            (
                "ghe.example.test/acme/cp",
                "must be https://ghe.example.test/OWNER/NAME",
                "write the full URL: https://ghe.example.test/acme/cp",
            ),
            (
                "https://ghe.example.test/acme/cp/pulls",
                "no further path",
                "https://ghe.example.test/acme/cp",
            ),
        ] {
            let violation = super::parse(url, &ghes).expect_err(url);
            assert!(violation.rule.contains(rule_part), "{url}: {violation:?}");
            assert!(violation.hint.contains(hint_part), "{url}: {violation:?}");
        }
    }

    #[test]
    fn credentials_are_refused_and_never_echoed() {
        let url = "https://x-access-token:ghp_SECRET123456@github.com/acme/cp";
        let violation = parse(url).unwrap_err();
        assert!(violation.rule.contains("credentials"));
        assert!(!violation.rule.contains("ghp_SECRET") && !violation.hint.contains("ghp_SECRET"));
        assert_eq!(mask_credentials(url), "https://***@github.com/acme/cp");
        assert_eq!(
            mask_credentials("https://github.com/acme/cp"),
            "https://github.com/acme/cp"
        );
        assert_eq!(mask_credentials("not a url"), "not a url");
    }

    #[test]
    fn very_long_and_odd_input_is_rejected_cleanly() {
        let long = format!("https://github.com/acme/{}", "a".repeat(10_000));
        assert!(parse(&long).unwrap_err().rule.contains("NAME"));
        for odd in [
            "",
            "://",
            "https://",
            "git@",
            "ssh://",
            "🦀",
            "https://github.com/🦀/🦀",
        ] {
            assert!(parse(odd).is_err(), "{odd:?}");
        }
    }
}
