//! Kills a cluster's nodes when the test process is gone.
//!
//! The shared cluster lives in a static, which Rust never drops, and any test process
//! can die by SIGKILL; either way its `redis-server`s would outlive it, holding ports
//! and memory. A parent-death signal would follow the *thread* that spawned them (the
//! first test's), so instead a small `sh` waits on a pipe whose only writer is this
//! process: the read returns when the process exits, however it exits, and the shell
//! kills every node still running from the cluster's directories, then removes them.

use std::io;
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// Each node's directory holds `redis.pid` (the node runs with `--pidfile redis.pid`).
/// A pid is killed only if that process still works in that directory, so a pid that
/// the system has since given to another process is left alone.
const SCRIPT: &str = r#"
read -r _ignored
for pidfile in "$1"/*/redis.pid; do
  pid=$(cat "$pidfile" 2>/dev/null) || continue
  [ "$(readlink "/proc/$pid/cwd" 2>/dev/null)" = "${pidfile%/redis.pid}" ] && kill -9 "$pid"
done
rm -rf "$1"
"#;

/// The running watchdog; dropping it lets it clean up now and reaps it.
#[derive(Debug)]
pub(crate) struct Watchdog {
    child: Child,
}

impl Watchdog {
    /// Starts watching `root`, which must be a canonical path (it is compared with
    /// `/proc/<pid>/cwd`).
    pub(crate) fn spawn(root: &Path) -> io::Result<Watchdog> {
        let child = Command::new("sh")
            .arg("-c")
            .arg(SCRIPT)
            .arg("redmux-cluster-watchdog")
            .arg(root)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        Ok(Watchdog { child })
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        // Closing our end of the pipe is the signal.
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}
