//! Command buffers kept for reuse on the thread that last wrote one out: a
//! command's buffer is allocated by its caller and freed by whoever writes it,
//! once per command; handed back with [`crate::CommandBuf::recycle`], the next
//! command encoded on that thread takes it instead of calling the allocator
//! (callgrind, one shared connection at C = 1000: malloc and free were ~200
//! instructions per command, most of them this buffer's).
//!
//! Per thread, so taking and giving back is a thread-local access and a `Vec`
//! push or pop, with no lock. With a current-thread runtime (and for a lone caller,
//! who writes its own command) the buffers go round on one thread; on a
//! multi-thread runtime a worker that writes more than it encodes keeps up to
//! [`MAX_HELD`] bytes of them idle, and the rest are freed as before.

use std::cell::RefCell;

use bytes::BytesMut;

/// Idle bytes kept per thread, each buffer counted as its capacity plus its handle:
/// what 1,024 buffers of [`MAX_CAPACITY`] take, enough for a thousand callers'
/// commands taken by one write and encoded again right after it. Counted in bytes,
/// not buffers, so the usual small command (68 bytes) gets about 2,900 of them: a
/// burst from one task writes a few thousand commands at a time (the caller's write
/// assist, `ASSIST_BYTES` in redmux's queue), and with only 1,024 kept most of
/// each batch was freed and allocated again (callgrind, 100,000 SETs from one
/// task: see docs/benchmarks.md).
const MAX_HELD: usize = 1024 * (MAX_CAPACITY + HANDLE);

/// What a kept buffer's handle takes in the pool's `Vec`.
const HANDLE: usize = std::mem::size_of::<BytesMut>();

/// Larger buffers are freed, not kept: a command this large pays for its copy
/// anyway.
const MAX_CAPACITY: usize = 256;

/// This thread's idle buffers and the bytes they hold (see [`MAX_HELD`]).
struct Pool {
    buffers: Vec<BytesMut>,
    held: usize,
}

impl Pool {
    /// Keeps `buf` (emptied) if it is small and there is room; frees it otherwise.
    #[inline]
    fn keep(&mut self, mut buf: BytesMut) {
        let cost = buf.capacity() + HANDLE;
        if buf.capacity() <= MAX_CAPACITY && self.held + cost <= MAX_HELD {
            buf.clear();
            self.held += cost;
            self.buffers.push(buf);
        }
    }
}

thread_local! {
    static BUFFERS: RefCell<Pool> = const {
        RefCell::new(Pool {
            buffers: Vec::new(),
            held: 0,
        })
    };
}

/// An empty buffer of at least `capacity` bytes: a kept one if this thread has
/// one, else a new one.
#[inline]
pub(crate) fn take(capacity: usize) -> BytesMut {
    let kept = BUFFERS.try_with(|pool| {
        let mut pool = pool.try_borrow_mut().ok()?;
        let buf = pool.buffers.pop()?;
        pool.held = pool.held.saturating_sub(buf.capacity() + HANDLE);
        Some(buf)
    });
    match kept {
        Ok(Some(mut buf)) => {
            // Kept buffers are empty and at most `MAX_CAPACITY`: a no-op unless
            // this command asks for more.
            buf.reserve(capacity);
            buf
        }
        _ => BytesMut::with_capacity(capacity),
    }
}

/// Keeps `buf` for the next [`take`] on this thread, emptied, if it is small and
/// there is room; frees it otherwise.
#[inline]
pub(crate) fn give_back(buf: BytesMut) {
    if buf.capacity() > MAX_CAPACITY {
        return;
    }
    let _ = BUFFERS.try_with(|pool| {
        if let Ok(mut pool) = pool.try_borrow_mut() {
            pool.keep(buf);
        }
    });
}

/// [`give_back`] for every buffer in `bufs`, which is left empty: one thread-local
/// access for a whole write's worth of commands instead of one each (callgrind,
/// C = 1000: about 35 instructions per command less for the writer).
pub(crate) fn give_back_all(bufs: &mut Vec<BytesMut>) {
    let _ = BUFFERS.try_with(|pool| {
        if let Ok(mut pool) = pool.try_borrow_mut() {
            for buf in bufs.drain(..) {
                pool.keep(buf);
            }
        }
    });
    // Whatever was not kept (no room, or the thread is going away) is freed.
    bufs.clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_buffer_given_back_is_taken_again_empty() {
        let mut buf = take(64);
        buf.extend_from_slice(b"*1\r\n$4\r\nPING\r\n");
        let at = buf.as_ptr();
        give_back(buf);
        let again = take(64);
        assert!(again.is_empty());
        assert_eq!(again.as_ptr(), at);
        assert!(again.capacity() >= 64);
    }

    #[test]
    fn buffers_given_back_together_are_taken_again_empty_and_large_ones_freed() {
        let mut bufs = vec![take(64), BytesMut::with_capacity(MAX_CAPACITY + 1)];
        bufs[0].extend_from_slice(b"*1\r\n$4\r\nPING\r\n");
        let at = bufs[0].as_ptr();
        give_back_all(&mut bufs);
        assert!(bufs.is_empty());
        let again = take(64);
        assert!(again.is_empty());
        assert_eq!(again.as_ptr(), at);
        // The large one was not kept: the next take is a new buffer, not it.
        let next = take(16);
        assert!(next.capacity() <= MAX_CAPACITY);
    }

    #[test]
    fn a_large_buffer_is_not_kept_and_a_larger_request_is_met() {
        give_back(BytesMut::with_capacity(MAX_CAPACITY + 1));
        give_back(BytesMut::with_capacity(16));
        let buf = take(200);
        assert!(buf.is_empty());
        assert!(buf.capacity() >= 200);
    }

    fn kept() -> usize {
        BUFFERS.with(|pool| pool.borrow().buffers.len())
    }

    #[test]
    fn the_bound_is_in_bytes_so_small_buffers_are_kept_by_the_thousands() {
        // A thread of its own: the pool is per thread and other tests use it.
        std::thread::spawn(|| {
            let mut small: Vec<BytesMut> = (0..3000).map(|_| take(68)).collect();
            give_back_all(&mut small);
            let fit = MAX_HELD / (68 + HANDLE);
            assert!(kept() > 1024, "only {} small buffers kept", kept());
            assert!(kept() <= fit);
            // Taken again: the bytes held go down, and large ones fill it to the
            // same bound as before (1,024 of them).
            while kept() > 0 {
                drop(take(1));
            }
            let mut large: Vec<BytesMut> = (0..2000)
                .map(|_| BytesMut::with_capacity(MAX_CAPACITY))
                .collect();
            give_back_all(&mut large);
            assert_eq!(kept(), 1024);
        })
        .join()
        .unwrap();
    }
}
