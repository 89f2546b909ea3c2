//! Where each field's value came from, so that an error can say which flag, variable or
//! file to fix.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use super::field::Field;
use super::model::ConfigLayer;

/// The origin of one field's effective value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Built-in default (or not set at all, for fields without a default).
    Default,
    /// The `--config` file.
    File { path: PathBuf },
    /// An environment variable (`KALYPSO_*`, or `DEBUG` / `NO_COLOR`).
    Env { var: String },
    /// A command-line flag, e.g. `--cluster-name`.
    Flag { flag: String },
    /// An answer given in the interactive front end.
    Prompt,
}

impl Source {
    /// Precedence: a higher rank wins. defaults < file < env < flags < interactive answers.
    pub fn rank(&self) -> u8 {
        match self {
            Source::Default => 0,
            Source::File { .. } => 1,
            Source::Env { .. } => 2,
            Source::Flag { .. } => 3,
            Source::Prompt => 4,
        }
    }

    pub fn is_default(&self) -> bool {
        matches!(self, Source::Default)
    }

    /// Where the value came from, in the words of the plan's configuration list:
    /// `default`, `env KALYPSO_…`, `file PATH`, `flag --…`, or `typed` (an answer the user
    /// gave: edited in the wizard's forms or typed at a terminal prompt).
    pub fn origin(&self) -> String {
        match self {
            Source::Default => "default".to_string(),
            Source::File { path } => format!("file {}", path.display()),
            Source::Env { var } => format!("env {var}"),
            Source::Flag { flag } => format!("flag {flag}"),
            Source::Prompt => "typed".to_string(),
        }
    }

    /// [`Source::origin`] in one word, for narrow screens: `default`, `env`, `file`,
    /// `flag` or `typed`.
    pub fn origin_kind(&self) -> &'static str {
        match self {
            Source::Default => "default",
            Source::File { .. } => "file",
            Source::Env { .. } => "env",
            Source::Flag { .. } => "flag",
            Source::Prompt => "typed",
        }
    }

    pub fn env(var: &str) -> Source {
        Source::Env {
            var: var.to_string(),
        }
    }

    pub fn flag(flag: &str) -> Source {
        Source::Flag {
            flag: flag.to_string(),
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Default => f.write_str("default"),
            Source::File { path } => write!(f, "config file {}", path.display()),
            Source::Env { var } => write!(f, "env {var}"),
            Source::Flag { flag } => f.write_str(flag),
            Source::Prompt => f.write_str("interactive answer"),
        }
    }
}

/// The source of every field's effective value. Fields never set by any layer (and
/// without a default) report [`Source::Default`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Provenance {
    sources: BTreeMap<Field, Source>,
}

impl Provenance {
    pub fn get(&self, field: Field) -> &Source {
        self.sources.get(&field).unwrap_or(&Source::Default)
    }

    pub(crate) fn set(&mut self, field: Field, source: Source) {
        self.sources.insert(field, source);
    }

    /// Every field with a non-default source, in file order.
    pub fn explicit(&self) -> impl Iterator<Item = (Field, &Source)> {
        self.sources
            .iter()
            .filter(|(_, s)| !s.is_default())
            .map(|(f, s)| (*f, s))
    }
}

/// One configuration layer together with the source of each value it sets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourcedLayer {
    pub values: ConfigLayer,
    pub sources: BTreeMap<Field, Source>,
}

impl SourcedLayer {
    /// A layer whose every set field has the same source (a file, interactive answers).
    pub fn uniform(values: ConfigLayer, source: Source) -> SourcedLayer {
        let sources = Field::ALL
            .iter()
            .filter(|f| f.is_set(&values))
            .map(|f| (*f, source.clone()))
            .collect();
        let mut layer = SourcedLayer { values, sources };
        layer.imply_create_false();
        layer
    }

    /// The command-line layer: each field's source is its own flag, and a `create: false`
    /// implied by `--cluster-existing` / `--*-repo` is attributed to that flag.
    pub fn from_flags(values: ConfigLayer) -> SourcedLayer {
        let mut sources: BTreeMap<Field, Source> = Field::ALL
            .iter()
            .filter(|f| f.is_set(&values))
            .map(|f| (*f, Source::flag(f.flag())))
            .collect();
        for (create, existing) in Field::CREATE_PAIRS {
            // `Cli::to_layer` already turns `--cluster-existing X` into create=false, and
            // clap forbids giving both, so a false create next to an existing is implied.
            if existing.is_set(&values) && create.get(&values) == Some(false.into()) {
                sources.insert(create, Source::flag(existing.flag()));
            }
        }
        let mut layer = SourcedLayer { values, sources };
        layer.imply_create_false();
        layer
    }

    /// An existing context or repository URL given in a layer that says nothing about
    /// `create` means "use the existing one": create=false in that same layer.
    pub(crate) fn imply_create_false(&mut self) {
        for (create, existing) in Field::CREATE_PAIRS {
            if existing.is_set(&self.values) && !create.is_set(&self.values) {
                // Both fields are known booleans/texts from the table; the set cannot fail.
                let _ = create.set(&mut self.values, Some(false.into()));
                let source = self.sources.get(&existing).cloned();
                self.sources
                    .insert(create, source.unwrap_or(Source::Default));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_follow_the_documented_precedence() {
        let order = [
            Source::Default,
            Source::File {
                path: "c.yaml".into(),
            },
            Source::env("KALYPSO_CLUSTER_NAME"),
            Source::flag("--cluster-name"),
            Source::Prompt,
        ];
        for pair in order.windows(2) {
            assert!(pair[0].rank() < pair[1].rank(), "{pair:?}");
        }
    }

    #[test]
    fn sources_render_as_the_thing_to_fix() {
        assert_eq!(Source::flag("--cluster-name").to_string(), "--cluster-name");
        assert_eq!(
            Source::env("KALYPSO_CLUSTER_NODES").to_string(),
            "env KALYPSO_CLUSTER_NODES"
        );
        assert_eq!(
            Source::File {
                path: "/tmp/c.yaml".into()
            }
            .to_string(),
            "config file /tmp/c.yaml"
        );
        assert_eq!(Source::Default.to_string(), "default");
    }

    #[test]
    fn existing_alone_implies_create_false_in_the_same_layer() {
        let mut values = ConfigLayer::default();
        values.cluster.existing_context = Some("kind-dev".into());
        values.repositories.gitops.url = Some("https://github.com/a/b".into());
        let path: PathBuf = "c.yaml".into();
        let layer = SourcedLayer::uniform(values, Source::File { path: path.clone() });
        assert_eq!(layer.values.cluster.create, Some(false));
        assert_eq!(layer.values.repositories.gitops.create, Some(false));
        assert_eq!(layer.values.repositories.control_plane.create, None);
        assert_eq!(layer.sources[&Field::ClusterCreate], Source::File { path });
    }

    #[test]
    fn an_explicit_create_in_the_same_layer_is_kept() {
        let mut values = ConfigLayer::default();
        values.cluster.existing_context = Some("kind-dev".into());
        values.cluster.create = Some(true);
        let layer = SourcedLayer::uniform(values, Source::Prompt);
        assert_eq!(layer.values.cluster.create, Some(true));
    }

    #[test]
    fn implied_create_from_flags_names_the_existing_flag() {
        let mut values = ConfigLayer::default();
        values.cluster.existing_context = Some("kind-dev".into());
        values.cluster.create = Some(false); // as Cli::to_layer produces it
        values.repositories.control_plane.url = Some("https://github.com/a/b".into());
        let layer = SourcedLayer::from_flags(values);
        assert_eq!(
            layer.sources[&Field::ClusterCreate],
            Source::flag("--cluster-existing")
        );
        assert_eq!(
            layer.sources[&Field::ControlPlaneCreate],
            Source::flag("--control-plane-repo")
        );
        assert_eq!(
            layer.sources[&Field::ClusterExistingContext],
            Source::flag("--cluster-existing")
        );
    }

    #[test]
    fn explicit_create_flag_is_attributed_to_itself() {
        let mut values = ConfigLayer::default();
        values.cluster.create = Some(false);
        let layer = SourcedLayer::from_flags(values);
        assert_eq!(
            layer.sources[&Field::ClusterCreate],
            Source::flag("--cluster-create")
        );
    }
}
