//! Batches: many commands sent back to back on the shared connection, with one
//! result per command.
//!
//! | file | owns |
//! |---|---|
//! | this file | [`Batch`], [`BatchIndex`], [`BatchResults`], and [`BatchItem`], what a batch or transaction can queue |
//! | `chunks.rs` | the engine: commands cut into chunks, a window of chunks in flight, replies collected per chunk |
//! | `stream.rs` | [`BatchStream`]: results in order, as they arrive, from an iterator or stream of commands |
//!
//! A batch is not a transaction: other callers' commands may run between its
//! chunks, and a failed command does not stop the others. Use
//! [`crate::Transaction`] for all-or-nothing.

mod chunks;
mod cluster;
mod stream;

use std::fmt;
use std::future::{Future, poll_fn};
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::BytesMut;
use redmux_resp::Value;

use crate::cache::OwnWrite;
use crate::client::Client;
use crate::command::Command;
use crate::error::{Error, Result};
use crate::from_value::FromValue;
use crate::request::Request;
use crate::script::{Call, FunctionCall, ScriptCall};
pub use stream::BatchStream;

pub(crate) use chunks::Chunks;

/// Commands per chunk: enough that the round trip per chunk is amortised, few
/// enough that neither side holds much of a large batch at once.
const CHUNK_COMMANDS: usize = 1000;
/// Bytes per chunk, whichever limit comes first (a single larger command is a
/// chunk of its own).
const CHUNK_BYTES: usize = 1024 * 1024;
/// Chunks in flight: while one is answered the next are already on the wire. Four
/// keeps a local server busy (see `docs/benchmarks.md`, Batches).
const WINDOW: usize = 4;

/// Scripts a group has already sent as EVAL: later calls in the group go as
/// EVALSHA and find the script cached.
#[derive(Debug, Default)]
pub(crate) struct ScriptsSent {
    sha1s: Vec<String>,
}

impl ScriptsSent {
    /// Whether this is the first call of the script in the group (and records it).
    pub(crate) fn first_time(&mut self, sha1: &str) -> bool {
        if self.sha1s.iter().any(|s| s == sha1) {
            return false;
        }
        self.sha1s.push(sha1.to_string());
        true
    }
}

/// One command of a batch or transaction, ready to encode.
#[derive(Debug, Clone)]
pub(crate) enum Item {
    /// A command, encoded already; kept whole until it is sent so that a cluster
    /// can read its keys.
    Encoded(Command),
    /// A script call: EVAL or EVALSHA is decided when its group is sent.
    Script(Call),
    /// Refused before sending (a blocking command).
    Refused(Error),
}

impl Item {
    fn from_command(command: Command) -> Item {
        match command
            .check_arguments()
            .and_then(|()| command.check_shareable())
        {
            Ok(()) => Item::Encoded(command),
            Err(e) => Item::Refused(e),
        }
    }

    /// The command's name, for its batch's span.
    pub(super) fn name(&self) -> Option<&[u8]> {
        match self {
            Item::Encoded(command) => Some(command.name_bytes()),
            Item::Script(_) => Some(b"EVALSHA"),
            Item::Refused(_) => None,
        }
    }

    /// About how many bytes the command takes on the wire.
    pub(crate) fn size(&self) -> usize {
        match self {
            Item::Encoded(command) => command.encoded_len(),
            Item::Script(call) => call.size(),
            Item::Refused(_) => 0,
        }
    }

    /// The slot its keys hash to (for a cluster).
    pub(crate) fn slot(&self, specs: &crate::keys::KeySpecs) -> crate::KeySlot {
        match self {
            Item::Encoded(command) => command.slot_with(specs),
            Item::Script(call) => call.command(false).slot(),
            Item::Refused(_) => crate::KeySlot::Keyless,
        }
    }

    /// Every key it names (`None` when they cannot all be read back, see
    /// [`Command::keys_with`]).
    pub(crate) fn keys(&self, specs: &crate::keys::KeySpecs) -> Option<Vec<Vec<u8>>> {
        match self {
            Item::Encoded(command) => command.keys_with(specs),
            Item::Script(call) => call.command(false).keys_with(specs),
            Item::Refused(_) => Some(Vec::new()),
        }
    }

    /// Adds what the command writes to the record a client-side cache keeps of
    /// the client's own writes (`crate::cache`), before it is encoded.
    pub(crate) fn note_write(&self, write: &mut OwnWrite) {
        match self {
            Item::Encoded(command) => write.add(command),
            // Its keys are marked, and EVALSHA writes what EVAL would.
            Item::Script(call) => write.add(&call.command(false)),
            Item::Refused(_) => {}
        }
    }

    /// The bytes to send. A script is sent as EVAL the first time `sent` sees it
    /// and as EVALSHA after that.
    pub(crate) fn encode(self, sent: &mut ScriptsSent) -> Result<BytesMut> {
        match self {
            Item::Encoded(command) => Ok(command.into_bytes()),
            Item::Script(call) => {
                let eval = sent.first_time(call.sha1());
                let command = call.command(eval);
                command.check_arguments()?;
                Ok(command.into_bytes())
            }
            Item::Refused(e) => Err(e),
        }
    }
}

pub(crate) mod sealed {
    /// Keeps [`super::BatchItem`] implemented only here: what a batch holds is an
    /// internal matter.
    pub trait Sealed {
        #[doc(hidden)]
        fn into_item(self) -> Queued;
    }

    /// A command as a batch holds it; opaque outside the crate.
    #[derive(Debug)]
    pub struct Queued(pub(crate) super::Item);
}

/// Something a [`Batch`], a [`BatchStream`] or a [`crate::Transaction`] can queue,
/// whose reply converts to `T`:
///
/// - a [`Command`], whose reply type you choose: `batch.add::<i64>(cmd("INCR").arg("n"))`;
/// - a typed [`Request`]: `batch.add(client.get::<String>("k"))` (its own timeout
///   and flags are ignored: the batch's apply);
/// - a script or function call: [`crate::ScriptCall`], [`crate::FunctionCall`].
///
/// Blocking commands (BLPOP, ...) are refused here as on the client: that command
/// gets [`Error::BlockingCommandRefused`] (a transaction refuses as a whole).
///
/// ```no_run
/// # async fn run(client: redmux::Client) -> redmux::Result<()> {
/// let script = redmux::Script::new("return #KEYS");
/// let mut batch = client.batch();
/// let typed = batch.add(client.get::<Option<String>>("a"));
/// let raw = batch.add::<i64>(redmux::cmd("STRLEN").arg("a"));
/// let scripted = batch.add(script.call::<i64>().key("a"));
/// let results = batch.execute().await;
/// # Ok(()) }
/// ```
pub trait BatchItem<T>: sealed::Sealed {}

impl sealed::Sealed for Command {
    fn into_item(self) -> sealed::Queued {
        sealed::Queued(Item::from_command(self))
    }
}

impl<T: FromValue> BatchItem<T> for Command {}

impl<T> sealed::Sealed for Request<'_, T> {
    fn into_item(self) -> sealed::Queued {
        sealed::Queued(match self.into_command() {
            Ok(command) => Item::from_command(command),
            Err(e) => Item::Refused(e),
        })
    }
}

impl<T: FromValue> BatchItem<T> for Request<'_, T> {}

impl<T> sealed::Sealed for ScriptCall<T> {
    fn into_item(self) -> sealed::Queued {
        sealed::Queued(Item::Script(self.into_call()))
    }
}

impl<T: FromValue> BatchItem<T> for ScriptCall<T> {}

impl<T> sealed::Sealed for FunctionCall<'_, T> {
    fn into_item(self) -> sealed::Queued {
        sealed::Queued(Item::from_command(self.command()))
    }
}

impl<T: FromValue> BatchItem<T> for FunctionCall<'_, T> {}

/// Where one command's result is in [`BatchResults`], and the type it converts to.
/// Returned by [`Batch::add`] and [`crate::Transaction::add`]; it is `Copy`, and only
/// means something for the batch or transaction that returned it.
///
/// ```no_run
/// # async fn run(client: redmux::Client) -> redmux::Result<()> {
/// let mut batch = client.batch();
/// let n: redmux::BatchIndex<i64> = batch.add(client.incr("n"));
/// assert_eq!(n.index(), 0);
/// let results = batch.execute().await;
/// let value: i64 = results.get(n)?;
/// # Ok(()) }
/// ```
pub struct BatchIndex<T> {
    index: usize,
    _reply: PhantomData<fn() -> T>,
}

impl<T> BatchIndex<T> {
    pub(crate) fn new(index: usize) -> Self {
        BatchIndex {
            index,
            _reply: PhantomData,
        }
    }

    /// The command's position in its batch, from 0 (see the type's example).
    pub fn index(self) -> usize {
        self.index
    }
}

impl<T> Clone for BatchIndex<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for BatchIndex<T> {}

impl<T> PartialEq for BatchIndex<T> {
    fn eq(&self, other: &Self) -> bool {
        self.index == other.index
    }
}

impl<T> Eq for BatchIndex<T> {}

impl<T> Hash for BatchIndex<T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.index.hash(state);
    }
}

impl<T> fmt::Debug for BatchIndex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BatchIndex({})", self.index)
    }
}

/// How a batch is cut into chunks and paced.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Options {
    pub(crate) timeout: Option<Duration>,
    pub(crate) chunk_commands: usize,
    pub(crate) chunk_bytes: usize,
    pub(crate) window: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            timeout: None,
            chunk_commands: CHUNK_COMMANDS,
            chunk_bytes: CHUNK_BYTES,
            window: WINDOW,
        }
    }
}

/// Commands collected to be sent back to back, each with its own result.
///
/// Made by [`Client::batch`]. Nothing is sent until [`execute`](Batch::execute).
/// The commands go out in chunks of about 1,000 commands or 1 MiB, a few chunks in
/// flight at a time, so a batch of a million commands never sits whole in the
/// client's queue or the server's buffers. Other callers' commands may run between
/// chunks; within a chunk the commands are written back to back.
///
/// ```no_run
/// # async fn run(client: redmux::Client) -> redmux::Result<()> {
/// use redmux::cmd;
/// let mut batch = client.batch();
/// batch.add(client.set("a", 1));
/// let n = batch.add::<i64>(cmd("INCR").arg("a"));
/// let v = batch.add(client.get::<Option<String>>("missing"));
/// let results = batch.execute().await;
/// assert_eq!(results.get(n)?, 2);
/// assert_eq!(results.get(v)?, None);
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "a batch does nothing until it is executed"]
pub struct Batch {
    client: Client,
    items: Vec<Item>,
    options: Options,
}

impl Client {
    /// Starts a [`Batch`].
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let mut batch = client.batch();
    /// for i in 0..100_000 {
    ///     batch.add(client.set(format!("key:{i}"), i));
    /// }
    /// let results = batch.execute().await;
    /// assert_eq!(results.errors().count(), 0);
    /// # Ok(()) }
    /// ```
    pub fn batch(&self) -> Batch {
        Batch {
            client: self.clone(),
            items: Vec::new(),
            options: Options::default(),
        }
    }
}

impl Batch {
    /// Adds a command; the returned index reads its result from [`BatchResults`].
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let mut batch = client.batch();
    /// let len = batch.add::<i64>(redmux::cmd("LPUSH").arg("q").arg("job"));
    /// let ttl = batch.add(client.ttl("q"));
    /// let results = batch.execute().await;
    /// println!("{} {:?}", results.get(len)?, results.get(ttl)?);
    /// # Ok(()) }
    /// ```
    pub fn add<T>(&mut self, command: impl BatchItem<T>) -> BatchIndex<T> {
        let index = self.items.len();
        self.items.push(command.into_item().0);
        BatchIndex::new(index)
    }

    /// Commands added so far.
    ///
    /// ```no_run
    /// # fn run(client: redmux::Client) {
    /// let mut batch = client.batch();
    /// assert!(batch.is_empty());
    /// batch.add(client.incr("n"));
    /// assert_eq!(batch.len(), 1);
    /// # }
    /// ```
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether no command was added (see [`Batch::len`]).
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// How long each chunk may take, from when it is queued until its last reply
    /// (the client's `command_timeout` otherwise).
    ///
    /// ```no_run
    /// # fn run(client: redmux::Client) {
    /// use std::time::Duration;
    /// let batch = client.batch().timeout(Duration::from_secs(30)).chunk_size(500).window(8);
    /// # }
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.options.timeout = Some(timeout);
        self
    }

    /// The most commands per chunk (default 1,000); see [`Batch::timeout`] for an
    /// example.
    pub fn chunk_size(mut self, commands: usize) -> Self {
        self.options.chunk_commands = commands.max(1);
        self
    }

    /// How many chunks may be in flight at once (default 4); see
    /// [`Batch::timeout`] for an example.
    pub fn window(mut self, chunks: usize) -> Self {
        self.options.window = chunks.max(1);
        self
    }

    /// Sends the commands and collects one result per command, in order.
    ///
    /// The first chunks are queued when `execute` is called, not when the future is
    /// first polled, so the batch keeps its place among the caller's other commands.
    /// A failed command (an error reply, a timeout, a lost connection) fails alone:
    /// the others' results stand.
    ///
    /// # Cancellation
    ///
    /// Dropping the future stops sending further chunks; chunks already queued are
    /// still sent, and their replies are discarded.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let mut batch = client.batch();
    /// batch.add(client.set("k", "v"));
    /// let results = batch.execute().await;
    /// for (i, e) in results.errors() {
    ///     eprintln!("command {i} failed: {e}");
    /// }
    /// # Ok(()) }
    /// ```
    pub fn execute(self) -> impl Future<Output = BatchResults> + Send + 'static {
        let Batch {
            client,
            items,
            options,
        } = self;
        let count = items.len();
        // Made before the first chunk is queued, so it covers the whole exchange.
        let span = crate::trace::batch(client.config(), items.iter().map(Item::name));
        let mut chunks = Chunks::new(client, options);
        let mut source = items.into_iter();
        let mut pull = move |_: &mut Context<'_>| Poll::Ready(source.next());
        // The source never waits, so a no-op waker is enough to queue the first window.
        chunks.fill(&mut Context::from_waker(Waker::noop()), &mut pull);
        async move {
            let mut replies = Vec::with_capacity(count);
            poll_fn(|cx| {
                loop {
                    match chunks.poll_next(cx, &mut pull) {
                        Poll::Ready(Some(reply)) => replies.push(reply),
                        Poll::Ready(None) => return Poll::Ready(()),
                        Poll::Pending => return Poll::Pending,
                    }
                }
            })
            .await;
            if let Some(span) = span {
                crate::trace::record_batch(&span, replies.iter());
            }
            BatchResults { replies }
        }
    }
}

/// One result per command of a batch, in the order they were added.
///
/// A command's error reply is its own `Err`; the others are unaffected.
///
/// ```no_run
/// # async fn run(client: redmux::Client) -> redmux::Result<()> {
/// let mut batch = client.batch();
/// batch.add(client.set("s", "text"));
/// let bad = batch.add(client.incr("s"));
/// let results = batch.execute().await;
/// assert!(results.get(bad).is_err());
/// assert_eq!(results.errors().map(|(i, _)| i).collect::<Vec<_>>(), [1]);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct BatchResults {
    replies: Vec<Result<Value>>,
}

impl BatchResults {
    pub(crate) fn new(replies: Vec<Result<Value>>) -> Self {
        BatchResults { replies }
    }

    /// The number of results (one per command).
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) {
    /// let mut batch = client.batch();
    /// batch.add(client.incr("n"));
    /// let results = batch.execute().await;
    /// assert_eq!(results.len(), 1);
    /// assert!(!results.is_empty());
    /// # }
    /// ```
    pub fn len(&self) -> usize {
        self.replies.len()
    }

    /// Whether there are none (see [`BatchResults::len`]).
    pub fn is_empty(&self) -> bool {
        self.replies.is_empty()
    }

    /// A command's result as the type its index names (the reply is cloned).
    ///
    /// # Errors
    ///
    /// The command's own error ([`Error::Server`] for an error reply), or
    /// [`Error::Conversion`] when the reply is not a `T`.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let mut batch = client.batch();
    /// let n = batch.add(client.incr("n"));
    /// let results = batch.execute().await;
    /// let value: i64 = results.get(n)?;
    /// # Ok(()) }
    /// ```
    pub fn get<T: FromValue>(&self, index: BatchIndex<T>) -> Result<T> {
        self.get_at(index.index)
    }

    /// The result at a position, as any type.
    ///
    /// # Errors
    ///
    /// As [`BatchResults::get`]; [`Error::Conversion`] for a position out of range.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let mut batch = client.batch();
    /// batch.add::<redmux::Value>(redmux::cmd("INCR").arg("n"));
    /// let results = batch.execute().await;
    /// let as_text: String = results.get_at(0)?;
    /// # Ok(()) }
    /// ```
    pub fn get_at<T: FromValue>(&self, index: usize) -> Result<T> {
        match self.replies.get(index) {
            Some(Ok(value)) => T::from_value(value.clone()),
            Some(Err(e)) => Err(e.clone()),
            None => Err(Error::Conversion {
                expected: "a position within the batch",
                got: format!("position {index} of {} results", self.replies.len()),
                source: None,
            }),
        }
    }

    /// Takes a command's result out without cloning it; taking it again gives a
    /// conversion of nil.
    ///
    /// # Errors
    ///
    /// As [`BatchResults::get`].
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let mut batch = client.batch();
    /// let all = batch.add(client.command::<Vec<String>>(redmux::cmd("LRANGE").arg("big").arg(0).arg(-1)));
    /// let mut results = batch.execute().await;
    /// let items: Vec<String> = results.take(all)?;
    /// # Ok(()) }
    /// ```
    pub fn take<T: FromValue>(&mut self, index: BatchIndex<T>) -> Result<T> {
        match self.replies.get_mut(index.index) {
            Some(Ok(value)) => T::from_value(std::mem::replace(value, Value::Nil)),
            Some(Err(e)) => Err(e.clone()),
            None => self.get_at(index.index),
        }
    }

    /// The failed commands: their positions and errors (see the type's example).
    pub fn errors(&self) -> impl Iterator<Item = (usize, &Error)> {
        self.replies
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.as_ref().err().map(|e| (i, e)))
    }

    /// Every result in order; error replies are already `Err`.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) {
    /// let mut batch = client.batch();
    /// batch.add(client.incr("n"));
    /// let results = batch.execute().await;
    /// let succeeded = results.iter().filter(|r| r.is_ok()).count();
    /// let raw: Vec<redmux::Result<redmux::Value>> = results.into_vec();
    /// # }
    /// ```
    pub fn iter(&self) -> std::slice::Iter<'_, Result<Value>> {
        self.replies.iter()
    }

    /// The results, as a vector (see [`BatchResults::iter`]).
    pub fn into_vec(self) -> Vec<Result<Value>> {
        self.replies
    }
}

impl IntoIterator for BatchResults {
    type Item = Result<Value>;
    type IntoIter = std::vec::IntoIter<Result<Value>>;

    fn into_iter(self) -> Self::IntoIter {
        self.replies.into_iter()
    }
}

impl<'a> IntoIterator for &'a BatchResults {
    type Item = &'a Result<Value>;
    type IntoIter = std::slice::Iter<'a, Result<Value>>;

    fn into_iter(self) -> Self::IntoIter {
        self.replies.iter()
    }
}
