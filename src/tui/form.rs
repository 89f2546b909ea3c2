//! The configuration forms: every field of the Configuration entity, grouped as Cluster,
//! Repositories, Installation and Options, prefilled from the parsed layers (defaults,
//! file, environment, flags). What the user changes becomes the "interactive answers"
//! layer on top; validation is the configuration module's own, run as a field is left and
//! before moving on, with each error shown under its field.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;

use crossterm::event::{Event as CrosstermEvent, KeyCode, KeyEvent, KeyModifiers};
use secrecy::zeroize::Zeroize;
use secrecy::SecretString;
use tui_input::backend::crossterm::to_input_request;
use tui_input::Input;

use crate::config::field::{Kind, Value};
use crate::config::lifecycle::{Parsed, Validated};
use crate::config::regions::AZURE_REGIONS;
use crate::config::{
    ConfigLayer, Field, FieldError, NetworkPlugin, Problem, Provenance, Source, Visibility,
};
use crate::prereq::{ContextProbe, Reachability};

/// A section of the form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Group {
    Cluster,
    Repositories,
    Installation,
    Options,
}

impl Group {
    pub const ALL: [Group; 4] = [
        Group::Cluster,
        Group::Repositories,
        Group::Installation,
        Group::Options,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Group::Cluster => "Cluster",
            Group::Repositories => "Repositories",
            Group::Installation => "Installation",
            Group::Options => "Options",
        }
    }

    pub fn index(self) -> usize {
        Group::ALL.iter().position(|g| *g == self).unwrap_or(0)
    }

    fn next(self) -> Option<Group> {
        Group::ALL.get(self.index() + 1).copied()
    }

    fn previous(self) -> Option<Group> {
        self.index().checked_sub(1).map(|i| Group::ALL[i])
    }
}

/// One row of the form: a configuration field, or the GitHub token (which is not part of
/// the configuration and never stored in it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Entry {
    Config(Field),
    GithubToken,
}

/// How a row is edited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Editor {
    Text,
    Number,
    Toggle,
    Pick(PickSource),
    Secret,
}

/// Where a pick list's choices come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PickSource {
    Region,
    KubeContext,
    Visibility,
    NetworkPlugin,
}

/// The rows of each group, in order (relevance decides which are shown).
pub fn group_entries(group: Group) -> &'static [Entry] {
    use Entry::Config as C;
    match group {
        Group::Cluster => &[
            C(Field::ClusterCreate),
            C(Field::ClusterName),
            C(Field::ClusterExistingContext),
            C(Field::ClusterRegion),
            C(Field::ClusterResourceGroup),
            C(Field::ClusterNodeCount),
            C(Field::ClusterVmSize),
            C(Field::ClusterKubernetesVersion),
            C(Field::ClusterNetworkPlugin),
        ],
        Group::Repositories => &[
            C(Field::GithubHost),
            C(Field::GithubOrg),
            C(Field::ControlPlaneCreate),
            C(Field::ControlPlaneName),
            C(Field::ControlPlaneUrl),
            C(Field::GitopsCreate),
            C(Field::GitopsName),
            C(Field::GitopsUrl),
            C(Field::Visibility),
            C(Field::Environments),
            Entry::GithubToken,
        ],
        Group::Installation => &[
            C(Field::SkipInstall),
            C(Field::Namespace),
            C(Field::HelmChart),
            C(Field::HelmVersion),
            C(Field::HelmValues),
            C(Field::FluxManifest),
            C(Field::WorkloadClusters),
        ],
        Group::Options => &[
            C(Field::AutoRollback),
            C(Field::SkipValidation),
            C(Field::SkipConfirmation),
            C(Field::NonInteractive),
            C(Field::Verbose),
            C(Field::Quiet),
            C(Field::NoColor),
            C(Field::Force),
            C(Field::NoMerge),
        ],
    }
}

/// The group a field is edited in.
pub fn group_of(entry: Entry) -> Group {
    Group::ALL
        .into_iter()
        .find(|g| group_entries(*g).contains(&entry))
        .unwrap_or(Group::Options)
}

pub fn editor(entry: Entry) -> Editor {
    let field = match entry {
        Entry::GithubToken => return Editor::Secret,
        Entry::Config(field) => field,
    };
    match field {
        Field::ClusterRegion => Editor::Pick(PickSource::Region),
        Field::ClusterExistingContext => Editor::Pick(PickSource::KubeContext),
        Field::Visibility => Editor::Pick(PickSource::Visibility),
        Field::ClusterNetworkPlugin => Editor::Pick(PickSource::NetworkPlugin),
        _ => match field.kind() {
            Kind::Text => Editor::Text,
            Kind::Number => Editor::Number,
            Kind::Bool => Editor::Toggle,
        },
    }
}

/// The two answers of a yes/no row that reads better as a choice between equals: (off,
/// on). The cluster is a new AKS cluster or an existing one of any kind, neither the
/// exception.
pub fn toggle_choices(entry: Entry) -> Option<[&'static str; 2]> {
    match entry {
        Entry::Config(Field::ClusterCreate) => Some([
            "existing (any Kubernetes: AKS, kind, k3d, …)",
            "new AKS cluster",
        ]),
        _ => None,
    }
}

/// A short human label.
pub fn label(entry: Entry) -> &'static str {
    let field = match entry {
        Entry::GithubToken => return "GitHub token",
        Entry::Config(field) => field,
    };
    match field {
        Field::ClusterName => "Cluster name",
        Field::ClusterCreate => "Cluster",
        Field::ClusterExistingContext => "Kube context",
        Field::ClusterRegion => "Region",
        Field::ClusterResourceGroup => "Resource group",
        Field::ClusterNodeCount => "Node count",
        Field::ClusterVmSize => "VM size",
        Field::ClusterKubernetesVersion => "Kubernetes version",
        Field::ClusterNetworkPlugin => "Network plugin",
        Field::ControlPlaneCreate => "New control-plane repo",
        Field::ControlPlaneName => "Control-plane name",
        Field::ControlPlaneUrl => "Control-plane URL",
        Field::GitopsCreate => "New GitOps repo",
        Field::GitopsName => "GitOps name",
        Field::GitopsUrl => "GitOps URL",
        Field::GithubHost => "GitHub host",
        Field::GithubOrg => "GitHub organization",
        Field::Visibility => "Repo visibility",
        Field::Environments => "Environments",
        Field::Namespace => "Namespace",
        Field::HelmChart => "Helm chart",
        Field::HelmVersion => "Chart version",
        Field::HelmValues => "Extra values file",
        Field::FluxManifest => "Flux manifest",
        Field::SkipInstall => "Skip installation",
        Field::NonInteractive => "Non-interactive",
        Field::AutoRollback => "Roll back on failure",
        Field::SkipValidation => "Skip the prerequisites",
        Field::SkipConfirmation => "Skip confirmation",
        Field::Verbose => "Verbose",
        Field::Quiet => "Quiet",
        Field::NoColor => "No colour",
        Field::Force => "Force",
        Field::WorkloadClusters => "Workload clusters",
        Field::NoMerge => "Do not merge",
    }
}

/// One line of help shown for the focused row.
pub fn help(entry: Entry) -> &'static str {
    let field = match entry {
        Entry::GithubToken => {
            return "Hidden, kept in memory only. Empty: `gh auth token`, else you are asked."
        }
        Entry::Config(field) => field,
    };
    match field {
        Field::ClusterName => "Lowercase letters, digits, hyphens; also names the defaults below.",
        Field::ClusterCreate => {
            "A new AKS cluster, or an existing one (any Kubernetes: AKS, kind, k3d, …)."
        }
        Field::ClusterExistingContext => {
            "A context from your kubeconfig (←/→ cycle, Space opens the list)."
        }
        Field::ClusterRegion => "Azure region (←/→ cycle, Space opens the list, typing filters).",
        Field::ClusterResourceGroup => "Created if missing; default {cluster-name}-rg.",
        Field::ClusterNodeCount => "1 to 100 nodes; 3 suit a first installation.",
        Field::ClusterVmSize => "e.g. Standard_DS2_v2.",
        Field::ClusterKubernetesVersion => "Empty: the AKS default version.",
        Field::ClusterNetworkPlugin => "azure or kubenet.",
        Field::ControlPlaneCreate => "On: create and seed it. Off: use an existing repository URL.",
        Field::ControlPlaneName => "Default {cluster-name}-control-plane.",
        Field::ControlPlaneUrl => "https://HOST/OWNER/NAME of an existing repository.",
        Field::GitopsCreate => "On: create and seed it. Off: use an existing repository URL.",
        Field::GitopsName => "Default {cluster-name}-gitops.",
        Field::GitopsUrl => "https://HOST/OWNER/NAME of an existing repository.",
        Field::GithubHost => "github.com, or your GitHub Enterprise Server's host name.",
        Field::GithubOrg => "Owner of new repositories. Empty: your GitHub user.",
        Field::Visibility => "private or public, for new repositories.",
        Field::Environments => "In promotion order, comma-separated, e.g. dev,stage,prod (max 8).",
        Field::Namespace => "Kubernetes namespace for the Kalypso Scheduler.",
        Field::HelmChart => "Published chart name, or a local chart directory or .tgz.",
        Field::HelmVersion => "Chart version to install.",
        Field::HelmValues => "Optional values file applied after ours.",
        Field::FluxManifest => {
            "Flux install manifest (URL or file) when github.com is out of reach."
        }
        Field::SkipInstall => "On: cluster and repositories only (no Flux, no Kalypso).",
        Field::NonInteractive => "Never ask; missing values are errors.",
        Field::AutoRollback => "On failure, remove what this run created without asking.",
        Field::SkipValidation => "Do not check tools, versions and sign-in before starting.",
        Field::SkipConfirmation => "Start without the \"Proceed?\" question.",
        Field::Verbose => "Debug lines in the log tail.",
        Field::Quiet => "Errors only in the log tail.",
        Field::NoColor => "Monochrome screen.",
        Field::Force => "Move an unusable state file aside instead of stopping.",
        Field::WorkloadClusters => {
            "Contexts that follow the gitops repository, comma-separated; self: this cluster."
        }
        Field::NoMerge => "Leave the scheduler's first pull request for a human to merge.",
    }
}

/// A text the user types that must not linger: wiped on drop, never printed by `Debug`.
#[derive(Default)]
pub struct SecretText {
    text: String,
}

impl SecretText {
    pub fn len(&self) -> usize {
        self.text.chars().count()
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// Typing into the field: characters, Backspace, Ctrl+U to clear.
    pub fn edit(&mut self, key: KeyEvent) -> bool {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Char('u') if ctrl => self.text.zeroize(),
            KeyCode::Char(c) if !ctrl => self.text.push(c),
            KeyCode::Backspace => {
                self.text.pop();
            }
            _ => return false,
        }
        true
    }

    /// Pasted text, as one edit (see [`pasted_line`]). Whether anything was added.
    pub fn paste(&mut self, text: &str) -> bool {
        let line = pasted_line(text);
        self.text.push_str(&line);
        !line.is_empty()
    }

    /// The token, trimmed, registered as a secret; `None` when empty.
    pub fn secret(&self) -> Option<SecretString> {
        let token = self.text.trim();
        if token.is_empty() {
            return None;
        }
        crate::secrets::register(token);
        Some(SecretString::from(token.to_string()))
    }
}

impl std::fmt::Debug for SecretText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretText({} characters)", self.len())
    }
}

impl Drop for SecretText {
    fn drop(&mut self) {
        self.text.zeroize();
    }
}

/// What a paste puts into a one-line field: the text without the line break it was copied
/// with; other line breaks and tabs become spaces, and other control characters are dropped,
/// so a paste never submits a form nor puts a terminal control into a value.
pub fn pasted_line(text: &str) -> String {
    text.trim_end_matches(['\r', '\n'])
        .replace("\r\n", "\n")
        .chars()
        .filter_map(|c| match c {
            '\r' | '\n' | '\t' => Some(' '),
            c if c.is_control() => None,
            c => Some(c),
        })
        .collect()
}

/// An open pick list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Picker {
    pub field: Field,
    pub choices: Vec<String>,
    pub filter: String,
    /// Index into [`Picker::filtered`].
    pub selected: usize,
}

impl Picker {
    pub fn filtered(&self) -> Vec<&str> {
        let needle = self.filter.to_lowercase();
        self.choices
            .iter()
            .filter(|c| c.to_lowercase().contains(&needle))
            .map(String::as_str)
            .collect()
    }
}

/// What a key did to the form.
#[derive(Debug)]
pub enum FormOutcome {
    Stay,
    /// Esc on the first group: back to the welcome screen.
    Back,
    /// Every group is valid.
    Done,
}

/// The form's state.
#[derive(Debug)]
pub struct FormState {
    base: Parsed,
    contexts: Vec<String>,
    /// Where `contexts` were read from.
    kubeconfig_paths: Vec<PathBuf>,
    /// Each context's API server (from the kubeconfig).
    context_servers: HashMap<String, String>,
    /// Whether each context's API server answered, once probed.
    context_probes: HashMap<String, Reachability>,
    /// The probe has reported (a context it did not report is not known).
    contexts_probed: bool,
    token_in_env: bool,
    pub group: Group,
    pub focus: Entry,
    texts: BTreeMap<Field, Input>,
    toggles: BTreeMap<Field, bool>,
    pub token: SecretText,
    /// Counts edits of the token, so a changed token is checked again.
    pub token_revision: u64,
    touched: BTreeSet<Field>,
    visited: BTreeSet<Entry>,
    /// Errors found before validation could run (a number that is not a number).
    local_errors: BTreeMap<Field, String>,
    errors: Vec<FieldError>,
    validated: Option<Validated>,
    /// Where each effective value comes from, as of the last validation.
    provenance: Provenance,
    pub picker: Option<Picker>,
}

impl FormState {
    pub fn new(base: Parsed, contexts: Vec<String>, token_in_env: bool) -> Self {
        let mut form = Self {
            base,
            contexts,
            kubeconfig_paths: Vec::new(),
            context_servers: HashMap::new(),
            context_probes: HashMap::new(),
            contexts_probed: false,
            token_in_env,
            group: Group::Cluster,
            focus: Entry::Config(Field::ClusterCreate),
            texts: BTreeMap::new(),
            toggles: BTreeMap::new(),
            token: SecretText::default(),
            token_revision: 0,
            touched: BTreeSet::new(),
            visited: BTreeSet::new(),
            local_errors: BTreeMap::new(),
            errors: Vec::new(),
            validated: None,
            provenance: Provenance::default(),
            picker: None,
        };
        let values = form.base.merged().values.clone();
        form.load_untouched(&values);
        form.revalidate();
        form
    }

    /// Prefill (or refresh) every row the user has not changed from `values`.
    fn load_untouched(&mut self, values: &ConfigLayer) {
        for &field in Field::ALL {
            if self.touched.contains(&field) {
                continue;
            }
            match (field.kind(), field.get(values)) {
                (Kind::Bool, value) => {
                    self.toggles
                        .insert(field, matches!(value, Some(Value::Bool(true))));
                }
                (_, value) => {
                    let text = value.map(|v| v.to_string()).unwrap_or_default();
                    self.texts.insert(field, Input::new(text));
                }
            }
        }
    }

    /// The user changed at least one value in the forms.
    pub fn has_answers(&self) -> bool {
        !self.touched.is_empty()
    }

    pub fn text(&self, field: Field) -> &str {
        self.texts.get(&field).map(Input::value).unwrap_or("")
    }

    pub fn input(&self, field: Field) -> Option<&Input> {
        self.texts.get(&field)
    }

    pub fn toggle(&self, field: Field) -> bool {
        self.toggles.get(&field).copied().unwrap_or(false)
    }

    /// Where a field's effective value comes from.
    pub fn source(&self, field: Field) -> &Source {
        self.provenance.get(field)
    }

    /// Whether any shown row of a group has an error on screen.
    pub fn group_has_shown_errors(&self, group: Group) -> bool {
        self.visible_entries(group)
            .into_iter()
            .any(|e| !self.shown_errors(e).is_empty())
    }

    pub fn token_in_env(&self) -> bool {
        self.token_in_env
    }

    pub fn contexts(&self) -> &[String] {
        &self.contexts
    }

    /// Name the kubeconfig files the contexts came from.
    pub fn with_kubeconfig_paths(mut self, paths: Vec<PathBuf>) -> Self {
        self.kubeconfig_paths = paths;
        self
    }

    /// Each context's API server, as the kubeconfig names it.
    pub fn with_context_servers(mut self, servers: HashMap<String, String>) -> Self {
        self.context_servers = servers;
        self
    }

    /// Whether the contexts' API servers answered (a later probe replaces an earlier one).
    pub fn set_context_probes(&mut self, probes: Vec<ContextProbe>) {
        self.contexts_probed = true;
        for probe in probes {
            self.context_probes
                .insert(probe.context, probe.reachability);
        }
    }

    /// Whether the probe of the contexts has reported.
    pub fn contexts_probed(&self) -> bool {
        self.contexts_probed
    }

    /// A context's API server (`None`: the kubeconfig names none) and whether it answered
    /// (`None`: not known yet).
    pub fn context_detail(&self, context: &str) -> (Option<&str>, Option<&Reachability>) {
        (
            self.context_servers.get(context).map(String::as_str),
            self.context_probes.get(context),
        )
    }

    /// The kube context row's text when there is nothing to pick from.
    pub fn no_contexts_notice(&self) -> String {
        let files: Vec<String> = self
            .kubeconfig_paths
            .iter()
            .map(|path| path.display().to_string())
            .collect();
        if files.is_empty() {
            "(no contexts in the kubeconfig)".to_string()
        } else {
            format!("(no contexts in {})", files.join(", "))
        }
    }

    /// The configuration as validated with the current answers, if every rule holds.
    pub fn validated(&self) -> Option<&Validated> {
        self.validated.as_ref()
    }

    /// The answers so far, on top of the parsed layers.
    pub fn parsed(&self) -> Parsed {
        self.base.clone().with_answers(self.answers().0)
    }

    /// Whether a row applies to the current choices (a row with an error always shows).
    pub fn is_relevant(&self, entry: Entry) -> bool {
        let field = match entry {
            Entry::GithubToken => return !self.token_in_env,
            Entry::Config(field) => field,
        };
        if self.has_error(field) {
            return true;
        }
        let create_cluster = self.toggle(Field::ClusterCreate);
        let create_cp = self.toggle(Field::ControlPlaneCreate);
        let create_gitops = self.toggle(Field::GitopsCreate);
        match field {
            Field::ClusterExistingContext => !create_cluster,
            Field::ClusterRegion
            | Field::ClusterResourceGroup
            | Field::ClusterNodeCount
            | Field::ClusterVmSize
            | Field::ClusterKubernetesVersion
            | Field::ClusterNetworkPlugin => create_cluster,
            Field::ControlPlaneName => create_cp,
            Field::ControlPlaneUrl => !create_cp,
            Field::GitopsName => create_gitops,
            Field::GitopsUrl => !create_gitops,
            Field::Visibility | Field::GithubOrg => create_cp || create_gitops,
            Field::HelmChart | Field::HelmVersion | Field::HelmValues | Field::FluxManifest => {
                !self.toggle(Field::SkipInstall)
            }
            _ => true,
        }
    }

    /// The rows shown for a group.
    pub fn visible_entries(&self, group: Group) -> Vec<Entry> {
        group_entries(group)
            .iter()
            .copied()
            .filter(|e| self.is_relevant(*e))
            .collect()
    }

    fn has_error(&self, field: Field) -> bool {
        self.local_errors.contains_key(&field) || self.errors.iter().any(|e| e.field == field)
    }

    /// The errors to show under a row: only once the row was left (or the user tried to
    /// move on), so a fresh form is not covered in red.
    pub fn shown_errors(&self, entry: Entry) -> Vec<String> {
        let Entry::Config(field) = entry else {
            return Vec::new();
        };
        if !self.visited.contains(&entry) {
            return Vec::new();
        }
        if let Some(local) = self.local_errors.get(&field) {
            return vec![local.clone()];
        }
        self.errors
            .iter()
            .filter(|e| e.field == field)
            .map(describe_error)
            .collect()
    }

    /// The hint lines for a row's errors (shown after the errors).
    pub fn shown_hints(&self, entry: Entry) -> Vec<String> {
        let Entry::Config(field) = entry else {
            return Vec::new();
        };
        if !self.visited.contains(&entry) || self.local_errors.contains_key(&field) {
            return Vec::new();
        }
        self.errors
            .iter()
            .filter(|e| e.field == field && !e.hint.is_empty())
            .map(|e| crate::secrets::redact(&self.form_hint(e)).into_owned())
            .collect()
    }

    /// An error's hint in the form's own words: a value the form can take is asked for with
    /// the keys of its row (the flag, variable and file advice is for the line front end);
    /// any other hint (a rule's example, the file a bad value came from) as it is.
    fn form_hint(&self, error: &FieldError) -> String {
        let field = error.field;
        match error.problem {
            Problem::Missing => match editor(Entry::Config(field)) {
                Editor::Pick(PickSource::KubeContext) if self.contexts.is_empty() => format!(
                    "{}: add a context to the kubeconfig, or turn \"{}\" on",
                    self.no_contexts_notice(),
                    label(Entry::Config(Field::ClusterCreate))
                ),
                Editor::Pick(PickSource::KubeContext) => {
                    "press Space to pick a context".to_string()
                }
                Editor::Pick(_) => "press Space to pick one".to_string(),
                Editor::Number => "type a whole number".to_string(),
                _ if matches!(field, Field::ControlPlaneUrl | Field::GitopsUrl) => {
                    // On the host of the form's GitHub host row, when it is a valid one.
                    let host = crate::config::GitHubHost::parse(self.text(Field::GithubHost))
                        .unwrap_or_default();
                    format!("type the repository's URL, {}/OWNER/NAME", host.web_url())
                }
                _ => "type a value".to_string(),
            },
            // Both typed here: the create toggle and the existing value it contradicts.
            Problem::Conflict => match Field::CREATE_PAIRS
                .iter()
                .find(|(_, existing)| *existing == field)
            {
                Some((create, _)) => format!(
                    "turn \"{}\" off to use it, or clear it",
                    label(Entry::Config(*create))
                ),
                None => error.hint.clone(),
            },
            Problem::Invalid => error.hint.clone(),
        }
    }

    /// Turning a "New …" toggle back on: the existing context or URL typed for it is stale.
    /// It is dropped (the row shows again what the flags, environment or file say, and
    /// the toggle, an answer, overrides those).
    fn drop_stale_existing(&mut self, create: Field) {
        let Some((_, existing)) = Field::CREATE_PAIRS.iter().find(|(c, _)| *c == create) else {
            return;
        };
        if self.touched.remove(existing) {
            self.texts.insert(*existing, Input::new(String::new()));
            self.visited.remove(&Entry::Config(*existing));
        }
    }

    /// The answers layer and whether every touched value could be read.
    fn answers(&self) -> (ConfigLayer, BTreeMap<Field, String>) {
        let mut layer = ConfigLayer::default();
        let mut local = BTreeMap::new();
        let base = self.base.merged();
        for &field in &self.touched {
            let value = match field.kind() {
                Kind::Bool => Some(Value::Bool(self.toggle(field))),
                kind => {
                    let text = self.text(field).trim();
                    if text.is_empty() {
                        // Blank falls back to a default; over an explicit value it stays
                        // blank, so validation says where that value comes from.
                        if base.source(field).is_default() {
                            None
                        } else {
                            Some(Value::Text(String::new()))
                        }
                    } else if kind == Kind::Number {
                        match text.parse::<u32>() {
                            Ok(n) => Some(Value::Number(n)),
                            Err(_) => {
                                local.insert(
                                    field,
                                    format!(
                                        "{}: {} is not a whole number",
                                        field.path(),
                                        crate::config::error::shown_value(text)
                                    ),
                                );
                                None
                            }
                        }
                    } else {
                        Some(Value::Text(text.to_string()))
                    }
                }
            };
            if let Some(value) = value {
                // A number field that is blank over an explicit value cannot hold "":
                // leave it unanswered so the explicit value stands.
                if field.set(&mut layer, Some(value)).is_err() {
                    let _ = field.set(&mut layer, None);
                }
            }
        }
        (layer, local)
    }

    /// Merge the answers, refresh the rows that follow other rows (derived defaults), and
    /// validate everything.
    pub fn revalidate(&mut self) {
        let (answers, local) = self.answers();
        let parsed = self.base.clone().with_answers(answers);
        let values = parsed.merged().values.clone();
        self.load_untouched(&values);
        self.provenance = parsed.provenance().clone();
        self.local_errors = local;
        match parsed.validate(&self.contexts) {
            Ok(validated) if self.local_errors.is_empty() => {
                self.errors.clear();
                self.validated = Some(validated);
            }
            Ok(_) => {
                self.errors.clear();
                self.validated = None;
            }
            Err(errors) => {
                self.errors = errors.fields;
                self.validated = None;
            }
        }
    }

    /// Start at a group's first row.
    pub fn enter_group(&mut self, group: Group) {
        self.group = group;
        self.focus = self
            .visible_entries(group)
            .first()
            .copied()
            .unwrap_or(group_entries(group)[0]);
        self.picker = None;
    }

    /// Set a toggle as an answer (used by the welcome screen's path choice); only a change
    /// becomes an answer, so provenance stays honest.
    pub fn set_toggle(&mut self, field: Field, on: bool) {
        if self.toggle(field) != on {
            self.toggles.insert(field, on);
            self.touched.insert(field);
        }
    }

    /// Apply the welcome screen's choice and validate.
    pub fn apply_path(&mut self, path: PathChoice) {
        if let Some((cluster, repos)) = path.creates() {
            self.set_toggle(Field::ClusterCreate, cluster);
            self.set_toggle(Field::ControlPlaneCreate, repos);
            self.set_toggle(Field::GitopsCreate, repos);
        }
        self.revalidate();
    }

    /// The first group that has an error in a shown row, with that row.
    fn first_error(&self) -> Option<(Group, Entry)> {
        Group::ALL.into_iter().find_map(|group| {
            self.visible_entries(group)
                .into_iter()
                .find(|e| matches!(e, Entry::Config(f) if self.has_error(*f)))
                .map(|e| (group, e))
        })
    }

    fn leave_focus(&mut self) {
        self.visited.insert(self.focus);
        if self.focus == Entry::GithubToken {
            // Registering early keeps the token out of anything printed from here on.
            let _ = self.token.secret();
        }
        self.revalidate();
    }

    /// The next (or previous) shown row of the group, in the group's order; the focused
    /// row itself may have just disappeared (its error was fixed).
    fn neighbour(&self, forward: bool) -> Option<Entry> {
        let all = group_entries(self.group);
        let position = all.iter().position(|e| *e == self.focus)?;
        if forward {
            all[position + 1..]
                .iter()
                .copied()
                .find(|e| self.is_relevant(*e))
        } else {
            all[..position]
                .iter()
                .rev()
                .copied()
                .find(|e| self.is_relevant(*e))
        }
    }

    fn move_focus(&mut self, forward: bool) -> bool {
        self.leave_focus();
        match self.neighbour(forward) {
            Some(entry) => {
                self.focus = entry;
                true
            }
            None => false,
        }
    }

    /// Move on from the current group: every shown row is checked; an error keeps the user
    /// here with the focus on it. From the last group, the whole configuration must hold.
    fn advance(&mut self) -> FormOutcome {
        self.leave_focus();
        for entry in self.visible_entries(self.group) {
            self.visited.insert(entry);
        }
        let errors_here: Vec<Entry> = self
            .visible_entries(self.group)
            .into_iter()
            .filter(|e| matches!(e, Entry::Config(f) if self.has_error(*f)))
            .collect();
        if let Some(first) = errors_here.first() {
            self.focus = *first;
            return FormOutcome::Stay;
        }
        match self.group.next() {
            Some(next) => {
                self.enter_group(next);
                FormOutcome::Stay
            }
            None => {
                if self.validated.is_some() {
                    return FormOutcome::Done;
                }
                match self.first_error() {
                    Some((group, entry)) => {
                        for group in Group::ALL {
                            for entry in self.visible_entries(group) {
                                self.visited.insert(entry);
                            }
                        }
                        self.group = group;
                        self.focus = entry;
                    }
                    None => {
                        // Only a local error in a row not shown (cannot happen: rows with
                        // errors are shown); stay rather than start with a bad value.
                    }
                }
                FormOutcome::Stay
            }
        }
    }

    fn back(&mut self) -> FormOutcome {
        self.leave_focus();
        match self.group.previous() {
            Some(previous) => {
                self.enter_group(previous);
                FormOutcome::Stay
            }
            None => FormOutcome::Back,
        }
    }

    fn choices(&self, source: PickSource) -> Vec<String> {
        match source {
            PickSource::Region => AZURE_REGIONS.iter().map(|r| r.to_string()).collect(),
            PickSource::KubeContext => self.contexts.clone(),
            PickSource::Visibility => Visibility::ALL
                .iter()
                .map(|v| v.as_str().to_string())
                .collect(),
            PickSource::NetworkPlugin => NetworkPlugin::ALL
                .iter()
                .map(|p| p.as_str().to_string())
                .collect(),
        }
    }

    fn set_text(&mut self, field: Field, value: &str) {
        self.texts.insert(field, Input::new(value.to_string()));
        self.touched.insert(field);
    }

    fn cycle_pick(&mut self, field: Field, source: PickSource, forward: bool) {
        let choices = self.choices(source);
        if choices.is_empty() {
            return;
        }
        let current = choices.iter().position(|c| c == self.text(field));
        let next = match (current, forward) {
            (Some(i), true) => (i + 1) % choices.len(),
            (Some(i), false) => (i + choices.len() - 1) % choices.len(),
            (None, _) => 0,
        };
        self.set_text(field, &choices[next]);
        self.visited.insert(Entry::Config(field));
        self.revalidate();
    }

    fn open_picker(&mut self, field: Field, source: PickSource, filter: String) {
        let choices = self.choices(source);
        let mut picker = Picker {
            field,
            choices,
            filter,
            selected: 0,
        };
        let current = self.text(field).to_string();
        if let Some(i) = picker.filtered().iter().position(|c| *c == current) {
            picker.selected = i;
        }
        self.picker = Some(picker);
    }

    fn picker_key(&mut self, key: KeyEvent) {
        let Some(picker) = self.picker.as_mut() else {
            return;
        };
        let count = picker.filtered().len();
        match key.code {
            KeyCode::Esc => self.picker = None,
            KeyCode::Enter => {
                let chosen = picker
                    .filtered()
                    .get(picker.selected)
                    .map(|s| s.to_string());
                let field = picker.field;
                self.picker = None;
                if let Some(chosen) = chosen {
                    self.set_text(field, &chosen);
                    self.visited.insert(Entry::Config(field));
                    self.revalidate();
                }
            }
            KeyCode::Up => picker.selected = picker.selected.saturating_sub(1),
            KeyCode::Down => {
                picker.selected = (picker.selected + 1).min(count.saturating_sub(1));
            }
            KeyCode::PageUp => picker.selected = picker.selected.saturating_sub(10),
            KeyCode::PageDown => {
                picker.selected = (picker.selected + 10).min(count.saturating_sub(1));
            }
            KeyCode::Backspace => {
                picker.filter.pop();
                picker.selected = 0;
            }
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                picker.filter.push(c);
                picker.selected = 0;
            }
            _ => {}
        }
    }

    /// Handle a key. Returns what the form wants next.
    pub fn key(&mut self, key: KeyEvent) -> FormOutcome {
        if self.picker.is_some() {
            self.picker_key(key);
            return FormOutcome::Stay;
        }
        match key.code {
            KeyCode::Esc => return self.back(),
            KeyCode::Tab | KeyCode::Enter => {
                if !self.move_focus(true) {
                    return self.advance();
                }
                return FormOutcome::Stay;
            }
            KeyCode::Down => {
                self.move_focus(true);
                return FormOutcome::Stay;
            }
            KeyCode::BackTab | KeyCode::Up => {
                self.move_focus(false);
                return FormOutcome::Stay;
            }
            KeyCode::PageDown => return self.advance(),
            KeyCode::PageUp => return self.back(),
            _ => {}
        }
        match (self.focus, editor(self.focus)) {
            (Entry::Config(field), Editor::Toggle) => {
                if matches!(
                    key.code,
                    KeyCode::Char(' ') | KeyCode::Left | KeyCode::Right
                ) {
                    let on = !self.toggle(field);
                    self.toggles.insert(field, on);
                    self.touched.insert(field);
                    self.visited.insert(self.focus);
                    if on {
                        self.drop_stale_existing(field);
                    }
                    self.revalidate();
                }
            }
            (Entry::Config(field), Editor::Pick(source)) => match key.code {
                KeyCode::Left => self.cycle_pick(field, source, false),
                KeyCode::Right => self.cycle_pick(field, source, true),
                KeyCode::Char(' ') => self.open_picker(field, source, String::new()),
                KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                    self.open_picker(field, source, c.to_string())
                }
                _ => {}
            },
            (Entry::Config(field), Editor::Text | Editor::Number) => {
                if let Some(request) = to_input_request(&CrosstermEvent::Key(key)) {
                    if let Some(input) = self.texts.get_mut(&field) {
                        let before = input.value().to_string();
                        input.handle(request);
                        if input.value() != before {
                            self.touched.insert(field);
                        }
                    }
                }
            }
            (_, _) => {
                if self.token.edit(key) {
                    self.token_revision += 1;
                }
            }
        }
        FormOutcome::Stay
    }

    /// Pasted text into the focused row, as one edit: inserted at the cursor of a text
    /// row, into the filter of an open pick list (or a new one), appended to the token.
    /// Toggles take no text. Whether anything changed.
    pub fn paste(&mut self, text: &str) -> bool {
        let line = pasted_line(text);
        if line.is_empty() {
            return false;
        }
        if let Some(picker) = self.picker.as_mut() {
            picker.filter.push_str(&line);
            picker.selected = 0;
            return true;
        }
        match (self.focus, editor(self.focus)) {
            (Entry::Config(field), Editor::Text | Editor::Number) => {
                let Some(input) = self.texts.get_mut(&field) else {
                    return false;
                };
                let cursor = input.cursor();
                let value = input.value();
                let at = value
                    .char_indices()
                    .nth(cursor)
                    .map_or(value.len(), |(i, _)| i);
                let edited = format!("{}{line}{}", &value[..at], &value[at..]);
                *input = Input::new(edited).with_cursor(cursor + line.chars().count());
                self.touched.insert(field);
                true
            }
            (Entry::Config(field), Editor::Pick(source)) => {
                self.open_picker(field, source, line);
                true
            }
            (_, Editor::Secret) => {
                self.token_revision += 1;
                self.token.paste(&line)
            }
            (_, _) => false,
        }
    }

    /// Whether the focused row takes typed characters (then `q` and `?` are text).
    pub fn typing(&self) -> bool {
        self.picker.is_some()
            || matches!(
                editor(self.focus),
                Editor::Text | Editor::Number | Editor::Secret | Editor::Pick(_)
            )
    }
}

/// How an error reads under its field: the rule, the offending value and its source.
fn describe_error(error: &FieldError) -> String {
    let text = match (&error.value, error.problem) {
        (None, _) | (_, Problem::Missing) => format!("required: {}", error.rule),
        (Some(value), _) => format!(
            "{} (from {}) {}",
            crate::config::error::shown_value(value),
            error.source,
            error.rule
        ),
    };
    crate::secrets::redact(&text).into_owned()
}

/// The welcome screen's choice of what to create.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathChoice {
    CreateEverything,
    BringYourOwnCluster,
    BringYourOwnRepositories,
    /// Choose per resource in the forms.
    Mixed,
}

impl PathChoice {
    pub const ALL: [PathChoice; 4] = [
        PathChoice::CreateEverything,
        PathChoice::BringYourOwnCluster,
        PathChoice::BringYourOwnRepositories,
        PathChoice::Mixed,
    ];

    pub fn title(self) -> &'static str {
        match self {
            PathChoice::CreateEverything => "Create everything",
            PathChoice::BringYourOwnCluster => "Bring your own cluster",
            PathChoice::BringYourOwnRepositories => "Bring your own repositories",
            PathChoice::Mixed => "Mixed",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            PathChoice::CreateEverything => {
                "New AKS cluster, new control-plane and GitOps repositories"
            }
            PathChoice::BringYourOwnCluster => {
                "An existing cluster (any Kubernetes: AKS, kind, k3d, …), new repos"
            }
            PathChoice::BringYourOwnRepositories => "New AKS cluster, existing repositories",
            PathChoice::Mixed => "Choose for the cluster and each repository in the forms",
        }
    }

    /// (create the cluster, create the repositories); `None` for mixed.
    fn creates(self) -> Option<(bool, bool)> {
        match self {
            PathChoice::CreateEverything => Some((true, true)),
            PathChoice::BringYourOwnCluster => Some((false, true)),
            PathChoice::BringYourOwnRepositories => Some((true, false)),
            PathChoice::Mixed => None,
        }
    }

    /// The choice that matches a configuration's create flags.
    pub fn matching(cluster: bool, control_plane: bool, gitops: bool) -> PathChoice {
        match (cluster, control_plane, gitops) {
            (true, true, true) => PathChoice::CreateEverything,
            (false, true, true) => PathChoice::BringYourOwnCluster,
            (true, false, false) => PathChoice::BringYourOwnRepositories,
            _ => PathChoice::Mixed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::lifecycle::Uninitialized;
    use std::collections::HashMap;

    fn form(flags: ConfigLayer, contexts: &[&str]) -> FormState {
        let parsed = Uninitialized::new()
            .parse(flags, None, &HashMap::new())
            .expect("flags parse");
        FormState::new(
            parsed,
            contexts.iter().map(|c| c.to_string()).collect(),
            true,
        )
    }

    fn named(name: &str) -> ConfigLayer {
        let mut flags = ConfigLayer::default();
        flags.cluster.name = Some(name.to_string());
        flags
    }

    fn press(form: &mut FormState, code: KeyCode) {
        form.key(KeyEvent::new(code, KeyModifiers::NONE));
    }

    fn type_text(form: &mut FormState, text: &str) {
        for c in text.chars() {
            press(form, KeyCode::Char(c));
        }
    }

    /// Move the focus to `entry` (it must be shown) and leave it, as a user would.
    fn focus(form: &mut FormState, entry: Entry) {
        let group = Group::ALL
            .into_iter()
            .find(|g| group_entries(*g).contains(&entry))
            .unwrap();
        form.enter_group(group);
        while form.focus != entry {
            assert!(form.move_focus(true), "{entry:?} is not shown");
        }
    }

    #[test]
    fn an_empty_kube_context_asks_in_the_forms_words() {
        let mut form = form(named("demo"), &["kind-dev"]);
        let context = Entry::Config(Field::ClusterExistingContext);
        focus(&mut form, Entry::Config(Field::ClusterCreate));
        press(&mut form, KeyCode::Char(' '));
        focus(&mut form, context);
        form.leave_focus();
        assert_eq!(form.shown_hints(context), ["press Space to pick a context"]);
        let hints = form.shown_hints(context).join(" ");
        assert!(!hints.contains("--cluster-existing"), "{hints}");
        assert!(!hints.contains("config file"), "{hints}");
    }

    #[test]
    fn a_missing_repository_url_asks_for_the_url_not_a_flag() {
        let mut form = form(named("demo"), &[]);
        let url = Entry::Config(Field::GitopsUrl);
        focus(&mut form, Entry::Config(Field::GitopsCreate));
        press(&mut form, KeyCode::Char(' '));
        focus(&mut form, url);
        form.leave_focus();
        assert_eq!(
            form.shown_hints(url),
            ["type the repository's URL, https://github.com/OWNER/NAME"]
        );
    }

    /// "New GitOps repo" off, a URL typed, then on again: the stale URL is dropped (no
    /// conflict, no config-file advice) and the configuration is valid again.
    #[test]
    fn turning_new_gitops_repo_back_on_drops_the_typed_url() {
        let mut form = form(named("demo"), &[]);
        let toggle = Entry::Config(Field::GitopsCreate);
        let url = Entry::Config(Field::GitopsUrl);
        focus(&mut form, toggle);
        press(&mut form, KeyCode::Char(' '));
        focus(&mut form, url);
        type_text(&mut form, "https://github.com/acme/gitops");
        form.leave_focus();
        form.revalidate();
        focus(&mut form, toggle);
        press(&mut form, KeyCode::Char(' '));
        assert!(form.toggle(Field::GitopsCreate));
        assert_eq!(form.text(Field::GitopsUrl), "");
        assert!(
            form.shown_errors(url).is_empty(),
            "{:?}",
            form.shown_errors(url)
        );
        assert!(
            form.shown_hints(url).is_empty(),
            "{:?}",
            form.shown_hints(url)
        );
        assert!(form.validated().is_some(), "{:?}", form.errors);
    }

    /// A value from a flag stays the flag's; a conflict between two values typed here is
    /// told in the form's words.
    #[test]
    fn a_conflict_between_typed_values_is_told_with_the_toggle() {
        let mut form = form(named("demo"), &[]);
        let url = Entry::Config(Field::GitopsUrl);
        let mut answers = ConfigLayer::default();
        answers.repositories.gitops.create = Some(true);
        answers.repositories.gitops.url = Some("https://github.com/acme/gitops".into());
        form.base = form.base.clone().with_answers(answers);
        form.revalidate();
        form.visited.insert(url);
        assert_eq!(
            form.shown_hints(url),
            ["turn \"New GitOps repo\" off to use it, or clear it"]
        );
    }
}
