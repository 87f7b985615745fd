//! [`Timer`]: waits until a chunk is due, to within about 0.1 ms.
//!
//! tokio's timer wheel ticks in whole milliseconds and rounds every deadline up, so
//! `sleep_until(now + 500 µs)` wakes 1-2 ms later: a latency of 0.5 ms each way made a
//! round trip of about 3.6 ms. On Linux a timerfd is armed instead. It is a kernel
//! high-resolution timer, and the runtime wakes for it as for any socket, so the wait
//! is precise without spinning a core (benchmarks run beside the proxy). What is left
//! is the cost of waking the proxy's thread, measured at 60-90 µs per delay on a
//! 2-core VM. Elsewhere the tokio timer is the fallback, with its millisecond rounding.

use std::io;

use tokio::time::Instant;

/// One direction's delay timer, reused for every chunk that direction writes.
#[derive(Debug, Default)]
pub(crate) struct Timer {
    /// Opened on the first real wait, so connections without latency never make one.
    #[cfg(target_os = "linux")]
    timerfd: Option<timerfd::TimerFd>,
}

impl Timer {
    /// Waits until `due`. Returns at once, arming nothing, if `due` has passed.
    ///
    /// # Errors
    ///
    /// On Linux, if the timerfd cannot be created, armed or read (out of file
    /// descriptors, say); the caller ends the connection.
    pub(crate) async fn sleep_until(&mut self, due: Instant) -> io::Result<()> {
        let remaining = due.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Ok(());
        }
        #[cfg(target_os = "linux")]
        {
            let timerfd = match &mut self.timerfd {
                Some(timerfd) => timerfd,
                None => self.timerfd.insert(timerfd::TimerFd::new()?),
            };
            timerfd.sleep(remaining).await
        }
        #[cfg(not(target_os = "linux"))]
        {
            tokio::time::sleep_until(due).await;
            Ok(())
        }
    }
}

#[cfg(target_os = "linux")]
mod timerfd {
    //! The only unsafe code in the crate: the libc calls that create, arm and read a
    //! timerfd (`timerfd_create`, `timerfd_settime`, `read`), taking ownership of the
    //! descriptor, and its registration with the runtime.
    #![allow(unsafe_code)]

    use std::io;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    use std::time::Duration;

    use tokio::io::Interest;
    use tokio::io::unix::AsyncFd;

    /// A non-blocking `CLOCK_MONOTONIC` timerfd registered with the runtime. It is
    /// the clock `Instant` reads, though only relative times are handed to it.
    #[derive(Debug)]
    pub(super) struct TimerFd {
        fd: AsyncFd<OwnedFd>,
    }

    impl TimerFd {
        pub(super) fn new() -> io::Result<TimerFd> {
            // SAFETY: plain syscall with constant arguments; no pointers are passed.
            let raw = unsafe {
                libc::timerfd_create(
                    libc::CLOCK_MONOTONIC,
                    libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
                )
            };
            if raw < 0 {
                return Err(io::Error::last_os_error());
            }
            // SAFETY: `raw` is a descriptor timerfd_create just returned, owned by
            // nothing else; the OwnedFd closes it exactly once.
            let owned = unsafe { OwnedFd::from_raw_fd(raw) };
            // SAFETY: the OwnedFd is moved into the AsyncFd, so the descriptor stays
            // open, and is the same one, for as long as the registration lives.
            // (Needs tokio 1.53.3: the older safe `with_interest` is deprecated.)
            let fd = unsafe { AsyncFd::register_with_interest(owned, Interest::READABLE) }?;
            Ok(TimerFd { fd })
        }

        /// Arms the timer `delay` from now (`delay` must be non-zero: a zero
        /// `it_value` would disarm it) and waits for it to expire.
        pub(super) async fn sleep(&mut self, delay: Duration) -> io::Result<()> {
            self.arm(delay)?;
            loop {
                let mut guard = self.fd.readable().await?;
                // Readiness left over from an earlier expiry makes this read fail with
                // WouldBlock (re-arming reset the count); `try_io` then clears it and
                // we wait for the real expiry.
                match guard.try_io(|fd| read_expirations(fd.get_ref())) {
                    Ok(result) => {
                        result?;
                        // The read drained the count: nothing more to read until the
                        // next arming, so forget the readiness now rather than pay a
                        // WouldBlock read next time.
                        guard.clear_ready();
                        return Ok(());
                    }
                    Err(_would_block) => continue,
                }
            }
        }

        fn arm(&self, delay: Duration) -> io::Result<()> {
            let value = libc::timespec {
                // Saturates far beyond any latency a test sets.
                tv_sec: libc::time_t::try_from(delay.as_secs()).unwrap_or(libc::time_t::MAX),
                // Below 1e9, so the cast is lossless on every platform's c_long.
                tv_nsec: delay.subsec_nanos() as libc::c_long,
            };
            let zero = libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            let spec = libc::itimerspec {
                it_interval: zero,
                it_value: value,
            };
            // SAFETY: the descriptor is open for as long as `self`; `spec` is a valid
            // itimerspec borrowed for the call; a null old_value is allowed.
            let result = unsafe {
                libc::timerfd_settime(self.fd.as_raw_fd(), 0, &spec, std::ptr::null_mut())
            };
            if result < 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        }
    }

    /// Reads the 8-byte expiry count, which also resets it.
    fn read_expirations(fd: &OwnedFd) -> io::Result<u64> {
        let mut count = [0u8; 8];
        // SAFETY: the descriptor is open (borrowed from its owner) and `count` is a
        // writable buffer of exactly the length passed.
        let n = unsafe { libc::read(fd.as_raw_fd(), count.as_mut_ptr().cast(), count.len()) };
        match usize::try_from(n) {
            Ok(8) => Ok(u64::from_ne_bytes(count)),
            Ok(_) => Err(io::Error::other("timerfd read returned a short count")),
            Err(_) => Err(io::Error::last_os_error()),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn a_due_time_already_passed_returns_at_once_without_a_timer() {
        let mut timer = Timer::default();
        timer.sleep_until(Instant::now()).await.expect("sleep");
        #[cfg(target_os = "linux")]
        assert!(timer.timerfd.is_none());
    }

    /// Each wait lasts at least its delay and is not rounded up to tokio's 1 ms ticks
    /// (judged by the shortest of 20, which a busy machine cannot delay every time);
    /// the same timer serves wait after wait.
    #[tokio::test]
    async fn waits_are_precise_and_the_timer_is_reused() {
        let delay = Duration::from_micros(300);
        let mut timer = Timer::default();
        let mut waits: Vec<Duration> = Vec::new();
        for _ in 0..20 {
            let started = Instant::now();
            timer.sleep_until(started + delay).await.expect("sleep");
            waits.push(started.elapsed());
        }
        waits.sort();
        assert!(waits.iter().all(|wait| *wait >= delay), "{waits:?}");
        #[cfg(target_os = "linux")]
        assert!(waits[0] < Duration::from_micros(900), "{waits:?}");
    }
}
