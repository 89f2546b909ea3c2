//! The simulated `kubectl`: cobra-style flags, kubectl's error wording (`error: …`,
//! `Error from server (NotFound): …`), exit code 1 on any failure, JSON with four-space
//! indentation.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::args::{switch, value, ArgError, Flag};
use super::catalog::{flux_manifest_version, FluxVersion, KALYPSO_GROUP};
use super::cluster::{self, Connection, Stored};
use super::command::{lookup_pflag, CommandDef, Ctx, LookupError, ToolCommand};
use super::flux;
use super::kalypso;
use super::kube::{self, ResourceType};
use super::kubeconfig::{Kubeconfig, MergedKubeconfig};
use super::reply::{kubectl_json, Reply};
use super::world::flux_manifest;
use crate::tools::runner::Stream;

pub const CLIENT_VERSION: &str = "v1.37.1";
pub const KUSTOMIZE_VERSION: &str = "v5.8.1";

const GLOBAL: &[Flag] = &[
    value("context", None),
    value("kubeconfig", None),
    value("namespace", Some('n')),
    value("request-timeout", None),
    value("cluster", None),
    value("user", None),
    value("server", Some('s')),
    switch("insecure-skip-tls-verify", None),
    value("v", Some('v')),
    value("as", None),
    value("cache-dir", None),
    switch("warnings-as-errors", None),
    switch("match-server-version", None),
];

const OUTPUT: Flag = value("output", Some('o'));
const SELECTOR: Flag = value("selector", Some('l'));
const ALL_NAMESPACES: Flag = switch("all-namespaces", Some('A'));
const FILENAME: Flag = value("filename", Some('f'));
const IGNORE_NOT_FOUND: Flag = switch("ignore-not-found", None);
const DRY_RUN: Flag = value("dry-run", None);

const DEFS: &[CommandDef] = &[
    CommandDef {
        path: &["version"],
        flags: &[switch("client", None), OUTPUT],
    },
    CommandDef {
        path: &["cluster-info"],
        flags: &[],
    },
    CommandDef {
        path: &["get"],
        flags: &[
            OUTPUT,
            SELECTOR,
            ALL_NAMESPACES,
            IGNORE_NOT_FOUND,
            value("field-selector", None),
            switch("show-labels", None),
            switch("no-headers", None),
            value("sort-by", None),
            switch("show-kind", None),
            value("chunk-size", None),
            FILENAME,
        ],
    },
    CommandDef {
        path: &["apply"],
        flags: &[
            FILENAME,
            switch("server-side", None),
            switch("force-conflicts", None),
            value("field-manager", None),
            DRY_RUN,
            OUTPUT,
            value("validate", None),
            switch("recursive", Some('R')),
            switch("overwrite", None),
            switch("force", None),
            switch("wait", None),
        ],
    },
    CommandDef {
        path: &["label"],
        flags: &[
            switch("overwrite", None),
            switch("all", None),
            ALL_NAMESPACES,
            SELECTOR,
            value("field-selector", None),
            FILENAME,
            switch("list", None),
            switch("local", None),
            DRY_RUN,
            OUTPUT,
            value("resource-version", None),
            value("field-manager", None),
            switch("recursive", Some('R')),
        ],
    },
    CommandDef {
        path: &["create", "namespace"],
        flags: &[
            DRY_RUN,
            OUTPUT,
            switch("save-config", None),
            value("field-manager", None),
        ],
    },
    CommandDef {
        path: &["create", "ns"],
        flags: &[
            DRY_RUN,
            OUTPUT,
            switch("save-config", None),
            value("field-manager", None),
        ],
    },
    CommandDef {
        path: &["delete"],
        flags: &[
            FILENAME,
            switch("wait", None),
            IGNORE_NOT_FOUND,
            value("timeout", None),
            switch("now", None),
            value("grace-period", None),
            switch("all", None),
            SELECTOR,
            switch("force", None),
            value("cascade", None),
            OUTPUT,
            ALL_NAMESPACES,
            DRY_RUN,
        ],
    },
    CommandDef {
        path: &["wait"],
        flags: &[
            value("for", None),
            value("timeout", None),
            switch("all", None),
            SELECTOR,
            ALL_NAMESPACES,
            FILENAME,
            OUTPUT,
            value("field-selector", None),
        ],
    },
    CommandDef {
        path: &["rollout", "status"],
        flags: &[
            value("timeout", None),
            switch("watch", Some('w')),
            value("revision", None),
        ],
    },
    CommandDef {
        path: &["config", "get-contexts"],
        flags: &[OUTPUT, switch("no-headers", None)],
    },
    CommandDef {
        path: &["config", "current-context"],
        flags: &[],
    },
    CommandDef {
        path: &["config", "use-context"],
        flags: &[],
    },
    CommandDef {
        path: &["config", "delete-context"],
        flags: &[],
    },
    CommandDef {
        path: &["config", "delete-cluster"],
        flags: &[],
    },
    CommandDef {
        path: &["config", "delete-user"],
        flags: &[],
    },
    CommandDef {
        path: &["config", "view"],
        flags: &[
            switch("minify", None),
            switch("raw", None),
            switch("flatten", None),
            OUTPUT,
        ],
    },
];

pub(crate) fn parse(args: &[String]) -> Result<ToolCommand, Reply> {
    lookup_pflag(args, GLOBAL, DEFS).map(|(command, _)| command).map_err(|e| match e {
        LookupError::UnknownCommand { word, parent } => {
            let parent = std::iter::once("kubectl".to_string()).chain(parent).collect::<Vec<_>>().join(" ");
            Reply::fail(1, format!("error: unknown command \"{word}\" for \"{parent}\""))
        }
        LookupError::GroupOnly { path } => {
            let name = std::iter::once("kubectl".to_string()).chain(path).collect::<Vec<_>>().join(" ");
            Reply::ok(format!("{name} controls the Kubernetes cluster manager.\n\nUse \"{name} <command> --help\" for more information about a given command."))
        }
        LookupError::Args { error, path } => {
            let message = match error {
                ArgError::UnknownFlag(flag) => format!("unknown flag: {}", flag.split('=').next().unwrap_or(&flag)),
                ArgError::UnknownShorthand(letter, token) => format!("unknown shorthand flag: '{letter}' in {token}"),
                ArgError::MissingValue(flag) => format!("flag needs an argument: {flag}"),
                ArgError::InvalidBool { flag, value } => {
                    format!("invalid argument \"{value}\" for \"{flag}\" flag: strconv.ParseBool: parsing \"{value}\": invalid syntax")
                }
                other => format!("{other:?}"),
            };
            let command = std::iter::once("kubectl").chain(path.iter().map(String::as_str)).collect::<Vec<_>>().join(" ");
            Reply::fail(1, format!("error: {message}\nSee '{command} --help' for usage."))
        }
    })
}

pub(crate) fn run(ctx: &mut Ctx<'_>, cmd: &ToolCommand) -> Reply {
    match dispatch(ctx, cmd) {
        Ok(reply) | Err(reply) => reply,
    }
}

fn dispatch(ctx: &mut Ctx<'_>, cmd: &ToolCommand) -> Result<Reply, Reply> {
    if let Some(output) = cmd.value("output") {
        let format = output.split('=').next().unwrap_or(output);
        if !["json", "yaml", "name", "wide"].contains(&format) {
            return Err(Reply::fail(
                1,
                format!("error: unable to match a printer suitable for the output format \"{output}\" in the simulated kubectl, allowed formats are: json,name,wide,yaml"),
            ));
        }
    }
    let path: Vec<&str> = cmd.path.iter().map(String::as_str).collect();
    match path.as_slice() {
        ["version"] => version(ctx, cmd),
        ["config", sub] => config(ctx, cmd, sub),
        _ => {
            let conn = cluster::connect(ctx, cmd.value("context"), cmd.value("kubeconfig"))
                .map_err(|e| Reply::fail(1, e.kubectl_message()))?;
            match path.as_slice() {
                ["cluster-info"] => Ok(Reply::ok(format!(
                    "Kubernetes control plane is running at {0}\nCoreDNS is running at {0}/api/v1/namespaces/kube-system/services/kube-dns:dns/proxy\nMetrics-server is running at {0}/api/v1/namespaces/kube-system/services/https:metrics-server:/proxy\n\nTo further debug and diagnose cluster problems, use 'kubectl cluster-info dump'.",
                    conn.server
                ))),
                ["get"] => get(ctx, cmd, &conn),
                ["apply"] => apply(ctx, cmd, &conn),
                ["create", _] => create_namespace(ctx, cmd, &conn),
                ["label"] => label(ctx, cmd, &conn),
                ["delete"] => delete(ctx, cmd, &conn),
                ["wait"] => wait(ctx, cmd, &conn),
                ["rollout", "status"] => rollout_status(ctx, cmd, &conn),
                _ => Err(Reply::fail(1, format!("error: kubectl {} is not simulated", path.join(" ")))),
            }
        }
    }
}

fn client_version() -> Value {
    let minor = CLIENT_VERSION.split('.').nth(1).unwrap_or("0");
    json!({
        "buildDate": "2026-11-12T10:04:23Z",
        "compiler": "gc",
        "gitCommit": "5d2ea2f8a5d46e55b1f44f9e0c2c8e3e0f8f3e1a",
        "gitTreeState": "clean",
        "gitVersion": CLIENT_VERSION,
        "goVersion": "go1.24.9",
        "major": "1",
        "minor": minor,
        "platform": "linux/amd64",
    })
}

fn version(ctx: &mut Ctx<'_>, cmd: &ToolCommand) -> Result<Reply, Reply> {
    let mut document =
        json!({"clientVersion": client_version(), "kustomizeVersion": KUSTOMIZE_VERSION});
    let format = cmd.value("output");
    let render = |doc: &Value| match format {
        Some("json") => kubectl_json(doc),
        Some("yaml") => serde_yaml::to_string(doc).unwrap_or_default(),
        _ => {
            let mut text =
                format!("Client Version: {CLIENT_VERSION}\nKustomize Version: {KUSTOMIZE_VERSION}");
            if let Some(server) = doc
                .pointer("/serverVersion/gitVersion")
                .and_then(Value::as_str)
            {
                text.push_str(&format!("\nServer Version: {server}"));
            }
            text
        }
    };
    if cmd.switch("client") {
        return Ok(Reply::ok(render(&document)));
    }
    match cluster::connect(ctx, cmd.value("context"), cmd.value("kubeconfig")) {
        Ok(conn) => {
            let server_version = ctx.world.kube[&conn.server].version.clone();
            let minor = server_version.split('.').nth(1).unwrap_or("0").to_string();
            document["serverVersion"] = json!({
                "buildDate": "2026-10-15T17:02:11Z",
                "compiler": "gc",
                "gitCommit": "0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d",
                "gitTreeState": "clean",
                "gitVersion": server_version,
                "goVersion": "go1.24.9",
                "major": "1",
                "minor": minor,
                "platform": "linux/amd64",
            });
            Ok(Reply::ok(render(&document)))
        }
        Err(e) => Err(Reply::fail(1, e.kubectl_message()).with_stdout(render(&document))),
    }
}

/// The namespace a namespaced request uses.
fn namespace_of(cmd: &ToolCommand, conn: &Connection) -> String {
    cmd.value("namespace")
        .map(str::to_string)
        .or_else(|| conn.namespace.clone())
        .unwrap_or_else(|| "default".to_string())
}

fn unknown_type(name: &str) -> Reply {
    Reply::fail(
        1,
        format!("error: the server doesn't have a resource type \"{name}\""),
    )
}

fn not_found(ty: &ResourceType, name: &str) -> String {
    format!(
        "Error from server (NotFound): {} \"{name}\" not found",
        ty.qualified()
    )
}

/// `(type, names)` requests from get/delete/wait arguments: `TYPE[,TYPE] [NAME…]` or
/// `TYPE/NAME…`.
fn requests(
    ctx: &Ctx<'_>,
    server: &str,
    args: &[String],
) -> Result<Vec<(ResourceType, Vec<String>)>, Reply> {
    let api = &ctx.world.kube[server];
    if args.iter().any(|a| a.contains('/')) {
        let mut out: Vec<(ResourceType, Vec<String>)> = Vec::new();
        for arg in args {
            let Some((ty_name, name)) = arg.split_once('/') else {
                return Err(Reply::fail(1, String::from("error: there is no need to specify a resource type as a separate argument when passing arguments in resource/name form (e.g. 'kubectl get resource/<resource_name>' instead of 'kubectl get resource resource/<resource_name>'")));
            };
            let ty = kube::resolve(api, ty_name).ok_or_else(|| unknown_type(ty_name))?;
            match out.iter_mut().find(|(t, _)| *t == ty) {
                Some((_, names)) => names.push(name.to_string()),
                None => out.push((ty, vec![name.to_string()])),
            }
        }
        return Ok(out);
    }
    let Some(types) = args.first() else {
        return Err(Reply::fail(
            1,
            "You must specify the type of resource to get. Use \"kubectl api-resources\" for a complete list of supported resources.\n\nerror: Required resource not specified.\nUse \"kubectl explain <resource>\" for a detailed description of that resource (e.g. kubectl explain pods).\nSee 'kubectl get -h' for help and examples",
        ));
    };
    let names: Vec<String> = args[1..].to_vec();
    types
        .split(',')
        .map(|t| {
            kube::resolve(api, t)
                .map(|ty| (ty, names.clone()))
                .ok_or_else(|| unknown_type(t))
        })
        .collect()
}

fn list_json(items: Vec<Value>) -> Value {
    json!({"apiVersion": "v1", "items": items, "kind": "List", "metadata": {"resourceVersion": ""}})
}

/// The objects of a type as the API server returns them: those stored by clients (with the
/// status controllers report), then what the Kalypso Scheduler's controllers and Flux's
/// Kustomizations made.
fn visible_objects(ctx: &Ctx<'_>, server: &str, ty: &ResourceType) -> BTreeMap<String, Value> {
    let api = &ctx.world.kube[server];
    let mut objects: BTreeMap<String, Value> = api
        .objects
        .get(&ty.qualified())
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|(key, object)| {
            let observed = cluster::observed(ctx, server, ty, &object);
            (key, observed)
        })
        .collect();
    for (key, object) in kalypso::derived(ctx, server, &ty.qualified()) {
        objects.entry(key).or_insert(object);
    }
    for (key, object) in flux::applied(ctx, server, &ty.qualified()) {
        objects.entry(key).or_insert(object);
    }
    objects
}

fn get(ctx: &mut Ctx<'_>, cmd: &ToolCommand, conn: &Connection) -> Result<Reply, Reply> {
    if cmd.value("filename").is_some()
        || cmd.value("field-selector").is_some()
        || cmd.value("sort-by").is_some()
    {
        return Err(Reply::fail(
            1,
            "error: -f, --field-selector and --sort-by are not simulated",
        ));
    }
    let requests = requests(ctx, &conn.server, &cmd.flags.positionals)?;
    let namespace = namespace_of(cmd, conn);
    let all_namespaces = cmd.switch("all-namespaces");
    let selector = cmd.value("selector");
    let mut items = Vec::new();
    let mut errors = Vec::new();
    let mut named = false;
    for (ty, names) in &requests {
        let objects = visible_objects(ctx, &conn.server, ty);
        if names.is_empty() {
            for (key, object) in &objects {
                let in_scope =
                    !ty.namespaced || all_namespaces || key.starts_with(&format!("{namespace}/"));
                if in_scope && selector.is_none_or(|s| kube::selector_matches(object, s)) {
                    items.push((ty.clone(), object.clone()));
                }
            }
        } else {
            named = true;
            for name in names {
                let key = kube::object_key(ty.namespaced, &namespace, name);
                match objects.get(&key) {
                    Some(object) => items.push((ty.clone(), object.clone())),
                    None if cmd.switch("ignore-not-found") => {}
                    None => errors.push(not_found(ty, name)),
                }
            }
        }
    }
    let single = named && requests.len() == 1 && requests[0].1.len() == 1;
    let format = cmd.value("output").unwrap_or("");
    let stdout = match format {
        "json" | "yaml" => {
            let document = if single && items.len() == 1 {
                items[0].1.clone()
            } else if single {
                Value::Null
            } else {
                list_json(items.iter().map(|(_, o)| o.clone()).collect())
            };
            if document.is_null() {
                String::new()
            } else if format == "json" {
                kubectl_json(&document)
            } else {
                serde_yaml::to_string(&document).unwrap_or_default()
            }
        }
        "name" => items
            .iter()
            .map(|(ty, o)| {
                format!(
                    "{}/{}",
                    ty.qualified_singular(),
                    kube::name_of(o).unwrap_or_default()
                )
            })
            .collect::<Vec<_>>()
            .join("\n"),
        _ => table(&items, requests.len() > 1 || all_namespaces, all_namespaces),
    };
    let mut reply = if errors.is_empty() {
        Reply::ok(stdout)
    } else {
        Reply::fail(1, errors.join("\n")).with_stdout(stdout)
    };
    if items.is_empty() && errors.is_empty() && !named && !matches!(format, "json" | "yaml") {
        let scope = if requests.iter().all(|(t, _)| !t.namespaced) || all_namespaces {
            "No resources found".to_string()
        } else {
            format!("No resources found in {namespace} namespace.")
        };
        reply = reply.with_stderr(scope);
    }
    Ok(reply)
}

fn age(_object: &Value) -> &'static str {
    "5m"
}

fn table(items: &[(ResourceType, Value)], show_kind: bool, show_namespace: bool) -> String {
    let mut sections: Vec<String> = Vec::new();
    let mut current: Option<String> = None;
    let mut rows: Vec<Vec<String>> = Vec::new();
    let flush = |rows: &mut Vec<Vec<String>>, sections: &mut Vec<String>| {
        if rows.is_empty() {
            return;
        }
        let widths: Vec<usize> = (0..rows[0].len())
            .map(|c| {
                rows.iter()
                    .map(|r| r.get(c).map_or(0, String::len))
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let text = rows
            .iter()
            .map(|r| {
                r.iter()
                    .enumerate()
                    .map(|(i, cell)| {
                        if i + 1 == r.len() {
                            cell.clone()
                        } else {
                            format!("{cell:<width$}   ", width = widths[i])
                        }
                    })
                    .collect::<String>()
            })
            .collect::<Vec<_>>()
            .join("\n");
        sections.push(text);
        rows.clear();
    };
    for (ty, object) in items {
        let qualified = ty.qualified();
        if current.as_deref() != Some(&qualified) {
            flush(&mut rows, &mut sections);
            current = Some(qualified.clone());
            let mut header: Vec<String> = Vec::new();
            if show_namespace && ty.namespaced {
                header.push("NAMESPACE".into());
            }
            header.extend(columns(ty).iter().map(|c| c.to_string()));
            rows.push(header);
        }
        let name = kube::name_of(object).unwrap_or_default();
        let mut row = Vec::new();
        if show_namespace && ty.namespaced {
            row.push(kube::namespace_of(object).unwrap_or_default().to_string());
        }
        row.push(if show_kind {
            format!("{}/{name}", ty.qualified_singular())
        } else {
            name.to_string()
        });
        let ready = |o: &Value| {
            if cluster::condition_holds(o, "Ready") {
                "True"
            } else {
                "False"
            }
        };
        match ty.kind.as_str() {
            "Pod" => {
                let running = object
                    .pointer("/status/phase")
                    .and_then(Value::as_str)
                    .unwrap_or("Pending");
                row.extend([
                    if running == "Running" { "1/1" } else { "0/1" }.to_string(),
                    running.to_string(),
                    "0".into(),
                    age(object).into(),
                ]);
            }
            "Node" => row.extend([
                if ready(object) == "True" {
                    "Ready"
                } else {
                    "NotReady"
                }
                .to_string(),
                "<none>".into(),
                age(object).into(),
                object
                    .pointer("/status/nodeInfo/kubeletVersion")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
            ]),
            "Deployment" => {
                let want = object
                    .pointer("/spec/replicas")
                    .and_then(Value::as_u64)
                    .unwrap_or(1);
                let have = object
                    .pointer("/status/availableReplicas")
                    .and_then(Value::as_u64)
                    .unwrap_or(0);
                row.extend([
                    format!("{have}/{want}"),
                    want.to_string(),
                    have.to_string(),
                    age(object).into(),
                ]);
            }
            "Namespace" => row.extend([
                object
                    .pointer("/status/phase")
                    .and_then(Value::as_str)
                    .unwrap_or("Active")
                    .to_string(),
                age(object).into(),
            ]),
            "CustomResourceDefinition" => row.push(
                object
                    .pointer("/metadata/creationTimestamp")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
            ),
            "GitRepository" | "Kustomization" => {
                let message = object
                    .pointer("/status/conditions/0/message")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                row.extend([
                    age(object).into(),
                    ready(object).into(),
                    message.to_string(),
                ]);
            }
            _ => row.push(age(object).into()),
        }
        rows.push(row);
    }
    flush(&mut rows, &mut sections);
    sections.join("\n\n")
}

fn columns(ty: &ResourceType) -> Vec<&'static str> {
    match ty.kind.as_str() {
        "Pod" => vec!["NAME", "READY", "STATUS", "RESTARTS", "AGE"],
        "Node" => vec!["NAME", "STATUS", "ROLES", "AGE", "VERSION"],
        "Deployment" => vec!["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"],
        "Namespace" => vec!["NAME", "STATUS", "AGE"],
        "CustomResourceDefinition" => vec!["NAME", "CREATED AT"],
        "GitRepository" | "Kustomization" => vec!["NAME", "AGE", "READY", "STATUS"],
        _ => vec!["NAME", "AGE"],
    }
}

/// Objects from `-f` sources: `(source label, object)`.
/// On a world whose GitHub is an Enterprise Server, github.com is out of reach (a network
/// without a route there): kubectl's download fails as http.Get does, after its retries.
fn unreachable_github_com(ctx: &Ctx<'_>, source: &str) -> Result<(), Reply> {
    let github_com = source
        .strip_prefix("https://")
        .or_else(|| source.strip_prefix("http://"))
        .and_then(|rest| rest.split(['/', ':', '?']).next())
        .is_some_and(|host| host.eq_ignore_ascii_case("github.com"));
    if github_com && ctx.world.github.host.is_some() {
        return Err(Reply::fail(
            1,
            format!("error: Get \"{source}\": dial tcp: lookup github.com: no such host"),
        ));
    }
    Ok(())
}

/// The Flux release a `-f` source installs: the release's install.yaml URL, or a local file
/// that is a copy of it, known by the labels its `flux-system` Namespace carries in every
/// release (`app.kubernetes.io/part-of: flux`, `app.kubernetes.io/version: vX.Y.Z`). The
/// objects are then those of that release, as for the URL.
fn flux_release_of(ctx: &Ctx<'_>, source: &str) -> Option<FluxVersion> {
    if let Some(version) = flux_manifest_version(source) {
        return Some(version);
    }
    if source == "-" || source.contains("://") {
        return None;
    }
    let path = ctx.inv.resolve_path(source);
    if !path.is_file() {
        return None;
    }
    let text = std::fs::read_to_string(path).ok()?;
    parse_yaml_documents(&text)
        .ok()?
        .into_iter()
        .find_map(|doc| {
            let labels = &doc["metadata"]["labels"];
            let flux_namespace = doc["kind"] == "Namespace"
                && doc["metadata"]["name"] == "flux-system"
                && labels["app.kubernetes.io/part-of"] == "flux";
            flux_namespace
                .then(|| labels["app.kubernetes.io/version"].as_str())
                .flatten()
                .and_then(FluxVersion::parse)
        })
}

fn read_manifests(ctx: &Ctx<'_>, cmd: &ToolCommand) -> Result<Vec<(String, Value)>, Reply> {
    let sources = cmd.flags.values("filename");
    if sources.is_empty() {
        return Err(Reply::fail(1, "error: must specify one of -f and -k"));
    }
    let mut objects = Vec::new();
    for source in sources {
        let (label, text) = if source == "-" {
            let Some(stdin) = &ctx.inv.stdin else {
                return Ok(objects);
            };
            (
                "STDIN".to_string(),
                String::from_utf8_lossy(stdin).into_owned(),
            )
        } else if source.starts_with("http://") || source.starts_with("https://") {
            return Err(Reply::fail(
                1,
                format!("error: unable to read URL \"{source}\", server reported 404 Not Found, status code=404"),
            ));
        } else {
            let path = ctx.inv.resolve_path(source);
            let mut files = Vec::new();
            if path.is_dir() {
                let mut entries: Vec<_> = std::fs::read_dir(&path)
                    .map_err(|e| Reply::fail(1, format!("error: {e}")))?
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| {
                        matches!(
                            p.extension().and_then(|e| e.to_str()),
                            Some("yaml" | "yml" | "json")
                        )
                    })
                    .collect();
                entries.sort();
                files.extend(entries);
            } else {
                files.push(path.clone());
            }
            let mut text = String::new();
            for file in files {
                let content = std::fs::read_to_string(&file).map_err(|_| {
                    Reply::fail(
                        1,
                        format!("error: the path \"{}\" does not exist", file.display()),
                    )
                })?;
                text.push_str("\n---\n");
                text.push_str(&content);
            }
            (source.to_string(), text)
        };
        for value in parse_yaml_documents(&text).map_err(|e| {
            Reply::fail(
                1,
                format!("error: error parsing {label}: error converting YAML to JSON: {e}"),
            )
        })? {
            match value {
                Value::Null => {}
                Value::Object(ref map) if map.get("kind") == Some(&json!("List")) => {
                    for item in map
                        .get("items")
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default()
                    {
                        objects.push((label.clone(), item));
                    }
                }
                other => objects.push((label.clone(), other)),
            }
        }
    }
    Ok(objects)
}

/// Every document of a multi-document YAML stream, as JSON.
pub(crate) fn parse_yaml_documents(text: &str) -> Result<Vec<Value>, String> {
    use serde::Deserialize;
    let mut values = Vec::new();
    for document in serde_yaml::Deserializer::from_str(text) {
        let yaml = serde_yaml::Value::deserialize(document).map_err(|e| e.to_string())?;
        values.push(serde_json::to_value(&yaml).map_err(|e| e.to_string())?);
    }
    Ok(values)
}

/// The server's schema checks for the Kalypso resources the engine creates.
fn validate(object: &Value, kind: &str, group: &str) -> Result<(), String> {
    if group != KALYPSO_GROUP || kind != "Workload" {
        return Ok(());
    }
    let name = kube::name_of(object).unwrap_or_default();
    let mut problems = Vec::new();
    if let Some(targets) = object.pointer("/spec/deploymentTargets") {
        match targets.as_array() {
            None => problems.push("spec.deploymentTargets: Invalid value: \"object\": spec.deploymentTargets in body must be of type array".to_string()),
            Some(targets) => {
                for (i, target) in targets.iter().enumerate() {
                    for field in ["environment", "manifests", "name"] {
                        if target.get(field).is_none() {
                            problems.push(format!("spec.deploymentTargets[{i}].{field}: Required value"));
                        }
                    }
                }
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "The Workload \"{name}\" is invalid: \n* {}",
            problems.join("\n* ")
        ))
    }
}

fn apply(ctx: &mut Ctx<'_>, cmd: &ToolCommand, conn: &Connection) -> Result<Reply, Reply> {
    let server_side = cmd.switch("server-side");
    if let Some(mode) = cmd.value("dry-run") {
        if mode != "none" {
            return Err(Reply::fail(1, "error: --dry-run is not simulated"));
        }
    }
    let sources = cmd.flags.values("filename");
    for source in &sources {
        unreachable_github_com(ctx, source)?;
    }
    // Flux's release manifest is the one URL the simulated network serves; a local copy of
    // it installs the same release.
    if let [source] = sources.as_slice() {
        if let Some(version) = flux_release_of(ctx, source) {
            let timestamp = ctx.timestamp.clone();
            let lines = ctx.world.install_flux(&conn.server, version, &timestamp);
            let verb = if server_side {
                "serverside-applied"
            } else {
                "created"
            };
            let mut reply = Reply::silent();
            for line in lines {
                reply = reply.with_progress(Stream::Stdout, format!("{line} {verb}"));
            }
            return Ok(reply);
        }
    }
    let objects = read_manifests(ctx, cmd)?;
    if objects.is_empty() {
        return Err(Reply::fail(1, "error: no objects passed to apply"));
    }
    let default_ns = namespace_of(cmd, conn);
    let mut reply = Reply::silent();
    let mut errors = Vec::new();
    for (source, mut object) in objects {
        let api_version = object
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let kind = object
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if api_version.is_empty() || kind.is_empty() {
            let mut missing = Vec::new();
            if api_version.is_empty() {
                missing.push("apiVersion not set");
            }
            if kind.is_empty() {
                missing.push("kind not set");
            }
            errors.push(format!(
                "error: error validating \"{source}\": error validating data: [{}]; if you choose to ignore these errors, turn validation off with --validate=false",
                missing.join(", ")
            ));
            continue;
        }
        let name = kube::name_of(&object).unwrap_or_default().to_string();
        let api = &ctx.world.kube[&conn.server];
        let Some(ty) = kube::resolve_kind(api, &api_version, &kind) else {
            let ns = kube::namespace_of(&object)
                .unwrap_or(&default_ns)
                .to_string();
            errors.push(format!(
                "error: resource mapping not found for name: \"{name}\" namespace: \"{ns}\" from \"{source}\": no matches for kind \"{kind}\" in version \"{api_version}\"\nensure CRDs are installed first"
            ));
            continue;
        };
        if name.is_empty() {
            errors.push(format!("error: error when retrieving current configuration of:\nResource: \"{}\"\nfrom server for: \"{source}\": resource name may not be empty", ty.qualified()));
            continue;
        }
        if ty.namespaced {
            let ns = kube::namespace_of(&object)
                .unwrap_or(&default_ns)
                .to_string();
            if !api
                .objects
                .get("namespaces")
                .is_some_and(|n| n.contains_key(&ns))
            {
                errors.push(format!("Error from server (NotFound): error when creating \"{source}\": namespaces \"{ns}\" not found"));
                continue;
            }
            object["metadata"]["namespace"] = json!(ns);
        }
        if let Err(message) = validate(&object, &kind, &ty.group) {
            errors.push(format!(
                "Error from server (Invalid): error when creating \"{source}\": {message}"
            ));
            continue;
        }
        let stored = cluster::store(ctx, &conn.server, &ty, object);
        let verb = match (server_side, stored) {
            (true, _) => "serverside-applied",
            (false, Stored::Created) => "created",
            (false, Stored::Configured) => "configured",
            (false, Stored::Unchanged) => "unchanged",
        };
        reply = reply.with_progress(
            Stream::Stdout,
            format!("{}/{name} {verb}", ty.qualified_singular()),
        );
    }
    if errors.is_empty() {
        Ok(reply)
    } else {
        reply.exit_code = 1;
        Ok(reply.with_stderr(errors.join("\n")))
    }
}

fn create_namespace(
    ctx: &mut Ctx<'_>,
    cmd: &ToolCommand,
    conn: &Connection,
) -> Result<Reply, Reply> {
    let name = match cmd.flags.positionals.as_slice() {
        [name] => name.clone(),
        other => return Err(Reply::fail(1, format!("error: exactly one NAME is required, got {}\nSee 'kubectl create namespace -h' for help and examples", other.len()))),
    };
    let exists = ctx.world.kube[&conn.server]
        .objects
        .get("namespaces")
        .is_some_and(|n| n.contains_key(&name));
    if exists {
        return Err(Reply::fail(
            1,
            format!("Error from server (AlreadyExists): namespaces \"{name}\" already exists"),
        ));
    }
    let ty = kube::resolve(&ctx.world.kube[&conn.server], "namespaces").expect("built in");
    cluster::store(ctx, &conn.server, &ty, kube::namespace(&name, &[]));
    Ok(Reply::ok(format!("namespace/{name} created")))
}

/// Whether `key` is a valid label key: an optional DNS-subdomain prefix and `/`, then a
/// name of at most 63 characters (alphanumerics, `-`, `_`, `.`; alphanumeric at both ends).
fn valid_label_key(key: &str) -> bool {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    let prefix_ok = prefix.is_none_or(|p| super::kube::is_dns_subdomain(p, 253));
    prefix_ok && !name.is_empty() && valid_label_value(name)
}

/// A label value: empty, or at most 63 alphanumerics, `-`, `_`, `.`, alphanumeric at both ends.
fn valid_label_value(value: &str) -> bool {
    value.is_empty()
        || (value.len() <= 63
            && value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            && value.starts_with(|c: char| c.is_ascii_alphanumeric())
            && value.ends_with(|c: char| c.is_ascii_alphanumeric()))
}

/// `kubectl label TYPE NAME... KEY=VALUE... [KEY-]... [--overwrite]`: a value already set
/// differently needs `--overwrite`; each object answers `labeled` or `not labeled`.
fn label(ctx: &mut Ctx<'_>, cmd: &ToolCommand, conn: &Connection) -> Result<Reply, Reply> {
    let positionals = &cmd.flags.positionals;
    let (changes, targets): (Vec<&String>, Vec<&String>) = positionals
        .iter()
        .partition(|p| p.contains('=') || (p.ends_with('-') && !p.contains('/')));
    let mut set = Vec::new();
    let mut unset = Vec::new();
    for change in &changes {
        match change.split_once('=') {
            Some((key, value)) => {
                if !valid_label_key(key) || !valid_label_value(value) {
                    return Err(Reply::fail(
                        1,
                        format!("error: invalid label spec: {change}"),
                    ));
                }
                set.push((key.to_string(), value.to_string()));
            }
            None => unset.push(change.trim_end_matches('-').to_string()),
        }
    }
    if changes.is_empty() {
        return Err(Reply::fail(
            1,
            "error: at least one label update is required",
        ));
    }
    let targets: Vec<String> = targets.into_iter().cloned().collect();
    if targets.is_empty() {
        return Err(Reply::fail(1, "error: You must provide one or more resources by argument or filename.\nExample resource specifications include:\n   '-f rsrc.yaml'\n   '--filename=rsrc.json'\n   '<resource> <name>'\n   '<resource>'"));
    }
    let namespace = namespace_of(cmd, conn);
    let overwrite = cmd.switch("overwrite");
    let mut lines = Vec::new();
    let mut errors = Vec::new();
    for (ty, names) in requests(ctx, &conn.server, &targets)? {
        for name in names {
            let key = kube::object_key(ty.namespaced, &namespace, &name);
            let version = ctx.world.counter.next();
            let Some(object) = ctx
                .world
                .kube
                .get_mut(&conn.server)
                .expect("connected")
                .objects
                .get_mut(&ty.qualified())
                .and_then(|objects| objects.get_mut(&key))
            else {
                errors.push(not_found(&ty, &name));
                continue;
            };
            let metadata = object
                .as_object_mut()
                .expect("objects are JSON objects")
                .entry("metadata")
                .or_insert_with(|| json!({}));
            let labels = metadata
                .as_object_mut()
                .expect("metadata is an object")
                .entry("labels")
                .or_insert_with(|| json!({}));
            let labels = labels.as_object_mut().expect("labels are an object");
            if let Some((key, old)) = set.iter().find_map(|(k, v)| {
                labels
                    .get(k)
                    .and_then(Value::as_str)
                    .filter(|old| old != v)
                    .map(|old| (k.clone(), old.to_string()))
            }) {
                if !overwrite {
                    errors.push(format!(
                        "error: '{key}' already has a value ({old}), and --overwrite is false"
                    ));
                    continue;
                }
            }
            let before = labels.clone();
            for (k, v) in &set {
                labels.insert(k.clone(), json!(v));
            }
            for k in &unset {
                labels.remove(k);
            }
            let changed = *labels != before;
            if changed {
                if let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) {
                    metadata.insert("resourceVersion".into(), json!(version.to_string()));
                }
            }
            lines.push(format!(
                "{}/{name} {}",
                ty.qualified_singular(),
                if changed { "labeled" } else { "not labeled" }
            ));
        }
    }
    let reply = Reply::ok(lines.join("\n"));
    if errors.is_empty() {
        Ok(reply)
    } else {
        let mut reply = reply.with_stderr(errors.join("\n"));
        reply.exit_code = 1;
        Ok(reply)
    }
}

const PROTECTED_NAMESPACES: [&str; 4] =
    ["default", "kube-node-lease", "kube-public", "kube-system"];

fn delete(ctx: &mut Ctx<'_>, cmd: &ToolCommand, conn: &Connection) -> Result<Reply, Reply> {
    let namespace = namespace_of(cmd, conn);
    let ignore = cmd.switch("ignore-not-found");
    let mut targets: Vec<(ResourceType, String, String, String)> = Vec::new();
    let sources = cmd.flags.values("filename");
    if !sources.is_empty() {
        for source in &sources {
            unreachable_github_com(ctx, source)?;
        }
        for source in &sources {
            if let Some(version) = flux_release_of(ctx, source) {
                for item in flux_manifest(version) {
                    let api = &ctx.world.kube[&conn.server];
                    let ty = kube::resolve(api, &item.resource)
                        .unwrap_or_else(|| kube::builtin_types().remove(0));
                    targets.push((
                        ty,
                        item.namespace.unwrap_or_default(),
                        item.name,
                        source.to_string(),
                    ));
                }
            }
        }
        if targets.is_empty() {
            for (source, object) in read_manifests(ctx, cmd)? {
                let api = &ctx.world.kube[&conn.server];
                let api_version = object
                    .get("apiVersion")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let kind = object
                    .get("kind")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                if let Some(ty) = kube::resolve_kind(api, api_version, kind) {
                    let ns = kube::namespace_of(&object)
                        .unwrap_or(&namespace)
                        .to_string();
                    targets.push((
                        ty,
                        ns,
                        kube::name_of(&object).unwrap_or_default().to_string(),
                        source,
                    ));
                }
            }
        }
    } else {
        let requests = requests(ctx, &conn.server, &cmd.flags.positionals)?;
        for (ty, names) in requests {
            if names.is_empty() {
                if cmd.switch("all") || cmd.value("selector").is_some() {
                    let api = &ctx.world.kube[&conn.server];
                    let objects = api
                        .objects
                        .get(&ty.qualified())
                        .cloned()
                        .unwrap_or_default();
                    for (key, object) in objects {
                        let in_ns = !ty.namespaced || key.starts_with(&format!("{namespace}/"));
                        if in_ns
                            && cmd
                                .value("selector")
                                .is_none_or(|s| kube::selector_matches(&object, s))
                        {
                            targets.push((
                                ty.clone(),
                                namespace.clone(),
                                kube::name_of(&object).unwrap_or_default().to_string(),
                                String::new(),
                            ));
                        }
                    }
                } else {
                    return Err(Reply::fail(
                        1,
                        "error: resource(s) were provided, but no name was specified",
                    ));
                }
            }
            for name in names {
                targets.push((ty.clone(), namespace.clone(), name, String::new()));
            }
        }
    }
    let mut reply = Reply::silent();
    let mut errors = Vec::new();
    // A deleted namespace terminates after the request: the objects in it that the same
    // command deletes are still found.
    let mut terminating = Vec::new();
    for (ty, ns, name, source) in targets {
        let is_namespace = ty.qualified() == "namespaces";
        if is_namespace && PROTECTED_NAMESPACES.contains(&name.as_str()) {
            errors.push(format!("Error from server (Forbidden): namespaces \"{name}\" is forbidden: this namespace may not be deleted"));
            continue;
        }
        let found = if is_namespace {
            let exists = ctx.world.kube[&conn.server]
                .objects
                .get("namespaces")
                .is_some_and(|n| n.contains_key(&name));
            if exists && !terminating.contains(&name) {
                terminating.push(name.clone());
            }
            exists
        } else {
            cluster::delete(ctx, &conn.server, &ty, &ns, &name)
        };
        if found {
            reply = reply.with_progress(
                Stream::Stdout,
                format!("{} \"{name}\" deleted", ty.qualified_singular()),
            );
        } else if !ignore {
            if source.is_empty() {
                errors.push(not_found(&ty, &name));
            } else {
                errors.push(format!("Error from server (NotFound): error when deleting \"{source}\": {} \"{name}\" not found", ty.qualified()));
            }
        }
    }
    let namespace_type =
        kube::resolve(&ctx.world.kube[&conn.server], "namespaces").expect("built in");
    for name in terminating {
        cluster::delete(ctx, &conn.server, &namespace_type, "", &name);
    }
    if !errors.is_empty() {
        reply.exit_code = 1;
        reply = reply.with_stderr(errors.join("\n"));
    }
    Ok(reply)
}

fn parse_go_duration(text: &str) -> Option<std::time::Duration> {
    let mut total = 0f64;
    let mut number = String::new();
    let mut chars = text.chars().peekable();
    if text == "0" {
        return Some(std::time::Duration::ZERO);
    }
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() || c == '.' {
            number.push(c);
            continue;
        }
        let mut unit = c.to_string();
        if c == 'm' && chars.peek() == Some(&'s') {
            unit.push(chars.next()?);
        }
        let value: f64 = number.parse().ok()?;
        number.clear();
        total += value
            * match unit.as_str() {
                "h" => 3600.0,
                "m" => 60.0,
                "s" => 1.0,
                "ms" => 0.001,
                _ => return None,
            };
    }
    if !number.is_empty() {
        return None;
    }
    Some(std::time::Duration::from_secs_f64(total))
}

pub(crate) fn go_duration(text: &str) -> Option<std::time::Duration> {
    parse_go_duration(text)
}

fn wait(ctx: &mut Ctx<'_>, cmd: &ToolCommand, conn: &Connection) -> Result<Reply, Reply> {
    let Some(for_) = cmd.value("for") else {
        return Err(Reply::fail(1, "error: --for must be set"));
    };
    let timeout = match cmd.value("timeout") {
        Some(text) => parse_go_duration(text).ok_or_else(|| {
            Reply::fail(1, format!("error: invalid argument \"{text}\" for \"--timeout\" flag: time: invalid duration \"{text}\""))
        })?,
        None => std::time::Duration::from_secs(30),
    };
    let condition = match for_.split_once('=') {
        Some(("condition", condition)) => {
            condition.split('=').next().unwrap_or(condition).to_string()
        }
        _ if for_ == "delete" => "delete".to_string(),
        _ => {
            return Err(Reply::fail(
                1,
                format!("error: --for={for_} is not simulated (use condition=NAME or delete)"),
            ))
        }
    };
    let namespace = namespace_of(cmd, conn);
    let requests = requests(ctx, &conn.server, &cmd.flags.positionals)?;
    let mut targets: Vec<(ResourceType, Option<Value>, String)> = Vec::new();
    for (ty, names) in requests {
        let objects = visible_objects(ctx, &conn.server, &ty);
        if names.is_empty() {
            if !cmd.switch("all") && cmd.value("selector").is_none() {
                return Err(Reply::fail(
                    1,
                    "error: resource(s) were provided, but no name was specified",
                ));
            }
            for (key, object) in objects {
                let in_ns = !ty.namespaced || key.starts_with(&format!("{namespace}/"));
                if in_ns
                    && cmd
                        .value("selector")
                        .is_none_or(|s| kube::selector_matches(&object, s))
                {
                    let name = kube::name_of(&object).unwrap_or_default().to_string();
                    targets.push((ty.clone(), Some(object), name));
                }
            }
        } else {
            for name in names {
                let object = objects
                    .get(&kube::object_key(ty.namespaced, &namespace, &name))
                    .cloned();
                targets.push((ty.clone(), object, name));
            }
        }
    }
    if targets.is_empty() {
        return Err(Reply::fail(1, "error: no matching resources found"));
    }
    let mut reply = Reply::silent();
    for (ty, object, name) in targets {
        let met = match (&object, condition.as_str()) {
            (None, "delete") => true,
            (None, _) => {
                return Err(reply.with_stderr(not_found(&ty, &name)).with_exit(1));
            }
            (Some(_), "delete") => false,
            (Some(object), wanted) => cluster::condition_holds(object, wanted),
        };
        if met {
            reply = reply.with_progress(
                Stream::Stdout,
                format!("{}/{name} condition met", ty.qualified_singular()),
            );
        } else {
            let plural = ty.qualified();
            let plural = plural.split('.').next().unwrap_or(&plural);
            return Ok(reply
                .with_stderr(format!(
                    "error: timed out waiting for the condition on {plural}/{name}"
                ))
                .with_exit(1)
                .with_busy(timeout));
        }
    }
    Ok(reply)
}

fn rollout_status(ctx: &mut Ctx<'_>, cmd: &ToolCommand, conn: &Connection) -> Result<Reply, Reply> {
    let namespace = namespace_of(cmd, conn);
    let requests = requests(ctx, &conn.server, &cmd.flags.positionals)?;
    let mut reply = Reply::silent();
    for (ty, names) in requests {
        for name in names {
            let object = visible_objects(ctx, &conn.server, &ty).remove(&kube::object_key(
                ty.namespaced,
                &namespace,
                &name,
            ));
            let unavailable = object
                .as_ref()
                .and_then(|o| o.pointer("/status/unavailableReplicas"))
                .and_then(Value::as_u64)
                .unwrap_or(0);
            match object {
                // Pods that never become ready: kubectl waits out its timeout.
                Some(object) if unavailable > 0 => {
                    let timeout = cmd
                        .value("timeout")
                        .and_then(parse_go_duration)
                        .filter(|t| !t.is_zero())
                        .unwrap_or(std::time::Duration::from_secs(600));
                    let replicas = object
                        .pointer("/spec/replicas")
                        .and_then(Value::as_u64)
                        .unwrap_or(1);
                    return Ok(reply
                        .with_progress(
                            Stream::Stdout,
                            format!("Waiting for deployment \"{name}\" rollout to finish: 0 of {replicas} updated replicas are available..."),
                        )
                        .with_stderr("error: timed out waiting for the condition")
                        .with_exit(1)
                        .with_busy(timeout));
                }
                Some(_) => {
                    reply = reply.with_progress(
                        Stream::Stdout,
                        format!(
                            "{} \"{name}\" successfully rolled out",
                            ty.kind.to_ascii_lowercase()
                        ),
                    )
                }
                None => return Err(Reply::fail(1, not_found(&ty, &name))),
            }
        }
    }
    Ok(reply)
}

fn config(ctx: &mut Ctx<'_>, cmd: &ToolCommand, sub: &str) -> Result<Reply, Reply> {
    let files = cluster::kubeconfig_files(ctx, cmd.value("kubeconfig"));
    let merged =
        MergedKubeconfig::load(&files).map_err(|e| Reply::fail(1, format!("error: {e}")))?;
    let destination = merged
        .destination()
        .cloned()
        .unwrap_or_else(|| ctx.paths.default_kubeconfig.clone());
    let one_arg = |what: &str| -> Result<String, Reply> {
        match cmd.flags.positionals.as_slice() {
            [name] => Ok(name.clone()),
            _ => Err(Reply::fail(1, format!("error: unexpected args: {:?}\nSee 'kubectl config {what} -h' for help and examples", cmd.flags.positionals))),
        }
    };
    match sub {
        "current-context" => match merged.current_context() {
            Some(c) => Ok(Reply::ok(c)),
            None => Err(Reply::fail(1, "error: current-context is not set")),
        },
        "get-contexts" => {
            let entries = merged.entries();
            let wanted: Vec<&String> = cmd.flags.positionals.iter().collect();
            for name in &wanted {
                if !entries.iter().any(|e| &e.name == *name) {
                    return Err(Reply::fail(1, format!("error: context {name} not found")));
                }
            }
            let shown: Vec<_> = entries
                .iter()
                .filter(|e| wanted.is_empty() || wanted.contains(&&e.name))
                .collect();
            if cmd.value("output") == Some("name") {
                return Ok(Reply::ok(
                    shown
                        .iter()
                        .map(|e| e.name.clone())
                        .collect::<Vec<_>>()
                        .join("\n"),
                ));
            }
            let current = merged.current_context().unwrap_or_default();
            let mut lines = Vec::new();
            if !cmd.switch("no-headers") {
                lines.push("CURRENT   NAME   CLUSTER   AUTHINFO   NAMESPACE".to_string());
            }
            for e in shown {
                lines.push(format!(
                    "{}   {}   {}   {}   {}",
                    if e.name == current { "*" } else { " " },
                    e.name,
                    e.cluster,
                    e.user,
                    e.namespace.clone().unwrap_or_default()
                ));
            }
            Ok(Reply::ok(lines.join("\n")))
        }
        "use-context" => {
            let name = one_arg("use-context")?;
            if !merged.has_context(&name) {
                return Err(Reply::fail(
                    1,
                    format!("error: no context exists with the name: \"{name}\""),
                ));
            }
            let mut file = Kubeconfig::load(&destination)
                .map_err(|e| Reply::fail(1, format!("error: {e}")))?;
            file.current_context = name.clone();
            file.save(&destination)
                .map_err(|e| Reply::fail(1, format!("error: {e}")))?;
            Ok(Reply::ok(format!("Switched to context \"{name}\".")))
        }
        "delete-context" | "delete-cluster" | "delete-user" => {
            let name = one_arg(sub)?;
            let what = sub.trim_start_matches("delete-");
            let holder = merged.files.iter().find(|(_, f)| {
                let list = match what {
                    "context" => &f.contexts,
                    "cluster" => &f.clusters,
                    _ => &f.users,
                };
                list.iter().any(|e| e.name == name)
            });
            let Some((path, file)) = holder else {
                return Err(Reply::fail(
                    1,
                    format!(
                        "error: cannot delete {what} {name}, not in {}",
                        destination.display()
                    ),
                ));
            };
            let mut file = file.clone();
            let mut warning = None;
            match what {
                "context" => {
                    file.contexts.retain(|e| e.name != name);
                    if file.current_context == name {
                        warning = Some("warning: this removed your active context, use \"kubectl config use-context\" to select a different one");
                    }
                }
                "cluster" => file.clusters.retain(|e| e.name != name),
                _ => file.users.retain(|e| e.name != name),
            }
            file.save(path)
                .map_err(|e| Reply::fail(1, format!("error: {e}")))?;
            let mut reply = Reply::ok(format!("deleted {what} {name} from {}", path.display()));
            if let Some(warning) = warning {
                reply = reply.with_stderr(warning);
            }
            Ok(reply)
        }
        "view" => {
            let mut view = Kubeconfig::empty();
            for (_, file) in &merged.files {
                for (target, source) in [
                    (&mut view.clusters, &file.clusters),
                    (&mut view.contexts, &file.contexts),
                    (&mut view.users, &file.users),
                ] {
                    for entry in source {
                        if !target.iter().any(|e| e.name == entry.name) {
                            target.push(entry.clone());
                        }
                    }
                }
            }
            view.current_context = merged.current_context().unwrap_or_default();
            if cmd.switch("minify") {
                let current = view.current_context.clone();
                let context = view.context(&current).cloned();
                let cluster = context.as_ref().and_then(|c| c.field("context", "cluster"));
                let user = context.as_ref().and_then(|c| c.field("context", "user"));
                view.contexts.retain(|c| c.name == current);
                view.clusters.retain(|c| Some(&c.name) == cluster.as_ref());
                view.users.retain(|u| Some(&u.name) == user.as_ref());
            }
            let mut value = serde_json::to_value(&view).unwrap_or(Value::Null);
            if !cmd.switch("raw") {
                redact_credentials(&mut value);
            }
            match cmd.value("output") {
                Some("json") => Ok(Reply::ok(kubectl_json(&value))),
                _ => Ok(Reply::ok(serde_yaml::to_string(&value).unwrap_or_default())),
            }
        }
        other => Err(Reply::fail(
            1,
            format!("error: kubectl config {other} is not simulated"),
        )),
    }
}

/// `kubectl config view` without `--raw`: certificate data and tokens hidden.
fn redact_credentials(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if key.ends_with("-data") {
                    *v = json!("DATA+OMITTED");
                } else if key == "token" {
                    *v = json!("REDACTED");
                } else {
                    redact_credentials(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_credentials),
        _ => {}
    }
}

trait WithExit {
    fn with_exit(self, code: i32) -> Self;
}

impl WithExit for Reply {
    fn with_exit(mut self, code: i32) -> Self {
        self.exit_code = code;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(
            parse_go_duration("300s"),
            Some(std::time::Duration::from_secs(300))
        );
        assert_eq!(
            parse_go_duration("5m0s"),
            Some(std::time::Duration::from_secs(300))
        );
        assert_eq!(
            parse_go_duration("1h2m"),
            Some(std::time::Duration::from_secs(3720))
        );
        assert_eq!(parse_go_duration("10"), None);
        assert_eq!(parse_go_duration("5x"), None);
    }
}
