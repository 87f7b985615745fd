//! The hand-off of one awaited command's reply from the reader to the caller's
//! future: one small shared cell, written once.
//!
//! It replaces a `tokio::sync::oneshot` on the hottest path of all, and does less:
//! one uncontended lock on each side, no cooperative-budget bookkeeping (see
//! `ReplyReceiver::poll`), and usually no allocation: a cell whose receiver is done
//! with it goes back to a small pool on the caller's thread (see [`POOL`]).

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use bytes::BytesMut;
use parking_lot::Mutex;
use redmux_resp::Value;

use crate::error::Result;

/// At most this many idle cells per thread. A cell goes back when its receiver is
/// dropped and is taken again by the next command on that thread, both on the
/// caller's side, so the pool only has to cover the gap between a run of replies
/// taken and the commands that follow them; past this, cells are freed as before.
const POOL_MAX: usize = 64;

thread_local! {
    /// Idle cells, each reset to `Waiting(None)` and owned by nothing else: the
    /// StackExchange.Redis way of pooling its message objects, here for the one
    /// allocation per awaited command that is the same every time (callgrind, C =
    /// 1000: malloc and free were ~330 instructions per command for two blocks).
    static POOL: RefCell<Vec<Arc<Cell>>> = const { RefCell::new(Vec::new()) };
}

/// A new cell: the sending half goes into the command's slot, the receiving half
/// into the caller's future.
pub(crate) fn channel() -> (ReplySender, ReplyReceiver) {
    let cell = POOL
        .try_with(|pool| pool.borrow_mut().pop())
        .ok()
        .flatten()
        .unwrap_or_else(|| {
            Arc::new(Cell {
                state: Mutex::new(State::Waiting(None)),
                kept: Mutex::new(None),
            })
        });
    (
        ReplySender(Some(cell.clone())),
        ReplyReceiver {
            cell: Some(cell),
            registered: false,
        },
    )
}

/// Puts a cell that nothing else refers to back in this thread's pool (reset), or
/// frees it when the pool is full or the thread is going away.
fn recycle(mut cell: Arc<Cell>) {
    // Only a cell we own alone may be reused: the sender (and any clone) is gone,
    // so nobody can write to it or read it again. `get_mut` checks that with the
    // ordering that makes the sender's last write visible here.
    let Some(owned) = Arc::get_mut(&mut cell) else {
        return;
    };
    // Drops a reply nobody took and any stale waker now, not when the cell is
    // next used.
    *owned.state.get_mut() = State::Waiting(None);
    // A kept command that was not needed again serves this thread's next one.
    if let Some(bytes) = owned.kept.get_mut().take() {
        redmux_resp::CommandBuf::recycle(bytes);
    }
    let _ = POOL.try_with(|pool| {
        if let Ok(mut pool) = pool.try_borrow_mut()
            && pool.len() < POOL_MAX
        {
            pool.push(cell);
        }
    });
}

#[derive(Debug)]
struct Cell {
    state: Mutex<State>,
    /// The command's encoded bytes, for a command its sender asked to be able
    /// to send again (a cluster command, should the reply be a redirect: see
    /// [`ReplySender::keep`]). Apart from `state`, so the reply's hand-off never
    /// touches it.
    kept: Mutex<Option<BytesMut>>,
}

#[derive(Debug)]
enum State {
    /// No reply yet; the receiver's waker once it has been polled.
    Waiting(Option<Waker>),
    /// The reply, not yet taken.
    Sent(Result<Value>),
    /// The receiver took the reply.
    Taken,
    /// The sender was dropped without sending.
    Dropped,
}

/// The reader's end. Dropped without [`send`](ReplySender::send), it tells the
/// receiver so.
#[derive(Debug)]
pub(crate) struct ReplySender(Option<Arc<Cell>>);

impl ReplySender {
    /// Delivers the reply and wakes the receiver. If the receiver is gone the reply
    /// is dropped with the cell.
    #[inline]
    pub(crate) fn send(mut self, reply: Result<Value>) {
        if let Some(cell) = self.0.take() {
            cell.finish(State::Sent(reply));
        }
        // Emptied above, so `Drop` has nothing to do: skipping its call saves
        // about 17 instructions per reply (callgrind).
        std::mem::forget(self);
    }

    /// Keeps a command's bytes for its receiver ([`ReplyReceiver::take_kept`]),
    /// once they are no longer needed to write it: kept before the command can
    /// be answered (or failed), so a receiver that has the outcome finds them.
    pub(crate) fn keep(&self, bytes: BytesMut) {
        if let Some(cell) = &self.0 {
            *cell.kept.lock() = Some(bytes);
        }
    }

    /// A handle to [`keep`](Self::keep) the bytes once the sender has moved on.
    pub(crate) fn keeper(&self) -> Option<Keeper> {
        self.0.clone().map(Keeper)
    }

    /// Whether the receiving future is gone: nobody wants the reply.
    pub(crate) fn is_closed(&self) -> bool {
        self.0
            .as_ref()
            .is_none_or(|cell| Arc::strong_count(cell) == 1)
    }
}

impl Drop for ReplySender {
    fn drop(&mut self) {
        if let Some(cell) = self.0.take() {
            cell.finish(State::Dropped);
        }
    }
}

impl Cell {
    #[inline]
    fn finish(&self, outcome: State) {
        let waker = {
            let mut state = self.state.lock();
            match std::mem::replace(&mut *state, outcome) {
                State::Waiting(waker) => waker,
                // Written once: the sender is consumed by `send` or `drop`.
                earlier => {
                    *state = earlier;
                    None
                }
            }
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// The caller's end: a future of the reply, or of [`SenderDropped`] if the sender
/// went away without one. Dropped while waiting, it takes its waker back out of
/// the cell, so a task that gave up is neither kept alive nor woken by the reply.
#[derive(Debug)]
pub(crate) struct ReplyReceiver {
    /// Always `Some` until the receiver is dropped, which takes it out to recycle.
    cell: Option<Arc<Cell>>,
    /// A waker of ours may be in the cell: set when a poll leaves one there.
    registered: bool,
}

impl Drop for ReplyReceiver {
    fn drop(&mut self) {
        let Some(cell) = self.cell.take() else {
            return;
        };
        if Arc::strong_count(&cell) == 1 {
            // The sender is gone: the cell is ours alone, its waker (if any) was
            // taken by whoever finished it.
            recycle(cell);
        } else if self.registered
            && let State::Waiting(waker) = &mut *cell.state.lock()
        {
            *waker = None;
        }
    }
}

/// What [`ReplySender::keeper`] gives: somewhere to keep a command's bytes for
/// its receiver after its sender was handed on.
#[derive(Debug)]
pub(crate) struct Keeper(Arc<Cell>);

impl Keeper {
    /// As [`ReplySender::keep`].
    pub(crate) fn keep(self, bytes: BytesMut) {
        *self.0.kept.lock() = Some(bytes);
    }
}

impl ReplyReceiver {
    /// The command's bytes, if its sender kept them ([`ReplySender::keep`]): to
    /// send it again after a reply that refused it.
    pub(crate) fn take_kept(&self) -> Option<BytesMut> {
        self.cell.as_ref()?.kept.lock().take()
    }
}

/// The sender was dropped without a reply (the client shut down).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SenderDropped;

impl Future for ReplyReceiver {
    type Output = std::result::Result<Result<Value>, SenderDropped>;

    // Always in line in `Response::poll`, its only hot caller, which polls it twice
    // per command: left to the compiler it stayed a call of its own.
    #[inline(always)]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let Some(cell) = &this.cell else {
            return Poll::Ready(Err(SenderDropped));
        };
        let mut state = cell.state.lock();
        let ready = match &mut *state {
            State::Waiting(waker) => {
                match waker {
                    Some(w) if w.will_wake(cx.waker()) => {}
                    _ => *waker = Some(cx.waker().clone()),
                }
                this.registered = true;
                return Poll::Pending;
            }
            // No cooperative budget here, unlike tokio's channels: with it, `join_all`
            // over K replies already in took K²/128 polls (a deferred wake is invisible
            // to `FuturesUnordered`), and a `block_on` inside a tokio task hung after
            // 128. Taking a reply costs ~100 ns, so a long run of them yields late,
            // not never: the task's next pending await yields.
            State::Sent(_) => match std::mem::replace(&mut *state, State::Taken) {
                State::Sent(reply) => Ok(reply),
                _ => Err(SenderDropped),
            },
            State::Taken | State::Dropped => Err(SenderDropped),
        };
        // Whoever finished the cell took the waker with it.
        this.registered = false;
        Poll::Ready(ready)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::FutureExt;

    #[test]
    fn a_reply_sent_before_the_first_poll_is_ready() {
        let (tx, rx) = channel();
        assert!(!tx.is_closed());
        tx.send(Ok(Value::Integer(7)));
        assert_eq!(
            rx.now_or_never().map(|r| r.ok().and_then(|r| r.ok())),
            Some(Some(Value::Integer(7)))
        );
    }

    #[tokio::test]
    async fn a_waiting_receiver_is_woken_by_send_and_by_drop() {
        let (tx, rx) = channel();
        let waiting = tokio::spawn(rx);
        tokio::task::yield_now().await;
        tx.send(Ok(Value::Nil));
        assert!(matches!(waiting.await, Ok(Ok(Ok(Value::Nil)))));

        let (tx, rx) = channel();
        let waiting = tokio::spawn(rx);
        tokio::task::yield_now().await;
        drop(tx);
        assert!(matches!(waiting.await, Ok(Err(SenderDropped))));
    }

    /// A waker that counts its wakeups, and whose clones can be counted.
    fn counting_waker() -> (Arc<CountingWake>, Waker) {
        let wake = Arc::new(CountingWake(std::sync::atomic::AtomicUsize::new(0)));
        (wake.clone(), Waker::from(wake))
    }

    struct CountingWake(std::sync::atomic::AtomicUsize);

    impl std::task::Wake for CountingWake {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }

    #[test]
    fn the_waker_is_woken_once_and_replaced_when_the_task_changes() {
        let (tx, mut rx) = channel();
        let (first, first_waker) = counting_waker();
        let (second, second_waker) = counting_waker();
        let mut cx = Context::from_waker(&first_waker);
        assert!(Pin::new(&mut rx).poll(&mut cx).is_pending());
        // Polled again from another task (the future moved): the new waker wins.
        let mut cx = Context::from_waker(&second_waker);
        assert!(Pin::new(&mut rx).poll(&mut cx).is_pending());
        tx.send(Ok(Value::Integer(1)));
        assert_eq!(first.0.load(std::sync::atomic::Ordering::SeqCst), 0);
        assert_eq!(second.0.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert!(matches!(
            Pin::new(&mut rx).poll(&mut cx),
            Poll::Ready(Ok(Ok(Value::Integer(1))))
        ));
    }

    #[test]
    fn a_receiver_dropped_while_waiting_is_neither_kept_nor_woken() {
        let (tx, mut rx) = channel();
        let (wake, waker) = counting_waker();
        let mut cx = Context::from_waker(&waker);
        assert!(Pin::new(&mut rx).poll(&mut cx).is_pending());
        assert_eq!(Arc::strong_count(&wake), 3); // ours, `waker`, the cell's clone
        drop(rx);
        assert_eq!(Arc::strong_count(&wake), 2); // the cell let go of its clone
        assert!(tx.is_closed());
        tx.send(Ok(Value::Nil));
        assert_eq!(wake.0.load(std::sync::atomic::Ordering::SeqCst), 0);
    }

    #[test]
    fn a_recycled_cell_starts_empty_and_carries_only_its_own_reply() {
        let (tx, rx) = channel();
        tx.send(Ok(Value::Integer(1)));
        assert!(matches!(rx.now_or_never(), Some(Ok(Ok(Value::Integer(1))))));
        // A reply nobody took: reset when its receiver goes, not handed on.
        let (tx, rx) = channel();
        tx.send(Ok(Value::Integer(2)));
        drop(rx);
        let (tx, mut rx) = channel();
        let (_wake, waker) = counting_waker();
        assert!(
            Pin::new(&mut rx)
                .poll(&mut Context::from_waker(&waker))
                .is_pending()
        );
        tx.send(Ok(Value::Integer(3)));
        assert!(matches!(rx.now_or_never(), Some(Ok(Ok(Value::Integer(3))))));
    }

    #[test]
    fn a_cell_whose_sender_lives_on_is_not_reused() {
        // The receiver gave up (a dropped future) while the command is in flight:
        // its late reply must never reach a later command's receiver.
        let (late, gave_up) = channel();
        drop(gave_up);
        let (tx, mut rx) = channel();
        late.send(Ok(Value::Integer(1)));
        let (_wake, waker) = counting_waker();
        assert!(
            Pin::new(&mut rx)
                .poll(&mut Context::from_waker(&waker))
                .is_pending()
        );
        tx.send(Ok(Value::Integer(2)));
        assert!(matches!(rx.now_or_never(), Some(Ok(Ok(Value::Integer(2))))));
    }

    #[test]
    fn kept_bytes_reach_the_receiver_and_a_recycled_cell_has_none() {
        let (tx, rx) = channel();
        tx.keep(BytesMut::from(&b"*1\r\n$4\r\nPING\r\n"[..]));
        tx.send(Ok(Value::Nil));
        assert_eq!(
            rx.take_kept().as_deref(),
            Some(&b"*1\r\n$4\r\nPING\r\n"[..])
        );
        assert!(rx.take_kept().is_none());
        // Kept but never taken: gone when the cell is reused.
        let (tx, rx) = channel();
        tx.keep(BytesMut::from(&b"x"[..]));
        tx.send(Ok(Value::Nil));
        drop(rx);
        let (_tx, rx) = channel();
        assert!(rx.take_kept().is_none());
    }

    #[test]
    fn the_sender_sees_the_receiver_go() {
        let (tx, rx) = channel();
        drop(rx);
        assert!(tx.is_closed());
        tx.send(Ok(Value::Nil)); // dropped with the cell, no panic
    }
}
