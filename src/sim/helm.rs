//! The simulated `helm` (3.17): cobra-style flags, `Error: …` messages with exit code 1,
//! releases stored per cluster and namespace. The Kalypso Scheduler chart renders what the
//! real chart does (its 12 CRDs, the controller deployment, RBAC, the token Secret and a
//! Flux GitRepository and Kustomization named `control-plane` at `v1beta2`); any other chart
//! installs as a release that owns no objects.

use std::path::Path;

use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};

use super::args::{switch, value, ArgError, Flag};
use super::catalog::{
    ChartVersion, KALYPSO_CHART, KALYPSO_CONTROLLER_SUFFIX, KALYPSO_CRDS, KALYPSO_GROUP,
    KALYPSO_VERSION,
};
use super::cluster::{self, Connection};
use super::command::{lookup_pflag, CommandDef, Ctx, LookupError, ToolCommand};
use super::kube;
use super::kubectl::{go_duration, parse_yaml_documents};
use super::reply::{compact_json, Completion, Reply};
use super::state::HelmRelease;
use crate::tools::kubectl::FLUX_NAMESPACE;
use crate::tools::runner::Stream;

pub const VERSION: &str = "v3.17.2+gcc0bbbd";

const GLOBAL: &[Flag] = &[
    value("kube-context", None),
    value("kubeconfig", None),
    value("namespace", Some('n')),
    switch("debug", None),
    value("kube-apiserver", None),
    value("kube-as-user", None),
    value("kube-as-group", None),
    value("kube-ca-file", None),
    switch("kube-insecure-skip-tls-verify", None),
    value("kube-tls-server-name", None),
    value("registry-config", None),
    value("repository-config", None),
    value("repository-cache", None),
    value("burst-limit", None),
    value("qps", None),
];

const REPO_FLAGS: [Flag; 8] = [
    value("repo", None),
    value("version", None),
    switch("devel", None),
    value("username", None),
    value("ca-file", None),
    switch("insecure-skip-tls-verify", None),
    switch("plain-http", None),
    switch("pass-credentials", None),
];

const INSTALL_FLAGS: &[Flag] = &[
    REPO_FLAGS[0],
    REPO_FLAGS[1],
    REPO_FLAGS[2],
    REPO_FLAGS[3],
    REPO_FLAGS[4],
    REPO_FLAGS[5],
    REPO_FLAGS[6],
    REPO_FLAGS[7],
    switch("install", Some('i')),
    switch("create-namespace", None),
    value("values", Some('f')),
    value("set", None),
    value("set-string", None),
    value("set-file", None),
    switch("wait", None),
    switch("wait-for-jobs", None),
    value("timeout", None),
    switch("atomic", None),
    switch("reset-values", None),
    switch("reuse-values", None),
    switch("reset-then-reuse-values", None),
    switch("cleanup-on-fail", None),
    switch("force", None),
    switch("skip-crds", None),
    switch("no-hooks", None),
    value("description", None),
    value("history-max", None),
    value("output", Some('o')),
    switch("dependency-update", None),
    switch("take-ownership", None),
    value("labels", Some('l')),
];

const DEFS: &[CommandDef] = &[
    CommandDef {
        path: &["version"],
        flags: &[switch("short", None), value("template", None)],
    },
    CommandDef {
        path: &["show", "chart"],
        flags: &REPO_FLAGS,
    },
    CommandDef {
        path: &["show", "values"],
        flags: &REPO_FLAGS,
    },
    CommandDef {
        path: &["upgrade"],
        flags: INSTALL_FLAGS,
    },
    CommandDef {
        path: &["install"],
        flags: INSTALL_FLAGS,
    },
    CommandDef {
        path: &["status"],
        flags: &[
            value("output", Some('o')),
            value("revision", None),
            switch("show-desc", None),
            switch("show-resources", None),
        ],
    },
    CommandDef {
        path: &["list"],
        flags: &[
            value("output", Some('o')),
            switch("all-namespaces", Some('A')),
            switch("all", Some('a')),
            value("filter", Some('f')),
            switch("deployed", None),
            switch("failed", None),
            switch("pending", None),
            switch("uninstalled", None),
            value("max", Some('m')),
            switch("short", Some('q')),
            switch("no-headers", None),
            value("selector", Some('l')),
        ],
    },
    CommandDef {
        path: &["uninstall"],
        flags: &[
            switch("wait", None),
            value("timeout", None),
            switch("keep-history", None),
            switch("ignore-not-found", None),
            switch("dry-run", None),
            switch("no-hooks", None),
            value("cascade", None),
            value("description", None),
        ],
    },
    CommandDef {
        path: &["get", "metadata"],
        flags: &[value("output", Some('o')), value("revision", None)],
    },
    CommandDef {
        path: &["get", "values"],
        flags: &[
            value("output", Some('o')),
            switch("all", Some('a')),
            value("revision", None),
        ],
    },
];

pub(crate) fn parse(args: &[String]) -> Result<ToolCommand, Reply> {
    lookup_pflag(args, GLOBAL, DEFS).map(|(command, _)| command).map_err(|e| match e {
        LookupError::UnknownCommand { word, parent } => {
            let parent = std::iter::once("helm".to_string()).chain(parent).collect::<Vec<_>>().join(" ");
            Reply::fail(1, format!("Error: unknown command \"{word}\" for \"{parent}\"\nRun '{parent} --help' for usage."))
        }
        LookupError::GroupOnly { path } => {
            let name = std::iter::once("helm".to_string()).chain(path).collect::<Vec<_>>().join(" ");
            Reply::ok(format!("The Kubernetes package manager\n\nUsage:\n  {name} [command]"))
        }
        LookupError::Args { error, .. } => {
            let message = match error {
                ArgError::UnknownFlag(flag) => format!("unknown flag: {}", flag.split('=').next().unwrap_or(&flag)),
                ArgError::UnknownShorthand(letter, token) => format!("unknown shorthand flag: '{letter}' in {token}"),
                ArgError::MissingValue(flag) => format!("flag needs an argument: {flag}"),
                ArgError::InvalidBool { flag, value } => {
                    format!("invalid argument \"{value}\" for \"{flag}\" flag: strconv.ParseBool: parsing \"{value}\": invalid syntax")
                }
                other => format!("{other:?}"),
            };
            Reply::fail(1, format!("Error: {message}"))
        }
    })
}

pub(crate) fn run(ctx: &mut Ctx<'_>, cmd: &ToolCommand) -> Reply {
    match dispatch(ctx, cmd) {
        Ok(reply) | Err(reply) => reply,
    }
}

fn dispatch(ctx: &mut Ctx<'_>, cmd: &ToolCommand) -> Result<Reply, Reply> {
    let path: Vec<&str> = cmd.path.iter().map(String::as_str).collect();
    match path.as_slice() {
        ["version"] => Ok(Reply::ok(if cmd.switch("short") {
            VERSION.to_string()
        } else {
            format!("version.BuildInfo{{Version:\"{}\", GitCommit:\"cc0bbbd6d6276b83880042c1ecb34087e84d41eb\", GitTreeState:\"clean\", GoVersion:\"go1.23.7\"}}", VERSION.split('+').next().unwrap_or(VERSION))
        })),
        ["show", what] => {
            let chart = resolve_chart(ctx, cmd)?;
            match *what {
                "chart" => Ok(Reply::ok(chart_yaml(&chart))),
                _ => Ok(Reply::ok(default_values(&chart.name))),
            }
        }
        _ => {
            let conn = cluster::connect(ctx, cmd.value("kube-context"), cmd.value("kubeconfig"))
                .map_err(|e| Reply::fail(1, e.helm_message()))?;
            let namespace = cmd
                .value("namespace")
                .map(str::to_string)
                .or_else(|| conn.namespace.clone())
                .unwrap_or_else(|| "default".to_string());
            match path.as_slice() {
                ["upgrade"] | ["install"] => install(ctx, cmd, &conn, &namespace),
                ["status"] => status(ctx, cmd, &conn, &namespace),
                ["list"] => list(ctx, cmd, &conn, &namespace),
                ["uninstall"] => uninstall(ctx, cmd, &conn, &namespace),
                ["get", "metadata"] => {
                    let release =
                        find_release(ctx, &conn, &namespace, cmd.arg(0).unwrap_or_default())?;
                    let metadata = json!({
                        "name": release.name,
                        "chart": release.chart,
                        "version": release.chart_version,
                        "appVersion": release.app_version,
                        "labels": release.labels,
                        "namespace": release.namespace,
                        "revision": release.revision,
                        "status": release.status,
                        "deployedAt": release.last_deployed,
                    });
                    match cmd.value("output") {
                        Some("json") => Ok(Reply::ok(compact_json(&metadata))),
                        _ => Ok(Reply::ok(format!(
                            "NAME: {}\nCHART: {}\nVERSION: {}\nAPP_VERSION: {}\nNAMESPACE: {}\nREVISION: {}\nSTATUS: {}\nDEPLOYED_AT: {}",
                            release.name, release.chart, release.chart_version, release.app_version,
                            release.namespace, release.revision, release.status, release.last_deployed
                        ))),
                    }
                }
                ["get", "values"] => {
                    let release =
                        find_release(ctx, &conn, &namespace, cmd.arg(0).unwrap_or_default())?;
                    let values = user_supplied(ctx, &conn.server, &release);
                    match cmd.value("output") {
                        Some("json") => Ok(Reply::ok(compact_json(&values))),
                        _ => Ok(Reply::ok(format!(
                            "USER-SUPPLIED VALUES:\n{}",
                            serde_yaml::to_string(&values).unwrap_or_default()
                        ))),
                    }
                }
                _ => Err(Reply::fail(
                    1,
                    format!("Error: helm {} is not simulated", path.join(" ")),
                )),
            }
        }
    }
}

/// A chart as helm loaded it.
#[derive(Clone, Debug)]
struct Chart {
    name: String,
    version: ChartVersion,
}

fn chart_yaml(chart: &Chart) -> String {
    format!(
        "apiVersion: v2\nappVersion: {}\ndescription: {}\nname: {}\ntype: application\nversion: {}",
        chart.version.app_version, chart.version.description, chart.name, chart.version.version
    )
}

fn default_values(name: &str) -> String {
    if name == KALYPSO_CHART {
        "controllerManager:\n  manager:\n    image:\n      repository: kaizentm/kalypso\n      tag: 1.0.1\n  replicas: 1\nkubernetesClusterDomain: cluster.local".to_string()
    } else {
        String::new()
    }
}

fn is_prerelease(version: &str) -> bool {
    version.contains('-')
}

fn resolve_chart(ctx: &Ctx<'_>, cmd: &ToolCommand) -> Result<Chart, Reply> {
    let Some(reference) = cmd.arg(if cmd.path_is(&["upgrade"]) || cmd.path_is(&["install"]) {
        1
    } else {
        0
    }) else {
        return Err(Reply::fail(
            1,
            format!(
                "Error: \"helm {}\" requires at least 1 argument",
                cmd.path.join(" ")
            ),
        ));
    };
    let wanted = cmd.value("version");
    if let Some(repo) = cmd.value("repo") {
        let catalog = &ctx.world.charts;
        let normalised = super::catalog::ChartCatalog::normalise(repo);
        let Some(charts) = catalog.repos.get(&normalised) else {
            return Err(Reply::fail(
                1,
                format!("Error: looks like \"{repo}\" is not a valid chart repository or cannot be reached: failed to fetch {normalised}/index.yaml : 404 Not Found"),
            ));
        };
        let Some(versions) = charts.get(reference) else {
            return Err(Reply::fail(
                1,
                format!("Error: chart \"{reference}\" not found in {normalised} repository"),
            ));
        };
        let found = match wanted {
            Some(v) => versions
                .iter()
                .find(|c| c.version == v.trim_start_matches('v')),
            None => versions
                .iter()
                .rfind(|c| cmd.switch("devel") || !is_prerelease(&c.version)),
        };
        return match found {
            Some(version) => Ok(Chart {
                name: reference.to_string(),
                version: version.clone(),
            }),
            None => Err(Reply::fail(
                1,
                format!("Error: chart \"{reference}\" version \"{}\" not found in {normalised} repository", wanted.unwrap_or_default()),
            )),
        };
    }
    if reference.starts_with("oci://") {
        let host = reference
            .trim_start_matches("oci://")
            .split('/')
            .next()
            .unwrap_or_default();
        return Err(Reply::fail(1, format!("Error: failed to do request: Head \"https://{host}/v2/\": dial tcp: lookup {host} on 127.0.0.53:53: no such host")));
    }
    let path = ctx.inv.resolve_path(reference);
    if path.is_dir() {
        return local_chart(&path, reference, wanted);
    }
    if reference.contains('/') || reference.starts_with('.') {
        if let Some((repo, _)) = reference.split_once('/') {
            if !reference.starts_with('.') && !reference.starts_with('/') {
                return Err(Reply::fail(1, format!("Error: repo {repo} not found")));
            }
        }
        return Err(Reply::fail(
            1,
            format!("Error: path \"{reference}\" not found"),
        ));
    }
    Err(Reply::fail(
        1,
        format!("Error: non-absolute URLs should be in form of repo_name/path_to_chart, got: {reference}"),
    ))
}

fn local_chart(path: &Path, reference: &str, wanted: Option<&str>) -> Result<Chart, Reply> {
    let text = std::fs::read_to_string(path.join("Chart.yaml")).map_err(|_| {
        Reply::fail(
            1,
            format!("Error: Chart.yaml file is missing in {reference}"),
        )
    })?;
    let doc: Value = parse_yaml_documents(&text)
        .ok()
        .and_then(|docs| docs.into_iter().next())
        .unwrap_or(Value::Null);
    let field = |k: &str| doc.get(k).and_then(Value::as_str).map(str::to_string);
    let (Some(name), Some(version)) = (field("name"), field("version")) else {
        return Err(Reply::fail(1, format!("Error: validation: chart.metadata.name and version are required in {reference}/Chart.yaml")));
    };
    if let Some(wanted) = wanted {
        if wanted != version {
            // helm ignores --version for a local chart directory; so does the simulation.
        }
    }
    Ok(Chart {
        name,
        version: ChartVersion {
            app_version: field("appVersion").unwrap_or_else(|| version.clone()),
            description: field("description").unwrap_or_default(),
            version,
        },
    })
}

/// Deep-merge `overlay` into `base` (maps merge, everything else replaces).
fn merge_values(base: &mut Value, overlay: Value) {
    match (base, overlay) {
        (Value::Object(base), Value::Object(overlay)) => {
            for (k, v) in overlay {
                merge_values(base.entry(k).or_insert(Value::Null), v);
            }
        }
        (base, overlay) => *base = overlay,
    }
}

fn set_path(values: &mut Value, path: &str, value: Value) {
    let mut current = values;
    let parts: Vec<&str> = path.split('.').collect();
    for (i, part) in parts.iter().enumerate() {
        if !current.is_object() {
            *current = json!({});
        }
        let map = current.as_object_mut().expect("just made an object");
        if i + 1 == parts.len() {
            map.insert(part.to_string(), value);
            return;
        }
        current = map.entry(part.to_string()).or_insert(json!({}));
    }
}

/// Values as stored and shown: token-like values replaced by `(set)`.
fn masked(values: &Value) -> Value {
    match values {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let lower = k.to_ascii_lowercase();
                    let secret = ["token", "password", "secret"]
                        .iter()
                        .any(|w| lower.contains(w));
                    let v = if secret && !v.is_object() && !v.is_null() {
                        json!("(set)")
                    } else {
                        masked(v)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

fn user_values(ctx: &Ctx<'_>, cmd: &ToolCommand) -> Result<Value, Reply> {
    let mut values = json!({});
    // Like helm's `readFile`: `-` (surrounding blanks ignored) reads standard input, to its
    // end, so a second `-` reads nothing; no stdin is an empty one (`/dev/null`).
    let mut stdin = ctx.inv.stdin.clone();
    for file in cmd.flags.values("values") {
        let (text, shown) = if file.trim() == "-" {
            let bytes = stdin.take().unwrap_or_default();
            (
                String::from_utf8_lossy(&bytes).into_owned(),
                file.to_string(),
            )
        } else {
            let path = ctx.inv.resolve_path(file);
            let text = std::fs::read_to_string(&path).map_err(|_| {
                Reply::fail(
                    1,
                    format!("Error: open {}: no such file or directory", path.display()),
                )
            })?;
            (text, path.display().to_string())
        };
        let docs = parse_yaml_documents(&text).map_err(|e| {
            Reply::fail(
                1,
                format!("Error: failed to parse {shown}: error converting YAML to JSON: {e}"),
            )
        })?;
        for doc in docs {
            match doc {
                Value::Null => {}
                Value::Object(_) => merge_values(&mut values, doc),
                _ => return Err(Reply::fail(1, format!("Error: failed to parse {shown}: error unmarshaling JSON: json: cannot unmarshal into Go value of type map[string]interface {{}}"))),
            }
        }
    }
    for (flag, typed) in [("set", true), ("set-string", false)] {
        for assignment in cmd.flags.values(flag) {
            for pair in assignment.split(',') {
                let Some((key, raw)) = pair.split_once('=') else {
                    return Err(Reply::fail(
                        1,
                        format!("Error: failed parsing --{flag} data: key \"{pair}\" has no value"),
                    ));
                };
                let value = match (typed, raw) {
                    (true, "true") => json!(true),
                    (true, "false") => json!(false),
                    (true, n) if n.parse::<i64>().is_ok() => {
                        json!(n.parse::<i64>().unwrap_or_default())
                    }
                    _ => json!(raw),
                };
                set_path(&mut values, key, value);
            }
        }
    }
    Ok(values)
}

/// helm's release name rule: a DNS-1123 subdomain of at most 53 characters.
fn valid_release_name(name: &str) -> bool {
    super::kube::is_dns_subdomain(name, 53)
}

fn helm_time(ts: &str) -> String {
    ts.trim_end_matches('Z').to_string() + ".000000000Z"
}

fn install(
    ctx: &mut Ctx<'_>,
    cmd: &ToolCommand,
    conn: &Connection,
    namespace: &str,
) -> Result<Reply, Reply> {
    let is_upgrade = cmd.path_is(&["upgrade"]);
    let (Some(name), Some(_)) = (cmd.arg(0), cmd.arg(1)) else {
        return Err(Reply::fail(1, format!("Error: \"helm {}\" requires 2 arguments\n\nUsage:  helm {} [RELEASE] [CHART] [flags]", cmd.path[0], cmd.path[0])));
    };
    if !valid_release_name(name) {
        // helm 3.17: `upgrade` checks the name in `History.Run` (`upgrade --install`, whose
        // error `cmd/helm/upgrade.go` returns as it is) or in `prepareUpgrade` (wrapped in
        // UPGRADE FAILED); `install` in `availableName` (wrapped in INSTALLATION FAILED).
        return Err(Reply::fail(1, match (is_upgrade, cmd.switch("install")) {
            (true, true) => format!("Error: release name is invalid: {name}"),
            (true, false) => format!("Error: UPGRADE FAILED: release name is invalid: {name}"),
            (false, _) => format!("Error: INSTALLATION FAILED: release name \"{name}\": invalid release name, must match regex ^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$ and the length must not be longer than 53"),
        }));
    }
    if let Some(timeout) = cmd.value("timeout") {
        if go_duration(timeout).is_none() {
            return Err(Reply::fail(1, format!("Error: invalid argument \"{timeout}\" for \"--timeout\" flag: time: missing unit in duration \"{timeout}\"")));
        }
    }
    let chart = resolve_chart(ctx, cmd)?;
    let values = user_values(ctx, cmd)?;
    let release_key = format!("{namespace}/{name}");
    let existing = ctx.world.kube[&conn.server]
        .releases
        .get(&release_key)
        .cloned();
    // helm 3.17 `pkg/action/upgrade.go` (`prepareUpgrade`): "if
    // lastRelease.Info.Status.IsPending() { return nil, nil, errPending }", with
    // `errPending = errors.New("another operation (install/upgrade/rollback) is in
    // progress")` (`pkg/action/action.go`). `upgrade --install` reaches it for any release
    // that has a history (`cmd/helm/upgrade.go` installs only when there is none).
    if is_upgrade && existing.as_ref().is_some_and(|r| is_pending(&r.status)) {
        return Err(Reply::fail(
            1,
            "Error: UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress",
        ));
    }
    match (&existing, is_upgrade, cmd.switch("install")) {
        (Some(_), false, _) => {
            return Err(Reply::fail(
                1,
                "Error: INSTALLATION FAILED: cannot re-use a name that is still in use",
            ))
        }
        (None, true, false) => {
            return Err(Reply::fail(
                1,
                format!("Error: UPGRADE FAILED: \"{name}\" has no deployed releases"),
            ))
        }
        _ => {}
    }
    // How helm 3.17 words a failure from here on: `helm install` wraps it in INSTALLATION
    // FAILED, an upgrade of an existing release in UPGRADE FAILED, and `upgrade --install`
    // of a release that does not exist yet returns the install's error unwrapped
    // (`cmd/helm/upgrade.go`: `rel, err := runInstall(…); if err != nil { return err }`).
    let failed = match (is_upgrade, &existing) {
        (true, None) => "",
        (true, Some(_)) => "UPGRADE FAILED: ",
        (false, _) => "INSTALLATION FAILED: ",
    };
    let namespace_exists = ctx.world.kube[&conn.server]
        .objects
        .get("namespaces")
        .is_some_and(|n| n.contains_key(namespace));
    if !namespace_exists && !cmd.switch("create-namespace") {
        return Err(Reply::fail(
            1,
            format!(
                "Error: {failed}create: failed to create: namespaces \"{namespace}\" not found"
            ),
        ));
    }
    let manifest = if chart.name == KALYPSO_CHART {
        kalypso_manifest(name, namespace, &values)
            .map_err(|m| Reply::fail(1, format!("Error: {failed}{m}")))?
    } else {
        Vec::new()
    };
    // Build every object before creating any (helm fails the whole release on one bad kind).
    let api = &ctx.world.kube[&conn.server];
    let mut typed = Vec::new();
    for object in &manifest {
        let api_version = object["apiVersion"].as_str().unwrap_or_default();
        let kind = object["kind"].as_str().unwrap_or_default();
        let object_name = kube::name_of(object).unwrap_or_default();
        let Some(ty) = kube::resolve_kind(api, api_version, kind) else {
            return Err(Reply::fail(
                1,
                format!("Error: {failed}unable to build kubernetes objects from release manifest: resource mapping not found for name: \"{object_name}\" namespace: \"{}\" from \"\": no matches for kind \"{kind}\" in version \"{api_version}\"\nensure CRDs are installed first", kube::namespace_of(object).unwrap_or_default()),
            ));
        };
        let key = kube::object_key(
            ty.namespaced,
            kube::namespace_of(object).unwrap_or_default(),
            object_name,
        );
        let owned = existing
            .as_ref()
            .is_some_and(|r| r.resources.contains(&(ty.qualified(), key.clone())));
        if !owned
            && api
                .objects
                .get(&ty.qualified())
                .is_some_and(|o| o.contains_key(&key))
        {
            return Err(Reply::fail(
                1,
                format!("Error: {failed}Unable to continue with install: {kind} \"{object_name}\" in namespace \"{}\" exists and cannot be imported into the current release: invalid ownership metadata; annotation validation error: missing key \"meta.helm.sh/release-name\": must be set to \"{name}\"; annotation validation error: missing key \"meta.helm.sh/release-namespace\": must be set to \"{namespace}\"", kube::namespace_of(object).unwrap_or_default()),
            ));
        }
        typed.push((ty, key, object.clone()));
    }
    if !namespace_exists {
        let ty = kube::resolve(&ctx.world.kube[&conn.server], "namespaces").expect("built in");
        cluster::store(ctx, &conn.server, &ty, kube::namespace(namespace, &[]));
    }
    if chart.name == KALYPSO_CHART && !cmd.switch("skip-crds") {
        let timestamp = ctx.timestamp.clone();
        let crd_ty = kube::resolve(&ctx.world.kube[&conn.server], "crd").expect("built in");
        for (plural, kind) in KALYPSO_CRDS {
            let crd_name = format!("{plural}.{KALYPSO_GROUP}");
            let exists = ctx.world.kube[&conn.server]
                .objects
                .get(kube::CRD_RESOURCE)
                .is_some_and(|c| c.contains_key(&crd_name));
            if !exists {
                let object = kube::crd(
                    plural,
                    KALYPSO_GROUP,
                    kind,
                    &[KALYPSO_VERSION],
                    true,
                    &[],
                    &timestamp,
                );
                cluster::store(ctx, &conn.server, &crd_ty, object);
            }
        }
    }
    // Objects of the previous revision that this one no longer renders are removed.
    if let Some(previous) = &existing {
        for (resource, key) in &previous.resources {
            if !typed
                .iter()
                .any(|(ty, k, _)| ty.qualified() == *resource && k == key)
            {
                if let Some(ty) = kube::resolve(&ctx.world.kube[&conn.server], resource) {
                    let (ns, object_name) = key.split_once('/').unwrap_or(("", key));
                    cluster::delete(ctx, &conn.server, &ty, ns, object_name);
                }
            }
        }
    }
    let mut resources = Vec::new();
    for (ty, key, object) in typed {
        cluster::store(ctx, &conn.server, &ty, object);
        resources.push((ty.qualified(), key));
    }
    let now = helm_time(&ctx.timestamp);
    let revision = existing.as_ref().map_or(1, |r| r.revision + 1);
    // `--labels a=b,c=d` (repeatable) merged over the release's labels; `a=null` unsets.
    let mut labels = existing
        .as_ref()
        .map(|r| r.labels.clone())
        .unwrap_or_default();
    for pair in cmd.flags.values("labels").iter().flat_map(|v| v.split(',')) {
        let Some((key, value)) = pair.split_once('=') else {
            return Err(Reply::fail(
                1,
                format!("Error: invalid argument \"{pair}\" for \"-l, --labels\" flag: {pair} must be formatted as key=value"),
            ));
        };
        if value == "null" {
            labels.remove(key);
        } else {
            labels.insert(key.to_string(), value.to_string());
        }
    }
    let release = HelmRelease {
        name: name.to_string(),
        namespace: namespace.to_string(),
        chart: chart.name.clone(),
        chart_version: chart.version.version.clone(),
        app_version: chart.version.app_version.clone(),
        revision,
        // Real helm stores the release `pending-install` (`pkg/action/install.go`:
        // `rel.SetStatus(release.StatusPendingInstall, "Initial install underway")`) or
        // `pending-upgrade` (`pkg/action/upgrade.go`: `StatusPendingUpgrade`, "Preparing
        // upgrade") before it creates anything, and `deployed` only once the wait is over
        // (the reply's completion). Killed in between, the release stays pending.
        status: if existing.is_none() {
            PENDING_INSTALL.to_string()
        } else {
            PENDING_UPGRADE.to_string()
        },
        values: masked(&values),
        resources,
        first_deployed: existing
            .as_ref()
            .map_or(now.clone(), |r| r.first_deployed.clone()),
        last_deployed: now,
        labels,
    };
    ctx.world.helm_release_config.insert(
        (conn.server.clone(), release_key.clone()),
        SecretString::from(values.to_string()),
    );
    ctx.world
        .kube
        .get_mut(&conn.server)
        .expect("connected")
        .releases
        .insert(release_key, release.clone());
    // The simulated wait lasts the command's latency; helm gives up at `--timeout`
    // (default 5m0s) and marks the release failed (helm 3.17 `pkg/action/install.go`,
    // `performInstall`: a `Wait` error goes to `failRelease`, which sets
    // `release.StatusFailed`, "Release %q failed: %s"; the same in `upgrade.go`).
    let mut words = vec!["helm".to_string()];
    words.extend(cmd.words());
    let wait_limit = cmd
        .value("timeout")
        .and_then(go_duration)
        .unwrap_or(std::time::Duration::from_secs(300));
    if cmd.switch("wait") && ctx.world.latency.for_command(&words) > wait_limit {
        return Ok(
            Reply::fail(1, format!("Error: {failed}context deadline exceeded")).with_completion(
                Completion::HelmReleaseFailed {
                    server: conn.server.clone(),
                    key: format!("{namespace}/{name}"),
                    revision,
                },
            ),
        );
    }
    let mut reply = Reply::silent().with_completion(Completion::HelmReleaseDeployed {
        server: conn.server.clone(),
        key: format!("{namespace}/{name}"),
        revision,
    });
    // What helm prints at the end, once the release is deployed.
    let release = HelmRelease {
        status: DEPLOYED.to_string(),
        ..release
    };
    if is_upgrade {
        let headline = if existing.is_none() {
            format!("Release \"{name}\" does not exist. Installing it now.")
        } else {
            format!("Release \"{name}\" has been upgraded. Happy Helming!")
        };
        if existing.is_none() {
            reply = reply.with_progress(Stream::Stdout, headline);
        } else {
            reply = reply.with_stdout(headline);
        }
    }
    if cmd.switch("debug") {
        let count = release.resources.len();
        reply = reply.with_progress(Stream::Stderr, format!("creating {count} resource(s)"));
        if cmd.switch("wait") {
            reply = reply.with_progress(
                Stream::Stderr,
                format!(
                    "beginning wait for {count} resources with timeout of {}",
                    cmd.value("timeout").unwrap_or("5m0s")
                ),
            );
        }
    }
    match cmd.value("output") {
        Some("json") => Ok(reply.with_stdout(compact_json(&release_json(values, &release)))),
        _ => Ok(reply.with_stdout(format!(
            "NAME: {name}\nLAST DEPLOYED: {}\nNAMESPACE: {namespace}\nSTATUS: deployed\nREVISION: {revision}\nTEST SUITE: None",
            release.last_deployed
        ))),
    }
}

/// The objects the Kalypso Scheduler chart renders (CRDs come from its crds/ directory and
/// are installed separately, unmanaged, as helm does). Like the published chart's
/// `templates/controlplanerepo.yaml` (1.1.2-alpha), the values are read from the flat keys
/// `controlPlaneURL` and `controlPlaneBranch` (both `required`: missing, null or empty fails
/// the render with the chart's message) and `ghRepoToken` (optional), and the GitRepository
/// and Kustomization `control-plane` (with the token's `gh-repo-secret`) go into
/// `flux-system`, the Kustomization targeting the release's namespace.
fn kalypso_manifest(release: &str, namespace: &str, values: &Value) -> Result<Vec<Value>, String> {
    const TEMPLATE: &str = "kalypso-scheduler/templates/controlplanerepo.yaml";
    // Go templates print a scalar as is; `required` and `if` reject nil and "" (and `if`
    // also false and 0).
    let text = |key: &str| match values.get(key) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(Value::Bool(b)) => Some(b.to_string()),
        _ => None,
    };
    // The positions and messages helm 3.17 prints for this chart (`helm template` of the
    // vendored tgz without the key).
    let url = text("controlPlaneURL").ok_or_else(|| {
        format!("execution error at ({TEMPLATE}:37:11): Control Plane repo URL (controlPlaneURL) is required")
    })?;
    let branch = text("controlPlaneBranch").ok_or_else(|| {
        format!("execution error at ({TEMPLATE}:39:15): Control Plane repo Branch (controlPlaneBranch) is required")
    })?;
    let token = text("ghRepoToken").filter(|t| t != "false" && t != "0");
    let replicas = values
        .pointer("/controllerManager/replicas")
        .and_then(Value::as_u64)
        .unwrap_or(1);
    let controller = format!("{release}-{KALYPSO_CONTROLLER_SUFFIX}");
    let labels = json!({
        "app.kubernetes.io/instance": release,
        "app.kubernetes.io/managed-by": "Helm",
        "app.kubernetes.io/name": KALYPSO_CHART,
    });
    let selector = json!({"app.kubernetes.io/instance": release, "app.kubernetes.io/name": KALYPSO_CHART, "control-plane": "controller-manager"});
    use base64::Engine;
    let encode = |text: &str| base64::engine::general_purpose::STANDARD.encode(text);
    let mut objects = Vec::new();
    if let Some(token) = &token {
        objects.push(json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "gh-repo-secret", "namespace": FLUX_NAMESPACE, "labels": labels}, "type": "Opaque", "data": {"password": encode(token), "username": encode("kalypso")}}));
    }
    let mut git_repository = json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1beta2",
        "kind": "GitRepository",
        "metadata": {"name": "control-plane", "namespace": FLUX_NAMESPACE, "labels": labels},
        "spec": {
            "interval": "10s",
            "ignore": "# exclude all\n/*\n# include .environments\n!/.environments\n",
            "ref": {"branch": branch},
            "url": url,
        },
    });
    if token.is_some() {
        git_repository["spec"]["secretRef"] = json!({"name": "gh-repo-secret"});
    }
    objects.extend([
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": controller, "namespace": namespace, "labels": labels}}),
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "gh-repo-secret", "namespace": namespace, "labels": labels}, "type": "Opaque", "data": {"token": encode(token.as_deref().unwrap_or("token"))}}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": format!("{release}-manager-role"), "labels": labels}, "rules": [{"apiGroups": [KALYPSO_GROUP], "resources": ["*"], "verbs": ["*"]}]}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": format!("{release}-manager-rolebinding"), "labels": labels}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": format!("{release}-manager-role")}, "subjects": [{"kind": "ServiceAccount", "name": controller, "namespace": namespace}]}),
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": format!("{release}-metrics-service"), "namespace": namespace, "labels": labels}, "spec": {"ports": [{"name": "https", "port": 8443, "protocol": "TCP", "targetPort": "https-metrics"}], "selector": selector}}),
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": controller, "namespace": namespace, "labels": labels},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": selector},
                "template": {"metadata": {"labels": selector}, "spec": {"containers": [{"name": "manager", "image": "kaizentm/kalypso:1.0.1", "env": [{"name": "GITHUB_AUTH_TOKEN", "valueFrom": {"secretKeyRef": {"key": "token", "name": "gh-repo-secret"}}}]}], "serviceAccountName": controller}},
            },
        }),
        git_repository,
        json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1beta2",
            "kind": "Kustomization",
            "metadata": {"name": "control-plane", "namespace": FLUX_NAMESPACE, "labels": labels},
            "spec": {"interval": "10s", "path": ".environments", "prune": true, "sourceRef": {"kind": "GitRepository", "name": "control-plane"}, "targetNamespace": namespace},
        }),
    ]);
    Ok(objects)
}

const DEPLOYED: &str = "deployed";
const FAILED: &str = "failed";
const PENDING_INSTALL: &str = "pending-install";
const PENDING_UPGRADE: &str = "pending-upgrade";

/// helm's `Status.IsPending()`: pending-install, pending-upgrade or pending-rollback.
fn is_pending(status: &str) -> bool {
    status.starts_with("pending-")
}

/// Apply what a command does when it ends (see [`Completion`]).
pub(crate) fn complete(world: &mut super::world::World, completion: &Completion) {
    let (server, key, revision, status) = match completion {
        Completion::HelmReleaseDeployed {
            server,
            key,
            revision,
        } => (server, key, revision, DEPLOYED),
        Completion::HelmReleaseFailed {
            server,
            key,
            revision,
        } => (server, key, revision, FAILED),
    };
    // Only the revision this command stored, and only while helm still holds it pending.
    let release = world
        .kube
        .get_mut(server)
        .and_then(|cluster| cluster.releases.get_mut(key))
        .filter(|r| r.revision == *revision && is_pending(&r.status));
    if let Some(release) = release {
        release.status = status.to_string();
    }
}

fn find_release(
    ctx: &Ctx<'_>,
    conn: &Connection,
    namespace: &str,
    name: &str,
) -> Result<HelmRelease, Reply> {
    ctx.world.kube[&conn.server]
        .releases
        .get(&format!("{namespace}/{name}"))
        .cloned()
        .ok_or_else(|| Reply::fail(1, "Error: release: not found"))
}

/// The release's user-supplied values as real helm prints them: whole, secrets in plain
/// text (helm stores them in the release and `helm status -o json` encodes the release,
/// `config` included: helm v3 `cmd/helm/status.go`, `statusPrinter.WriteJSON` ->
/// `output.EncodeJSON(out, s.release)`; `pkg/release.Release.Config` is `json:"config"`).
/// A release restored from a saved world only has the masked copy the file keeps.
fn user_supplied(ctx: &Ctx<'_>, server: &str, release: &HelmRelease) -> Value {
    ctx.world
        .helm_release_config
        .get(&(
            server.to_string(),
            format!("{}/{}", release.namespace, release.name),
        ))
        .and_then(|text| serde_json::from_str(text.expose_secret()).ok())
        .unwrap_or_else(|| release.values.clone())
}

fn release_json(config: Value, release: &HelmRelease) -> Value {
    json!({
        "chart": {"metadata": {"apiVersion": "v2", "appVersion": release.app_version, "description": "A Helm chart for Kubernetes", "name": release.chart, "type": "application", "version": release.chart_version}},
        "config": config,
        "info": {
            "deleted": "",
            "description": match release.status.as_str() {
                PENDING_INSTALL => "Initial install underway".to_string(),
                PENDING_UPGRADE => "Preparing upgrade".to_string(),
                FAILED => format!("Release {:?} failed: context deadline exceeded", release.name),
                _ if release.revision == 1 => "Install complete".to_string(),
                _ => "Upgrade complete".to_string(),
            },
            "first_deployed": release.first_deployed,
            "last_deployed": release.last_deployed,
            "notes": "",
            "status": release.status,
        },
        "manifest": "",
        "name": release.name,
        "namespace": release.namespace,
        "version": release.revision,
    })
}

fn status(
    ctx: &mut Ctx<'_>,
    cmd: &ToolCommand,
    conn: &Connection,
    namespace: &str,
) -> Result<Reply, Reply> {
    let Some(name) = cmd.arg(0) else {
        return Err(Reply::fail(1, "Error: \"helm status\" requires 1 argument\n\nUsage:  helm status RELEASE_NAME [flags]"));
    };
    let release = find_release(ctx, conn, namespace, name)?;
    let config = user_supplied(ctx, &conn.server, &release);
    match cmd.value("output") {
        Some("json") => Ok(Reply::ok(compact_json(&release_json(config, &release)))),
        Some("yaml") => Ok(Reply::ok(serde_yaml::to_string(&release_json(config, &release)).unwrap_or_default())),
        _ => Ok(Reply::ok(format!(
            "NAME: {}\nLAST DEPLOYED: {}\nNAMESPACE: {}\nSTATUS: {}\nREVISION: {}\nTEST SUITE: None",
            release.name, release.last_deployed, release.namespace, release.status, release.revision
        ))),
    }
}

fn list(
    ctx: &mut Ctx<'_>,
    cmd: &ToolCommand,
    conn: &Connection,
    namespace: &str,
) -> Result<Reply, Reply> {
    let all = cmd.switch("all-namespaces");
    let filter = cmd.value("filter").and_then(|f| regex::Regex::new(f).ok());
    let releases: Vec<&HelmRelease> = ctx.world.kube[&conn.server]
        .releases
        .values()
        .filter(|r| all || r.namespace == namespace)
        .filter(|r| filter.as_ref().is_none_or(|f| f.is_match(&r.name)))
        .filter(|r| listed_by_default_or_asked(cmd, &r.status))
        .collect();
    let updated = |r: &HelmRelease| r.last_deployed.replace('T', " ").replace('Z', " +0000 UTC");
    match cmd.value("output") {
        Some("json") => Ok(Reply::ok(compact_json(&Value::Array(
            releases
                .iter()
                .map(|r| {
                    json!({
                        "app_version": r.app_version,
                        "chart": format!("{}-{}", r.chart, r.chart_version),
                        "name": r.name,
                        "namespace": r.namespace,
                        "revision": r.revision.to_string(),
                        "status": r.status,
                        "updated": updated(r),
                    })
                })
                .collect(),
        )))),
        _ if cmd.switch("short") => Ok(Reply::ok(
            releases
                .iter()
                .map(|r| r.name.clone())
                .collect::<Vec<_>>()
                .join("\n"),
        )),
        _ => {
            let mut lines =
                vec!["NAME\tNAMESPACE\tREVISION\tUPDATED\tSTATUS\tCHART\tAPP VERSION".to_string()];
            for r in releases {
                lines.push(format!(
                    "{}\t{}\t{}\t{}\t{}\t{}-{}\t{}",
                    r.name,
                    r.namespace,
                    r.revision,
                    updated(r),
                    r.status,
                    r.chart,
                    r.chart_version,
                    r.app_version
                ));
            }
            Ok(Reply::ok(lines.join("\n")))
        }
    }
}

/// helm 3 `pkg/action/list.go`: with no state flag only deployed and failed releases are
/// listed; `--all` lists every state, `--pending`, `--deployed`, `--failed` those states.
fn listed_by_default_or_asked(cmd: &ToolCommand, status: &str) -> bool {
    if cmd.switch("all") {
        return true;
    }
    let asked: Vec<&str> = ["deployed", "failed", "pending", "uninstalled"]
        .into_iter()
        .filter(|flag| cmd.switch(flag))
        .collect();
    let asked = if asked.is_empty() {
        vec!["deployed", "failed"]
    } else {
        asked
    };
    asked
        .iter()
        .any(|state| status == *state || (*state == "pending" && is_pending(status)))
}

fn uninstall(
    ctx: &mut Ctx<'_>,
    cmd: &ToolCommand,
    conn: &Connection,
    namespace: &str,
) -> Result<Reply, Reply> {
    let Some(name) = cmd.arg(0) else {
        return Err(Reply::fail(1, "Error: \"helm uninstall\" requires at least 1 argument\n\nUsage:  helm uninstall RELEASE_NAME [...] [flags]"));
    };
    let key = format!("{namespace}/{name}");
    let Some(release) = ctx.world.kube[&conn.server].releases.get(&key).cloned() else {
        if cmd.switch("ignore-not-found") {
            return Ok(Reply::ok(format!("release \"{name}\" not found")));
        }
        return Err(Reply::fail(
            1,
            format!("Error: uninstall: Release not loaded: {name}: release: not found"),
        ));
    };
    for (resource, object_key) in release.resources.iter().rev() {
        if let Some(ty) = kube::resolve(&ctx.world.kube[&conn.server], resource) {
            let (ns, object_name) = if ty.namespaced {
                object_key.split_once('/').unwrap_or(("", object_key))
            } else {
                ("", object_key.as_str())
            };
            cluster::delete(ctx, &conn.server, &ty, ns, object_name);
        }
    }
    ctx.world
        .kube
        .get_mut(&conn.server)
        .expect("connected")
        .releases
        .remove(&key);
    ctx.world
        .helm_release_config
        .remove(&(conn.server.clone(), key.clone()));
    let mut reply = Reply::ok(format!("release \"{name}\" uninstalled"));
    if cmd.switch("wait") {
        reply = reply.with_progress(
            Stream::Stderr,
            format!(
                "waiting for {} resources to be deleted",
                release.resources.len()
            ),
        );
    }
    Ok(reply)
}
