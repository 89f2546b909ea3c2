//! Kubeconfig files as `az aks get-credentials` writes and kubectl edits them: real YAML on
//! disk (mode 0600), merged by entry name.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_yaml::Value as Yaml;

use super::state::KubeContextEntry;

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Kubeconfig {
    #[serde(rename = "apiVersion", default = "api_version")]
    pub api_version: String,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub clusters: Vec<Named>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub contexts: Vec<Named>,
    #[serde(rename = "current-context", default)]
    pub current_context: String,
    #[serde(default = "kind")]
    pub kind: String,
    #[serde(default = "empty_map")]
    pub preferences: Yaml,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub users: Vec<Named>,
}

fn api_version() -> String {
    "v1".to_string()
}

fn kind() -> String {
    "Config".to_string()
}

fn empty_map() -> Yaml {
    Yaml::Mapping(Default::default())
}

fn null_as_empty<'de, D>(deserializer: D) -> Result<Vec<Named>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    Ok(Option::<Vec<Named>>::deserialize(deserializer)?.unwrap_or_default())
}

/// A `clusters`, `contexts` or `users` entry: a name and its body (kept as YAML so unknown
/// fields survive a rewrite).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Named {
    pub name: String,
    /// `cluster:`, `context:` or `user:` and anything else the entry holds.
    #[serde(flatten)]
    pub rest: serde_yaml::Mapping,
}

impl Named {
    pub fn new(section: &str, name: &str, body: Yaml) -> Self {
        let mut rest = serde_yaml::Mapping::new();
        rest.insert(Yaml::String(section.to_string()), body);
        Self {
            name: name.to_string(),
            rest,
        }
    }

    fn body(&self, section: &str) -> Option<&Yaml> {
        self.rest.get(Yaml::String(section.to_string()))
    }

    pub fn field(&self, section: &str, key: &str) -> Option<String> {
        self.body(section)?
            .get(key)
            .and_then(Yaml::as_str)
            .map(str::to_string)
    }
}

/// Why a kubeconfig could not be used.
#[derive(Debug, thiserror::Error)]
pub enum KubeconfigFileError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("error loading config file \"{path}\": {message}")]
    Invalid { path: String, message: String },
}

impl Kubeconfig {
    /// Read `path`; a missing or empty file is an empty config.
    pub fn load(path: &Path) -> Result<Self, KubeconfigFileError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::empty()),
            Err(source) => {
                return Err(KubeconfigFileError::Io {
                    path: path.display().to_string(),
                    source,
                })
            }
        };
        if text.trim().is_empty() {
            return Ok(Self::empty());
        }
        serde_yaml::from_str(&text).map_err(|e| KubeconfigFileError::Invalid {
            path: path.display().to_string(),
            message: e.to_string(),
        })
    }

    pub fn empty() -> Self {
        Self {
            api_version: api_version(),
            kind: kind(),
            preferences: empty_map(),
            ..Default::default()
        }
    }

    /// Write atomically with mode 0600 (kubeconfigs hold credentials), creating the directory.
    pub fn save(&self, path: &Path) -> Result<(), KubeconfigFileError> {
        let io = |source| KubeconfigFileError::Io {
            path: path.display().to_string(),
            source,
        };
        let dir = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(io)?;
        let text = serde_yaml::to_string(self).map_err(|e| KubeconfigFileError::Invalid {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        let mut file = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
        file.write_all(text.as_bytes()).map_err(io)?;
        set_private(file.path()).map_err(io)?;
        file.persist(path).map_err(|e| io(e.error))?;
        Ok(())
    }

    pub fn context(&self, name: &str) -> Option<&Named> {
        self.contexts.iter().find(|c| c.name == name)
    }

    pub fn cluster(&self, name: &str) -> Option<&Named> {
        self.clusters.iter().find(|c| c.name == name)
    }

    pub fn entries(&self) -> Vec<KubeContextEntry> {
        let mut entries: Vec<KubeContextEntry> = self
            .contexts
            .iter()
            .map(|c| {
                let cluster = c.field("context", "cluster").unwrap_or_default();
                KubeContextEntry {
                    name: c.name.clone(),
                    user: c.field("context", "user").unwrap_or_default(),
                    server: self
                        .cluster(&cluster)
                        .and_then(|cl| cl.field("cluster", "server")),
                    namespace: c.field("context", "namespace"),
                    cluster,
                }
            })
            .collect();
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        entries
    }
}

/// Add or replace an entry of a section. `Err(name)` when a different entry of that name
/// exists and `overwrite` is false (az's "A different object named … already exists").
pub fn merge_entry(list: &mut Vec<Named>, entry: Named, overwrite: bool) -> Result<(), String> {
    match list.iter_mut().find(|e| e.name == entry.name) {
        Some(existing) if *existing == entry => Ok(()),
        Some(_) if !overwrite => Err(entry.name),
        Some(existing) => {
            *existing = entry;
            Ok(())
        }
        None => {
            list.push(entry);
            Ok(())
        }
    }
}

fn set_private(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
}

/// The kubeconfig files a kubectl or helm call reads: `--kubeconfig`, else the `KUBECONFIG`
/// list of the call's environment, else the environment's default file.
pub fn files_for(flag: Option<&str>, env_var: Option<&str>, default: &Path) -> Vec<PathBuf> {
    if let Some(path) = flag.filter(|p| !p.is_empty()) {
        return vec![PathBuf::from(path)];
    }
    match env_var.filter(|v| !v.is_empty()) {
        Some(list) => std::env::split_paths(list)
            .filter(|p| !p.as_os_str().is_empty())
            .collect(),
        None => vec![default.to_path_buf()],
    }
}

/// The contexts of several files merged the way kubectl merges them: the first file that
/// defines a name wins; `current-context` from the first file that sets one.
pub struct MergedKubeconfig {
    pub files: Vec<(PathBuf, Kubeconfig)>,
}

impl MergedKubeconfig {
    pub fn load(paths: &[PathBuf]) -> Result<Self, KubeconfigFileError> {
        let files = paths
            .iter()
            .map(|p| Ok((p.clone(), Kubeconfig::load(p)?)))
            .collect::<Result<_, KubeconfigFileError>>()?;
        Ok(Self { files })
    }

    pub fn current_context(&self) -> Option<String> {
        self.files
            .iter()
            .map(|(_, f)| f.current_context.clone())
            .find(|c| !c.is_empty())
    }

    pub fn has_context(&self, name: &str) -> bool {
        self.files.iter().any(|(_, f)| f.context(name).is_some())
    }

    /// The server of a context, resolving its cluster across the merged files.
    pub fn server_of(&self, context: &str) -> Option<String> {
        let cluster = self
            .files
            .iter()
            .find_map(|(_, f)| f.context(context))?
            .field("context", "cluster")?;
        self.files
            .iter()
            .find_map(|(_, f)| f.cluster(&cluster))?
            .field("cluster", "server")
    }

    pub fn entries(&self) -> Vec<KubeContextEntry> {
        let mut seen = Vec::new();
        let mut all = Vec::new();
        for (_, file) in &self.files {
            for entry in file.entries() {
                if !seen.contains(&entry.name) {
                    seen.push(entry.name.clone());
                    all.push(entry);
                }
            }
        }
        all.sort_by(|a, b| a.name.cmp(&b.name));
        all
    }

    /// The file kubectl writes new or global settings to: the first existing one, else the
    /// last in the list.
    pub fn destination(&self) -> Option<&PathBuf> {
        self.files
            .iter()
            .map(|(p, _)| p)
            .find(|p| p.exists())
            .or_else(|| self.files.last().map(|(p, _)| p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_entries_and_writes_0600() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/config");
        let mut config = Kubeconfig::empty();
        let mut cluster = serde_yaml::Mapping::new();
        cluster.insert("server".into(), "https://x:443".into());
        config
            .clusters
            .push(Named::new("cluster", "c1", Yaml::Mapping(cluster)));
        let mut context = serde_yaml::Mapping::new();
        context.insert("cluster".into(), "c1".into());
        context.insert("user".into(), "u1".into());
        config
            .contexts
            .push(Named::new("context", "ctx", Yaml::Mapping(context)));
        config.current_context = "ctx".into();
        config.save(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let back = Kubeconfig::load(&path).unwrap();
        let merged = MergedKubeconfig {
            files: vec![(path.clone(), back)],
        };
        assert_eq!(merged.server_of("ctx").as_deref(), Some("https://x:443"));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("current-context: ctx"), "{text}");
        let names = crate::config::kubeconfig::read_contexts(&[path]).unwrap();
        assert_eq!(names, ["ctx"]);
    }

    #[test]
    fn null_sections_as_kubectl_writes_them_load() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        std::fs::write(
            &path,
            "apiVersion: v1\nclusters: null\ncontexts: null\ncurrent-context: \"\"\nkind: Config\npreferences: {}\nusers: null\n",
        )
        .unwrap();
        let config = Kubeconfig::load(&path).unwrap();
        assert!(config.contexts.is_empty());
    }
}
