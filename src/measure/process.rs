//! The real runner: one child per run, in its own process group, reaped with `wait4`.
//!
//! Why each piece is there:
//! - `wait4` is the only call that returns the child's user and system CPU time and peak RSS.
//!   They include every descendant the child waited for (Linux keeps the maximum RSS over them).
//! - The tool becomes a child subreaper, so a descendant orphaned by its parent is reparented to
//!   the tool instead of init: it can then be killed and reaped, and its CPU time counted.
//! - The child leads its own process group, so a timeout kills the whole group at once. The
//!   group is also killed after every run, while the leader is still an unreaped zombie (so its
//!   id cannot be reused): background processes a workload leaves behind would disturb the next
//!   run.
//! - A pidfd lets the tool sleep in `poll` until the child exits or the timeout passes, with no
//!   thread and no polling loop; kernels without pidfd (before 5.3) fall back to polling.
//!
//! The runner assumes the tool has no other children while a run is in progress: it reaps
//! any child it finds.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::pipes::{Pipes, Stream};
use super::runner::{Exit, RunResult, RunSpec, Runner, Sample};
use crate::errors::MeasureError;

/// How much of standard error is kept for failure messages.
const STDERR_TAIL_BYTES: u64 = super::pipes::TAIL_BYTES as u64;
const STDERR_TAIL_LINES: usize = 20;

/// Called with each line a watched child writes.
type LineWatcher<'a> = dyn FnMut(Stream, &str) + 'a;

/// Starts real processes.
pub struct ProcessRunner {
    /// Standard error of each run goes here (an in-memory file, emptied when a run wrote to it),
    /// so that a child writing a lot can never block on a full pipe and no reader thread is
    /// needed.
    stderr: File,
}

impl ProcessRunner {
    pub fn new() -> Result<Self, MeasureError> {
        // SAFETY: prctl with PR_SET_CHILD_SUBREAPER takes an integer flag and touches no memory.
        let rc = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
        if rc != 0 {
            return Err(sys("prctl(PR_SET_CHILD_SUBREAPER)"));
        }
        Ok(ProcessRunner {
            stderr: stderr_file()?,
        })
    }

    fn stderr_tail(&mut self) -> String {
        let len = self.stderr.metadata().map(|m| m.len()).unwrap_or(0);
        let mut buf = Vec::new();
        let start = len.saturating_sub(STDERR_TAIL_BYTES);
        if self.stderr.seek(SeekFrom::Start(start)).is_err()
            || self.stderr.read_to_end(&mut buf).is_err()
        {
            return String::new();
        }
        let text = String::from_utf8_lossy(&buf);
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(STDERR_TAIL_LINES)..].join("\n")
    }
}

impl Runner for ProcessRunner {
    fn run(&mut self, spec: &RunSpec) -> Result<RunResult, MeasureError> {
        self.run_with(spec, None)
    }

    fn run_watched(
        &mut self,
        spec: &RunSpec,
        on_line: &mut dyn FnMut(Stream, &str),
    ) -> Result<RunResult, MeasureError> {
        self.run_with(spec, Some(on_line))
    }

    fn probes_memory(&self) -> bool {
        true
    }
}

impl ProcessRunner {
    /// One run. Unwatched, standard output goes nowhere and standard error to the in-memory
    /// file; watched, both come through pipes, line by line, as the child writes them.
    fn run_with(
        &mut self,
        spec: &RunSpec,
        mut watch: Option<&mut LineWatcher>,
    ) -> Result<RunResult, MeasureError> {
        if let Some(signal) = crate::interrupt::interrupted() {
            return Err(MeasureError::Interrupted(signal));
        }
        crate::interrupt::doing(format!("running `{}`", spec.name));
        let io = |what| move |source| MeasureError::Sys { what, source };
        let mut cmd = Command::new(&spec.argv[0]);
        cmd.args(&spec.argv[1..])
            .envs(spec.env.iter().map(|(k, v)| (k, v)))
            .current_dir(&spec.cwd)
            .stdin(Stdio::null())
            .process_group(0);
        // The last defence when the tool itself is killed with SIGKILL and cannot kill the
        // group. Workloads are started from the main thread, which lives as long as the tool.
        die_with_parent(&mut cmd);
        if watch.is_some() {
            cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        } else {
            // The child shares this file's offset; it is zero unless the last run wrote
            // something.
            if self
                .stderr
                .stream_position()
                .map_err(io("seeking standard error"))?
                != 0
            {
                self.stderr
                    .set_len(0)
                    .map_err(io("truncating standard error"))?;
                self.stderr
                    .seek(SeekFrom::Start(0))
                    .map_err(io("seeking standard error"))?;
            }
            let stderr = self
                .stderr
                .try_clone()
                .map_err(io("duplicating a descriptor"))?;
            cmd.stdout(Stdio::null()).stderr(stderr);
        }

        let rss_floor_bytes = own_peak_rss();
        let start = Instant::now();
        let mut child = cmd.spawn().map_err(|source| MeasureError::Spawn {
            program: spec.argv[0].clone(),
            source,
        })?;
        let pid = child.id() as libc::pid_t;
        crate::interrupt::watch_group(pid);
        if crate::interrupt::interrupted().is_some() {
            // The signal came between the spawn and the line above: the handler did not see
            // this group.
            // SAFETY: plain integers; the child is not reaped, so the group is still ours.
            unsafe { libc::kill(-pid, libc::SIGKILL) };
        }
        let deadline = start.checked_add(spec.timeout);
        let mut pipes = watch
            .as_ref()
            .map(|_| Pipes::new(child.stdout.take(), child.stderr.take()));
        let timed_out = match (&mut pipes, &mut watch) {
            (Some(pipes), Some(on_line)) => !wait_watching(pid, deadline, pipes, *on_line)?,
            _ => {
                let stderr = &self.stderr;
                !wait_for_exit(pid, deadline, &mut || trim_to_tail(stderr))?
            }
        };
        let wall = start.elapsed();
        // SAFETY: kill takes plain integers; the leader is an unreaped zombie, so the group id
        // still names our group.
        unsafe { libc::kill(-pid, libc::SIGKILL) };
        let Waited::Reaped(status, usage) = wait4(pid, 0)? else {
            return Err(sys("wait4 on the workload"));
        };
        let mut sample = Sample {
            wall_ns: wall.as_nanos() as u64,
            user_ns: 0,
            sys_ns: 0,
            max_rss_bytes: 0,
        };
        add_usage(&mut sample, &usage);
        reap_orphans(&mut sample)?;
        crate::interrupt::unwatch_group();
        if let Some(signal) = crate::interrupt::interrupted() {
            return Err(MeasureError::Interrupted(signal));
        }

        let exit = if timed_out {
            Exit::TimedOut
        } else if libc::WIFSIGNALED(status) {
            Exit::Signal(libc::WTERMSIG(status))
        } else {
            Exit::Code(libc::WEXITSTATUS(status))
        };
        let stderr_tail = match (&mut pipes, &mut watch) {
            (Some(pipes), Some(on_line)) => {
                // Every writer is gone: what is left in the pipes ends now.
                pipes.finish(*on_line);
                if exit == Exit::Code(0) {
                    String::new()
                } else {
                    pipes.stderr_tail(STDERR_TAIL_LINES)
                }
            }
            _ if exit == Exit::Code(0) => String::new(),
            _ => self.stderr_tail(),
        };
        // Whatever the child wrote is not needed any more: give the memory back now.
        if watch.is_none() && self.stderr.set_len(0).is_ok() {
            let _ = self.stderr.seek(SeekFrom::Start(0));
        }
        Ok(RunResult {
            sample,
            exit,
            stderr_tail,
            rss_floor_bytes,
        })
    }
}

/// Waits until `pid` exits (true) or `deadline` passes (false, after killing its group),
/// passing the lines of its pipes to `on_line` meanwhile. The child is left unreaped.
fn wait_watching(
    pid: libc::pid_t,
    deadline: Option<Instant>,
    pipes: &mut Pipes,
    on_line: &mut dyn FnMut(Stream, &str),
) -> Result<bool, MeasureError> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
    let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) } as libc::c_int;
    let result = (|| loop {
        let mut fds: Vec<libc::pollfd> = pipes
            .fds()
            .into_iter()
            .chain((pidfd >= 0).then_some(pidfd))
            .map(|fd| libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            })
            .collect();
        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        // Without a pidfd the exit is found by checking now and then.
        let cap = if pidfd >= 0 { 1000 } else { 20 };
        let ms = left.map_or(cap, |l| {
            (l.as_millis().min(cap as u128) as i32) + i32::from(!l.is_zero())
        });
        // SAFETY: a valid array of pollfd of the given length.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
        if n < 0 && std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            return Err(sys("poll on the workload's pipes"));
        }
        pipes.read_available(on_line);
        let exited = if pidfd >= 0 {
            fds.last().is_some_and(|p| p.revents != 0)
        } else {
            has_exited(pid)?
        };
        if exited {
            return Ok(true);
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            // SAFETY: the child is not reaped yet, so the group id is still ours.
            unsafe { libc::kill(-pid, libc::SIGKILL) };
            return Ok(false);
        }
    })();
    if pidfd >= 0 {
        // SAFETY: the descriptor pidfd_open returned; nothing else owns it.
        unsafe { libc::close(pidfd) };
    }
    result
}

/// Whether `pid` has exited, without reaping it.
fn has_exited(pid: libc::pid_t) -> Result<bool, MeasureError> {
    // SAFETY: siginfo_t is plain data, zeroed is a valid value; waitid fills it.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    let flags = libc::WEXITED | libc::WNOHANG | libc::WNOWAIT;
    // SAFETY: a valid pointer to a siginfo_t.
    let rc = unsafe { libc::waitid(libc::P_PID, pid as libc::id_t, &mut info, flags) };
    if rc != 0 {
        return if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
            Ok(false)
        } else {
            Err(sys("waitid on the workload"))
        };
    }
    // SAFETY: si_pid is set by waitid; zero means the child has not exited.
    Ok(unsafe { info.si_pid() } != 0)
}

/// Standard error's file is trimmed to its tail once it holds more than this.
const TRIM_ABOVE_BYTES: u64 = 1 << 20;

/// Frees all but the last 64 KiB of standard error's file while the child writes to it: the
/// child's writes go on at its offset, and the freed start reads as zeros, which nobody reads
/// (only the tail is kept). A workload that writes gigabytes to standard error then holds
/// about what it writes between two ticks, not all of it.
fn trim_to_tail(file: &File) {
    use std::os::fd::AsRawFd;
    let Ok(len) = file.metadata().map(|m| m.len()) else {
        return;
    };
    if len <= TRIM_ABOVE_BYTES {
        return;
    }
    let end = (len - 64 * 1024) & !4095;
    // SAFETY: fallocate on a descriptor we own, with integer arguments. memfd (shmem) and most
    // file systems support punching holes; where one does not, nothing happens.
    unsafe {
        libc::fallocate(
            file.as_raw_fd(),
            libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE,
            0,
            end as libc::off_t,
        );
    }
}

/// An in-memory file (memfd), or a temporary file where memfd is not available.
fn stderr_file() -> Result<File, MeasureError> {
    // SAFETY: memfd_create takes a NUL-terminated name and flags, and returns a new descriptor
    // or -1.
    let fd = unsafe { libc::memfd_create(c"cargo-perf-stderr".as_ptr(), libc::MFD_CLOEXEC) };
    if fd >= 0 {
        // SAFETY: fd is a new descriptor that nothing else owns.
        return Ok(unsafe { <File as std::os::fd::FromRawFd>::from_raw_fd(fd) });
    }
    tempfile::tempfile().map_err(|source| MeasureError::Sys {
        what: "creating a temporary file for standard error",
        source,
    })
}

/// Waits until `pid` exits (true) or `deadline` passes (false, after killing its group). The
/// child is left unreaped. A deadline too far away to represent (`None`) never passes.
/// `tick` is called every `TICK` meanwhile (to keep standard error's file small).
fn wait_for_exit(
    pid: libc::pid_t,
    deadline: Option<Instant>,
    tick: &mut dyn FnMut(),
) -> Result<bool, MeasureError> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) } as libc::c_int;
    let exited = if fd >= 0 {
        let result = poll_pidfd(fd, deadline, tick);
        // SAFETY: fd is the descriptor pidfd_open returned and nothing else owns it.
        unsafe { libc::close(fd) };
        result?
    } else {
        poll_waitid(pid, deadline, tick)?
    };
    if !exited {
        // SAFETY: as above; the child is not reaped yet.
        unsafe { libc::kill(-pid, libc::SIGKILL) };
    }
    Ok(exited)
}

/// How often a waiting runner looks at the size of standard error's file.
const TICK: Duration = Duration::from_millis(100);

fn poll_pidfd(
    fd: libc::c_int,
    deadline: Option<Instant>,
    tick: &mut dyn FnMut(),
) -> Result<bool, MeasureError> {
    let mut next_tick = Instant::now() + TICK;
    loop {
        let now = Instant::now();
        if now >= next_tick {
            tick();
            next_tick = now + TICK;
        }
        let until = match deadline {
            Some(d) => d.min(next_tick),
            None => next_tick,
        };
        let left = until.saturating_duration_since(Instant::now());
        let ms = left.as_millis().min(i32::MAX as u128 - 1) as i32 + i32::from(!left.is_zero());
        let mut pfd = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        let n = unsafe { libc::poll(&mut pfd, 1, ms) };
        if n > 0 {
            return Ok(true);
        }
        if n == 0 && deadline.is_some_and(|d| Instant::now() >= d) {
            return Ok(false);
        }
        if n < 0 && std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            return Err(sys("poll on the workload's pidfd"));
        }
    }
}

/// The fallback for kernels without pidfd: checks for exit with growing sleeps.
fn poll_waitid(
    pid: libc::pid_t,
    deadline: Option<Instant>,
    tick: &mut dyn FnMut(),
) -> Result<bool, MeasureError> {
    let mut pause = Duration::from_micros(50);
    let mut next_tick = Instant::now() + TICK;
    loop {
        if has_exited(pid)? {
            return Ok(true);
        }
        if Instant::now() >= next_tick {
            tick();
            next_tick = Instant::now() + TICK;
        }
        let now = Instant::now();
        let left = deadline.map(|d| d.saturating_duration_since(now));
        if left.is_some_and(|l| l.is_zero()) {
            return Ok(false);
        }
        std::thread::sleep(left.map_or(pause, |l| pause.min(l)));
        pause = (pause * 2).min(Duration::from_millis(5));
    }
}

/// What `wait4` found.
enum Waited {
    Reaped(libc::c_int, libc::rusage),
    /// Children exist but none has exited (only with `WNOHANG`).
    NoneReady,
    NoChildren,
}

/// `wait4(pid, flags)`, retried on EINTR.
fn wait4(pid: libc::pid_t, flags: libc::c_int) -> Result<Waited, MeasureError> {
    loop {
        let mut status = 0;
        // SAFETY: rusage is plain data; wait4 fills it.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: valid pointers to a status int and a rusage.
        let rc = unsafe { libc::wait4(pid, &mut status, flags, &mut usage) };
        if rc > 0 {
            return Ok(Waited::Reaped(status, usage));
        }
        if rc == 0 {
            return Ok(Waited::NoneReady);
        }
        match std::io::Error::last_os_error().raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::ECHILD) => return Ok(Waited::NoChildren),
            _ => return Err(sys("wait4")),
        }
    }
}

/// Kills and reaps every child the tool still has: descendants of the workload that left its
/// process group and were reparented to the tool. Their CPU time and RSS join the sample.
fn reap_orphans(sample: &mut Sample) -> Result<(), MeasureError> {
    loop {
        match wait4(-1, libc::WNOHANG)? {
            Waited::Reaped(_, usage) => {
                add_usage(sample, &usage);
                continue;
            }
            Waited::NoChildren => return Ok(()),
            Waited::NoneReady => {}
        }
        let alive = children_of_self();
        if alive.is_empty() {
            return Ok(());
        }
        for pid in alive {
            // SAFETY: plain integers; these are our own children, unreaped, so their ids are
            // ours. Their groups go too, in case they lead one.
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
                libc::kill(pid, libc::SIGKILL);
            }
        }
        if let Waited::Reaped(_, usage) = wait4(-1, 0)? {
            add_usage(sample, &usage);
        }
    }
}

/// The live children of this process, from `/proc/self/task/*/children`.
fn children_of_self() -> Vec<libc::pid_t> {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    let mut pids = Vec::new();
    for task in tasks.flatten() {
        if let Ok(text) = std::fs::read_to_string(task.path().join("children")) {
            pids.extend(
                text.split_whitespace()
                    .filter_map(|p| p.parse::<libc::pid_t>().ok()),
            );
        }
    }
    pids
}

/// The tool's own peak RSS, which the kernel attributes to a child at `exec` (see `RunResult`).
fn own_peak_rss() -> u64 {
    // SAFETY: rusage is plain data; getrusage fills it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: a valid pointer to a rusage.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return 0;
    }
    usage.ru_maxrss as u64 * 1024
}

fn add_usage(sample: &mut Sample, usage: &libc::rusage) {
    let ns = |tv: libc::timeval| tv.tv_sec as u64 * 1_000_000_000 + tv.tv_usec as u64 * 1000;
    sample.user_ns += ns(usage.ru_utime);
    sample.sys_ns += ns(usage.ru_stime);
    // Linux reports ru_maxrss in KiB.
    sample.max_rss_bytes = sample.max_rss_bytes.max(usage.ru_maxrss as u64 * 1024);
}

fn sys(what: &'static str) -> MeasureError {
    MeasureError::Sys {
        what,
        source: std::io::Error::last_os_error(),
    }
}

/// Makes the kernel send the child SIGKILL when the thread that starts it exits (the tool
/// killed with SIGKILL cannot kill the child's group itself). Start the child from a thread
/// that lives as long as the child should.
pub(crate) fn die_with_parent(cmd: &mut Command) {
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: only async-signal-safe calls run between fork and exec: prctl, getppid, raise.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The tool may have died before the prctl: then no signal would come.
            if libc::getppid() != parent {
                libc::raise(libc::SIGKILL);
            }
            Ok(())
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn standard_error_is_trimmed_to_its_tail() {
        let mut f = stderr_file().unwrap();
        let line = b"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\n";
        for _ in 0..(8 << 20) / line.len() {
            f.write_all(line).unwrap();
        }
        f.write_all(b"the last line\n").unwrap();
        let before = f.metadata().unwrap();
        assert!(before.blocks() * 512 >= 8 << 20);
        trim_to_tail(&f);
        let after = f.metadata().unwrap();
        // The size stays (the writer's offset goes on); the memory is given back.
        assert_eq!(after.len(), before.len());
        assert!(
            after.blocks() * 512 < 256 << 10,
            "{} blocks",
            after.blocks()
        );
        let mut runner = ProcessRunner { stderr: f };
        assert!(runner.stderr_tail().ends_with("the last line"));
    }
}
