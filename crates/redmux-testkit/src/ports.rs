//! Ports the kit hands out, leased so that no other test process takes one while its
//! owner still means to use it.
//!
//! A port found free a moment ago is not a port owned: nextest runs tests as parallel
//! processes, each starting servers, and a server that was killed to be restarted on
//! its old port leaves that port free meanwhile. Two things could then take it:
//!
//! - another test's server, given the same port by `bind(0)` (or by the cluster's
//!   scan of its range): the restarted server then dies of "address in use" and the
//!   test fails, while its client, reconnecting, talks to the stranger; a sentinel
//!   set's sentinels even turn a stranger on their killed primary's port into a
//!   replica of the new primary;
//! - any socket's `connect()`, which takes its source port from the same ephemeral
//!   range `bind(0)` hands out (32768 and up by default), and blocks the bind too.
//!
//! So the kit takes its ports from a range below the ephemeral one, and holds a lease
//! on each for as long as its server (or cluster, or sentinel) lives, restarts
//! included: a Unix socket bound to an abstract name made of the port
//! (`redmux-testkit-port-N`), which one socket at a time may hold on the whole machine.
//! The kernel frees the name when its holder exits, however it dies, so a crashed test
//! leaks nothing, and there is no file to clean up.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::net::{Ipv4Addr, TcpListener};
use std::ops::Range;
use std::os::unix::net::UnixListener;
use std::sync::Once;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

use crate::Error;

/// Ports for single servers, sentinels and their TLS ports. Below the kernel's
/// ephemeral ports (32768 and up), so no `bind(0)` or `connect()` gets one; apart from
/// the cluster's node (20,000..22,000), TLS (+3,000) and bus (+10,000) ports.
pub(crate) const SINGLE_RANGE: Range<u16> = 10_000..20_000;

/// A port that no other kit, in this process or another, hands out while this lives.
#[derive(Debug)]
pub(crate) struct PortLease {
    port: u16,
    /// The socket holding the name; `None` when names are unavailable (see [`lock`]).
    _lock: Option<UnixListener>,
}

impl PortLease {
    pub(crate) fn port(&self) -> u16 {
        self.port
    }
}

/// The lease on `port`, or `None` while another holder has it. The port itself may
/// still be in use by something outside the kit: callers check that too.
pub(crate) fn lease(port: u16) -> Option<PortLease> {
    match lock(port) {
        Lock::Held(file) => Some(PortLease {
            port,
            _lock: Some(file),
        }),
        Lock::Unavailable => Some(PortLease { port, _lock: None }),
        Lock::Taken => None,
    }
}

/// A leased port of [`SINGLE_RANGE`] that nothing listens on.
///
/// Each process walks the range from a random start, so parallel test processes
/// rarely even ask for the same port; the lease settles it when they do.
pub(crate) fn lease_free() -> Result<PortLease, Error> {
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let span = SINGLE_RANGE.end - SINGLE_RANGE.start;
    let _ = NEXT.compare_exchange(
        0,
        // The `| 1` keeps it from looking unset again.
        (RandomState::new().hash_one("redmux-single-ports") as u16 % span) | 1,
        Ordering::Relaxed,
        Ordering::Relaxed,
    );
    for _ in 0..span {
        let port = SINGLE_RANGE.start + NEXT.fetch_add(1, Ordering::Relaxed) % span;
        if let Some(lease) = lease(port)
            && bindable(port)
        {
            return Ok(lease);
        }
    }
    Err(Error::PortInUse {
        port: SINGLE_RANGE.start,
        waited: Duration::ZERO,
    })
}

/// True when 127.0.0.1:`port` can be bound right now.
pub(crate) fn bindable(port: u16) -> bool {
    TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok()
}

enum Lock {
    Held(UnixListener),
    Taken,
    /// No abstract socket names here (not Linux): the kit goes on without leases
    /// (and with the races above), rather than refusing to start any server.
    Unavailable,
}

/// The abstract socket name that stands for `port`.
fn lease_name(port: u16) -> String {
    format!("redmux-testkit-port-{port}")
}

#[cfg(target_os = "linux")]
fn lock(port: u16) -> Lock {
    use std::os::linux::net::SocketAddrExt;
    use std::os::unix::net::SocketAddr;
    let addr = match SocketAddr::from_abstract_name(lease_name(port).as_bytes()) {
        Ok(addr) => addr,
        Err(error) => return unavailable(&error),
    };
    match UnixListener::bind_addr(&addr) {
        Ok(listener) => Lock::Held(listener),
        Err(error) if error.kind() == std::io::ErrorKind::AddrInUse => Lock::Taken,
        Err(error) => unavailable(&error),
    }
}

#[cfg(not(target_os = "linux"))]
fn lock(_port: u16) -> Lock {
    unavailable(&std::io::Error::other(
        "abstract socket names are Linux only",
    ))
}

fn unavailable(error: &std::io::Error) -> Lock {
    static WARNED: Once = Once::new();
    WARNED.call_once(|| {
        tracing::warn!(
            "port leases unavailable ({error}): parallel test processes may take each \
             other's ports"
        );
    });
    Lock::Unavailable
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_leased_port_is_not_leased_again_until_released() {
        let first = lease_free().expect("a free port");
        assert!(SINGLE_RANGE.contains(&first.port()));
        // The name is the machine's, not the process's: this process cannot take it twice.
        assert!(lease(first.port()).is_none());
        let port = first.port();
        drop(first);
        assert!(lease(port).is_some());
    }

    #[test]
    fn another_process_cannot_take_a_leased_port() {
        // python3, when installed, binds the same name from another process.
        let try_bind = |port: u16| {
            let script = format!(
                "import socket,sys\n\
                 s=socket.socket(socket.AF_UNIX)\n\
                 try: s.bind('\\0{}')\n\
                 except OSError: sys.exit(7)",
                lease_name(port)
            );
            std::process::Command::new("python3")
                .args(["-c", &script])
                .status()
                .ok()
                .and_then(|status| status.code())
        };
        let held = lease_free().expect("a free port");
        let Some(code) = try_bind(held.port()) else {
            eprintln!("skipped: no python3 here");
            return;
        };
        assert_eq!(code, 7, "another process took a leased port's name");
        let port = held.port();
        drop(held);
        assert_eq!(try_bind(port), Some(0));
    }

    #[test]
    fn ports_stay_below_the_ephemeral_range() {
        for _ in 0..50 {
            let lease = lease_free().expect("a free port");
            assert!(lease.port() < 20_000, "{}", lease.port());
        }
    }
}
