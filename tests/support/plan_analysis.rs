//! Reading plans and runs the way the demo-duration test and the benchmark need to: the
//! plan run one step at a time (how the upstream bash script runs it), the longest
//! dependency chain under given step times, and which step was running at a moment of a
//! run. Only tests and the benchmark ask these questions, so they live here and not in the
//! product (the benchmark includes this module by path). Public API of the crate only.

use std::collections::HashMap;
use std::time::Duration;

use kalypso_bootstrap::engine::{Plan, RunOutcome, StepId};

pub trait PlanAnalysis {
    /// The same steps, each waiting for the one before it: how the upstream bash script
    /// runs them, to compare against.
    fn one_at_a_time(&self) -> Plan;

    /// The longest dependency chain when each step takes `weights[step]` (absent: no
    /// time): its length, the bound no schedule can beat, and its steps that take any
    /// time, first to last.
    fn longest_chain(&self, weights: &HashMap<StepId, Duration>) -> (Duration, Vec<StepId>);
}

impl PlanAnalysis for Plan {
    fn one_at_a_time(&self) -> Plan {
        let mut previous: Option<StepId> = None;
        let steps = self
            .steps
            .iter()
            .map(|step| {
                let mut step = step.clone();
                step.depends_on = previous.into_iter().collect();
                previous = Some(step.id);
                step
            })
            .collect();
        Plan::new(steps)
    }

    fn longest_chain(&self, weights: &HashMap<StepId, Duration>) -> (Duration, Vec<StepId>) {
        let mut finish: HashMap<StepId, (Duration, Vec<StepId>)> = HashMap::new();
        // The steps are listed dependencies before dependants.
        for step in &self.steps {
            let (before, mut chain) = step
                .depends_on
                .iter()
                .filter_map(|dependency| finish.get(dependency))
                .max_by_key(|(time, _)| *time)
                .cloned()
                .unwrap_or_default();
            let weight = weights.get(&step.id).copied().unwrap_or_default();
            if !weight.is_zero() {
                chain.push(step.id);
            }
            finish.insert(step.id, (before + weight, chain));
        }
        finish
            .into_values()
            .max_by_key(|(time, _)| *time)
            .unwrap_or_default()
    }
}

pub trait RunTimeline {
    /// The step that was running `offset` into the run (`tolerance` either side of its
    /// start and end); of several, the one started last. Tells which step made a call.
    fn step_running_at(&self, offset: Duration, tolerance: Duration) -> Option<StepId>;
}

impl RunTimeline for RunOutcome {
    fn step_running_at(&self, offset: Duration, tolerance: Duration) -> Option<StepId> {
        self.steps
            .iter()
            .filter(|step| {
                step.started.is_some_and(|s| s <= offset + tolerance)
                    && step.finished.is_some_and(|f| offset <= f + tolerance)
            })
            .max_by_key(|step| step.started)
            .map(|step| step.id)
    }
}
