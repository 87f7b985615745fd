//! [`Mailbox`]: one subscription's bounded buffer. The subscriber's reader pushes into
//! it and never waits: when it is full the message is dropped and counted, and the
//! consumer is told how many at the point in the stream where they went missing.

use std::collections::VecDeque;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;
use std::task::{Context, Poll, Waker};

use parking_lot::Mutex;

use super::message::{Event, Message};

#[derive(Debug)]
pub(crate) struct Mailbox {
    inbox: Mutex<Inbox>,
    capacity: usize,
    /// Every message ever dropped here, for [`crate::Subscription::lagged`].
    lagged_total: AtomicU64,
}

#[derive(Debug, Default)]
struct Inbox {
    events: VecDeque<Event>,
    /// Messages dropped since the last `Lagged` event was queued.
    lagged: u64,
    /// The connection was lost while this subscription existed: a `Gap` is owed once
    /// it is resubscribed.
    gap_owed: bool,
    closed: bool,
    waker: Option<Waker>,
}

impl Mailbox {
    pub(crate) fn new(capacity: usize) -> Self {
        Mailbox {
            inbox: Mutex::new(Inbox::default()),
            capacity: capacity.max(1),
            lagged_total: AtomicU64::new(0),
        }
    }

    /// Queues a message, or drops it if the buffer is full. Returns the consumer's
    /// waker if it was waiting: the caller wakes it after releasing its own locks.
    pub(crate) fn push(&self, message: Message) -> Option<Waker> {
        let mut inbox = self.inbox.lock();
        if inbox.closed {
            return None;
        }
        // Only messages count against the capacity; the few markers may exceed it.
        if inbox.events.len() >= self.capacity {
            inbox.lagged += 1;
            self.lagged_total.fetch_add(1, Relaxed);
            return None;
        }
        if inbox.lagged > 0 {
            let n = std::mem::take(&mut inbox.lagged);
            inbox.events.push_back(Event::Lagged(n));
        }
        inbox.events.push_back(Event::Message(message));
        inbox.waker.take()
    }

    /// Remembers that a `Gap` is owed (the connection was just lost).
    pub(crate) fn owe_gap(&self) {
        self.inbox.lock().gap_owed = true;
    }

    /// Queues the `Gap` owed, if any (the subscription is active again). Never
    /// dropped, whatever the buffer holds.
    pub(crate) fn pay_gap(&self) -> Option<Waker> {
        let mut inbox = self.inbox.lock();
        if !std::mem::take(&mut inbox.gap_owed) || inbox.closed {
            return None;
        }
        if inbox.lagged > 0 {
            let n = std::mem::take(&mut inbox.lagged);
            inbox.events.push_back(Event::Lagged(n));
        }
        // Two gaps in a row tell the consumer nothing the first did not.
        if !matches!(inbox.events.back(), Some(Event::Gap)) {
            inbox.events.push_back(Event::Gap);
        }
        inbox.waker.take()
    }

    /// Ends the stream once what is buffered has been read.
    pub(crate) fn close(&self) -> Option<Waker> {
        let mut inbox = self.inbox.lock();
        inbox.closed = true;
        inbox.waker.take()
    }

    /// The next event, or `Pending` (having stored the waker), or `None` once closed
    /// and empty.
    pub(crate) fn poll_next(&self, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        let mut inbox = self.inbox.lock();
        if let Some(event) = inbox.next() {
            return Poll::Ready(Some(event));
        }
        if inbox.closed {
            return Poll::Ready(None);
        }
        match &inbox.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => inbox.waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    /// The next event if one is buffered now.
    pub(crate) fn try_next(&self) -> Option<Event> {
        self.inbox.lock().next()
    }

    /// Events buffered now.
    pub(crate) fn len(&self) -> usize {
        self.inbox.lock().events.len()
    }

    pub(crate) fn lagged_total(&self) -> u64 {
        self.lagged_total.load(Relaxed)
    }
}

impl Inbox {
    fn next(&mut self) -> Option<Event> {
        if let Some(event) = self.events.pop_front() {
            return Some(event);
        }
        // Drops since the buffer last had room: say so now rather than at the next
        // message, which may be a long time coming.
        match std::mem::take(&mut self.lagged) {
            0 => None,
            n => Some(Event::Lagged(n)),
        }
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    fn message(n: u32) -> Message {
        Message::new(Bytes::from_static(b"ch"), None, Bytes::from(n.to_string()))
    }

    fn drain(mailbox: &Mailbox) -> Vec<Event> {
        std::iter::from_fn(|| mailbox.try_next()).collect()
    }

    #[test]
    fn overflow_is_counted_and_told_where_it_happened() {
        let mailbox = Mailbox::new(2);
        for n in 0..5 {
            mailbox.push(message(n));
        }
        assert_eq!(mailbox.lagged_total(), 3);
        assert_eq!(mailbox.try_next(), Some(Event::Message(message(0))));
        mailbox.push(message(5));
        assert_eq!(
            drain(&mailbox),
            [
                Event::Message(message(1)),
                Event::Lagged(3),
                Event::Message(message(5))
            ]
        );
    }

    #[test]
    fn lag_is_told_even_if_no_message_follows() {
        let mailbox = Mailbox::new(1);
        mailbox.push(message(0));
        mailbox.push(message(1));
        assert_eq!(
            drain(&mailbox),
            [Event::Message(message(0)), Event::Lagged(1)]
        );
    }

    #[test]
    fn a_gap_is_queued_once_when_owed_even_when_full() {
        let mailbox = Mailbox::new(1);
        assert!(mailbox.pay_gap().is_none());
        mailbox.push(message(0));
        mailbox.owe_gap();
        mailbox.pay_gap();
        mailbox.owe_gap();
        mailbox.pay_gap();
        assert_eq!(drain(&mailbox), [Event::Message(message(0)), Event::Gap]);
    }
}
