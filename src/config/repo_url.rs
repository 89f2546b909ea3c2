//! GitHub repository URLs: only `https://github.com/OWNER/NAME` (a trailing `.git` or `/`
//! is accepted and dropped). Other forms get a rule and a hint; credentials in a URL are
//! masked before the URL is shown anywhere.

use super::configuration::GitHubRepo;
use super::rules::{self, Violation};

const FORM: &str = "must be https://github.com/OWNER/NAME";

/// Parse and normalise a repository URL.
pub fn parse(url: &str) -> Result<GitHubRepo, Violation> {
    if let Some(path) = ssh_path(url) {
        return Err(Violation::new(
            format!("{FORM} (SSH URLs are not accepted)"),
            match split_owner_name(path) {
                Some((owner, name)) => format!("use https://github.com/{owner}/{name}"),
                None => "use the repository's https URL".to_string(),
            },
        ));
    }
    let Some((scheme, rest)) = url.split_once("://") else {
        let hint = match split_owner_name(url.strip_prefix("github.com/").unwrap_or(url)) {
            Some((owner, name)) => format!("write the full URL: https://github.com/{owner}/{name}"),
            None => "e.g. https://github.com/my-org/my-repo".to_string(),
        };
        return Err(Violation::new(FORM, hint));
    };
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    if authority.contains('@') {
        return Err(Violation::new(
            format!("{FORM} without credentials in it"),
            "remove the user:token@ part; the GitHub token is read from GITHUB_TOKEN, GH_TOKEN or gh",
        ));
    }
    if !scheme.eq_ignore_ascii_case("https") {
        let hint = if scheme.eq_ignore_ascii_case("http") {
            format!("use https://{rest}")
        } else {
            "use the repository's https URL".to_string()
        };
        return Err(Violation::new(format!("{FORM} (https only)"), hint));
    }
    if !authority.eq_ignore_ascii_case("github.com") {
        return Err(Violation::new(
            format!("{FORM} (only github.com is supported)"),
            "repositories on other hosts, GitHub Enterprise included, are not supported",
        ));
    }
    if path.contains(['?', '#']) {
        return Err(Violation::new(
            format!("{FORM} without a query or fragment"),
            "remove everything from ? or #",
        ));
    }
    let path = path.strip_suffix('/').unwrap_or(path);
    let path = path.strip_suffix(".git").unwrap_or(path);
    let segments: Vec<&str> = path.split('/').collect();
    match segments.as_slice() {
        [owner, name] if !owner.is_empty() && !name.is_empty() => {
            rules::github_login(owner)
                .map_err(|v| Violation::new(format!("{FORM} where OWNER {}", v.rule), v.hint))?;
            rules::repo_name(name)
                .map_err(|v| Violation::new(format!("{FORM} where NAME {}", v.rule), v.hint))?;
            Ok(GitHubRepo::new(owner.to_string(), name.to_string()))
        }
        [owner, name, ..] if segments.len() > 2 && !owner.is_empty() && !name.is_empty() => {
            Err(Violation::new(
                format!("{FORM} (no further path segments)"),
                format!("use the repository itself: https://github.com/{owner}/{name}"),
            ))
        }
        _ => Err(Violation::new(
            format!("{FORM} (both OWNER and NAME)"),
            "e.g. https://github.com/my-org/my-repo",
        )),
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
                "only github.com",
                "other hosts",
            ),
            (
                "https://github.example.com/acme/cp",
                "only github.com",
                "other hosts",
            ),
            (
                "https://github.com:443/acme/cp",
                "only github.com",
                "other hosts",
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
