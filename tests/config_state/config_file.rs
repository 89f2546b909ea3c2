//! The configuration entity end to end: the shipped sample, real files through `build`,
//! precedence across a real file, file errors, and export round trips.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use clap::Parser;
use kalypso_bootstrap::cli::Cli;
use kalypso_bootstrap::config::{
    self, load, ClusterTarget, ConfigLayer, Field, HelmChart, Problem, RepoTarget, Source,
    Verbosity,
};
use kalypso_bootstrap::ExitCode;

const SAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/assets/bootstrap-config.example.yaml"
);

fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn cli(args: &[&str]) -> ConfigLayer {
    let mut argv = vec!["kalypso-bootstrap"];
    argv.extend_from_slice(args);
    Cli::try_parse_from(argv)
        .expect("valid command line")
        .to_layer()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn the_sample_loads_and_validates() {
    let validated = config::build(
        ConfigLayer::default(),
        Some(Path::new(SAMPLE)),
        &env(&[]),
        &[],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let configuration = validated.configuration();
    assert_eq!(configuration.cluster_name(), Some("kalypso-demo"));
    assert!(matches!(configuration.cluster, ClusterTarget::Create(_)));
    assert_eq!(
        configuration.installation.chart,
        HelmChart::published("kalypso-scheduler")
    );
    // Values come from the file, not from the defaults.
    assert!(matches!(
        validated.provenance().get(Field::ClusterRegion),
        Source::File { .. }
    ));
}

/// Every key is in the sample, active or commented out, at the right place: with the
/// commented keys uncommented, the sample sets every field.
#[test]
fn the_sample_covers_every_key_flag_and_variable() {
    let text = std::fs::read_to_string(SAMPLE).unwrap();
    let commented_key = regex::Regex::new(r"^(\s*)# ([a-zA-Z]+): (\S.*)$").unwrap();
    let uncommented: String = text
        .lines()
        .map(|line| match commented_key.captures(line) {
            Some(c) => format!("{}{}: {}\n", &c[1], &c[2], &c[3]),
            None => format!("{line}\n"),
        })
        .collect();
    let layer =
        load::parse_str(&uncommented, Path::new("sample")).unwrap_or_else(|e| panic!("{e}"));
    for &field in Field::ALL {
        assert!(field.is_set(&layer), "sample lacks {}", field.path());
        assert!(
            text.contains(field.flag()),
            "sample does not mention {}",
            field.flag()
        );
        assert!(
            text.contains(field.env_var()),
            "sample does not mention {}",
            field.env_var()
        );
    }
}

#[test]
fn flags_beat_env_beat_file_beat_defaults_through_a_real_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "c.yaml",
        "cluster:\n  name: from-file\n  region: westus3\n  nodeCount: 9\n  vmSize: Standard_D4s_v5\n",
    );
    let validated = config::build(
        cli(&["--cluster-name", "from-flag"]),
        Some(&file),
        &env(&[
            ("KALYPSO_CLUSTER_NAME", "from-env"),
            ("KALYPSO_CLUSTER_REGION", "westus2"),
        ]),
        &[],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let ClusterTarget::Create(cluster) = &validated.configuration().cluster else {
        panic!("expected a new cluster");
    };
    assert_eq!(cluster.name, "from-flag");
    assert_eq!(cluster.region, "westus2");
    assert_eq!(cluster.node_count, 9);
    assert_eq!(cluster.network_plugin.as_str(), "azure");
    assert_eq!(cluster.resource_group, "from-flag-rg");
    let provenance = validated.provenance();
    assert_eq!(
        provenance.get(Field::ClusterName),
        &Source::flag("--cluster-name")
    );
    assert_eq!(
        provenance.get(Field::ClusterRegion),
        &Source::env("KALYPSO_CLUSTER_REGION")
    );
    assert_eq!(
        provenance.get(Field::ClusterNodeCount),
        &Source::File { path: file.clone() }
    );
    assert_eq!(
        provenance.get(Field::ClusterNetworkPlugin),
        &Source::Default
    );
}

#[test]
fn a_file_cannot_blank_a_flag_but_a_blank_file_value_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "c.yaml", "cluster:\n  name: ''\n  region: ''\n");
    let errors = config::build(
        cli(&["--cluster-name", "demo"]),
        Some(&file),
        &env(&[]),
        &[],
    )
    .unwrap_err();
    assert_eq!(errors.fields.len(), 1, "{errors}");
    let error = &errors.fields[0];
    assert_eq!(error.field, Field::ClusterRegion);
    assert_eq!(error.value.as_deref(), Some(""));
    assert_eq!(error.source, Source::File { path: file });
}

#[test]
fn the_bad_name_example_exits_3_naming_the_field() {
    let errors = config::build(
        cli(&[
            "--cluster-name",
            "Bad_Name",
            "--non-interactive",
            "--dry-run",
        ]),
        None,
        &env(&[]),
        &[],
    )
    .unwrap_err();
    assert_eq!(errors.exit_code(), ExitCode::ConfigInvalid);
    assert_eq!(errors.exit_code().code(), 3);
    let report = errors.to_string();
    assert!(
        report.contains(
            "cluster.name: \"Bad_Name\" (from --cluster-name) must match ^[a-z0-9-]{1,63}$"
        ),
        "{report}"
    );
    assert!(report.contains("hint:"), "{report}");
}

#[test]
fn non_interactive_without_required_values_lists_each_with_where_to_set_it() {
    let errors = config::build(
        cli(&[
            "--non-interactive",
            "--cluster-create=false",
            "--gitops-create=false",
        ]),
        None,
        &env(&[]),
        &[],
    )
    .unwrap_err();
    let missing = errors.missing();
    assert_eq!(
        missing,
        vec![
            Field::ClusterName,
            Field::ClusterExistingContext,
            Field::GitopsUrl
        ]
    );
    assert!(errors.only_missing());
    let report = errors.to_string();
    for needle in [
        "--cluster-existing",
        "KALYPSO_CLUSTER_EXISTING",
        "cluster.existingContext",
        "--gitops-repo",
    ] {
        assert!(report.contains(needle), "{needle} not in {report}");
    }
}

#[test]
fn file_errors_name_the_key_path_and_line_and_exit_3() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "cluster:\n  name: demo\n  nodeCont: 3\n",
            "cluster.nodeCont",
            3,
        ),
        (
            "cluster:\n  name: demo\n  nodeCount: three\n",
            "cluster.nodeCount",
            3,
        ),
        (
            "installation:\n  skipInstall: sometimes\n",
            "installation.skipInstall",
            2,
        ),
    ];
    for (text, key, line) in cases {
        let file = write(dir.path(), "bad.yaml", text);
        let errors =
            config::build(ConfigLayer::default(), Some(&file), &env(&[]), &[]).unwrap_err();
        assert_eq!(errors.file.len(), 1, "{errors}");
        let file_error = &errors.file[0];
        assert_eq!(file_error.key_path(), Some(key));
        assert_eq!(file_error.position().map(|p| p.line), Some(line));
        let report = errors.to_string();
        assert!(
            report.contains(key) && report.contains(&format!("line {line}")),
            "{report}"
        );
        assert_eq!(errors.exit_code().code(), 3);
    }
    let missing = dir.path().join("missing.yaml");
    let errors = config::build(ConfigLayer::default(), Some(&missing), &env(&[]), &[]).unwrap_err();
    assert!(matches!(
        errors.file.as_slice(),
        [config::LoadError::NotFound { .. }]
    ));
    assert!(errors.to_string().contains("not found"));
}

/// A file with several structural problems, and bad flag and environment values beside it.
const BROKEN_FILE: &str = "cluster:\n  name: demo\n  nodeCont: 3\n  region: 42\n  create: often\n\
                           installation:\n  helmChartt: x\n";

#[test]
fn a_broken_file_is_reported_whole_together_with_bad_flags_and_environment() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "broken.yaml", BROKEN_FILE);
    let errors = config::build(
        cli(&["--cluster-nodes", "0", "--namespace", "Bad"]),
        Some(&file),
        &env(&[("KALYPSO_FORCE", "perhaps")]),
        &[],
    )
    .unwrap_err();
    let file_errors: Vec<(Option<&str>, Option<usize>)> = errors
        .file
        .iter()
        .map(|e| (e.key_path(), e.position().map(|p| p.line)))
        .collect();
    // `region: 42` is a string to YAML's reader (scalars keep their text): not an error.
    assert_eq!(
        file_errors,
        vec![
            (Some("cluster.nodeCont"), Some(3)),
            (Some("cluster.create"), Some(5)),
            (Some("installation.helmChartt"), Some(7)),
        ],
        "{errors}"
    );
    let fields: Vec<Field> = errors.fields.iter().map(|e| e.field).collect();
    assert_eq!(
        fields,
        vec![Field::ClusterNodeCount, Field::Namespace, Field::Force],
        "{errors}"
    );
    // What the file would have set is unknown: nothing is reported missing.
    assert!(errors.missing().is_empty(), "{errors}");
    assert_eq!(errors.len(), 6);
    assert_eq!(errors.exit_code(), ExitCode::ConfigInvalid);
    let report = errors.to_string();
    for needle in [
        "cluster.nodeCont",
        "line 3",
        "cluster.create",
        "line 5",
        "installation.helmChartt",
        "line 7",
        "--cluster-nodes",
        "--namespace",
        "KALYPSO_FORCE",
        "6 problems",
    ] {
        assert!(report.contains(needle), "{needle} missing from:\n{report}");
    }
}

#[test]
fn the_binary_reports_a_broken_file_and_bad_flags_at_once_with_exit_3() {
    let home = tempfile::tempdir().unwrap();
    write(home.path(), "broken.yaml", BROKEN_FILE);
    let output = assert_cmd::Command::cargo_bin("kalypso-bootstrap")
        .unwrap()
        .env_clear()
        .env("HOME", home.path())
        .current_dir(home.path())
        .args([
            "--config",
            "broken.yaml",
            "--cluster-nodes",
            "0",
            "--namespace",
            "Bad",
            "--non-interactive",
            "--dry-run",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&output.stderr);
    for needle in [
        "5 problems",
        "unknown key `cluster.nodeCont`",
        "line 3",
        "`cluster.create`",
        "line 5",
        "unknown key `installation.helmChartt`",
        "line 7",
        "cluster.nodeCount: \"0\" (from --cluster-nodes)",
        "installation.namespace: \"Bad\" (from --namespace)",
    ] {
        assert!(stderr.contains(needle), "{needle} missing from:\n{stderr}");
    }
    assert!(
        !home.path().join(".kalypso").exists(),
        "a rejected configuration changes nothing"
    );
}

/// Export, read back with `--config` alone, validate: the same configuration.
#[test]
fn export_round_trips_through_the_loader() {
    let dir = tempfile::tempdir().unwrap();
    let chart = dir.path().join("chart");
    std::fs::create_dir(&chart).unwrap();
    write(&chart, "Chart.yaml", "name: kalypso\n");
    let values = write(dir.path(), "values.yaml", "replicas: 2\n");
    let contexts = vec!["kind-dev".to_string()];
    let chart_arg = chart.to_string_lossy().into_owned();
    let values_arg = values.to_string_lossy().into_owned();
    let scenarios: Vec<Vec<&str>> = vec![
        vec!["--cluster-name", "demo"],
        vec![
            "--cluster-name",
            "demo",
            "--cluster-region",
            "westeurope",
            "--cluster-nodes",
            "5",
            "--cluster-vm-size",
            "Standard_D4s_v5",
            "--cluster-k8s-version",
            "1.30",
            "--cluster-network-plugin",
            "kubenet",
            "--github-org",
            "acme",
            "--repo-visibility",
            "public",
            "--namespace",
            "kalypso",
            "--helm-chart",
            &chart_arg,
            "--helm-version",
            "1.2.0",
            "--helm-values",
            &values_arg,
            "--skip-install",
            "--non-interactive",
            "--auto-rollback",
            "--skip-validation",
            "--skip-confirmation",
            "--verbose",
            "--no-color",
            "--force",
        ],
        vec![
            "--cluster-existing",
            "kind-dev",
            "--control-plane-repo",
            "https://github.com/acme/cp.git/",
            "--gitops-repo",
            "https://github.com/acme/gitops",
            "--quiet",
        ],
        vec![
            "--cluster-existing",
            "kind-dev",
            "--cluster-name",
            "named",
            "--gitops-name",
            "g",
        ],
    ];
    for args in scenarios {
        let original = config::build(cli(&args), None, &env(&[]), &contexts)
            .unwrap_or_else(|e| panic!("{args:?}: {e}"));
        let yaml = original.export_yaml().unwrap();
        let file = write(dir.path(), "export.yaml", &yaml);
        let reloaded = config::build(ConfigLayer::default(), Some(&file), &env(&[]), &contexts)
            .unwrap_or_else(|e| panic!("{args:?}: {e}\n{yaml}"));
        assert_eq!(
            reloaded.configuration(),
            original.configuration(),
            "{args:?}\n{yaml}"
        );
        // Exporting the reloaded configuration gives the same file.
        assert_eq!(reloaded.export_yaml().unwrap(), yaml);
    }
}

#[test]
fn the_exported_values_are_the_resolved_ones() {
    let validated = config::build(
        cli(&[
            "--cluster-existing",
            "kind-dev",
            "--control-plane-repo",
            "https://github.com/acme/cp.git",
            "--gitops-name",
            "g",
            "--cluster-name",
            "n",
        ]),
        None,
        &env(&[]),
        &["kind-dev".to_string()],
    )
    .unwrap();
    let configuration = validated.configuration();
    match &configuration.repositories.control_plane {
        RepoTarget::Existing(repo) => {
            assert_eq!(repo.owner(), "acme");
            assert_eq!(repo.name(), "cp");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(configuration.options.verbosity, Verbosity::Normal);
    let yaml = validated.export_yaml().unwrap();
    assert!(yaml.contains("url: https://github.com/acme/cp\n"), "{yaml}");
    assert!(yaml.contains("existingContext: kind-dev"), "{yaml}");
    assert!(
        !yaml.contains("region"),
        "an existing cluster has no region: {yaml}"
    );
}

#[test]
fn interactive_answers_complete_a_configuration() {
    let parsed = config::lifecycle::Uninitialized::new()
        .parse(ConfigLayer::default(), None, &env(&[]))
        .unwrap();
    let errors = parsed.validate(&[]).unwrap_err();
    assert!(errors.only_missing());
    assert_eq!(errors.fields[0].problem, Problem::Missing);
    let mut answers = ConfigLayer::default();
    answers.cluster.name = Some("asked".into());
    let validated = parsed.with_answers(answers).validate(&[]).unwrap();
    assert_eq!(validated.configuration().cluster_name(), Some("asked"));
}

/// `environments` is a list in the file, comma-separated in the flag and the variable, with
/// flags > environment > file > default (`dev`); each layer is recorded as the source.
#[test]
fn environments_from_each_layer_and_the_default() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "envs.yaml",
        "cluster:\n  name: demo\nenvironments: [dev, stage, prod]\n",
    );
    let names =
        |validated: &config::Validated| validated.configuration().environments.names().to_vec();
    let base = cli(&["--cluster-name", "demo"]);
    let defaults = config::build(base.clone(), None, &env(&[]), &[]).unwrap();
    assert_eq!(names(&defaults), ["dev"]);
    assert!(defaults.provenance().get(Field::Environments).is_default());

    let from_file = config::build(base.clone(), Some(&file), &env(&[]), &[]).unwrap();
    assert_eq!(names(&from_file), ["dev", "stage", "prod"]);
    assert!(matches!(
        from_file.provenance().get(Field::Environments),
        Source::File { .. }
    ));

    let from_env = config::build(
        base.clone(),
        Some(&file),
        &env(&[("KALYPSO_ENVIRONMENTS", "qa,live")]),
        &[],
    )
    .unwrap();
    assert_eq!(names(&from_env), ["qa", "live"]);

    let from_flag = config::build(
        cli(&["--cluster-name", "demo", "--environments", "test,prod"]),
        Some(&file),
        &env(&[("KALYPSO_ENVIRONMENTS", "qa,live")]),
        &[],
    )
    .unwrap();
    assert_eq!(names(&from_flag), ["test", "prod"]);
    assert!(matches!(
        from_flag.provenance().get(Field::Environments),
        Source::Flag { flag } if flag == "--environments"
    ));

    // Exported, the list reads back as a YAML list giving the same environments.
    let exported = config::export::to_yaml(from_flag.configuration()).unwrap();
    assert!(
        exported.contains("environments:\n- test\n- prod\n"),
        "{exported}"
    );
}

/// A bad environment list names the field, the value, where it came from and the rule,
/// and exits 3; a comma inside one file entry is refused, not split.
#[test]
fn bad_environments_name_the_field_value_and_rule_with_exit_3() {
    let cases = [
        ("dev,main", "no environment may be called \"main\""),
        ("dev,Stage", "is not a DNS-1123 label"),
        ("dev,stage,dev", "\"dev\" is given twice"),
        ("a,b,c,d,e,f,g,h,i", "at most 8 environments (9 given)"),
    ];
    for (value, rule) in cases {
        let errors = config::build(
            cli(&["--cluster-name", "demo", "--environments", value]),
            None,
            &env(&[]),
            &[],
        )
        .unwrap_err();
        let message = errors.to_string();
        assert!(message.contains("environments"), "{value}: {message}");
        assert!(message.contains(value), "{value}: {message}");
        assert!(message.contains(rule), "{value}: {message}");
        assert!(message.contains("--environments"), "{value}: {message}");
        assert_eq!(errors.exit_code(), ExitCode::ConfigInvalid);
    }
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "comma.yaml",
        "cluster:\n  name: demo\nenvironments: [\"dev,stage\"]\n",
    );
    let message = config::build(cli(&[]), Some(&file), &env(&[]), &[])
        .unwrap_err()
        .to_string();
    assert!(message.contains("environments"), "{message}");
    assert!(message.contains("contains ','"), "{message}");
    // A mapping is no list of names.
    let file = write(
        dir.path(),
        "mapping.yaml",
        "cluster:\n  name: demo\nenvironments:\n  dev: true\n",
    );
    let message = config::build(cli(&[]), Some(&file), &env(&[]), &[])
        .unwrap_err()
        .to_string();
    assert!(message.contains("environments"), "{message}");
    assert!(
        message.contains("expected a list of environment names"),
        "{message}"
    );
    // One text is read as the flag reads it.
    let file = write(
        dir.path(),
        "text.yaml",
        "cluster:\n  name: demo\nenvironments: dev,prod\n",
    );
    let validated = config::build(cli(&[]), Some(&file), &env(&[]), &[]).unwrap();
    assert_eq!(
        validated.configuration().environments.names(),
        ["dev", "prod"]
    );
}

/// Several environments with a control plane the user brings are accepted (issue 16: each
/// environment's branch is checked there, and what it lacks is shown in the plan and made
/// with consent); the environment rules still hold for it.
#[test]
fn several_environments_with_an_existing_repository_are_accepted() {
    let validated = config::build(
        cli(&[
            "--cluster-name",
            "demo",
            "--environments",
            "dev,stage,prod",
            "--control-plane-repo",
            "https://github.com/acme/cp",
        ]),
        None,
        &env(&[]),
        &[],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        validated.configuration().environments.names(),
        ["dev", "stage", "prod"]
    );
    assert!(matches!(
        validated.configuration().repositories.control_plane,
        kalypso_bootstrap::config::RepoTarget::Existing(_)
    ));
    // The environment rules still hold with an existing control plane.
    let errors = config::build(
        cli(&[
            "--cluster-name",
            "demo",
            "--environments",
            "dev,main",
            "--control-plane-repo",
            "https://github.com/acme/cp",
        ]),
        None,
        &env(&[]),
        &[],
    )
    .unwrap_err();
    assert_eq!(
        errors.exit_code(),
        kalypso_bootstrap::exit::ExitCode::ConfigInvalid
    );
    assert!(errors.to_string().contains("environments"), "{errors}");
    // An existing gitops repository is checked on every environment's branch: accepted.
    config::build(
        cli(&[
            "--cluster-name",
            "demo",
            "--environments",
            "dev,stage",
            "--gitops-repo",
            "https://github.com/acme/gitops",
        ]),
        None,
        &env(&[]),
        &[],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    // One environment with an existing repository is fine.
    config::build(
        cli(&[
            "--cluster-name",
            "demo",
            "--environments",
            "stage",
            "--control-plane-repo",
            "https://github.com/acme/cp",
        ]),
        None,
        &env(&[]),
        &[],
    )
    .unwrap_or_else(|e| panic!("{e}"));
}

/// The attached workload clusters of a validated configuration, as (context, cluster
/// type, environment) with `self` for the management cluster.
fn attached(validated: &config::Validated) -> Vec<(String, String, String)> {
    validated
        .configuration()
        .workload_clusters
        .iter()
        .map(|cluster| {
            let context = match &cluster.context {
                config::WorkloadContext::Management => "self".to_string(),
                config::WorkloadContext::Named(name) => name.clone(),
            };
            (
                context,
                cluster.cluster_type.clone(),
                cluster.environment.clone(),
            )
        })
        .collect()
}

fn triple(context: &str, cluster_type: &str, environment: &str) -> (String, String, String) {
    (context.into(), cluster_type.into(), environment.into())
}

/// `--workload-cluster` is repeatable, `KALYPSO_WORKLOAD_CLUSTERS` comma-separated, the
/// file a list of `{context, clusterType, environment}`; flags > environment > file, and
/// none attached by default. `self` without an environment follows every environment, a
/// named context the first; the cluster type defaults to the one the tool creates.
#[test]
fn workload_clusters_from_each_layer_with_their_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let contexts = ["kind-a".to_string(), "kind-b".to_string()];
    let file = write(
        dir.path(),
        "workloads.yaml",
        "cluster:\n  name: demo\nenvironments: [dev, stage]\nworkloadClusters:\n  - context: kind-a\n    environment: stage\n  - {context: kind-b, clusterType: edge}\n",
    );
    let base = cli(&["--cluster-name", "demo", "--environments", "dev,stage"]);
    let none = config::build(base.clone(), None, &env(&[]), &contexts).unwrap();
    assert!(attached(&none).is_empty());
    assert!(!none.configuration().options.no_merge);

    let from_file = config::build(cli(&[]), Some(&file), &env(&[]), &contexts).unwrap();
    assert_eq!(
        attached(&from_file),
        [
            triple("kind-a", "default", "stage"),
            triple("kind-b", "edge", "dev")
        ]
    );
    assert!(matches!(
        from_file.provenance().get(Field::WorkloadClusters),
        Source::File { .. }
    ));

    let from_env = config::build(
        cli(&[]),
        Some(&file),
        &env(&[
            ("KALYPSO_WORKLOAD_CLUSTERS", "self,kind-b=large"),
            ("KALYPSO_NO_MERGE", "true"),
        ]),
        &contexts,
    )
    .unwrap();
    assert_eq!(
        attached(&from_env),
        [
            triple("self", "default", "dev"),
            triple("self", "default", "stage"),
            triple("kind-b", "large", "dev")
        ]
    );
    assert!(from_env.configuration().options.no_merge);

    let from_flags = config::build(
        cli(&[
            "--workload-cluster",
            "kind-a=edge",
            "--workload-cluster",
            "self",
            "--no-merge",
        ]),
        Some(&file),
        &env(&[("KALYPSO_WORKLOAD_CLUSTERS", "kind-b")]),
        &contexts,
    )
    .unwrap();
    assert_eq!(
        attached(&from_flags),
        [
            triple("kind-a", "edge", "dev"),
            triple("self", "default", "dev"),
            triple("self", "default", "stage")
        ]
    );
    assert_eq!(
        from_flags.provenance().get(Field::WorkloadClusters),
        &Source::flag("--workload-cluster")
    );
    assert!(from_flags.configuration().options.no_merge);

    // The management cluster's own context is `self`; exported, the list reads back the same.
    let existing = config::build(
        cli(&[
            "--cluster-existing",
            "kind-a",
            "--cluster-name",
            "demo",
            "--workload-cluster",
            "kind-a",
        ]),
        None,
        &env(&[]),
        &contexts,
    )
    .unwrap();
    assert_eq!(attached(&existing), [triple("self", "default", "dev")]);
    let exported = config::export::to_yaml(from_flags.configuration()).unwrap();
    let reread = write(dir.path(), "exported.yaml", &exported);
    let back = config::build(cli(&[]), Some(&reread), &env(&[]), &contexts).unwrap();
    assert_eq!(
        back.configuration().workload_clusters,
        from_flags.configuration().workload_clusters,
        "{exported}"
    );
}

/// Each refusal names the field, the value and the rule, and exits 3.
#[test]
fn bad_workload_clusters_name_the_field_value_and_rule_with_exit_3() {
    let contexts = ["kind-a".to_string()];
    let cases: [(&[&str], &str, &str); 6] = [
        (
            &["--workload-cluster", "kind-gone"],
            "kind-gone",
            "must be a context in the kubeconfig",
        ),
        (
            &["--workload-cluster", "kind-a=Edge_1"],
            "kind-a=Edge_1",
            "must be a DNS-1123 label",
        ),
        (
            &["--workload-cluster", "kind-a=default=prod"],
            "kind-a=default=prod",
            "must be one of the configured environments",
        ),
        (
            &[
                "--workload-cluster",
                "kind-a",
                "--workload-cluster",
                "kind-a=edge",
            ],
            "kind-a=edge",
            "attached to \"dev\" twice",
        ),
        (
            &["--workload-cluster", "self", "--workload-cluster", "self"],
            "self",
            "twice",
        ),
        (
            &["--workload-cluster", "=edge"],
            "=edge",
            "names a kube context",
        ),
    ];
    for (args, value, rule) in cases {
        let mut argv = vec!["--cluster-name", "demo"];
        argv.extend_from_slice(args);
        let errors = config::build(cli(&argv), None, &env(&[]), &contexts).unwrap_err();
        let message = errors.to_string();
        assert!(message.contains("workloadClusters"), "{args:?}: {message}");
        assert!(message.contains(value), "{args:?}: {message}");
        assert!(message.contains(rule), "{args:?}: {message}");
        assert!(
            message.contains("--workload-cluster"),
            "{args:?}: {message}"
        );
        assert_eq!(errors.exit_code(), ExitCode::ConfigInvalid);
    }
    // The management cluster's context and `self` are one cluster.
    let message = config::build(
        cli(&[
            "--cluster-existing",
            "kind-a",
            "--workload-cluster",
            "kind-a",
            "--workload-cluster",
            "self",
        ]),
        None,
        &env(&[]),
        &contexts,
    )
    .unwrap_err()
    .to_string();
    assert!(message.contains("management cluster"), "{message}");
    // A file entry that is no mapping, or holds a separator of the flag's form, is refused.
    let dir = tempfile::tempdir().unwrap();
    for (name, text, rule) in [
        (
            "list.yaml",
            "workloadClusters: kind-a\n",
            "expected a list of {context",
        ),
        (
            "comma.yaml",
            "workloadClusters: [{context: \"a,b\"}]\n",
            "contains ',' or '='",
        ),
        (
            "unknown.yaml",
            "workloadClusters: [{context: kind-a, branch: dev}]\n",
            "unknown field",
        ),
    ] {
        let file = write(dir.path(), name, text);
        let message = config::build(
            cli(&["--cluster-name", "demo"]),
            Some(&file),
            &env(&[]),
            &contexts,
        )
        .unwrap_err()
        .to_string();
        assert!(message.contains("workloadClusters"), "{name}: {message}");
        assert!(message.contains(rule), "{name}: {message}");
    }
}
