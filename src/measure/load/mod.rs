//! The load generator: drives a service over HTTP on loopback, or a command as many concurrent
//! users, through the stages of a profile, and measures what happened.
//!
//! The open model puts arrivals on a clock (a thread of its own sleeps until each intended
//! start and hands the request to the runtime), and measures latency from that intended start:
//! a service that stalls for a second delays every arrival of that second, and they show it.
//! Arrivals that find `max_in_flight` requests already waiting are counted as dropped, never
//! queued without bound. The closed model runs `users` loops that each wait for their last
//! answer, ramped between stage targets.

mod procfs;
mod recorder;
mod scrape;
mod service;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::config::{LoadSpec, LoadTarget, Profile, ThresholdSpec};
use crate::stats::load::{drift, judge, recovery};
use crate::vocab::load::{Breaking, Figures, LoadReport, StageReport, ThresholdOutcome};
use procfs::Monitor;
use recorder::{Acc, Outcome, Recorder, SecondUsage};
use service::Service;
pub use service::free_port;

/// Why a load workload could not be measured.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot start `{program}`: {source}")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    /// `detail`: what was asked, what came back, and what to do.
    #[error("the service `{program}` never became ready: {detail}. Its output ends:\n{tail}")]
    NotReady {
        program: String,
        detail: String,
        tail: String,
    },
    #[error("the service `{program}` exited with {status} {when}; its output ends:\n{tail}")]
    ServiceDied {
        program: String,
        status: String,
        when: String,
        tail: String,
    },
    #[error("{0}")]
    Setup(String),
    #[error("{}", crate::interrupt::Interrupted(*.0))]
    Interrupted(i32),
}

/// What the live progress line shows, once a second.
#[derive(Debug, Clone)]
pub struct Live {
    pub elapsed: f64,
    pub planned: f64,
    pub stage: String,
    /// The schedule's rate (or users) now.
    pub level: f64,
    pub open: bool,
    /// Requests answered without error in the last second.
    pub achieved_rps: f64,
    /// p95 of the requests that completed in the last second, ns.
    pub p95: u64,
    pub errors: u64,
    pub requests: u64,
    pub in_flight: usize,
}

/// State shared by the scheduler and the requests.
struct Shared {
    recorder: Mutex<Recorder>,
    in_flight: AtomicUsize,
    /// Users with an index below this keep going (closed model).
    users: AtomicUsize,
    stop: AtomicBool,
    /// Arrivals sent more than 2 ms after their intended start: the generator fell behind.
    late: AtomicU64,
    sent: AtomicU64,
    /// The stage the closed model's users record into.
    stage: AtomicUsize,
}

impl Shared {
    fn record(&self, stage: usize, request: usize, second: u64, latency: Duration, o: Outcome) {
        let us = latency.as_micros().min(u64::MAX as u128) as u64;
        if let Ok(mut r) = self.recorder.lock() {
            r.record(stage, request, second, us, o);
        }
    }
}

/// What a request is sent to.
enum Target {
    Http {
        client: Client<HttpConnector, Full<Bytes>>,
        requests: Vec<HttpRequest>,
        timeout: Duration,
    },
    Command {
        argv: Vec<String>,
        env: Vec<(String, String)>,
        cwd: PathBuf,
        timeout: Duration,
    },
}

struct HttpRequest {
    method: hyper::Method,
    uri: hyper::Uri,
    /// The path and query alone, for a connection of a user's own (origin form).
    path: hyper::Uri,
    host: hyper::header::HeaderValue,
    headers: Vec<(hyper::header::HeaderName, hyper::header::HeaderValue)>,
    body: Bytes,
    spec: crate::config::RequestSpec,
}

impl Target {
    /// Sends request `index` (a command target has one) and says how it ended.
    async fn send(&self, index: usize) -> Outcome {
        match self {
            Target::Http {
                client,
                requests,
                timeout,
            } => {
                let Some(r) = requests.get(index) else {
                    return Outcome::Other;
                };
                let mut builder = hyper::Request::builder()
                    .method(r.method.clone())
                    .uri(r.uri.clone());
                for (k, v) in &r.headers {
                    builder = builder.header(k, v);
                }
                let Ok(request) = builder.body(Full::new(r.body.clone())) else {
                    return Outcome::Other;
                };
                let exchange = async {
                    let response = client.request(request).await.map_err(|e| {
                        if e.is_connect() {
                            Outcome::Connect
                        } else {
                            Outcome::Other
                        }
                    })?;
                    read_answer(response).await
                };
                judge_answer(tokio::time::timeout(*timeout, exchange).await, &r.spec)
            }
            Target::Command {
                argv,
                env,
                cwd,
                timeout,
            } => {
                let mut cmd = tokio::process::Command::new(&argv[0]);
                cmd.args(&argv[1..])
                    .envs(env.iter().map(|(k, v)| (k, v)))
                    .current_dir(cwd)
                    .stdin(std::process::Stdio::null())
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .kill_on_drop(true);
                let Ok(mut child) = cmd.spawn() else {
                    return Outcome::Other;
                };
                match tokio::time::timeout(*timeout, child.wait()).await {
                    Err(_) => {
                        let _ = child.kill().await;
                        Outcome::Timeout
                    }
                    Ok(Ok(status)) if status.success() => Outcome::Ok,
                    Ok(_) => Outcome::Other,
                }
            }
        }
    }
}

/// Reads an answer to its end and gives its status.
async fn read_answer(response: hyper::Response<hyper::body::Incoming>) -> Result<u16, Outcome> {
    let status = response.status().as_u16();
    response
        .into_body()
        .collect()
        .await
        .map_err(|_| Outcome::Other)?;
    Ok(status)
}

/// How a request ended: no answer in time, no answer at all, or an answer whose status counts
/// as success for `spec` or not.
fn judge_answer(
    answer: Result<Result<u16, Outcome>, tokio::time::error::Elapsed>,
    spec: &crate::config::RequestSpec,
) -> Outcome {
    match answer {
        Err(_) => Outcome::Timeout,
        Ok(Err(o)) => o,
        Ok(Ok(status)) if spec.succeeded(status) => Outcome::Ok,
        Ok(Ok(status)) => Outcome::Status(status),
    }
}

/// The connection a user of the closed model keeps to the service, as `wrk` keeps one per
/// connection: each request goes straight to it, not through the shared pool.
type OwnConnection = Option<hyper::client::conn::http1::SendRequest<Full<Bytes>>>;

impl Target {
    /// Sends request `index` over `conn`, connecting first when it has no live connection;
    /// a command target, or a request that fails, leaves the connection to be made anew.
    async fn send_own(&self, index: usize, conn: &mut OwnConnection, port: u16) -> Outcome {
        let Target::Http {
            requests, timeout, ..
        } = self
        else {
            return self.send(index).await;
        };
        let Some(r) = requests.get(index) else {
            return Outcome::Other;
        };
        let exchange = async {
            if conn.as_ref().is_none_or(|c| c.is_closed()) {
                let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
                    .await
                    .map_err(|_| Outcome::Connect)?;
                let _ = stream.set_nodelay(true);
                let (sender, connection) =
                    hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                        .await
                        .map_err(|_| Outcome::Connect)?;
                tokio::spawn(connection);
                *conn = Some(sender);
            }
            let sender = conn.as_mut().ok_or(Outcome::Other)?;
            sender.ready().await.map_err(|_| Outcome::Other)?;
            let mut builder = hyper::Request::builder()
                .method(r.method.clone())
                .uri(r.path.clone())
                .header(hyper::header::HOST, r.host.clone());
            for (k, v) in &r.headers {
                builder = builder.header(k, v);
            }
            let request = builder
                .body(Full::new(r.body.clone()))
                .map_err(|_| Outcome::Other)?;
            let response = sender
                .send_request(request)
                .await
                .map_err(|_| Outcome::Other)?;
            read_answer(response).await
        };
        let outcome = judge_answer(tokio::time::timeout(*timeout, exchange).await, &r.spec);
        if !matches!(outcome, Outcome::Ok | Outcome::Status(_)) {
            // Whatever state it is in, the next request starts on a new connection.
            *conn = None;
        }
        outcome
    }
}

/// Picks a request by weight.
struct Picker {
    cumulative: Vec<u64>,
}

impl Picker {
    fn pick(&self) -> usize {
        let total = self.cumulative.last().copied().unwrap_or(0);
        if total == 0 {
            return 0;
        }
        let x = fastrand::u64(0..total);
        self.cumulative.partition_point(|c| *c <= x)
    }
}

/// Runs `spec` (its `{bin:NAME}` already resolved) with the workload's folder `cwd`.
pub fn run(
    spec: &LoadSpec,
    cwd: &Path,
    live: &mut dyn FnMut(&Live),
) -> Result<LoadReport, LoadError> {
    let mut session = Session::start(spec, cwd)?;
    let result = session.drive(spec, live);
    let died = matches!(result, Err(LoadError::ServiceDied { .. }));
    let warnings = session.stop(died);
    let mut report = result?;
    report.warnings.extend(warnings);
    Ok(report)
}

/// A load workload's target, ready to be driven: its service started on a free port and
/// answering (a command target needs nothing started). Dropping it kills what is left of the
/// service's process group.
pub struct Session {
    cwd: PathBuf,
    port: u16,
    env: Vec<(String, String)>,
    service: Option<Service>,
    stop_timeout: Duration,
    /// The service's metrics URL, its `{port}` filled in.
    metrics_url: Option<String>,
}

impl Session {
    /// Starts the service of `spec` and waits until it is ready.
    pub fn start(spec: &LoadSpec, cwd: &Path) -> Result<Session, LoadError> {
        let port = match spec.target {
            LoadTarget::Service { .. } => free_port()?,
            LoadTarget::Command { .. } => 0,
        };
        let fill = |s: &str| s.replace("{port}", &port.to_string());
        let env: Vec<(String, String)> =
            spec.env.iter().map(|(k, v)| (k.clone(), fill(v))).collect();
        let (service, stop_timeout) = match &spec.target {
            LoadTarget::Service {
                argv,
                ready,
                ready_timeout,
                stop_timeout,
                ..
            } => {
                let argv: Vec<String> = argv.iter().map(|a| fill(a)).collect();
                crate::interrupt::doing(format!("starting the service of {}", spec.name));
                let mut s = Service::start(&argv, &env, cwd, port)?;
                s.wait_ready(&fill(ready), *ready_timeout)?;
                (Some(s), *stop_timeout)
            }
            LoadTarget::Command { .. } => (None, Duration::ZERO),
        };
        let metrics_url = match &spec.target {
            LoadTarget::Service {
                metrics_url: Some(url),
                ..
            } => Some(fill(url)),
            _ => None,
        };
        Ok(Session {
            cwd: cwd.to_owned(),
            port,
            env,
            service,
            stop_timeout,
            metrics_url,
        })
    }

    /// The same session, driven without scraping the service's metrics.
    pub fn without_metrics(mut self) -> Session {
        self.metrics_url = None;
        self
    }

    /// Drives the target through the stages of `spec` (the spec it was started with, or one
    /// with other stages and thresholds).
    pub fn drive(
        &mut self,
        spec: &LoadSpec,
        live: &mut dyn FnMut(&Live),
    ) -> Result<LoadReport, LoadError> {
        crate::interrupt::doing(format!("driving {}", spec.name));
        let scraper = self.metrics_url.as_deref().map(scrape::Scraper::start);
        let mut report = drive(
            spec,
            &self.cwd,
            self.port,
            &self.env,
            self.service.as_mut(),
            live,
        )?;
        report.service = scraper.map(scrape::Scraper::finish);
        Ok(report)
    }

    /// Stops the service (SIGTERM, then SIGKILL after its stop timeout); `died` when it is
    /// already gone. Says what the reader should know.
    pub fn stop(mut self, died: bool) -> Vec<String> {
        let mut warnings = Vec::new();
        if let Some(s) = self.service.as_mut()
            && !died
            && s.stop(self.stop_timeout)
        {
            warnings.push(format!(
                "the service did not stop within {} of SIGTERM and was killed (SIGKILL)",
                crate::vocab::units::format_duration(self.stop_timeout)
            ));
        }
        warnings
    }
}

fn drive(
    spec: &LoadSpec,
    cwd: &Path,
    port: u16,
    env: &[(String, String)],
    mut service: Option<&mut Service>,
    live: &mut dyn FnMut(&Live),
) -> Result<LoadReport, LoadError> {
    let workers = (procfs::cores() as usize).clamp(1, 4);
    // The clock's thread and the runtime's wake up on time to the microsecond, not to the
    // 50 us timer slack Linux gives by default: their lateness would count as latency.
    precise_timers();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .on_thread_start(precise_timers)
        .enable_all()
        .build()
        .map_err(|e| LoadError::Setup(format!("cannot start the load generator's runtime: {e}")))?;
    let target = Arc::new(match &spec.target {
        LoadTarget::Service { .. } => {
            let mut connector = HttpConnector::new();
            connector.set_nodelay(true);
            let client = Client::builder(TokioExecutor::new())
                .pool_max_idle_per_host(spec.max_in_flight)
                .build(connector);
            let mut requests = Vec::new();
            for r in &spec.requests {
                let bad = |what: &str| LoadError::Setup(format!("request `{}`: {what}", r.name));
                let uri: hyper::Uri = format!("http://127.0.0.1:{port}{}", r.path)
                    .parse()
                    .map_err(|e| {
                        bad(&format!(
                            "the path `{}` is not a valid URI path: {e}",
                            r.path
                        ))
                    })?;
                let method = hyper::Method::from_bytes(r.method.as_bytes())
                    .map_err(|_| bad(&format!("`{}` is not an HTTP method", r.method)))?;
                let mut headers = Vec::new();
                for (k, v) in &r.headers {
                    let name = hyper::header::HeaderName::from_bytes(k.as_bytes())
                        .map_err(|_| bad(&format!("`{k}` is not a header name")))?;
                    let value = hyper::header::HeaderValue::from_str(v)
                        .map_err(|_| bad(&format!("the value of header `{k}` cannot be sent")))?;
                    headers.push((name, value));
                }
                let path: hyper::Uri = r.path.parse().map_err(|e| {
                    bad(&format!(
                        "the path `{}` is not a valid URI path: {e}",
                        r.path
                    ))
                })?;
                let host = hyper::header::HeaderValue::from_str(&format!("127.0.0.1:{port}"))
                    .map_err(|_| bad("the host cannot be sent"))?;
                requests.push(HttpRequest {
                    method,
                    uri,
                    path,
                    host,
                    headers,
                    body: Bytes::from(r.body.clone()),
                    spec: r.clone(),
                });
            }
            Target::Http {
                client,
                requests,
                timeout: spec.timeout,
            }
        }
        LoadTarget::Command { argv } => Target::Command {
            argv: argv.clone(),
            env: env.to_vec(),
            cwd: cwd.to_owned(),
            timeout: spec.timeout,
        },
    });
    let mut cumulative = Vec::new();
    let mut sum = 0u64;
    for r in &spec.requests {
        sum += u64::from(r.weight);
        cumulative.push(sum);
    }
    let picker = Arc::new(Picker { cumulative });
    let shared = Arc::new(Shared {
        recorder: Mutex::new(Recorder::new(spec.stages.len(), spec.requests.len())),
        in_flight: AtomicUsize::new(0),
        users: AtomicUsize::new(0),
        stop: AtomicBool::new(false),
        late: AtomicU64::new(0),
        sent: AtomicU64::new(0),
        stage: AtomicUsize::new(0),
    });
    let start = Instant::now();
    let mut clock = Clock {
        start,
        next_tick: start + Duration::from_secs(1),
        ticks: 0,
        monitor: Monitor::new(service.as_ref().map(|s| s.pid)),
        usage: Vec::new(),
        lag: spec.timeout.as_secs() + 2,
        last_tick: start,
        planned: spec.planned().as_secs_f64(),
    };
    clock.monitor.read();
    let mut stage_starts: Vec<Option<f64>> = vec![None; spec.stages.len()];
    let mut stage_ends: Vec<f64> = vec![0.0; spec.stages.len()];
    let mut steps: Vec<(f64, Vec<String>)> = Vec::new();
    let mut broke = false;
    let mut aborted = None;
    let mut users: Vec<tokio::task::JoinHandle<()>> = Vec::new();

    'stages: for (index, stage) in spec.stages.iter().enumerate() {
        if broke && stage.step {
            continue;
        }
        let stage_start = Instant::now();
        stage_starts[index] = Some(stage_start.duration_since(start).as_secs_f64());
        let stage_end = stage_start + stage.duration;
        let mut k = 0u64;
        loop {
            // The next thing to do: an arrival (open model) or a users check (closed).
            let next = if spec.open {
                match arrival_offset(stage.from, stage.to, stage.duration, k as f64 + 0.5) {
                    Some(offset) => stage_start + offset,
                    None => stage_end,
                }
            } else {
                (Instant::now() + Duration::from_millis(10)).min(stage_end)
            };
            // Wait for it, ticking on every second.
            loop {
                let now = Instant::now();
                if clock.next_tick <= now {
                    let tick = clock.tick(&shared, &mut service, spec, index, stage, live)?;
                    if let Some(reason) = tick {
                        aborted = Some(reason);
                        stage_ends[index] = Instant::now().duration_since(start).as_secs_f64();
                        break 'stages;
                    }
                    continue;
                }
                if now >= next {
                    break;
                }
                std::thread::sleep(next.min(clock.next_tick).saturating_duration_since(now));
            }
            if Instant::now() >= stage_end && (next >= stage_end) {
                break;
            }
            if spec.open {
                let second = next.duration_since(start).as_secs();
                if let Ok(mut r) = shared.recorder.lock() {
                    r.offered(index, second);
                    if shared.in_flight.load(Ordering::Acquire) >= spec.max_in_flight {
                        r.dropped(index, second);
                        k += 1;
                        continue;
                    }
                }
                shared.in_flight.fetch_add(1, Ordering::AcqRel);
                shared.sent.fetch_add(1, Ordering::Relaxed);
                if Instant::now().duration_since(next) > Duration::from_millis(2) {
                    shared.late.fetch_add(1, Ordering::Relaxed);
                }
                let request = picker.pick();
                let (shared, target) = (Arc::clone(&shared), Arc::clone(&target));
                runtime.spawn(async move {
                    let outcome = target.send(request).await;
                    shared.record(index, request, second, next.elapsed(), outcome);
                    shared.in_flight.fetch_sub(1, Ordering::AcqRel);
                });
                k += 1;
            } else {
                shared.stage.store(index, Ordering::Release);
                let want = stage
                    .level_at(Instant::now().duration_since(stage_start))
                    .round() as usize;
                shared.users.store(want, Ordering::Release);
                for id in 0..want {
                    if users.get(id).is_some_and(|h| !h.is_finished()) {
                        continue;
                    }
                    let (shared, target, picker) = (
                        Arc::clone(&shared),
                        Arc::clone(&target),
                        Arc::clone(&picker),
                    );
                    let handle = runtime.spawn(user(id, shared, target, picker, start, port));
                    if id < users.len() {
                        users[id] = handle;
                    } else {
                        users.push(handle);
                    }
                }
            }
        }
        stage_ends[index] = Instant::now().duration_since(start).as_secs_f64();
        if stage.step {
            // Let the step's requests finish, then see whether every threshold held.
            drain(
                &shared,
                spec.timeout,
                &mut clock,
                &mut service,
                spec,
                index,
                stage,
                live,
            )?;
            let figures = stage_figures(
                &shared,
                index,
                &clock,
                stage_starts[index],
                stage_ends[index],
            );
            let broken: Vec<String> = spec
                .thresholds
                .iter()
                .filter(|t| t.stage.as_ref().is_none_or(|s| s == &stage.name))
                .filter(|t| !judge(t, &figures).0)
                .map(|t| t.expr.clone())
                .collect();
            broke = !broken.is_empty();
            steps.push((stage.to, broken));
        }
    }
    // Stop: no new arrivals, users finish their last request.
    shared.users.store(0, Ordering::Release);
    shared.stop.store(true, Ordering::Release);
    let last = spec.stages.len().saturating_sub(1);
    let _ = drain(
        &shared,
        spec.timeout,
        &mut clock,
        &mut service,
        spec,
        last,
        &spec.stages[last],
        live,
    );
    runtime.shutdown_timeout(Duration::from_millis(500));
    if let Some(signal) = crate::interrupt::interrupted() {
        return Err(LoadError::Interrupted(signal));
    }
    // The last seconds close with what the monitor read.
    let usage = clock.usage.clone();
    let mut recorder = shared
        .recorder
        .lock()
        .map_err(|_| LoadError::Setup("the load recorder was poisoned".into()))?;
    recorder.close_before(u64::MAX, &|t| {
        usage.get(t as usize).copied().unwrap_or_default()
    });
    let series = recorder.closed.clone();

    let mut stages = Vec::new();
    let mut overall = Acc::empty();
    for (i, plan) in spec.stages.iter().enumerate() {
        let Some(begin) = stage_starts[i] else {
            continue;
        };
        let acc = &recorder.stages[i];
        overall.add(&acc.all);
        let seconds = (stage_ends[i] - begin).max(1e-3);
        let mut figures = acc.all.figures(seconds);
        usage_into(&mut figures, &series, Some(i));
        let requests = if spec.requests.is_empty() {
            Default::default()
        } else {
            spec.requests
                .iter()
                .zip(&acc.by_request)
                .map(|(r, a)| (r.name.clone(), a.figures(seconds)))
                .collect()
        };
        stages.push(StageReport {
            name: plan.name.clone(),
            start: begin,
            figures,
            requests,
        });
    }
    let total_seconds = stage_ends.iter().cloned().fold(0.0, f64::max).max(1e-3);
    let mut overall = overall.figures(total_seconds);
    usage_into(&mut overall, &series, None);
    drop(recorder);

    let thresholds = judge_all(spec, &overall, &stages);
    let stage_second = |name: &str| -> Option<usize> {
        let i = spec.stages.iter().position(|s| s.name == name)?;
        series.iter().position(|s| s.stage == i)
    };
    let p95_of = |name: &str| {
        stages
            .iter()
            .find(|s| s.name == name)
            .map(|s| s.figures.latency.p95)
    };
    let stress = (spec.profile == Profile::Stress).then(|| {
        let breaking_point = steps
            .iter()
            .take_while(|(_, broken)| broken.is_empty())
            .last()
            .map(|(rate, _)| *rate);
        let first_broken = steps.iter().find(|(_, b)| !b.is_empty());
        Breaking {
            breaking_point_rps: breaking_point,
            broke_at_rps: first_broken.map(|(r, _)| *r),
            broke: first_broken.map(|(_, b)| b.clone()).unwrap_or_default(),
            recovery: stage_second("recovery").map(|from| {
                recovery(
                    &series,
                    from,
                    p95_of("step 1").unwrap_or(0),
                    spec.recovery_factor,
                )
            }),
        }
    });
    let spike = (spec.profile == Profile::Spike)
        .then(|| {
            stage_second("after").map(|from| {
                recovery(
                    &series,
                    from,
                    p95_of("before").unwrap_or(0),
                    spec.recovery_factor,
                )
            })
        })
        .flatten();
    let soak = (spec.profile == Profile::Soak)
        .then(|| {
            let i = spec.stages.iter().position(|s| s.name == "soak")?;
            let span: Vec<_> = series.iter().filter(|s| s.stage == i).copied().collect();
            drift(&span)
        })
        .flatten();
    let mut warnings = Vec::new();
    if let Some(stage) = spec.stages.iter().find(|s| s.name == "soak")
        && spec.profile == Profile::Soak
        && stage.duration < Duration::from_secs(600)
    {
        warnings.push(format!(
            "the soak lasted {}: drift per hour from so short a span is mostly noise scaled up \
             (memory growth is still flagged only past 1 MiB); soak for 10 minutes or more",
            crate::vocab::units::format_duration(stage.duration)
        ));
    }
    let sent = shared.sent.load(Ordering::Relaxed);
    let late = shared.late.load(Ordering::Relaxed);
    if sent > 0 && late as f64 > 0.05 * sent as f64 {
        let busy = overall.cpu_max.filter(|c| *c >= 80.0);
        warnings.push(format!(
            "the generator fell behind its schedule: {:.0}% of requests were sent more than 2 ms \
             after their intended start (their latency counts from then){}",
            100.0 * late as f64 / sent as f64,
            match busy {
                Some(cpu) => format!(
                    "; the service used up to {cpu:.0}% of the machine meanwhile, so the two \
                     competed for its CPU and the figures at that load are the machine's limit \
                     as much as the service's"
                ),
                None => "; the generator, not the service, was the bottleneck: lower the rate, \
                         or give the generator a core of its own"
                    .into(),
            }
        ));
    }
    let generator_mean =
        series.iter().map(|s| s.generator_cpu).sum::<f64>() / series.len().max(1) as f64;
    if generator_mean > 90.0 * workers as f64 {
        warnings.push(format!(
            "the generator used {generator_mean:.0}% of a core on average, all it has: figures \
             may be the generator's limit"
        ));
    }
    Ok(LoadReport {
        profile: spec.profile.as_str().into(),
        model: if spec.open { "open" } else { "closed" }.into(),
        overall,
        stages,
        series,
        thresholds,
        stress,
        spike,
        soak,
        warnings,
        aborted,
        service: None,
    })
}

/// One user of the closed model: a request, its answer, the next.
async fn user(
    id: usize,
    shared: Arc<Shared>,
    target: Arc<Target>,
    picker: Arc<Picker>,
    start: Instant,
    port: u16,
) {
    let mut conn: OwnConnection = None;
    while !shared.stop.load(Ordering::Acquire) && id < shared.users.load(Ordering::Acquire) {
        let request = picker.pick();
        let began = Instant::now();
        let stage = shared.stage.load(Ordering::Acquire);
        let second = began.duration_since(start).as_secs();
        shared.in_flight.fetch_add(1, Ordering::AcqRel);
        let outcome = target.send_own(request, &mut conn, port).await;
        let latency = began.elapsed();
        // One lock a request: its arrival (in the second it started) and its answer together.
        if let Ok(mut r) = shared.recorder.lock() {
            r.offered(stage, second);
            let us = latency.as_micros().min(u64::MAX as u128) as u64;
            r.record(stage, request, second, us, outcome);
        }
        shared.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Sets this thread's timer slack to 1 us (`PR_SET_TIMERSLACK`).
fn precise_timers() {
    // SAFETY: prctl with plain integers; it affects the calling thread only.
    unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, 1000, 0, 0, 0) };
}

/// When arrival number `k` (counted from 0.5) falls, `offset` into a stage whose rate goes
/// linearly from `a` to `b` over `d`: the arrivals by time t are `a t + (b - a) t^2 / (2 d)`.
fn arrival_offset(a: f64, b: f64, d: Duration, k: f64) -> Option<Duration> {
    let span = d.as_secs_f64();
    let c = (b - a) / (2.0 * span);
    let t = if c.abs() < 1e-12 {
        if a <= 0.0 {
            return None;
        }
        k / a
    } else {
        let disc = a * a + 4.0 * c * k;
        if disc < 0.0 {
            return None;
        }
        (-a + disc.sqrt()) / (2.0 * c)
    };
    (t.is_finite() && t >= 0.0 && t <= span).then(|| Duration::from_secs_f64(t))
}

/// The once-a-second work of the scheduler.
struct Clock {
    start: Instant,
    next_tick: Instant,
    ticks: u64,
    monitor: Monitor,
    /// What the monitor read for each second.
    usage: Vec<SecondUsage>,
    /// Seconds are closed this long after they end (a request may wait up to the timeout).
    lag: u64,
    last_tick: Instant,
    planned: f64,
}

impl Clock {
    /// Reads the monitor, closes old seconds, shows progress, and checks the service and the
    /// `abort_on_fail` thresholds. `Some(reason)` when the run must stop.
    fn tick(
        &mut self,
        shared: &Shared,
        service: &mut Option<&mut Service>,
        spec: &LoadSpec,
        stage_index: usize,
        stage: &crate::config::StagePlan,
        live: &mut dyn FnMut(&Live),
    ) -> Result<Option<String>, LoadError> {
        let now = Instant::now();
        self.ticks += 1;
        self.next_tick = self.start + Duration::from_secs(self.ticks + 1);
        let r = self.monitor.read();
        self.usage.push(SecondUsage {
            cpu: r.cpu,
            rss: r.rss,
            fds: r.fds,
            generator_cpu: r.generator_cpu,
        });
        if let Some(signal) = crate::interrupt::interrupted() {
            return Err(LoadError::Interrupted(signal));
        }
        if let Some(s) = service.as_mut()
            && s.exited().is_some()
        {
            return Err(s.died("while under load"));
        }
        let since = now.duration_since(self.last_tick).as_secs_f64().max(1e-3);
        self.last_tick = now;
        let usage = &self.usage;
        let (achieved, p95, errors, requests) = {
            let Ok(mut rec) = shared.recorder.lock() else {
                return Err(LoadError::Setup("the load recorder was poisoned".into()));
            };
            rec.close_before(self.ticks.saturating_sub(self.lag), &|t| {
                usage.get(t as usize).copied().unwrap_or_default()
            });
            let recent = &rec.recent;
            let achieved = (recent.requests - recent.errors.total()) as f64 / since;
            let p95 = recent.latency().p95;
            rec.recent.hist.reset();
            rec.recent.requests = 0;
            rec.recent.errors = Default::default();
            let (e, n) = rec.stages.iter().fold((0, 0), |(e, n), s| {
                (e + s.all.errors.total(), n + s.all.requests)
            });
            (achieved, p95, e, n)
        };
        let elapsed = now.duration_since(self.start).as_secs_f64();
        live(&Live {
            elapsed,
            planned: self.planned,
            stage: stage.name.clone(),
            level: stage.to,
            open: spec.open,
            achieved_rps: achieved,
            p95,
            errors,
            requests,
            in_flight: shared.in_flight.load(Ordering::Acquire),
        });
        for t in spec.thresholds.iter().filter(|t| t.abort_on_fail) {
            if elapsed < t.delay_abort.as_secs_f64() {
                continue;
            }
            if let Some(s) = &t.stage
                && s != &stage.name
            {
                continue;
            }
            let Ok(rec) = shared.recorder.lock() else {
                continue;
            };
            let mut acc = rec.stages[stage_index].all.clone();
            if t.stage.is_none() {
                for (i, s) in rec.stages.iter().enumerate() {
                    if i != stage_index {
                        acc.add(&s.all);
                    }
                }
            }
            let figures = acc.figures(elapsed);
            if acc.requests > 0 && !judge(t, &figures).0 {
                return Ok(Some(format!(
                    "threshold `{}` broke after {elapsed:.0} s ({} was {}), and it has \
                     `abort_on_fail`",
                    t.expr,
                    describe_metric(t),
                    t.format(crate::stats::load::metric_value(t.metric, &figures).unwrap_or(0.0))
                )));
            }
        }
        Ok(None)
    }
}

fn describe_metric(t: &ThresholdSpec) -> &str {
    t.expr
        .split(['<', '>', '='])
        .next()
        .map(str::trim)
        .unwrap_or("")
}

/// Waits until no request is in flight (at most `timeout` and a second), ticking meanwhile.
#[allow(clippy::too_many_arguments)]
fn drain(
    shared: &Shared,
    timeout: Duration,
    clock: &mut Clock,
    service: &mut Option<&mut Service>,
    spec: &LoadSpec,
    index: usize,
    stage: &crate::config::StagePlan,
    live: &mut dyn FnMut(&Live),
) -> Result<(), LoadError> {
    let deadline = Instant::now() + timeout + Duration::from_secs(1);
    while shared.in_flight.load(Ordering::Acquire) > 0 && Instant::now() < deadline {
        if clock.next_tick <= Instant::now() {
            clock.tick(shared, service, spec, index, stage, live)?;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    Ok(())
}

/// The figures of one stage so far, with the service's usage in its seconds.
fn stage_figures(
    shared: &Shared,
    index: usize,
    clock: &Clock,
    begin: Option<f64>,
    end: f64,
) -> Figures {
    let Ok(rec) = shared.recorder.lock() else {
        return Figures::default();
    };
    let begin = begin.unwrap_or(0.0);
    let mut f = rec.stages[index].all.figures((end - begin).max(1e-3));
    let seconds = clock
        .usage
        .iter()
        .enumerate()
        .filter(|(t, _)| (*t as f64) >= begin.floor() && (*t as f64) < end)
        .map(|(_, u)| (u.cpu, u.rss));
    add_usage(&mut f, seconds);
    f
}

/// Fills CPU and memory of `figures` from the seconds of `stage` (all seconds for `None`).
fn usage_into(figures: &mut Figures, series: &[crate::vocab::load::Second], stage: Option<usize>) {
    let seconds = series
        .iter()
        .filter(|s| stage.is_none_or(|i| s.stage == i))
        .map(|s| (s.cpu, s.rss));
    add_usage(figures, seconds);
}

/// The mean and highest CPU and the highest RSS of `seconds` (CPU share, RSS bytes).
fn add_usage(figures: &mut Figures, seconds: impl Iterator<Item = (Option<f64>, Option<u64>)>) {
    let (mut cpu, mut rss) = (Vec::new(), None);
    for (c, r) in seconds {
        cpu.extend(c);
        rss = rss.max(r);
    }
    if !cpu.is_empty() {
        figures.cpu_mean = Some(cpu.iter().sum::<f64>() / cpu.len() as f64);
        figures.cpu_max = cpu.iter().cloned().reduce(f64::max);
    }
    figures.rss_max = rss;
}

/// Every threshold on its span: its stage, or the whole run. A stress profile judges the
/// thresholds without a stage on its first step: the steps above it are meant to break them,
/// and where they broke is the breaking point.
fn judge_all(spec: &LoadSpec, overall: &Figures, stages: &[StageReport]) -> Vec<ThresholdOutcome> {
    spec.thresholds
        .iter()
        .filter_map(|t| {
            let figures = match (&t.stage, spec.profile) {
                (Some(name), _) => &stages.iter().find(|s| &s.name == name)?.figures,
                (None, Profile::Stress) => &stages.first()?.figures,
                (None, _) => overall,
            };
            let (held, actual) = judge(t, figures);
            Some(ThresholdOutcome {
                expr: t.expr.clone(),
                level: t.level.as_str().into(),
                stage: t
                    .stage
                    .clone()
                    .or_else(|| (spec.profile == Profile::Stress).then(|| "step 1".to_string())),
                actual: actual.map_or_else(|| "not measured".into(), |v| t.format(v)),
                held,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrivals_follow_the_rate_and_its_ramp() {
        let d = Duration::from_secs(10);
        // A constant 100/s: arrival 0.5 at 5 ms, arrival 999.5 at 9.995 s, none after.
        let at = |k| arrival_offset(100.0, 100.0, d, k).map(|t| t.as_secs_f64());
        assert!((at(0.5).unwrap() - 0.005).abs() < 1e-12);
        assert!((at(999.5).unwrap() - 9.995).abs() < 1e-9);
        assert_eq!(at(1000.5), None);
        // From 0 to 200/s over 10 s: 1,000 arrivals in all, half of them in the last 2.93 s
        // (t^2 * 10 = 500 at t = 7.07 s).
        let ramp = |k| arrival_offset(0.0, 200.0, d, k).map(|t| t.as_secs_f64());
        assert!((ramp(500.0).unwrap() - 50f64.sqrt()).abs() < 1e-9);
        assert!(ramp(999.0).is_some());
        assert_eq!(ramp(1000.5), None);
        // Ramping down from 200/s to 0: 1,000 arrivals, the last near the end.
        let down = |k| arrival_offset(200.0, 0.0, d, k).map(|t| t.as_secs_f64());
        assert!(down(999.0).unwrap() < 10.0);
        assert_eq!(down(1000.5), None);
    }

    #[test]
    fn requests_are_picked_by_weight() {
        fastrand::seed(7);
        let p = Picker {
            cumulative: vec![1, 4],
        };
        let mut counts = [0; 2];
        for _ in 0..4000 {
            counts[p.pick()] += 1;
        }
        // 1:3, within a few percent.
        assert!((900..1100).contains(&counts[0]), "{counts:?}");
    }
}
