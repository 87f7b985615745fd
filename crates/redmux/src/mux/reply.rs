//! The hand-off of one awaited command's reply from the reader to the caller's
//! future: one small shared cell, written once.
//!
//! It replaces a `tokio::sync::oneshot` on the hottest path of all, and does less:
//! one uncontended lock on each side, no cooperative-budget bookkeeping (see
//! `ReplyReceiver::poll`), and almost never an allocation: cells come in blocks of
//! [`BLOCK`], handed out one after the other on the caller's thread, and a block
//! whose cells are all done is reset and handed out again (see [`CELLS`]).

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering::Relaxed;
use std::task::{Context, Poll, Waker};

use bytes::BytesMut;
use parking_lot::Mutex;
use redmux_resp::Value;

use crate::error::Result;

/// Cells per block: one allocation serves this many commands. A burst of 100,000
/// commands from one task has every cell alive at once, so no pool of idle cells
/// can serve it; a block makes its allocation and free one per 32 commands
/// (callgrind, 100,000 lazy SETs: a cell's malloc and free were ~700 instructions
/// per command with glibc's slow paths while 100,000 objects are alive).
const BLOCK: usize = 32;

/// Blocks a thread keeps after handing out all their cells, oldest first. Each
/// time it needs a block it looks at the oldest and reuses it if all its cells are
/// done; when it keeps this many it lets go of the oldest (its last cell's owner
/// frees it). So cells are reused for up to about 2,000 commands in flight from one
/// thread: twice the thousand callers of the callgrind load (with 16 blocks that
/// load allocated a block per 32 commands, +78 instructions per command). A block is
/// about 3.3 KiB: a thread keeps at most about 210 KiB of them.
const MAX_SPENT: usize = 64;

thread_local! {
    /// Where this thread's commands take their cells: StackExchange.Redis's pooled
    /// message objects, for the one allocation per awaited command that is the same
    /// every time.
    static CELLS: RefCell<Cells> = const {
        RefCell::new(Cells {
            current: None,
            next: BLOCK,
            spent: VecDeque::new(),
        })
    };
}

/// One thread's blocks of cells.
struct Cells {
    /// The block cells are handed out from, up to index `next`.
    current: Option<Arc<Block>>,
    next: usize,
    /// Blocks all handed out, oldest first (see [`MAX_SPENT`]).
    spent: VecDeque<Arc<Block>>,
}

impl Cells {
    /// The next free cell: its block and its index there.
    #[inline]
    fn take(&mut self) -> CellRef {
        if self.next == BLOCK || self.current.is_none() {
            self.refill();
        }
        // Below `BLOCK` (32), so it fits.
        let index = self.next as u8;
        self.next += 1;
        let block = match &self.current {
            Some(block) => block.clone(),
            None => Block::new(),
        };
        CellRef { block, index }
    }

    /// A fresh block in `current`: the oldest spent one that nothing else refers
    /// to any more (every cell's sender, receiver and keeper gone, so none of its
    /// old replies can reach a new command), reset; else a new one. The oldest is
    /// usually free; one pinned by a long-lived cell (a command whose reply is
    /// slow to come) is passed over rather than making every refill allocate
    /// until it is let go.
    #[cold]
    #[inline(never)]
    fn refill(&mut self) {
        if let Some(done) = self.current.take() {
            if self.spent.len() == MAX_SPENT {
                // Still in use (a command whose reply never came, a future kept
                // long): its last owner frees it.
                self.spent.pop_front();
            }
            self.spent.push_back(done);
        }
        self.next = 0;
        let free = self
            .spent
            .iter_mut()
            .position(|block| Arc::get_mut(block).is_some());
        if let Some(mut block) = free.and_then(|at| self.spent.remove(at)) {
            // Still ours alone: nothing could have taken a reference meanwhile.
            if let Some(cells) = Arc::get_mut(&mut block)
                && *cells.dirty.get_mut()
            {
                cells.reset();
            }
            self.current = Some(block);
            return;
        }
        self.current = Some(Block::new());
    }
}

/// [`BLOCK`] cells in one allocation. A cell's sender, receiver and keeper each
/// hold the block; it is reused only when none is left (`Arc::get_mut`).
#[derive(Debug)]
struct Block {
    cells: [Cell; BLOCK],
    /// Set when a cell may not be as new once its owners are gone: a receiver
    /// dropped before it took an outcome (its reply may still come, and `closed`
    /// is set), or a command's bytes kept. A command answered and taken leaves its
    /// cell as new (`ReplyReceiver::poll`), so the usual block is reused with no
    /// look at its cells.
    dirty: AtomicBool,
}

impl Block {
    fn new() -> Arc<Block> {
        Arc::new(Block {
            cells: std::array::from_fn(|_| Cell {
                state: Mutex::new(State::Waiting(None)),
                kept: Mutex::new(None),
                closed: AtomicBool::new(false),
            }),
            dirty: AtomicBool::new(false),
        })
    }

    /// Makes every cell as new before the block is handed out again: drops what
    /// is left (a stale waker, a kept command's bytes go to the buffer pool).
    fn reset(&mut self) {
        for cell in &mut self.cells {
            let state = cell.state.get_mut();
            match state {
                // The usual end: nothing to drop, so no drop call per cell.
                State::Dropped => {
                    std::mem::forget(std::mem::replace(state, State::Waiting(None)));
                }
                State::Waiting(None) => {}
                _ => *state = State::Waiting(None),
            }
            // A kept command that was not needed again serves this thread's next one.
            let kept = cell.kept.get_mut();
            if kept.is_some()
                && let Some(bytes) = kept.take()
            {
                redmux_resp::CommandBuf::recycle(bytes);
            }
            *cell.closed.get_mut() = false;
        }
        *self.dirty.get_mut() = false;
    }
}

/// One cell of a block: what a sender, a receiver and a keeper hold.
#[derive(Debug)]
struct CellRef {
    block: Arc<Block>,
    index: u8,
}

impl CellRef {
    #[inline(always)]
    fn cell(&self) -> &Cell {
        cell_at(&self.block, self.index)
    }

    /// Marks the block for a reset before its cells are used again.
    fn dirty(&self) {
        // Looked at first: a cluster's writer keeps every command's bytes, and a
        // store each time would pull the line from the caller's core.
        if !self.block.dirty.load(Relaxed) {
            self.block.dirty.store(true, Relaxed);
        }
    }

    fn share(&self) -> CellRef {
        CellRef {
            block: self.block.clone(),
            index: self.index,
        }
    }
}

/// Cell `index` of `block`.
#[inline(always)]
fn cell_at(block: &Block, index: u8) -> &Cell {
    // `index` is below `BLOCK` by construction (`Cells::take`); `get` keeps the
    // look-up free of a panic path all the same.
    match block.cells.get(usize::from(index)) {
        Some(cell) => cell,
        None => &block.cells[0],
    }
}

/// A new cell: the sending half goes into the command's slot, the receiving half
/// into the caller's future.
#[inline]
pub(crate) fn channel() -> (ReplySender, ReplyReceiver) {
    let cell = CELLS
        .try_with(|cells| cells.try_borrow_mut().ok().map(|mut cells| cells.take()))
        .ok()
        .flatten()
        // The thread is going away: a block of its own for this one command.
        .unwrap_or_else(|| CellRef {
            block: Block::new(),
            index: 0,
        });
    (
        ReplySender(Some(cell.share())),
        ReplyReceiver {
            index: cell.index,
            block: cell.block,
            phase: Phase::Unpolled,
        },
    )
}

#[derive(Debug)]
struct Cell {
    state: Mutex<State>,
    /// The command's encoded bytes, for a command its sender asked to be able
    /// to send again (a cluster command, should the reply be a redirect: see
    /// [`ReplySender::keep`]). Apart from `state`, so the reply's hand-off never
    /// touches it.
    kept: Mutex<Option<BytesMut>>,
    /// Set when the receiver is dropped: nobody wants the reply
    /// ([`ReplySender::is_closed`]).
    closed: AtomicBool,
}

#[derive(Debug)]
enum State {
    /// No reply yet; the receiver's waker once it has been polled.
    Waiting(Option<Waker>),
    /// The reply, not yet taken.
    Sent(Result<Value>),
    /// The sender was dropped without sending.
    Dropped,
}

/// The reader's end. Dropped without [`send`](ReplySender::send), it tells the
/// receiver so.
#[derive(Debug)]
pub(crate) struct ReplySender(Option<CellRef>);

impl ReplySender {
    /// Delivers the reply and wakes the receiver. If the receiver is gone the reply
    /// is dropped at once.
    #[inline]
    pub(crate) fn send(mut self, reply: Result<Value>) {
        if let Some(cell) = self.0.take() {
            cell.cell().finish(State::Sent(reply));
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
            cell.dirty();
            *cell.cell().kept.lock() = Some(bytes);
        }
    }

    /// A handle to [`keep`](Self::keep) the bytes once the sender has moved on.
    pub(crate) fn keeper(&self) -> Option<Keeper> {
        self.0.as_ref().map(|cell| Keeper(cell.share()))
    }

    /// Whether the receiving future is gone: nobody wants the reply.
    pub(crate) fn is_closed(&self) -> bool {
        self.0
            .as_ref()
            .is_none_or(|cell| cell.cell().closed.load(Relaxed))
    }
}

impl Drop for ReplySender {
    fn drop(&mut self) {
        if let Some(cell) = self.0.take() {
            cell.cell().finish(State::Dropped);
        }
    }
}

impl Cell {
    #[inline(always)]
    fn finish(&self, outcome: State) {
        let waker = {
            let mut state = self.state.lock();
            // Set under this lock by a receiver dropped before its outcome: nobody
            // wants it, and kept in the cell it would pin its read buffer until the
            // block is next reused.
            if self.closed.load(Relaxed) {
                drop(state);
                drop(outcome);
                return;
            }
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
    // A `CellRef`'s two fields, with `phase` beside them rather than after the
    // whole: 16 bytes, not 24, in every command's future.
    block: Arc<Block>,
    index: u8,
    phase: Phase,
}

/// How far a receiver got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Never polled: no waker of ours in the cell.
    Unpolled,
    /// A poll left a waker of ours in the cell.
    Registered,
    /// It took the outcome and left the cell as new.
    Done,
}

impl Drop for ReplyReceiver {
    fn drop(&mut self) {
        if self.phase == Phase::Done {
            // The outcome was taken: the sender is done and the cell as new, but
            // for a cluster command's bytes kept for a redirect that did not come
            // (the block is marked whenever bytes are kept): back to this thread's
            // buffer pool now, not held until the block is next reused.
            if self.block.dirty.load(Relaxed)
                && let Some(bytes) = self.cell().kept.lock().take()
            {
                redmux_resp::CommandBuf::recycle(bytes);
            }
            return;
        }
        // The block is reused only once every cell in it is done (see
        // `Cells::refill`): until then the sender may still write here, and asks
        // `closed` whether anyone wants the reply.
        self.block.dirty.store(true, Relaxed);
        let cell = self.cell();
        let unwanted = {
            // Under the state lock, so the sender's `finish` sees it before it
            // would store a reply, and a reply already in is taken out here.
            let mut state = cell.state.lock();
            cell.closed.store(true, Relaxed);
            match &mut *state {
                State::Waiting(waker) => {
                    *waker = None;
                    None
                }
                State::Sent(_) => Some(std::mem::replace(&mut *state, State::Dropped)),
                State::Dropped => None,
            }
        };
        // Dropped outside the lock.
        drop(unwanted);
    }
}

/// What [`ReplySender::keeper`] gives: somewhere to keep a command's bytes for
/// its receiver after its sender was handed on.
#[derive(Debug)]
pub(crate) struct Keeper(CellRef);

impl Keeper {
    /// As [`ReplySender::keep`].
    pub(crate) fn keep(self, bytes: BytesMut) {
        self.0.dirty();
        *self.0.cell().kept.lock() = Some(bytes);
    }
}

impl ReplyReceiver {
    #[inline(always)]
    fn cell(&self) -> &Cell {
        cell_at(&self.block, self.index)
    }

    /// Takes the waker a poll left in the cell back out: a lone caller about to
    /// read (and so complete) its own reply is not woken by it. Its next poll
    /// registers again if the reply is still to come.
    #[inline]
    pub(crate) fn forget_waker(&mut self) {
        if self.phase == Phase::Registered
            && let State::Waiting(waker) = &mut *cell_at(&self.block, self.index).state.lock()
        {
            *waker = None;
        }
    }

    /// The command's bytes, if its sender kept them ([`ReplySender::keep`]): to
    /// send it again after a reply that refused it.
    pub(crate) fn take_kept(&self) -> Option<BytesMut> {
        self.cell().kept.lock().take()
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
        if this.phase == Phase::Done {
            return Poll::Ready(Err(SenderDropped));
        }
        let mut state = cell_at(&this.block, this.index).state.lock();
        let ready = match &mut *state {
            State::Waiting(waker) => {
                match waker {
                    Some(w) if w.will_wake(cx.waker()) => {}
                    _ => *waker = Some(cx.waker().clone()),
                }
                this.phase = Phase::Registered;
                return Poll::Pending;
            }
            // No cooperative budget here, unlike tokio's channels: with it, `join_all`
            // over K replies already in took K²/128 polls (a deferred wake is invisible
            // to `FuturesUnordered`), and a `block_on` inside a tokio task hung after
            // 128. Taking a reply costs ~100 ns, so a long run of them yields late,
            // not never: the task's next pending await yields.
            //
            // Taken, the cell is left as new (`Waiting(None)`): the sender is done
            // with it, so its block can be reused without a look at it.
            State::Sent(_) | State::Dropped => {
                match std::mem::replace(&mut *state, State::Waiting(None)) {
                    State::Sent(reply) => Ok(reply),
                    _ => Err(SenderDropped),
                }
            }
        };
        // Whoever finished the cell took the waker with it.
        this.phase = Phase::Done;
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
    fn a_reply_nobody_waits_for_is_dropped_at_once() {
        let payload = bytes::Bytes::from(vec![7u8; 64]);
        // Sent after the receiver is gone: never stored.
        let (tx, rx) = channel();
        drop(rx);
        tx.send(Ok(Value::BulkString(payload.clone())));
        assert!(payload.is_unique(), "kept in the cell");
        // In before the receiver is gone: taken out by its drop.
        let (tx, rx) = channel();
        tx.send(Ok(Value::BulkString(payload.clone())));
        drop(rx);
        assert!(payload.is_unique(), "kept in the cell");
    }

    #[test]
    fn bytes_kept_for_a_redirect_that_did_not_come_go_when_the_reply_is_taken() {
        let (tx, mut rx) = channel();
        tx.keep(bytes::BytesMut::from(&b"*1\r\n$4\r\nPING\r\n"[..]));
        tx.send(Ok(Value::Nil));
        let (block, index) = (rx.block.clone(), rx.index);
        let waker = futures::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        assert!(Pin::new(&mut rx).poll(&mut cx).is_ready());
        assert!(cell_at(&block, index).kept.lock().is_some());
        drop(rx);
        assert!(cell_at(&block, index).kept.lock().is_none());
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

    /// Runs `test` on a thread of its own, so it starts with no cells handed out
    /// and no other test takes cells from its blocks.
    fn on_fresh_thread(test: impl FnOnce() + Send + 'static) {
        assert!(std::thread::spawn(test).join().is_ok());
    }

    /// Where a receiver's cell is: its block's address and its index there.
    fn place(rx: &ReplyReceiver) -> (usize, usize) {
        (Arc::as_ptr(&rx.block) as usize, usize::from(rx.index))
    }

    /// Takes and completes cells until one lands at `place` again (a block
    /// reused); `None` if none did in enough rounds to go through every block kept.
    fn reuse_of(place_of: (usize, usize)) -> Option<(ReplySender, ReplyReceiver)> {
        for _ in 0..BLOCK * (MAX_SPENT + 2) {
            let (tx, rx) = channel();
            if place(&rx) == place_of {
                return Some((tx, rx));
            }
            tx.send(Ok(Value::Nil));
            assert!(matches!(rx.now_or_never(), Some(Ok(Ok(Value::Nil)))));
        }
        None
    }

    /// A cell as new: no outcome until its own reply comes, then that one.
    fn answers_only_its_own(tx: ReplySender, mut rx: ReplyReceiver) {
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
    fn an_answered_cell_is_reused_once_its_block_is_done() {
        on_fresh_thread(|| {
            let (tx, rx) = channel();
            let first = place(&rx);
            tx.send(Ok(Value::Integer(1)));
            assert!(matches!(rx.now_or_never(), Some(Ok(Ok(Value::Integer(1))))));
            let Some((tx, rx)) = reuse_of(first) else {
                panic!("a block whose cells are all done was not reused");
            };
            answers_only_its_own(tx, rx);
        });
    }

    #[test]
    fn a_reused_cell_carries_nothing_of_its_last_command() {
        on_fresh_thread(|| {
            // A reply nobody took, and bytes kept and never taken: both gone
            // when the cell is reused.
            let (tx, rx) = channel();
            let first = place(&rx);
            tx.keep(BytesMut::from(&b"x"[..]));
            tx.send(Ok(Value::Integer(1)));
            drop(rx);
            let Some((tx, rx)) = reuse_of(first) else {
                panic!("a block whose cells are all done was not reused");
            };
            assert!(rx.take_kept().is_none());
            assert!(!tx.is_closed());
            answers_only_its_own(tx, rx);
        });
    }

    #[test]
    fn a_block_pinned_by_a_slow_command_does_not_keep_the_others_from_reuse() {
        on_fresh_thread(|| {
            // Takes a cell and answers it at once.
            let answered = || {
                let (tx, rx) = channel();
                let at = place(&rx);
                tx.send(Ok(Value::Nil));
                assert!(matches!(rx.now_or_never(), Some(Ok(Ok(Value::Nil)))));
                at
            };
            // The first block is pinned by a command still waiting.
            let (_slow_tx, _slow_rx) = channel();
            (1..BLOCK).for_each(|_| {
                answered();
            });
            // The second is done with.
            let second = answered();
            (1..BLOCK).for_each(|_| {
                answered();
            });
            // It comes back at once, not after a new block per refill until the
            // pinned one is let go.
            assert!(
                (0..BLOCK).any(|_| answered().0 == second.0),
                "a free block was passed over"
            );
        });
    }

    #[test]
    fn a_cell_whose_sender_lives_on_is_not_reused() {
        on_fresh_thread(|| {
            // The receiver gave up (a dropped future) while the command is in
            // flight: its late reply must never reach a later command's receiver.
            let (late, gave_up) = channel();
            let first = place(&gave_up);
            drop(gave_up);
            assert!(late.is_closed());
            assert!(
                reuse_of(first).is_none(),
                "a cell in use was handed out again"
            );
            // Every block kept since was let go of, so one new command after the
            // late reply gets a cell of its own.
            let (tx, rx) = channel();
            late.send(Ok(Value::Integer(1)));
            answers_only_its_own(tx, rx);
        });
    }

    #[test]
    fn kept_bytes_reach_the_receiver() {
        let (tx, rx) = channel();
        tx.keep(BytesMut::from(&b"*1\r\n$4\r\nPING\r\n"[..]));
        tx.send(Ok(Value::Nil));
        assert_eq!(
            rx.take_kept().as_deref(),
            Some(&b"*1\r\n$4\r\nPING\r\n"[..])
        );
        assert!(rx.take_kept().is_none());
    }

    #[test]
    fn a_receiver_polled_after_its_outcome_gets_no_other() {
        let (tx, mut rx) = channel();
        tx.send(Ok(Value::Integer(1)));
        let (_wake, waker) = counting_waker();
        let mut cx = Context::from_waker(&waker);
        assert!(matches!(
            Pin::new(&mut rx).poll(&mut cx),
            Poll::Ready(Ok(Ok(Value::Integer(1))))
        ));
        assert!(matches!(
            Pin::new(&mut rx).poll(&mut cx),
            Poll::Ready(Err(SenderDropped))
        ));
    }

    #[test]
    fn the_sender_sees_the_receiver_go() {
        let (tx, rx) = channel();
        drop(rx);
        assert!(tx.is_closed());
        tx.send(Ok(Value::Nil)); // dropped with the cell, no panic
    }
}
