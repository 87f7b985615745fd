//! One `redis-server` process: finding the binary, spawning it, and waiting until it
//! answers PING. Knows nothing of builders or handles; [`Launch`] is all it is given.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::Error;

/// How long a single start may take before it is declared stuck. Redis with persistence
/// off is up in a few milliseconds; the margin is for a loaded CI machine.
pub(crate) const START_TIMEOUT: Duration = Duration::from_secs(10);

/// How often startup is polled. Short, because every test pays it at least once.
const POLL_INTERVAL: Duration = Duration::from_millis(5);

/// The line redis logs when another process holds its port.
const ADDRESS_IN_USE: &str = "Address already in use";

/// The environment variable that overrides `redis-server` from `PATH`.
pub(crate) const BIN_ENV: &str = "REDIS_SERVER_BIN";

/// Everything needed to spawn the server again, on any port.
#[derive(Debug, Clone)]
pub(crate) struct Launch {
    /// The executable.
    pub(crate) binary: PathBuf,
    /// Whether `binary` came from `REDIS_SERVER_BIN` (for the error message).
    pub(crate) binary_from_env: bool,
    /// Every argument except `--port`.
    pub(crate) args: Vec<String>,
    /// Where redis writes its log (`--logfile`).
    pub(crate) log_path: PathBuf,
    /// Where the child's stdout and stderr go: config errors are printed there, before
    /// the log file is opened.
    pub(crate) stderr_path: PathBuf,
    /// Whether the port is a TLS port (`--port 0 --tls-port P`): then readiness is
    /// the log's "ready" line and an accepted connection, not a plaintext PING.
    pub(crate) tls: bool,
}

/// The line a server logs once it serves (Redis 7.0: "Ready to accept
/// connections"; 7.2 and Valkey add the listener's kind after it).
const READY: &str = "Ready to accept connections";

/// Why one attempt to start failed.
#[derive(Debug)]
pub(crate) enum StartFailure {
    /// Another process holds the port: the caller may retry, on this port or another.
    PortTaken,
    /// Anything else; retrying will not help.
    Fatal(Error),
}

impl From<Error> for StartFailure {
    fn from(error: Error) -> Self {
        StartFailure::Fatal(error)
    }
}

/// The `redis-server` to run: `REDIS_SERVER_BIN` if set, else whatever `PATH` finds.
pub(crate) fn locate_binary() -> (PathBuf, bool) {
    match std::env::var_os(BIN_ENV) {
        Some(path) if !path.is_empty() => (PathBuf::from(path), true),
        _ => (PathBuf::from("redis-server"), false),
    }
}

/// Runs `redis-server --version` and returns the version number, e.g. `"7.0.15"`.
///
/// This doubles as the check that the binary exists, so a missing server is reported
/// before any temp dir or port is spent on it.
pub(crate) fn server_version(binary: &Path, from_env: bool) -> Result<String, Error> {
    let output = Command::new(binary)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .map_err(|source| spawn_error(binary, from_env, source))?;
    if !output.status.success() {
        let source = io::Error::other(format!("`--version` exited with {}", output.status));
        return Err(match from_env {
            true => Error::BinaryUnusable {
                path: binary.to_path_buf(),
                source,
            },
            false => Error::io(format!("checking {}", binary.display()), source),
        });
    }
    let text = String::from_utf8_lossy(&output.stdout);
    Ok(parse_version(&text).unwrap_or_else(|| text.trim().to_owned()))
}

/// Picks `7.0.15` out of `Redis server v=7.0.15 sha=00000000:0 malloc=jemalloc ...`.
/// Valkey prints the same shape (`Valkey server v=9.1.2 ...`) with its own version, not
/// the Redis version it is compatible with (which its INFO calls `redis_version`).
fn parse_version(text: &str) -> Option<String> {
    text.split_whitespace()
        .find_map(|word| word.strip_prefix("v="))
        .map(str::to_owned)
}

/// The major version, `7` for `"7.0.15"`; `0` when it cannot be read.
pub(crate) fn major_version(version: &str) -> u32 {
    version
        .split('.')
        .next()
        .and_then(|major| major.parse().ok())
        .unwrap_or(0)
}

/// Spawns the server on `port` and waits until it answers PING.
///
/// On any failure the child is killed and reaped before returning, so no attempt
/// leaves a process behind.
pub(crate) fn start(launch: &Launch, port: u16) -> Result<Child, StartFailure> {
    let log_offset = file_len(&launch.log_path);
    let stderr = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&launch.stderr_path)
        .map_err(|e| Error::io("creating the redis-server stderr file", e))?;
    let stdout = stderr
        .try_clone()
        .map_err(|e| Error::io("duplicating the redis-server stderr file", e))?;
    let stderr_offset = file_len(&launch.stderr_path);

    let mut command = Command::new(&launch.binary);
    match launch.tls {
        false => command.arg("--port").arg(port.to_string()),
        // The plaintext port off: a test can only reach the server through TLS.
        true => command
            .args(["--port", "0", "--tls-port"])
            .arg(port.to_string()),
    };
    let mut child = command
        .args(&launch.args)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .map_err(|source| spawn_error(&launch.binary, launch.binary_from_env, source))?;

    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let started = Instant::now();
    loop {
        if let Some(status) = exited(&mut child) {
            let new_log = read_from(&launch.log_path, log_offset);
            let new_stderr = read_from(&launch.stderr_path, stderr_offset);
            if new_log.contains(ADDRESS_IN_USE) || new_stderr.contains(ADDRESS_IN_USE) {
                return Err(StartFailure::PortTaken);
            }
            return Err(StartFailure::Fatal(Error::ServerExited {
                port,
                status,
                log_tail: log_tail(launch),
            }));
        }
        // Our own log's "ready" line comes first: it proves that our child bound the
        // port. A PING alone can be answered by a stranger that took the same free
        // port a moment earlier, while our child has not yet tried to bind it and
        // died of "address in use" (a test then talked to another test's server).
        let ready = read_from(&launch.log_path, log_offset).contains(READY)
            && match launch.tls {
                false => answers_ping(addr),
                true => TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok(),
            };
        if ready && exited(&mut child).is_none() {
            return Ok(child);
        }
        if started.elapsed() > START_TIMEOUT {
            stop(&mut child);
            return Err(StartFailure::Fatal(Error::StartTimeout {
                port,
                waited: started.elapsed(),
                log_tail: log_tail(launch),
            }));
        }
        thread::sleep(POLL_INTERVAL);
    }
}

/// SIGKILL and reap. Errors are ignored: they mean the process is already gone.
pub(crate) fn stop(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// `Some(status)` once the child has exited.
pub(crate) fn exited(child: &mut Child) -> Option<String> {
    match child.try_wait() {
        Ok(Some(status)) => Some(status.to_string()),
        Ok(None) => None,
        Err(error) => Some(format!("unknown status: {error}")),
    }
}

/// True when something on `addr` answers a RESP PING with `+PONG`, or with an error
/// that proves a live server which wants authentication first (`-NOAUTH`, `-NOPERM`,
/// `-WRONGPASS`). `-LOADING` and silence mean "not yet".
pub(crate) fn answers_ping(addr: SocketAddr) -> bool {
    fn exchange(addr: SocketAddr) -> io::Result<Vec<u8>> {
        let mut stream = TcpStream::connect_timeout(&addr, Duration::from_millis(200))?;
        stream.set_read_timeout(Some(Duration::from_millis(500)))?;
        stream.set_write_timeout(Some(Duration::from_millis(500)))?;
        stream.write_all(b"*1\r\n$4\r\nPING\r\n")?;
        let mut reply = Vec::new();
        let mut buf = [0u8; 128];
        while !reply.ends_with(b"\r\n") && reply.len() < 1024 {
            let n = stream.read(&mut buf)?;
            if n == 0 {
                break;
            }
            reply.extend_from_slice(&buf[..n]);
        }
        Ok(reply)
    }
    match exchange(addr) {
        Ok(reply) => [&b"+PONG"[..], b"-NOAUTH", b"-NOPERM", b"-WRONGPASS"]
            .iter()
            .any(|accepted| reply.starts_with(accepted)),
        Err(_) => false,
    }
}

/// The last lines of the log and of stderr, for error messages.
pub(crate) fn log_tail(launch: &Launch) -> String {
    const LINES: usize = 30;
    let mut tail = last_lines(&read_from(&launch.log_path, 0), LINES);
    let stderr = read_from(&launch.stderr_path, 0);
    if !stderr.trim().is_empty() {
        tail.push_str("\n--- stderr ---\n");
        tail.push_str(&last_lines(&stderr, LINES));
    }
    if tail.trim().is_empty() {
        tail = "(empty)".to_owned();
    }
    tail
}

fn last_lines(text: &str, count: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(count)..].join("\n")
}

/// The file's contents from `offset` on, lossily decoded; empty if it cannot be read.
pub(crate) fn read_from(path: &Path, offset: u64) -> String {
    let Ok(bytes) = fs::read(path) else {
        return String::new();
    };
    let start = usize::try_from(offset)
        .unwrap_or(usize::MAX)
        .min(bytes.len());
    String::from_utf8_lossy(&bytes[start..]).into_owned()
}

pub(crate) fn file_len(path: &Path) -> u64 {
    File::open(path)
        .and_then(|file| file.metadata())
        .map(|meta| meta.len())
        .unwrap_or(0)
}

pub(crate) fn spawn_error(binary: &Path, from_env: bool, source: io::Error) -> Error {
    match (from_env, source.kind()) {
        (false, io::ErrorKind::NotFound) => Error::BinaryNotFound,
        (true, _) => Error::BinaryUnusable {
            path: binary.to_path_buf(),
            source,
        },
        (false, _) => Error::io(format!("running {}", binary.display()), source),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_redis_and_valkey_versions() {
        let redis = "Redis server v=7.0.15 sha=00000000:0 malloc=jemalloc-5.3.0 bits=64";
        assert_eq!(parse_version(redis).as_deref(), Some("7.0.15"));
        let valkey =
            "Valkey server v=9.1.2 sha=00000000:1 malloc=libc bits=64 build=1536df31c0395150";
        assert_eq!(parse_version(valkey).as_deref(), Some("9.1.2"));
        assert_eq!(parse_version("garbage"), None);
    }

    #[test]
    fn major_version_falls_back_to_zero() {
        assert_eq!(major_version("7.0.15"), 7);
        assert_eq!(major_version("6.2"), 6);
        assert_eq!(major_version("weird"), 0);
    }

    #[test]
    fn last_lines_keeps_the_end() {
        assert_eq!(last_lines("a\nb\nc\n", 2), "b\nc");
        assert_eq!(last_lines("a", 5), "a");
    }
}
