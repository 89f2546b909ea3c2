//! Every screen of the wizard, drawn with ratatui's `TestBackend` at 80x24 and 160x48 and
//! compared with a reviewed snapshot: welcome, forms (with validation errors under their
//! fields, a pick list, a masked token), the prerequisite checklist (live and failed), the
//! plan, the dashboard (running, and with a failing health check), the failure screen
//! with the rollback question and its progress, the summary, the overlays (help, quit
//! confirmation, a question from the check) and the "terminal too small" notice; also the
//! Installation (with and without the Helm fields) and Options groups, a failed plan, a
//! cancelled run, a rollback with nothing to remove or no list, help on the first screens.
//!
//! What the screens show after the forms is the product's own: the prerequisite check,
//! the refused plan, and every run (its steps, checks, failures, rollbacks and summary)
//! come from real runs over the simulated world (the demo's, or for the failure in each
//! phase the end-to-end harness's), replayed on a fixed clock (`support::replay`), so that
//! a change in the product's wording shows in a snapshot.

use crate::support::replay::{
    demo_plan_refused, demo_prerequisites, demo_prerequisites_for, DemoRun, Replay,
};
use crate::support::tui::*;
use crossterm::event::KeyCode;
use kalypso_bootstrap::config::{ConfigLayer, Field};
use kalypso_bootstrap::engine::events::Event;
use kalypso_bootstrap::engine::events::{EventKind, HealthStatus};
use kalypso_bootstrap::engine::overview::EarlierRun;
use kalypso_bootstrap::engine::plan::ObservedRepo;
use kalypso_bootstrap::engine::step::StepId;
use kalypso_bootstrap::engine::Observed;
use kalypso_bootstrap::prereq::AuthCheckKind;
use kalypso_bootstrap::sim::{Fault, FaultKind};
use kalypso_bootstrap::state::Phase;
use kalypso_bootstrap::tui::form::{Entry, Group};
use kalypso_bootstrap::tui::{
    update, App, Msg, PrereqUpdate, PromptRequest, RollbackNotice, Screen,
};
use std::sync::OnceLock;

fn snapshot(name: &str, build: impl Fn((u16, u16)) -> App) {
    for size in [SMALL, LARGE] {
        let app = build(size);
        insta::assert_snapshot!(format!("{name}_{}x{}", size.0, size.1), screen(&app));
    }
}

fn tick(app: &mut App, seconds: i64) {
    update(app, Msg::Tick(at(seconds)));
}

fn engine(app: &mut App, event: kalypso_bootstrap::engine::events::Event) {
    update(app, Msg::Engine(event));
}

// ---------------------------------------------------------------------------------------
// Builders for each stage

fn configure(flags: ConfigLayer, size: (u16, u16)) -> App {
    let mut app = app(flags, size);
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.screen, Screen::Configure);
    app
}

/// Forms done with a named cluster, the checklist started.
fn checking(size: (u16, u16)) -> App {
    let mut app = configure(named("demo"), size);
    for _ in 0..4 {
        press(&mut app, KeyCode::PageDown);
    }
    assert_eq!(app.screen, Screen::Prerequisites);
    app
}

/// The prerequisite check of a `--demo` wizard, run for real over the demo's world (see
/// `support::replay::demo_prerequisites`): every row passing. Made once.
fn demo_checks() -> Vec<PrereqUpdate> {
    static CHECKS: OnceLock<Vec<PrereqUpdate>> = OnceLock::new();
    CHECKS
        .get_or_init(|| demo_prerequisites(Vec::new()))
        .clone()
}

fn checked(size: (u16, u16)) -> App {
    let mut app = checking(size);
    for update_ in demo_checks() {
        update(&mut app, Msg::Prereq(update_));
    }
    assert!(screen(&app).contains("Prerequisites: PASSED"));
    app
}

/// What a re-run finds after an earlier run made and seeded the gitops repository (and
/// failed at its secrets): the repository is ours, the two steps are done.
fn gitops_done_before() -> Observed {
    Observed {
        gitops: Some(ObservedRepo {
            slug: format!("{TOKEN_OWNER}/demo-gitops"),
            empty: false,
            ours: true,
        }),
        succeeded_steps: [StepId::GitopsRepo, StepId::GitopsSeed]
            .into_iter()
            .collect(),
        ..Observed::default()
    }
}

/// The product's plan of a new installation for the forms' configuration.
fn plan_ready(size: (u16, u16)) -> App {
    let mut app = checked(size);
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.screen, Screen::Plan);
    let overview = new_installation_plan(&app);
    update(&mut app, Msg::Plan(Ok(overview)));
    app
}

/// An earlier run as a state file records it (made by the product's own constructors):
/// the pre-flight, the gitops repository and its content done, its secrets failed.
fn earlier_failed_run() -> Option<EarlierRun> {
    let at =
        kalypso_bootstrap::state::Timestamp::new(time::macros::datetime!(2026-12-07 05:25:06 UTC));
    let mut state = kalypso_bootstrap::state::BootstrapState::new(at);
    // A run records every step of its plan before it starts any.
    for id in StepId::WITHOUT_WORKLOAD_CLUSTERS {
        state.ensure_step(id.as_str(), id.phase());
    }
    for id in [
        StepId::ClusterPreflight,
        StepId::GitopsRepo,
        StepId::GitopsSeed,
    ] {
        state.step_succeeded(id.as_str(), id.phase(), None, at);
    }
    state.step_failed(
        StepId::GitopsSecrets.as_str(),
        StepId::GitopsSecrets.phase(),
        "gh secret set: HTTP 403",
        at,
    );
    state.set_status(kalypso_bootstrap::state::RunStatus::Failed, at);
    EarlierRun::from_state(&state)
}

/// The product's plan of a run that resumes an earlier, failed one.
fn plan_resuming(size: (u16, u16)) -> App {
    let mut app = checked(size);
    press(&mut app, KeyCode::Enter);
    let earlier = earlier_failed_run();
    let overview = overview_of(&app, &gitops_done_before(), earlier);
    update(&mut app, Msg::Plan(Ok(overview)));
    app
}

/// The demo run the dashboard and summary snapshots replay (see `support::replay`): the
/// forms' configuration, run for real in the demo's simulated world. Its Flux source is
/// not found in the first round of health checks (Flux makes it in its own time) and is
/// in the next, so the checks are seen failing before they pass. Made once: every size of
/// every snapshot replays the same run.
fn succeeded(app: &App) -> &'static Replay {
    static REPLAY: OnceLock<Replay> = OnceLock::new();
    REPLAY.get_or_init(|| {
        DemoRun::new(configuration_of(app))
            .with_flux_source_late()
            .replay(CLOCK)
    })
}

/// The run confirmed on the plan and the replay of `run` fed up to `until` (milliseconds
/// on the replay's clock), the screen drawn at that moment.
fn replayed(
    size: (u16, u16),
    run: fn(&App) -> &'static Replay,
    until: impl Fn(&Replay) -> u64,
) -> App {
    let mut app = plan_ready(size);
    press(&mut app, KeyCode::Char('y'));
    assert_eq!(app.screen, Screen::Dashboard);
    let replay = run(&app);
    let cut = until(replay);
    feed(&mut app, &replay.until(cut));
    update(&mut app, Msg::Tick(CLOCK.at_ms(cut)));
    app
}

/// The forms' configuration, for a demo run.
fn configuration_of(app: &App) -> &kalypso_bootstrap::config::Configuration {
    app.validated
        .as_ref()
        .expect("the forms are done")
        .configuration()
}

/// When the run ended.
fn run_ended(replay: &Replay) -> u64 {
    replay.when(|kind| {
        matches!(
            kind,
            EventKind::RunFailed { .. } | EventKind::RunFinished { .. }
        )
    })
}

/// A real demo run whose AKS cluster exceeds the vCPU quota; yes to the rollback, which
/// cannot delete the control-plane repository (see `DemoRun::over_cluster_quota`).
fn quota_exceeded(app: &App) -> &'static Replay {
    static REPLAY: OnceLock<Replay> = OnceLock::new();
    REPLAY.get_or_init(|| {
        DemoRun::new(configuration_of(app))
            .over_cluster_quota(&format!("{TOKEN_OWNER}/demo-control-plane"))
            .replay(CLOCK)
    })
}

/// A real demo run cancelled (Ctrl+C) while its AKS cluster is being created, once the
/// repositories are done; the rollback question is answered no.
fn cancelled(app: &App) -> &'static Replay {
    static REPLAY: OnceLock<Replay> = OnceLock::new();
    REPLAY.get_or_init(|| {
        let repositories_done = |events: &[Event]| {
            let done = |step: StepId| {
                events
                    .iter()
                    .any(|e| matches!(e.kind, EventKind::StepFinished { step: s, .. } if s == step))
            };
            done(StepId::ControlPlaneSecrets) && done(StepId::GitopsLabel)
        };
        DemoRun::new(configuration_of(app))
            // Still creating when the cancellation comes.
            .with_latency("az aks create", std::time::Duration::from_secs(20))
            .cancelled_when(repositories_done)
            .failing(false)
            .replay(CLOCK)
    })
}

/// A real demo run refused at its pre-flight check (the vCPU usage may not be read), before
/// anything is created.
fn refused_at_preflight(app: &App) -> &'static Replay {
    static REPLAY: OnceLock<Replay> = OnceLock::new();
    REPLAY.get_or_init(|| {
        DemoRun::new(configuration_of(app))
            .with_faults(vec![
                Fault::new(FaultKind::Forbidden, "az vm list-usage").always()
            ])
            .failing(false)
            .replay(CLOCK)
    })
}

/// The cluster being created while the repositories are seeded: the moment the GitOps
/// content is pushed.
fn running(size: (u16, u16)) -> App {
    replayed(size, succeeded, |replay| {
        replay.finished(StepId::GitopsSeed)
    })
}

/// The first round of health checks: all but the Flux source passing.
fn validating(size: (u16, u16)) -> App {
    let app = replayed(size, succeeded, |replay| {
        replay.when(|kind| {
            matches!(
                kind,
                EventKind::HealthCheck {
                    status: HealthStatus::Failing,
                    ..
                }
            )
        })
    });
    assert_eq!(app.screen, Screen::Dashboard);
    app
}

/// The quota failure on the failure screen, the session's rollback question under it.
fn failed(size: (u16, u16)) -> App {
    let mut app = replayed(size, quota_exceeded, run_ended);
    assert_eq!(app.screen, Screen::Failure);
    let asked = quota_exceeded(&app)
        .asked
        .clone()
        .expect("the session asks");
    update(&mut app, Msg::Rollback(RollbackNotice::Asking(asked)));
    app
}

/// After [`failed`], yes to the rollback and its events up to `until`.
fn rolling_back(size: (u16, u16), until: impl Fn(&Replay) -> u64) -> App {
    let mut app = failed(size);
    press(&mut app, KeyCode::Char('y'));
    let replay = quota_exceeded(&app);
    let (from, cut) = (run_ended(replay), until(replay));
    let rollback: Vec<Event> = replay
        .until(cut)
        .into_iter()
        .filter(|e| replay.offset_ms(e) > from)
        .collect();
    assert!(!rollback.is_empty(), "the rollback's events");
    feed(&mut app, &rollback);
    update(&mut app, Msg::Tick(CLOCK.at_ms(cut)));
    app
}

// ---------------------------------------------------------------------------------------
// Snapshots

#[test]
fn welcome() {
    snapshot("welcome", |size| app(named("demo"), size));
}

/// At every width, each path's description is whole on one line: beside its title when
/// all of them fit there, under it otherwise (at 100 columns one did not fit, and its last
/// word wrapped under the panel's border).
#[test]
fn welcome_descriptions_are_never_wrapped_at_any_width() {
    use kalypso_bootstrap::tui::form::PathChoice;
    for width in 80..=200 {
        let app = app(named("demo"), (width, 30));
        let shown = screen(&app);
        for path in PathChoice::ALL {
            assert!(
                shown.lines().any(|line| line.contains(path.description())),
                "at {width} columns, {:?} is not whole on one line:\n{shown}",
                path.description()
            );
        }
    }
}

/// With a state file of an earlier, failed run the welcome screen says that this run
/// resumes it: what it did, what failed, what runs now.
#[test]
fn welcome_resuming_an_earlier_run() {
    let resuming = |size| {
        let mut inputs = inputs(named("demo"));
        inputs.earlier_run = earlier_failed_run();
        app_with(inputs, size).0
    };
    snapshot("welcome_resuming", resuming);
    let shown = screen(&resuming(SMALL));
    assert!(
        shown.contains("Resumes an earlier run that failed"),
        "{shown}"
    );
    assert!(shown.contains("failed: GitOps secrets"), "{shown}");
}

#[test]
fn configure_cluster_group() {
    snapshot("configure_cluster", |size| {
        let mut app = configure(named("demo"), size);
        press(&mut app, KeyCode::Tab);
        app
    });
}

#[test]
fn configure_validation_errors_under_the_fields() {
    snapshot("configure_validation_errors", |size| {
        let mut app = configure(ConfigLayer::default(), size);
        press(&mut app, KeyCode::Tab); // cluster name
        type_text(&mut app, "Bad_Name");
        press(&mut app, KeyCode::Tab); // left (validated), on to the region
        press(&mut app, KeyCode::Tab); // resource group
        press(&mut app, KeyCode::Tab); // node count
        clear_field(&mut app);
        type_text(&mut app, "0");
        press(&mut app, KeyCode::Tab);
        app
    });
}

#[test]
fn configure_region_pick_list() {
    snapshot("configure_region_picker", |size| {
        let mut app = configure(named("demo"), size);
        press(&mut app, KeyCode::Tab);
        press(&mut app, KeyCode::Tab);
        press(&mut app, KeyCode::Char(' '));
        type_text(&mut app, "west");
        press(&mut app, KeyCode::Down);
        app
    });
}

#[test]
fn configure_existing_cluster() {
    snapshot("configure_existing_cluster", |size| {
        let mut app = app(named("demo"), size);
        press(&mut app, KeyCode::Down);
        press(&mut app, KeyCode::Enter);
        press(&mut app, KeyCode::Tab); // name (optional)
        press(&mut app, KeyCode::Tab); // kube context
        press(&mut app, KeyCode::Right);
        app
    });
}

/// The kube context pick list (Space on the context row) shows each context's API server
/// and whether it answered: kind and k3d answered with their versions, the AKS context did
/// not (why, for the selected one).
#[test]
fn configure_context_pick_list_with_servers_and_reachability() {
    use kalypso_bootstrap::prereq::{ContextProbe, Reachability};
    use kalypso_bootstrap::tools::Version;
    snapshot("configure_context_picker", |size| {
        let mut inputs = inputs(named("demo"));
        inputs.kube_contexts = vec![
            "kind-dev".to_string(),
            "aks-prod".to_string(),
            "k3d-lab".to_string(),
        ];
        inputs.kube_context_servers = [
            ("kind-dev", "https://127.0.0.1:36443"),
            (
                "aks-prod",
                "https://aks-prod-dns-4f1e.hcp.westeurope.azmk8s.io:443",
            ),
            ("k3d-lab", "https://0.0.0.0:41234"),
        ]
        .into_iter()
        .map(|(context, server)| (context.to_string(), server.to_string()))
        .collect();
        let (mut app, _) = app_with(inputs, size);
        update(
            &mut app,
            Msg::KubeContexts(vec![
                ContextProbe {
                    context: "kind-dev".to_string(),
                    reachability: Reachability::Reachable {
                        version: Version::new(1, 33, 1),
                    },
                },
                ContextProbe {
                    context: "aks-prod".to_string(),
                    reachability: Reachability::Unreachable {
                        reason: "Unable to connect to the server: dial tcp: lookup aks-prod-dns-4f1e.hcp.westeurope.azmk8s.io: no such host".to_string(),
                    },
                },
                ContextProbe {
                    context: "k3d-lab".to_string(),
                    reachability: Reachability::Reachable {
                        version: Version::new(1, 31, 5),
                    },
                },
            ]),
        );
        press(&mut app, KeyCode::Down); // bring your own cluster
        press(&mut app, KeyCode::Enter);
        press(&mut app, KeyCode::Tab); // name (optional)
        press(&mut app, KeyCode::Tab); // kube context
        press(&mut app, KeyCode::Char(' '));
        press(&mut app, KeyCode::Down); // aks-prod: why it does not answer
        app
    });
}

#[test]
fn configure_existing_repositories_with_a_masked_token() {
    snapshot("configure_repositories", |size| {
        let mut app = app(named("demo"), size);
        press(&mut app, KeyCode::Char('3'));
        press(&mut app, KeyCode::Enter);
        press(&mut app, KeyCode::PageDown);
        assert_eq!(
            app.form.group,
            kalypso_bootstrap::tui::form::Group::Repositories
        );
        press(&mut app, KeyCode::Tab); // past the GitHub host (github.com)
        press(&mut app, KeyCode::Tab); // control-plane URL
        type_text(&mut app, "https://gitlab.com/acme/cp");
        press(&mut app, KeyCode::Tab); // create gitops
        press(&mut app, KeyCode::Tab); // gitops URL
        type_text(&mut app, "https://github.com/acme/demo-gitops");
        press(&mut app, KeyCode::Tab); // environments
        press(&mut app, KeyCode::Tab); // token
        type_text(&mut app, "ghp_snapshotToken0123");
        app
    });
}

/// The forms at `group` (the groups before it left with Page Down).
fn configure_group(size: (u16, u16), group: Group) -> App {
    let mut app = configure(named("demo"), size);
    for _ in 0..group.index() {
        press(&mut app, KeyCode::PageDown);
    }
    assert_eq!(app.form.group, group);
    app
}

#[test]
fn configure_installation_group() {
    snapshot("configure_installation", |size| {
        configure_group(size, Group::Installation)
    });
}

#[test]
fn configure_installation_skipped_hides_the_helm_fields() {
    snapshot("configure_installation_skipped", |size| {
        let mut app = configure_group(size, Group::Installation);
        assert_eq!(app.form.focus, Entry::Config(Field::SkipInstall));
        press(&mut app, KeyCode::Char(' '));
        assert!(app.form.toggle(Field::SkipInstall));
        let text = screen(&app);
        for hidden in ["Helm chart", "Chart version", "Helm values"] {
            assert!(!text.contains(hidden), "{hidden} is shown:\n{text}");
        }
        app
    });
}

#[test]
fn configure_options_group() {
    snapshot("configure_options", |size| {
        configure_group(size, Group::Options)
    });
}

#[test]
fn help_overlay_on_welcome_and_configure() {
    snapshot("help_welcome", |size| {
        let mut app = app(named("demo"), size);
        press(&mut app, KeyCode::Char('?'));
        app
    });
    snapshot("help_configure", |size| {
        let mut app = configure(named("demo"), size);
        press(&mut app, KeyCode::F(1));
        app
    });
}

#[test]
fn prerequisites_filling_in() {
    snapshot("prerequisites_live", |size| {
        let mut app = checking(size);
        // The first tools' rows, and the Azure sign-in's, have come back.
        let checks = demo_checks();
        for update_ in checks.iter().take(4) {
            update(&mut app, Msg::Prereq(update_.clone()));
        }
        let azure_login = checks
            .iter()
            .find(|u| matches!(u, PrereqUpdate::Auth(a) if a.check == AuthCheckKind::AzureLogin))
            .expect("the Azure sign-in's row");
        update(&mut app, Msg::Prereq(azure_login.clone()));
        tick(&mut app, 1);
        app
    });
}

/// The check over a demo world where helm is not installed, the role assignments may not
/// be read and gh is not logged in (no token in the environment either).
#[test]
fn prerequisites_failed() {
    snapshot("prerequisites_failed", |size| {
        let mut app = checking(size);
        let not_logged_in = FaultKind::Failure {
            exit_code: 1,
            stderr: "no oauth token found for github.com\n".into(),
        };
        let checks = demo_prerequisites(vec![
            Fault::new(FaultKind::ToolMissing, "helm").always(),
            Fault::new(FaultKind::Forbidden, "az role assignment list").always(),
            Fault::new(not_logged_in, "gh auth token").always(),
        ]);
        for update_ in checks {
            update(&mut app, Msg::Prereq(update_));
        }
        let shown = screen(&app);
        assert!(shown.contains("Prerequisites: FAILED"), "{shown}");
        app
    });
}

/// At 80×24 the failures' hints come first (the missing token's among them), and what
/// does not fit scrolls with j/k behind a marker saying how much more there is: no hint is
/// cut off unseen (issue 15 §1, §5).
#[test]
fn prerequisites_failed_keeps_every_hint_reachable_at_80x24() {
    let mut app = checking(SMALL);
    let not_logged_in = FaultKind::Failure {
        exit_code: 1,
        stderr: "no oauth token found for github.com\n".into(),
    };
    for update_ in demo_prerequisites(vec![
        Fault::new(FaultKind::ToolMissing, "helm").always(),
        Fault::new(FaultKind::Forbidden, "az role assignment list").always(),
        Fault::new(not_logged_in, "gh auth token").always(),
    ]) {
        update(&mut app, Msg::Prereq(update_));
    }
    let flat = |app: &App| {
        screen(app)
            .lines()
            .map(|line| line.trim_matches(|c: char| c == '│' || c.is_whitespace()))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let first = flat(&app);
    assert!(first.contains("GitHub token: "), "{first}");
    assert!(first.contains("more · j/k scroll"), "{first}");
    // Scrolled to the end: the last hint's end shows, the marker says what is above.
    let mut seen = first.clone();
    for _ in 0..40 {
        press(&mut app, KeyCode::Char('j'));
        seen.push_str(&flat(&app));
    }
    let last = flat(&app);
    assert!(last.contains("above"), "{last}");
    assert!(!last.contains("more ·"), "{last}");
    assert!(seen.contains("Azure role: "), "{seen}");
    assert!(seen.contains("--explain"), "{seen}");
    press(&mut app, KeyCode::Char('k'));
    assert!(flat(&app).contains("more · j/k scroll"));
}

#[test]
fn prompt_from_the_prerequisite_check() {
    snapshot("prompt_az_login", |size| {
        let mut app = checking(size);
        update(
            &mut app,
            Msg::Prompt(PromptRequest::Confirm {
                question: kalypso_bootstrap::prereq::AZ_LOGIN_QUESTION.into(),
                default: true,
            }),
        );
        app
    });
}

#[test]
fn plan_with_proceed_question() {
    snapshot("plan", plan_ready);
}

/// The plan of an existing gitops repository with someone's open pull request: the screen
/// whose yes is the consent shows that the scheduler will close it (its title escaped).
#[test]
fn plan_showing_the_pull_requests_the_scheduler_closes() {
    use kalypso_bootstrap::engine::plan::UserPullRequest;
    snapshot("plan_pull_requests_closed", |size| {
        let mut app = checked(size);
        press(&mut app, KeyCode::Enter);
        // The product's plan for an existing gitops repository with someone's open pull
        // request against dev.
        let mut configuration = app
            .validated
            .as_ref()
            .expect("the forms are done")
            .configuration()
            .clone();
        configuration.repositories.gitops =
            crate::support::e2e::existing_repo("https://github.com/acme/platform-gitops");
        let observed = Observed {
            user_pull_requests: vec![UserPullRequest {
                repository: "acme/platform-gitops".into(),
                base: "dev".into(),
                number: 7,
                title: "Fix a typo\u{1b}]0;owned\u{7}".into(),
                head: "docs-typo".into(),
                author: Some("bob".into()),
            }],
            ..Observed::default()
        };
        let overview = overview_for(&configuration, &observed, None);
        update(&mut app, Msg::Plan(Ok(overview)));
        let shown = screen(&app);
        for part in [
            "A yes also accepts",
            "the scheduler closes pull",
            "#7",
            "docs-typo",
        ] {
            assert!(shown.contains(part), "{part} not in {shown}");
        }
        assert!(!shown.contains('\u{1b}'), "{shown}");
        app
    });
}

/// A resumed run's plan names the earlier run's done and failed steps and what runs now,
/// and says what exists: never "Nothing has been created yet".
#[test]
fn plan_resuming_an_earlier_run() {
    snapshot("plan_resuming", plan_resuming);
    let app = plan_resuming(LARGE);
    let shown = screen(&app);
    assert!(!shown.contains("Nothing has been created yet"), "{shown}");
}

#[test]
fn dashboard_running() {
    snapshot("dashboard_running", running);
}

/// The first workload's chain on the dashboard: the demo run at its health checks, then
/// what `validation.first-workload` tells of two attached environments (dev merged and
/// waiting for its cluster's reconciliation, stage waiting for the promotion) and the
/// attach steps of the Workloads phase done. The wizard's forms attach no cluster, so
/// these events are the step's own words, fed after the replay.
fn first_workload_chain(size: (u16, u16)) -> App {
    use kalypso_bootstrap::engine::events::Outcome;
    use kalypso_bootstrap::engine::events::{ChainLink, LinkStatus};
    use kalypso_bootstrap::engine::step::Action;
    let mut app = validating(size);
    let cut = succeeded(&app).when(|kind| {
        matches!(
            kind,
            EventKind::HealthCheck {
                status: HealthStatus::Failing,
                ..
            }
        )
    });
    let second = (cut / 1000) as i64 + 1;
    let mut events = Vec::new();
    for step in [
        StepId::WorkloadPreflight,
        StepId::WorkloadFlux,
        StepId::WorkloadSource,
    ] {
        events.push(CLOCK.event(
            second,
            EventKind::StepFinished {
                phase: Phase::Workloads,
                step,
                action: Action::Create,
                outcome: Outcome::Succeeded,
                duration_ms: 900,
                message: "attached kind-kind".into(),
                hint: None,
            },
        ));
    }
    let link = |environment: &str, link, status, message: &str| {
        CLOCK.event(
            second + 1,
            EventKind::WorkloadChain {
                step: StepId::FirstWorkload,
                environment: environment.into(),
                link,
                status,
                message: message.into(),
            },
        )
    };
    for environment in ["dev", "stage"] {
        for chain_link in ChainLink::ALL {
            events.push(link(
                environment,
                chain_link,
                LinkStatus::Waiting,
                "waiting",
            ));
        }
    }
    events.push(link(
        "dev",
        ChainLink::PullRequest,
        LinkStatus::Done,
        "#3 from deployment/2025-11-11-10-31-02 (promoted)",
    ));
    events.push(link(
        "dev",
        ChainLink::Merged,
        LinkStatus::Done,
        "#3 merged as 1a2b3c4",
    ));
    events.push(link(
        "dev",
        ChainLink::Reconciled,
        LinkStatus::Waiting,
        "kind-kind: kalypso-gitops-dev Ready at 0f0f0f0, not yet at the merged 1a2b3c4",
    ));
    feed(&mut app, &events);
    update(&mut app, Msg::Tick(at(second + 2)));
    app
}

#[test]
fn dashboard_with_the_first_workloads_chain() {
    snapshot("dashboard_first_workload_chain", |size| {
        let app = first_workload_chain(size);
        let text = screen(&app);
        // Readable at 80x24 too: the section, both environments, the links.
        assert!(text.contains("First workload"), "{text}");
        assert!(text.contains("dev") && text.contains("stage"), "{text}");
        assert!(
            text.contains("PR #3") && text.contains("reconciled"),
            "{text}"
        );
        assert!(
            text.contains("Workload"),
            "the Workloads phase's gauge: {text}"
        );
        app
    });
}

#[test]
fn dashboard_with_a_failing_health_check() {
    snapshot("dashboard_failing_health_check", validating);
}

#[test]
fn failure_with_the_rollback_question() {
    snapshot("failure_rollback_question", failed);
}

#[test]
fn failure_rollback_in_progress() {
    snapshot("failure_rollback_progress", |size| {
        // The first removal done, the others under way.
        rolling_back(size, |replay| {
            replay.when(|kind| matches!(kind, EventKind::RollbackAction { .. }))
        })
    });
}

#[test]
fn failure_rollback_finished_with_leftovers() {
    snapshot("failure_rollback_finished", |size| {
        let app = rolling_back(size, |replay| {
            replay.when(|kind| matches!(kind, EventKind::RollbackFinished { .. }))
        });
        // The repository the token may not delete is left, with the command to do it.
        let flat = screen(&app)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        assert!(flat.contains("gh repo delete"), "{flat}");
        app
    });
}

#[test]
fn summary() {
    snapshot("summary", |size| {
        let app = replayed(size, succeeded, run_ended);
        assert_eq!(app.screen, Screen::Summary);
        // The phases on the replay's clock, as the orchestrator measures them: none
        // longer than the run, and the chain cluster → installation → validation is it.
        let summary = app.run.summary.as_ref().expect("the run's summary");
        let total = app.run.finished_duration_ms.expect("the run's duration");
        let phase = |wanted: Phase| {
            summary
                .phase_durations_ms
                .iter()
                .find(|(p, _)| *p == wanted)
                .map(|(_, ms)| *ms)
                .expect("the phase is measured")
        };
        assert!(summary
            .phase_durations_ms
            .iter()
            .all(|(_, ms)| *ms <= total));
        assert_eq!(
            phase(Phase::Cluster) + phase(Phase::Installation) + phase(Phase::Validation),
            total
        );
        app
    });
}

#[test]
fn help_overlay() {
    snapshot("help_dashboard", |size| {
        let mut app = running(size);
        press(&mut app, KeyCode::Char('?'));
        app
    });
}

#[test]
fn quit_confirmation_while_running() {
    snapshot("quit_confirm", |size| {
        let mut app = running(size);
        press(&mut app, KeyCode::Char('q'));
        app
    });
}

#[test]
fn terminal_too_small() {
    for size in [(79, 24), (60, 15)] {
        let mut app = running(SMALL);
        update(
            &mut app,
            Msg::Resize {
                width: size.0,
                height: size.1,
            },
        );
        insta::assert_snapshot!(format!("too_small_{}x{}", size.0, size.1), screen(&app));
    }
}

#[test]
fn prerequisites_passed() {
    snapshot("prerequisites_passed", checked);
}

/// On an existing cluster the checklist leaves Azure out: no az row (it is not needed and not
/// probed), and both Azure rows say "not needed", as the product words them.
#[test]
fn prerequisites_passed_without_azure() {
    use kalypso_bootstrap::prereq::AzureUse;
    snapshot("prerequisites_without_azure", |size| {
        let mut flags = named("demo");
        flags.cluster.existing_context = Some("kind-dev".to_string());
        let mut app = configure(flags, size);
        for _ in 0..4 {
            press(&mut app, KeyCode::PageDown);
        }
        assert_eq!(app.screen, Screen::Prerequisites);
        let updates = demo_prerequisites_for(Vec::new(), AzureUse::NotNeeded);
        for update_ in updates {
            update(&mut app, Msg::Prereq(update_));
        }
        app
    });
}

/// The plan refused: the GitOps repository the run would create exists, made by someone
/// else (the session's own refusal, from a demo world where it exists).
#[test]
fn plan_failed() {
    snapshot("plan_failed", |size| {
        let mut app = checked(size);
        press(&mut app, KeyCode::Enter);
        let theirs = kalypso_bootstrap::sim::SeedRepo::new(TOKEN_OWNER, "demo-gitops").with_file(
            "main",
            "README.md",
            "ours, not the tool's\n",
        );
        let refused = demo_plan_refused(configuration_of(&app), theirs);
        update(&mut app, Msg::Plan(Err(refused)));
        app
    });
}

#[test]
fn failure_cancelled_by_the_user() {
    snapshot("failure_cancelled", |size| {
        let mut app = replayed(size, cancelled, run_ended);
        assert_eq!(app.screen, Screen::Failure);
        let asked = cancelled(&app).asked.clone().expect("the session asks");
        update(&mut app, Msg::Rollback(RollbackNotice::Asking(asked)));
        app
    });
}

#[test]
fn failure_with_nothing_to_remove() {
    snapshot("failure_rollback_nothing_to_remove", |size| {
        let mut app = replayed(size, refused_at_preflight, run_ended);
        assert_eq!(app.screen, Screen::Failure);
        // Nothing was created: the session asks nothing and says so.
        assert_eq!(refused_at_preflight(&app).asked, None);
        update(&mut app, Msg::Rollback(RollbackNotice::NothingToRemove));
        app
    });
}

#[test]
fn failure_with_the_rollback_unavailable() {
    snapshot("failure_rollback_unavailable", |size| {
        let mut app = replayed(size, refused_at_preflight, run_ended);
        // The engine stopped before the session decided: nothing can be asked.
        update(&mut app, Msg::EngineClosed);
        app
    });
}

/// The plan's configuration says where each value came from: the flag, the default, and
/// "typed" only for what was edited in the forms (issue 15 §4).
#[test]
fn plan_shows_where_each_value_came_from() {
    let mut app = configure(named("demo"), LARGE);
    while app.form.focus != Entry::Config(Field::ClusterNodeCount) {
        press(&mut app, KeyCode::Down);
    }
    press(&mut app, KeyCode::Backspace);
    press(&mut app, KeyCode::Char('5'));
    for _ in 0..4 {
        press(&mut app, KeyCode::PageDown);
    }
    for update_ in passing_checks() {
        update(&mut app, Msg::Prereq(update_));
    }
    press(&mut app, KeyCode::Enter);
    let overview = new_installation_plan(&app);
    update(&mut app, Msg::Plan(Ok(overview)));
    let shown = screen(&app);
    for expected in [
        "demo  (flag --cluster-name)",
        "5  (typed)",
        "eastus  (default)",
    ] {
        assert!(shown.contains(expected), "{expected}: {shown}");
    }
    assert!(!shown.contains("interactive answer"), "{shown}");
}

// ---------------------------------------------------------------------------------------
// The failure screen at the minimum size, fed from real runs

/// A real run of the simulated world that fails in `step` because of `fault`, replayed
/// (see `support::replay`), and the rollback question the session would ask after it:
/// the run's own events, its failure and the descriptions exactly as the engine makes
/// them. The report is where the wizard's would be.
fn real_failure(fault: Fault, step: StepId) -> (Replay, Vec<String>) {
    use crate::support::e2e::{all_new, existing_repo, seed_valid_repo, BeforeStep, Harness};
    use kalypso_bootstrap::templates::RepoKind;
    let harness = Harness::new();
    let mut configuration = all_new();
    if step.phase() == kalypso_bootstrap::state::Phase::Cluster {
        // The repositories phase runs beside the cluster's: with repositories of its own
        // it would record them or not depending on timing. Existing ones keep the list
        // the same from run to run.
        configuration.repositories.control_plane =
            existing_repo("https://github.com/acme/platform-cp");
        configuration.repositories.gitops =
            existing_repo("https://github.com/acme/platform-gitops");
        for (kind, name) in [
            (RepoKind::ControlPlane, "platform-cp"),
            (RepoKind::Gitops, "platform-gitops"),
        ] {
            seed_valid_repo(&harness, &configuration, kind, "acme", name);
        }
    }
    if step.phase() == kalypso_bootstrap::state::Phase::Repositories {
        // Likewise the installation runs beside the repositories: on a cluster that
        // exists, without the installation, only the repositories are created.
        configuration = crate::support::e2e::existing_cluster(configuration);
        configuration.installation.skip_install = true;
    }
    // The fault starts with the step, so that it fails that step and no other.
    let sim = harness.sim.clone();
    let steps = BeforeStep::new(harness.step_env(&configuration), step, move || {
        sim.inject(fault);
    });
    let run = tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(harness.run_steps(&configuration, std::sync::Arc::new(steps)));
    let (failed_step, _) = run.failure();
    assert_eq!(failed_step, Some(step), "{:?}", run.outcome.end);
    let asked = harness.open(&configuration).removal().plan().descriptions();
    let mut replay = crate::support::replay::replay_of(
        run.events,
        Some(asked),
        harness.dir.path(),
        "/tmp/scratch",
        CLOCK,
    );
    for event in &mut replay.events {
        if let EventKind::RunFailed { report_file, .. } = &mut event.kind {
            *report_file = Some(REPORT_FILE.into());
        }
    }
    let asked = replay.asked.take().expect("the removal plan");
    (replay, asked)
}

/// The failure screen after `run`, the session's question about `resources` under it.
fn failure_screen(size: (u16, u16), run: &Replay, resources: &[String]) -> App {
    let mut app = plan_ready(size);
    press(&mut app, KeyCode::Char('y'));
    let ended = run_ended(run);
    feed(&mut app, &run.until(ended));
    assert_eq!(app.screen, Screen::Failure);
    update(
        &mut app,
        Msg::Rollback(RollbackNotice::Asking(resources.to_vec())),
    );
    update(&mut app, Msg::Tick(CLOCK.at_ms(ended)));
    app
}

/// The run's failure.
fn failure_of(run: &Replay) -> Event {
    run.events
        .iter()
        .find(|e| matches!(e.kind, EventKind::RunFailed { .. }))
        .expect("a RunFailed event")
        .clone()
}

/// What must be on an 80x24 failure screen whatever failed: the hint whole, the question
/// with its keys, and a marker wherever something is hidden.
fn assert_failure_screen_complete(text: &str, failed: &Event, resources: &[String]) {
    let EventKind::RunFailed { hint, .. } = &failed.kind else {
        unreachable!()
    };
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let hint = hint.as_deref().expect("a hint");
    // Every word of the hint is on screen (wrapped, but never cut).
    for word in hint.split_whitespace() {
        assert!(flat.contains(word), "hint word {word:?} missing:\n{text}");
    }
    assert!(text.contains("Roll back? [y/N]"), "{text}");
    let shown = resources
        .iter()
        .filter(|r| flat.contains(r.split_whitespace().collect::<Vec<_>>().join(" ").as_str()))
        .count();
    if shown < resources.len() {
        assert!(
            text.contains("↓"),
            "hidden resources without a marker:\n{text}"
        );
    }
}

#[test]
fn the_failure_screen_at_80x24_keeps_the_hint_and_the_question_for_a_failure_in_each_phase() {
    let cases = [
        (
            "cluster",
            Fault::new(FaultKind::QuotaExceeded, "az aks create").always(),
            StepId::ClusterCreate,
        ),
        (
            "repositories",
            Fault::new(
                // A limit already reset: the texts do not depend on the clock.
                FaultKind::RateLimited {
                    status: 429,
                    reset_epoch: 0,
                },
                "gh repo view",
            )
            .with_arg("acme/kalypso-gitops")
            .always(),
            StepId::GitopsSeed,
        ),
        (
            "installation",
            Fault::new(FaultKind::Forbidden, "helm upgrade").always(),
            StepId::InstallKalypso,
        ),
        (
            "validation",
            Fault::new(FaultKind::Forbidden, "kubectl get pods").always(),
            StepId::HealthChecks,
        ),
    ];
    for (phase, fault, step) in cases {
        let (run, resources) = real_failure(fault, step);
        let failed = failure_of(&run);
        let app = failure_screen(SMALL, &run, &resources);
        let text = screen(&app);
        assert_failure_screen_complete(&text, &failed, &resources);
        insta::assert_snapshot!(format!("failure_{phase}_80x24"), text);
    }
}

#[test]
fn the_failure_screen_scrolls_the_resource_list_with_j_and_its_marker_counts_what_is_hidden() {
    let (run, resources) = real_failure(
        Fault::new(FaultKind::Forbidden, "helm upgrade").always(),
        StepId::InstallKalypso,
    );
    let mut app = failure_screen(SMALL, &run, &resources);
    // The question lists them in people's words, as the wizard shows them.
    let resources: Vec<String> = resources
        .iter()
        .map(|r| kalypso_bootstrap::state::in_human_words(r).into_owned())
        .collect();
    // Screen text with the panel borders and line breaks gone: a wrapped resource reads
    // as one.
    let flat = |app: &App| {
        screen(app)
            .replace(['│', '╭', '╮', '╰', '╯', '─'], " ")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    let last = resources.last().expect("resources to remove");
    assert!(
        !flat(&app).contains(last.as_str()),
        "all fit: nothing to scroll"
    );
    // The error is long too and has the focus first; Tab moves it to the list.
    assert!(screen(&app).contains("What went wrong ▸ scrolling"));
    press(&mut app, KeyCode::Tab);
    assert!(screen(&app).contains("Rollback ▸ scrolling"));
    for _ in 0..resources.len() {
        press(&mut app, KeyCode::Char('j'));
    }
    let text = screen(&app);
    assert!(text.contains("↑"), "{text}");
    assert!(flat(&app).contains(last.as_str()), "{text}");
    assert!(text.contains("Roll back? [y/N]"), "{text}");
    // Home goes back to the top; the question is still there and still answers.
    press(&mut app, KeyCode::Home);
    assert!(
        flat(&app).contains(resources[0].as_str()),
        "{}",
        screen(&app)
    );
    let transition = press(&mut app, KeyCode::Char('y'));
    assert!(transition
        .effects
        .iter()
        .any(|e| matches!(e, kalypso_bootstrap::tui::Effect::AnswerRollback(true))));
}

/// Issue 14 §3: the pull-request check's reason, when the scheduler is stuck on its
/// scheduling, is on the dashboard as the check's last observation.
#[test]
fn the_dashboard_shows_why_the_sample_workload_is_not_scheduled() {
    let reason = pull_request_reason_when_the_policy_selects_nothing();
    // The cause leads the reason, ahead of the pull request's details: the dashboard's
    // row may show only its start.
    assert!(
        reason.starts_with(
            "no Assignment: SchedulingPolicy default-policy selected no deployment target"
        ),
        "{reason}"
    );
    let mut app = validating(LARGE);
    engine(
        &mut app,
        health(299, "pull-request", HealthStatus::Failing, &reason),
    );
    tick(&mut app, 301);
    let screen = screen(&app);
    assert!(screen.contains("pull-request"), "{screen}");
    assert!(
        screen.contains("no Assignment: SchedulingPolicy default-policy"),
        "{screen}"
    );
}

/// The wizard's log pane reads like the rest of the screen (issue 15 §8, §10): every line
/// the engine logs for a real run's events (what the log tap brings to the pane), a
/// success and a failure rolled back, names steps by their titles and resources in
/// people's words, durations as "4s": no step ids, no `aks_cluster`, no "4000 ms".
#[test]
fn the_log_pane_uses_human_names_and_durations() {
    let app = plan_ready(LARGE);
    let machine_words = regex::Regex::new(
        r"\b(aks_cluster|resource_group|kube_context|helm_release|kalypso_crds|repo_secret|repo_label|repo_file_commit)\b|\d+ ms\b",
    )
    .unwrap();
    for replay in [succeeded(&app), quota_exceeded(&app)] {
        for event in &replay.events {
            // What the pane shows at the default verbosity (info and up), as `feed` does.
            let (level, line) = event.log_line();
            if level > tracing::Level::INFO {
                continue;
            }
            assert!(!machine_words.is_match(&line), "{line}");
            for step in StepId::WITHOUT_WORKLOAD_CLUSTERS {
                assert!(
                    !line.contains(&format!("{step} ")) && !line.contains(&format!("{step}:")),
                    "{step} in {line}"
                );
            }
        }
    }
    let shown = screen(&failure_rollback_done(LARGE));
    assert!(
        shown.contains("rollback of resource group demo-rg succeeded"),
        "{shown}"
    );
    let shown = screen(&running(LARGE));
    assert!(
        shown.contains("AKS pre-flight checks succeeded in 4s"),
        "{shown}"
    );
}

fn failure_rollback_done(size: (u16, u16)) -> App {
    rolling_back(size, |replay| {
        replay.when(|kind| matches!(kind, EventKind::RollbackFinished { .. }))
    })
}

/// The pull-request check's reason from a real run (the engine over the simulated world,
/// as tests/e2e run it) whose scheduling policy selects no deployment target: the words
/// the dashboard shows are the product's, not written here.
fn pull_request_reason_when_the_policy_selects_nothing() -> String {
    use crate::support::e2e::{all_new, edit_file, existing_cluster, BeforeStep, Harness};
    use kalypso_bootstrap::engine::StepTimings;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let harness = Harness::new();
        let config = existing_cluster(all_new());
        let mut env = harness.step_env(&config);
        // One second of health checks: the policy never selects anything.
        env.timings = StepTimings {
            health: kalypso_bootstrap::tools::retry::PollPolicy {
                timeout: Some(std::time::Duration::from_secs(1)),
                ..StepTimings::fast().health
            },
            ..StepTimings::fast()
        };
        let bare = harness.bare(crate::support::e2e::ORG, crate::support::e2e::CONTROL_PLANE);
        let steps = BeforeStep::new(env, StepId::InstallKalypso, move || {
            edit_file(
                &bare,
                "dev",
                "scheduling-policies/default-policy.yaml",
                |text| {
                    text.replace(
                        "values: [functional-test, uat-test]",
                        "values: [nothing-matches]",
                    )
                },
            )
        });
        let run = harness.run_steps(&config, std::sync::Arc::new(steps)).await;
        run.events
            .iter()
            .rev()
            .find_map(|event| match &event.kind {
                EventKind::HealthCheck { check, message, .. } if check == "pull-request" => {
                    Some(message.clone())
                }
                _ => None,
            })
            .expect("the pull-request check ran")
    })
}
