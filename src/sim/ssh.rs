//! SSH as GitHub and Flux's source-controller use it: the host keys a GitHub answers with
//! (`GET /meta`), OpenSSH public and private keys (deploy keys, a Flux Secret's
//! `identity`), and the checks of a Git-over-SSH clone (Go's `knownhosts`, then the server's
//! public-key authentication), with the errors they give.

use ssh_key::{HashAlg, PrivateKey, PublicKey};

/// github.com's SSH host keys, as `GET https://api.github.com/meta` lists them
/// (`ssh_keys`) and docs.github.com publishes them ("GitHub's SSH key fingerprints").
const GITHUB_COM_HOST_KEYS: [&str; 3] = [
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl",
    "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBEmKSENjQEezOmxkZMy7opKgwFB9nkt5YRrYMjNuG5N87uRgg6CLrbo5wAdT/y6v0mKV0U2w0WZ2YB/++Tpockg=",
    "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABgQCj7ndNxQowgcQnjshcLrqPEiiphnt+VTTvDP6mHBL9j1aNUkY4Ue1gvwnGLVlOhGeYrnZaMgRK6+PKCUXaDbC7qtbW8gIkhL7aGCsOr/C56SJMy/BCZfxd1nWzAOxSDPgVsmerOBYfNqltV9/hWCqBywINIR+5dIg6JTJ72pcEpEjcYgXkE2YEFXV1JHnsKgbLWNlhScqb2UmyRkQyytRLtL+38TGxkxCflmO+5Z8CSSNY7GidjMIZ7Q4zMjA2n1nGrlTDkzwDCsw+wqFPGQA179cnfGWOWRVruj16z6XyvxvjJwbz0wQZ75XK5tKSb7FNyeIEs4TT4jk+S4dhPeAUC5y+bDYirYgM4GC7uEnztnZyaVWQ7B381AK4Qdrwt51ZqExKbQpTUNn+EjqoTwvqNj4kqx5QUCI0ThS/YkOxJCXmPUWZbhjpCg56i+2aB6CmK2JGhn57K5mj0MNdBXA4/WnwH6XoPWJzK5Nyu2zB3nAZp+S5hpQs+p1vN1/wsjk=",
];

/// The SSH host keys (`TYPE BASE64`) the GitHub on `host` presents: github.com's real
/// ones, else an Enterprise Server's own (an Ed25519 key derived from its host name: the
/// same for the same server in every world, and no other's).
pub(crate) fn host_keys(host: &str) -> Vec<String> {
    if host.eq_ignore_ascii_case("github.com") {
        return GITHUB_COM_HOST_KEYS.iter().map(|k| k.to_string()).collect();
    }
    let mut bytes = [0u8; 32];
    for (i, chunk) in bytes.chunks_mut(8).enumerate() {
        let word = super::kube::fnv(&format!("{}#{i}", host.to_ascii_lowercase()));
        chunk.copy_from_slice(&word.to_be_bytes());
    }
    let key = PublicKey::from(ssh_key::public::KeyData::Ed25519(
        ssh_key::public::Ed25519PublicKey(bytes),
    ));
    vec![key
        .to_openssh()
        .expect("an Ed25519 public key encodes")
        .trim()
        .to_string()]
}

/// `ssh_key_fingerprints` of `GET /meta`: `SHA256_ED25519`, `SHA256_ECDSA`, `SHA256_RSA`
/// for the keys there are, unpadded base64 of the SHA-256 of each key.
pub(crate) fn host_key_fingerprints(keys: &[String]) -> serde_json::Map<String, serde_json::Value> {
    let mut out = serde_json::Map::new();
    for key in keys {
        let Ok(parsed) = PublicKey::from_openssh(key) else {
            continue;
        };
        let name = match parsed.algorithm().as_str() {
            "ssh-ed25519" => "SHA256_ED25519",
            "ssh-rsa" => "SHA256_RSA",
            algorithm if algorithm.starts_with("ecdsa-") => "SHA256_ECDSA",
            _ => continue,
        };
        let fingerprint = parsed.fingerprint(HashAlg::Sha256).to_string();
        let fingerprint = fingerprint
            .strip_prefix("SHA256:")
            .unwrap_or(&fingerprint)
            .to_string();
        out.insert(name.to_string(), serde_json::Value::String(fingerprint));
    }
    out
}

/// An OpenSSH public key (`TYPE BASE64 [COMMENT]`) as GitHub keeps it: `TYPE BASE64`.
/// `None` when it is not one.
pub(crate) fn normalised_public_key(text: &str) -> Option<String> {
    let text = text.trim();
    if text.contains('\n') {
        return None;
    }
    let key = PublicKey::from_openssh(text).ok()?;
    let mut fields = text.split_whitespace();
    let (algorithm, data) = (fields.next()?, fields.next()?);
    (algorithm == key.algorithm().as_str()).then(|| format!("{algorithm} {data}"))
}

/// The public key (`TYPE BASE64`) of an OpenSSH private key, or the error Go's
/// `ssh.ParsePrivateKey` gives for it.
pub(crate) fn public_key_of_private(pem: &str) -> Result<String, String> {
    let key = PrivateKey::from_openssh(pem.trim()).map_err(|_| "ssh: no key found".to_string())?;
    if key.is_encrypted() {
        return Err("ssh: this private key is passphrase protected".to_string());
    }
    let text = key
        .public_key()
        .to_openssh()
        .map_err(|_| "ssh: no key found".to_string())?;
    normalised_public_key(&text).ok_or_else(|| "ssh: no key found".to_string())
}

/// Go's `knownhosts` check of `host` (port 22) presenting one of `server_keys`: `Ok`, or
/// `knownhosts: key is unknown` (no line for the host) / `knownhosts: key mismatch` (lines
/// for the host, none with a key it has). Hashed host names (`|1|…`) are not read.
pub(crate) fn check_known_hosts(
    known_hosts: &str,
    host: &str,
    server_keys: &[String],
) -> Result<(), &'static str> {
    let bracketed = format!("[{host}]:22");
    let mut host_listed = false;
    for line in known_hosts.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with('@') {
            continue;
        }
        let mut fields = line.split_whitespace();
        let (Some(hosts), Some(algorithm), Some(data)) =
            (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        let names_host = hosts
            .split(',')
            .any(|h| h.eq_ignore_ascii_case(host) || h.eq_ignore_ascii_case(&bracketed));
        if !names_host {
            continue;
        }
        host_listed = true;
        let key = format!("{algorithm} {data}");
        if server_keys.contains(&key) {
            return Ok(());
        }
    }
    Err(if host_listed {
        "knownhosts: key mismatch"
    } else {
        "knownhosts: key is unknown"
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fingerprints GitHub publishes for github.com (docs.github.com, "GitHub's SSH key
    /// fingerprints"): the keys above are those keys.
    #[test]
    fn github_com_keys_have_the_published_fingerprints() {
        let fingerprints = host_key_fingerprints(&host_keys("github.com"));
        assert_eq!(
            serde_json::Value::Object(fingerprints),
            serde_json::json!({
                "SHA256_ED25519": "+DiY3wvvV6TuJJhbpZisF/zLDA0zPMSvHdkr4UvCOqU",
                "SHA256_ECDSA": "p2QAMXNIC1TJYWeIOttrVc98/R1BUFWu3/LiyKgUfQM",
                "SHA256_RSA": "uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s",
            })
        );
    }

    #[test]
    fn an_enterprise_server_has_a_key_of_its_own() {
        let ghe = host_keys("ghe.example.test");
        assert_eq!(ghe.len(), 1);
        assert!(ghe[0].starts_with("ssh-ed25519 AAAA"), "{ghe:?}");
        assert_eq!(ghe, host_keys("GHE.example.test"));
        assert_ne!(ghe, host_keys("other.example.test"));
        assert!(normalised_public_key(&ghe[0]).is_some());
    }

    #[test]
    fn known_hosts_lines_are_checked_as_go_does() {
        let keys = host_keys("github.com");
        let line = format!("github.com {}\n", keys[0]);
        assert_eq!(check_known_hosts(&line, "github.com", &keys), Ok(()));
        let bracketed = format!("# comment\n[github.com]:22,140.82.112.3 {}\n", keys[2]);
        assert_eq!(check_known_hosts(&bracketed, "github.com", &keys), Ok(()));
        assert_eq!(
            check_known_hosts("gitlab.com ssh-ed25519 AAAA\n", "github.com", &keys),
            Err("knownhosts: key is unknown")
        );
        let other = host_keys("ghe.example.test");
        let wrong = format!("github.com {}\n", other[0]);
        assert_eq!(
            check_known_hosts(&wrong, "github.com", &keys),
            Err("knownhosts: key mismatch")
        );
    }

    #[test]
    fn public_keys_are_kept_without_their_comment() {
        let key = &host_keys("github.com")[0];
        assert_eq!(
            normalised_public_key(&format!("{key} someone@laptop\n")).as_deref(),
            Some(key.as_str())
        );
        assert_eq!(normalised_public_key("ssh-ed25519 not-base64"), None);
        assert_eq!(normalised_public_key("hello"), None);
        assert_eq!(
            public_key_of_private("-----BEGIN OPENSSH PRIVATE KEY-----\nbroken\n"),
            Err("ssh: no key found".to_string())
        );
    }
}
