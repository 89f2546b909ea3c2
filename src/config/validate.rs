//! Validation: from the merged values to a typed [`Configuration`], or every field error
//! at once.
//!
//! Decisions worth knowing:
//! - Every value that is set is checked against its rule, whatever `create` says (a typo
//!   is a typo even where the value would not be used). Defaults derived from an invalid
//!   `cluster.name` are not checked separately: the name's own error covers them.
//! - `cluster.name` is required when the cluster is created (it names the AKS cluster and
//!   its resource group) and when a repository to be created has no explicit name (the
//!   default names are built from it). Otherwise (existing cluster, repositories named or
//!   existing) it is optional.
//! - `existingContext` is required when `cluster.create` is false, and must be one of the
//!   kubeconfig contexts the caller passes in. A repository's `url` is required when its
//!   `create` is false.
//! - The required fields are the same with and without `--non-interactive`: interactively
//!   the front end asks for [`super::ConfigErrors::missing`] and validates again.
//! - `create: true` together with an existing context / URL from the same layer (or a
//!   higher one) is a conflict; from a lower layer, the higher layer's `create: true` wins
//!   and the existing context / URL is ignored. Likewise `verbose` and `quiet`: the
//!   higher layer wins, both from the same layer is a conflict.

use super::configuration::{
    ClusterTarget, Configuration, Environments, ExistingCluster, Installation, NewCluster, Options,
    RepoTarget, Repositories, Verbosity, WorkloadCluster, WorkloadContext,
};
use super::defaults;
use super::error::FieldError;
use super::field::{Field, Value};
use super::github_host::GitHubHost;
use super::merge::Merged;
use super::repo_url;
use super::rules::{self, Violation};
use super::source::Source;

/// Validate merged values against every rule. `kube_contexts` are the context names of
/// the user's kubeconfig (see [`super::kubeconfig`]); they are consulted only when an
/// existing cluster is used.
pub fn validate(
    merged: &Merged,
    kube_contexts: &[String],
) -> Result<Configuration, Vec<FieldError>> {
    let mut validator = Validator {
        merged,
        errors: Vec::new(),
        name_needed_for: Vec::new(),
    };
    let configuration = validator.configuration(kube_contexts);
    let mut errors = validator.errors;
    errors.sort_by_key(|e| e.field);
    match configuration {
        Some(configuration) if errors.is_empty() => Ok(configuration),
        _ => {
            debug_assert!(
                !errors.is_empty(),
                "incomplete configuration without an error"
            );
            Err(errors)
        }
    }
}

/// How `set in {source}` is phrased for a field's hint about where to change it.
pub(crate) fn where_to_set(field: Field) -> String {
    format!(
        "pass {} VALUE, set {}, or set {} in the config file",
        field.flag(),
        field.env_var(),
        field.path()
    )
}

/// How to take a value away again, depending on where it was given.
fn how_to_remove(source: &Source, field: Field) -> String {
    match source {
        Source::Env { var } => format!("unset {var}"),
        Source::File { .. } => format!("remove {} from the config file", field.path()),
        Source::Flag { flag } => format!("drop {flag}"),
        Source::Prompt | Source::Default => "leave it unanswered".to_string(),
    }
}

/// The field that names a repository target: its name when created, its URL when existing.
fn target_field(target: &RepoTarget, name: Field, url: Field) -> Field {
    match target {
        RepoTarget::Create { .. } => name,
        RepoTarget::Existing(_) => url,
    }
}

/// `OWNER/NAME` of a repository target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoFullName {
    /// `None`: the token's account, which owns new repositories when `githubOrg` is unset.
    pub owner: Option<String>,
    pub name: String,
}

impl RepoFullName {
    /// `github_org`: the owner of new repositories, if known.
    pub fn of(target: &RepoTarget, github_org: Option<&str>) -> RepoFullName {
        match target {
            RepoTarget::Existing(repo) => RepoFullName {
                owner: Some(repo.owner().to_string()),
                name: repo.name().to_string(),
            },
            RepoTarget::Create { name } => RepoFullName {
                owner: github_org.map(str::to_string),
                name: name.clone(),
            },
        }
    }

    fn describe(&self) -> String {
        match &self.owner {
            Some(owner) => format!("{owner}/{}", self.name),
            None => format!("{} (owned by the token's account)", self.name),
        }
    }
}

/// Whether two repositories are one on GitHub (owner and name compared ignoring case), and
/// if so, why in words. `None` when they are two, or when that cannot be known yet (one
/// owner is the token's account, the other a named owner).
pub fn same_repository(a: &RepoFullName, b: &RepoFullName) -> Option<String> {
    let same_owner = match (&a.owner, &b.owner) {
        (Some(x), Some(y)) => x.eq_ignore_ascii_case(y),
        (None, None) => true,
        _ => false,
    };
    if !same_owner || !a.name.eq_ignore_ascii_case(&b.name) {
        return None;
    }
    Some(if a == b {
        format!("both are {}", a.describe())
    } else {
        format!(
            "GitHub ignores letter case, so {} and {} are one repository",
            a.describe(),
            b.describe()
        )
    })
}

struct Validator<'a> {
    merged: &'a Merged,
    errors: Vec<FieldError>,
    /// Why `cluster.name` is needed, if it is missing.
    name_needed_for: Vec<String>,
}

impl Validator<'_> {
    fn configuration(&mut self, kube_contexts: &[String]) -> Option<Configuration> {
        let name = self.check(Field::ClusterName, |s| {
            rules::cluster_name(s).map(|()| s.to_string())
        });
        let cluster = self.cluster(name.clone(), kube_contexts);
        let repositories = self.repositories();
        let environments = self.check(Field::Environments, rules::environments);
        let installation = self.installation();
        let management_context = cluster.as_ref().map(|cluster| match cluster {
            ClusterTarget::Existing(existing) => existing.context.clone(),
            ClusterTarget::Create(new) => new.name.clone(),
        });
        let workload_clusters = self.workload_clusters(
            environments.as_ref(),
            management_context.as_deref(),
            kube_contexts,
        );
        let options = self.options();
        if !self.is_set(Field::ClusterName) && !self.name_needed_for.is_empty() {
            let rule = format!("required because {}", self.name_needed_for.join(", and "));
            self.errors.push(FieldError::missing(
                Field::ClusterName,
                rule,
                where_to_set(Field::ClusterName),
            ));
        }
        Some(Configuration {
            cluster: cluster?,
            repositories: repositories?,
            environments: environments?,
            installation: installation?,
            workload_clusters: workload_clusters?,
            options,
        })
    }

    fn cluster(&mut self, name: Option<String>, kube_contexts: &[String]) -> Option<ClusterTarget> {
        let region = self.check(Field::ClusterRegion, |s| {
            rules::region(s).map(|()| s.to_string())
        });
        let resource_group = self
            .check_unless_derived_from_bad_name(Field::ClusterResourceGroup, |s| {
                rules::resource_group(s).map(|()| s.to_string())
            });
        let node_count = self.check_number(Field::ClusterNodeCount, rules::node_count);
        let vm_size = self.check(Field::ClusterVmSize, |s| {
            rules::vm_size(s).map(|()| s.to_string())
        });
        let kubernetes_version = self.check(Field::ClusterKubernetesVersion, |s| {
            rules::kubernetes_version(s).map(|()| s.to_string())
        });
        let network_plugin = self.check(Field::ClusterNetworkPlugin, rules::network_plugin);

        if self.flag(Field::ClusterCreate) {
            self.conflicting_existing(Field::ClusterCreate, Field::ClusterExistingContext);
            if !self.is_set(Field::ClusterName) {
                self.name_needed_for
                    .push("it names the new AKS cluster (cluster.create is true)".to_string());
            }
            Some(ClusterTarget::Create(NewCluster {
                name: name?,
                region: region?,
                resource_group: resource_group?,
                node_count: node_count?,
                vm_size: vm_size?,
                kubernetes_version,
                network_plugin: network_plugin?,
            }))
        } else {
            if !self.is_set(Field::ClusterExistingContext) {
                self.missing_because_not_created(
                    Field::ClusterExistingContext,
                    Field::ClusterCreate,
                );
                return None;
            }
            let context = self.check(Field::ClusterExistingContext, |s| {
                rules::kube_context(s, kube_contexts).map(|()| s.to_string())
            })?;
            let name_ok = name.is_some() || !self.is_set(Field::ClusterName);
            name_ok.then_some(ClusterTarget::Existing(ExistingCluster { context, name }))
        }
    }

    fn repositories(&mut self) -> Option<Repositories> {
        let github_host = self.check(Field::GithubHost, GitHubHost::parse);
        let control_plane = self.repository(
            Field::ControlPlaneCreate,
            Field::ControlPlaneName,
            Field::ControlPlaneUrl,
            github_host.as_ref(),
        );
        let gitops = self.repository(
            Field::GitopsCreate,
            Field::GitopsName,
            Field::GitopsUrl,
            github_host.as_ref(),
        );
        let github_org = self.check(Field::GithubOrg, |s| {
            rules::github_login(s).map(|()| s.to_string())
        });
        let org_ok = github_org.is_some() || !self.is_set(Field::GithubOrg);
        let visibility = self.check(Field::Visibility, rules::visibility);
        org_ok.then_some(())?;
        if let (Some(control_plane), Some(gitops)) = (&control_plane, &gitops) {
            self.distinct_repositories(control_plane, gitops, github_org.as_deref());
        }
        Some(Repositories {
            control_plane: control_plane?,
            gitops: gitops?,
            github_org,
            visibility: visibility?,
            github_host: github_host?,
        })
    }

    /// `host`: the GitHub host, `None` when it is itself invalid (then an existing
    /// repository's URL is not checked: its error would only repeat the host's).
    fn repository(
        &mut self,
        create: Field,
        name: Field,
        url: Field,
        host: Option<&GitHubHost>,
    ) -> Option<RepoTarget> {
        if self.flag(create) {
            self.conflicting_existing(create, url);
            let name_value = self.check_unless_derived_from_bad_name(name, |s| {
                rules::repo_name(s).map(|()| s.to_string())
            });
            if !self.is_set(name) {
                self.name_needed_for.push(format!(
                    "the default {} is {}",
                    name.path(),
                    defaults::describe(name).unwrap_or_default()
                ));
            }
            return name_value.map(|name| RepoTarget::Create { name });
        }
        // An existing repository: the URL names it; an explicit name must agree.
        let explicit_name = if self.source(name).is_default() {
            None
        } else {
            self.check(name, |s| rules::repo_name(s).map(|()| s.to_string()))
        };
        if !self.is_set(url) {
            self.missing_because_not_created(url, create);
            return None;
        }
        let host = host?;
        let repo = self.check(url, |text| repo_url::parse(text, host))?;
        if let Some(explicit) = explicit_name {
            if !explicit.eq_ignore_ascii_case(repo.name()) {
                let source = self.source(name).clone();
                self.errors.push(FieldError::conflict(
                    name,
                    explicit,
                    &source,
                    format!(
                        "contradicts {} ({}), which names the repository {:?}",
                        url.path(),
                        repo.url(),
                        repo.name()
                    ),
                    format!("remove {} when using an existing repository", name.path()),
                ));
                return None;
            }
        }
        Some(RepoTarget::Existing(repo))
    }

    /// The two repositories must be two: a run that creates the first and then finds the
    /// second "already there" fails half-way. GitHub compares owner and name ignoring case.
    /// A new repository whose owner is the token's account (no `githubOrg`) beside an
    /// existing one is compared once that account is known, before anything is created
    /// ([`same_repository`] is used again there).
    fn distinct_repositories(
        &mut self,
        control_plane: &RepoTarget,
        gitops: &RepoTarget,
        github_org: Option<&str>,
    ) {
        let Some(same) = same_repository(
            &RepoFullName::of(control_plane, github_org),
            &RepoFullName::of(gitops, github_org),
        ) else {
            return;
        };
        let cp_field = target_field(
            control_plane,
            Field::ControlPlaneName,
            Field::ControlPlaneUrl,
        );
        let gitops_field = target_field(gitops, Field::GitopsName, Field::GitopsUrl);
        // Reported on a value the user gave: a default is nothing they typed.
        let (field, other) = if self.source(gitops_field).is_default() {
            (cp_field, gitops_field)
        } else {
            (gitops_field, cp_field)
        };
        let text = |field: Field| match self.merged.get(field) {
            Some(Value::Text(text)) => repo_url::mask_credentials(&text),
            _ => String::new(),
        };
        let (value, other_value) = (text(field), text(other));
        let (source, other_source) = (self.source(field).clone(), self.source(other).clone());
        let other_described = match (&other_source, defaults::describe(other)) {
            (Source::Default, Some(default)) => format!("{other_value:?}, the default {default}"),
            _ => format!("{other_value:?} from {other_source}"),
        };
        let hint = if field.path().ends_with(".url") && other.path().ends_with(".url") {
            "the control-plane and gitops repositories must be two different repositories"
                .to_string()
        } else {
            format!(
                "give the two repositories different names ({} NAME, {} NAME)",
                Field::ControlPlaneName.flag(),
                Field::GitopsName.flag()
            )
        };
        self.errors.push(FieldError::conflict(
            field,
            value,
            &source,
            format!(
                "names the same GitHub repository as {} ({other_described}): {same}",
                other.path()
            ),
            hint,
        ));
    }

    fn installation(&mut self) -> Option<Installation> {
        let namespace = self.check(Field::Namespace, |s| {
            rules::namespace(s).map(|()| s.to_string())
        });
        let chart = self.check(Field::HelmChart, rules::helm_chart);
        let version = self.check(Field::HelmVersion, |s| {
            rules::helm_version(s).map(|()| s.to_string())
        });
        let values = self.check(Field::HelmValues, rules::helm_values);
        let values_ok = values.is_some() || !self.is_set(Field::HelmValues);
        let flux_manifest = self.check(Field::FluxManifest, rules::flux_manifest);
        let flux_manifest_ok = flux_manifest.is_some() || !self.is_set(Field::FluxManifest);
        (values_ok && flux_manifest_ok).then_some(())?;
        Some(Installation {
            namespace: namespace?,
            chart: chart?,
            version: version?,
            values,
            flux_manifest,
            skip_install: self.flag(Field::SkipInstall),
        })
    }

    fn options(&mut self) -> Options {
        let verbose = self.flag(Field::Verbose);
        let quiet = self.flag(Field::Quiet);
        let verbosity = match (verbose, quiet) {
            (true, true) => {
                let (verbose_source, quiet_source) = (
                    self.source(Field::Verbose).clone(),
                    self.source(Field::Quiet).clone(),
                );
                if verbose_source.rank() == quiet_source.rank() {
                    self.errors.push(FieldError::conflict(
                        Field::Quiet,
                        "true",
                        &quiet_source,
                        format!(
                            "cannot be combined with options.verbose: true (from {verbose_source})"
                        ),
                        "choose one of verbose and quiet",
                    ));
                }
                if verbose_source.rank() >= quiet_source.rank() {
                    Verbosity::Verbose
                } else {
                    Verbosity::Quiet
                }
            }
            (true, false) => Verbosity::Verbose,
            (false, true) => Verbosity::Quiet,
            (false, false) => Verbosity::Normal,
        };
        Options {
            non_interactive: self.flag(Field::NonInteractive),
            auto_rollback: self.flag(Field::AutoRollback),
            skip_validation: self.flag(Field::SkipValidation),
            skip_confirmation: self.flag(Field::SkipConfirmation),
            verbosity,
            no_color: self.flag(Field::NoColor),
            force: self.flag(Field::Force),
            no_merge: self.flag(Field::NoMerge),
        }
    }

    /// The attached workload clusters, each (context, environment) once. `self` (or the
    /// management cluster's own context) is the management cluster; without an environment
    /// it reconciles every environment, a named context the first. `None` when a value is
    /// invalid (the error recorded) or the environments or the management cluster are.
    fn workload_clusters(
        &mut self,
        environments: Option<&Environments>,
        management_context: Option<&str>,
        kube_contexts: &[String],
    ) -> Option<Vec<WorkloadCluster>> {
        const FIELD: Field = Field::WorkloadClusters;
        let Some(Value::Text(text)) = self.merged.get(FIELD) else {
            return Some(Vec::new());
        };
        let source = self.source(FIELD).clone();
        let mut clusters: Vec<WorkloadCluster> = Vec::new();
        let mut valid = true;
        for given in super::model::split_workload_clusters(&text) {
            let shown = match (given.cluster_type, given.environment) {
                (_, Some(environment)) => format!(
                    "{}={}={environment}",
                    given.context,
                    given.cluster_type.unwrap_or_default()
                ),
                (Some(cluster_type), None) => format!("{}={cluster_type}", given.context),
                (None, None) => given.context.to_string(),
            };
            let refuse = |errors: &mut Vec<FieldError>, violation: Violation| {
                errors.push(FieldError::invalid(
                    FIELD,
                    shown.clone(),
                    &source,
                    violation.rule,
                    violation.hint,
                ));
            };
            let context = if given.context == WorkloadContext::MANAGEMENT_WORD
                || Some(given.context) == management_context
            {
                Some(WorkloadContext::Management)
            } else if given.context.is_empty() {
                refuse(
                    &mut self.errors,
                    Violation::new(
                        "each workload cluster names a kube context (or self)",
                        "e.g. --workload-cluster kind-workload, or --workload-cluster self",
                    ),
                );
                None
            } else {
                match rules::kube_context(given.context, kube_contexts) {
                    Ok(()) => Some(WorkloadContext::Named(given.context.to_string())),
                    Err(violation) => {
                        refuse(
                            &mut self.errors,
                            Violation::new(
                                format!("the context {:?} {}", given.context, violation.rule),
                                format!("{}, or self for the management cluster", violation.hint),
                            ),
                        );
                        None
                    }
                }
            };
            let cluster_type = match given.cluster_type {
                None => Some(crate::templates::TemplateContext::DEFAULT_CLUSTER_TYPE.to_string()),
                Some(cluster_type) => match rules::cluster_type(cluster_type) {
                    Ok(()) => Some(cluster_type.to_string()),
                    Err(violation) => {
                        refuse(&mut self.errors, violation);
                        None
                    }
                },
            };
            let chosen: Option<Vec<String>> = match (given.environment, environments) {
                (_, None) => None,
                (Some(environment), Some(environments)) => {
                    if environments.names().iter().any(|name| name == environment) {
                        Some(vec![environment.to_string()])
                    } else {
                        refuse(
                            &mut self.errors,
                            Violation::new(
                                format!(
                                    "the environment {environment:?} must be one of the configured environments ({environments})"
                                ),
                                format!(
                                    "name one of {environments}, or add {environment:?} to {}",
                                    Field::Environments.path()
                                ),
                            ),
                        );
                        None
                    }
                }
                (None, Some(environments)) => Some(match context {
                    Some(WorkloadContext::Management) => environments.names().to_vec(),
                    _ => vec![environments.first().to_string()],
                }),
            };
            let (Some(context), Some(cluster_type), Some(chosen)) = (context, cluster_type, chosen)
            else {
                valid = false;
                continue;
            };
            for environment in chosen {
                if let Some(earlier) = clusters
                    .iter()
                    .find(|c| c.context == context && c.environment == environment)
                {
                    let described = match &context {
                        WorkloadContext::Management => format!(
                            "the management cluster ({})",
                            management_context.unwrap_or(WorkloadContext::MANAGEMENT_WORD)
                        ),
                        WorkloadContext::Named(name) => format!("the context {name:?}"),
                    };
                    refuse(
                        &mut self.errors,
                        Violation::new(
                            format!(
                                "each cluster follows an environment once: {described} is attached to {environment:?} twice (cluster types {:?} and {cluster_type:?})",
                                earlier.cluster_type
                            ),
                            "attach each (context, environment) once; self and the management cluster's own context are the same cluster",
                        ),
                    );
                    valid = false;
                    continue;
                }
                clusters.push(WorkloadCluster {
                    context: context.clone(),
                    cluster_type: cluster_type.clone(),
                    environment,
                });
            }
        }
        (valid && environments.is_some() && management_context.is_some()).then_some(clusters)
    }

    // ---- helpers ----

    fn is_set(&self, field: Field) -> bool {
        field.is_set(&self.merged.values)
    }

    fn source(&self, field: Field) -> &Source {
        self.merged.source(field)
    }

    fn flag(&self, field: Field) -> bool {
        matches!(self.merged.get(field), Some(Value::Bool(true)))
    }

    /// Check a text field that is set; `None` when unset or invalid (the error recorded).
    fn check<T>(
        &mut self,
        field: Field,
        rule: impl FnOnce(&str) -> Result<T, Violation>,
    ) -> Option<T> {
        let Some(Value::Text(text)) = self.merged.get(field) else {
            return None;
        };
        let source = self.source(field).clone();
        // Credentials pasted into a URL must not reach the error report.
        let shown = repo_url::mask_credentials(&text);
        if text.is_empty() {
            let remove = how_to_remove(&source, field);
            let hint = match defaults::describe(field) {
                Some(default) => {
                    format!("an empty value does not mean the default; {remove} to use {default}")
                }
                None => format!("give a value, or {remove}"),
            };
            self.errors.push(FieldError::invalid(
                field,
                shown,
                &source,
                "must not be empty",
                hint,
            ));
            return None;
        }
        match rule(&text) {
            Ok(value) => Some(value),
            Err(violation) => {
                self.errors.push(FieldError::invalid(
                    field,
                    shown,
                    &source,
                    violation.rule,
                    violation.hint,
                ));
                None
            }
        }
    }

    fn check_number(
        &mut self,
        field: Field,
        rule: impl FnOnce(u32) -> Result<(), Violation>,
    ) -> Option<u32> {
        let Some(Value::Number(number)) = self.merged.get(field) else {
            return None;
        };
        match rule(number) {
            Ok(()) => Some(number),
            Err(violation) => {
                let source = self.source(field).clone();
                self.errors.push(FieldError::invalid(
                    field,
                    number.to_string(),
                    &source,
                    violation.rule,
                    violation.hint,
                ));
                None
            }
        }
    }

    /// A default built from an invalid cluster name is not reported again.
    fn check_unless_derived_from_bad_name(
        &mut self,
        field: Field,
        rule: impl FnOnce(&str) -> Result<String, Violation>,
    ) -> Option<String> {
        let derived = self.source(field).is_default() && defaults::DERIVED.contains(&field);
        let name_invalid = match self.merged.get(Field::ClusterName) {
            Some(Value::Text(name)) => rules::cluster_name(&name).is_err(),
            _ => false,
        };
        if derived && name_invalid {
            return None;
        }
        self.check(field, rule)
    }

    /// `create: true` with an existing context/URL set in the same or a higher layer.
    fn conflicting_existing(&mut self, create: Field, existing: Field) {
        let Some(Value::Text(value)) = self.merged.get(existing) else {
            return;
        };
        let (create_source, existing_source) =
            (self.source(create).clone(), self.source(existing).clone());
        if existing_source.rank() >= create_source.rank() {
            self.errors.push(FieldError::conflict(
                existing,
                repo_url::mask_credentials(&value),
                &existing_source,
                format!(
                    "cannot be used with {}: true (from {create_source})",
                    create.path()
                ),
                format!(
                    "set {}: false to use it, or remove {}",
                    create.path(),
                    existing.path()
                ),
            ));
        }
    }

    fn missing_because_not_created(&mut self, field: Field, create: Field) {
        let create_source = self.source(create).clone();
        self.errors.push(FieldError::missing(
            field,
            format!(
                "required because {} is false (from {create_source})",
                create.path()
            ),
            where_to_set(field),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::configuration::{HelmChart, NetworkPlugin, Visibility};
    use crate::config::error::Problem;
    use crate::config::merge::merge;
    use crate::config::model::ConfigLayer;
    use crate::config::source::SourcedLayer;
    use std::path::PathBuf;

    fn contexts() -> Vec<String> {
        vec!["kind-dev".to_string(), "aks-prod".to_string()]
    }

    fn flags(edit: impl FnOnce(&mut ConfigLayer)) -> Merged {
        let mut layer = ConfigLayer::default();
        edit(&mut layer);
        merge(&[&SourcedLayer::from_flags(layer)])
    }

    fn file_and_flags(
        file: impl FnOnce(&mut ConfigLayer),
        flag: impl FnOnce(&mut ConfigLayer),
    ) -> Merged {
        let (mut f, mut g) = (ConfigLayer::default(), ConfigLayer::default());
        file(&mut f);
        flag(&mut g);
        merge(&[
            &SourcedLayer::uniform(
                f,
                Source::File {
                    path: "c.yaml".into(),
                },
            ),
            &SourcedLayer::from_flags(g),
        ])
    }

    fn errors(merged: &Merged) -> Vec<FieldError> {
        validate(merged, &contexts()).expect_err("should be invalid")
    }

    fn only_error(merged: &Merged) -> FieldError {
        let errors = errors(merged);
        assert_eq!(errors.len(), 1, "{errors:#?}");
        errors.into_iter().next().unwrap()
    }

    fn named(layer: &mut ConfigLayer) {
        layer.cluster.name = Some("demo".into());
    }

    #[test]
    fn a_name_alone_gives_the_documented_defaults() {
        let config = validate(&flags(named), &contexts()).unwrap();
        assert_eq!(
            config.cluster,
            ClusterTarget::Create(NewCluster {
                name: "demo".into(),
                region: "eastus".into(),
                resource_group: "demo-rg".into(),
                node_count: 3,
                vm_size: "Standard_DS2_v2".into(),
                kubernetes_version: None,
                network_plugin: NetworkPlugin::Azure,
            })
        );
        assert_eq!(
            config.repositories,
            Repositories {
                control_plane: RepoTarget::Create {
                    name: "demo-control-plane".into()
                },
                gitops: RepoTarget::Create {
                    name: "demo-gitops".into()
                },
                github_org: None,
                visibility: Visibility::Private,
                github_host: Default::default(),
            }
        );
        assert_eq!(config.installation.namespace, "kalypso-system");
        assert_eq!(
            config.installation.chart,
            HelmChart::published("kalypso-scheduler")
        );
        assert_eq!(config.installation.version, "1.1.2-alpha");
        assert_eq!(config.installation.values, None);
        assert!(!config.installation.skip_install);
        assert_eq!(config.options, Options::default());
    }

    #[test]
    fn a_bad_cluster_name_names_field_value_source_rule_and_hint() {
        let error = only_error(&flags(|l| l.cluster.name = Some("Bad_Name".into())));
        assert_eq!(error.field, Field::ClusterName);
        assert_eq!(error.value.as_deref(), Some("Bad_Name"));
        assert_eq!(error.source, Source::flag("--cluster-name"));
        assert!(error.rule.contains("^[a-z0-9-]{1,63}$"));
        assert!(error.hint.contains("bad-name"));
        assert!(error.to_string().starts_with(
            "cluster.name: \"Bad_Name\" (from --cluster-name) must match ^[a-z0-9-]{1,63}$"
        ));
    }

    #[test]
    fn derived_defaults_of_an_over_long_name_are_not_reported_twice() {
        let long = "a".repeat(200);
        let error = only_error(&flags(|l| l.cluster.name = Some(long.clone())));
        assert_eq!(error.field, Field::ClusterName);
    }

    #[test]
    fn all_errors_are_reported_at_once_in_file_order() {
        let merged = flags(|l| {
            l.cluster.name = Some("Bad_Name".into());
            l.cluster.region = Some("mars".into());
            l.cluster.node_count = Some(0);
            l.cluster.vm_size = Some("huge".into());
            l.repositories.visibility = Some("internal".into());
            l.installation.namespace = Some("Kalypso".into());
            l.repositories.github_org = Some("-org".into());
        });
        let fields: Vec<Field> = errors(&merged).iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            vec![
                Field::ClusterName,
                Field::ClusterRegion,
                Field::ClusterNodeCount,
                Field::ClusterVmSize,
                Field::GithubOrg,
                Field::Visibility,
                Field::Namespace,
            ]
        );
    }

    /// Each rule through the whole pipeline: a valid value passes, an invalid one is an
    /// error on exactly that field.
    #[test]
    fn every_text_rule_valid_and_invalid() {
        let dir = tempfile::tempdir().unwrap();
        let values = dir.path().join("values.yaml");
        std::fs::write(&values, "a: 1\n").unwrap();
        let values = values.to_string_lossy().into_owned();
        let missing = dir
            .path()
            .join("missing.yaml")
            .to_string_lossy()
            .into_owned();
        let cases: Vec<(Field, &str, &str)> = vec![
            (Field::ClusterName, "kalypso-1", "kalypso_1"),
            (Field::ClusterRegion, "westeurope", "West Europe"),
            (Field::ClusterResourceGroup, "rg_(1)", "rg 1"),
            (Field::ClusterVmSize, "Standard_D4s_v5", "D4s_v5"),
            (Field::ClusterKubernetesVersion, "1.30", "v1.30"),
            (Field::ClusterNetworkPlugin, "kubenet", "calico"),
            (Field::ControlPlaneName, "my.cp", "my cp"),
            (Field::GitopsName, "gitops_1", "gitops/1"),
            (Field::GithubOrg, "my-org", "my--org"),
            (Field::Visibility, "public", "secret"),
            (Field::Namespace, "kalypso", "kalypso.system"),
            (Field::HelmChart, "kalypso-scheduler", "Kalypso"),
            (Field::HelmVersion, "1.2.3", "1.2"),
            (Field::HelmValues, &values, &missing),
        ];
        for (field, good, bad) in cases {
            let set = |v: &str| {
                let v = v.to_string();
                flags(move |l| {
                    named(l);
                    field.set(l, Some(Value::Text(v))).unwrap();
                })
            };
            validate(&set(good), &contexts())
                .unwrap_or_else(|e| panic!("{field} {good:?}: {e:#?}"));
            let error = only_error(&set(bad));
            assert_eq!(error.field, field, "{bad:?}");
            assert_eq!(error.value.as_deref(), Some(bad));
            assert_eq!(error.problem, Problem::Invalid);
            assert_eq!(error.source, Source::flag(field.flag()));
            assert!(
                !error.rule.is_empty() && !error.hint.is_empty(),
                "{error:?}"
            );
        }
    }

    #[test]
    fn node_count_bounds() {
        for (n, ok) in [(0, false), (1, true), (100, true), (101, false)] {
            let merged = flags(|l| {
                named(l);
                l.cluster.node_count = Some(n);
            });
            assert_eq!(validate(&merged, &contexts()).is_ok(), ok, "{n}");
        }
    }

    #[test]
    fn empty_strings_are_values_that_fail_with_a_hint_about_the_default() {
        let merged = file_and_flags(
            |f| f.cluster.region = Some(String::new()),
            |g| {
                named(g);
                g.repositories.github_org = Some(String::new());
            },
        );
        let errors = errors(&merged);
        assert_eq!(errors.len(), 2, "{errors:#?}");
        assert_eq!(errors[0].field, Field::ClusterRegion);
        assert_eq!(errors[0].rule, "must not be empty");
        assert!(errors[0].hint.contains("eastus"));
        assert!(errors[0]
            .hint
            .contains("remove cluster.region from the config file"));
        assert_eq!(
            errors[0].source,
            Source::File {
                path: "c.yaml".into()
            }
        );
        assert_eq!(errors[1].field, Field::GithubOrg);
        assert!(errors[1]
            .hint
            .contains("drop --github-org to use the authenticated GitHub user"));
    }

    #[test]
    fn cluster_name_is_required_to_create_a_cluster() {
        let error = only_error(&flags(|_| {}));
        assert_eq!(error.field, Field::ClusterName);
        assert_eq!(error.problem, Problem::Missing);
        assert!(error.rule.contains("names the new AKS cluster"));
        assert!(
            error.hint.contains("--cluster-name") && error.hint.contains("KALYPSO_CLUSTER_NAME")
        );
    }

    #[test]
    fn an_existing_cluster_needs_its_context_and_no_name_if_the_repos_are_named() {
        let merged = flags(|l| {
            l.cluster.create = Some(false);
            l.repositories.control_plane.name = Some("cp".into());
            l.repositories.gitops.url = Some("https://github.com/acme/gitops.git".into());
        });
        let error = only_error(&merged);
        assert_eq!(error.field, Field::ClusterExistingContext);
        assert_eq!(error.problem, Problem::Missing);
        assert!(error
            .rule
            .contains("cluster.create is false (from --cluster-create)"));

        let merged = flags(|l| {
            l.cluster.existing_context = Some("kind-dev".into());
            l.cluster.create = Some(false);
            l.repositories.control_plane.name = Some("cp".into());
            l.repositories.gitops.url = Some("https://github.com/acme/gitops.git".into());
        });
        let config = validate(&merged, &contexts()).unwrap();
        assert_eq!(
            config.cluster,
            ClusterTarget::Existing(ExistingCluster {
                context: "kind-dev".into(),
                name: None
            })
        );
        match &config.repositories.gitops {
            RepoTarget::Existing(repo) => {
                assert_eq!(repo.url(), "https://github.com/acme/gitops");
                assert_eq!(repo.owner(), "acme");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_existing_cluster_with_unnamed_new_repos_needs_the_cluster_name() {
        let error = only_error(&flags(|l| {
            l.cluster.existing_context = Some("kind-dev".into())
        }));
        assert_eq!(error.field, Field::ClusterName);
        assert_eq!(error.problem, Problem::Missing);
        assert!(error.rule.contains(
            "the default repositories.controlPlane.name is {cluster-name}-control-plane"
        ));
        assert!(error
            .rule
            .contains("the default repositories.gitops.name is {cluster-name}-gitops"));
        assert!(!error.rule.contains("AKS"));
    }

    #[test]
    fn the_existing_context_must_be_in_the_kubeconfig() {
        let merged = flags(|l| {
            named(l);
            l.cluster.existing_context = Some("kind-prod".into());
            l.cluster.create = Some(false);
        });
        let error = only_error(&merged);
        assert_eq!(error.field, Field::ClusterExistingContext);
        assert_eq!(error.source, Source::flag("--cluster-existing"));
        assert!(error.hint.contains("kind-dev"));
    }

    #[test]
    fn create_with_an_existing_context_in_the_same_layer_conflicts() {
        let merged = file_and_flags(
            |f| {
                named(f);
                f.cluster.create = Some(true);
                f.cluster.existing_context = Some("kind-dev".into());
            },
            |_| {},
        );
        let error = only_error(&merged);
        assert_eq!(error.field, Field::ClusterExistingContext);
        assert_eq!(error.problem, Problem::Conflict);
    }

    #[test]
    fn a_higher_create_overrides_a_lower_existing_context() {
        let merged = file_and_flags(
            |f| f.cluster.existing_context = Some("not-even-in-kubeconfig".into()),
            |g| {
                named(g);
                g.cluster.create = Some(true);
            },
        );
        let config = validate(&merged, &contexts()).unwrap();
        assert!(matches!(config.cluster, ClusterTarget::Create(_)));
    }

    #[test]
    fn existing_repos_need_a_url_and_an_explicit_name_must_agree() {
        let merged = flags(|l| {
            named(l);
            l.repositories.control_plane.create = Some(false);
        });
        let error = only_error(&merged);
        assert_eq!(error.field, Field::ControlPlaneUrl);
        assert_eq!(error.problem, Problem::Missing);

        let merged = flags(|l| {
            named(l);
            l.repositories.control_plane.url = Some("https://github.com/acme/cp".into());
            l.repositories.control_plane.name = Some("other".into());
        });
        let error = only_error(&merged);
        assert_eq!(error.field, Field::ControlPlaneName);
        assert_eq!(error.problem, Problem::Conflict);

        let merged = flags(|l| {
            named(l);
            l.repositories.control_plane.url = Some("https://github.com/acme/cp".into());
            l.repositories.control_plane.name = Some("CP".into());
        });
        validate(&merged, &contexts()).unwrap();
    }

    #[test]
    fn two_names_for_one_repository_are_a_conflict_naming_both_fields() {
        let conflict = |edit: fn(&mut ConfigLayer)| {
            let error = only_error(&flags(|l| {
                named(l);
                edit(l);
            }));
            assert_eq!(error.problem, Problem::Conflict, "{error}");
            error
        };
        let error = conflict(|l| {
            l.repositories.control_plane.name = Some("cp".into());
            l.repositories.gitops.name = Some("cp".into());
        });
        assert_eq!(error.field, Field::GitopsName);
        assert!(
            error.rule.contains("repositories.controlPlane.name"),
            "{error}"
        );

        let error = conflict(|l| {
            l.repositories.control_plane.name = Some("cp".into());
            l.repositories.gitops.name = Some("CP".into());
        });
        assert!(error.rule.contains("ignores letter case"), "{error}");

        // Against the other's default name: reported on the name the user gave.
        let error = conflict(|l| l.repositories.control_plane.name = Some("demo-gitops".into()));
        assert_eq!(error.field, Field::ControlPlaneName);
        assert!(error.rule.contains("repositories.gitops.name"), "{error}");
        assert!(
            error.rule.contains("the default {cluster-name}-gitops"),
            "{error}"
        );

        let error = conflict(|l| {
            l.repositories.control_plane.url = Some("https://github.com/acme/Shared".into());
            l.repositories.gitops.url = Some("https://GitHub.com/ACME/shared.git/".into());
        });
        assert_eq!(error.field, Field::GitopsUrl);
        assert!(
            error.rule.contains("repositories.controlPlane.url"),
            "{error}"
        );

        let error = conflict(|l| {
            l.repositories.github_org = Some("Acme".into());
            l.repositories.control_plane.url = Some("https://github.com/acme/cp".into());
            l.repositories.gitops.name = Some("CP".into());
        });
        assert_eq!(error.field, Field::GitopsName);
        assert!(
            error.rule.contains("repositories.controlPlane.url"),
            "{error}"
        );
    }

    #[test]
    fn repositories_that_are_two_pass() {
        for edit in [
            (|l: &mut ConfigLayer| {
                l.repositories.control_plane.name = Some("cp".into());
                l.repositories.gitops.name = Some("cp2".into());
            }) as fn(&mut ConfigLayer),
            // Another owner.
            |l| {
                l.repositories.github_org = Some("acme".into());
                l.repositories.control_plane.url = Some("https://github.com/other/cp".into());
                l.repositories.gitops.name = Some("cp".into());
            },
            // The token's account owns the new one: compared once it is known (observe).
            |l| {
                l.repositories.control_plane.url = Some("https://github.com/acme/cp".into());
                l.repositories.gitops.name = Some("cp".into());
            },
        ] {
            let merged = flags(|l| {
                named(l);
                edit(l);
            });
            validate(&merged, &contexts()).unwrap();
        }
    }

    #[test]
    fn same_repository_compares_owner_and_name_ignoring_case() {
        let id = |owner: Option<&str>, name: &str| RepoFullName {
            owner: owner.map(str::to_string),
            name: name.to_string(),
        };
        assert!(same_repository(&id(None, "cp"), &id(None, "cp")).is_some());
        assert!(same_repository(&id(Some("a"), "cp"), &id(Some("A"), "CP")).is_some());
        assert!(same_repository(&id(Some("a"), "cp"), &id(Some("b"), "cp")).is_none());
        assert!(same_repository(&id(None, "cp"), &id(Some("a"), "cp")).is_none());
        assert!(same_repository(&id(None, "cp"), &id(None, "cp2")).is_none());
    }

    #[test]
    fn a_name_or_url_ending_in_dot_git_is_refused_or_normalised_once() {
        let error = only_error(&flags(|l| {
            named(l);
            l.repositories.gitops.name = Some("g.git".into());
        }));
        assert_eq!(error.field, Field::GitopsName);
        assert!(error.rule.contains(".git"), "{error}");
        // A URL's one `.git` is the clone form and dropped; a second is part of the name.
        let error = only_error(&flags(|l| {
            named(l);
            l.repositories.gitops.url = Some("https://github.com/acme/g.git.git".into());
        }));
        assert_eq!(error.field, Field::GitopsUrl);
        assert!(error.rule.contains("must not end in .git"), "{error}");
    }

    #[test]
    fn create_with_a_url_in_the_same_layer_conflicts() {
        let merged = flags(|l| {
            named(l);
            l.repositories.gitops.create = Some(true);
            l.repositories.gitops.url = Some("https://github.com/acme/g".into());
        });
        let error = only_error(&merged);
        assert_eq!(error.field, Field::GitopsUrl);
        assert_eq!(error.problem, Problem::Conflict);
    }

    #[test]
    fn bad_repo_urls_are_errors_and_credentials_are_masked() {
        let merged = flags(|l| {
            named(l);
            l.repositories.gitops.url = Some("git@github.com:acme/g.git".into());
            l.repositories.control_plane.url =
                Some("https://user:ghp_TOPSECRET99@github.com/acme/cp".into());
        });
        let errors = errors(&merged);
        assert_eq!(errors.len(), 2);
        assert_eq!(errors[0].field, Field::ControlPlaneUrl);
        assert_eq!(
            errors[0].value.as_deref(),
            Some("https://***@github.com/acme/cp")
        );
        assert!(!format!("{errors:?}").contains("TOPSECRET"));
        assert_eq!(errors[1].field, Field::GitopsUrl);
        assert!(errors[1].hint.contains("https://github.com/acme/g"));
    }

    #[test]
    fn verbose_and_quiet() {
        let merged = file_and_flags(
            |f| f.options.quiet = Some(true),
            |g| {
                named(g);
                g.options.verbose = Some(true);
            },
        );
        let config = validate(&merged, &contexts()).unwrap();
        assert_eq!(config.options.verbosity, Verbosity::Verbose);

        let merged = file_and_flags(
            |f| f.options.verbose = Some(true),
            |g| {
                named(g);
                g.options.quiet = Some(true);
            },
        );
        assert_eq!(
            validate(&merged, &contexts()).unwrap().options.verbosity,
            Verbosity::Quiet
        );

        let merged = file_and_flags(
            |f| {
                f.options.verbose = Some(true);
                f.options.quiet = Some(true);
            },
            named,
        );
        let error = only_error(&merged);
        assert_eq!(error.field, Field::Quiet);
        assert_eq!(error.problem, Problem::Conflict);
    }

    #[test]
    fn values_explicitly_set_are_checked_even_for_an_existing_cluster() {
        let merged = flags(|l| {
            l.cluster.existing_context = Some("kind-dev".into());
            l.cluster.create = Some(false);
            l.cluster.node_count = Some(0);
            l.repositories.control_plane.name = Some("cp".into());
            l.repositories.gitops.name = Some("g".into());
        });
        let error = only_error(&merged);
        assert_eq!(error.field, Field::ClusterNodeCount);
    }

    #[test]
    fn non_ascii_and_huge_values_get_clean_errors() {
        let huge = "ü".repeat(100_000);
        let merged = flags(|l| {
            l.cluster.name = Some(huge.clone());
            l.cluster.region = Some(huge.clone());
            l.cluster.resource_group = Some(huge.clone());
            l.cluster.vm_size = Some(huge.clone());
            l.cluster.kubernetes_version = Some(huge.clone());
            l.cluster.network_plugin = Some(huge.clone());
            l.repositories.control_plane.name = Some(huge.clone());
            l.repositories.gitops.url = Some(huge.clone());
            l.repositories.github_org = Some(huge.clone());
            l.repositories.visibility = Some(huge.clone());
            l.installation.namespace = Some(huge.clone());
            l.installation.helm_chart = Some(huge.clone());
            l.installation.helm_version = Some(huge.clone());
            l.installation.helm_values = Some(huge.clone());
        });
        let errors = errors(&merged);
        assert_eq!(
            errors.len(),
            14,
            "{:#?}",
            errors.iter().map(|e| e.field).collect::<Vec<_>>()
        );
        let report = crate::config::error::ConfigErrors {
            file: Vec::new(),
            fields: errors,
        }
        .to_string();
        assert!(report.contains("(100000 characters)"));
        assert!(report.len() < 20_000, "report is {} bytes", report.len());
    }

    #[test]
    fn a_local_chart_and_values_file_resolve_to_paths() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Chart.yaml"), "name: k\n").unwrap();
        let values = dir.path().join("v.yaml");
        std::fs::write(&values, "x: 1\n").unwrap();
        let merged = flags(|l| {
            named(l);
            l.installation.helm_chart = Some(dir.path().to_string_lossy().into_owned());
            l.installation.helm_values = Some(values.to_string_lossy().into_owned());
        });
        let config = validate(&merged, &contexts()).unwrap();
        assert_eq!(
            config.installation.chart,
            HelmChart::Local(dir.path().to_path_buf())
        );
        assert_eq!(config.installation.values, Some(PathBuf::from(&values)));
    }
}
