//! How much extra output simulated commands print: a command matching a rule writes that
//! many more lines to stderr, as a real tool does with `--debug` (helm) or `--verbose` (az).
//! `--demo` takes rules from `KALYPSO_DEMO_CHATTER`. The simulator itself prints none of
//! them: the demo's stand-in runner (`demo::StandInRunner`) has a real child process print
//! them through a pipe, so they take the path a real tool's output takes.

/// Extra output per command prefix (the longest matching prefix wins).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Chatter {
    /// `(program and leading words, lines)`.
    rules: Vec<(Vec<String>, u64)>,
}

impl Chatter {
    /// No extra output.
    pub fn none() -> Self {
        Self::default()
    }

    /// Commands starting with `command` (program and words, space separated, e.g.
    /// `"helm upgrade"`) print `lines` extra lines.
    pub fn with_command(mut self, command: &str, lines: u64) -> Self {
        let words: Vec<String> = command.split_whitespace().map(str::to_string).collect();
        self.rules.retain(|(w, _)| *w != words);
        self.rules.push((words, lines));
        self
    }

    /// The extra lines of a command given as program followed by its command words.
    pub fn for_command(&self, words: &[String]) -> u64 {
        self.rules
            .iter()
            .filter(|(prefix, _)| {
                words.len() >= prefix.len() && words[..prefix.len()] == prefix[..]
            })
            .max_by_key(|(prefix, _)| prefix.len())
            .map_or(0, |(_, lines)| *lines)
    }

    /// Rules as `KALYPSO_DEMO_CHATTER` writes them: `COMMAND=LINES`, comma separated (e.g.
    /// `helm upgrade=1000000`). The error names the rule and what is wrong with it.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut chatter = Self::none();
        for rule in text.split(',').map(str::trim).filter(|r| !r.is_empty()) {
            let (command, lines) = rule
                .split_once('=')
                .ok_or_else(|| format!("{rule:?} is not COMMAND=LINES"))?;
            let command = command.trim();
            if command.is_empty() {
                return Err(format!("{rule:?} names no command"));
            }
            let lines =
                lines.trim().replace('_', "").parse::<u64>().map_err(|_| {
                    format!("{rule:?}: {:?} is not a number of lines", lines.trim())
                })?;
            chatter = chatter.with_command(command, lines);
        }
        Ok(chatter)
    }
}

/// The `index`-th extra line of `command` (program and words).
pub fn chatter_line(command: &[String], index: u64) -> String {
    let (before, after) = line_parts(command);
    format!("{before}{index}{after}")
}

/// [`chatter_line`] as a `seq -f` format (`%.0f` where the index goes, every other `%`
/// doubled): `seq -f FORMAT 0 N-1` prints the first N lines.
pub fn chatter_seq_format(command: &[String]) -> String {
    let (before, after) = line_parts(command);
    format!(
        "{}%.0f{}",
        before.replace('%', "%%"),
        after.replace('%', "%%")
    )
}

/// The text before and after the index of a line.
fn line_parts(command: &[String]) -> (String, &'static str) {
    (
        format!(
            "{}: [debug] {}: detail ",
            command.first().map_or("tool", String::as_str),
            command.join(" ")
        ),
        ": waiting for resources to report their status",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn the_longest_prefix_wins_and_others_print_nothing_extra() {
        let chatter = Chatter::none()
            .with_command("helm", 10)
            .with_command("helm upgrade", 1_000);
        assert_eq!(
            chatter.for_command(&words("helm upgrade --install x")),
            1_000
        );
        assert_eq!(chatter.for_command(&words("helm show chart")), 10);
        assert_eq!(chatter.for_command(&words("kubectl apply")), 0);
    }

    #[test]
    fn seq_with_the_format_prints_the_lines_even_with_a_percent_sign_in_the_command() {
        let command = words("helm upgrade kalypso 100%-ready \\n");
        let output = std::process::Command::new("seq")
            .args(["-f", &chatter_seq_format(&command), "0", "2"])
            .output()
            .expect("seq runs");
        assert!(output.status.success(), "{output:?}");
        let expected: String = (0..3)
            .map(|index| chatter_line(&command, index) + "\n")
            .collect();
        assert_eq!(String::from_utf8_lossy(&output.stdout), expected);
        assert_eq!(
            chatter_line(&command, 7),
            "helm: [debug] helm upgrade kalypso 100%-ready \\n: detail 7: waiting for resources to report their status"
        );
    }

    #[test]
    fn rules_parse_and_bad_ones_are_named() {
        let chatter = Chatter::parse("helm upgrade=1_000_000, kubectl apply = 20").unwrap();
        assert_eq!(chatter.for_command(&words("helm upgrade")), 1_000_000);
        assert_eq!(chatter.for_command(&words("kubectl apply -f -")), 20);
        assert_eq!(Chatter::parse("").unwrap(), Chatter::none());
        let error = Chatter::parse("helm upgrade").unwrap_err();
        assert!(
            error.contains("\"helm upgrade\" is not COMMAND=LINES"),
            "{error}"
        );
        let error = Chatter::parse("helm upgrade=lots").unwrap_err();
        assert!(error.contains("\"lots\" is not a number"), "{error}");
        assert!(Chatter::parse("=5")
            .unwrap_err()
            .contains("names no command"));
    }
}
