//! Small helpers shared by the standalone measurement binaries (`alloc`,
//! `large_values`, `profile_load`, `plot`): where results go, the server to use,
//! percentiles, and the size of a command on the wire.

use std::path::{Path, PathBuf};

use redmux_testkit::RedisServer;
use serde::Serialize;

use crate::compare::Result;

/// `benches/results/<file>`.
pub fn results_path(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("results")
        .join(file)
}

/// `docs/<file>` at the workspace root.
pub fn docs_path(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("docs")
        .join(file)
}

/// Writes `value` as pretty JSON, creating the directory.
pub fn write_json(path: &Path, value: &impl Serialize) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let json = serde_json::to_string_pretty(value)?;
    std::fs::write(path, json + "\n")
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(())
}

/// The server a measurement runs against: `$REDIS_URL` if set, else a throwaway
/// `redis-server` on a free port, stopped when this is dropped.
#[derive(Debug)]
pub struct Server {
    /// Where it is.
    pub url: String,
    /// The throwaway server, if this process started it.
    pub owned: Option<RedisServer>,
}

impl Server {
    /// `$REDIS_URL`, or a throwaway server.
    pub fn from_env_or_start() -> Result<Server> {
        match std::env::var("REDIS_URL") {
            Ok(url) if !url.trim().is_empty() => Ok(Server { url, owned: None }),
            _ => Server::start(),
        }
    }

    /// Always a throwaway server (for measurements that need its address, behind a proxy).
    pub fn start() -> Result<Server> {
        let owned = RedisServer::start().map_err(|e| {
            format!("cannot start a throwaway redis-server (run .ci/install-deps): {e}")
        })?;
        Ok(Server {
            url: owned.url().to_string(),
            owned: Some(owned),
        })
    }
}

/// Nearest-rank percentile `q` (0..=1) of sorted samples; 0 when there are none.
pub fn percentile(sorted: &[u64], q: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// The size of a command on the wire: `*argc\r\n` then `$len\r\narg\r\n` per argument.
pub fn resp_len(args: &[&[u8]]) -> usize {
    let digits = |n: usize| n.to_string().len();
    1 + digits(args.len())
        + 2
        + args
            .iter()
            .map(|a| 1 + digits(a.len()) + 2 + a.len() + 2)
            .sum::<usize>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_commands_like_the_encoder() {
        let mut get = redmux_resp::CommandBuf::new("GET");
        get.arg("key:1");
        assert_eq!(resp_len(&[b"GET", b"key:1"]), get.finish().len());
        let mut set = redmux_resp::CommandBuf::new("SET");
        set.arg("key:12345").arg([7u8; 16]);
        assert_eq!(
            resp_len(&[b"SET", b"key:12345", &[7u8; 16]]),
            set.finish().len()
        );
    }

    #[test]
    fn takes_nearest_rank_percentiles() {
        let s: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&s, 0.5), 50);
        assert_eq!(percentile(&s, 0.99), 99);
        assert_eq!(percentile(&s, 1.0), 100);
        assert_eq!(percentile(&[], 0.5), 0);
    }
}
