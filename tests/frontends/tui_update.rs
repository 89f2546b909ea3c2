//! `update` from messages and key sequences to state and effects: the first screen,
//! form navigation and validation, quitting (with confirmation while running), the
//! rollback choice, the log tail's scrolling and filter, ticks, prompts from the
//! prerequisite check, monochrome rendering, and that a typed token never shows.

use crate::support::tui::*;
use crossterm::event::{KeyCode, KeyModifiers, MouseEvent, MouseEventKind};
use kalypso_bootstrap::config::{ConfigLayer, Field};
use kalypso_bootstrap::engine::events::{EventKind, LogLevel, Outcome};
use kalypso_bootstrap::engine::step::{Action, StepId};
use kalypso_bootstrap::logging::LogRecord;
use kalypso_bootstrap::prereq::AzureUse;
use kalypso_bootstrap::tui::form::{group_entries, Entry, Group};
use kalypso_bootstrap::tui::logbuf::LevelFilter;
use kalypso_bootstrap::tui::progress::RollbackState;
use kalypso_bootstrap::tui::{
    update, App, DashboardPane, Effect, Msg, Overlay, PlanState, PrereqOutcome, PrereqUpdate,
    PromptAnswer, PromptRequest, RollbackNotice, Screen, Transition,
};
use kalypso_bootstrap::ExitCode;
use kalypso_bootstrap::UserError;
use ratatui::style::{Color, Modifier};
use secrecy::ExposeSecret;

fn exit_code(transition: &Transition) -> Option<ExitCode> {
    transition.effects.iter().find_map(|e| match e {
        Effect::Exit(code) => Some(*code),
        _ => None,
    })
}

fn has(transition: &Transition, matches: impl Fn(&Effect) -> bool) -> bool {
    transition.effects.iter().any(matches)
}

fn configure(flags: ConfigLayer) -> App {
    let mut app = app(flags, SMALL);
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.screen, Screen::Configure);
    app
}

/// Through the forms and a passing check to the plan, then `y`.
fn dashboard(flags: ConfigLayer) -> App {
    let mut app = configure(flags);
    for _ in 0..4 {
        press(&mut app, KeyCode::PageDown);
    }
    assert_eq!(app.screen, Screen::Prerequisites);
    for update_ in passing_checks() {
        update(&mut app, Msg::Prereq(update_));
    }
    press(&mut app, KeyCode::Enter);
    let overview = new_installation_plan(&app);
    update(&mut app, Msg::Plan(Ok(overview)));
    let transition = press(&mut app, KeyCode::Char('y'));
    assert!(has(&transition, |e| matches!(e, Effect::StartRun(_))));
    assert_eq!(app.screen, Screen::Dashboard);
    update(
        &mut app,
        Msg::Engine(event(
            0,
            EventKind::RunStarted {
                demo: false,
                steps: all_steps(Action::Create),
            },
        )),
    );
    update(&mut app, Msg::Engine(started(1, StepId::ClusterCreate)));
    app
}

fn failed(flags: ConfigLayer) -> (App, Transition) {
    let mut app = dashboard(flags);
    let transition = update(
        &mut app,
        Msg::Engine(run_failed(
            30,
            StepId::ClusterCreate,
            "quota exceeded",
            "ask for more",
            ExitCode::ClusterFailed,
        )),
    );
    (app, transition)
}

// ---------------------------------------------------------------------------------------
// First screen and the skip path

#[test]
fn a_missing_required_value_starts_at_the_welcome_screen() {
    let (app, transition) = app_with(inputs(ConfigLayer::default()), SMALL);
    assert_eq!(app.screen, Screen::Welcome);
    assert!(transition.effects.is_empty());
}

#[test]
fn skip_confirmation_without_missing_values_goes_from_the_checklist_straight_to_the_run() {
    let mut flags = named("demo");
    flags.options.skip_confirmation = Some(true);
    let (mut app, transition) = app_with(inputs(flags), SMALL);
    assert_eq!(app.screen, Screen::Prerequisites);
    assert!(has(&transition, |e| matches!(
        e,
        Effect::StartPrerequisites {
            github_token: None,
            interactive: true,
            skip: false,
            azure: AzureUse::Needed,
            ..
        }
    )));
    let mut last = Transition::default();
    for update_ in passing_checks() {
        last = update(&mut app, Msg::Prereq(update_));
    }
    assert!(has(&last, |e| matches!(e, Effect::StartRun(_))), "{last:?}");
    assert_eq!(app.screen, Screen::Dashboard);
    assert_eq!(app.plan, PlanState::NotAsked, "the plan was shown");
}

#[test]
fn skip_validation_asks_the_backend_to_skip_the_prerequisite_probes() {
    let mut flags = named("demo");
    flags.options.skip_confirmation = Some(true);
    flags.options.skip_validation = Some(true);
    let (app, transition) = app_with(inputs(flags), SMALL);
    assert_eq!(app.screen, Screen::Prerequisites);
    assert!(
        has(&transition, |e| matches!(
            e,
            Effect::StartPrerequisites { skip: true, .. }
        )),
        "{transition:?}"
    );
}

#[test]
fn skip_confirmation_with_a_missing_value_still_asks_through_the_forms() {
    let mut flags = ConfigLayer::default();
    flags.options.skip_confirmation = Some(true);
    let app = app(flags, SMALL);
    assert_eq!(app.screen, Screen::Welcome);
}

#[test]
fn skip_confirmation_after_the_forms_starts_the_run_without_the_plan() {
    let mut flags = ConfigLayer::default();
    flags.options.skip_confirmation = Some(true);
    let mut app = configure(flags);
    press(&mut app, KeyCode::Tab);
    type_text(&mut app, "demo");
    for _ in 0..4 {
        press(&mut app, KeyCode::PageDown);
    }
    assert_eq!(app.screen, Screen::Prerequisites);
    let mut last = Transition::default();
    for update_ in passing_checks() {
        last = update(&mut app, Msg::Prereq(update_));
    }
    assert!(has(&last, |e| matches!(e, Effect::StartRun(_))), "{last:?}");
    assert_eq!(app.plan, PlanState::NotAsked);
}

#[test]
fn a_failed_check_on_the_skip_path_does_not_start_the_run() {
    let mut flags = named("demo");
    flags.options.skip_confirmation = Some(true);
    let (mut app, _) = app_with(inputs(flags), SMALL);
    let transition = update(
        &mut app,
        Msg::Prereq(PrereqUpdate::Finished(PrereqOutcome {
            exit_code: ExitCode::PrerequisitesFailed,
            summary: "Prerequisites: FAILED (1 failure)".into(),
            azure: None,
            github: None,
        })),
    );
    assert!(!has(&transition, |e| matches!(e, Effect::StartRun(_))));
    let transition = press(&mut app, KeyCode::Enter);
    assert_eq!(exit_code(&transition), Some(ExitCode::PrerequisitesFailed));
}

// ---------------------------------------------------------------------------------------
// Forms

#[test]
fn tab_and_shift_tab_walk_the_shown_fields_and_the_create_toggle_changes_them() {
    let mut app = configure(named("demo"));
    assert_eq!(app.form.focus, Entry::Config(Field::ClusterCreate));
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.form.focus, Entry::Config(Field::ClusterName));
    press(&mut app, KeyCode::Down);
    assert_eq!(app.form.focus, Entry::Config(Field::ClusterRegion));
    shift_tab(&mut app);
    press(&mut app, KeyCode::Up);
    assert_eq!(app.form.focus, Entry::Config(Field::ClusterCreate));

    // Off: an existing context replaces the AKS settings.
    press(&mut app, KeyCode::Char(' '));
    assert!(!app.form.toggle(Field::ClusterCreate));
    let shown = app.form.visible_entries(Group::Cluster);
    assert_eq!(
        shown,
        vec![
            Entry::Config(Field::ClusterCreate),
            Entry::Config(Field::ClusterName),
            Entry::Config(Field::ClusterExistingContext),
        ]
    );
    assert!(!screen(&app).contains("Region"));
}

#[test]
fn enter_on_the_last_field_moves_to_the_next_group_and_esc_goes_back() {
    let mut app = configure(named("demo"));
    let fields = app.form.visible_entries(Group::Cluster).len();
    for _ in 0..fields - 1 {
        press(&mut app, KeyCode::Enter);
        assert_eq!(app.form.group, Group::Cluster);
    }
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.form.group, Group::Repositories);
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.form.group, Group::Cluster);
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.screen, Screen::Welcome);
}

#[test]
fn an_error_shows_under_its_field_only_once_the_field_is_left() {
    let mut app = configure(ConfigLayer::default());
    press(&mut app, KeyCode::Tab);
    type_text(&mut app, "Bad_Name");
    let entry = Entry::Config(Field::ClusterName);
    assert!(
        app.form.shown_errors(entry).is_empty(),
        "error while typing"
    );
    press(&mut app, KeyCode::Tab);
    let errors = app.form.shown_errors(entry);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("\"Bad_Name\""), "{}", errors[0]);
    assert!(errors[0].contains("^[a-z0-9-]{1,63}$"), "{}", errors[0]);
    let text = screen(&app);
    assert!(text.contains("must match ^[a-z0-9-]{1,63}$"), "{text}");
    // The error sits right under the field's row.
    let lines: Vec<&str> = text.lines().collect();
    let row = lines
        .iter()
        .position(|l| l.contains("Cluster name"))
        .unwrap();
    assert!(lines[row + 1].contains('✗'), "{}", lines[row + 1]);

    // Fixing it clears the error as the field is left again.
    shift_tab(&mut app);
    clear_field(&mut app);
    type_text(&mut app, "good-name");
    press(&mut app, KeyCode::Tab);
    assert!(app.form.shown_errors(entry).is_empty());
    // The derived defaults follow the name.
    assert_eq!(app.form.text(Field::ClusterResourceGroup), "good-name-rg");
}

#[test]
fn moving_on_with_an_error_stays_in_the_group_on_the_bad_field() {
    let mut app = configure(named("demo"));
    for _ in 0..4 {
        press(&mut app, KeyCode::Tab);
    }
    assert_eq!(app.form.focus, Entry::Config(Field::ClusterNodeCount));
    clear_field(&mut app);
    type_text(&mut app, "lots");
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::PageDown);
    assert_eq!(app.form.group, Group::Cluster);
    assert_eq!(app.form.focus, Entry::Config(Field::ClusterNodeCount));
    let errors = app.form.shown_errors(app.form.focus);
    assert!(
        errors[0].contains("\"lots\" is not a whole number"),
        "{errors:?}"
    );
}

#[test]
fn a_required_field_that_was_never_visited_blocks_moving_on() {
    let mut app = app(named("demo"), SMALL);
    press(&mut app, KeyCode::Char('2')); // bring your own cluster
    press(&mut app, KeyCode::Enter);
    assert!(!app.form.toggle(Field::ClusterCreate));
    press(&mut app, KeyCode::PageDown);
    assert_eq!(app.form.group, Group::Cluster);
    assert_eq!(app.form.focus, Entry::Config(Field::ClusterExistingContext));
    let errors = app.form.shown_errors(app.form.focus);
    assert!(errors[0].starts_with("required"), "{errors:?}");
    // Picking a context from the kubeconfig fixes it.
    press(&mut app, KeyCode::Right);
    assert_eq!(app.form.text(Field::ClusterExistingContext), "kind-dev");
    press(&mut app, KeyCode::PageDown);
    assert_eq!(app.form.group, Group::Repositories);
}

#[test]
fn the_pick_list_filters_and_chooses() {
    let mut app = configure(named("demo"));
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.form.focus, Entry::Config(Field::ClusterRegion));
    type_text(&mut app, "northeu");
    assert_eq!(
        app.form.picker.as_ref().unwrap().filtered(),
        vec!["northeurope"]
    );
    press(&mut app, KeyCode::Enter);
    assert!(app.form.picker.is_none());
    assert_eq!(app.form.text(Field::ClusterRegion), "northeurope");
    assert_eq!(app.form.focus, Entry::Config(Field::ClusterRegion));
    // Esc closes a list without choosing.
    press(&mut app, KeyCode::Char(' '));
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.form.text(Field::ClusterRegion), "northeurope");
    assert_eq!(app.screen, Screen::Configure);
}

#[test]
fn finishing_the_forms_starts_the_check_with_the_typed_token_and_the_answers() {
    let mut app = configure(named("demo"));
    press(&mut app, KeyCode::PageDown);
    // Repositories: org, create cp, cp name, create gitops, gitops name, visibility, token.
    while app.form.focus != Entry::GithubToken {
        press(&mut app, KeyCode::Tab);
    }
    type_text(&mut app, "ghp_formToken0123456789");
    press(&mut app, KeyCode::PageDown);
    press(&mut app, KeyCode::PageDown);
    let transition = press(&mut app, KeyCode::PageDown);
    assert_eq!(app.screen, Screen::Prerequisites);
    let token = transition.effects.iter().find_map(|e| match e {
        Effect::StartPrerequisites { github_token, .. } => Some(github_token.clone()),
        _ => None,
    });
    let token = token.expect("check started").expect("token passed");
    assert_eq!(token.expose_secret(), "ghp_formToken0123456789");
    let configuration = app.validated.as_ref().unwrap().configuration();
    assert_eq!(configuration.cluster_name(), Some("demo"));
}

#[test]
fn the_path_choice_sets_the_create_toggles() {
    let mut app = app(named("demo"), SMALL);
    press(&mut app, KeyCode::Char('3'));
    press(&mut app, KeyCode::Enter);
    assert!(app.form.toggle(Field::ClusterCreate));
    assert!(!app.form.toggle(Field::ControlPlaneCreate));
    assert!(!app.form.toggle(Field::GitopsCreate));
    // Existing repositories need their URLs before the forms are done.
    for _ in 0..4 {
        press(&mut app, KeyCode::PageDown);
    }
    assert_eq!(app.screen, Screen::Configure);
    assert_eq!(app.form.focus, Entry::Config(Field::ControlPlaneUrl));
}

#[test]
fn q_and_question_mark_are_text_in_a_text_field_and_ctrl_c_still_quits() {
    let mut app = configure(ConfigLayer::default());
    press(&mut app, KeyCode::Tab);
    type_text(&mut app, "q?");
    assert_eq!(app.form.text(Field::ClusterName), "q?");
    assert!(app.overlay.is_none());
    assert_eq!(app.exit, None);
    let transition = press(&mut app, KeyCode::F(1));
    assert!(transition.redraw);
    assert!(matches!(app.overlay, Some(Overlay::Help)));
    press(&mut app, KeyCode::Esc);
    assert!(app.overlay.is_none());
    // What was typed would be lost: Ctrl+C asks first (issue 15 §6), and `y` leaves.
    let transition = ctrl(&mut app, 'c');
    assert_eq!(exit_code(&transition), None);
    assert!(matches!(app.overlay, Some(Overlay::DiscardConfirm)));
    let transition = press(&mut app, KeyCode::Char('y'));
    assert_eq!(exit_code(&transition), Some(ExitCode::Cancelled));
    assert_eq!(app.exit, Some(ExitCode::Cancelled));
}

#[test]
fn leaving_the_forms_asks_first_only_when_a_value_was_changed() {
    // Nothing changed: Ctrl+C leaves at once.
    let mut app = configure(ConfigLayer::default());
    let transition = ctrl(&mut app, 'c');
    assert_eq!(exit_code(&transition), Some(ExitCode::Cancelled));

    let mut app = configure(ConfigLayer::default());
    press(&mut app, KeyCode::Tab);
    type_text(&mut app, "mine");
    let transition = ctrl(&mut app, 'c');
    assert_eq!(exit_code(&transition), None, "asked first");
    let text = screen(&app);
    assert!(text.contains("Quit?") && text.contains("lost"), "{text}");
    // `n` (or Esc) keeps the forms and what was typed.
    press(&mut app, KeyCode::Char('n'));
    assert!(app.overlay.is_none());
    assert_eq!(app.exit, None);
    assert_eq!(app.form.text(Field::ClusterName), "mine");
    // Ctrl+C twice leaves.
    ctrl(&mut app, 'c');
    let transition = ctrl(&mut app, 'c');
    assert_eq!(exit_code(&transition), Some(ExitCode::Cancelled));
}

#[test]
fn the_help_shows_the_keys_that_work_on_each_screen() {
    let mut app = configure(ConfigLayer::default());
    press(&mut app, KeyCode::F(1));
    let text = screen(&app);
    assert!(text.contains("clear the field"), "{text}");
    assert!(!text.contains("clear the token"), "{text}");
    assert!(!text.contains("q Ctrl+C"), "q is text in the forms: {text}");
    assert!(text.contains("only outside text fields"), "{text}");

    let mut app = dashboard(named("demo"));
    press(&mut app, KeyCode::Char('?'));
    let text = screen(&app);
    assert!(text.contains("q Ctrl+C"), "{text}");
}

// ---------------------------------------------------------------------------------------
// Paste (bracketed: one event)

#[test]
fn a_paste_is_one_edit_at_the_cursor_and_its_newlines_and_controls_submit_and_inject_nothing() {
    let mut app = configure(ConfigLayer::default());
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.form.focus, Entry::Config(Field::ClusterName));
    type_text(&mut app, "ab");
    press(&mut app, KeyCode::Left);
    let long = "x".repeat(6000);
    let transition = update(&mut app, Msg::Paste(long.clone()));
    assert!(transition.redraw);
    assert!(transition.effects.is_empty());
    assert_eq!(app.form.text(Field::ClusterName), format!("a{long}b"));
    // The cursor is after the pasted text: the next key goes there.
    type_text(&mut app, "c");
    assert_eq!(app.form.text(Field::ClusterName), format!("a{long}cb"));

    // A pasted line break neither moves on nor submits; controls do not reach the value.
    press(&mut app, KeyCode::End);
    let (screen, focus, group) = (app.screen, app.form.focus, app.form.group);
    let transition = update(
        &mut app,
        Msg::Paste("d\r\ne\n\u{1b}]0;TITLE\u{7}f\u{9b}2J\r\n".into()),
    );
    assert!(transition.effects.is_empty(), "{:?}", transition.effects);
    assert_eq!(
        (app.screen, app.form.focus, app.form.group),
        (screen, focus, group)
    );
    assert!(app
        .form
        .text(Field::ClusterName)
        .ends_with("bd e ]0;TITLEf2J"));
    assert!(!app
        .form
        .text(Field::ClusterName)
        .chars()
        .any(char::is_control));
    assert_eq!(app.exit, None);
}

#[test]
fn a_paste_goes_into_the_token_the_pick_list_and_a_secret_prompt_but_not_a_toggle() {
    let mut app = configure(named("demo"));
    // On the create toggle: nothing to paste into.
    assert_eq!(app.form.focus, Entry::Config(Field::ClusterCreate));
    let toggled = app.form.toggle(Field::ClusterCreate);
    assert!(!update(&mut app, Msg::Paste("n".into())).redraw);
    assert_eq!(app.form.toggle(Field::ClusterCreate), toggled);
    // A pick row: the paste opens its list, filtered.
    while app.form.focus != Entry::Config(Field::ClusterRegion) {
        press(&mut app, KeyCode::Tab);
    }
    update(&mut app, Msg::Paste("westeu\n".into()));
    let picker = app.form.picker.as_ref().expect("the pick list opened");
    assert_eq!(picker.filter, "westeu");
    press(&mut app, KeyCode::Esc);
    // The token: one edit, never shown.
    press(&mut app, KeyCode::PageDown);
    while app.form.focus != Entry::GithubToken {
        press(&mut app, KeyCode::Tab);
    }
    let revision = app.form.token_revision;
    update(&mut app, Msg::Paste("ghp_pasted0123456789\n".into()));
    assert_eq!(app.form.token.len(), "ghp_pasted0123456789".len());
    assert!(app.form.token_revision > revision);
    assert_eq!(app.form.focus, Entry::GithubToken);

    // A secret asked by the check: the paste is typed in, Enter answers.
    let mut app = configure(named("demo"));
    update(
        &mut app,
        Msg::Prompt(PromptRequest::Secret {
            prompt: "GitHub token".into(),
        }),
    );
    let transition = update(&mut app, Msg::Paste("ghp_prompted987\r\n".into()));
    assert!(transition.effects.is_empty());
    let transition = press(&mut app, KeyCode::Enter);
    let answer = transition.effects.iter().find_map(|e| match e {
        Effect::AnswerPrompt(PromptAnswer::Secret(Some(secret))) => {
            Some(secret.expose_secret().to_string())
        }
        _ => None,
    });
    assert_eq!(answer.as_deref(), Some("ghp_prompted987"));
}

// ---------------------------------------------------------------------------------------
// Quitting

#[test]
fn quitting_before_the_run_needs_no_confirmation() {
    let mut app = app(named("demo"), SMALL);
    let transition = press(&mut app, KeyCode::Char('q'));
    assert_eq!(exit_code(&transition), Some(ExitCode::Cancelled));
}

#[test]
fn quitting_a_running_bootstrap_asks_first_and_then_cancels_the_run() {
    let mut app = dashboard(named("demo"));
    let transition = press(&mut app, KeyCode::Char('q'));
    assert!(matches!(app.overlay, Some(Overlay::QuitConfirm)));
    assert_eq!(exit_code(&transition), None);
    assert!(screen(&app).contains("Stop the bootstrap?"));

    press(&mut app, KeyCode::Char('n'));
    assert!(app.overlay.is_none());
    assert!(app.run.is_running());

    ctrl(&mut app, 'c');
    assert!(matches!(app.overlay, Some(Overlay::QuitConfirm)));
    let transition = press(&mut app, KeyCode::Char('y'));
    assert!(has(&transition, |e| matches!(e, Effect::CancelRun)));
    assert_eq!(
        exit_code(&transition),
        None,
        "left before the engine stopped"
    );
    assert!(app.cancel_requested);

    // The engine stops the step and reports; rollback is offered; the exit code is 7.
    let transition = update(
        &mut app,
        Msg::Engine(run_failed(
            20,
            StepId::ClusterCreate,
            "cancelled by the user",
            "run again to resume",
            ExitCode::Cancelled,
        )),
    );
    assert_eq!(app.screen, Screen::Failure);
    assert!(
        transition.effects.is_empty(),
        "the session decides, not the wizard"
    );
    update(
        &mut app,
        Msg::Rollback(RollbackNotice::Asking(
            vec!["Resource group demo-rg".into()],
        )),
    );
    let transition = press(&mut app, KeyCode::Char('n'));
    assert!(has(&transition, |e| matches!(
        e,
        Effect::AnswerRollback(false)
    )));
    let transition = press(&mut app, KeyCode::Enter);
    assert_eq!(exit_code(&transition), Some(ExitCode::Cancelled));
}

#[test]
fn ctrl_c_again_in_the_stop_dialog_stops_and_once_more_while_stopping_leaves_at_once() {
    let mut app = dashboard(named("demo"));
    ctrl(&mut app, 'c');
    assert!(matches!(app.overlay, Some(Overlay::QuitConfirm)));
    assert!(screen(&app).contains("Ctrl+C again stops"));
    let transition = ctrl(&mut app, 'c');
    assert!(app.overlay.is_none());
    assert!(has(&transition, |e| matches!(e, Effect::CancelRun)));
    assert_eq!(
        exit_code(&transition),
        None,
        "the engine saves the state first"
    );
    assert!(app.cancel_requested);
    assert!(app.run.is_running(), "still stopping");
    // The engine is slow to stop: a third Ctrl+C leaves at once, exit code 7.
    let transition = ctrl(&mut app, 'c');
    assert!(app.overlay.is_none(), "no second dialog");
    assert_eq!(exit_code(&transition), Some(ExitCode::Cancelled));
}
#[test]
fn the_summary_exits_with_success() {
    let mut app = dashboard(named("demo"));
    update(&mut app, Msg::Engine(run_finished(100)));
    assert_eq!(app.screen, Screen::Summary);
    let transition = press(&mut app, KeyCode::Char('q'));
    assert_eq!(exit_code(&transition), Some(ExitCode::Success));
}

#[test]
fn the_summary_after_skip_install_says_kalypso_was_not_installed() {
    let mut flags = named("demo");
    flags.installation.skip_install = Some(true);
    let mut app = dashboard(flags);
    update(&mut app, Msg::Engine(run_finished(100)));
    assert_eq!(app.screen, Screen::Summary);
    let shown = screen(&app);
    assert!(
        shown.contains("Kalypso not installed (--skip-install)."),
        "{shown}"
    );
    assert!(
        !shown.contains("The Kalypso Scheduler is set up."),
        "{shown}"
    );
    let mut installed = dashboard(named("demo"));
    update(&mut installed, Msg::Engine(run_finished(100)));
    assert!(screen(&installed).contains("The Kalypso Scheduler is set up."));
}

#[test]
fn an_engine_that_stops_without_a_result_is_a_failure_not_a_success() {
    let mut app = dashboard(named("demo"));
    update(&mut app, Msg::EngineClosed);
    assert_eq!(app.screen, Screen::Failure);
    let transition = press(&mut app, KeyCode::Enter);
    assert_eq!(exit_code(&transition), Some(ExitCode::General));
}

#[test]
fn the_failure_and_summary_screens_show_the_run_report() {
    let (app, _) = failed(named("demo"));
    assert_eq!(app.screen, Screen::Failure);
    let text = screen(&app);
    assert!(text.contains("Report:"), "{text}");
    assert!(text.contains(REPORT_FILE), "{text}");

    let mut app = dashboard(named("demo"));
    update(&mut app, Msg::Engine(run_finished(40)));
    let text = screen(&app);
    assert!(text.contains("Report"), "{text}");
    assert!(text.contains(REPORT_FILE), "{text}");
}

// ---------------------------------------------------------------------------------------
// Rollback

#[test]
fn a_failure_asks_about_exactly_the_listed_resources_and_yes_rolls_back() {
    let (mut app, transition) = failed(named("demo"));
    assert_eq!(app.screen, Screen::Failure);
    assert!(
        transition.effects.is_empty(),
        "the session decides, not the wizard"
    );
    assert_eq!(app.run.rollback(), &RollbackState::LookingUp);
    assert!(
        !screen(&app).contains("Roll back?"),
        "asked only when the session asks"
    );
    let resources = vec![
        "GitHub repository acme/demo-control-plane".to_string(),
        "Resource group demo-rg".to_string(),
    ];
    update(
        &mut app,
        Msg::Rollback(RollbackNotice::Asking(resources.clone())),
    );
    assert_eq!(
        app.run.rollback(),
        &RollbackState::Asking(resources.clone())
    );
    let text = screen(&app);
    for resource in &resources {
        assert!(text.contains(resource.as_str()), "{text}");
    }
    // Unrelated keys do not answer.
    let transition = press(&mut app, KeyCode::Char('x'));
    assert!(transition.effects.is_empty());

    let transition = press(&mut app, KeyCode::Char('y'));
    assert!(has(&transition, |e| matches!(
        e,
        Effect::AnswerRollback(true)
    )));
    assert_eq!(app.run.rollback(), &RollbackState::Requested);
    // Quitting mid-rollback asks first.
    press(&mut app, KeyCode::Char('q'));
    assert!(matches!(app.overlay, Some(Overlay::QuitConfirm)));
    press(&mut app, KeyCode::Esc);

    update(
        &mut app,
        Msg::Engine(event(
            31,
            EventKind::RollbackStarted {
                resources: resources.clone(),
            },
        )),
    );
    for resource in &resources {
        update(
            &mut app,
            Msg::Engine(event(
                32,
                EventKind::RollbackAction {
                    resource: resource.clone(),
                    outcome: Outcome::Succeeded,
                    message: "deleted".into(),
                    duration_ms: 10,
                },
            )),
        );
    }
    update(
        &mut app,
        Msg::Engine(event(
            33,
            EventKind::RollbackFinished {
                outcome: Outcome::Succeeded,
                message: "all removed".into(),
                leftovers: vec![],
            },
        )),
    );
    assert!(matches!(app.run.rollback(), RollbackState::Finished { .. }));
    let transition = press(&mut app, KeyCode::Enter);
    assert_eq!(exit_code(&transition), Some(ExitCode::ClusterFailed));
}

#[test]
fn no_keeps_everything_and_leaving_while_asked_answers_no() {
    let (mut app, _) = failed(named("demo"));
    update(
        &mut app,
        Msg::Rollback(RollbackNotice::Asking(
            vec!["Resource group demo-rg".into()],
        )),
    );
    let transition = press(&mut app, KeyCode::Char('n'));
    assert!(has(&transition, |e| matches!(
        e,
        Effect::AnswerRollback(false)
    )));
    assert_eq!(app.run.rollback(), &RollbackState::Declined);
    assert!(screen(&app).contains("Nothing was removed"));

    let (mut app, _) = failed(named("demo"));
    update(
        &mut app,
        Msg::Rollback(RollbackNotice::Asking(
            vec!["Resource group demo-rg".into()],
        )),
    );
    let transition = press(&mut app, KeyCode::Char('q'));
    assert!(has(&transition, |e| matches!(
        e,
        Effect::AnswerRollback(false)
    )));
    assert_eq!(exit_code(&transition), Some(ExitCode::ClusterFailed));
}

#[test]
fn nothing_to_remove_or_an_engine_gone_asks_nothing() {
    let (mut app, _) = failed(named("demo"));
    let transition = update(&mut app, Msg::Rollback(RollbackNotice::NothingToRemove));
    assert_eq!(app.run.rollback(), &RollbackState::NothingToRemove);
    assert!(!has(&transition, |e| matches!(
        e,
        Effect::AnswerRollback(_)
    )));

    // The engine stops before the session decides: nothing is asked, "y" answers nothing.
    let (mut app, _) = failed(named("demo"));
    update(&mut app, Msg::EngineClosed);
    assert!(
        matches!(app.run.rollback(), RollbackState::Unavailable(m) if m.contains("before deciding"))
    );
    let transition = press(&mut app, KeyCode::Char('y'));
    assert!(!has(&transition, |e| matches!(
        e,
        Effect::AnswerRollback(true)
    )));
}

/// Under `--auto-rollback` the session rolls back without asking: the wizard asks nothing
/// and shows the rollback's events as they come.
#[test]
fn auto_rollback_does_not_ask() {
    let mut flags = named("demo");
    flags.options.auto_rollback = Some(true);
    let (mut app, transition) = failed(flags);
    assert!(transition.effects.is_empty(), "{:?}", transition.effects);
    assert_eq!(app.run.rollback(), &RollbackState::LookingUp);
    assert!(!screen(&app).contains("Roll back?"));
    // The session may be rolling back already: leaving asks first.
    press(&mut app, KeyCode::Char('q'));
    assert!(matches!(app.overlay, Some(Overlay::QuitConfirm)));
    press(&mut app, KeyCode::Esc);
    update(
        &mut app,
        Msg::Engine(event(
            31,
            EventKind::RollbackStarted {
                resources: vec!["Resource group demo-rg".into()],
            },
        )),
    );
    assert!(app.run.rollback().in_progress(), "{:?}", app.run.rollback());
}

/// `--non-interactive` never asks, in the wizard too: a failure keeps everything, says so
/// with the exact clean command, and any key but Enter/Esc/q changes nothing.
#[test]
fn non_interactive_never_asks_to_roll_back_and_names_the_clean_command() {
    let mut flags = named("demo");
    flags.options.non_interactive = Some(true);
    let mut inputs = inputs(flags);
    inputs.clean_command =
        Some("kalypso-bootstrap --clean --state-file /home/u/.kalypso/state.json".to_string());
    let (mut app, _) = app_with(inputs, LARGE);
    for update_ in passing_checks() {
        update(&mut app, Msg::Prereq(update_));
    }
    assert_eq!(app.screen, Screen::Dashboard);
    let transition = update(
        &mut app,
        Msg::Engine(run_failed(
            30,
            StepId::ClusterCreate,
            "quota exceeded",
            "ask for more",
            ExitCode::ClusterFailed,
        )),
    );
    assert!(transition.effects.is_empty(), "{:?}", transition.effects);
    // The session asks nothing and says so.
    update(&mut app, Msg::Rollback(RollbackNotice::Kept));
    assert_eq!(app.run.rollback(), &RollbackState::Kept);
    let shown = screen(&app);
    assert!(!shown.contains("Roll back?"), "{shown}");
    assert!(
        shown.contains("Nothing was rolled back (--non-interactive without --auto-rollback)")
            && shown.contains("kalypso-bootstrap --clean --state-file /home/u/.kalypso/state.json"),
        "{shown}"
    );
    let transition = press(&mut app, KeyCode::Char('y'));
    assert!(!has(&transition, |e| matches!(
        e,
        Effect::AnswerRollback(_)
    )));
    assert_eq!(app.run.rollback(), &RollbackState::Kept);
    let transition = press(&mut app, KeyCode::Enter);
    assert_eq!(exit_code(&transition), Some(ExitCode::ClusterFailed));
}

/// Where no command can clean (a demo without `--state-file`), the failure screen says the
/// reason its caller worded, never its own.
#[test]
fn kept_resources_without_a_clean_command_show_the_reason_the_front_end_gave() {
    let reason = "WORLD-THROWN-AWAY-42";
    let mut flags = named("demo");
    flags.options.non_interactive = Some(true);
    let mut inputs = inputs(flags);
    inputs.demo = true;
    inputs.nothing_to_clean = Some(reason.to_string());
    let (mut app, _) = app_with(inputs, LARGE);
    for update_ in passing_checks() {
        update(&mut app, Msg::Prereq(update_));
    }
    update(
        &mut app,
        Msg::Engine(run_failed(
            30,
            StepId::ClusterCreate,
            "quota exceeded",
            "ask for more",
            ExitCode::ClusterFailed,
        )),
    );
    update(&mut app, Msg::Rollback(RollbackNotice::Kept));
    assert_eq!(app.screen, Screen::Failure);
    let shown = screen(&app);
    assert!(shown.contains(&format!("{reason}.")), "{shown}");
    assert!(!shown.contains("its own simulated world"), "{shown}");
}

// ---------------------------------------------------------------------------------------
// Log tail

fn with_logs(count: usize) -> App {
    let mut app = dashboard(named("demo"));
    for i in 0..count {
        let level = if i % 10 == 0 {
            LogLevel::Warn
        } else {
            LogLevel::Info
        };
        update(&mut app, Msg::Engine(log(2, level, &format!("line {i}"))));
    }
    app
}

#[test]
fn log_scrolling_paging_and_follow() {
    let mut app = with_logs(100);
    assert!(app.logs.following());
    assert!(screen(&app).contains("line 99"));
    press(&mut app, KeyCode::Char('k'));
    assert_eq!(app.logs.offset(), 1);
    assert!(!app.logs.following());
    assert!(!screen(&app).contains("line 99"));
    // New lines do not move a scrolled view.
    update(&mut app, Msg::Engine(log(3, LogLevel::Info, "line 100")));
    assert!(!screen(&app).contains("line 100"));
    let page = app.log_page();
    assert!(page > 1);
    press(&mut app, KeyCode::PageUp);
    assert_eq!(app.logs.offset(), 2 + page);
    press(&mut app, KeyCode::PageDown);
    assert_eq!(app.logs.offset(), 2);
    press(&mut app, KeyCode::Char('j'));
    press(&mut app, KeyCode::Char('j'));
    assert!(app.logs.following(), "the bottom resumes following");
    press(&mut app, KeyCode::Char('g'));
    assert!(screen(&app).contains("line 0"));
    press(&mut app, KeyCode::End);
    assert!(app.logs.following());
    assert!(screen(&app).contains("line 100"));
    press(&mut app, KeyCode::Char('f'));
    assert!(!app.logs.following());
    assert!(screen(&app).contains("paused"));
}

#[test]
fn tab_gives_the_steps_the_keys_and_enter_shows_a_steps_whole_text() {
    let mut app = dashboard(named("demo"));
    assert_eq!(
        app.dashboard_focus,
        DashboardPane::Log,
        "the log has the keys first"
    );
    let long = "waiting for provisioningState Succeeded (az aks show reports Creating) \
                after the node pool finished its upgrade of three nodes in eastus, tail-word";
    update(
        &mut app,
        Msg::Engine(CLOCK.progress(2, StepId::ClusterCreate, Some("Creating"), long)),
    );
    // Without the checks, Tab goes Steps → Log.
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.dashboard_focus, DashboardPane::Steps);
    assert!(screen(&app).contains("▸ Steps"), "{}", screen(&app));
    // The running step is selected first; Enter opens its whole message, wrapped.
    let running = app
        .run
        .steps
        .iter()
        .position(|row| row.id == StepId::ClusterCreate)
        .unwrap();
    assert_eq!(app.steps_cursor, Some(running));
    assert!(!screen(&app).contains("tail-word"), "cut on the dashboard");
    press(&mut app, KeyCode::Enter);
    assert!(matches!(app.overlay, Some(Overlay::Detail { .. })));
    let text = screen(&app);
    assert!(
        text.contains("tail-word") && text.contains("cluster.create"),
        "{text}"
    );
    press(&mut app, KeyCode::Esc);
    assert!(app.overlay.is_none());
    // j selects the next step; the log does not move.
    let offset = app.logs.offset();
    press(&mut app, KeyCode::Char('j'));
    assert_eq!(app.steps_cursor, Some(running + 1));
    assert_eq!(app.logs.offset(), offset);
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.dashboard_focus, DashboardPane::Log);
}

#[test]
fn enter_on_the_log_opens_the_newest_line_shown_whole() {
    let mut app = dashboard(named("demo"));
    let long = format!("{} the-end", "a long log line ".repeat(12));
    update(&mut app, Msg::Engine(log(2, LogLevel::Warn, &long)));
    assert!(!screen(&app).contains("the-end"), "cut in the pane");
    press(&mut app, KeyCode::Enter);
    let text = screen(&app);
    assert!(text.contains("the-end") && text.contains("Warn"), "{text}");
}

#[test]
fn the_health_pane_takes_the_focus_only_once_the_checks_are_shown() {
    let mut app = dashboard(named("demo"));
    // The panel (not the step of that name) is not drawn: its room goes to the log.
    assert!(
        !screen(&app).contains("╭ Health checks"),
        "{}",
        screen(&app)
    );
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.dashboard_focus, DashboardPane::Log);
    update(
        &mut app,
        Msg::Engine(event(
            3,
            EventKind::HealthCheck {
                check: "pull-request".into(),
                status: kalypso_bootstrap::engine::events::HealthStatus::Failing,
                message: "no open pull request against dev from a deployment/ branch yet".into(),
            },
        )),
    );
    assert!(screen(&app).contains("╭ Health checks"));
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.dashboard_focus, DashboardPane::Health);
    press(&mut app, KeyCode::Enter);
    let text = screen(&app);
    assert!(text.contains("failing: no open pull request"), "{text}");
}

#[test]
fn the_level_filter_cycles_and_hides_lower_levels() {
    let mut app = with_logs(30);
    assert_eq!(
        app.logs.filter(),
        LevelFilter::InfoAndAbove,
        "the console's default"
    );
    press(&mut app, KeyCode::Char('l'));
    assert_eq!(app.logs.filter(), LevelFilter::WarnAndAbove);
    let text = screen(&app);
    assert!(
        text.contains("line 20") && !text.contains("line 21"),
        "{text}"
    );
    assert!(text.contains("warn+"), "{text}");
}

#[test]
fn a_filter_that_hides_every_line_says_so_instead_of_no_lines_yet() {
    let mut app = dashboard(named("demo"));
    for i in 0..3 {
        update(
            &mut app,
            Msg::Engine(log(2, LogLevel::Info, &format!("line {i}"))),
        );
    }
    press(&mut app, KeyCode::Char('l'));
    assert_eq!(app.logs.filter(), LevelFilter::WarnAndAbove);
    let text = screen(&app);
    assert!(!text.contains("no log lines yet"), "{text}");
    assert!(text.contains("nothing at warn+ yet"), "{text}");
}

#[test]
fn the_tail_starts_at_the_console_verbosity() {
    let mut verbose = named("demo");
    verbose.options.verbose = Some(true);
    assert_eq!(app(verbose, SMALL).logs.filter(), LevelFilter::All);
    let mut quiet = named("demo");
    quiet.options.quiet = Some(true);
    assert_eq!(app(quiet, SMALL).logs.filter(), LevelFilter::ErrorOnly);
    let mut app = dashboard(named("demo"));
    update(
        &mut app,
        Msg::Engine(log(2, LogLevel::Debug, "debug detail")),
    );
    update(&mut app, Msg::Engine(log(2, LogLevel::Info, "info line")));
    let text = screen(&app);
    assert!(
        text.contains("info line") && !text.contains("debug detail"),
        "{text}"
    );
}

#[test]
fn tap_records_join_the_tail_which_stays_bounded() {
    let mut inputs = inputs(named("demo"));
    inputs.log_capacity = 50;
    let (mut app, _) = app_with(inputs, SMALL);
    let record = |i: usize| LogRecord {
        level: tracing::Level::INFO,
        timestamp: at(1),
        message: format!("tap {i}"),
    };
    // Off the dashboard, a record changes nothing visible.
    let transition = update(&mut app, Msg::Log(record(0)));
    assert!(!transition.redraw);
    for i in 1..200 {
        update(&mut app, Msg::Log(record(i)));
    }
    assert_eq!(app.logs.len(), 50);
    assert_eq!(app.logs.dropped(), 150);
    assert_eq!(app.logs.visible(1)[0].text, "tap 199");
}

// ---------------------------------------------------------------------------------------
// Ticks, overlays, prompts

#[test]
fn ticks_redraw_only_while_something_animates() {
    let mut app = app(named("demo"), SMALL);
    assert!(!app.animating());
    assert!(!update(&mut app, Msg::Tick(at(1))).redraw);
    let mut app = dashboard(named("demo"));
    assert!(app.animating());
    assert!(update(&mut app, Msg::Tick(at(1))).redraw);
    update(&mut app, Msg::Engine(run_finished(2)));
    assert!(!app.animating());
    assert!(!update(&mut app, Msg::Tick(at(3))).redraw);
}

#[test]
fn key_releases_are_ignored() {
    let mut app = app(named("demo"), SMALL);
    let mut release = key(KeyCode::Char('q'));
    release.kind = crossterm::event::KeyEventKind::Release;
    let transition = update(&mut app, Msg::Key(release));
    assert!(transition.effects.is_empty());
}

#[test]
fn a_question_from_the_check_is_answered_on_screen() {
    let mut app = configure(named("demo"));
    for _ in 0..4 {
        press(&mut app, KeyCode::PageDown);
    }
    update(
        &mut app,
        Msg::Prompt(PromptRequest::Confirm {
            question: "Run `az login` now?".into(),
            default: true,
        }),
    );
    assert!(screen(&app).contains("Run `az login` now?"));
    // While asked, q is an answer key area: it neither quits nor answers.
    let transition = press(&mut app, KeyCode::Char('q'));
    assert!(transition.effects.is_empty());
    let transition = press(&mut app, KeyCode::Enter);
    assert!(has(&transition, |e| matches!(
        e,
        Effect::AnswerPrompt(PromptAnswer::Confirm(true))
    )));
    assert!(app.overlay.is_none());

    update(
        &mut app,
        Msg::Prompt(PromptRequest::Secret {
            prompt: "GitHub token".into(),
        }),
    );
    type_text(&mut app, "ghp_promptSecret98765");
    let text = screen(&app);
    assert!(!text.contains("ghp_promptSecret98765"), "{text}");
    assert!(text.contains(&"•".repeat(21)), "{text}");
    let transition = press(&mut app, KeyCode::Enter);
    let secret = transition
        .effects
        .iter()
        .find_map(|e| match e {
            Effect::AnswerPrompt(PromptAnswer::Secret(secret)) => secret.clone(),
            _ => None,
        })
        .expect("secret answered");
    assert_eq!(secret.expose_secret(), "ghp_promptSecret98765");
    assert_eq!(
        kalypso_bootstrap::secrets::redact("x ghp_promptSecret98765"),
        "x ***"
    );

    update(
        &mut app,
        Msg::Prompt(PromptRequest::Confirm {
            question: "again?".into(),
            default: false,
        }),
    );
    let transition = press(&mut app, KeyCode::Esc);
    assert!(has(&transition, |e| matches!(
        e,
        Effect::AnswerPrompt(PromptAnswer::Cancelled)
    )));
}

#[test]
fn the_plan_can_be_declined_and_the_forms_come_back_without_a_second_check() {
    let mut app = configure(named("demo"));
    for _ in 0..4 {
        press(&mut app, KeyCode::PageDown);
    }
    for update_ in passing_checks() {
        update(&mut app, Msg::Prereq(update_));
    }
    let transition = press(&mut app, KeyCode::Enter);
    assert!(has(&transition, |e| matches!(e, Effect::ComputePlan(_))));
    assert_eq!(app.plan, PlanState::Computing);
    let overview = new_installation_plan(&app);
    update(&mut app, Msg::Plan(Ok(overview)));
    let transition = press(&mut app, KeyCode::Enter); // default is No
    assert!(!has(&transition, |e| matches!(e, Effect::StartRun(_))));
    assert_eq!(app.screen, Screen::Configure);
    let mut last = Transition::default();
    for _ in 0..4 {
        last = press(&mut app, KeyCode::PageDown);
    }
    assert!(
        has(&last, |e| matches!(e, Effect::ComputePlan(_))),
        "{last:?}"
    );
    assert!(!has(&last, |e| matches!(
        e,
        Effect::StartPrerequisites { .. }
    )));
    assert_eq!(app.screen, Screen::Plan);
}

#[test]
fn a_run_that_cannot_start_is_reported_on_the_plan_screen() {
    let mut app = dashboard(named("demo"));
    update(
        &mut app,
        Msg::RunLaunched(Err(UserError::new(
            ExitCode::General,
            "the state file is locked by PID 4242",
        ))),
    );
    assert_eq!(app.screen, Screen::Plan);
    assert!(screen(&app).contains("locked by PID 4242"));
    let transition = press(&mut app, KeyCode::Enter);
    assert_eq!(exit_code(&transition), Some(ExitCode::General));
}

#[test]
fn a_too_small_terminal_ignores_keys_except_quit() {
    let mut app = app(named("demo"), (60, 20));
    assert!(app.too_small());
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.screen, Screen::Welcome);
    assert!(screen(&app).contains("Terminal too small"));
    update(
        &mut app,
        Msg::Resize {
            width: 100,
            height: 30,
        },
    );
    assert!(!screen(&app).contains("Terminal too small"));
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.screen, Screen::Configure);
}

// ---------------------------------------------------------------------------------------
// Monochrome and secrets

#[test]
fn monochrome_uses_no_colour_and_still_marks_failures_by_symbol_and_bold() {
    let mut inputs = inputs(named("demo"));
    inputs.no_color = true;
    let (mut app, _) = app_with(inputs, SMALL);
    press(&mut app, KeyCode::Enter);
    for _ in 0..4 {
        press(&mut app, KeyCode::PageDown);
    }
    for update_ in passing_checks() {
        update(&mut app, Msg::Prereq(update_));
    }
    press(&mut app, KeyCode::Enter);
    let overview = new_installation_plan(&app);
    update(&mut app, Msg::Plan(Ok(overview)));
    press(&mut app, KeyCode::Char('y'));
    update(
        &mut app,
        Msg::Engine(event(
            0,
            EventKind::RunStarted {
                demo: false,
                steps: all_steps(Action::Create),
            },
        )),
    );
    update(&mut app, Msg::Engine(started(1, StepId::ClusterPreflight)));
    update(
        &mut app,
        Msg::Engine(finished(2, StepId::ClusterPreflight, Outcome::Failed, 900)),
    );
    let buffer = buffer(&app, SMALL);
    for cell in buffer.content() {
        assert!(
            matches!(cell.fg, Color::Reset) && matches!(cell.bg, Color::Reset),
            "coloured cell {cell:?}"
        );
    }
    // The failed step's symbol is ✗ and bold.
    let area = buffer.area;
    let cell = (0..area.height)
        .flat_map(|y| (0..area.width).map(move |x| (x, y)))
        .map(|(x, y)| &buffer[(x, y)])
        .find(|c| c.symbol() == "✗")
        .expect("a failure mark");
    assert!(cell.modifier.contains(Modifier::BOLD));
}

#[test]
fn colour_mode_does_use_colour() {
    let app = dashboard(named("demo"));
    let buffer = buffer(&app, SMALL);
    assert!(buffer.content().iter().any(|c| c.fg != Color::Reset));
}

#[test]
fn a_typed_token_never_reaches_the_screen_or_debug_output() {
    let mut app = configure(named("demo"));
    press(&mut app, KeyCode::PageDown);
    while app.form.focus != Entry::GithubToken {
        press(&mut app, KeyCode::Tab);
    }
    type_text(&mut app, "ghp_neverShown4567890");
    for size in [SMALL, LARGE] {
        let text = buffer_text(&buffer(&app, size));
        assert!(!text.contains("ghp_neverShown4567890"), "{text}");
        assert!(text.contains(&"•".repeat(21)));
    }
    assert!(!format!("{app:?}").contains("ghp_neverShown"));
    // Ctrl+U clears it.
    ctrl(&mut app, 'u');
    assert!(app.form.token.is_empty());
}

#[test]
fn the_demo_flag_labels_every_screen() {
    let mut inputs = inputs(named("demo"));
    inputs.demo = true;
    let (app, _) = app_with(inputs, SMALL);
    assert!(screen(&app).lines().next().unwrap().contains("DEMO"));
}

// ---------------------------------------------------------------------------------------
// Form coverage and prefill

#[test]
fn every_configuration_field_is_in_exactly_one_form_group() {
    for field in Field::ALL {
        let groups: Vec<Group> = Group::ALL
            .into_iter()
            .filter(|group| group_entries(*group).contains(&Entry::Config(*field)))
            .collect();
        assert_eq!(groups.len(), 1, "{field:?} is in the groups {groups:?}");
    }
    let rows: usize = Group::ALL.iter().map(|g| group_entries(*g).len()).sum();
    assert_eq!(
        rows,
        Field::ALL.len() + 1,
        "besides the fields, only the GitHub token has a row"
    );
}

#[test]
fn the_forms_are_prefilled_from_the_environment_and_the_config_file_naming_each_source() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("kalypso.yaml");
    std::fs::write(&file, "cluster:\n  nodeCount: 5\n").expect("config file");
    let env = std::collections::HashMap::from([(
        Field::ClusterRegion.env_var().to_string(),
        "westeurope".to_string(),
    )]);
    let parsed = kalypso_bootstrap::config::lifecycle::Uninitialized::new()
        .parse(named("demo"), Some(&file), &env)
        .expect("the layers parse");
    let mut inputs = inputs(named("demo"));
    inputs.parsed = parsed;
    let (mut app, _) = app_with(inputs, LARGE);
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Tab); // cluster name
    press(&mut app, KeyCode::Tab); // region
    assert_eq!(app.form.focus, Entry::Config(Field::ClusterRegion));
    assert_eq!(app.form.text(Field::ClusterRegion), "westeurope");
    let region = screen(&app);
    let env_source = format!("from env {}", Field::ClusterRegion.env_var());
    assert!(region.contains(&env_source), "{region}");
    press(&mut app, KeyCode::Tab); // resource group
    press(&mut app, KeyCode::Tab); // node count
    assert_eq!(app.form.focus, Entry::Config(Field::ClusterNodeCount));
    assert_eq!(app.form.text(Field::ClusterNodeCount), "5");
    let nodes = screen(&app);
    let file_source = format!("from config file {}", file.display());
    assert!(nodes.contains(&file_source), "{nodes}");
}

#[test]
fn a_token_in_the_environment_is_not_asked_for_and_the_plan_says_where_it_comes_from() {
    let mut inputs = inputs(named("demo"));
    inputs.github_token_in_env = true;
    let (mut app, _) = app_with(inputs, LARGE);
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::PageDown);
    assert_eq!(app.form.group, Group::Repositories);
    assert!(
        !app.form
            .visible_entries(Group::Repositories)
            .contains(&Entry::GithubToken),
        "no token row"
    );
    let repositories = screen(&app);
    assert!(!repositories.contains("GitHub token"), "{repositories}");
    press(&mut app, KeyCode::PageDown);
    press(&mut app, KeyCode::PageDown);
    let transition = press(&mut app, KeyCode::PageDown);
    assert!(
        has(&transition, |e| matches!(
            e,
            Effect::StartPrerequisites {
                github_token: None,
                ..
            }
        )),
        "the check gets no typed token"
    );
    for update_ in passing_checks() {
        update(&mut app, Msg::Prereq(update_));
    }
    press(&mut app, KeyCode::Enter);
    let overview = new_installation_plan(&app);
    update(&mut app, Msg::Plan(Ok(overview)));
    let plan = screen(&app);
    assert!(plan.contains("GitHub token from the environment"), "{plan}");
}

// ---------------------------------------------------------------------------------------
// Mouse, verbosity, and transitions that change nothing

fn wheel(app: &mut App, kind: MouseEventKind) -> Transition {
    update(
        app,
        Msg::Mouse(MouseEvent {
            kind,
            column: 10,
            row: 10,
            modifiers: KeyModifiers::NONE,
        }),
    )
}

#[test]
fn the_mouse_wheel_scrolls_the_dashboard_log_and_nothing_elsewhere() {
    let mut app = with_logs(100);
    assert!(wheel(&mut app, MouseEventKind::ScrollUp).redraw);
    assert_eq!(app.logs.offset(), 3);
    assert!(!app.logs.following());
    assert!(wheel(&mut app, MouseEventKind::ScrollDown).redraw);
    assert!(app.logs.following(), "back at the bottom");
    assert!(
        !wheel(&mut app, MouseEventKind::ScrollDown).redraw,
        "already at the bottom: nothing to redraw"
    );

    let mut app = configure(named("demo"));
    let focus = app.form.focus;
    for kind in [MouseEventKind::ScrollUp, MouseEventKind::ScrollDown] {
        let transition = wheel(&mut app, kind);
        assert!(!transition.redraw && transition.effects.is_empty());
    }
    assert_eq!(app.form.focus, focus);
    assert_eq!(app.logs.offset(), 0);
}

#[test]
fn verbose_or_quiet_chosen_in_the_form_sets_the_log_filter() {
    let mut app = configure(named("demo"));
    assert_eq!(app.logs.filter(), LevelFilter::InfoAndAbove);
    for _ in 0..3 {
        press(&mut app, KeyCode::PageDown);
    }
    assert_eq!(app.form.group, Group::Options);
    while app.form.focus != Entry::Config(Field::Verbose) {
        press(&mut app, KeyCode::Tab);
    }
    press(&mut app, KeyCode::Char(' '));
    assert_eq!(app.logs.filter(), LevelFilter::All);
    press(&mut app, KeyCode::Char(' '));
    assert_eq!(app.logs.filter(), LevelFilter::InfoAndAbove);
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.form.focus, Entry::Config(Field::Quiet));
    press(&mut app, KeyCode::Char(' '));
    assert_eq!(app.logs.filter(), LevelFilter::ErrorOnly);
}

#[test]
fn transitions_that_change_nothing_ask_for_no_redraw() {
    let mut app = app(named("demo"), SMALL);
    assert!(!press(&mut app, KeyCode::Up).redraw, "Up at the top");
    assert!(press(&mut app, KeyCode::Down).redraw);
    assert!(press(&mut app, KeyCode::Up).redraw);
    let (width, height) = app.size;
    assert!(!update(&mut app, Msg::Resize { width, height }).redraw);
    assert!(update(&mut app, Msg::Resize { width: 100, height }).redraw);

    let mut app = with_logs(5);
    for code in [KeyCode::Char('x'), KeyCode::Char('z'), KeyCode::F(5)] {
        assert!(!press(&mut app, code).redraw, "{code:?} is not bound");
    }
    assert!(!press(&mut app, KeyCode::End).redraw, "already following");
    assert!(press(&mut app, KeyCode::Char('l')).redraw, "filter changed");
}

#[test]
fn an_empty_kubeconfig_is_named_on_the_kube_context_row() {
    let mut inputs = inputs(named("demo"));
    inputs.kube_contexts = Vec::new();
    inputs.kubeconfig_paths = vec!["/home/dev/.kube/config".into()];
    let (mut app, _) = app_with(inputs, SMALL);
    press(&mut app, KeyCode::Char('2')); // bring your own cluster
    press(&mut app, KeyCode::Enter);
    let text = screen(&app);
    assert!(
        text.contains("(no contexts in /home/dev/.kube/config)"),
        "{text}"
    );
    // With contexts, the row offers them instead.
    let (mut app, _) = app_with(crate::support::tui::inputs(named("demo")), SMALL);
    press(&mut app, KeyCode::Char('2'));
    press(&mut app, KeyCode::Enter);
    assert!(!screen(&app).contains("no contexts"));
}

// ---------------------------------------------------------------------------------------
// Text from outside on the screen (issue 12, item 7)

const HOSTILE: &str = "ctx\u{1b}]0;OWNED\u{7}\u{9b}2J\r\u{1b}[31mred";

/// No cell of the screen holds a control character: the terminal gets only what it shows.
fn assert_no_control_cells(app: &App, stage: &str) {
    for size in [SMALL, LARGE] {
        let buffer = buffer(app, size);
        let raw: Vec<&str> = buffer
            .content()
            .iter()
            .map(|cell| cell.symbol())
            .filter(|symbol| symbol.chars().any(char::is_control))
            .collect();
        assert!(raw.is_empty(), "{stage} {size:?}: {raw:?}");
    }
}

#[test]
fn context_names_log_lines_and_errors_with_controls_are_drawn_as_pictures() {
    // A kube context named by someone else's kubeconfig, picked from the list.
    let mut inputs = inputs(named("demo"));
    inputs.kube_contexts = vec![HOSTILE.to_string(), "kind-dev".to_string()];
    let (mut app, _) = app_with(inputs, SMALL);
    // "Bring your own cluster": the context row is shown.
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.screen, Screen::Configure);
    for _ in 0..group_entries(Group::Cluster).len() {
        if app.form.focus == Entry::Config(Field::ClusterExistingContext) {
            break;
        }
        press(&mut app, KeyCode::Tab);
    }
    assert_eq!(app.form.focus, Entry::Config(Field::ClusterExistingContext));
    press(&mut app, KeyCode::Char(' '));
    assert!(app.form.picker.is_some());
    assert_no_control_cells(&app, "context pick list");
    let shown = screen(&app);
    assert!(shown.contains("ctx␛]0;OWNED␇"), "{shown}");
    press(&mut app, KeyCode::Enter);
    assert_no_control_cells(&app, "context chosen");

    // A tool's output in the log tail and a failure message and hint.
    let mut app = dashboard(named("demo"));
    update(&mut app, Msg::Engine(log(2, LogLevel::Warn, HOSTILE)));
    update(
        &mut app,
        Msg::Log(LogRecord {
            level: tracing::Level::INFO,
            timestamp: at(3),
            message: HOSTILE.to_string(),
        }),
    );
    assert_no_control_cells(&app, "dashboard log");
    update(
        &mut app,
        Msg::Engine(run_failed(
            4,
            StepId::ClusterCreate,
            HOSTILE,
            HOSTILE,
            ExitCode::ClusterFailed,
        )),
    );
    assert_eq!(app.screen, Screen::Failure);
    assert_no_control_cells(&app, "failure screen");
    assert!(screen(&app).contains("OWNED"));
}

/// A run that fails on a configuration value (exit 3) offers `c` to change the
/// configuration once the rollback is settled: it goes back to the forms. Any other
/// failure does not (issue 15 §7).
#[test]
fn a_configuration_failure_offers_to_go_back_to_the_configuration() {
    for (exit, goes_back) in [
        (ExitCode::ConfigInvalid, true),
        (ExitCode::InstallationFailed, false),
    ] {
        let mut app = dashboard(named("demo"));
        update(
            &mut app,
            Msg::Engine(run_failed(
                5,
                StepId::ClusterPreflight,
                "VM size Standard_X9 is not offered in eastus",
                "pick another size",
                exit,
            )),
        );
        assert_eq!(app.screen, Screen::Failure);
        update(&mut app, Msg::Rollback(RollbackNotice::NothingToRemove));
        assert_eq!(
            screen(&app).contains("c change the configuration"),
            goes_back,
            "{exit:?}"
        );
        press(&mut app, KeyCode::Char('c'));
        let expected = if goes_back {
            Screen::Configure
        } else {
            Screen::Failure
        };
        assert_eq!(app.screen, expected, "{exit:?}");
    }
}

/// The failure screen names the exact command that resumes the run; a demo whose world
/// ends with it offers no resume at all (issue 15 §3).
#[test]
fn the_failure_screen_resumes_only_what_a_later_run_can_reach() {
    for (resume, nothing_to_clean, expected, absent) in [
        (
            kalypso_bootstrap::engine::Resume::Command(
                "kalypso-bootstrap --demo --state-file s.json".into(),
            ),
            None,
            "Run kalypso-bootstrap --demo --state-file s.json again",
            "no later run",
        ),
        (
            kalypso_bootstrap::engine::Resume::NotKept,
            Some("this demo changed only its simulated world".to_string()),
            "Nothing resumes or removes it",
            "to resume",
        ),
    ] {
        let mut app = dashboard(named("demo"));
        app.resume = resume;
        app.nothing_to_clean = nothing_to_clean;
        update(
            &mut app,
            Msg::Engine(run_failed(
                5,
                StepId::InstallKalypso,
                "helm failed",
                "see the log",
                ExitCode::InstallationFailed,
            )),
        );
        update(
            &mut app,
            Msg::Rollback(RollbackNotice::Asking(
                vec!["Resource group demo-rg".into()],
            )),
        );
        press(&mut app, KeyCode::Char('n'));
        update(
            &mut app,
            Msg::Resize {
                width: 200,
                height: 60,
            },
        );
        let shown = screen(&app);
        // The sentence as read, across the panel's wrapped lines.
        let flat = shown
            .replace(['│', '╭', '╮', '╰', '╯', '─'], " ")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        assert!(flat.contains(expected), "{expected}: {shown}");
        assert!(!flat.contains(absent), "{absent}: {shown}");
    }
}

/// The context pick list says "checking…" until the probe reports, then what each context
/// answered; a context the probe did not report gets no verdict.
#[test]
fn the_context_list_shows_checking_until_the_probe_reports() {
    use kalypso_bootstrap::prereq::{ContextProbe, Reachability};
    let mut inputs = inputs(named("demo"));
    inputs.kube_context_servers = [(
        "kind-dev".to_string(),
        "https://127.0.0.1:36443".to_string(),
    )]
    .into_iter()
    .collect();
    let (mut app, _) = app_with(inputs, LARGE);
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Char(' '));
    assert!(app.form.picker.is_some());
    let before = screen(&app);
    let kind_row = before.lines().find(|l| l.contains("kind-dev")).unwrap();
    assert!(
        kind_row.contains("https://127.0.0.1:36443") && kind_row.contains("checking…"),
        "{kind_row}"
    );
    let transition = update(
        &mut app,
        Msg::KubeContexts(vec![ContextProbe {
            context: "kind-dev".to_string(),
            reachability: Reachability::Unreachable {
                reason: "The connection to the server 127.0.0.1:36443 was refused - did you specify the right host or port?".to_string(),
            },
        }]),
    );
    assert!(transition.redraw, "the open list is drawn again");
    let after = screen(&app);
    let kind_row = after.lines().find(|l| l.contains("kind-dev")).unwrap();
    assert!(kind_row.contains("✗ unreachable"), "{kind_row}");
    assert!(
        after.contains("was refused"),
        "the selected context's reason:\n{after}"
    );
    let aks_row = after.lines().find(|l| l.contains("aks-prod")).unwrap();
    assert!(
        aks_row.contains("(no server)") && !aks_row.contains("checking"),
        "{aks_row}"
    );
}

/// Answers on an existing kube context involve no Azure: the check is asked to leave az out.
#[test]
fn an_existing_cluster_asks_for_a_check_without_azure() {
    let mut flags = named("demo");
    flags.cluster.create = Some(false);
    flags.cluster.existing_context = Some("kind-dev".to_string());
    flags.options.skip_confirmation = Some(true);
    let (app, transition) = app_with(inputs(flags), SMALL);
    assert_eq!(app.screen, Screen::Prerequisites);
    assert!(
        has(&transition, |e| matches!(
            e,
            Effect::StartPrerequisites {
                azure: AzureUse::NotNeeded,
                ..
            }
        )),
        "{transition:?}"
    );
}

/// A check that passed without Azure (an existing cluster) does not stand for a new AKS
/// cluster chosen afterwards: the forms done again start a check with Azure.
#[test]
fn switching_to_a_new_aks_cluster_after_a_check_without_azure_checks_again() {
    let mut flags = named("demo");
    flags.cluster.existing_context = Some("kind-dev".to_string());
    let mut app = configure(flags);
    assert_eq!(app.form.text(Field::ClusterExistingContext), "kind-dev");
    let mut last = Transition::default();
    for _ in 0..4 {
        last = press(&mut app, KeyCode::PageDown);
    }
    assert!(has(&last, |e| matches!(
        e,
        Effect::StartPrerequisites {
            azure: AzureUse::NotNeeded,
            ..
        }
    )));
    for update_ in passing_checks() {
        update(&mut app, Msg::Prereq(update_));
    }
    press(&mut app, KeyCode::Enter);
    let overview = new_installation_plan(&app);
    update(&mut app, Msg::Plan(Ok(overview)));
    press(&mut app, KeyCode::Enter); // No: back to the forms
    assert_eq!(app.screen, Screen::Configure);
    while app.form.group != Group::Cluster {
        press(&mut app, KeyCode::PageUp);
    }
    while app.form.focus != Entry::Config(Field::ClusterCreate) {
        shift_tab(&mut app);
    }
    press(&mut app, KeyCode::Right); // a new AKS cluster
    assert!(app.form.toggle(Field::ClusterCreate));
    let mut last = Transition::default();
    for _ in 0..4 {
        last = press(&mut app, KeyCode::PageDown);
    }
    assert!(
        has(&last, |e| matches!(
            e,
            Effect::StartPrerequisites {
                azure: AzureUse::Needed,
                ..
            }
        )),
        "{last:?}"
    );
}

/// The prerequisite check hears whether Flux's manifest would come from github.com: the
/// form's "Flux manifest" empty and the installation not skipped.
#[test]
fn the_check_is_told_when_flux_s_manifest_would_come_from_github_com() {
    let from_github_com = |flags: ConfigLayer| {
        let (_, transition) = app_with(inputs(flags), SMALL);
        transition
            .effects
            .iter()
            .find_map(|e| match e {
                Effect::StartPrerequisites {
                    flux_manifest_from_github_com,
                    ..
                } => Some(*flux_manifest_from_github_com),
                _ => None,
            })
            .expect("the check started")
    };
    let mut default = named("demo");
    default.options.skip_confirmation = Some(true);
    assert!(from_github_com(default.clone()));
    let mut mirror = default.clone();
    mirror.installation.flux_manifest = Some("https://mirror.example.test/install.yaml".into());
    assert!(!from_github_com(mirror));
    let mut skipped = default;
    skipped.installation.skip_install = Some(true);
    assert!(!from_github_com(skipped));
}
