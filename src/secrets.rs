//! Known secret values and their redaction. Every token the program learns is registered
//! here first; everything we print or write (log lines, state file, screen, panic
//! messages) passes through [`redact`].

use std::borrow::Cow;
use std::ops::Range;
use std::sync::{OnceLock, RwLock};

use aho_corasick::AhoCorasick;
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
    needles: RwLock<Needles>,
}

/// Every registered form of every secret, and the automaton that finds them all in one pass.
#[derive(Debug, Default)]
struct Needles {
    forms: Vec<String>,
    /// `None` until a secret is registered.
    finder: Option<AhoCorasick>,
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
        // As JSON writes it (a `"`, `\` or control character escaped): the event stream
        // and the state file are masked after they are serialised.
        if let Ok(quoted) = serde_json::to_string(secret) {
            forms.push(quoted[1..quoted.len() - 1].to_string());
        }
        let mut needles = self.needles.write().unwrap_or_else(|e| e.into_inner());
        let before = needles.forms.len();
        for form in forms {
            if form.len() >= MIN_SECRET_LEN && !needles.forms.contains(&form) {
                needles.forms.push(form);
            }
        }
        if needles.forms.len() != before {
            // Standard semantics: the overlapping search needs every match, not a chosen one.
            let finder = AhoCorasick::new(&needles.forms)
                .expect("a few hundred short literal patterns build an automaton");
            needles.finder = Some(finder);
        }
    }

    /// The text with every known secret replaced by [`MASK`], found in one pass. Where
    /// occurrences overlap (a secret inside another, or two sharing characters) the whole
    /// stretch they cover becomes one mask, so no part of either shows.
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let needles = self.needles.read().unwrap_or_else(|e| e.into_inner());
        let Some(finder) = &needles.finder else {
            return Cow::Borrowed(text);
        };
        let mut found: Vec<Range<usize>> = finder
            .find_overlapping_iter(text)
            .map(|found| found.range())
            .collect();
        found.sort_unstable_by_key(|span| span.start);
        let mut covered: Vec<Range<usize>> = Vec::with_capacity(found.len());
        for span in found {
            match covered.last_mut() {
                Some(last) if span.start < last.end => last.end = last.end.max(span.end),
                _ => covered.push(span),
            }
        }
        if covered.is_empty() {
            return Cow::Borrowed(text);
        }
        let mut out = String::with_capacity(text.len());
        let mut shown = 0;
        for span in covered {
            out.push_str(&text[shown..span.start]);
            out.push_str(MASK);
            shown = span.end;
        }
        out.push_str(&text[shown..]);
        Cow::Owned(out)
    }

    pub fn is_empty(&self) -> bool {
        self.needles
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .forms
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

    /// A secret with a quote or a backslash (a certificate password) is masked in JSON too,
    /// where those are escaped.
    #[test]
    fn a_secret_is_masked_as_json_escapes_it() {
        let r = Redactor::new();
        let secret = r#"pa"ss\word-0123456789"#;
        r.register(secret);
        let line = serde_json::json!({ "message": format!("failed with {secret}") }).to_string();
        let out = r.redact(&line);
        assert!(!out.contains("word-0123456789"), "{out}");
        assert_eq!(out, format!(r#"{{"message":"failed with {MASK}"}}"#));
    }

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

    #[test]
    fn a_secret_inside_another_is_masked_whole() {
        let r = Redactor::new();
        r.register("inner-secret-42");
        r.register("outer-inner-secret-42-tail");
        assert_eq!(
            r.redact("a outer-inner-secret-42-tail b inner-secret-42 c"),
            "a *** b *** c"
        );
    }

    /// Two secrets sharing characters: masking one first (as a replace per secret did) cut
    /// the other, whose rest then showed ("***-delta-echo").
    #[test]
    fn overlapping_secrets_are_masked_as_one_stretch() {
        let r = Redactor::new();
        r.register("alpha-bravo-charlie");
        r.register("charlie-delta-echo");
        assert_eq!(r.redact("[alpha-bravo-charlie-delta-echo]"), "[***]");
        assert_eq!(
            r.redact("[charlie-delta-echo-alpha-bravo-charlie]"),
            "[***-***]"
        );
    }

    #[test]
    fn masks_between_multibyte_characters() {
        let r = Redactor::new();
        r.register(TOKEN);
        assert_eq!(r.redact(&format!("é{TOKEN}中🙂{TOKEN}")), "é***中🙂***");
    }
}
