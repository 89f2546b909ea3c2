//! The documentation stays true to the program: every flag of `--help`, every configuration
//! key, environment variable and exit code is in the reference; the example configuration
//! loads, validates and is quoted there as it is; every troubleshooting topic the program
//! links to is a heading of the troubleshooting page, with a message and a fix; every link
//! between the pages resolves; every `kalypso-bootstrap` command the pages show parses; the
//! hints name only flags that exist; and every hint the real binary prints, for a failure
//! at each step, links to a section that exists.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use clap::Parser;
use kalypso_bootstrap::cli::Cli;
use kalypso_bootstrap::config::lifecycle::Uninitialized;
use kalypso_bootstrap::config::{ConfigLayer, Field};
use kalypso_bootstrap::engine::StepId;
use kalypso_bootstrap::state::{
    BootstrapState, Ownership, Phase, Resource, ResourceStatus, Timestamp,
};
use kalypso_bootstrap::tools::{ErrorClass, RateLimitReset, ToolKind};
use kalypso_bootstrap::troubleshooting::{linked_anchors, Topic, TROUBLESHOOTING_DOC};
use kalypso_bootstrap::ExitCode;
use regex::Regex;

// ---------------------------------------------------------------------------------------
// Reading the pages

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(relative: &str) -> String {
    std::fs::read_to_string(root().join(relative))
        .unwrap_or_else(|e| panic!("cannot read {relative}: {e}"))
}

/// README.md and every page under docs/, as (path relative to the root, text).
fn pages() -> Vec<(String, String)> {
    let mut pages = vec![("README.md".to_string(), read("README.md"))];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .expect("docs/ exists")
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    for path in docs {
        let relative = format!("docs/{}", path.file_name().unwrap().to_string_lossy());
        let text = read(&relative);
        pages.push((relative, text));
    }
    pages
}

/// The lines of `markdown` outside fenced code blocks.
fn prose_lines(markdown: &str) -> Vec<&str> {
    let mut in_fence = false;
    let mut lines = Vec::new();
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if !in_fence {
            lines.push(line);
        }
    }
    lines
}

/// The fenced code blocks of `markdown` with their info string (`sh`, `yaml`, ...).
fn code_blocks(markdown: &str) -> Vec<(String, String)> {
    let mut blocks = Vec::new();
    // (info, body, the fence's indent)
    let mut current: Option<(String, String, usize)> = None;
    for line in markdown.lines() {
        let trimmed = line.trim_start();
        if let Some(info) = trimmed.strip_prefix("```") {
            match current.take() {
                Some((info, body, _)) => blocks.push((info, body)),
                None => {
                    let indent = line.len() - trimmed.len();
                    current = Some((info.trim().to_string(), String::new(), indent));
                }
            }
            continue;
        }
        if let Some((_, body, indent)) = current.as_mut() {
            // A block inside a list item is indented like its fence; that indent is not code.
            let own = line.len() - line.trim_start().len();
            body.push_str(&line[own.min(*indent)..]);
            body.push('\n');
        }
    }
    blocks
}

/// GitHub's anchor for a heading: lowercase, punctuation other than `-` and `_` dropped,
/// spaces as hyphens.
fn github_anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The anchors of every heading of `markdown`, with GitHub's `-1`, `-2` for repeats.
fn anchors(markdown: &str) -> HashSet<String> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut anchors = HashSet::new();
    for line in prose_lines(markdown) {
        let Some(heading) = line.strip_prefix('#') else {
            continue;
        };
        let text = heading.trim_start_matches('#');
        if !text.starts_with(' ') {
            continue;
        }
        let base = github_anchor(text);
        let count = seen.entry(base.clone()).or_insert(0);
        let anchor = if *count == 0 {
            base.clone()
        } else {
            format!("{base}-{count}")
        };
        *count += 1;
        anchors.insert(anchor);
    }
    anchors
}

/// The text of the section under the heading whose anchor is `anchor`, up to the next
/// heading of the same or a higher level.
fn section<'a>(markdown: &'a str, anchor: &str) -> Option<&'a str> {
    let mut start = None;
    let mut level = 0;
    let mut offset = 0;
    let mut in_fence = false;
    for line in markdown.split_inclusive('\n') {
        let trimmed = line.trim_end();
        if trimmed.trim_start().starts_with("```") {
            in_fence = !in_fence;
        }
        let hashes = trimmed.chars().take_while(|c| *c == '#').count();
        let is_heading = !in_fence && hashes > 0 && trimmed[hashes..].starts_with(' ');
        if is_heading {
            match start {
                Some(from) if hashes <= level => return Some(&markdown[from..offset]),
                None if github_anchor(&trimmed[hashes..]) == anchor => {
                    start = Some(offset + line.len());
                    level = hashes;
                }
                _ => {}
            }
        }
        offset += line.len();
    }
    start.map(|from| &markdown[from..])
}

/// The rows of the first Markdown table in `text`, as trimmed cells (header and rule skipped).
fn table_rows(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut started = false;
    for line in text.lines() {
        let line = line.trim();
        if !line.starts_with('|') {
            if started {
                break;
            }
            continue;
        }
        started = true;
        let cells: Vec<String> = line
            .trim_matches('|')
            .split(" | ")
            .map(|cell| cell.trim().to_string())
            .collect();
        if cells
            .iter()
            .all(|c| c.chars().all(|ch| ch == '-' || ch == ' '))
        {
            continue;
        }
        rows.push(cells);
    }
    // The first row is the header.
    rows.into_iter().skip(1).collect()
}

fn reference() -> String {
    read("docs/reference.md")
}

fn troubleshooting() -> String {
    read(TROUBLESHOOTING_DOC)
}

// ---------------------------------------------------------------------------------------
// The command line

/// `--flag` and `-x` of the real binary's `--help`.
fn help_flags() -> BTreeSet<String> {
    let output = Command::cargo_bin("kalypso-bootstrap")
        .unwrap()
        .arg("--help")
        .output()
        .unwrap();
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    let entry = Regex::new(r"(?m)^\s+(?:(-[a-zA-Z]), )?(--[a-z][a-z0-9-]*)").unwrap();
    let mut flags = BTreeSet::new();
    for captures in entry.captures_iter(&help) {
        if let Some(short) = captures.get(1) {
            flags.insert(short.as_str().to_string());
        }
        flags.insert(captures[2].to_string());
    }
    assert!(
        flags.len() > 40,
        "the help parser found too few flags: {flags:?}"
    );
    flags
}

#[test]
fn every_flag_in_help_is_in_the_reference_and_every_documented_flag_exists() {
    let reference = reference();
    let command_line = section(&reference, "command-line").expect("a Command line section");
    let flags = help_flags();
    let missing: Vec<&String> = flags
        .iter()
        .filter(|flag| !command_line.contains(&format!("`{flag}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "flags of --help missing from docs/reference.md#command-line: {missing:?}"
    );

    // The other way round: every flag in a first column of the section's tables exists.
    let first_cell = Regex::new(r"(?m)^\| `(-[-a-zA-Z0-9]+)`(?:, `(--[a-z0-9-]+)`)? \|").unwrap();
    let mut documented = 0;
    for captures in first_cell.captures_iter(command_line) {
        for flag in captures.iter().skip(1).flatten() {
            documented += 1;
            assert!(
                flags.contains(flag.as_str()),
                "docs/reference.md documents {} which --help does not list",
                flag.as_str()
            );
        }
    }
    assert!(
        documented >= flags.len(),
        "only {documented} flags in the tables"
    );
}

/// A command line as the shell would split it (quotes and backslash escapes; no
/// expansion).
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                for q in chars.by_ref() {
                    if q == '\'' {
                        break;
                    }
                    word.push(q);
                }
            }
            '"' => {
                in_word = true;
                while let Some(q) = chars.next() {
                    match q {
                        '"' => break,
                        '\\' => word.extend(chars.next()),
                        _ => word.push(q),
                    }
                }
            }
            '\\' => {
                in_word = true;
                word.extend(chars.next());
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

/// Every `kalypso-bootstrap …` invocation in the shell blocks of the pages, as argv
/// (continuation lines joined, comments and leading `VAR=value` assignments dropped).
fn documented_commands() -> Vec<(String, Vec<String>)> {
    let mut commands = Vec::new();
    for (page, text) in pages() {
        for (info, body) in code_blocks(&text) {
            if info != "sh" {
                continue;
            }
            let joined = body.replace("\\\n", " ");
            for line in joined.lines() {
                let line = match line.find(" #") {
                    Some(at) => &line[..at],
                    None => line,
                };
                let words = shell_words(line);
                let mut words = words
                    .into_iter()
                    .skip_while(|w| w.contains('=') && !w.starts_with('-'))
                    .peekable();
                if words.peek().map(String::as_str) != Some("kalypso-bootstrap") {
                    continue;
                }
                commands.push((page.clone(), words.collect()));
            }
        }
    }
    commands
}

#[test]
fn every_documented_kalypso_bootstrap_command_parses() {
    let commands = documented_commands();
    assert!(
        commands.len() >= 15,
        "expected the scenarios and utility commands, found {}: {commands:?}",
        commands.len()
    );
    for (page, argv) in &commands {
        if let Err(error) = Cli::try_parse_from(argv) {
            panic!("{page}: `{}` does not parse: {error}", argv.join(" "));
        }
    }
    // The README covers each scenario and utility the issue asks for.
    let readme: Vec<String> = commands
        .iter()
        .filter(|(page, _)| page == "README.md")
        .map(|(_, argv)| argv.join(" "))
        .collect();
    for needle in [
        "--cluster-existing",
        "--control-plane-repo",
        "--gitops-repo",
        "--non-interactive --config",
        "--auto-rollback",
        "--dry-run",
        "--status",
        "--clean",
        "--validate-only",
        "--demo",
    ] {
        assert!(
            readme.iter().any(|command| command.contains(needle)),
            "no README command uses {needle}: {readme:#?}"
        );
    }
}

/// Issue 16 §1: the README's "Try it on your laptop" gives the three steps in order (a kind
/// cluster, a GitHub token, the run on its context) and links the page that goes with it.
#[test]
fn the_readme_tries_it_on_a_laptop_in_three_steps_and_links_its_page() {
    let readme = read("README.md");
    let laptop =
        section(&readme, "try-it-on-your-laptop").expect("a 'Try it on your laptop' section");
    let mut from = 0;
    for step in [
        "1. `kind create cluster`",
        "2. `export GITHUB_TOKEN=…`",
        "3. `kalypso-bootstrap --cluster-existing kind-kind`",
    ] {
        let at = laptop[from..]
            .find(step)
            .unwrap_or_else(|| panic!("{step:?} is not the next step of:\n{laptop}"));
        from += at + step.len();
    }
    assert!(laptop.contains("(docs/laptop.md)"), "{laptop}");
    let page = read("docs/laptop.md");
    assert!(
        page.contains("kalypso-bootstrap --cluster-existing kind-kind"),
        "{page}"
    );
    let index = section(&readme, "documentation").expect("the documentation index");
    assert!(
        index.contains("[docs/laptop.md](docs/laptop.md)"),
        "{index}"
    );
}

// ---------------------------------------------------------------------------------------
// Configuration, environment, exit codes, state file

#[test]
fn every_configuration_key_is_in_the_reference_with_its_flag_and_variable() {
    let reference = reference();
    let keys = section(&reference, "configuration-keys").expect("a Configuration keys section");
    let rows = table_rows(keys);
    let mut documented = BTreeSet::new();
    for row in &rows {
        let key = row[0].trim_matches('`');
        let field = Field::from_path(key)
            .unwrap_or_else(|| panic!("docs/reference.md documents unknown key {key}"));
        documented.insert(key.to_string());
        assert_eq!(row[1], format!("`{}`", field.flag()), "flag of {key}");
        assert_eq!(
            row[2],
            format!("`{}`", field.env_var()),
            "variable of {key}"
        );
    }
    let all: BTreeSet<String> = Field::ALL.iter().map(|f| f.path().to_string()).collect();
    assert_eq!(
        documented, all,
        "every key of the field table, and only those"
    );
}

#[test]
fn every_environment_variable_the_program_reads_is_in_the_reference() {
    let reference = reference();
    let environment =
        section(&reference, "environment-variables").expect("an Environment variables section");
    let output = Command::cargo_bin("kalypso-bootstrap")
        .unwrap()
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8(output.stdout).unwrap();
    let named = Regex::new(
        r"\b(KALYPSO_[A-Z_]+|AZURE_[A-Z_]+|GITHUB_TOKEN|GH_TOKEN|KUBECONFIG|NO_COLOR|DEBUG)\b",
    )
    .unwrap();
    // `KALYPSO_*` in the help is the family, not a variable.
    let mut variables: BTreeSet<String> = named
        .find_iter(&help)
        .map(|m| m.as_str().to_string())
        .filter(|name| !name.ends_with('_'))
        .collect();
    for field in Field::ALL {
        variables.insert(field.env_var().to_string());
    }
    // Read outside the configuration table: the demo's and the front end's.
    for extra in [
        "KALYPSO_DEMO_FAIL",
        "KALYPSO_DEMO_LATENCY",
        "KALYPSO_DEMO_REPOS",
        "KALYPSO_DEMO_ABSENT",
        "KALYPSO_DEMO_CHATTER",
        "KALYPSO_DEMO_STAND_IN",
        "HOME",
        "TMPDIR",
        "TERM",
    ] {
        variables.insert(extra.to_string());
    }
    let configuration = section(&reference, "configuration-keys").unwrap();
    for variable in &variables {
        let quoted = format!("`{variable}`");
        assert!(
            environment.contains(&quoted) || configuration.contains(&quoted),
            "{variable} is not documented in docs/reference.md"
        );
    }
}

/// FR-018 named `AZURE_TOKEN`; az reads no access token from the environment, so the program
/// does not read it either, and the reference says so (with the reason) where a user looks.
#[test]
fn azure_token_is_documented_as_not_read_and_is_not_read() {
    let reference = reference();
    let environment = section(&reference, "environment-variables").unwrap();
    assert!(
        environment.contains("`AZURE_TOKEN` is **not read**"),
        "the Environment variables section says AZURE_TOKEN is not read"
    );
    assert!(
        environment.contains("--federated-token"),
        "and why: the one way to hand az a token is argv"
    );
    fn walk(dir: &Path, hits: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, hits);
            } else if std::fs::read_to_string(&path)
                .is_ok_and(|source| source.contains("\"AZURE_TOKEN\""))
            {
                hits.push(path);
            }
        }
    }
    let mut hits = Vec::new();
    walk(&root().join("src"), &mut hits);
    assert!(hits.is_empty(), "AZURE_TOKEN is named in {hits:?}");
}

fn exit_code_rows(markdown: &str, page: &str) -> Vec<(i32, String)> {
    let exit_codes = section(markdown, "exit-codes")
        .unwrap_or_else(|| panic!("{page} has no Exit codes section"));
    table_rows(exit_codes)
        .into_iter()
        .map(|row| {
            let code = row[0]
                .parse()
                .unwrap_or_else(|_| panic!("{page}: {:?} is not an exit code", row[0]));
            (code, row[1].clone())
        })
        .collect()
}

#[test]
fn every_exit_code_is_documented_with_its_meaning() {
    for (page, text) in [
        ("docs/reference.md", reference()),
        ("README.md", read("README.md")),
    ] {
        let rows = exit_code_rows(&text, page);
        let documented: Vec<i32> = rows.iter().map(|(code, _)| *code).collect();
        let all: Vec<i32> = ExitCode::ALL.iter().map(|code| code.code()).collect();
        assert_eq!(documented, all, "{page}: the exit codes, in order");
        for (code, meaning) in rows {
            let known = ExitCode::ALL
                .into_iter()
                .find(|c| c.code() == code)
                .unwrap();
            assert!(
                meaning.starts_with(known.meaning()),
                "{page}: exit code {code} reads {meaning:?}, the program says {:?}",
                known.meaning()
            );
        }
    }
}

/// Every key of `value` (objects only), as `prefix.key` paths and bare names.
fn json_keys(value: &serde_json::Value, names: &mut BTreeSet<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, inner) in map {
                names.insert(key.clone());
                json_keys(inner, names);
            }
        }
        serde_json::Value::Array(items) => {
            for item in items {
                json_keys(item, names);
            }
        }
        _ => {}
    }
}

#[test]
fn every_key_of_the_state_file_is_in_the_reference() {
    let now = Timestamp::now();
    let mut state = BootstrapState::new(now);
    state.step_started(StepId::ClusterCreate.as_str(), Phase::Cluster, now);
    state.record_resource(
        Resource::Namespace {
            kube_context: "demo".into(),
            name: "kalypso-system".into(),
        },
        Ownership::CreatedByUs,
        ResourceStatus::Present,
        Some(StepId::InstallKalypso.as_str()),
        now,
    );
    let value: serde_json::Value = serde_json::from_str(&state.to_json()).unwrap();
    let mut keys = BTreeSet::new();
    json_keys(&value, &mut keys);
    let reference = reference();
    let state_section = section(&reference, "state-file").expect("a State file section");
    for key in &keys {
        assert!(
            state_section.contains(&format!("`{key}`")),
            "state file key {key} is not in docs/reference.md#state-file"
        );
    }
    for kind in [
        "resource_group",
        "aks_cluster",
        "kube_context",
        "repository",
        "repo_secret",
        "repo_label",
        "repo_file_commit",
        "flux",
        "namespace",
        "helm_release",
        "kalypso_crds",
    ] {
        assert!(
            state_section.contains(&format!("`{kind}`")),
            "resource kind {kind}"
        );
    }
}

#[test]
fn every_step_id_is_in_the_reference() {
    let reference = reference();
    let steps = section(&reference, "step-ids").expect("a Step ids section");
    for id in StepId::ALL {
        assert!(
            steps.contains(&format!("`{id}`")),
            "step {id} is not in docs/reference.md#step-ids"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Configuration examples

fn load_and_validate(path: &Path) {
    let parsed = Uninitialized::new()
        .parse(ConfigLayer::default(), Some(path), &HashMap::new())
        .unwrap_or_else(|errors| panic!("{} does not load:\n{errors}", path.display()));
    if let Err(errors) = parsed.validate(&[]) {
        panic!("{} does not validate:\n{errors}", path.display());
    }
}

#[test]
fn the_example_config_loads_validates_and_is_quoted_in_the_reference_as_it_is() {
    let path = root().join("assets/bootstrap-config.example.yaml");
    load_and_validate(&path);
    let example = std::fs::read_to_string(&path).unwrap();
    let reference = reference();
    let quoted = code_blocks(&reference)
        .into_iter()
        .any(|(info, body)| info == "yaml" && body == example);
    assert!(
        quoted,
        "docs/reference.md must quote assets/bootstrap-config.example.yaml exactly"
    );
}

#[test]
fn every_yaml_configuration_in_the_readme_loads_and_validates() {
    let dir = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for (index, (info, body)) in code_blocks(&read("README.md")).into_iter().enumerate() {
        if info != "yaml" {
            continue;
        }
        let path = dir.path().join(format!("readme-{index}.yaml"));
        std::fs::write(&path, body).unwrap();
        load_and_validate(&path);
        checked += 1;
    }
    assert!(checked >= 1, "the README's CI configuration was not found");
}

// ---------------------------------------------------------------------------------------
// Troubleshooting topics and links

#[test]
fn every_troubleshooting_topic_has_a_section_with_a_message_and_a_fix() {
    let page = troubleshooting();
    let headings = anchors(&page);
    for topic in Topic::ALL {
        assert!(
            headings.contains(topic.anchor()),
            "{TROUBLESHOOTING_DOC} has no heading for #{} (topic {topic:?})",
            topic.anchor()
        );
        let text = section(&page, topic.anchor()).unwrap();
        assert!(
            text.contains("```"),
            "#{}: the section shows no message",
            topic.anchor()
        );
        assert!(
            text.contains("**Fix**"),
            "#{}: the section gives no fix",
            topic.anchor()
        );
    }
}

#[test]
fn the_anchor_function_follows_github() {
    assert_eq!(github_anchor(" Flux API versions"), "flux-api-versions");
    assert_eq!(
        github_anchor(" Cluster exists, not created by this tool"),
        "cluster-exists-not-created-by-this-tool"
    );
    assert_eq!(
        github_anchor(" `--dry-run` and `KALYPSO_*`"),
        "--dry-run-and-kalypso_"
    );
    let page = "# A\n## A\n```\n# not a heading\n```\n### B c\n";
    let found = anchors(page);
    assert_eq!(
        found,
        HashSet::from(["a".to_string(), "a-1".to_string(), "b-c".to_string()])
    );
}

#[test]
fn every_hint_of_every_error_class_links_to_an_existing_section() {
    let headings = anchors(&troubleshooting());
    let classes = [
        ErrorClass::NotFound,
        ErrorClass::AlreadyExists,
        ErrorClass::NotAuthenticated,
        ErrorClass::PermissionDenied {
            missing_scope: Some("delete_repo".into()),
        },
        ErrorClass::PermissionDenied {
            missing_scope: None,
        },
        ErrorClass::QuotaExceeded,
        ErrorClass::RateLimited {
            reset: Some(RateLimitReset::After(std::time::Duration::from_secs(60))),
        },
        ErrorClass::RateLimited { reset: None },
        ErrorClass::Timeout,
        ErrorClass::Transient,
        ErrorClass::Unreachable,
        ErrorClass::Usage,
        ErrorClass::Other,
    ];
    let tools = [
        ToolKind::Az,
        ToolKind::Gh,
        ToolKind::Git,
        ToolKind::Kubectl,
        ToolKind::Helm,
        ToolKind::Other,
    ];
    for class in &classes {
        for tool in tools {
            let hint = class.hint(tool);
            let links = linked_anchors(&hint);
            assert_eq!(links.len(), 1, "{class:?}/{tool:?}: {hint}");
            assert!(
                headings.contains(&links[0]),
                "{class:?}/{tool:?} links to #{} which {TROUBLESHOOTING_DOC} lacks",
                links[0]
            );
            assert!(
                hint.ends_with(&format!("; run kalypso-bootstrap --explain {}", links[0])),
                "the --explain command comes last: {hint}"
            );
        }
    }
}

/// `docs/<page>.md#anchor` mentions (as the program prints them) and Markdown links
/// `](target)` in `text`, resolved against `base` (the directory of the page).
fn check_links(origin: &str, text: &str, base: &Path, problems: &mut Vec<String>) {
    let mention = Regex::new(r"(docs/[a-z-]+\.md)#([a-z0-9_-]+)").unwrap();
    for captures in mention.captures_iter(text) {
        check_target(
            origin,
            &root().join(&captures[1]),
            Some(&captures[2]),
            problems,
        );
    }
    let link = Regex::new(r"\]\(([^)\s]+)\)").unwrap();
    for captures in link.captures_iter(text) {
        let target = &captures[1];
        if target.starts_with("http://") || target.starts_with("https://") {
            continue;
        }
        let (path, anchor) = match target.split_once('#') {
            Some((path, anchor)) => (path, Some(anchor)),
            None => (target, None),
        };
        let file = if path.is_empty() {
            PathBuf::from(origin)
        } else {
            base.join(path)
        };
        check_target(origin, &root().join(file), anchor, problems);
    }
}

fn check_target(origin: &str, file: &Path, anchor: Option<&str>, problems: &mut Vec<String>) {
    if !file.exists() {
        problems.push(format!("{origin}: {} does not exist", file.display()));
        return;
    }
    if let Some(anchor) = anchor {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        if !anchors(&text).contains(anchor) {
            problems.push(format!(
                "{origin}: {}#{anchor} has no such heading",
                file.display()
            ));
        }
    }
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
}

#[test]
fn every_link_in_the_pages_and_the_program_resolves() {
    let mut problems = Vec::new();
    for (page, text) in pages() {
        let base = Path::new(&page).parent().unwrap().to_path_buf();
        check_links(&page, &text, &base, &mut problems);
    }
    let mut sources = Vec::new();
    rust_files(&root().join("src"), &mut sources);
    let mut mentions = 0;
    // Only the program's own mentions (`docs/x.md#y`); Rust doc links are not pages.
    let mention = Regex::new(r"(docs/[a-z-]+\.md)#([a-z0-9_-]+)").unwrap();
    for file in sources {
        let text = std::fs::read_to_string(&file).unwrap();
        mentions += text.matches("docs/").count();
        let origin = file.strip_prefix(root()).unwrap().display().to_string();
        for captures in mention.captures_iter(&text) {
            check_target(
                &origin,
                &root().join(&captures[1]),
                Some(&captures[2]),
                &mut problems,
            );
        }
    }
    assert!(mentions > 0, "the program links to no page at all?");
    assert!(
        problems.is_empty(),
        "broken links:\n{}",
        problems.join("\n")
    );
}

// ---------------------------------------------------------------------------------------
// Hints, as the program prints them

/// Long flags of our command line (without `--help`/`--version`).
fn our_flags() -> BTreeSet<String> {
    help_flags()
        .into_iter()
        .filter(|f| f.starts_with("--"))
        .collect()
}

/// Every `--flag` inside a string literal of `text`.
fn flags_in_string_literals(text: &str) -> Vec<String> {
    let literal = Regex::new(r#""(?:[^"\\]|\\.)*""#).unwrap();
    let flag = Regex::new(r"(?:^|[\s(`'])(--[a-z][a-z0-9-]+)").unwrap();
    let mut found = Vec::new();
    for m in literal.find_iter(text) {
        for captures in flag.captures_iter(m.as_str().trim_matches('"')) {
            found.push(captures[1].to_string());
        }
    }
    found
}

#[test]
fn hints_and_messages_name_only_flags_that_exist() {
    // Flags the adapters pass to az, gh, git, kubectl and helm (the contract tests run
    // them against the real tools), plus those of commands the hints suggest by hand.
    let mut allowed = our_flags();
    let mut adapters = Vec::new();
    rust_files(&root().join("src/tools"), &mut adapters);
    for file in &adapters {
        allowed.extend(flags_in_string_literals(
            &std::fs::read_to_string(file).unwrap(),
        ));
    }
    for by_hand in [
        "--versions",
        "--tenant",
        "--scopes",
        "--service-principal",
        // `git revert --no-edit`: the manual revert of a commit to a repository you gave.
        "--no-edit",
        // `gh secret set NEXT_ENVIRONMENT --env ENV --repo R --body NEXT`: setting by hand an
        // environment's NEXT_ENVIRONMENT that exists (its value is no secret).
        "--body",
    ] {
        allowed.insert(by_hand.to_string());
    }
    let mut checked = Vec::new();
    rust_files(&root().join("src/engine"), &mut checked);
    rust_files(&root().join("src/prereq"), &mut checked);
    rust_files(&root().join("src/config"), &mut checked);
    checked.push(root().join("src/tools/classify.rs"));
    checked.push(root().join("src/tools/error.rs"));
    checked.push(root().join("src/app/run.rs"));
    checked.push(root().join("src/state/error.rs"));
    let mut unknown = Vec::new();
    let mut seen = 0;
    for file in checked {
        let text = std::fs::read_to_string(&file).unwrap();
        // Unit tests may name flags that do not exist on purpose.
        let text = text.split("#[cfg(test)]").next().unwrap_or_default();
        for flag in flags_in_string_literals(text) {
            seen += 1;
            if !allowed.contains(&flag) {
                unknown.push(format!(
                    "{}: {flag}",
                    file.strip_prefix(root()).unwrap().display()
                ));
            }
        }
    }
    assert!(seen > 20, "only {seen} flags found: the scan is broken");
    assert!(
        unknown.is_empty(),
        "messages name flags that do not exist:\n{}",
        unknown.join("\n")
    );
}

#[test]
fn the_flag_scan_finds_a_wrong_flag() {
    let found = flags_in_string_literals(
        r#"x.with_hint("choose another --region or `--cluster-vm-size`")"#,
    );
    assert_eq!(
        found,
        vec!["--region".to_string(), "--cluster-vm-size".to_string()]
    );
    assert!(!our_flags().contains("--region"), "--region is not ours");
}

const CANARY: &str = "ghp_DOCScanary0123456789abcdefghijKLMNO";

fn demo(home: &Path) -> Command {
    crate::support::demo::demo_command(home, CANARY)
}

/// The hint lines of a run's output, each checked: it links to the troubleshooting page,
/// last, at a heading that exists.
fn check_hints(what: &str, output: &str, headings: &HashSet<String>) -> usize {
    let mut hints = 0;
    for line in output.lines() {
        let lower = line.to_ascii_lowercase();
        let Some(at) = lower.find("hint:") else {
            continue;
        };
        hints += 1;
        let hint = &line[at..];
        let links = linked_anchors(hint);
        assert!(!links.is_empty(), "{what}: a hint without a link: {line}");
        for anchor in links {
            assert!(
                headings.contains(&anchor),
                "{what}: the hint links to #{anchor}, which {TROUBLESHOOTING_DOC} lacks: {line}"
            );
        }
    }
    hints
}

#[test]
fn every_hint_printed_for_a_failure_at_each_step_links_to_an_existing_section() {
    let headings = anchors(&troubleshooting());
    for step in StepId::WITHOUT_WORKLOAD_CLUSTERS {
        let home = tempfile::tempdir().unwrap();
        let output = demo(home.path())
            .env("KALYPSO_DEMO_FAIL", step.as_str())
            .arg("--state-file")
            .arg(home.path().join("state.json"))
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        let code = output.status.code().unwrap_or(-1);
        assert!(
            [4, 5, 6].contains(&code),
            "{step}: exit {code}\n{stdout}\n{stderr}"
        );
        let all = format!("{stdout}\n{stderr}");
        let hints = check_hints(step.as_str(), &all, &headings);
        // Said once, in the failure block (issue 15: each error once).
        assert_eq!(
            hints, 1,
            "{step}: the failure block gives the hint, once:\n{all}"
        );
        assert!(!all.contains(CANARY), "{step}: the token was printed");
    }
}

#[test]
fn hints_before_a_run_link_to_existing_sections_too() {
    let headings = anchors(&troubleshooting());
    let home = tempfile::tempdir().unwrap();

    // Prerequisites: no tool on PATH, no token.
    let output = Command::cargo_bin("kalypso-bootstrap")
        .unwrap()
        .env_clear()
        .env("HOME", home.path())
        .env("PATH", home.path())
        .args(["--validate-only", "--non-interactive"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let links = linked_anchors(&stdout);
    assert!(
        links.contains(&Topic::ToolMissing.anchor().to_string())
            && links.contains(&Topic::GithubToken.anchor().to_string()),
        "{stdout}"
    );
    assert!(
        links.iter().all(|anchor| headings.contains(anchor)),
        "{stdout}"
    );

    // Configuration errors.
    let output = Command::cargo_bin("kalypso-bootstrap")
        .unwrap()
        .env_clear()
        .env("HOME", home.path())
        .args([
            "--cluster-name",
            "Bad_Name",
            "--non-interactive",
            "--dry-run",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        linked_anchors(&stderr),
        vec![Topic::ConfigurationInvalid.anchor().to_string()],
        "{stderr}"
    );

    // A corrupt state file.
    let state = home.path().join("state.json");
    std::fs::write(&state, "{\"version\":").unwrap();
    let output = Command::cargo_bin("kalypso-bootstrap")
        .unwrap()
        .env_clear()
        .env("HOME", home.path())
        .args(["--status", "--state-file"])
        .arg(&state)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        linked_anchors(&stderr),
        vec![Topic::StateUnusable.anchor().to_string()],
        "{stderr}"
    );
}

/// The sequence of a run (open the state, observe, plan, refuse a conflict, run, roll back
/// after a failure) is written once, in `engine::session`: the front ends supply only how
/// they ask and where events go, and never drive the engine's steps themselves.
#[test]
fn front_ends_run_the_engine_through_the_session_only() {
    let driving = [
        "Bootstrap::open",
        "open_read_only",
        "first_conflict",
        "refusal()",
        "observe_reporting",
        ".observe(",
        "\"--auto-rollback\"",
        "ConsentRule::new(",
        // `--clean`'s consent too is the session's (`Session::clean`), not wired again here.
        ".removal().run(",
        "run(&mut consent",
    ];
    let mut files = Vec::new();
    rust_files(&root().join("src/app"), &mut files);
    rust_files(&root().join("src/tui"), &mut files);
    rust_files(&root().join("src/headless"), &mut files);
    assert!(files.len() > 10, "only {} files scanned", files.len());
    let mut found = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        let code = code.split("#[cfg(all(test").next().unwrap_or_default();
        for (number, line) in code.lines().enumerate() {
            if line.trim_start().starts_with("//") {
                continue;
            }
            for call in driving {
                if line.contains(call) {
                    found.push(format!(
                        "{}:{}: {}",
                        file.strip_prefix(root()).unwrap().display(),
                        number + 1,
                        line.trim()
                    ));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "front ends driving the engine past engine::session:\n{}",
        found.join("\n")
    );
}

/// The `--demo` presets (its options, its short waits) live with the demo, at the edge:
/// the engine has no demo-shaped constructor (its `demo` flag only labels the run).
#[test]
fn the_engine_holds_no_demo_presets() {
    let mut files = Vec::new();
    rust_files(&root().join("src/engine"), &mut files);
    assert!(files.len() > 10, "only {} files scanned", files.len());
    let preset = Regex::new(r"fn demo\s*[(<]").unwrap();
    let found: Vec<String> = files
        .iter()
        .filter(|file| preset.is_match(&std::fs::read_to_string(file).unwrap()))
        .map(|file| file.strip_prefix(root()).unwrap().display().to_string())
        .collect();
    assert!(found.is_empty(), "demo presets in the engine: {found:?}");
}

/// The lines of `code` naming a path of `above` (`module` or `module::Item`): written out
/// (`crate::tools::runner::…`) or in a group import (`use crate::tools::{CancellationToken,
/// CommandSpec};`, over several lines too), with their line numbers.
fn upward_paths(code: &str, above: &[&str]) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (number, line) in code.lines().enumerate() {
        if line.trim_start().starts_with("//") {
            continue;
        }
        if above
            .iter()
            .any(|module| line.contains(&format!("crate::{module}")))
        {
            found.push((number + 1, line.trim().to_string()));
        }
    }
    let use_statement =
        Regex::new(r"(?m)^[ \t]*(?:pub(?:\([a-z]+\))?\s+)?use\s+crate::[^;]*;").unwrap();
    for statement in use_statement.find_iter(code) {
        let text = statement
            .as_str()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        for module in above {
            let Some((parent, item)) = module.rsplit_once("::") else {
                continue;
            };
            let grouped = Regex::new(&format!(
                r"crate::{}::\{{[^;]*\b{}\b",
                regex::escape(parent),
                regex::escape(item)
            ))
            .unwrap();
            if grouped.is_match(&text) {
                let number = code[..statement.start()].lines().count() + 1;
                found.push((number, text.clone()));
            }
        }
    }
    found
}

/// The import scan catches a path named outright and inside a group import, but not a
/// sibling that is allowed.
#[test]
fn the_import_scan_finds_runner_types_in_group_imports() {
    let above = ["tools::CommandSpec", "tools::runner", "app"];
    let code = "use crate::tools::CancellationToken;\n\
                use crate::tools::{\n    CancellationToken,\n    CommandSpec,\n};\n\
                use crate::tools::{runner::RunError, ToolKind};\n\
                let spec = crate::tools::CommandSpec::new(\"az\");\n\
                use crate::tools::{CommandSpecs};\n\
                // crate::app is named in a comment only\n";
    let lines: Vec<usize> = upward_paths(code, &above)
        .into_iter()
        .map(|(number, _)| number)
        .collect();
    assert_eq!(lines, vec![7, 2, 6], "{:?}", upward_paths(code, &above));
}

/// The removal pipeline is the only way anything is deleted: no public function outside it
/// hands back a removal's report, i.e. removes without the pipeline's consent (the acting
/// end, `remove_planned` and the pipeline's `act`, are private to the engine).
#[test]
fn no_public_function_removes_around_the_consent_of_the_pipeline() {
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    let mut found = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        for (start, _) in code.match_indices("pub ") {
            let rest = &code[start..];
            let Some(signature_end) = rest.find(['{', ';']) else {
                continue;
            };
            let signature = &rest[..signature_end];
            let is_function =
                signature.starts_with("pub fn ") || signature.starts_with("pub async fn ");
            if is_function && signature.contains("RollbackReport") {
                found.push(format!(
                    "{}: {}",
                    file.strip_prefix(root()).unwrap().display(),
                    signature.lines().next().unwrap_or_default()
                ));
            }
        }
    }
    assert!(
        found.is_empty(),
        "public ways to remove without the pipeline's consent:\n{}",
        found.join("\n")
    );
}

/// The README's "imports point down that flow only": no module reaches up to a layer
/// above it (unit tests may, e.g. to check the configuration against the command line).
#[test]
fn imports_point_down_the_flow_only() {
    // The simulator and the demo wiring over it are at the edge (the `demo` feature): only
    // the demo module and the app may name them.
    let rules: &[(&str, &[&str])] = &[
        (
            "src/tools",
            &[
                "engine", "prereq", "state", "cli", "app", "tui", "headless", "sim", "demo",
            ],
        ),
        (
            "src/state",
            &["cli", "engine", "app", "tui", "headless", "sim", "demo"],
        ),
        (
            "src/prereq",
            &["engine", "cli", "app", "tui", "headless", "sim", "demo"],
        ),
        (
            "src/engine",
            &["cli", "app", "tui", "headless", "sim", "demo"],
        ),
        (
            "src/config",
            &["engine", "app", "tui", "headless", "sim", "demo"],
        ),
        ("src/headless", &["app", "tui", "sim", "demo"]),
        // The wizard knows events and its backend, never how commands are run (neither the
        // runner module nor its types re-exported from `tools`).
        (
            "src/tui",
            &[
                "tools::runner",
                "tools::CommandSpec",
                "tools::CommandRunner",
                "tools::ProcessRunner",
                "app",
                "headless",
                "sim",
                "demo",
            ],
        ),
    ];
    let mut upward = Vec::new();
    let mut scanned = 0;
    for (layer, above) in rules {
        let mut files = Vec::new();
        rust_files(&root().join(layer), &mut files);
        for file in files {
            scanned += 1;
            let text = std::fs::read_to_string(&file).unwrap();
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            for (number, line) in upward_paths(code, above) {
                upward.push(format!(
                    "{}:{number}: {line}",
                    file.strip_prefix(root()).unwrap().display(),
                ));
            }
        }
    }
    assert!(
        scanned > 50,
        "only {scanned} files scanned: the scan is broken"
    );
    assert!(
        upward.is_empty(),
        "imports that point up the flow:\n{}",
        upward.join("\n")
    );
}

/// Every type the source defines (files named relative to `base`) (struct, enum, union, trait, type alias), private ones and
/// those inside functions and test modules too, with the file that defines it. Associated
/// types of impls and traits are not definitions of a name of their own.
fn type_definitions(base: &Path, files: &[PathBuf]) -> HashMap<String, Vec<String>> {
    use syn::visit::Visit;

    struct Definitions<'a> {
        file: &'a str,
        defined: &'a mut HashMap<String, Vec<String>>,
    }
    impl Definitions<'_> {
        fn add(&mut self, name: &syn::Ident) {
            self.defined
                .entry(name.to_string())
                .or_default()
                .push(self.file.to_string());
        }
    }
    impl<'ast> Visit<'ast> for Definitions<'_> {
        fn visit_item_struct(&mut self, item: &'ast syn::ItemStruct) {
            self.add(&item.ident);
            syn::visit::visit_item_struct(self, item);
        }
        fn visit_item_enum(&mut self, item: &'ast syn::ItemEnum) {
            self.add(&item.ident);
            syn::visit::visit_item_enum(self, item);
        }
        fn visit_item_union(&mut self, item: &'ast syn::ItemUnion) {
            self.add(&item.ident);
            syn::visit::visit_item_union(self, item);
        }
        fn visit_item_trait(&mut self, item: &'ast syn::ItemTrait) {
            self.add(&item.ident);
            syn::visit::visit_item_trait(self, item);
        }
        fn visit_item_type(&mut self, item: &'ast syn::ItemType) {
            self.add(&item.ident);
            syn::visit::visit_item_type(self, item);
        }
    }

    let mut defined: HashMap<String, Vec<String>> = HashMap::new();
    for file in files {
        let text = std::fs::read_to_string(file).unwrap();
        let relative = file.strip_prefix(base).unwrap().display().to_string();
        let syntax = syn::parse_file(&text).unwrap_or_else(|err| panic!("{relative}: {err}"));
        Definitions {
            file: &relative,
            defined: &mut defined,
        }
        .visit_file(&syntax);
    }
    defined
}

/// The names defined more than once, but for one type built two ways behind `#[cfg]`
/// (`allowed`: the name and the files that build it).
fn names_defined_twice(
    defined: &HashMap<String, Vec<String>>,
    allowed: &[(&str, &[&str])],
) -> Vec<String> {
    let mut twice: Vec<String> = defined
        .iter()
        .filter(|(name, places)| {
            places.len() > 1
                && !allowed.iter().any(|(allowed_name, allowed_places)| {
                    allowed_name == name
                        && places.iter().all(|p| allowed_places.contains(&p.as_str()))
                })
        })
        .map(|(name, places)| format!("{name}: {}", places.join(", ")))
        .collect();
    twice.sort();
    twice
}

/// Each name means one thing: no two types of the product share a name, public or not, so
/// a reader (and a `use`) never has to ask which `RunEnd`, `Clock` or `Stop` is meant. The
/// only pairs allowed are one type built two ways behind `#[cfg]` (the demo without its
/// feature; signals off Unix).
#[test]
fn each_type_name_means_one_thing() {
    let one_type_two_builds: &[(&str, &[&str])] = &[
        ("Demo", &["src/demo/absent.rs", "src/demo/world.rs"]),
        ("Signals", &["src/signals.rs"]),
    ];
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    let defined = type_definitions(&root(), &files);
    assert!(
        defined.len() > 400,
        "the scan found only {} type names",
        defined.len()
    );
    let twice = names_defined_twice(&defined, one_type_two_builds);
    assert!(
        twice.is_empty(),
        "type names defined more than once:\n{}",
        twice.join("\n")
    );
}

/// The scan sees private types, types inside functions and test modules, and tells an
/// associated type from a type alias.
#[test]
fn the_type_name_scan_finds_private_and_local_types_and_skips_associated_ones() {
    let dir = tempfile::tempdir().unwrap();
    let sample = dir.path().join("sample.rs");
    std::fs::write(
        &sample,
        "struct Hidden;\nfn f() { enum Local { A } }\n#[cfg(test)]\nmod tests { struct Hidden; }\n\
         impl std::ops::Deref for X { type Target = str; }\ntype Alias = u8;\n",
    )
    .unwrap();
    let defined = type_definitions(dir.path(), &[sample]);
    assert_eq!(defined["Hidden"].len(), 2, "{defined:?}");
    assert!(defined.contains_key("Local"), "{defined:?}");
    assert!(defined.contains_key("Alias"), "{defined:?}");
    assert!(!defined.contains_key("Target"), "{defined:?}");
    assert_eq!(
        names_defined_twice(&defined, &[]),
        vec!["Hidden: sample.rs, sample.rs".to_string()]
    );
    assert!(names_defined_twice(&defined, &[("Hidden", &["sample.rs"])]).is_empty());
}

// ---------------------------------------------------------------------------------------
// The Performance table

#[allow(dead_code)]
#[path = "../../benches/bootstrap/rows.rs"]
mod bench_rows;

/// The README's Performance table is the bench's: `cargo bench -- --markdown` writes it
/// between its markers, and its rows, names and targets, are exactly `rows::ALL`'s, in
/// order (the bench itself checks that a whole run makes exactly those rows). Figures may
/// differ from run to run; rows may not.
#[test]
fn the_readme_performance_table_has_exactly_the_bench_rows() {
    let readme = read("README.md");
    let begin = "<!-- bench-table:begin (written by `cargo bench -- --markdown`) -->";
    let end = "<!-- bench-table:end -->";
    assert_eq!(
        readme.matches(begin).count(),
        1,
        "README.md must hold the bench's table once, after the line {begin}"
    );
    let block = &readme[readme.find(begin).unwrap() + begin.len()..];
    let block = &block[..block
        .find(end)
        .unwrap_or_else(|| panic!("README.md: the bench's table has no closing {end}"))];
    assert!(
        block.contains("| measure | measured | target | ratio |"),
        "the block is not the bench's table:\n{block}"
    );
    let in_readme: Vec<(String, String)> = table_rows(block)
        .into_iter()
        .map(|cells| {
            assert_eq!(cells.len(), 4, "a row of four cells: {cells:?}");
            (cells[0].clone(), cells[2].clone())
        })
        .collect();
    let in_bench: Vec<(String, String)> = bench_rows::ALL
        .iter()
        .map(|row| (row.what.to_string(), row.target.to_string()))
        .collect();
    assert_eq!(
        in_readme, in_bench,
        "README.md's Performance table must have the rows of benches/bootstrap/rows.rs: run `cargo bench -- --markdown`"
    );
    // Beside the table: a cold CI run, with its date and machine.
    let after = &readme[readme.find(end).unwrap() + end.len()..];
    assert!(
        after
            .trim_start()
            .starts_with("A cold `bash .ci/run` on a clean clone")
            && after.contains(" s for ")
            && after.contains("commit `"),
        "a cold CI figure follows the bench's table"
    );
    // Every figure comes from a run: no row is left without its measurement.
    for cells in table_rows(block) {
        assert!(
            !cells[1].is_empty(),
            "row {:?} has no measured figure",
            cells[0]
        );
    }
}
