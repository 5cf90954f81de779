//! Interruption: SIGINT, SIGTERM and SIGHUP end the current workload's process group at once,
//! and the tool then unwinds normally (temporary folders removed, locks released) and exits
//! with 128 + the signal's number, as shells expect.
//!
//! Each workload runs in a process group of its own, so a Ctrl-C at the terminal reaches the
//! tool (and a cargo build it runs), not the workload: the handler kills the workload's group,
//! and forwards SIGTERM to a cargo or git child the tool is waiting for. The handler does only
//! what a signal handler may (atomic loads and stores, `kill`); everything else happens when the
//! tool next looks at `interrupted()`. A second signal of the same kind takes its default
//! action. When the tool itself is killed with SIGKILL, its workloads get SIGKILL from the
//! kernel (`PR_SET_PDEATHSIG`, set by the runner in each workload's leader).

use std::sync::Mutex;
use std::sync::atomic::{AtomicI32, Ordering};

/// The signal that interrupted the tool, or 0.
static SIGNAL: AtomicI32 = AtomicI32::new(0);
/// The process group of the workload being measured, or 0.
static GROUP: AtomicI32 = AtomicI32::new(0);
/// A child the tool waits for that is not a workload (cargo, git), or 0.
static CHILD: AtomicI32 = AtomicI32::new(0);
/// What the tool was doing, for the line that says what was interrupted.
static ACTIVITY: Mutex<String> = Mutex::new(String::new());

extern "C" fn on_signal(signal: libc::c_int) {
    SIGNAL.store(signal, Ordering::SeqCst);
    let group = GROUP.load(Ordering::SeqCst);
    if group > 0 {
        // SAFETY: kill is async-signal-safe and takes plain integers.
        unsafe { libc::kill(-group, libc::SIGKILL) };
    }
    let child = CHILD.load(Ordering::SeqCst);
    if child > 0 {
        // SAFETY: as above.
        unsafe { libc::kill(child, libc::SIGTERM) };
    }
}

/// Installs the handler for SIGINT, SIGTERM and SIGHUP. Blocking calls are not restarted: they
/// return `EINTR`, and the loops that make them look at `interrupted()`.
pub fn install() {
    for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: a zeroed sigaction is valid; the handler only touches atomics and calls
        // kill, which are async-signal-safe.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as *const () as usize;
            action.sa_flags = libc::SA_RESETHAND;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, std::ptr::null_mut());
        }
    }
}

/// The signal that interrupted the tool, if one did.
pub fn interrupted() -> Option<i32> {
    match SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}

/// The exit code for an interruption by `signal`: 130 for SIGINT, 143 for SIGTERM, 129 for
/// SIGHUP.
pub fn exit_code(signal: i32) -> i32 {
    EXIT_BASE + signal
}

/// What shells add to a signal's number for a process it ended.
pub const EXIT_BASE: i32 = 128;

/// `SIGINT`, `SIGTERM`, `SIGHUP`.
pub fn signal_name(signal: i32) -> String {
    match signal {
        libc::SIGINT => "SIGINT".into(),
        libc::SIGTERM => "SIGTERM".into(),
        libc::SIGHUP => "SIGHUP".into(),
        s => format!("signal {s}"),
    }
}

/// Says what the tool is doing, for the line printed when it is interrupted.
pub fn doing(activity: impl Into<String>) {
    if let Ok(mut a) = ACTIVITY.lock() {
        *a = activity.into();
    }
}

/// What the tool was doing when it was interrupted.
pub fn activity() -> String {
    ACTIVITY.lock().map(|a| a.clone()).unwrap_or_default()
}

/// Marks `group` as the workload's process group while it runs; a signal kills it. Call
/// `interrupted()` right after: a signal that came before this call did not see the group.
pub fn watch_group(group: i32) {
    GROUP.store(group, Ordering::SeqCst);
}

/// The workload's group is gone (reaped).
pub fn unwatch_group() {
    GROUP.store(0, Ordering::SeqCst);
}

/// Marks `pid` (a cargo or git the tool waits for) to receive SIGTERM on an interruption.
pub fn watch_child(pid: i32) {
    CHILD.store(pid, Ordering::SeqCst);
}

/// That child is reaped.
pub fn unwatch_child() {
    CHILD.store(0, Ordering::SeqCst);
}

/// The error an interrupted operation returns; `dispatch` turns it into the exit code.
#[derive(Debug, thiserror::Error)]
#[error("interrupted by {} while {}", signal_name(*.0), activity_or("working"))]
pub struct Interrupted(pub i32);

fn activity_or(default: &str) -> String {
    let a = activity();
    if a.is_empty() { default.to_owned() } else { a }
}
