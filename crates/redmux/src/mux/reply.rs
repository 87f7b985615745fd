//! The hand-off of one awaited command's reply from the reader to the caller's
//! future: one small shared cell, written once.
//!
//! It replaces a `tokio::sync::oneshot` on the hottest path of all, and does less:
//! one uncontended lock on each side, no cooperative-budget bookkeeping (the future
//! waits on the reader task, never on itself), and a smaller allocation.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use parking_lot::Mutex;
use redmux_resp::Value;

use crate::error::Result;

/// A new cell: the sending half goes into the command's slot, the receiving half
/// into the caller's future.
pub(crate) fn channel() -> (ReplySender, ReplyReceiver) {
    let cell = Arc::new(Cell {
        state: Mutex::new(State::Waiting(None)),
    });
    (ReplySender(Some(cell.clone())), ReplyReceiver(cell))
}

#[derive(Debug)]
struct Cell {
    state: Mutex<State>,
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
    pub(crate) fn send(mut self, reply: Result<Value>) {
        if let Some(cell) = self.0.take() {
            cell.finish(State::Sent(reply));
        }
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
/// went away without one.
#[derive(Debug)]
pub(crate) struct ReplyReceiver(Arc<Cell>);

/// The sender was dropped without a reply (the client shut down).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SenderDropped;

impl Future for ReplyReceiver {
    type Output = std::result::Result<Result<Value>, SenderDropped>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.0.state.lock();
        match &mut *state {
            State::Waiting(waker) => {
                match waker {
                    Some(w) if w.will_wake(cx.waker()) => {}
                    _ => *waker = Some(cx.waker().clone()),
                }
                Poll::Pending
            }
            State::Sent(_) => match std::mem::replace(&mut *state, State::Taken) {
                State::Sent(reply) => Poll::Ready(Ok(reply)),
                _ => Poll::Ready(Err(SenderDropped)),
            },
            State::Taken | State::Dropped => Poll::Ready(Err(SenderDropped)),
        }
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

    #[test]
    fn the_sender_sees_the_receiver_go() {
        let (tx, rx) = channel();
        drop(rx);
        assert!(tx.is_closed());
        tx.send(Ok(Value::Nil)); // dropped with the cell, no panic
    }
}
