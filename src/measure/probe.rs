//! Exact peak memory of small commands, below the tool's own.
//!
//! Linux folds the high-water RSS of the address space a process leaves at `exec` into that
//! process's `ru_maxrss`. A workload the tool starts leaves the tool's own address space (the
//! child is created with `vfork`), so `wait4` can only say that a workload peaking below the
//! tool's ~5-8 MiB used "at most" that much, and most command-line runs are that small.
//!
//! The probe is the way round: the tool starts itself as `cargo-perf __rss-probe OUT ARGV...`,
//! a fresh process whose address space holds little, which `fork`s (a copy of that small space,
//! not a share of the tool's) and `exec`s the workload, reaps it with `wait4`, writes its peak
//! and the floor to OUT, and exits as the workload did. The workload's figure then folds in only
//! the probe's copy (`VmHWM` of the forked child before its `exec`, which it reports through a
//! pipe), typically a few hundred KiB. It is one extra run, taken only when every sample of a
//! workload peaked at or below the tool's floor.

use std::ffi::{CString, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::runner::{RunSpec, Runner};
use crate::errors::MeasureError;

/// The hidden first argument that makes `cargo-perf` a probe.
pub const ARG: &str = "__rss-probe";

/// A probe's findings: the workload's peak RSS, and the floor below which that peak is only an
/// upper bound (the probe's copy it started from).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProbedRss {
    pub peak_bytes: u64,
    pub floor_bytes: u64,
}

/// The executable that can act as a probe: this one, when it is cargo-perf (not a test
/// harness that links the library).
fn probe_exe() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let name = exe.file_name()?.to_string_lossy().into_owned();
    (name == "cargo-perf").then_some(exe)
}

/// Runs `spec` once through a probe and returns the exact peak, or `None` when no probe can be
/// started here or the run failed (its samples stand then).
pub fn probe_rss(
    runner: &mut dyn Runner,
    spec: &RunSpec,
) -> Result<Option<ProbedRss>, MeasureError> {
    let Some(exe) = probe_exe() else {
        return Ok(None);
    };
    let dir = tempfile::Builder::new()
        .prefix("cargo-perf-probe-")
        .tempdir()
        .map_err(|source| MeasureError::Sys {
            what: "creating a folder for the memory probe",
            source,
        })?;
    let out = dir.path().join("rss");
    let mut argv = vec![
        exe.display().to_string(),
        ARG.to_owned(),
        out.display().to_string(),
    ];
    argv.extend(spec.argv.iter().cloned());
    let probe = RunSpec {
        argv,
        ..spec.clone()
    };
    let run = runner.run(&probe)?;
    if !run.succeeded() {
        return Ok(None);
    }
    Ok(read_findings(&out))
}

fn read_findings(path: &Path) -> Option<ProbedRss> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut fields = text.split_whitespace().map(|f| f.parse::<u64>().ok());
    Some(ProbedRss {
        peak_bytes: fields.next()??,
        floor_bytes: fields.next()??,
    })
}

/// The probe itself: `args` are `[exe, ARG, OUT, PROGRAM, ARGS...]`. Returns the exit code to
/// exit with (after re-raising the workload's signal, if it died of one).
pub fn probe_main(args: &[OsString]) -> i32 {
    let (Some(out), Some(_)) = (args.get(2), args.get(3)) else {
        eprintln!("cargo-perf {ARG}: usage: cargo-perf {ARG} OUT PROGRAM [ARGS...]");
        return 2;
    };
    let Ok(argv) = args[3..]
        .iter()
        .map(|a| CString::new(a.as_bytes()))
        .collect::<Result<Vec<CString>, _>>()
    else {
        eprintln!("cargo-perf {ARG}: an argument holds a NUL byte");
        return 2;
    };
    let mut pointers: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    pointers.push(std::ptr::null());
    let mut fds = [0; 2];
    // SAFETY: a valid array of two ints.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        eprintln!(
            "cargo-perf {ARG}: pipe: {}",
            std::io::Error::last_os_error()
        );
        return 2;
    }
    let (read_end, write_end) = (fds[0], fds[1]);
    // SAFETY: the child calls only async-signal-safe functions (prctl, open, read, write,
    // close, execvp, _exit) on memory prepared before the fork.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        eprintln!(
            "cargo-perf {ARG}: fork: {}",
            std::io::Error::last_os_error()
        );
        return 2;
    }
    if pid == 0 {
        // SAFETY: see above; every pointer is to memory that lives until exec or _exit.
        unsafe {
            libc::close(read_end);
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
            let floor = own_high_water_kib();
            let bytes = floor.to_ne_bytes();
            libc::write(write_end, bytes.as_ptr().cast(), bytes.len());
            libc::execvp(pointers[0], pointers.as_ptr());
            libc::_exit(127);
        }
    }
    // SAFETY: closing our copy of the write end; reading 8 bytes into a stack buffer.
    let floor_kib = unsafe {
        libc::close(write_end);
        let mut bytes = [0u8; 8];
        let n = libc::read(read_end, bytes.as_mut_ptr().cast(), bytes.len());
        libc::close(read_end);
        if n == 8 { u64::from_ne_bytes(bytes) } else { 0 }
    };
    let (status, usage) = loop {
        let mut status = 0;
        // SAFETY: rusage is plain data; wait4 fills it.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: valid pointers to a status int and a rusage.
        let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if rc == pid {
            break (status, usage);
        }
        if std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            eprintln!(
                "cargo-perf {ARG}: wait4: {}",
                std::io::Error::last_os_error()
            );
            return 2;
        }
    };
    // Linux reports ru_maxrss in KiB.
    let findings = format!("{} {}\n", usage.ru_maxrss as u64 * 1024, floor_kib * 1024);
    if let Err(e) = std::fs::write(out, findings) {
        eprintln!(
            "cargo-perf {ARG}: writing {}: {e}",
            Path::new(out).display()
        );
        return 2;
    }
    if libc::WIFSIGNALED(status) {
        let signal = libc::WTERMSIG(status);
        // SAFETY: restoring the default action and raising the workload's signal on ourselves.
        unsafe {
            libc::signal(signal, libc::SIG_DFL);
            libc::raise(signal);
        }
        return 128 + signal;
    }
    libc::WEXITSTATUS(status)
}

/// `VmHWM` of this process, in KiB, read from `/proc/self/status` into a stack buffer (no
/// allocation: this runs between fork and exec). 0 when it cannot be read.
fn own_high_water_kib() -> u64 {
    let mut buf = [0u8; 4096];
    // SAFETY: a NUL-terminated path; reading into a stack buffer of its length.
    let n = unsafe {
        let fd = libc::open(
            c"/proc/self/status".as_ptr(),
            libc::O_RDONLY | libc::O_CLOEXEC,
        );
        if fd < 0 {
            return 0;
        }
        let n = libc::read(fd, buf.as_mut_ptr().cast(), buf.len());
        libc::close(fd);
        n
    };
    if n <= 0 {
        return 0;
    }
    high_water_of(&buf[..n as usize])
}

/// The number after `VmHWM:` in the text of `/proc/PID/status`.
fn high_water_of(status: &[u8]) -> u64 {
    let key = b"VmHWM:";
    let Some(at) = status.windows(key.len()).position(|w| w == key) else {
        return 0;
    };
    status[at + key.len()..]
        .iter()
        .skip_while(|b| b.is_ascii_whitespace())
        .take_while(|b| b.is_ascii_digit())
        .fold(0u64, |n, b| n * 10 + u64::from(b - b'0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_high_water_mark_is_read_from_the_status_text() {
        let text = b"Name:\tcat\nVmPeak:\t  5000 kB\nVmHWM:\t    1234 kB\nVmRSS:\t 1000 kB\n";
        assert_eq!(high_water_of(text), 1234);
        assert_eq!(high_water_of(b"Name:\tcat\n"), 0);
        // This process's own, read the way the probe's child reads it.
        assert!(own_high_water_kib() > 0);
    }

    #[test]
    fn findings_need_both_figures() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rss");
        std::fs::write(&path, "2097152 524288\n").unwrap();
        assert_eq!(
            read_findings(&path),
            Some(ProbedRss {
                peak_bytes: 2 << 20,
                floor_bytes: 512 << 10,
            })
        );
        std::fs::write(&path, "2097152\n").unwrap();
        assert_eq!(read_findings(&path), None);
        assert_eq!(read_findings(&dir.path().join("none")), None);
    }
}
