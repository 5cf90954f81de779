//! The service a load workload drives: started in a process group of its own on a free loopback
//! port, waited for until its readiness path answers, watched while it runs, and stopped with
//! SIGTERM and then SIGKILL. Whatever happens, it is not left running: dropping a `Service`
//! kills its group.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::LoadError;

/// How many lines of the service's output are kept for error messages.
const TAIL_LINES: usize = 20;

/// A free port on 127.0.0.1, as the kernel hands one out. Another process could take it before
/// the service binds it; the readiness wait then reports the service's own error.
pub fn free_port() -> Result<u16, LoadError> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(|e| LoadError::Setup(format!("cannot find a free loopback port: {e}")))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| LoadError::Setup(format!("cannot find a free loopback port: {e}")))
}

pub struct Service {
    child: Child,
    pub pid: i32,
    pub port: u16,
    program: String,
    tail: Arc<Mutex<VecDeque<String>>>,
    started: Instant,
    reaped: Option<ExitStatus>,
}

impl Service {
    /// Starts `argv` in its own process group, its output kept in a short tail.
    pub fn start(
        argv: &[String],
        env: &[(String, String)],
        cwd: &Path,
        port: u16,
    ) -> Result<Service, LoadError> {
        let program = argv.first().cloned().unwrap_or_default();
        let mut cmd = Command::new(&program);
        cmd.args(&argv[1..])
            .envs(env.iter().map(|(k, v)| (k, v)))
            .current_dir(cwd)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        crate::measure::process::die_with_parent(&mut cmd);
        let mut child = cmd.spawn().map_err(|source| LoadError::Spawn {
            program: program.clone(),
            source,
        })?;
        let pid = child.id() as i32;
        crate::interrupt::watch_group(pid);
        let tail = Arc::new(Mutex::new(VecDeque::new()));
        if let Some(out) = child.stdout.take() {
            keep_tail(out, Arc::clone(&tail));
        }
        if let Some(err) = child.stderr.take() {
            keep_tail(err, Arc::clone(&tail));
        }
        Ok(Service {
            child,
            pid,
            port,
            program,
            tail,
            started: Instant::now(),
            reaped: None,
        })
    }

    /// The last lines the service wrote, for an error message.
    pub fn tail(&self) -> String {
        let tail = self.tail.lock().map(|t| t.clone()).unwrap_or_default();
        if tail.is_empty() {
            "(it wrote nothing)".into()
        } else {
            tail.into_iter().collect::<Vec<_>>().join("\n")
        }
    }

    /// Whether it has exited, and how; reaps it.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        if self.reaped.is_none()
            && let Ok(Some(status)) = self.child.try_wait()
        {
            self.reaped = Some(status);
        }
        self.reaped
    }

    /// The error for a service that exited while it should be serving.
    pub fn died(&mut self, when: &str) -> LoadError {
        let status = self
            .exited()
            .map(describe)
            .unwrap_or_else(|| "ended".into());
        // Its output threads may still hold the last lines: give them a moment.
        std::thread::sleep(Duration::from_millis(50));
        LoadError::ServiceDied {
            program: self.program.clone(),
            status,
            when: format!(
                "{when}, {:.1} s after it started",
                self.started.elapsed().as_secs_f64()
            ),
            tail: self.tail(),
        }
    }

    /// Waits until `GET ready` answers 2xx; the service must not exit meanwhile.
    ///
    /// A service that answers, but 404 or 405 for two seconds on end, listens on its port and
    /// has no such path: that is said at once rather than after the whole timeout.
    pub fn wait_ready(&mut self, ready: &str, timeout: Duration) -> Result<Duration, LoadError> {
        let started = Instant::now();
        let deadline = started + timeout;
        let mut missing_since: Option<Instant> = None;
        loop {
            if self.exited().is_some() {
                return Err(self.died("before it became ready"));
            }
            if let Some(signal) = crate::interrupt::interrupted() {
                return Err(LoadError::Interrupted(signal));
            }
            let answer = probe(self.port, ready);
            let missing = matches!(answer, Ok(404 | 405));
            let (last, hint) = match answer {
                Ok(status) if (200..300).contains(&status) => return Ok(started.elapsed()),
                Ok(status) => (
                    format!("it answered {status}"),
                    format!(
                        "it listens on its port, so point `service.ready` at a path that answers \
                         2xx once it can serve (now `{ready}`)"
                    ),
                ),
                Err(e) => (
                    e,
                    "check that it listens on 127.0.0.1 at the `{port}` it is given, or raise \
                     `service.ready_timeout`"
                        .to_string(),
                ),
            };
            missing_since = if missing {
                missing_since.or(Some(Instant::now()))
            } else {
                None
            };
            let gave_up = missing_since.is_some_and(|t| t.elapsed() >= Duration::from_secs(2));
            if Instant::now() >= deadline || gave_up {
                return Err(LoadError::NotReady {
                    program: self.program.clone(),
                    detail: format!(
                        "http://127.0.0.1:{}{ready} did not answer 2xx within {:.1} s ({last}); \
                         {hint}",
                        self.port,
                        started.elapsed().as_secs_f64()
                    ),
                    tail: self.tail(),
                });
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// SIGTERM to its group, then SIGKILL after `grace`. Says whether SIGKILL was needed.
    pub fn stop(&mut self, grace: Duration) -> bool {
        if self.exited().is_some() {
            self.kill_group();
            return false;
        }
        // SAFETY: kill with plain integers; the group is ours (we started its leader).
        unsafe { libc::kill(-self.pid, libc::SIGTERM) };
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if self.exited().is_some() {
                self.kill_group();
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        self.kill_group();
        let _ = self.child.wait().map(|s| self.reaped = Some(s));
        true
    }

    /// SIGKILL to whatever is left of its group.
    fn kill_group(&mut self) {
        // SAFETY: as above.
        unsafe { libc::kill(-self.pid, libc::SIGKILL) };
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.kill_group();
        if self.reaped.is_none() {
            let _ = self.child.wait();
        }
        crate::interrupt::unwatch_group();
    }
}

/// How an exit status reads in an error: `exit code 3`, `signal 6 (SIGABRT)`.
fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(signal)) => {
            let name = match signal {
                libc::SIGABRT => "SIGABRT",
                libc::SIGSEGV => "SIGSEGV",
                libc::SIGBUS => "SIGBUS",
                libc::SIGKILL => "SIGKILL",
                libc::SIGTERM => "SIGTERM",
                libc::SIGINT => "SIGINT",
                libc::SIGILL => "SIGILL",
                libc::SIGFPE => "SIGFPE",
                _ => return format!("signal {signal}"),
            };
            format!("signal {signal} ({name})")
        }
        _ => "an unknown status".into(),
    }
}

fn keep_tail(stream: impl Read + Send + 'static, tail: Arc<Mutex<VecDeque<String>>>) {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stream);
        let mut line = Vec::new();
        while reader.read_until(b'\n', &mut line).is_ok_and(|n| n > 0) {
            let text = String::from_utf8_lossy(&line).trim_end().to_owned();
            line.clear();
            if let Ok(mut t) = tail.lock() {
                if t.len() == TAIL_LINES {
                    t.pop_front();
                }
                t.push_back(text);
            }
        }
    });
}

/// One `GET path` over a fresh connection: the status, or what went wrong.
fn probe(port: u16, path: &str) -> Result<u16, String> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_millis(500))
        .map_err(|e| format!("connecting failed: {e}"))?;
    let limit = Some(Duration::from_secs(1));
    let _ = stream.set_read_timeout(limit);
    let _ = stream.set_write_timeout(limit);
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| format!("sending failed: {e}"))?;
    let mut line = String::new();
    BufReader::new(stream)
        .read_line(&mut line)
        .map_err(|e| format!("no answer: {e}"))?;
    line.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("not an HTTP answer: {:?}", line.trim_end()))
}
