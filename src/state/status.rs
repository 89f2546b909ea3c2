//! `--status`: the recorded state as readable text, or as the raw JSON for `--output json`.
//! Pure functions returning strings; the caller prints them and exits 0.

use std::fmt::Write as _;
use std::path::Path;

use super::identity::IdentityPart;
use super::schema::{
    BootstrapState, ClusterIdentity, InstallationWorld, RepositorySummary, Resource, StepRecord,
};

const NOT_RECORDED: &str = "(not recorded)";

/// How `--status` shows the state. The state layer's own choice, so it needs nothing from
/// the command line; the caller maps `--output` onto it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFormat {
    /// Readable text.
    Text,
    /// The raw state JSON (or a JSON object saying there is none).
    Json,
}

/// What `--status` prints for the given state (or its absence).
pub fn render_status(state: Option<&BootstrapState>, path: &Path, format: StatusFormat) -> String {
    match (state, format) {
        (Some(state), StatusFormat::Text) => render_text(state, path),
        (Some(state), StatusFormat::Json) => render_json(state),
        (None, StatusFormat::Text) => render_absent_text(path),
        (None, StatusFormat::Json) => render_absent_json(path),
    }
}

/// The raw state JSON, exactly as written to the file (secrets masked).
pub fn render_json(state: &BootstrapState) -> String {
    state.to_json()
}

pub fn render_absent_text(path: &Path) -> String {
    format!(
        "No bootstrap state found at {}: nothing has been recorded there yet.\n",
        path.display()
    )
}

/// A JSON object saying there is no state, so `--output json` consumers always get JSON.
/// It carries the state contract's `version` as a state does, so every `--status --output
/// json` document names its version under the same key.
pub fn render_absent_json(path: &Path) -> String {
    let value = serde_json::json!({
        "version": super::schema::SCHEMA_VERSION,
        "stateFile": path.display().to_string(),
        "found": false,
    });
    format!("{value}\n")
}

/// A readable summary: installation id and world, status, time, cluster, repositories, installation, steps,
/// resources with ownership, errors.
pub fn render_text(state: &BootstrapState, path: &Path) -> String {
    let mut out = String::new();
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| NOT_RECORDED.to_string());

    // Writing to a String cannot fail.
    let _ = writeln!(out, "Kalypso bootstrap state ({})", path.display());
    match &state.identity {
        Some(identity) => {
            let _ = writeln!(out, "  Installation:    {}", identity.id);
            let _ = writeln!(out, "  World:           {}", world_text(identity.world));
        }
        None => {
            let _ = writeln!(
                out,
                "  Installation:    {NOT_RECORDED} (written before installations had an identity)"
            );
            let _ = writeln!(out, "  World:           {NOT_RECORDED}");
        }
    }
    let _ = writeln!(
        out,
        "  Status:          {}",
        state.status.as_str().replace('_', " ")
    );
    let _ = writeln!(out, "  Last updated:    {}", state.timestamp);
    let _ = writeln!(out, "  State version:   {}", state.version);

    let _ = writeln!(out, "\nCluster");
    let cluster = &state.cluster;
    let origin = if cluster.created {
        "created by kalypso-bootstrap"
    } else {
        "existing"
    };
    let _ = writeln!(out, "  Name:            {} ({origin})", opt(&cluster.name));
    let _ = writeln!(out, "  Resource group:  {}", opt(&cluster.resource_group));
    let _ = writeln!(out, "  Region:          {}", opt(&cluster.region));
    let _ = writeln!(out, "  Kube context:    {}", opt(&cluster.kube_context));
    if let Some(identity) = &state.identity {
        if let ClusterIdentity::Aks { .. } = identity.cluster {
            let _ = writeln!(
                out,
                "  Subscription:    {}",
                identity.describe(IdentityPart::Subscription)
            );
        }
    }

    let _ = writeln!(out, "\nRepositories");
    write_repo(&mut out, "Control plane", &state.repositories.control_plane);
    write_repo(&mut out, "GitOps", &state.repositories.gitops);

    let _ = writeln!(out, "\nInstallation");
    let inst = &state.installation;
    // The namespace is recorded in the installation once Helm installed into it; before
    // that, a namespace the run records as a resource is the one (being) created.
    let namespace = inst.namespace.clone().or_else(|| {
        state
            .resources
            .iter()
            .find_map(|record| match &record.resource {
                Resource::Namespace { name, .. } => {
                    Some(format!("{name} ({})", record.status.label()))
                }
                _ => None,
            })
    });
    let _ = writeln!(out, "  Namespace:       {}", opt(&namespace));
    let _ = writeln!(out, "  Helm release:    {}", opt(&inst.helm_release));
    let _ = writeln!(out, "  Chart version:   {}", opt(&inst.version));

    let _ = writeln!(out, "\nSteps");
    if state.steps.is_empty() {
        let _ = writeln!(out, "  (none recorded)");
    }
    let id_width = state.steps.iter().map(|s| s.id.len()).max().unwrap_or(0);
    for step in &state.steps {
        write_step(&mut out, step, id_width);
    }

    let _ = writeln!(out, "\nResources (in creation order)");
    if state.resources.is_empty() {
        let _ = writeln!(out, "  (none recorded)");
    }
    for record in &state.resources {
        let _ = write!(
            out,
            "  {:<21} {:<14} {}",
            record.ownership.label(),
            record.status.label(),
            record.resource.label()
        );
        if let Some(message) = &record.message {
            let _ = write!(out, ": {message}");
        }
        out.push('\n');
    }

    let _ = writeln!(out, "\nErrors");
    if state.errors.is_empty() {
        let _ = writeln!(out, "  (none)");
    }
    for error in &state.errors {
        let _ = writeln!(out, "  - {error}");
    }

    // Errors and notes recorded with the resources' identifiers, in people's words too.
    let out = super::schema::in_human_words(&out).into_owned();
    crate::secrets::redact(&out).into_owned()
}

fn world_text(world: InstallationWorld) -> &'static str {
    match world {
        InstallationWorld::Real => {
            "real (Azure, GitHub and clusters through az, gh, kubectl, helm)"
        }
        InstallationWorld::Demo => {
            "demo (simulated Azure, GitHub and cluster; use it with --demo and this --state-file)"
        }
    }
}

fn write_repo(out: &mut String, label: &str, repo: &RepositorySummary) {
    let origin = if repo.created {
        "created by kalypso-bootstrap"
    } else {
        "existing"
    };
    let location = match (&repo.url, &repo.owner, &repo.name) {
        (Some(url), _, _) => url.clone(),
        (None, Some(owner), Some(name)) => format!("{owner}/{name}"),
        (None, None, Some(name)) => name.clone(),
        _ => {
            let _ = writeln!(out, "  {:<16} {NOT_RECORDED}", format!("{label}:"));
            return;
        }
    };
    let _ = writeln!(out, "  {:<16} {location} ({origin})", format!("{label}:"));
}

fn write_step(out: &mut String, step: &StepRecord, id_width: usize) {
    let _ = write!(
        out,
        "  {:<9} {:<id_width$}  {:<13}",
        step.status.as_str(),
        step.id,
        step.phase.as_str()
    );
    match (&step.started_at, &step.finished_at) {
        (Some(start), Some(end)) => {
            let _ = write!(out, " {start} -> {end}");
        }
        (Some(start), None) => {
            let _ = write!(out, " started {start}");
        }
        (None, Some(end)) => {
            let _ = write!(out, " finished {end}");
        }
        (None, None) => {}
    }
    if let Some(message) = &step.message {
        let _ = write!(out, ": {message}");
    }
    let trimmed = out.trim_end_matches(' ').len();
    out.truncate(trimmed);
    out.push('\n');
}
