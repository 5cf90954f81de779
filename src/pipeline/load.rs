//! `run` of load workloads: each drives its service or command through its profile, with a
//! progress line each second; a workload that cannot be driven (its service never becomes
//! ready, crashes) fails and the others go on.

use super::{Observer, Unit};
use crate::discover::Workload;
use crate::errors::MeasureError;
use crate::measure::load::{Live, LoadError};
use crate::vocab::Status;
use crate::vocab::load::LoadReport;
use crate::vocab::units::format_ns;

/// What a load workload came to.
#[derive(Debug, Clone)]
pub struct LoadResult {
    pub workload: Workload,
    pub report: Option<LoadReport>,
    /// Why it could not be driven to the end.
    pub failure: Option<String>,
}

impl LoadResult {
    /// Failed when it could not be driven, a critical threshold broke, the service did not
    /// recover from a stress or a spike, or its memory grew through a soak.
    pub fn status(&self) -> Status {
        match (&self.failure, &self.report) {
            (Some(_), _) | (None, None) => Status::Failed,
            (None, Some(r)) if r.failed() || !problems(r).is_empty() => Status::Failed,
            _ => Status::Passed,
        }
    }
}

/// What fails a profile beyond its thresholds.
pub fn problems(r: &LoadReport) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(s) = &r.stress
        && let Some(rec) = &s.recovery
        && !rec.recovered
    {
        out.push("did not recover after the stress".into());
    }
    if let Some(rec) = &r.spike
        && !rec.recovered
    {
        out.push("did not recover after the spike".into());
    }
    if r.soak.as_ref().is_some_and(|d| d.memory_grows) {
        out.push("memory grew steadily through the soak".into());
    }
    if let Some(reason) = &r.aborted {
        out.push(format!("aborted: {reason}"));
    }
    out
}

/// The progress line of one second.
pub fn live_line(l: &Live) -> String {
    let level = if l.open {
        format!("rate {:.0}/s", l.level)
    } else {
        format!("{:.0} users", l.level)
    };
    format!(
        "{:.0}/{:.0} s, {}: {level}, achieved {:.1}/s, p95 {}, {} errors of {} requests, {} in flight",
        l.elapsed,
        l.planned,
        l.stage,
        l.achieved_rps,
        if l.p95 == 0 {
            "-".into()
        } else {
            format_ns(l.p95 as f64)
        },
        l.errors,
        l.requests,
        l.in_flight
    )
}

/// Drives each load workload in turn; `offset` and `total` place them among the run's steps.
pub fn run_loads(
    workloads: Vec<Workload>,
    offset: usize,
    total: usize,
    observer: &mut dyn Observer,
) -> Result<Vec<LoadResult>, MeasureError> {
    let mut results = Vec::new();
    for (i, workload) in workloads.into_iter().enumerate() {
        let Some(load) = workload.load() else {
            continue;
        };
        let planned = load.spec.planned();
        observer.started(
            &workload.name,
            offset + i,
            total,
            planned.as_secs() as usize,
            Unit::Seconds,
        );
        let outcome = crate::measure::load::run(&load.spec, &workload.cwd, &mut |live| {
            observer.progressed(live.elapsed as usize, live.planned as usize);
            observer.note(&live_line(live));
        });
        let result = match outcome {
            Err(LoadError::Interrupted(signal)) => return Err(MeasureError::Interrupted(signal)),
            Err(e) => LoadResult {
                workload,
                report: None,
                failure: Some(e.to_string()),
            },
            Ok(report) => LoadResult {
                workload,
                report: Some(report),
                failure: None,
            },
        };
        let summary = match (&result.failure, &result.report) {
            (Some(f), _) => format!("FAILED: {}", f.lines().next().unwrap_or("")),
            (None, Some(r)) => {
                let o = &r.overall;
                let mut text = format!(
                    "{} requests in {:.1} s, {:.1}/s achieved, p95 {}, {:.2}% errors",
                    o.requests,
                    o.seconds,
                    o.achieved_rps,
                    format_ns(o.latency.p95 as f64),
                    100.0 * o.error_rate()
                );
                if result.status() == Status::Failed {
                    text.push_str(", FAILED");
                } else {
                    text.push_str(", ok");
                }
                text
            }
            (None, None) => "FAILED".into(),
        };
        observer.step_finished(&summary);
        observer.load_finished(&result);
        results.push(result);
    }
    Ok(results)
}
