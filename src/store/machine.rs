//! The machine key: records from different machines are never silently compared.

use serde::{Deserialize, Serialize};

/// The machine a record was measured on, and the key that hashes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Machine {
    /// 16 hex digits: FNV-1a of the other fields.
    pub key: String,
    /// The CPU model, from `/proc/cpuinfo`.
    pub cpu: String,
    /// Logical CPUs online in the machine: not those the process may use, which `taskset` or a
    /// container's CPU quota lower without changing the machine.
    pub cores: u32,
    /// Total memory, rounded to whole GiB so that small changes in what the kernel reserves do not
    /// change the key.
    pub memory_bytes: u64,
    /// The operating system (`/etc/os-release` PRETTY_NAME) and architecture.
    pub os: String,
}

impl Machine {
    /// Describes this machine.
    pub fn current() -> Self {
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|text| {
                text.lines()
                    .find(|l| l.starts_with("model name") || l.starts_with("Hardware"))
                    .and_then(|l| l.split_once(':'))
                    .map(|(_, v)| v.trim().to_owned())
            })
            .unwrap_or_else(|| "unknown".into());
        let cores = online_cpus();
        const GIB: u64 = 1 << 30;
        let memory_bytes = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|text| {
                let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
                let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
                Some((kib * 1024 + GIB / 2) / GIB * GIB)
            })
            .unwrap_or(0);
        let os_name = std::fs::read_to_string("/etc/os-release")
            .ok()
            .and_then(|text| {
                text.lines()
                    .find_map(|l| l.strip_prefix("PRETTY_NAME="))
                    .map(|v| v.trim_matches('"').to_owned())
            })
            .unwrap_or_else(|| std::env::consts::OS.to_owned());
        Self::new(
            cpu,
            cores,
            memory_bytes,
            format!("{os_name} {}", std::env::consts::ARCH),
        )
    }

    /// The same machine under a key chosen by the user: a machine class, such as
    /// `ubuntu-4core`, that runners of one type share so that their records pool.
    pub fn with_key(mut self, key: &str) -> Self {
        key.clone_into(&mut self.key);
        self
    }

    /// What the machine is, in a line: `CPU, N CPUs, M GiB, OS`.
    pub fn describe(&self) -> String {
        format!(
            "{}, {} CPUs, {} GiB, {}",
            self.cpu,
            self.cores,
            self.memory_bytes >> 30,
            self.os
        )
    }

    pub fn new(cpu: String, cores: u32, memory_bytes: u64, os: String) -> Self {
        let text = format!("{cpu}\n{cores}\n{memory_bytes}\n{os}");
        let hash = crate::fnv::fnv1a(text.as_bytes());
        Machine {
            key: format!("{hash:016x}"),
            cpu,
            cores,
            memory_bytes,
            os,
        }
    }
}

/// Logical CPUs online, which neither CPU affinity nor a cgroup's quota changes.
fn online_cpus() -> u32 {
    // SAFETY: sysconf only reads a system setting.
    let online = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    if online > 0 {
        online as u32
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get() as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_depends_on_every_field() {
        let base = Machine::new("cpu".into(), 2, 1 << 30, "os".into());
        assert_eq!(base.key.len(), 16);
        assert_eq!(base, Machine::new("cpu".into(), 2, 1 << 30, "os".into()));
        for other in [
            Machine::new("cpu2".into(), 2, 1 << 30, "os".into()),
            Machine::new("cpu".into(), 4, 1 << 30, "os".into()),
            Machine::new("cpu".into(), 2, 2 << 30, "os".into()),
            Machine::new("cpu".into(), 2, 1 << 30, "os2".into()),
        ] {
            assert_ne!(base.key, other.key);
        }
    }

    #[test]
    fn a_class_key_keeps_the_description() {
        let m = Machine::new("cpu".into(), 2, 1 << 30, "os".into()).with_key("ci-small");
        assert_eq!(m.key, "ci-small");
        assert_eq!(m.describe(), "cpu, 2 CPUs, 1 GiB, os");
    }

    #[test]
    fn the_cpu_count_ignores_affinity() {
        let before = online_cpus();
        // Pin this thread to one CPU: the process may use one, the machine still has them all.
        // SAFETY: a zeroed cpu_set_t is valid; the call changes only this thread's affinity.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(0, &mut set);
            assert_eq!(
                libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set),
                0
            );
        }
        assert_eq!(
            std::thread::available_parallelism().map(|n| n.get()).ok(),
            Some(1)
        );
        assert_eq!(online_cpus(), before);
    }

    #[test]
    fn this_machine_is_described() {
        let m = Machine::current();
        assert!(m.cores >= 1);
        assert_eq!(m.memory_bytes % (1 << 30), 0);
        assert_eq!(m, Machine::current());
    }
}
