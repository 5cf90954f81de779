//! The service's CPU, memory and open files, read from `/proc` once a second: every process of
//! its process group (a service that forks workers counts whole), and the generator's own CPU.

use std::time::Instant;

/// What one look at `/proc` found.
#[derive(Debug, Clone, Copy, Default)]
pub struct Usage {
    /// User plus system CPU time of the processes alive now, in clock ticks.
    pub ticks: u64,
    pub rss: u64,
    pub fds: u64,
    pub processes: usize,
}

/// Sums the usage of every process in group `pgid`.
pub fn group_usage(pgid: i32) -> Usage {
    let mut usage = Usage::default();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return usage;
    };
    let page = page_size();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        let Some(stat) = read_stat(pid) else { continue };
        if stat.pgrp != pgid {
            continue;
        }
        usage.processes += 1;
        usage.ticks += stat.utime + stat.stime;
        usage.rss += stat.rss_pages * page;
        usage.fds += std::fs::read_dir(format!("/proc/{pid}/fd"))
            .map(|d| d.count() as u64)
            .unwrap_or(0);
    }
    usage
}

/// This process's own CPU time in clock ticks.
pub fn own_ticks() -> u64 {
    read_stat("self").map_or(0, |s| s.utime + s.stime)
}

pub fn ticks_per_second() -> f64 {
    // SAFETY: sysconf takes a plain integer.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 { t as f64 } else { 100.0 }
}

pub fn cores() -> f64 {
    std::thread::available_parallelism().map_or(1.0, |n| n.get() as f64)
}

fn page_size() -> u64 {
    // SAFETY: as above.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if p > 0 { p as u64 } else { 4096 }
}

struct Stat {
    pgrp: i32,
    utime: u64,
    stime: u64,
    rss_pages: u64,
}

fn read_stat(pid: &str) -> Option<Stat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold spaces: fields count from the last `)`.
    let rest = &text[text.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state(0) ppid(1) pgrp(2) ... utime(11) stime(12) ... rss(21).
    Some(Stat {
        pgrp: fields.get(2)?.parse().ok()?,
        utime: fields.get(11)?.parse().ok()?,
        stime: fields.get(12)?.parse().ok()?,
        rss_pages: fields.get(21)?.parse().ok()?,
    })
}

/// Turns successive looks into CPU shares.
pub struct Monitor {
    pgid: Option<i32>,
    last: Option<(Instant, u64, u64)>,
    tick: f64,
    cores: f64,
}

/// One second's worth.
#[derive(Debug, Clone, Copy, Default)]
pub struct Reading {
    /// The service's CPU as a share of the machine, percent.
    pub cpu: Option<f64>,
    pub rss: Option<u64>,
    pub fds: Option<u64>,
    /// The generator's CPU as a share of one core, percent.
    pub generator_cpu: f64,
}

impl Monitor {
    pub fn new(pgid: Option<i32>) -> Self {
        Monitor {
            pgid,
            last: None,
            tick: ticks_per_second(),
            cores: cores(),
        }
    }

    pub fn read(&mut self) -> Reading {
        let now = Instant::now();
        let usage = self.pgid.map(group_usage);
        let own = own_ticks();
        let service_ticks = usage.map_or(0, |u| u.ticks);
        let reading = match self.last {
            Some((then, last_service, last_own)) => {
                let secs = now.duration_since(then).as_secs_f64().max(1e-3);
                // A process that exited takes its ticks with it: never below zero.
                let service = service_ticks.saturating_sub(last_service) as f64 / self.tick;
                let own_cpu = own.saturating_sub(last_own) as f64 / self.tick;
                Reading {
                    cpu: usage.map(|_| 100.0 * service / secs / self.cores),
                    rss: usage.map(|u| u.rss),
                    fds: usage.map(|u| u.fds),
                    generator_cpu: 100.0 * own_cpu / secs,
                }
            }
            None => Reading {
                cpu: None,
                rss: usage.map(|u| u.rss),
                fds: usage.map(|u| u.fds),
                generator_cpu: 0.0,
            },
        };
        self.last = Some((now, service_ticks, own));
        reading
    }
}
