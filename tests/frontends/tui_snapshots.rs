//! Every screen of the wizard, drawn with ratatui's `TestBackend` at 80x24 and 160x48 and
//! compared with a reviewed snapshot: welcome, forms (with validation errors under their
//! fields, a pick list, a masked token), the prerequisite checklist (live and failed), the
//! plan, the dashboard (running, and with a failing health check), the failure screen
//! with the rollback question and its progress, the summary, the overlays (help, quit
//! confirmation, a question from the check) and the "terminal too small" notice; also the
//! Installation (with and without the Helm fields) and Options groups, a failed plan, a
//! cancelled run, a rollback with nothing to remove or no list, help on the first screens.

use crate::support::tui::*;
use crossterm::event::KeyCode;
use kalypso_bootstrap::config::{ConfigLayer, Field};
use kalypso_bootstrap::engine::events::Event;
use kalypso_bootstrap::engine::events::{EventKind, HealthStatus, LogLevel, Outcome};
use kalypso_bootstrap::engine::overview::EarlierRun;
use kalypso_bootstrap::engine::plan::ObservedRepo;
use kalypso_bootstrap::engine::step::{Action, StepId};
use kalypso_bootstrap::engine::Observed;
use kalypso_bootstrap::prereq::{AuthCheckKind, Verdict};
use kalypso_bootstrap::sim::{Fault, FaultKind};
use kalypso_bootstrap::troubleshooting::Topic;
use kalypso_bootstrap::tui::form::{Entry, Group};
use kalypso_bootstrap::tui::{
    update, App, Msg, PrereqOutcome, PrereqUpdate, PromptRequest, RollbackNotice, Screen,
};
use kalypso_bootstrap::ExitCode;
use kalypso_bootstrap::UserError;

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

fn checked(size: (u16, u16)) -> App {
    let mut app = checking(size);
    for update_ in passing_checks() {
        update(&mut app, Msg::Prereq(update_));
    }
    app
}

fn mixed_plan() -> Vec<kalypso_bootstrap::engine::events::PlannedStepInfo> {
    StepId::ALL
        .iter()
        .map(|step| {
            let action = match step {
                StepId::GitopsRepo | StepId::GitopsSeed => Action::Reuse,
                StepId::InstallFlux => Action::Reuse,
                StepId::GitopsSecrets | StepId::GitopsLabel => Action::Create,
                _ => Action::Create,
            };
            planned(*step, action)
        })
        .collect()
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

fn running(size: (u16, u16)) -> App {
    let mut app = plan_ready(size);
    press(&mut app, KeyCode::Char('y'));
    assert_eq!(app.screen, Screen::Dashboard);
    engine(
        &mut app,
        event(
            0,
            EventKind::RunStarted {
                demo: true,
                steps: mixed_plan(),
            },
        ),
    );
    engine(&mut app, started(0, StepId::ClusterPreflight));
    engine(&mut app, log(1, LogLevel::Info, "region eastus offers AKS"));
    engine(
        &mut app,
        log(
            2,
            LogLevel::Debug,
            "az vm list-skus --location eastus --size Standard_DS2_v2",
        ),
    );
    engine(
        &mut app,
        finished(4, StepId::ClusterPreflight, Outcome::Succeeded, 4_200),
    );
    engine(&mut app, started(4, StepId::ClusterResourceGroup));
    engine(
        &mut app,
        finished(6, StepId::ClusterResourceGroup, Outcome::Succeeded, 1_900),
    );
    engine(&mut app, started(6, StepId::ClusterCreate));
    engine(&mut app, started(6, StepId::ControlPlaneRepo));
    engine(&mut app, started(6, StepId::GitopsRepo));
    engine(
        &mut app,
        event(
            40,
            EventKind::StepProgress {
                phase: kalypso_bootstrap::state::Phase::Cluster,
                step: StepId::ClusterCreate,
                message: "waiting for provisioningState Succeeded (az aks show)".into(),
                transition: Some("Creating".into()),
                elapsed_ms: 34_000,
            },
        ),
    );
    engine(
        &mut app,
        finished(9, StepId::ControlPlaneRepo, Outcome::Succeeded, 2_600),
    );
    engine(
        &mut app,
        finished(9, StepId::GitopsRepo, Outcome::Reused, 800),
    );
    engine(&mut app, started(9, StepId::ControlPlaneSeed));
    engine(
        &mut app,
        log(
            10,
            LogLevel::Warn,
            "rate limit at 80%: slowing down GitHub calls",
        ),
    );
    engine(
        &mut app,
        log(11, LogLevel::Info, "git push origin main (control-plane)"),
    );
    tick(&mut app, 192);
    app
}

fn validating(size: (u16, u16)) -> App {
    let mut app = running(size);
    for (seconds, step) in [
        (200, StepId::ClusterCreate),
        (205, StepId::ControlPlaneSeed),
        (210, StepId::ClusterCredentials),
        (215, StepId::ClusterReady),
        (216, StepId::ControlPlaneSecrets),
        (217, StepId::GitopsSeed),
        (218, StepId::GitopsSecrets),
        (219, StepId::GitopsLabel),
        (230, StepId::InstallFlux),
        (290, StepId::InstallKalypso),
    ] {
        engine(&mut app, started(seconds - 5, step));
        engine(&mut app, finished(seconds, step, Outcome::Succeeded, 5_000));
    }
    engine(&mut app, started(290, StepId::HealthChecks));
    engine(
        &mut app,
        health(
            291,
            "pods running",
            HealthStatus::Passing,
            "4/4 pods Running",
        ),
    );
    engine(
        &mut app,
        health(291, "12 CRDs registered", HealthStatus::Passing, "12/12"),
    );
    engine(
        &mut app,
        health(
            295,
            "controller available",
            HealthStatus::Failing,
            "0/1 replicas available: ImagePullBackOff",
        ),
    );
    engine(
        &mut app,
        health(
            295,
            "flux control-plane",
            HealthStatus::Pending,
            "waiting for Ready",
        ),
    );
    engine(
        &mut app,
        log(
            296,
            LogLevel::Error,
            "kalypso-scheduler-controller: ImagePullBackOff",
        ),
    );
    tick(&mut app, 300);
    app
}

fn failed(size: (u16, u16)) -> App {
    let mut app = running(size);
    engine(
        &mut app,
        run_failed(
            214,
            StepId::ClusterCreate,
            "az aks create failed: (QuotaExceeded) Operation could not be completed as it results in exceeding approved standardDSv2Family Cores quota. Current limit: 4, current usage: 0, additional required: 6.",
            "request a quota increase for standardDSv2Family in eastus, or pass --cluster-nodes 2 / a smaller --cluster-vm-size",
            ExitCode::ClusterFailed,
        ),
    );
    assert_eq!(app.screen, Screen::Failure);
    update(
        &mut app,
        Msg::Rollback(RollbackNotice::Asking(vec![
            control_plane_repository(),
            demo_cluster(),
            demo_resource_group(),
        ])),
    );
    tick(&mut app, 215);
    app
}

// ---------------------------------------------------------------------------------------
// Resources as the engine describes them (`Resource::describe`, what the rollback question
// and its events carry), never hand-written labels.

fn described(resource: kalypso_bootstrap::state::Resource) -> String {
    resource.describe()
}

fn control_plane_repository() -> String {
    described(kalypso_bootstrap::state::Resource::Repository {
        owner: "acme".into(),
        name: "demo-control-plane".into(),
        url: "https://github.com/acme/demo-control-plane".into(),
    })
}

fn demo_cluster() -> String {
    described(kalypso_bootstrap::state::Resource::AksCluster {
        name: "demo".into(),
        resource_group: "demo-rg".into(),
        subscription_id: None,
    })
}

fn demo_resource_group() -> String {
    described(kalypso_bootstrap::state::Resource::ResourceGroup {
        name: "demo-rg".into(),
        subscription_id: None,
    })
}

// ---------------------------------------------------------------------------------------
// Snapshots

#[test]
fn welcome() {
    snapshot("welcome", |size| app(named("demo"), size));
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
        for update_ in passing_checks().into_iter().take(4) {
            update(&mut app, Msg::Prereq(update_));
        }
        update(
            &mut app,
            Msg::Prereq(passing_checks().into_iter().nth(7).unwrap()),
        );
        tick(&mut app, 1);
        app
    });
}

#[test]
fn prerequisites_failed() {
    snapshot("prerequisites_failed", |size| {
        let mut app = checking(size);
        use kalypso_bootstrap::prereq::tools::{AZ, BASH, GH, GIT, HELM, KUBECTL};
        // The rows as the check makes them: a helm older than the product's minimum fails.
        let updates = vec![
            probed(&AZ, (2, 91, 0)),
            probed(&KUBECTL, (1, 37, 1)),
            probed(&GH, (2, 103, 3)),
            probed(&HELM, (3, 10, 0)),
            probed(&GIT, (2, 47, 3)),
            probed(&BASH, (5, 2, 15)),
            PrereqUpdate::Auth(auth(
                AuthCheckKind::AzureLogin,
                Verdict::Pass,
                "dev@contoso.com on Contoso Dev",
                None,
            )),
            PrereqUpdate::Auth(auth(
                AuthCheckKind::AzureRole,
                Verdict::Warn,
                "neither Owner nor Contributor (holds: Reader)",
                Some("creating a cluster needs Owner or Contributor on the subscription"),
            )),
            PrereqUpdate::Auth(auth(
                AuthCheckKind::GithubToken,
                Verdict::Fail,
                "no token: GITHUB_TOKEN and GH_TOKEN are unset",
                Some("set GITHUB_TOKEN to a token with the repo and workflow scopes"),
            )),
            PrereqUpdate::Auth(auth(
                AuthCheckKind::GithubLogin,
                Verdict::Skip,
                "not checked: no token",
                None,
            )),
            PrereqUpdate::Finished(PrereqOutcome {
                exit_code: ExitCode::PrerequisitesFailed,
                summary: "Prerequisites: FAILED (2 failures, 1 warning)".into(),
                azure: None,
                github: None,
            }),
        ];
        for update_ in updates {
            update(&mut app, Msg::Prereq(update_));
        }
        app
    });
}

#[test]
fn prompt_from_the_prerequisite_check() {
    snapshot("prompt_az_login", |size| {
        let mut app = checking(size);
        update(
            &mut app,
            Msg::Prompt(PromptRequest::Confirm {
                question: "The Azure CLI is not signed in. Run `az login` now?".into(),
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
        let mut app = failed(size);
        press(&mut app, KeyCode::Char('y'));
        engine(
            &mut app,
            event(
                220,
                EventKind::RollbackStarted {
                    resources: vec![
                        control_plane_repository(),
                        demo_cluster(),
                        demo_resource_group(),
                    ],
                },
            ),
        );
        engine(
            &mut app,
            event(
                222,
                EventKind::RollbackAction {
                    resource: control_plane_repository(),
                    outcome: Outcome::Succeeded,
                    message: "deleted".into(),
                    duration_ms: 1_400,
                },
            ),
        );
        tick(&mut app, 223);
        app
    });
}

#[test]
fn failure_rollback_finished_with_leftovers() {
    snapshot("failure_rollback_finished", |size| {
        let mut app = failed(size);
        press(&mut app, KeyCode::Char('y'));
        engine(
            &mut app,
            event(
                220,
                EventKind::RollbackStarted {
                    resources: vec![control_plane_repository(), demo_cluster()],
                },
            ),
        );
        engine(
            &mut app,
            event(
                222,
                EventKind::RollbackAction {
                    resource: control_plane_repository(),
                    outcome: Outcome::Failed,
                    message: "403: the token lacks the delete_repo scope".into(),
                    duration_ms: 900,
                },
            ),
        );
        engine(
            &mut app,
            event(
                224,
                EventKind::RollbackAction {
                    resource: demo_cluster(),
                    outcome: Outcome::Succeeded,
                    message: "deletion started (asynchronous)".into(),
                    duration_ms: 2_100,
                },
            ),
        );
        engine(
            &mut app,
            event(
                225,
                EventKind::RollbackFinished {
                    outcome: Outcome::Failed,
                    message: "1 of 2 resources could not be removed".into(),
                    leftovers: vec!["gh repo delete acme/demo-control-plane --yes".into()],
                },
            ),
        );
        app
    });
}

#[test]
fn summary() {
    snapshot("summary", |size| {
        let mut app = validating(size);
        engine(&mut app, run_finished(330));
        assert_eq!(app.screen, Screen::Summary);
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

#[test]
fn plan_failed() {
    snapshot("plan_failed", |size| {
        let mut app = checked(size);
        press(&mut app, KeyCode::Enter);
        update(
            &mut app,
            Msg::Plan(Err(UserError::new(
                ExitCode::RepositoryFailed,
                "repository acme/demo-gitops exists but was not created by kalypso-bootstrap",
            )
            .with_hint(Topic::RepositoryNotOurs.hint(
                "pass --gitops-repo-url to reuse it, or choose another name",
            )))),
        );
        app
    });
}

#[test]
fn failure_cancelled_by_the_user() {
    snapshot("failure_cancelled", |size| {
        let mut app = running(size);
        engine(
            &mut app,
            run_failed(
                200,
                StepId::ClusterCreate,
                "cancelled by the user",
                "run again to continue where it stopped",
                ExitCode::Cancelled,
            ),
        );
        update(
            &mut app,
            Msg::Rollback(RollbackNotice::Asking(vec![demo_resource_group()])),
        );
        app
    });
}

#[test]
fn failure_with_nothing_to_remove() {
    snapshot("failure_rollback_nothing_to_remove", |size| {
        let mut app = running(size);
        engine(
            &mut app,
            run_failed(
                20,
                StepId::ClusterCreate,
                "az aks create failed: (QuotaExceeded)",
                "request a quota increase",
                ExitCode::ClusterFailed,
            ),
        );
        update(&mut app, Msg::Rollback(RollbackNotice::NothingToRemove));
        app
    });
}

#[test]
fn failure_with_the_rollback_unavailable() {
    snapshot("failure_rollback_unavailable", |size| {
        let mut app = running(size);
        engine(
            &mut app,
            run_failed(
                20,
                StepId::ClusterCreate,
                "az aks create failed: (QuotaExceeded)",
                "request a quota increase",
                ExitCode::ClusterFailed,
            ),
        );
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

/// A real run of the simulated world that fails in `step` because of `fault`, and the
/// rollback question the session would ask after it: the failure event and the
/// descriptions exactly as the engine makes them. The duration and the scratch directory
/// are fixed so that the snapshot is stable.
fn real_failure(fault: Fault, step: StepId) -> (Event, Vec<String>) {
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
    let scratch = harness.dir.path().to_string_lossy().to_string();
    let real = run
        .events
        .iter()
        .find(|e| matches!(e.kind, EventKind::RunFailed { .. }))
        .expect("a RunFailed event");
    let mut failed = event(95, real.kind.clone());
    if let EventKind::RunFailed {
        duration_ms,
        report_file,
        message,
        hint,
        ..
    } = &mut failed.kind
    {
        *duration_ms = 95_000;
        *report_file = Some(REPORT_FILE.into());
        *message = message.replace(&scratch, "/tmp/scratch");
        *hint = hint.as_ref().map(|h| h.replace(&scratch, "/tmp/scratch"));
    }
    if let EventKind::RunFailed { message, .. } = &mut failed.kind {
        *message = fixed_installation_id(message);
    }
    let mut descriptions: Vec<String> = harness
        .open(&configuration)
        .removal()
        .plan()
        .descriptions()
        .into_iter()
        .map(|d| d.replace(&scratch, "/tmp/scratch"))
        .collect();
    // The two repositories are created side by side, so which is newer (removed first)
    // differs from run to run; the snapshot fixes their order.
    if let Some(first) = descriptions
        .iter()
        .position(|d| d.starts_with("repository "))
    {
        let run = descriptions[first..]
            .iter()
            .take_while(|d| d.starts_with("repository "))
            .count();
        descriptions[first..first + run].sort();
    }
    (failed, descriptions)
}

/// The text with every installation id (`kb-` and 12 hex digits, new for each world)
/// replaced by a fixed one.
fn fixed_installation_id(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("kb-") {
        out.push_str(&rest[..at]);
        let id = &rest[at + 3..];
        let hex = id.chars().take_while(char::is_ascii_hexdigit).count();
        if hex == 12 {
            out.push_str("kb-000000000000");
        } else {
            out.push_str(&rest[at..at + 3 + hex]);
        }
        rest = &rest[at + 3 + hex..];
    }
    out.push_str(rest);
    out
}

fn failure_screen(size: (u16, u16), failed: &Event, resources: &[String]) -> App {
    let mut app = running(size);
    engine(&mut app, failed.clone());
    assert_eq!(app.screen, Screen::Failure);
    update(
        &mut app,
        Msg::Rollback(RollbackNotice::Asking(resources.to_vec())),
    );
    tick(&mut app, 96);
    app
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
        let (failed, resources) = real_failure(fault, step);
        let app = failure_screen(SMALL, &failed, &resources);
        let text = screen(&app);
        assert_failure_screen_complete(&text, &failed, &resources);
        insta::assert_snapshot!(format!("failure_{phase}_80x24"), text);
    }
}

#[test]
fn the_failure_screen_scrolls_the_resource_list_with_j_and_its_marker_counts_what_is_hidden() {
    let (failed, resources) = real_failure(
        Fault::new(FaultKind::Forbidden, "helm upgrade").always(),
        StepId::InstallKalypso,
    );
    let mut app = failure_screen(SMALL, &failed, &resources);
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
    let mut app = validating(LARGE);
    engine(
        &mut app,
        health(
            299,
            "pull-request",
            HealthStatus::Failing,
            "no Assignment: SchedulingPolicy default-policy selected no deployment target",
        ),
    );
    tick(&mut app, 301);
    let screen = screen(&app);
    assert!(screen.contains("pull-request"), "{screen}");
    assert!(
        screen.contains("no Assignment: SchedulingPolicy default-policy"),
        "{screen}"
    );
}
