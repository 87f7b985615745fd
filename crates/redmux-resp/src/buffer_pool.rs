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
//! [`MAX_BUFFERS`] idle, and the rest are freed as before.

use std::cell::RefCell;

use bytes::BytesMut;

/// Idle buffers kept per thread: enough for a thousand callers' commands taken by
/// one write and encoded again right after it.
const MAX_BUFFERS: usize = 1024;

/// Larger buffers are freed, not kept: with [`MAX_BUFFERS`] this bounds what a
/// thread holds idle to 256 KiB, and a command this large pays for its copy
/// anyway.
const MAX_CAPACITY: usize = 256;

thread_local! {
    static BUFFERS: RefCell<Vec<BytesMut>> = const { RefCell::new(Vec::new()) };
}

/// An empty buffer of at least `capacity` bytes: a kept one if this thread has
/// one, else a new one.
#[inline]
pub(crate) fn take(capacity: usize) -> BytesMut {
    match BUFFERS.try_with(|buffers| buffers.try_borrow_mut().ok()?.pop()) {
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
pub(crate) fn give_back(mut buf: BytesMut) {
    if buf.capacity() > MAX_CAPACITY {
        return;
    }
    buf.clear();
    let _ = BUFFERS.try_with(|buffers| {
        if let Ok(mut buffers) = buffers.try_borrow_mut()
            && buffers.len() < MAX_BUFFERS
        {
            buffers.push(buf);
        }
    });
}

/// [`give_back`] for every buffer in `bufs`, which is left empty: one thread-local
/// access for a whole write's worth of commands instead of one each (callgrind,
/// C = 1000: about 35 instructions per command less for the writer).
pub(crate) fn give_back_all(bufs: &mut Vec<BytesMut>) {
    let _ = BUFFERS.try_with(|buffers| {
        if let Ok(mut buffers) = buffers.try_borrow_mut() {
            for mut buf in bufs.drain(..) {
                if buf.capacity() <= MAX_CAPACITY && buffers.len() < MAX_BUFFERS {
                    buf.clear();
                    buffers.push(buf);
                }
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
}
