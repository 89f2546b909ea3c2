//! The plan analysis the demo-duration test and the benchmark rely on
//! (tests/support/plan_analysis.rs): the longest chain and the one-at-a-time plan.

use std::collections::HashMap;
use std::time::Duration;

use kalypso_bootstrap::engine::{plan, Observed, StepId};
use StepId::*;

use crate::support::engine::config;
use crate::support::plan_analysis::PlanAnalysis;

#[test]
fn the_longest_chain_follows_the_heaviest_dependencies() {
    let plan = plan(&config(), &Observed::default());
    let ms = Duration::from_millis;
    let mut weights: HashMap<StepId, Duration> = StepId::WITHOUT_WORKLOAD_CLUSTERS
        .iter()
        .map(|id| (*id, ms(10)))
        .collect();
    weights.insert(ClusterCreate, ms(1000));
    let (length, chain) = plan.longest_chain(&weights);
    assert_eq!(
        chain,
        vec![
            ClusterPreflight,
            ClusterResourceGroup,
            ClusterCreate,
            ClusterCredentials,
            ClusterReady,
            InstallFlux,
            InstallKalypso,
            HealthChecks
        ]
    );
    assert_eq!(length, ms(1000 + 7 * 10));

    // Slow repositories: the chain runs through the pre-flight and the gitops steps;
    // a step that takes no time is not listed.
    weights.insert(ClusterCreate, ms(10));
    weights.insert(GitopsSeed, ms(1000));
    weights.insert(ClusterPreflight, Duration::ZERO);
    let (length, chain) = plan.longest_chain(&weights);
    assert_eq!(
        chain,
        vec![
            GitopsRepo,
            GitopsSeed,
            GitopsSecrets,
            GitopsLabel,
            InstallKalypso,
            HealthChecks
        ]
    );
    assert_eq!(length, ms(1000 + 5 * 10));

    // One at a time, every step is on the chain.
    let sequential = plan.one_at_a_time();
    sequential.check().unwrap();
    let (length, chain) = sequential.longest_chain(&weights);
    assert_eq!(length, weights.values().sum::<Duration>());
    assert_eq!(
        chain.len(),
        StepId::WITHOUT_WORKLOAD_CLUSTERS.len() - 1,
        "all but the zero-weight pre-flight"
    );
}

/// A step's reason says why or what it does; its own title again says nothing
/// ("Health checks (health checks)" on the dashboard).
#[test]
fn no_planned_reason_repeats_its_steps_title() {
    let plan = plan(&config(), &Observed::default());
    for step in &plan.steps {
        assert!(
            !step.reason.eq_ignore_ascii_case(step.id.title()),
            "{}: reason {:?} is its title",
            step.id,
            step.reason
        );
    }
}
