//! Argument parsing shared by the simulated tools.
//!
//! Two real parsing conventions are modelled: Go's pflag (kubectl, gh, helm: flags anywhere,
//! `--flag=value`, `-fvalue`, `-f=value`, booleans with an optional `=true|false`) and Python's
//! argparse as used by az (`--flag value`, `--flag=value`, `-fvalue`; every token that is not
//! a known flag or its value is "unrecognized"). Each simulated command declares its flags in
//! a table; anything else is an error the tool module turns into the real tool's message.

use std::collections::BTreeMap;

/// One flag a command accepts.
#[derive(Clone, Copy, Debug)]
pub struct Flag {
    /// The long name without dashes (`resource-group`): also the key of the parsed value.
    pub long: &'static str,
    /// The one-letter short form, if any.
    pub short: Option<char>,
    /// Whether the flag takes a value (`--name X`) or is a switch (`--yes`).
    pub takes_value: bool,
}

/// A flag taking a value.
pub const fn value(long: &'static str, short: Option<char>) -> Flag {
    Flag {
        long,
        short,
        takes_value: true,
    }
}

/// A switch.
pub const fn switch(long: &'static str, short: Option<char>) -> Flag {
    Flag {
        long,
        short,
        takes_value: false,
    }
}

/// Which real parser a tool uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// Go pflag (cobra): kubectl, gh, helm.
    Pflag,
    /// Python argparse: az.
    Argparse,
}

/// What was wrong with an argv.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ArgError {
    /// pflag: an unknown `--long` flag (the name as typed, with dashes).
    UnknownFlag(String),
    /// pflag: an unknown `-x` shorthand: the letter and the token it was in.
    UnknownShorthand(char, String),
    /// pflag: a value flag at the end of argv. Displayed as pflag does (`--namespace` or `'n' in -n`).
    MissingValue(String),
    /// pflag: `--switch=notabool`.
    InvalidBool { flag: String, value: String },
    /// argparse: every token it could not place, in order.
    Unrecognized(Vec<String>),
    /// argparse: a value flag without its value (`--name` last, or followed by another flag).
    ExpectedOneArgument(String),
}

/// A parsed argv: positional words in order and flag values by long name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ParsedArgs {
    pub positionals: Vec<String>,
    flags: BTreeMap<&'static str, Vec<String>>,
}

impl ParsedArgs {
    /// Only positional arguments (a command parsed outside the flag tables).
    pub fn with_positionals(positionals: Vec<String>) -> Self {
        Self {
            positionals,
            ..Self::default()
        }
    }

    /// The last value given for a flag (pflag and argparse both let the last one win).
    pub fn value(&self, long: &str) -> Option<&str> {
        self.flags
            .get(long)
            .and_then(|values| values.last())
            .map(String::as_str)
    }

    /// Every value given for a repeatable flag, in order.
    pub fn values(&self, long: &str) -> Vec<&str> {
        self.flags
            .get(long)
            .map(|values| values.iter().map(String::as_str).collect())
            .unwrap_or_default()
    }

    /// A switch's state: absent is false; `--x` or `--x=true` is true; `--x=false` is false.
    pub fn switch(&self, long: &str) -> bool {
        matches!(self.value(long), Some(v) if parse_bool(v) == Some(true))
    }

    fn push(&mut self, long: &'static str, value: String) {
        self.flags.entry(long).or_default().push(value);
    }
}

/// Go's strconv.ParseBool.
pub fn parse_bool(text: &str) -> Option<bool> {
    match text {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

fn find_long<'a>(flags: &'a [Flag], name: &str) -> Option<&'a Flag> {
    flags.iter().find(|f| f.long == name)
}

fn find_short(flags: &[Flag], letter: char) -> Option<&Flag> {
    flags.iter().find(|f| f.short == Some(letter))
}

/// Parse `args` against `flags` in the given style.
pub fn parse(args: &[String], flags: &[Flag], style: Style) -> Result<ParsedArgs, ArgError> {
    match style {
        Style::Pflag => parse_pflag(args, flags),
        Style::Argparse => parse_argparse(args, flags),
    }
}

fn parse_pflag(args: &[String], flags: &[Flag]) -> Result<ParsedArgs, ArgError> {
    let mut parsed = ParsedArgs::default();
    let mut index = 0;
    while index < args.len() {
        let arg = &args[index];
        index += 1;
        if arg == "--" {
            parsed.positionals.extend(args[index..].iter().cloned());
            break;
        }
        if let Some(body) = arg.strip_prefix("--") {
            let (name, inline) = match body.split_once('=') {
                Some((name, value)) => (name, Some(value.to_string())),
                None => (body, None),
            };
            let flag = find_long(flags, name).ok_or_else(|| ArgError::UnknownFlag(arg.clone()))?;
            if flag.takes_value {
                let value = match inline {
                    Some(value) => value,
                    None if index < args.len() => {
                        index += 1;
                        args[index - 1].clone()
                    }
                    None => return Err(ArgError::MissingValue(format!("--{name}"))),
                };
                parsed.push(flag.long, value);
            } else {
                let value = inline.unwrap_or_else(|| "true".to_string());
                if parse_bool(&value).is_none() {
                    return Err(ArgError::InvalidBool {
                        flag: format!("--{name}"),
                        value,
                    });
                }
                parsed.push(flag.long, value);
            }
        } else if arg.len() > 1 && arg.starts_with('-') {
            // A group of shorthands: `-abc`, or `-nvalue`, or `-n=value`.
            let letters: Vec<char> = arg[1..].chars().collect();
            let mut at = 0;
            while at < letters.len() {
                let letter = letters[at];
                let flag = find_short(flags, letter)
                    .ok_or_else(|| ArgError::UnknownShorthand(letter, arg.clone()))?;
                at += 1;
                if flag.takes_value {
                    let rest: String = letters[at..].iter().collect();
                    let value = if let Some(value) = rest.strip_prefix('=') {
                        value.to_string()
                    } else if !rest.is_empty() {
                        rest
                    } else if index < args.len() {
                        index += 1;
                        args[index - 1].clone()
                    } else {
                        return Err(ArgError::MissingValue(format!("'{letter}' in {arg}")));
                    };
                    parsed.push(flag.long, value);
                    break;
                }
                if letters.get(at) == Some(&'=') {
                    let value: String = letters[at + 1..].iter().collect();
                    if parse_bool(&value).is_none() {
                        return Err(ArgError::InvalidBool {
                            flag: format!("-{letter}"),
                            value,
                        });
                    }
                    parsed.push(flag.long, value);
                    break;
                }
                parsed.push(flag.long, "true".to_string());
            }
        } else {
            parsed.positionals.push(arg.clone());
        }
    }
    Ok(parsed)
}

fn parse_argparse(args: &[String], flags: &[Flag]) -> Result<ParsedArgs, ArgError> {
    let mut parsed = ParsedArgs::default();
    let mut unrecognized = Vec::new();
    let mut index = 0;
    while index < args.len() {
        let arg = &args[index];
        index += 1;
        let looks_like_flag = arg.starts_with('-') && arg.len() > 1 && !is_negative_number(arg);
        if !looks_like_flag {
            unrecognized.push(arg.clone());
            continue;
        }
        let (flag, inline) = if let Some(body) = arg.strip_prefix("--") {
            let (name, inline) = match body.split_once('=') {
                Some((name, value)) => (name, Some(value.to_string())),
                None => (body, None),
            };
            (find_long(flags, name), inline)
        } else {
            let mut chars = arg[1..].chars();
            let letter = chars.next().unwrap_or('-');
            let rest: String = chars.collect();
            let inline = if rest.is_empty() {
                None
            } else {
                Some(rest.strip_prefix('=').unwrap_or(&rest).to_string())
            };
            (find_short(flags, letter), inline)
        };
        let Some(flag) = flag else {
            unrecognized.push(arg.clone());
            continue;
        };
        if flag.takes_value {
            let value = match inline {
                Some(value) => value,
                None => match args.get(index) {
                    Some(next) if !(next.starts_with('-') && next.len() > 1) => {
                        index += 1;
                        next.clone()
                    }
                    _ => return Err(ArgError::ExpectedOneArgument(display_argparse(flag))),
                },
            };
            parsed.push(flag.long, value);
        } else if inline.is_some() {
            // argparse: "argument --yes/-y: ignored explicit argument 'x'".
            unrecognized.push(arg.clone());
        } else {
            parsed.push(flag.long, "true".to_string());
        }
    }
    if unrecognized.is_empty() {
        Ok(parsed)
    } else {
        Err(ArgError::Unrecognized(unrecognized))
    }
}

fn is_negative_number(text: &str) -> bool {
    text[1..].parse::<f64>().is_ok()
}

/// How argparse names a flag in its messages: `--name/-n`.
pub fn display_argparse(flag: &Flag) -> String {
    match flag.short {
        Some(letter) => format!("--{}/-{letter}", flag.long),
        None => format!("--{}", flag.long),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(parts: &[&str]) -> Vec<String> {
        parts.iter().map(|s| s.to_string()).collect()
    }

    const FLAGS: &[Flag] = &[
        value("namespace", Some('n')),
        value("output", Some('o')),
        switch("wait", None),
        switch("all", Some('A')),
    ];

    #[test]
    fn pflag_accepts_every_spelling_in_any_order() {
        let parsed = parse(
            &argv(&[
                "get",
                "-nkube-system",
                "pods",
                "--output=json",
                "--wait=false",
                "-A",
            ]),
            FLAGS,
            Style::Pflag,
        )
        .unwrap();
        assert_eq!(parsed.positionals, ["get", "pods"]);
        assert_eq!(parsed.value("namespace"), Some("kube-system"));
        assert_eq!(parsed.value("output"), Some("json"));
        assert!(!parsed.switch("wait"));
        assert!(parsed.switch("all"));
        let parsed = parse(&argv(&["-n=x", "-o", "yaml"]), FLAGS, Style::Pflag).unwrap();
        assert_eq!(parsed.value("namespace"), Some("x"));
        assert_eq!(parsed.value("output"), Some("yaml"));
    }

    #[test]
    fn pflag_errors_name_the_flag_as_pflag_does() {
        let err = |parts: &[&str]| parse(&argv(parts), FLAGS, Style::Pflag).unwrap_err();
        assert_eq!(err(&["--x"]), ArgError::UnknownFlag("--x".into()));
        assert_eq!(err(&["--x=1"]), ArgError::UnknownFlag("--x=1".into()));
        assert_eq!(err(&["-z"]), ArgError::UnknownShorthand('z', "-z".into()));
        assert_eq!(err(&["-n"]), ArgError::MissingValue("'n' in -n".into()));
        assert_eq!(
            err(&["--output"]),
            ArgError::MissingValue("--output".into())
        );
        assert_eq!(
            err(&["--wait=maybe"]),
            ArgError::InvalidBool {
                flag: "--wait".into(),
                value: "maybe".into()
            }
        );
    }

    #[test]
    fn argparse_collects_every_unrecognized_token() {
        let flags = &[value("name", Some('n')), switch("yes", Some('y'))];
        let parsed = parse(&argv(&["-n", "rg", "--yes"]), flags, Style::Argparse).unwrap();
        assert_eq!(parsed.value("name"), Some("rg"));
        assert!(parsed.switch("yes"));
        let err = parse(
            &argv(&["--name=a", "--x", "stray", "-q"]),
            flags,
            Style::Argparse,
        )
        .unwrap_err();
        assert_eq!(
            err,
            ArgError::Unrecognized(vec!["--x".into(), "stray".into(), "-q".into()])
        );
        let err = parse(&argv(&["--name", "--yes"]), flags, Style::Argparse).unwrap_err();
        assert_eq!(err, ArgError::ExpectedOneArgument("--name/-n".into()));
    }
}
