//! The precedence matrix end to end: real command-line arguments (through clap), a real
//! environment map and a real file, through `config::build`. For representative fields
//! of each kind, every combination of flag / env / file presence; the highest present
//! layer must win and be recorded as the source, else the default.

use std::collections::HashMap;
use std::path::Path;

use clap::Parser;
use kalypso_bootstrap::cli::Cli;
use kalypso_bootstrap::config::{self, ClusterTarget, Configuration, Field, Source, Verbosity};

struct Case {
    field: Field,
    /// Command-line arguments, environment value, file snippet (under its section).
    flag: &'static [&'static str],
    env: &'static str,
    file: &'static str,
    /// The effective value as text, for each layer and for the default.
    values: [&'static str; 4],
    read: fn(&Configuration) -> String,
}

fn new_cluster(config: &Configuration) -> &config::NewCluster {
    match &config.cluster {
        ClusterTarget::Create(new) => new,
        other => panic!("expected a new cluster, got {other:?}"),
    }
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            field: Field::ClusterRegion,
            flag: &["--cluster-region", "westus"],
            env: "westus2",
            file: "cluster:\n  region: westus3\n",
            values: ["westus", "westus2", "westus3", "eastus"],
            read: |c| new_cluster(c).region.clone(),
        },
        Case {
            field: Field::ClusterNodeCount,
            flag: &["--cluster-nodes", "5"],
            env: "7",
            file: "cluster:\n  nodeCount: 9\n",
            values: ["5", "7", "9", "3"],
            read: |c| new_cluster(c).node_count.to_string(),
        },
        Case {
            field: Field::Visibility,
            flag: &["--repo-visibility", "public"],
            env: "private",
            file: "repositories:\n  visibility: public\n",
            values: ["public", "private", "public", "private"],
            read: |c| c.repositories.visibility.to_string(),
        },
        Case {
            field: Field::Verbose,
            flag: &["--verbose"],
            env: "false",
            file: "options:\n  verbose: true\n",
            values: ["true", "false", "true", "false"],
            read: |c| (c.options.verbosity == Verbosity::Verbose).to_string(),
        },
        Case {
            field: Field::SkipInstall,
            flag: &["--skip-install"],
            env: "no",
            file: "installation:\n  skipInstall: true\n",
            values: ["true", "false", "true", "false"],
            read: |c| c.installation.skip_install.to_string(),
        },
        Case {
            field: Field::FluxManifest,
            flag: &["--flux-manifest", "https://flag.example.test/install.yaml"],
            env: "https://env.example.test/install.yaml",
            file: "installation:\n  fluxManifest: https://file.example.test/install.yaml\n",
            values: [
                "https://flag.example.test/install.yaml",
                "https://env.example.test/install.yaml",
                "https://file.example.test/install.yaml",
                // None: the release's install.yaml on github.com for --flux-version.
                "",
            ],
            read: |c| {
                c.installation
                    .flux_manifest
                    .as_ref()
                    .map(|m| m.kubectl_filename())
                    .unwrap_or_default()
            },
        },
    ]
}

#[test]
fn every_combination_of_flag_env_and_file() {
    let dir = tempfile::tempdir().unwrap();
    for case in cases() {
        for mask in 0..8u8 {
            let (in_flag, in_env, in_file) = (mask & 4 != 0, mask & 2 != 0, mask & 1 != 0);
            let mut argv = vec!["kalypso-bootstrap", "--cluster-name", "demo"];
            if in_flag {
                argv.extend_from_slice(case.flag);
            }
            let mut env = HashMap::new();
            if in_env {
                env.insert(case.field.env_var().to_string(), case.env.to_string());
            }
            let file = dir.path().join("c.yaml");
            // A file must set something; the filler is a section the case does not use.
            let filler = if case.file.starts_with("options:") {
                "installation:\n  namespace: kalypso-system\n"
            } else {
                "options:\n  force: false\n"
            };
            let text = format!("{}{filler}", if in_file { case.file } else { "" });
            std::fs::write(&file, text).unwrap();
            let flags = Cli::try_parse_from(&argv).unwrap().to_layer();
            let label = format!("{} flag={in_flag} env={in_env} file={in_file}", case.field);
            let validated = config::build(flags, Some(Path::new(&file)), &env, &[])
                .unwrap_or_else(|e| panic!("{label}: {e}"));
            let (value, source) = if in_flag {
                (case.values[0], Source::flag(case.field.flag()))
            } else if in_env {
                (case.values[1], Source::env(case.field.env_var()))
            } else if in_file {
                (case.values[2], Source::File { path: file.clone() })
            } else {
                (case.values[3], Source::Default)
            };
            assert_eq!((case.read)(validated.configuration()), value, "{label}");
            assert_eq!(validated.provenance().get(case.field), &source, "{label}");
        }
    }
}

/// `repositories.githubHost`: flag > `KALYPSO_GITHUB_HOST` > file > `GH_HOST` (gh's own
/// default host) > github.com, in every combination, each winner recorded as the source.
#[test]
fn the_github_host_falls_back_to_gh_host_below_the_file_then_github_com() {
    let dir = tempfile::tempdir().unwrap();
    for mask in 0..16u8 {
        let (in_flag, in_env, in_file, in_gh_host) =
            (mask & 8 != 0, mask & 4 != 0, mask & 2 != 0, mask & 1 != 0);
        let mut argv = vec!["kalypso-bootstrap", "--cluster-name", "demo"];
        if in_flag {
            argv.extend_from_slice(&["--github-host", "flag.example.test"]);
        }
        let mut env = HashMap::new();
        if in_env {
            env.insert("KALYPSO_GITHUB_HOST".to_string(), "env.example.test".into());
        }
        if in_gh_host {
            env.insert("GH_HOST".to_string(), "GH.Example.Test".into());
        }
        let file = dir.path().join("c.yaml");
        let text = if in_file {
            "repositories:\n  githubHost: file.example.test\n"
        } else {
            "options:\n  force: false\n"
        };
        std::fs::write(&file, text).unwrap();
        let flags = Cli::try_parse_from(&argv).unwrap().to_layer();
        let label = format!("flag={in_flag} env={in_env} file={in_file} GH_HOST={in_gh_host}");
        let validated = config::build(flags, Some(Path::new(&file)), &env, &[])
            .unwrap_or_else(|e| panic!("{label}: {e}"));
        let (host, source) = if in_flag {
            ("flag.example.test", Source::flag("--github-host"))
        } else if in_env {
            ("env.example.test", Source::env("KALYPSO_GITHUB_HOST"))
        } else if in_file {
            ("file.example.test", Source::File { path: file.clone() })
        } else if in_gh_host {
            ("gh.example.test", Source::env("GH_HOST"))
        } else {
            ("github.com", Source::Default)
        };
        let configuration = validated.configuration();
        assert_eq!(
            configuration.repositories.github_host.as_str(),
            host,
            "{label}"
        );
        assert_eq!(
            validated.provenance().get(Field::GithubHost),
            &source,
            "{label}"
        );
    }
    // An empty GH_HOST is unset, as gh treats it.
    let flags = Cli::try_parse_from(["kalypso-bootstrap", "--cluster-name", "demo"])
        .unwrap()
        .to_layer();
    let env = HashMap::from([("GH_HOST".to_string(), String::new())]);
    let validated = config::build(flags, None, &env, &[]).unwrap();
    assert_eq!(
        validated.configuration().repositories.github_host.as_str(),
        "github.com"
    );
}

/// A bad host is refused naming the field, the value, the rule and where it came from
/// (exit 3), and the repository URLs are checked against the configured host.
#[test]
fn a_bad_github_host_and_urls_on_another_host_are_field_errors() {
    let parse = |argv: &[&str], env: &[(&str, &str)]| {
        let mut full = vec!["kalypso-bootstrap", "--cluster-name", "demo"];
        full.extend_from_slice(argv);
        let flags = Cli::try_parse_from(&full).unwrap().to_layer();
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        config::build(flags, None, &env, &[])
    };
    let errors = parse(&["--github-host", "https://ghe.example.test/"], &[]).unwrap_err();
    assert_eq!(errors.exit_code().code(), 3);
    let text = errors.to_string();
    assert!(text.contains("repositories.githubHost"), "{text}");
    assert!(text.contains("https://ghe.example.test/"), "{text}");
    assert!(text.contains("must be a DNS host name"), "{text}");
    assert!(
        text.contains("give the host alone: ghe.example.test"),
        "{text}"
    );

    let errors = parse(&[], &[("GH_HOST", "ghe.example.test:8443")]).unwrap_err();
    let text = errors.to_string();
    assert!(text.contains("GH_HOST"), "{text}");
    assert!(
        text.contains("give the host alone: ghe.example.test"),
        "{text}"
    );

    let errors = parse(
        &[
            "--github-host",
            "ghe.example.test",
            "--gitops-repo",
            "https://github.com/acme/gitops",
        ],
        &[],
    )
    .unwrap_err();
    let text = errors.to_string();
    assert!(text.contains("repositories.gitops.url"), "{text}");
    assert!(
        text.contains("must be https://ghe.example.test/OWNER/NAME"),
        "{text}"
    );
    assert!(text.contains("pass --github-host github.com"), "{text}");

    let validated = parse(
        &[
            "--github-host",
            "ghe.example.test",
            "--gitops-repo",
            "https://ghe.example.test/acme/gitops.git",
        ],
        &[],
    )
    .unwrap();
    match &validated.configuration().repositories.gitops {
        config::RepoTarget::Existing(repo) => {
            assert_eq!(repo.url(), "https://ghe.example.test/acme/gitops")
        }
        other => panic!("{other:?}"),
    }
}
