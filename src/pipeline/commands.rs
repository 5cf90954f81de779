//! `run` and `record` of command workloads.

use super::result::{WorkloadResult, evaluate};
use super::{Observer, Unit};
use crate::discover::Workload;
use crate::errors::MeasureError;
use crate::measure::{RunSpec, Runner, measure};

/// Measures every workload in turn. A failing workload does not stop the others; only an error
/// of the tool itself (it cannot start processes at all) does. The observer sees each result as
/// soon as its workload is done (for streaming output).
pub fn run_all(
    workloads: Vec<Workload>,
    runner: &mut dyn Runner,
    observer: &mut dyn Observer,
) -> Result<Vec<WorkloadResult>, MeasureError> {
    let total = workloads.len();
    let mut results = Vec::with_capacity(total);
    for (i, workload) in workloads.into_iter().enumerate() {
        // Criterion benchmarks are measured by `run_criterion`.
        let Some(spec) = command_spec(&workload) else {
            continue;
        };
        observer.started(
            &workload.name,
            i,
            total,
            workload.sampling.min_runs as usize,
            Unit::Runs,
        );
        let measured = measure(runner, &spec, &workload.sampling, &mut |done, expected| {
            observer.progressed(done, expected)
        })?;
        let result = evaluate(workload, measured);
        observer.workload_finished(&result, i, total, true);
        results.push(result);
    }
    Ok(results)
}

/// What running a command workload once is: its argv, environment, folder and timeout.
pub fn command_spec(workload: &Workload) -> Option<RunSpec> {
    let command = workload.command()?;
    Some(RunSpec {
        name: workload.name.clone(),
        argv: command.argv.clone(),
        env: command.env.clone(),
        cwd: workload.cwd.clone(),
        timeout: command.timeout,
    })
}
