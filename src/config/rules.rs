//! The data-model rules, one function per kind of value. Each returns the rule it checks
//! and a hint when the value breaks it. All of them take any text (empty, very long,
//! non-ASCII) without panicking.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;

use super::configuration::{Environments, FluxManifest, HelmChart, NetworkPlugin, Visibility};
use super::regions;

/// A broken rule: what the rule is, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub rule: String,
    pub hint: String,
}

impl Violation {
    pub fn new(rule: impl Into<String>, hint: impl Into<String>) -> Violation {
        Violation {
            rule: rule.into(),
            hint: hint.into(),
        }
    }
}

fn regex(pattern: &str) -> Regex {
    Regex::new(pattern).expect("static regex")
}

pub const CLUSTER_NAME_PATTERN: &str = "^[a-z0-9-]{1,63}$";
pub const RESOURCE_GROUP_PATTERN: &str = "^[a-zA-Z0-9-_()]{1,90}$";
pub const REPO_NAME_PATTERN: &str = "^[a-zA-Z0-9._-]{1,100}$";
pub const NAMESPACE_PATTERN: &str = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";
pub const MIN_NODES: u32 = 1;
pub const MAX_NODES: u32 = 100;
/// Values files are small; refuse to read anything bigger.
pub const MAX_VALUES_FILE_BYTES: u64 = 10 * 1024 * 1024;

/// `^[a-z0-9-]{1,63}$`, starting and ending with a letter or digit.
pub fn cluster_name(name: &str) -> Result<(), Violation> {
    static PATTERN: LazyLock<Regex> = LazyLock::new(|| regex(CLUSTER_NAME_PATTERN));
    let ends_ok = name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    if PATTERN.is_match(name) && ends_ok {
        return Ok(());
    }
    let suggestion = suggest_dns_label(name, 63);
    Err(Violation::new(
        format!(
            "must match {CLUSTER_NAME_PATTERN} and start and end with a lowercase letter or digit"
        ),
        if suggestion.is_empty() {
            "use lowercase letters, digits and hyphens, e.g. \"kalypso-demo\"".to_string()
        } else {
            format!("use lowercase letters, digits and hyphens, e.g. {suggestion:?}")
        },
    ))
}

/// A lowercase, hyphenated, trimmed version of `text` (possibly empty), for hints.
fn suggest_dns_label(text: &str, max: usize) -> String {
    let mut label = String::new();
    for c in text.chars().flat_map(char::to_lowercase) {
        let c = if c.is_ascii_lowercase() || c.is_ascii_digit() {
            c
        } else {
            '-'
        };
        if !(c == '-' && label.ends_with('-')) {
            label.push(c);
        }
    }
    let label: String = label.trim_matches('-').chars().take(max).collect();
    label.trim_end_matches('-').to_string()
}

/// `^[a-zA-Z0-9-_()]{1,90}$`.
pub fn resource_group(name: &str) -> Result<(), Violation> {
    static PATTERN: LazyLock<Regex> = LazyLock::new(|| regex(RESOURCE_GROUP_PATTERN));
    if PATTERN.is_match(name) {
        return Ok(());
    }
    Err(Violation::new(
        format!("must match {RESOURCE_GROUP_PATTERN}"),
        "letters, digits, '-', '_', '(' and ')', at most 90 characters",
    ))
}

/// One of the public Azure regions, by programmatic name.
pub fn region(region: &str) -> Result<(), Violation> {
    if regions::is_known(region) {
        return Ok(());
    }
    let folded: String = region
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect();
    let hint = if regions::is_known(&folded) {
        format!("use the region's name {folded:?}, not its display name")
    } else if let Some(close) = closest(&folded, regions::AZURE_REGIONS) {
        format!("did you mean {close:?}? (`az account list-locations -o table` lists them)")
    } else {
        "e.g. \"eastus\", \"westeurope\"; `az account list-locations -o table` lists them"
            .to_string()
    };
    Err(Violation::new("must be a known Azure region", hint))
}

fn closest<'a>(text: &str, candidates: &[&'a str]) -> Option<&'a str> {
    if text.chars().count() > 40 {
        return None;
    }
    candidates
        .iter()
        .map(|c| (edit_distance(text, c), *c))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance, for "did you mean" hints.
pub(super) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous[j] + usize::from(ca != *cb);
            current.push(substitute.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

/// 1 to 100 nodes.
pub fn node_count(count: u32) -> Result<(), Violation> {
    if (MIN_NODES..=MAX_NODES).contains(&count) {
        return Ok(());
    }
    Err(Violation::new(
        format!("must be between {MIN_NODES} and {MAX_NODES}"),
        "3 nodes suit a first installation",
    ))
}

/// Looks like an Azure VM SKU: `Standard_DS2_v2`, `Standard_D4s_v5`, `Basic_A1`,
/// `Standard_E64-16ds_v4` (constrained vCPU).
pub fn vm_size(size: &str) -> Result<(), Violation> {
    static PATTERN: LazyLock<Regex> =
        LazyLock::new(|| regex(r"^(?i:standard|basic)_[A-Za-z][A-Za-z0-9-]*(_[A-Za-z0-9]+)*$"));
    if size.len() <= 64 && PATTERN.is_match(size) {
        return Ok(());
    }
    Err(Violation::new(
        "must be an Azure VM size such as Standard_DS2_v2 (Standard_ or Basic_ followed by the series and size)",
        "`az vm list-sizes --location REGION -o table` lists the sizes of a region",
    ))
}

/// `MAJOR.MINOR` or `MAJOR.MINOR.PATCH`, as `az aks create --kubernetes-version` takes.
pub fn kubernetes_version(version: &str) -> Result<(), Violation> {
    static PATTERN: LazyLock<Regex> =
        LazyLock::new(|| regex(r"^[0-9]{1,3}\.[0-9]{1,3}(\.[0-9]{1,3})?$"));
    if PATTERN.is_match(version) {
        return Ok(());
    }
    Err(Violation::new(
        "must be a Kubernetes version such as 1.30 or 1.30.4",
        "omit it to use the AKS default; `az aks get-versions --location REGION -o table` lists them",
    ))
}

pub fn network_plugin(text: &str) -> Result<NetworkPlugin, Violation> {
    NetworkPlugin::parse(text).ok_or_else(|| {
        Violation::new(
            "must be azure or kubenet",
            if NetworkPlugin::parse(&text.to_ascii_lowercase()).is_some() {
                "write it in lowercase"
            } else {
                "azure (Azure CNI) is the default"
            },
        )
    })
}

pub fn visibility(text: &str) -> Result<Visibility, Violation> {
    Visibility::parse(text).ok_or_else(|| {
        Violation::new(
            "must be private or public",
            if Visibility::parse(&text.to_ascii_lowercase()).is_some() {
                "write it in lowercase"
            } else {
                "private is the default"
            },
        )
    })
}

/// A GitHub user or organisation login: 1 to 39 letters, digits or single hyphens, not
/// starting or ending with a hyphen.
pub fn github_login(login: &str) -> Result<(), Violation> {
    let valid = !login.is_empty()
        && login.len() <= 39
        && login.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !login.starts_with('-')
        && !login.ends_with('-')
        && !login.contains("--");
    if valid {
        return Ok(());
    }
    Err(Violation::new(
        "must be a GitHub login: 1 to 39 letters, digits or single hyphens, not starting or ending with a hyphen",
        "the organisation's name as it appears in https://github.com/ORG",
    ))
}

/// `^[a-zA-Z0-9._-]{1,100}$`, not `.` or `..`, and not ending in `.git`.
pub fn repo_name(name: &str) -> Result<(), Violation> {
    static PATTERN: LazyLock<Regex> = LazyLock::new(|| regex(REPO_NAME_PATTERN));
    if !PATTERN.is_match(name) || name == "." || name == ".." {
        return Err(Violation::new(
            format!("must match {REPO_NAME_PATTERN} (and not be . or ..)"),
            "letters, digits, '.', '_' and '-', at most 100 characters",
        ));
    }
    // git appends `.git` to a repository's path itself: a name that already ends in it
    // is pushed to `NAME.git.git`, and GitHub does not keep it as typed.
    if name.len() > ".git".len() && name.to_ascii_lowercase().ends_with(".git") {
        let stem = &name[..name.len() - ".git".len()];
        return Err(Violation::new(
            "must not end in .git (that suffix belongs to the clone URL, not to the name)",
            format!("use {stem:?}"),
        ));
    }
    if name.eq_ignore_ascii_case(".git") {
        return Err(Violation::new(
            "must not be .git",
            "letters, digits, '.', '_' and '-', at most 100 characters",
        ));
    }
    Ok(())
}

/// A DNS-1123 label: at most 63 characters of `^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`.
pub fn namespace(name: &str) -> Result<(), Violation> {
    static PATTERN: LazyLock<Regex> = LazyLock::new(|| regex(NAMESPACE_PATTERN));
    if name.len() <= 63 && PATTERN.is_match(name) {
        return Ok(());
    }
    let suggestion = suggest_dns_label(name, 63);
    Err(Violation::new(
        format!("must be a DNS-1123 label: at most 63 characters matching {NAMESPACE_PATTERN}"),
        if suggestion.is_empty() {
            "e.g. \"kalypso-system\"".to_string()
        } else {
            format!("e.g. {suggestion:?}")
        },
    ))
}

/// A cluster type: a DNS-1123 label (it names a folder of the gitops repository and
/// Kalypso `ClusterType` objects).
pub fn cluster_type(name: &str) -> Result<(), Violation> {
    static PATTERN: LazyLock<Regex> = LazyLock::new(|| regex(NAMESPACE_PATTERN));
    if name.len() <= 63 && PATTERN.is_match(name) {
        return Ok(());
    }
    let suggestion = suggest_dns_label(name, 63);
    Err(Violation::new(
        format!(
            "the cluster type {name:?} must be a DNS-1123 label: at most 63 characters matching {NAMESPACE_PATTERN}"
        ),
        if suggestion.is_empty() {
            "e.g. CONTEXT=default".to_string()
        } else {
            format!("e.g. CONTEXT={suggestion}")
        },
    ))
}

/// The environments, comma-separated: each a DNS-1123 label (it names a git branch, a
/// Kubernetes namespace and Kalypso objects), not `main` (the shared branch), no name twice,
/// 1 to [`Environments::MAX`] of them.
pub fn environments(text: &str) -> Result<Environments, Violation> {
    static PATTERN: LazyLock<Regex> = LazyLock::new(|| regex(NAMESPACE_PATTERN));
    let names = super::model::split_environments(text);
    if names.len() > Environments::MAX {
        return Err(Violation::new(
            format!(
                "at most {} environments ({} given)",
                Environments::MAX,
                names.len()
            ),
            "bootstrap the first environments now and add the others later (the control plane's README says how)",
        ));
    }
    for name in &names {
        if name.is_empty() {
            return Err(Violation::new(
                "a comma-separated list of environment names, none empty",
                "e.g. \"dev,stage,prod\"",
            ));
        }
        if name.len() > 63 || !PATTERN.is_match(name) {
            let suggestion = suggest_dns_label(name, 63);
            return Err(Violation::new(
                format!(
                    "each environment names a git branch and a Kubernetes namespace: {name:?} is not a DNS-1123 label (at most 63 characters matching {NAMESPACE_PATTERN})"
                ),
                if suggestion.is_empty() {
                    "e.g. \"dev,stage,prod\"".to_string()
                } else {
                    format!("e.g. {suggestion:?}")
                },
            ));
        }
        if *name == "main" {
            return Err(Violation::new(
                "no environment may be called \"main\": main is the branch every environment shares",
                "choose another name, e.g. \"prod\"",
            ));
        }
    }
    for (index, name) in names.iter().enumerate() {
        if names[..index].contains(name) {
            return Err(Violation::new(
                format!("each environment once: {name:?} is given twice"),
                "list each environment once, in promotion order",
            ));
        }
    }
    Ok(Environments::new(
        names.into_iter().map(str::to_string).collect(),
    ))
}

/// A chart name in the Kalypso Helm repository, or (anything path-like: containing a `/`,
/// starting with `.` or `~`, or ending in `.tgz`) a local chart directory with a
/// `Chart.yaml` or a packaged `.tgz`. The decision is by form, not by what happens to
/// exist in the current directory, so the same text always means the same chart.
pub fn helm_chart(text: &str) -> Result<HelmChart, Violation> {
    static NAME: LazyLock<Regex> = LazyLock::new(|| regex(NAMESPACE_PATTERN));
    let path_like = text.contains('/')
        || text.contains('\\')
        || text.starts_with('.')
        || text.starts_with('~')
        || text.ends_with(".tgz");
    if !path_like {
        if text.len() <= 63 && NAME.is_match(text) {
            return Ok(HelmChart::published(text));
        }
        return Err(Violation::new(
            "must be a chart name (lowercase letters, digits and hyphens) or a local chart path",
            format!(
                "the default is {:?} from {}",
                super::defaults::HELM_CHART,
                super::defaults::HELM_REPO_URL
            ),
        ));
    }
    let path = Path::new(text);
    let tilde_hint = if text.starts_with('~') {
        "; ~ is not expanded, write the full path"
    } else {
        ""
    };
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => {
            if path.join("Chart.yaml").is_file() {
                Ok(HelmChart::Local(path.to_path_buf()))
            } else {
                Err(Violation::new(
                    "must be a chart directory containing Chart.yaml",
                    "point it at the chart's top directory",
                ))
            }
        }
        Ok(meta) if meta.is_file() && text.ends_with(".tgz") => {
            Ok(HelmChart::Local(path.to_path_buf()))
        }
        Ok(_) => Err(Violation::new(
            "must be a chart directory or a packaged chart (.tgz)",
            "point it at the chart's top directory",
        )),
        Err(_) => Err(Violation::new(
            "must be an existing local chart (directory or .tgz)",
            format!(
                "check the path{tilde_hint}; or use the published chart {:?}",
                super::defaults::HELM_CHART
            ),
        )),
    }
}

/// A chart version: `1.1.2-alpha`, `v1.2.3`, `1.2.3+build`.
pub fn helm_version(version: &str) -> Result<(), Violation> {
    static PATTERN: LazyLock<Regex> =
        LazyLock::new(|| regex(r"^v?[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$"));
    if version.len() <= 64 && PATTERN.is_match(version) {
        return Ok(());
    }
    Err(Violation::new(
        "must be a chart version such as 1.1.2-alpha (MAJOR.MINOR.PATCH[-PRERELEASE])",
        format!("the pinned default is {}", super::defaults::HELM_VERSION),
    ))
}

/// The longest Flux manifest URL accepted (a mirror's address, not a document).
const MAX_MANIFEST_URL_LEN: usize = 2048;

/// A Flux install manifest: an `https://` URL (kubectl downloads it), or an existing
/// regular file. A symlink is read through (only read, never changed); a directory, a
/// device or a FIFO is refused, since `kubectl apply -f` would read a directory whole or
/// block on a FIFO.
pub fn flux_manifest(text: &str) -> Result<FluxManifest, Violation> {
    const RULE: &str =
        "must be an https:// URL or an existing regular file (a Flux install manifest)";
    if text.trim().is_empty() {
        return Err(Violation::new(
            RULE,
            "give the URL of a mirror or the path of a downloaded install.yaml",
        ));
    }
    if let Some((scheme, _)) = text.split_once("://") {
        if !scheme.eq_ignore_ascii_case("https") {
            return Err(Violation::new(
                RULE,
                format!("{scheme}:// is not accepted: use https://"),
            ));
        }
        let rest = &text[scheme.len() + 3..];
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        if authority.contains('@') {
            return Err(Violation::new(
                RULE,
                "a URL must not carry credentials (they would show in kubectl's argv)",
            ));
        }
        if authority.is_empty() || authority.starts_with(':') {
            return Err(Violation::new(RULE, "the URL names no host"));
        }
        if text.len() > MAX_MANIFEST_URL_LEN
            || text.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(Violation::new(
                RULE,
                "not a plain URL (whitespace, control characters or too long)",
            ));
        }
        return Ok(FluxManifest::Url(text.to_string()));
    }
    let path = Path::new(text);
    let meta = std::fs::metadata(path).map_err(|e| {
        Violation::new(
            RULE,
            if e.kind() == std::io::ErrorKind::NotFound {
                "no such file; check the path (relative paths start at the current directory)"
                    .to_string()
            } else {
                format!("it cannot be read: {e}")
            },
        )
    })?;
    if !meta.is_file() {
        return Err(Violation::new(RULE, "it is a directory or special file"));
    }
    Ok(FluxManifest::File(path.to_path_buf()))
}

/// An existing file that parses as a YAML mapping (or is empty, which Helm accepts).
pub fn helm_values(text: &str) -> Result<PathBuf, Violation> {
    let path = Path::new(text);
    let meta = std::fs::metadata(path).map_err(|e| {
        Violation::new(
            "must be an existing file",
            if e.kind() == std::io::ErrorKind::NotFound {
                "no such file; check the path (relative paths start at the current directory)"
                    .to_string()
            } else {
                format!("it cannot be read: {e}")
            },
        )
    })?;
    if !meta.is_file() {
        return Err(Violation::new(
            "must be a file",
            "it is a directory or special file",
        ));
    }
    if meta.len() > MAX_VALUES_FILE_BYTES {
        return Err(Violation::new(
            format!("must be at most {MAX_VALUES_FILE_BYTES} bytes"),
            "is this really a Helm values file?",
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| {
        Violation::new("must be a readable file", format!("reading it failed: {e}"))
    })?;
    let text = String::from_utf8(bytes)
        .map_err(|_| Violation::new("must be YAML text", "the file is not UTF-8 text"))?;
    match serde_yaml::from_str::<serde_yaml::Value>(&text) {
        Ok(serde_yaml::Value::Mapping(_) | serde_yaml::Value::Null) => Ok(path.to_path_buf()),
        Ok(_) => Err(Violation::new(
            "must be a YAML mapping of chart values",
            "the top level must be key: value pairs",
        )),
        Err(e) => Err(Violation::new(
            "must be valid YAML",
            match e.location() {
                Some(l) => format!(
                    "syntax error at line {}, column {}: {e}",
                    l.line(),
                    l.column()
                ),
                None => format!("syntax error: {e}"),
            },
        )),
    }
}

/// Present among the kubeconfig's contexts.
pub fn kube_context(context: &str, contexts: &[String]) -> Result<(), Violation> {
    if contexts.iter().any(|c| c == context) {
        return Ok(());
    }
    const SHOWN: usize = 10;
    let hint = if contexts.is_empty() {
        "no contexts were found in the kubeconfig (KUBECONFIG, else ~/.kube/config)".to_string()
    } else {
        let mut listed: Vec<String> = contexts
            .iter()
            .take(SHOWN)
            .map(|c| format!("{c:?}"))
            .collect();
        if contexts.len() > SHOWN {
            listed.push(format!("and {} more", contexts.len() - SHOWN));
        }
        format!("available contexts: {}", listed.join(", "))
    };
    Err(Violation::new("must be a context in the kubeconfig", hint))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok<T>(result: Result<T, Violation>, value: &str) -> T {
        result.unwrap_or_else(|v| panic!("{value:?} should be valid: {v:?}"))
    }

    fn bad<T: std::fmt::Debug>(result: Result<T, Violation>, value: &str) -> Violation {
        match result {
            Ok(t) => panic!("{value:?} should be invalid, got {t:?}"),
            Err(v) => v,
        }
    }

    const LONG: usize = 5_000;

    #[test]
    fn environment_lists() {
        let three = ok(environments("dev,stage,prod"), "dev,stage,prod");
        assert_eq!(three.names(), ["dev", "stage", "prod"]);
        assert_eq!(three.first(), "dev");
        assert_eq!(three.next_after("dev"), Some("stage"));
        assert_eq!(three.next_after("stage"), Some("prod"));
        assert_eq!(three.next_after("prod"), None);
        // Spaces around the commas are the shell's, not part of a name.
        assert_eq!(
            ok(environments(" qa , live"), "qa,live").names(),
            ["qa", "live"]
        );
        let eight = (1..=8)
            .map(|i| format!("e{i}"))
            .collect::<Vec<_>>()
            .join(",");
        ok(environments(&eight), &eight);

        let cases = [
            ("dev,Stage", "\"Stage\" is not a DNS-1123 label"),
            ("dev,st_age", "\"st_age\" is not a DNS-1123 label"),
            ("dev,-x", "\"-x\" is not a DNS-1123 label"),
            ("dev/x", "is not a DNS-1123 label"),
            ("dev,main", "no environment may be called \"main\""),
            ("dev,stage,dev", "\"dev\" is given twice"),
            ("dev,,prod", "none empty"),
            ("dev,", "none empty"),
        ];
        for (value, rule) in cases {
            let violation = bad(environments(value), value);
            assert!(violation.rule.contains(rule), "{value}: {violation:?}");
            assert!(!violation.hint.is_empty(), "{value}");
        }
        let nine = (1..=9)
            .map(|i| format!("e{i}"))
            .collect::<Vec<_>>()
            .join(",");
        let violation = bad(environments(&nine), &nine);
        assert!(
            violation.rule.contains("at most 8 environments (9 given)"),
            "{violation:?}"
        );
        let huge = format!("dev,{}", "a".repeat(LONG));
        bad(environments(&huge), "huge");
    }

    #[test]
    fn cluster_names() {
        let max = "a".repeat(63);
        for name in ["a", "demo", "kalypso-demo-1", "0abc9", max.as_str()] {
            ok(cluster_name(name), name);
        }
        let too_long = "a".repeat(64);
        let huge = "a".repeat(LONG);
        for name in [
            "",
            "Bad_Name",
            "-demo",
            "demo-",
            "UPPER",
            "dé",
            "a b",
            "a.b",
            "🦀",
            too_long.as_str(),
            huge.as_str(),
        ] {
            let v = bad(cluster_name(name), name);
            assert!(v.rule.contains(CLUSTER_NAME_PATTERN));
        }
        assert!(bad(cluster_name("Bad_Name"), "")
            .hint
            .contains("\"bad-name\""));
        assert!(bad(cluster_name("--"), "").hint.contains("kalypso-demo"));
    }

    #[test]
    fn dns_label_suggestions_are_valid() {
        for text in ["Bad_Name", "-x-", "Ünïcode Name", &"Z".repeat(200), "a--b"] {
            let s = suggest_dns_label(text, 63);
            if !s.is_empty() {
                ok(cluster_name(&s), &s);
            }
        }
    }

    #[test]
    fn resource_groups() {
        let max = "r".repeat(90);
        for rg in ["demo-rg", "My_RG(1)", "a", max.as_str()] {
            ok(resource_group(rg), rg);
        }
        let too_long = "r".repeat(91);
        for rg in ["", "my rg", "rg.name", "ré", too_long.as_str()] {
            let v = bad(resource_group(rg), rg);
            assert!(v.rule.contains(RESOURCE_GROUP_PATTERN));
        }
    }

    #[test]
    fn regions_are_checked_against_the_embedded_list() {
        for r in ["eastus", "westeurope", "swedencentral"] {
            ok(region(r), r);
        }
        assert!(bad(region("East US"), "").hint.contains("\"eastus\""));
        assert!(bad(region("eastuss"), "")
            .hint
            .contains("did you mean \"eastus\""));
        assert!(bad(region("mars"), "")
            .hint
            .contains("az account list-locations"));
        bad(region(""), "");
        bad(region(&"x".repeat(LONG)), "long");
        bad(region("東京"), "non-ascii");
    }

    #[test]
    fn node_counts() {
        for n in [1, 3, 100] {
            ok(node_count(n), &n.to_string());
        }
        for n in [0, 101, u32::MAX] {
            assert_eq!(bad(node_count(n), "").rule, "must be between 1 and 100");
        }
    }

    #[test]
    fn vm_sizes() {
        for s in [
            "Standard_DS2_v2",
            "Standard_D4s_v5",
            "Basic_A1",
            "Standard_E64-16ds_v4",
            "Standard_NC24ads_A100_v4",
            "standard_ds2_v2",
        ] {
            ok(vm_size(s), s);
        }
        for s in [
            "",
            "DS2_v2",
            "Standard_",
            "Standard DS2",
            "Premium_X1",
            "Standard_DS2__v2",
            "Standard_Ω",
        ] {
            bad(vm_size(s), s);
        }
        bad(vm_size(&format!("Standard_{}", "D".repeat(LONG))), "long");
    }

    #[test]
    fn kubernetes_versions() {
        for v in ["1.30", "1.30.4", "1.9"] {
            ok(kubernetes_version(v), v);
        }
        for v in ["", "v1.30", "1", "1.30.4.1", "latest", "1.30-preview"] {
            bad(kubernetes_version(v), v);
        }
    }

    #[test]
    fn network_plugins_and_visibility() {
        assert_eq!(ok(network_plugin("azure"), ""), NetworkPlugin::Azure);
        assert_eq!(ok(network_plugin("kubenet"), ""), NetworkPlugin::Kubenet);
        assert!(bad(network_plugin("Azure"), "").hint.contains("lowercase"));
        bad(network_plugin("cilium"), "");
        bad(network_plugin(""), "");
        assert_eq!(ok(visibility("private"), ""), Visibility::Private);
        assert_eq!(ok(visibility("public"), ""), Visibility::Public);
        assert!(bad(visibility("PUBLIC"), "").hint.contains("lowercase"));
        bad(visibility("internal"), "");
    }

    #[test]
    fn github_logins() {
        let max = "a".repeat(39);
        for l in ["acme", "my-org", "a", "A1-b2", max.as_str()] {
            ok(github_login(l), l);
        }
        let too_long = "a".repeat(40);
        for l in [
            "",
            "-acme",
            "acme-",
            "my--org",
            "my_org",
            "my.org",
            "orgé",
            too_long.as_str(),
        ] {
            bad(github_login(l), l);
        }
    }

    #[test]
    fn repo_names() {
        let max = "r".repeat(100);
        for n in ["cp", "my.repo_name-1", ".github", max.as_str()] {
            ok(repo_name(n), n);
        }
        let too_long = "r".repeat(101);
        for n in [
            "",
            ".",
            "..",
            "a b",
            "a/b",
            "répo",
            too_long.as_str(),
            "a.git",
            "A.GIT",
            ".git",
        ] {
            bad(repo_name(n), n);
        }
        assert_eq!(bad(repo_name("cp.git"), "").hint, "use \"cp\"");
        ok(repo_name("git"), "git");
        ok(repo_name("a.gitops"), "a.gitops");
    }

    #[test]
    fn namespaces() {
        let max = "n".repeat(63);
        for n in ["kalypso-system", "a", "a1", max.as_str()] {
            ok(namespace(n), n);
        }
        let too_long = "n".repeat(64);
        for n in [
            "",
            "Kalypso",
            "-a",
            "a-",
            "a_b",
            "a.b",
            "ñ",
            too_long.as_str(),
        ] {
            bad(namespace(n), n);
        }
        assert!(bad(namespace("Kalypso_System"), "")
            .hint
            .contains("\"kalypso-system\""));
    }

    #[test]
    fn flux_manifests_are_https_urls_or_regular_files() {
        let mirror = "https://mirror.example.test/fluxcd/flux2/v2.7.5/install.yaml";
        assert_eq!(
            ok(flux_manifest(mirror), ""),
            FluxManifest::Url(mirror.into())
        );
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("install.yaml");
        std::fs::write(&file, "apiVersion: v1\nkind: Namespace\n").unwrap();
        let file_text = file.to_str().unwrap();
        assert_eq!(
            ok(flux_manifest(file_text), ""),
            FluxManifest::File(file.clone())
        );
        // Read through a symlink (only read): what it points to must be a regular file.
        let link = dir.path().join("link.yaml");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        assert_eq!(
            ok(flux_manifest(link.to_str().unwrap()), ""),
            FluxManifest::File(link.clone())
        );
        for (text, hint) in [
            ("http://mirror.example.test/install.yaml", "use https://"),
            ("ftp://mirror.example.test/install.yaml", "use https://"),
            ("https:///install.yaml", "no host"),
            (
                "https://user:pw@mirror.example.test/install.yaml",
                "credentials",
            ),
            (
                "https://mirror.example.test/in stall.yaml",
                "not a plain URL",
            ),
            ("", "give the URL"),
        ] {
            let violation = bad(flux_manifest(text), text);
            assert!(violation
                .rule
                .contains("https:// URL or an existing regular file"));
            assert!(violation.hint.contains(hint), "{text}: {}", violation.hint);
        }
        let missing = dir.path().join("missing.yaml");
        assert!(bad(flux_manifest(missing.to_str().unwrap()), "")
            .hint
            .contains("no such file"));
        assert!(bad(flux_manifest(dir.path().to_str().unwrap()), "")
            .hint
            .contains("directory or special file"));
        let dangling = dir.path().join("dangling.yaml");
        std::os::unix::fs::symlink(&missing, &dangling).unwrap();
        assert!(bad(flux_manifest(dangling.to_str().unwrap()), "")
            .hint
            .contains("no such file"));
    }

    #[test]
    fn helm_charts() {
        assert_eq!(
            ok(helm_chart("kalypso-scheduler"), ""),
            HelmChart::Published {
                repo_url: "https://microsoft.github.io/kalypso-scheduler".into(),
                name: "kalypso-scheduler".into()
            }
        );
        let dir = tempfile::tempdir().unwrap();
        let chart = dir.path().join("chart");
        std::fs::create_dir(&chart).unwrap();
        let chart_text = chart.to_str().unwrap();
        assert!(bad(helm_chart(chart_text), "no Chart.yaml")
            .rule
            .contains("Chart.yaml"));
        std::fs::write(chart.join("Chart.yaml"), "name: x\n").unwrap();
        assert_eq!(
            ok(helm_chart(chart_text), ""),
            HelmChart::Local(chart.clone())
        );
        let tgz = dir.path().join("kalypso-1.0.0.tgz");
        std::fs::write(&tgz, b"\x1f\x8b").unwrap();
        assert_eq!(
            ok(helm_chart(tgz.to_str().unwrap()), ""),
            HelmChart::Local(tgz)
        );
        let missing = dir.path().join("nope");
        bad(helm_chart(missing.to_str().unwrap()), "missing");
        assert!(bad(helm_chart("~/charts/kalypso"), "")
            .hint
            .contains("not expanded"));
        for name in ["", "Kalypso", "kalypso scheduler", "oci:x", "ü"] {
            bad(helm_chart(name), name);
        }
    }

    #[test]
    fn helm_versions() {
        for v in ["1.1.2-alpha", "v1.2.3", "0.1.0", "1.2.3-rc.1+build.5"] {
            ok(helm_version(v), v);
        }
        for v in ["", "1.2", "latest", "^1.2.0", "1.2.3 ", "１.2.3"] {
            bad(helm_version(v), v);
        }
    }

    #[test]
    fn helm_values_files() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("values.yaml");
        std::fs::write(&good, "replicaCount: 2\nimage:\n  tag: x\n").unwrap();
        assert_eq!(ok(helm_values(good.to_str().unwrap()), ""), good);
        let empty = dir.path().join("empty.yaml");
        std::fs::write(&empty, "# nothing\n").unwrap();
        ok(helm_values(empty.to_str().unwrap()), "empty");

        let broken = dir.path().join("broken.yaml");
        std::fs::write(&broken, "a: 1\n b: [\n").unwrap();
        let v = bad(helm_values(broken.to_str().unwrap()), "broken");
        assert_eq!(v.rule, "must be valid YAML");
        assert!(v.hint.contains("line"), "{v:?}");

        let list = dir.path().join("list.yaml");
        std::fs::write(&list, "- a\n").unwrap();
        assert!(bad(helm_values(list.to_str().unwrap()), "")
            .rule
            .contains("mapping"));

        assert_eq!(
            bad(helm_values(dir.path().to_str().unwrap()), "").rule,
            "must be a file"
        );
        let missing = dir.path().join("missing.yaml");
        assert_eq!(
            bad(helm_values(missing.to_str().unwrap()), "").rule,
            "must be an existing file"
        );
        let binary = dir.path().join("bin.yaml");
        std::fs::write(&binary, [0xff, 0x00]).unwrap();
        bad(helm_values(binary.to_str().unwrap()), "binary");
        bad(helm_values(""), "empty path");
    }

    #[test]
    fn kube_contexts() {
        let contexts = vec!["kind-dev".to_string(), "aks-prod".to_string()];
        ok(kube_context("kind-dev", &contexts), "");
        let v = bad(kube_context("kind-prod", &contexts), "");
        assert!(v.hint.contains("\"kind-dev\", \"aks-prod\""), "{v:?}");
        assert!(bad(kube_context("x", &[]), "").hint.contains("no contexts"));
        let many: Vec<String> = (0..25).map(|i| format!("ctx-{i}")).collect();
        assert!(bad(kube_context("x", &many), "")
            .hint
            .contains("and 15 more"));
    }
}
