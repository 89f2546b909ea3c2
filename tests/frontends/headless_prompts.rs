//! Prompts of a headless interactive run: only y/yes (any case) is yes; empty, anything
//! else and end of input are no.

use std::io::{self, BufRead, Cursor, Read, Write};
use std::sync::{Arc, Mutex};

use kalypso_bootstrap::headless::{LinePrompts, NoPrompts, Prompts};

/// Where the questions go: a buffer the test reads while the prompts still hold it.
#[derive(Clone, Default)]
struct Screen(Arc<Mutex<Vec<u8>>>);

impl Write for Screen {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn prompts(input: &str) -> (LinePrompts<Screen>, Screen) {
    let screen = Screen::default();
    let prompts = LinePrompts::new(Cursor::new(input.to_string().into_bytes()), screen.clone());
    (prompts, screen)
}

fn shown(screen: &Screen) -> String {
    String::from_utf8(screen.0.lock().unwrap().clone()).unwrap()
}

#[test]
fn confirm_plan_accepts_only_y_and_yes() {
    let cases = [
        ("y\n", true),
        ("Y\n", true),
        ("yes\n", true),
        ("YES\r\n", true),
        ("  yes  \n", true),
        ("no\n", false),
        ("n\n", false),
        ("\n", false),
        ("yep\n", false),
        ("sure\n", false),
        ("", false),
    ];
    for (input, expected) in cases {
        let (mut p, screen) = prompts(input);
        assert_eq!(p.confirm_plan("Proceed? [y/N]"), expected, "{input:?}");
        assert!(
            shown(&screen).starts_with("Proceed? [y/N] "),
            "{:?}",
            shown(&screen)
        );
    }
}

#[test]
fn end_of_input_is_no_and_ends_the_question_line() {
    let (mut p, screen) = prompts("");
    assert!(!p.confirm_plan("Proceed? [y/N]"));
    assert_eq!(shown(&screen), "Proceed? [y/N] \n");
}

#[test]
fn a_last_answer_without_newline_still_counts() {
    let (mut p, _) = prompts("y");
    assert!(p.confirm_plan("Proceed? [y/N]"));
}

#[test]
fn each_question_reads_exactly_one_line() {
    let (mut p, _) = prompts("y\nno\nyes\n");
    assert!(p.confirm_plan("Proceed? [y/N]"));
    assert!(!p.ask_rollback(&["Helm release kalypso-scheduler".to_string()]));
    assert!(p.confirm_plan("Proceed? [y/N]"));
    assert!(
        !p.confirm_plan("Proceed? [y/N]"),
        "input exhausted means no"
    );
}

#[test]
fn ask_rollback_lists_the_resources_and_defaults_to_no() {
    let resources = vec![
        "Helm release kalypso-scheduler in kalypso-system".to_string(),
        "GitHub repository contoso/kalypso-gitops".to_string(),
    ];
    let (mut p, screen) = prompts("\n");
    assert!(!p.ask_rollback(&resources));
    assert_eq!(
        shown(&screen),
        "This run created:\n\
         \x20 - Helm release kalypso-scheduler in kalypso-system\n\
         \x20 - GitHub repository contoso/kalypso-gitops\n\
         Roll back the resources created by this run? [y/N] "
    );

    let (mut p, _) = prompts("Yes\n");
    assert!(p.ask_rollback(&resources));
}

#[test]
fn ask_clean_lists_what_the_state_records_and_defaults_to_no() {
    let resources = vec!["GitHub repository contoso/kalypso-gitops".to_string()];
    let (mut p, screen) = prompts("\n");
    assert!(!p.ask_clean(&resources));
    assert_eq!(
        shown(&screen),
        "The state file records these resources as created by kalypso-bootstrap:\n\
         \x20 - GitHub repository contoso/kalypso-gitops\n\
         Remove them? [y/N] "
    );
    let (mut p, _) = prompts("y\n");
    assert!(p.ask_clean(&resources));
    let (mut p, screen) = prompts("y\n");
    assert!(!p.ask_clean(&[]), "nothing to remove, nothing asked");
    assert_eq!(shown(&screen), "");
}

#[test]
fn nothing_to_roll_back_asks_nothing() {
    let (mut p, screen) = prompts("y\n");
    assert!(!p.ask_rollback(&[]));
    assert_eq!(shown(&screen), "");
}

#[test]
fn prompts_are_redacted() {
    const CANARY: &str = "ghp_headlessPromptCanary0123456789";
    kalypso_bootstrap::secrets::register(CANARY);
    let (mut p, screen) = prompts("n\n");
    p.ask_rollback(&[format!("secret {CANARY}")]);
    assert!(!shown(&screen).contains(CANARY));
    assert!(shown(&screen).contains("  - secret ***\n"));
}

/// A stdin that fails to read.
struct Broken;

impl Read for Broken {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        Err(io::Error::other("gone"))
    }
}

impl BufRead for Broken {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        Err(io::Error::other("gone"))
    }
    fn consume(&mut self, _: usize) {}
}

#[test]
fn an_unreadable_input_is_no() {
    let mut p = LinePrompts::new(Broken, Vec::new());
    assert!(!p.confirm_plan("Proceed? [y/N]"));
    assert!(!p.ask_rollback(&["AKS cluster kalypso-aks".to_string()]));
}

#[test]
fn non_interactive_prompts_always_answer_no() {
    let mut p = NoPrompts;
    assert!(!p.confirm_plan("Proceed? [y/N]"));
    assert!(!p.ask_rollback(&["AKS cluster kalypso-aks".to_string()]));
}

#[test]
fn resource_names_with_terminal_controls_are_shown_escaped() {
    let (mut p, screen) = prompts("n\n");
    p.ask_rollback(&["repository acme/\u{1b}]0;OWNED\u{7}\u{9b}2J".to_string()]);
    let text = shown(&screen);
    assert!(
        text.contains("acme/\\u001b]0;OWNED\\u0007\\u009b2J"),
        "{text}"
    );
    assert!(
        !text.chars().any(|c| c.is_control() && c != '\n'),
        "{text:?}"
    );
}
