//! Known secret values and their redaction. Every token the program learns is registered
//! here first; everything we print or write (log lines, state file, screen, panic
//! messages) passes through [`redact`].

use std::borrow::Cow;
use std::sync::{OnceLock, RwLock};

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;

/// Azure credentials a user may keep in the environment for the Azure side: a service
/// principal's secret for `az`, or for the `kubelogin` exec plugin that kubectl and helm
/// run from an AKS kubeconfig. We never read or pass them ourselves: `az`, kubectl and helm
/// inherit them as they are, `gh` and `git` (which never talk to Azure) do not get them,
/// and their values are registered as secrets at start-up, so a tool echoing one is masked
/// in everything we print or write.
pub const AZURE_SECRET_VARIABLES: [&str; 4] = [
    "AZURE_CLIENT_SECRET",
    "AZURE_CLIENT_CERTIFICATE_PASSWORD",
    "AAD_SERVICE_PRINCIPAL_CLIENT_SECRET",
    "ARM_CLIENT_SECRET",
];

/// The variables gh and git read a GitHub token from. A child that does not talk to
/// GitHub never inherits them.
pub const GITHUB_TOKEN_VARIABLES: [&str; 4] = [
    "GH_TOKEN",
    "GITHUB_TOKEN",
    "GH_ENTERPRISE_TOKEN",
    "GITHUB_ENTERPRISE_TOKEN",
];

/// What replaces a secret in output.
pub const MASK: &str = "***";

/// Shorter values are not treated as secrets: masking them would garble ordinary text.
const MIN_SECRET_LEN: usize = 6;

#[derive(Debug, Default)]
pub struct Redactor {
    /// Secret values and their encoded forms, longest first so a longer match wins.
    needles: RwLock<Vec<String>>,
}

impl Redactor {
    pub fn new() -> Self {
        Self::default()
    }

    /// Remember a secret value and its base64 forms (standard and URL-safe, padded or not,
    /// and as it appears inside a longer encoded string at each of the three alignments).
    pub fn register(&self, secret: &str) {
        let secret = secret.trim();
        if secret.len() < MIN_SECRET_LEN {
            return;
        }
        let mut forms = vec![secret.to_string()];
        for engine in [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD] {
            forms.push(engine.encode(secret));
        }
        forms.extend(embedded_base64_forms(secret));
        let mut needles = self.needles.write().unwrap_or_else(|e| e.into_inner());
        for form in forms {
            if form.len() >= MIN_SECRET_LEN && !needles.contains(&form) {
                needles.push(form);
            }
        }
        needles.sort_by_key(|n| std::cmp::Reverse(n.len()));
    }

    /// The text with every known secret replaced by [`MASK`].
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let needles = self.needles.read().unwrap_or_else(|e| e.into_inner());
        if !needles.iter().any(|n| text.contains(n.as_str())) {
            return Cow::Borrowed(text);
        }
        let mut out = text.to_string();
        for needle in needles.iter() {
            if out.contains(needle.as_str()) {
                out = out.replace(needle.as_str(), MASK);
            }
        }
        Cow::Owned(out)
    }

    pub fn is_empty(&self) -> bool {
        self.needles
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
    }
}

/// The part of base64(prefix + secret) that depends only on the secret, for each of the
/// three byte alignments: catches e.g. `base64("x-access-token:" + secret)` in a header.
fn embedded_base64_forms(secret: &str) -> Vec<String> {
    let bytes = secret.as_bytes();
    let mut forms = Vec::new();
    for offset in 0..3usize {
        let mut padded = vec![0u8; offset];
        padded.extend_from_slice(bytes);
        let encoded = STANDARD_NO_PAD.encode(&padded);
        // Characters influenced by the zero prefix: the first ceil(offset*8/6) chars, rounded
        // up to the next whole group; trailing group may depend on the byte count only.
        let skip = if offset == 0 { 0 } else { 4 };
        let whole_groups = (padded.len() / 3) * 4;
        if whole_groups > skip {
            forms.push(encoded[skip..whole_groups].to_string());
        }
    }
    forms
}

static GLOBAL: OnceLock<Redactor> = OnceLock::new();

/// The process-wide redactor.
pub fn global() -> &'static Redactor {
    GLOBAL.get_or_init(Redactor::new)
}

/// Register a secret with the process-wide redactor.
pub fn register(secret: &str) {
    global().register(secret);
}

/// Redact with the process-wide redactor.
pub fn redact(text: &str) -> Cow<'_, str> {
    global().redact(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "ghp_CANARYcanary0123456789abcdefXYZ";

    #[test]
    fn plain_and_base64_forms_are_masked() {
        let r = Redactor::new();
        r.register(TOKEN);
        let text = format!(
            "token={TOKEN} b64={} url={}",
            STANDARD.encode(TOKEN),
            URL_SAFE_NO_PAD.encode(TOKEN)
        );
        let out = r.redact(&text);
        assert!(!out.contains(TOKEN));
        assert!(!out.contains(&STANDARD_NO_PAD.encode(TOKEN)));
        assert_eq!(out.matches(MASK).count(), 3, "{out}");
    }

    #[test]
    fn secret_inside_a_longer_base64_string_is_masked() {
        let r = Redactor::new();
        r.register(TOKEN);
        for prefix in ["", "x", "xa", "x-access-token:"] {
            let header = STANDARD.encode(format!("{prefix}{TOKEN}"));
            let out = r.redact(&header);
            assert!(out.contains(MASK), "prefix {prefix:?}: {out}");
        }
    }

    #[test]
    fn text_without_secrets_is_untouched_and_short_values_are_ignored() {
        let r = Redactor::new();
        r.register("abc");
        assert!(r.is_empty());
        r.register(TOKEN);
        assert!(matches!(r.redact("nothing here"), Cow::Borrowed(_)));
    }
}
