//! The machine key: records from different machines are never silently compared.

use serde::{Deserialize, Serialize};

/// The machine a record was measured on, and the key that hashes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Machine {
    /// 16 hex digits: FNV-1a of the other fields.
    pub key: String,
    /// The CPU model, from `/proc/cpuinfo`.
    pub cpu: String,
    /// Logical CPUs available to the process.
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
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get() as u32);
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
    fn this_machine_is_described() {
        let m = Machine::current();
        assert!(m.cores >= 1);
        assert_eq!(m.memory_bytes % (1 << 30), 0);
        assert_eq!(m, Machine::current());
    }
}
