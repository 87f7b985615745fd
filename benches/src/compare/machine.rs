//! Where and when the comparison ran: the machine, the date, the library versions.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

/// The machine the figures come from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Machine {
    /// Logical CPUs available to this process.
    pub nproc: usize,
    /// `model name` from /proc/cpuinfo.
    pub cpu_model: String,
    /// The kernel release.
    pub kernel: String,
}

impl Machine {
    /// Reads the machine's description; parts that cannot be read are `"unknown"`.
    pub fn detect() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                (k.trim() == "model name").then(|| v.trim().to_string())
            })
            .unwrap_or_else(|| "unknown".into());
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|_| "unknown".into());
        Machine {
            nproc: std::thread::available_parallelism().map_or(0, |n| n.get()),
            cpu_model,
            kernel,
        }
    }
}

/// This process's CPU time, read from /proc: what one client's work cost while it
/// was the only one running.
///
/// (Syscall counts from `/proc/self/io` would not compare: `syscw` counts `writev`,
/// which redis-rs and fred use through tokio-util, but not `send`, which a plain
/// `TcpStream::write` uses.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ProcessCounters {
    /// CPU time of all threads, in nanoseconds (`/proc/self/task/*/schedstat`).
    pub cpu_ns: u64,
}

impl ProcessCounters {
    /// Reads it; `None` where /proc is not there to read.
    pub fn now() -> Option<ProcessCounters> {
        let mut cpu_ns = 0;
        for task in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
            // A thread may end between the listing and the read: it no longer counts.
            if let Ok(stat) = std::fs::read_to_string(task.path().join("schedstat")) {
                cpu_ns += stat
                    .split_whitespace()
                    .next()
                    .and_then(|f| f.parse::<u64>().ok())
                    .unwrap_or(0);
            }
        }
        Some(ProcessCounters { cpu_ns })
    }

    /// What happened between `earlier` and `self`.
    pub fn since(self, earlier: ProcessCounters) -> ProcessCounters {
        ProcessCounters {
            cpu_ns: self.cpu_ns.saturating_sub(earlier.cpu_ns),
        }
    }

    /// Adds another interval's counts.
    pub fn add(&mut self, other: ProcessCounters) {
        self.cpu_ns += other.cpu_ns;
    }
}

/// Now, in UTC, as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn now_utc() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format_utc(secs)
}

/// Seconds since the epoch as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn format_utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// Howard Hinnant's days-to-civil algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// The versions of the compared libraries, read from the workspace's Cargo.lock.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Versions {
    /// redmux.
    pub redmux: String,
    /// The commit the workspace was at, and whether the library crates had
    /// uncommitted changes.
    pub redmux_git: String,
    /// redis-rs (the `redis` crate).
    #[serde(rename = "redis-rs")]
    pub redis_rs: String,
    /// fred.
    pub fred: String,
    /// tokio.
    pub tokio: String,
}

impl Versions {
    /// Reads them from Cargo.lock next to this crate's workspace.
    pub fn detect() -> Versions {
        let lock_path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.lock");
        let lock = std::fs::read_to_string(lock_path).unwrap_or_default();
        Versions {
            redmux: env!("CARGO_PKG_VERSION").to_string(),
            redmux_git: git_state(),
            redis_rs: locked_version(&lock, "redis"),
            fred: locked_version(&lock, "fred"),
            tokio: locked_version(&lock, "tokio"),
        }
    }
}

/// `abc1234` or `abc1234 + uncommitted changes in crates/`, or `unknown`.
fn git_state() -> String {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .arg("-C")
            .arg(&root)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let Some(head) = git(&["rev-parse", "--short", "HEAD"]) else {
        return "unknown".into();
    };
    match git(&["status", "--porcelain", "--", "crates"]) {
        Some(changes) if !changes.is_empty() => format!("{head} + uncommitted changes in crates/"),
        _ => head,
    }
}

/// The version of package `name` in a Cargo.lock (the highest, if several).
pub fn locked_version(lock: &str, name: &str) -> String {
    let wanted = format!("name = \"{name}\"");
    let mut found: Vec<&str> = Vec::new();
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == wanted
            && let Some(v) = lines
                .next()
                .and_then(|l| l.trim().strip_prefix("version = "))
        {
            found.push(v.trim_matches('"'));
        }
    }
    found
        .into_iter()
        .max_by_key(|v| {
            v.split(['.', '-'])
                .map(|p| p.parse::<u64>().unwrap_or(0))
                .collect::<Vec<_>>()
        })
        .map_or_else(|| "unknown".into(), String::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_dates() {
        assert_eq!(format_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(format_utc(1_700_000_000), "2023-11-14T22:13:20Z");
    }

    #[test]
    fn reads_locked_versions() {
        let lock = "[[package]]\nname = \"redis\"\nversion = \"0.9.0\"\n\n[[package]]\nname = \"redis\"\nversion = \"1.10.2\"\n[[package]]\nname = \"fred\"\nversion = \"10.1.0\"\n";
        assert_eq!(locked_version(lock, "redis"), "1.10.2");
        assert_eq!(locked_version(lock, "fred"), "10.1.0");
        assert_eq!(locked_version(lock, "tokio"), "unknown");
    }
}
