//! Version parsing on real output samples (tests/fixtures/versions) and the verdicts the
//! minimums give them.

use kalypso_bootstrap::prereq::tools::{AZ, BASH, GH, GIT, HELM, JQ, KUBECTL};
use kalypso_bootstrap::prereq::{evaluate_tool, Verdict};
use kalypso_bootstrap::tools::{az, gh, git, helm, kubectl, ToolError, Version};

fn fixture(name: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/versions/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn v(major: u64, minor: u64, patch: u64) -> Version {
    Version::new(major, minor, patch)
}

#[test]
fn kubectl_client_versions_parse_with_and_without_kustomize() {
    let old = fixture("kubectl-1.20.0-client.json");
    assert!(
        !old.contains("kustomizeVersion"),
        "the 1.20 sample predates it"
    );
    assert_eq!(kubectl::parse_version(&old).unwrap(), v(1, 20, 0));
    assert_eq!(
        kubectl::parse_version(&fixture("kubectl-1.37.1-client.json")).unwrap(),
        v(1, 37, 1)
    );
    assert_eq!(
        kubectl::parse_version(&fixture("kubectl-1.32.4-dispatcher-client.json")).unwrap(),
        v(1, 32, 4)
    );
}

#[test]
fn kubectl_falls_back_to_major_minor_when_git_version_is_absent() {
    let json = r#"{"clientVersion": {"major": "1", "minor": "28+", "platform": "linux/amd64"}}"#;
    assert_eq!(kubectl::parse_version(json).unwrap(), v(1, 28, 0));
}

#[test]
fn gh_versions_parse_and_compare_numerically() {
    let old = gh::parse_version(&fixture("gh-2.23.0.txt")).unwrap();
    let new = gh::parse_version(&fixture("gh-2.103.3.txt")).unwrap();
    assert_eq!(old, v(2, 23, 0));
    assert_eq!(new, v(2, 103, 3));
    assert!(
        new > old,
        "2.103 is newer than 2.23 (not a string comparison)"
    );
}

#[test]
fn helm_3_and_4_parse_from_short_output() {
    assert_eq!(
        helm::parse_version(&fixture("helm-3.17.0-short.txt")).unwrap(),
        v(3, 17, 0)
    );
    assert_eq!(
        helm::parse_version(&fixture("helm-3.17.2-short.txt")).unwrap(),
        v(3, 17, 2),
        "captured from the real helm binary"
    );
    assert_eq!(
        helm::parse_version(&fixture("helm-4.1.0-short.txt")).unwrap(),
        v(4, 1, 0)
    );
    assert_eq!(
        helm::parse_version(&fixture("helm-2.17.0-short.txt")).unwrap(),
        v(2, 17, 0)
    );
}

#[test]
fn az_version_comes_from_the_azure_cli_key() {
    assert_eq!(
        az::parse_version(&fixture("az-2.91.0.json")).unwrap(),
        v(2, 91, 0)
    );
    assert_eq!(
        az::parse_version(&fixture("az-2.49.0-with-extensions.json")).unwrap(),
        v(2, 49, 0)
    );
}

#[test]
fn git_versions_parse_with_vendor_suffixes() {
    assert_eq!(
        git::parse_version(&fixture("git-2.47.3.txt")).unwrap(),
        v(2, 47, 3)
    );
    assert_eq!(
        git::parse_version(&fixture("git-2.39.3-apple.txt")).unwrap(),
        v(2, 39, 3)
    );
}

#[test]
fn informational_tools_versions_are_found_in_their_banner() {
    assert_eq!(Version::find_in(&fixture("jq-1.7.1.txt")), Some(v(1, 7, 1)));
    let bash = fixture("bash-5.2.15.txt");
    assert_eq!(
        Version::find_in(bash.lines().next().unwrap()),
        Some(v(5, 2, 15))
    );
}

#[test]
fn garbage_is_an_error_for_every_parser() {
    let garbage = [
        "",
        "command not found",
        "<html>502 Bad Gateway</html>",
        "{\"unexpected\": true}",
        "[1, 2, 3]",
    ];
    for text in garbage {
        assert!(az::parse_version(text).is_err(), "az {text:?}");
        assert!(kubectl::parse_version(text).is_err(), "kubectl {text:?}");
        assert!(gh::parse_version(text).is_err(), "gh {text:?}");
        assert!(helm::parse_version(text).is_err(), "helm {text:?}");
        assert!(git::parse_version(text).is_err(), "git {text:?}");
    }
    assert!(az::parse_version(r#"{"azure-cli": "latest"}"#).is_err());
    assert!(az::parse_version(r#"{"azure-cli": 2.91}"#).is_err());
    assert!(kubectl::parse_version(r#"{"clientVersion": {"gitVersion": "dev"}}"#).is_err());
    assert!(gh::parse_version("gh version unknown").is_err());
    assert!(
        helm::parse_version("3.17.0").is_err(),
        "helm always prints a leading v"
    );
    assert!(git::parse_version("hub version 2.14.2").is_err());
}

#[test]
fn error_messages_quote_what_was_read() {
    let err = gh::parse_version("Welcome to GitHub").unwrap_err();
    assert!(err.reason.contains("Welcome to GitHub"), "{err}");
    let err = az::parse_version(r#"{"azure-cli-core": "2.91.0"}"#).unwrap_err();
    assert!(err.reason.contains("azure-cli"), "{err}");
}

fn verdict(requirement: &kalypso_bootstrap::prereq::ToolRequirement, version: Version) -> Verdict {
    evaluate_tool(requirement, Ok(version)).verdict
}

#[test]
fn minimums_decide_the_verdicts_of_the_samples() {
    let sample = |name: &str, parse: fn(&str) -> Result<Version, _>| parse(&fixture(name)).unwrap();
    assert_eq!(
        verdict(
            &KUBECTL,
            sample("kubectl-1.20.0-client.json", kubectl::parse_version)
        ),
        Verdict::Fail
    );
    assert_eq!(
        verdict(
            &KUBECTL,
            sample("kubectl-1.37.1-client.json", kubectl::parse_version)
        ),
        Verdict::Pass
    );
    // gh 2.23 has no `secret list --json` (2.36): too old since issue 14.
    assert_eq!(
        verdict(&GH, sample("gh-2.23.0.txt", gh::parse_version)),
        Verdict::Fail
    );
    assert_eq!(
        verdict(&GH, sample("gh-2.103.3.txt", gh::parse_version)),
        Verdict::Pass
    );
    assert_eq!(
        verdict(&GH, sample("gh-1.14.0.txt", gh::parse_version)),
        Verdict::Fail
    );
    assert_eq!(
        verdict(&HELM, sample("helm-3.17.0-short.txt", helm::parse_version)),
        Verdict::Pass
    );
    assert_eq!(
        verdict(&HELM, sample("helm-4.1.0-short.txt", helm::parse_version)),
        Verdict::Pass
    );
    assert_eq!(
        verdict(&HELM, sample("helm-2.17.0-short.txt", helm::parse_version)),
        Verdict::Fail
    );
    assert_eq!(
        verdict(&AZ, sample("az-2.91.0.json", az::parse_version)),
        Verdict::Pass
    );
    assert_eq!(
        verdict(
            &AZ,
            sample("az-2.49.0-with-extensions.json", az::parse_version)
        ),
        Verdict::Fail
    );
    assert_eq!(
        verdict(&GIT, sample("git-2.47.3.txt", git::parse_version)),
        Verdict::Pass
    );
}

#[test]
fn boundaries_are_inclusive() {
    assert_eq!(verdict(&GIT, v(2, 31, 0)), Verdict::Pass);
    assert_eq!(verdict(&GIT, v(2, 30, 9)), Verdict::Fail);
    assert_eq!(verdict(&AZ, v(2, 50, 0)), Verdict::Pass);
    assert_eq!(verdict(&AZ, v(2, 49, 99)), Verdict::Fail);
    assert_eq!(verdict(&KUBECTL, v(1, 25, 0)), Verdict::Pass);
    assert_eq!(verdict(&KUBECTL, v(1, 24, 17)), Verdict::Fail);
    assert_eq!(verdict(&GH, v(2, 36, 0)), Verdict::Pass);
    assert_eq!(verdict(&GH, v(2, 35, 1)), Verdict::Fail);
    assert_eq!(verdict(&HELM, v(3, 13, 0)), Verdict::Pass);
    assert_eq!(verdict(&HELM, v(3, 12, 3)), Verdict::Fail);
}

#[test]
fn too_old_rows_name_the_version_and_the_minimum() {
    let row = evaluate_tool(&KUBECTL, Ok(v(1, 20, 0)));
    assert_eq!(row.verdict, Verdict::Fail);
    assert!(row.found);
    assert_eq!(row.version, Some(v(1, 20, 0)));
    assert_eq!(row.minimum, Some(v(1, 25, 0)));
    assert!(
        row.detail.contains("1.20.0") && row.detail.contains("1.25.0"),
        "{}",
        row.detail
    );
}

#[test]
fn helm_beyond_the_newest_tested_major_warns_but_does_not_fail() {
    let row = evaluate_tool(&HELM, Ok(v(5, 0, 0)));
    assert_eq!(row.verdict, Verdict::Warn);
    assert!(row.detail.contains('5'), "{}", row.detail);
}

#[test]
fn an_unreadable_version_fails_every_required_tool_git_included_but_not_an_optional_one() {
    let unreadable = || {
        Err(ToolError::UnexpectedOutput {
            command: "x --version".into(),
            reason: "garbage".into(),
        })
    };
    let row = evaluate_tool(&AZ, unreadable());
    assert_eq!(row.verdict, Verdict::Fail);
    assert!(
        row.found && row.detail.contains("garbage"),
        "{}",
        row.detail
    );
    assert_eq!(
        evaluate_tool(&GIT, unreadable()).verdict,
        Verdict::Fail,
        "git needs a known version: seeding relies on GIT_CONFIG_COUNT (2.31+)"
    );
    assert_eq!(evaluate_tool(&JQ, unreadable()).verdict, Verdict::Info);
}

#[test]
fn informational_tools_never_fail_and_say_they_are_not_needed() {
    for requirement in [JQ, BASH] {
        let present = evaluate_tool(&requirement, Ok(v(1, 0, 0)));
        assert_eq!(present.verdict, Verdict::Info);
        assert!(!present.required);
        assert!(present.detail.contains("not needed by kalypso-bootstrap"));
        let missing = evaluate_tool(
            &requirement,
            Err(ToolError::Run(
                kalypso_bootstrap::tools::RunError::NotFound {
                    program: requirement.name.into(),
                },
            )),
        );
        assert_eq!(missing.verdict, Verdict::Info);
        assert!(!missing.found);
    }
}
