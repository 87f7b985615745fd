//! Transactions on the shared connection: MULTI ... EXEC, with optional conditions
//! checked under WATCH, in the StackExchange.Redis style.
//!
//! | file | owns |
//! |---|---|
//! | this file | [`Transaction`], [`TransactionOutcome`], [`AbortReason`], and the exchange with the writer |
//! | `condition.rs` | [`Condition`] and [`Comparison`]: the kinds of check, their reads and their tests |
//! | `cluster.rs` | on a cluster, the block sent again after a refusal of the whole (MOVED, ASK, ...), to the importing node with ASKING after an ASK |
//!
//! A transaction is one entry in the client's queue, and its other commands follow
//! it through the writer's *hold* (see `mux::queue::Entry::hold`): once the writer
//! has written the first, it takes nothing else from the queue until the rest is
//! handed over, so no other caller's command can land between WATCH and EXEC (where
//! it would be watched by, or queued into, someone else's transaction).
//!
//! ```text
//! with conditions:    WATCH k...  ─hold─►  check ...  ─hold─►  MULTI cmd... EXEC   (all hold)
//!                                                       └────►  UNWATCH            (one fails)
//! without:            MULTI  ─hold─►  cmd... EXEC
//! ```
//!
//! On a cluster, after an ASK, the block goes to the importing node with a WATCH of
//! every key it names first, conditions or not (`cluster.rs`).
//!
//! While a transaction waits for its checks' replies the writer is idle: other
//! callers wait one round trip. That is the price of WATCH on a shared connection.

mod cluster;
mod condition;

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use redmux_resp::Value;
use tokio::time::Instant;

use crate::batch::{BatchIndex, BatchItem, BatchResults, Item, ScriptsSent};
use crate::cache::OwnWrite;
use crate::client::Client;
use crate::command::cmd;
use crate::error::{CommandStatus, Error, Result, ServerError};
use crate::mux::{Collector, Group, Release, Shared};
pub use condition::{Comparison, Condition};

/// Commands that run all or nothing, optionally only if conditions hold.
///
/// Made by [`Client::transaction`]. Add conditions and commands, then
/// [`execute`](Transaction::execute): the conditions' keys are watched and checked,
/// and the commands run in MULTI ... EXEC only if every condition holds and no
/// watched key changed in between. No read-modify-write retry loop is needed: the
/// conditions say what the data must look like, and the outcome says whether it did.
///
/// ```no_run
/// # async fn run(client: redmux::Client) -> redmux::Result<()> {
/// use redmux::{Condition, TransactionOutcome};
/// let mut tx = client.transaction();
/// tx.add_condition(Condition::hash_field_equal("order:7", "state", "paid"));
/// tx.add(client.hset("order:7", "state", "shipped"));
/// let queued = tx.add(client.lpush("shipping", "order:7"));
/// match tx.execute().await? {
///     TransactionOutcome::Committed(results) => println!("{} to ship", results.get(queued)?),
///     TransactionOutcome::Aborted(why) => println!("not shipped: {why}"),
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "a transaction does nothing until it is executed"]
pub struct Transaction {
    client: Client,
    conditions: Vec<Condition>,
    items: Vec<Item>,
    timeout: Option<Duration>,
}

/// What a transaction came to.
///
/// ```no_run
/// # async fn run(client: redmux::Client) -> redmux::Result<()> {
/// use redmux::{AbortReason, Condition, TransactionOutcome};
/// let mut tx = client.transaction();
/// tx.add_condition(Condition::key_not_exists("lock"));
/// let set = tx.add(client.set("lock", "me"));
/// match tx.execute().await? {
///     TransactionOutcome::Committed(results) => results.get(set)?,
///     TransactionOutcome::Aborted(AbortReason::ConditionFailed { .. }) => println!("locked already"),
///     TransactionOutcome::Aborted(other) => println!("not run: {other}"),
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub enum TransactionOutcome {
    /// EXEC ran every command: one result each, in order. A command that failed as
    /// it ran (WRONGTYPE, say) has its error there; the others' effects stand, as
    /// Redis does not roll back.
    Committed(BatchResults),
    /// Nothing ran, and this is why.
    Aborted(AbortReason),
}

impl TransactionOutcome {
    /// Whether the commands ran.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let mut tx = client.transaction();
    /// let n = tx.add(client.incr("n"));
    /// let outcome = tx.execute().await?;
    /// if outcome.is_committed() {
    ///     println!("{}", outcome.committed().expect("committed").get(n)?);
    /// } else if let Some(why) = outcome.aborted() {
    ///     println!("aborted: {why}");
    /// }
    /// # Ok(()) }
    /// ```
    pub fn is_committed(&self) -> bool {
        matches!(self, TransactionOutcome::Committed(_))
    }

    /// The results, if the commands ran (see [`TransactionOutcome::is_committed`]).
    pub fn committed(self) -> Option<BatchResults> {
        match self {
            TransactionOutcome::Committed(results) => Some(results),
            TransactionOutcome::Aborted(_) => None,
        }
    }

    /// Why nothing ran, if it did not (see [`TransactionOutcome::is_committed`]).
    pub fn aborted(&self) -> Option<&AbortReason> {
        match self {
            TransactionOutcome::Aborted(why) => Some(why),
            TransactionOutcome::Committed(_) => None,
        }
    }
}

/// Why a transaction ran nothing.
///
/// ```no_run
/// # async fn run(client: redmux::Client) -> redmux::Result<()> {
/// use redmux::{AbortReason, Condition};
/// let mut tx = client.transaction();
/// tx.add_condition(Condition::string_equal("state", "ready"));
/// tx.add(client.set("state", "running"));
/// if let Some(why) = tx.execute().await?.aborted() {
///     match why {
///         AbortReason::ConditionFailed { condition, .. } => println!("{condition} was false"),
///         AbortReason::WatchConflict => println!("someone changed it first; try again"),
///         other => println!("{other}"),
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum AbortReason {
    /// A condition did not hold when it was checked.
    ConditionFailed {
        /// Its position among the transaction's conditions, from 0.
        index: usize,
        /// The condition.
        condition: Condition,
        /// Set when the check itself failed (WRONGTYPE: the key holds another type).
        error: Option<ServerError>,
    },
    /// A watched key changed between the checks and EXEC (the server answered EXEC
    /// with nil). On a cluster mid-migration every key of the block is watched
    /// (see `docs/cluster.md`), so a write to a command's key can cause it too;
    /// nothing ran, and the transaction may be run again.
    WatchConflict,
    /// The server refused a command as it was queued (a wrong number of arguments,
    /// an unknown command) and discarded the transaction (`EXECABORT`). Each refused
    /// command has its own error here; the others have the EXECABORT error.
    Rejected(BatchResults),
}

impl fmt::Display for AbortReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AbortReason::ConditionFailed {
                index,
                condition,
                error: None,
            } => write!(f, "condition {index} ({condition}) did not hold"),
            AbortReason::ConditionFailed {
                index,
                condition,
                error: Some(e),
            } => write!(
                f,
                "condition {index} could not be checked ({condition}): {e}"
            ),
            AbortReason::WatchConflict => {
                f.write_str("a watched key changed before EXEC (another client wrote it)")
            }
            AbortReason::Rejected(results) => {
                let (i, e) = results
                    .errors()
                    .find(|(_, e)| e.server_error().is_some_and(|s| s.code() != "EXECABORT"))
                    .map_or((0, String::new()), |(i, e)| (i, e.to_string()));
                write!(f, "the server refused command {i} as it was queued: {e}")
            }
        }
    }
}

impl Client {
    /// Starts a [`Transaction`].
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let mut tx = client.transaction();
    /// tx.add(client.incr("a"));
    /// tx.add(client.decr("b"));
    /// assert!(tx.execute().await?.is_committed());
    /// # Ok(()) }
    /// ```
    pub fn transaction(&self) -> Transaction {
        Transaction {
            client: self.clone(),
            conditions: Vec::new(),
            items: Vec::new(),
            timeout: None,
        }
    }
}

impl Transaction {
    /// The node the transaction runs on. On a cluster every key of it, the
    /// conditions' included, must be in one slot: the transaction runs on that
    /// slot's primary, and keys in several slots are refused before anything is
    /// sent ([`Error::CrossSlot`]).
    fn node(&self) -> Result<Arc<Shared>> {
        let router = self.client.router();
        let Some(cluster) = router.as_cluster() else {
            return Ok(self.client.node().clone());
        };
        let mut slot: Option<u16> = None;
        let slots = self
            .items
            .iter()
            .map(|item| item.slot(&cluster.specs))
            .chain(
                self.conditions
                    .iter()
                    .map(|c| crate::KeySlot::One(crate::hash_slot(c.key()))),
            );
        for this in slots {
            match this {
                crate::KeySlot::One(s) if slot.is_none_or(|t| t == s) => slot = Some(s),
                crate::KeySlot::Keyless | crate::KeySlot::Unknown => {}
                _ => {
                    return Err(Error::CrossSlot {
                        command: "MULTI".into(),
                    });
                }
            }
        }
        cluster.node_for(slot).ok_or_else(|| Error::ConnectionLost {
            status: CommandStatus::NotSent,
            reason: "no cluster node serves the transaction's slot now".into(),
        })
    }

    /// Adds a condition; returns its position, which
    /// [`AbortReason::ConditionFailed`] names if it fails.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let mut tx = client.transaction();
    /// tx.add_condition(redmux::Condition::key_not_exists("user:alice"));
    /// tx.add(client.hset("user:alice", "created", 1));
    /// tx.execute().await?;
    /// # Ok(()) }
    /// ```
    pub fn add_condition(&mut self, condition: Condition) -> usize {
        self.conditions.push(condition);
        self.conditions.len() - 1
    }

    /// Adds a command; the returned index reads its result once committed.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let mut tx = client.transaction();
    /// let pushed = tx.add::<i64>(redmux::cmd("RPUSH").arg("log").arg("entry"));
    /// let trimmed = tx.add::<()>(redmux::cmd("LTRIM").arg("log").arg(-100).arg(-1));
    /// assert_eq!(tx.len(), 2);
    /// let results = tx.execute().await?.committed().expect("no conditions: always commits");
    /// println!("log length was {}", results.get(pushed)?);
    /// # Ok(()) }
    /// ```
    pub fn add<T>(&mut self, command: impl BatchItem<T>) -> BatchIndex<T> {
        self.items.push(command.into_item().0);
        BatchIndex::new(self.items.len() - 1)
    }

    /// Commands added so far (see [`Transaction::add`]).
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether no command was added (see [`Transaction::add`]).
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// How long the whole transaction may take, checks included (the client's
    /// `command_timeout` otherwise).
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// use std::time::Duration;
    /// let mut tx = client.transaction().timeout(Duration::from_millis(500));
    /// tx.add(client.incr("n"));
    /// tx.execute().await?;
    /// # Ok(()) }
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Checks the conditions and, if they hold, runs the commands.
    ///
    /// The first command is queued when `execute` is called, so the transaction
    /// keeps its place among the caller's commands.
    ///
    /// # Errors
    ///
    /// An abort is not an error: it is [`TransactionOutcome::Aborted`]. Errors are
    /// a refused blocking command (nothing is sent), a timeout, a lost connection
    /// (with [`Error::status`] saying whether EXEC may have run), or the queue's
    /// overload. On a cluster, keys in several slots are refused before anything
    /// is sent ([`Error::CrossSlot`]); a block the cluster refused as a whole
    /// (its slot moved or is moving: MOVED, ASK, TRYAGAIN, ...) is sent again
    /// where the refusal says, up to 5 times within the timeout; refused still,
    /// the last refusal is the error ([`Error::Server`], with its code), and
    /// nothing ran.
    ///
    /// # Cancellation
    ///
    /// Dropping the future before the conditions were checked sends UNWATCH in
    /// place of the commands: nothing runs. Once MULTI ... EXEC is handed over it
    /// runs whatever happens to the future.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let mut tx = client.transaction();
    /// tx.add_condition(redmux::Condition::key_exists("account:1"));
    /// tx.add(client.hincrby("account:1", "balance", -10));
    /// let outcome = tx.execute().await?;
    /// # Ok(()) }
    /// ```
    pub fn execute(self) -> impl Future<Output = Result<TransactionOutcome>> + Send + 'static {
        let timeout = self.timeout.unwrap_or(self.client.config().command_timeout);
        let deadline = crate::mux::deadline(timeout);
        // Made before anything is queued, so it covers the whole exchange.
        let span = crate::trace::transaction(self.client.config(), self.items.len());
        // On a cluster a copy is kept: a MOVED or ASK at WATCH, at a check, while
        // queueing or at EXEC refuses the whole block, which then runs again
        // where the refusal says (`cluster.rs`).
        let again = cluster::Again::of(&self, timeout);
        let mut run = Run::new(self, deadline);
        // Queued now when there is room, so the transaction keeps its place among
        // the caller's commands; under overload the future waits for room.
        let queued = match &mut run {
            Ok(run) if run.shared().has_room() => Some(run.queue_first()),
            _ => None,
        };
        let outcome = async move {
            let mut run = run?;
            let seq = match queued {
                Some(queued) => queued?,
                None => {
                    run.shared().wait_for_room(deadline).await;
                    run.queue_first()?
                }
            };
            let node = run.shared().clone();
            let outcome = run.finish(seq, timeout).await;
            match again {
                Some(again) => again.follow(outcome, node, deadline).await,
                None => outcome,
            }
        };
        async move {
            let Some(span) = span else {
                return outcome.await;
            };
            let outcome = tracing::Instrument::instrument(outcome, span.clone()).await;
            match &outcome {
                Err(e) => crate::trace::record_failure(&span, e),
                Ok(TransactionOutcome::Aborted(AbortReason::Rejected(results))) => {
                    crate::trace::record_batch(&span, results.iter());
                }
                Ok(_) => {}
            }
            outcome
        }
    }
}

/// A transaction being run.
struct Run {
    /// Keeps the client's tasks alive while the transaction runs.
    _client: Client,
    /// The node it runs on: the one server, or the primary of its keys' slot.
    node: Arc<Shared>,
    conditions: Vec<Condition>,
    /// Encoded commands, until they are handed to the writer.
    commands: Vec<bytes::BytesMut>,
    deadline: Instant,
    /// Replies of MULTI, each command, and EXEC.
    exec: Option<Arc<Collector>>,
    /// Replies of WATCH and each check, with the way to send what follows them
    /// (dropped unused, it sends UNWATCH, so the connection never keeps a watch
    /// for another caller to trip on).
    checks: Option<(Arc<Collector>, Release)>,
    /// With a client-side cache: the keys the commands write, dropped from the
    /// node's cache once MULTI ... EXEC is queued (`crate::cache`).
    own_write: Option<OwnWrite>,
    /// On the node a slot is moving to, after an ASK: every key of the block,
    /// WATCHed there whether or not the caller set conditions, and every command
    /// sent outside MULTI gets an `ASKING` of its own, MULTI one for the whole
    /// block (`cluster.rs` says why).
    asking: Option<Vec<Vec<u8>>>,
    /// Replies of MULTI, each command and EXEC: the exec collector's first
    /// places, before any ASKING's.
    exec_len: usize,
}

impl Run {
    /// Encodes the commands, to run on the node the keys' slot names (see
    /// [`Transaction::node`]); a refused one (a blocking command) refuses them all.
    fn new(transaction: Transaction, deadline: Instant) -> Result<Run> {
        let node = transaction.node()?;
        Run::on(transaction, node, None, deadline)
    }

    /// As [`Run::new`], on `node`; with `asking` (every key of the block), on
    /// the node a slot is moving to, its keys watched and `ASKING` where needed.
    fn on(
        transaction: Transaction,
        node: Arc<Shared>,
        asking: Option<Vec<Vec<u8>>>,
        deadline: Instant,
    ) -> Result<Run> {
        let Transaction {
            client,
            conditions,
            items,
            ..
        } = transaction;
        let mut scripts = ScriptsSent::default();
        // One look for a cache per transaction (and per attempt on a cluster:
        // the node may have changed).
        let mut own_write = OwnWrite::group(&node);
        let commands = items
            .into_iter()
            .map(|item| {
                if let Some(own_write) = &mut own_write {
                    item.note_write(own_write);
                }
                item.encode(&mut scripts)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Run {
            _client: client,
            node,
            conditions,
            commands,
            deadline,
            exec: None,
            checks: None,
            own_write,
            asking,
            exec_len: 0,
        })
    }

    fn shared(&self) -> &Arc<Shared> {
        &self.node
    }

    /// Queues the first group; returns its first sequence number.
    fn queue_first(&mut self) -> Result<u64> {
        let group = self.first_group();
        let seq = self.shared().send_group(group)?;
        if self.checks.is_none() {
            // MULTI ... EXEC is queued whole.
            self.drop_written();
        }
        Ok(seq)
    }

    /// Drops from the node's cache what the commands write, once MULTI ... EXEC
    /// is queued: a fill registered before is made stale, and one registered
    /// after is written after EXEC (the writer's hold lets nothing in between).
    fn drop_written(&mut self) {
        if let Some(own_write) = self.own_write.take() {
            own_write.apply();
        }
    }

    /// The group that goes through the queue. Without conditions it is MULTI, and
    /// the commands and EXEC follow through its hold at once: handed over as a
    /// follow-up, they are never sent apart from it, even when a write fails
    /// half-way. With conditions (or on an importing node after an ASK) it is
    /// WATCH and the checks, the last of which holds the writer for what this
    /// task decides after reading them.
    fn first_group(&mut self) -> Group {
        if self.conditions.is_empty() && self.asking.is_none() {
            let group = self.exec_group();
            self.exec = Some(group.collector().clone());
            return group.chained();
        }
        // WATCH and the checks at 0..=n; each one's ASKING, if any, after them,
        // where its reply is left unread.
        let len = self.conditions.len() + 1;
        let asking = self.asking.is_some();
        let mut group = Group::new(if asking { 2 * len } else { len }, self.deadline);
        self.push_asking(&mut group, len);
        let watch = match &self.asking {
            Some(keys) => cmd("WATCH").keys(keys.iter().map(Vec::as_slice)),
            None => cmd("WATCH").keys(self.conditions.iter().map(|c| c.key())),
        };
        group.push(0, watch.into_bytes());
        for (i, condition) in self.conditions.iter().enumerate() {
            self.push_asking(&mut group, len + i + 1);
            group.push(i + 1, condition.check().into_bytes());
        }
        let release = group.hold_last(self.shared(), cmd("UNWATCH").into_bytes());
        self.checks = Some((group.collector().clone(), release));
        group
    }

    /// MULTI, the commands and EXEC, replies gathered in one collector (and the
    /// one ASKING before MULTI, if any, its reply after theirs, left unread).
    fn exec_group(&mut self) -> Group {
        let commands = std::mem::take(&mut self.commands);
        self.exec_len = commands.len() + 2;
        let len = self.exec_len + usize::from(self.asking.is_some());
        let mut group = Group::new(len, self.deadline);
        self.push_asking(&mut group, self.exec_len);
        group.push(0, cmd("MULTI").into_bytes());
        let count = commands.len();
        for (i, bytes) in commands.into_iter().enumerate() {
            group.push(i + 1, bytes);
        }
        group.push(count + 1, cmd("EXEC").into_bytes());
        group
    }

    /// `ASKING`, its reply at `index`, on the node a slot is moving to.
    fn push_asking(&self, group: &mut Group, index: usize) {
        if self.asking.is_some() {
            group.push(index, cmd("ASKING").into_bytes());
        }
    }

    async fn finish(mut self, seq: u64, timeout: Duration) -> Result<TransactionOutcome> {
        if let Some((collector, follow_up)) = self.checks.take() {
            let replies = self.collect(&collector, "WATCH", seq, timeout).await?;
            // WATCH's own ASKING refused (a user whose ACL lacks it): that is the
            // error, not the redirect it causes (sent again, it would bounce).
            if self.asking.is_some()
                && let Some(Some(Ok(asking))) = replies.get(self.conditions.len() + 1)
                && let Some(line) = asking.as_error()
            {
                return Err(Error::Server(ServerError::parse(line)));
            }
            let mut replies = replies.into_iter();
            // WATCH must have worked, or the checks prove nothing.
            let watched = self.reply(replies.next().flatten(), "WATCH", seq, timeout)?;
            server_error(watched)?;
            for (index, condition) in self.conditions.iter().enumerate() {
                let reply = self.reply(
                    replies.next().flatten(),
                    "a condition's check",
                    seq,
                    timeout,
                )?;
                let failed = match condition.holds(reply) {
                    Ok(true) => continue,
                    Ok(false) => None,
                    Err(Error::Server(e)) => Some(e),
                    Err(e) => return Err(e),
                };
                drop(follow_up); // sends UNWATCH
                return Ok(TransactionOutcome::Aborted(AbortReason::ConditionFailed {
                    index,
                    condition: condition.clone(),
                    error: failed,
                }));
            }
            let group = self.exec_group();
            self.exec = Some(group.collector().clone());
            if !follow_up.send(group) {
                return Err(Error::ConnectionLost {
                    status: CommandStatus::NotSent,
                    reason: "the writer stopped waiting between the checks and EXEC (the connection broke, or the timeout passed); nothing ran".into(),
                });
            }
            self.drop_written();
        }
        let Some(collector) = self.exec.take() else {
            return Err(Error::protocol("transaction without its EXEC"));
        };
        let mut replies = self.collect(&collector, "EXEC", seq, timeout).await?;
        replies.truncate(self.exec_len);
        self.outcome(replies, seq, timeout)
    }

    /// Waits for a group's replies until the deadline.
    async fn collect(
        &self,
        collector: &Collector,
        name: &str,
        seq: u64,
        timeout: Duration,
    ) -> Result<Vec<Option<Result<Value>>>> {
        let replies = std::future::poll_fn(|cx| collector.poll_complete(cx));
        match tokio::time::timeout_at(self.deadline, replies).await {
            Ok(replies) => Ok(replies),
            Err(_) => Err(self.shared().timeout_error(name, timeout, seq)),
        }
    }

    /// One reply of a group, as the value, or the error that ends the transaction.
    fn reply(
        &self,
        outcome: Option<Result<Value>>,
        name: &str,
        seq: u64,
        timeout: Duration,
    ) -> Result<Value> {
        match outcome {
            Some(Ok(value)) => Ok(value),
            Some(Err(Error::Timeout(_))) | None => {
                Err(self.shared().timeout_error(name, timeout, seq))
            }
            Some(Err(e)) => Err(e),
        }
    }

    /// Reads MULTI's, each command's and EXEC's replies.
    fn outcome(
        &self,
        replies: Vec<Option<Result<Value>>>,
        seq: u64,
        timeout: Duration,
    ) -> Result<TransactionOutcome> {
        let count = replies.len().saturating_sub(2);
        let mut replies = replies.into_iter();
        let multi = replies.next().flatten();
        let queued: Vec<Option<Result<Value>>> = replies.by_ref().take(count).collect();
        // EXEC decides: its reply is what ran (or its error whether anything did).
        let exec = self.reply(replies.next().flatten(), "EXEC", seq, timeout)?;
        match multi {
            Some(Err(e)) => return Err(e),
            Some(Ok(reply)) => {
                server_error(reply)?;
            }
            None => {}
        }
        match exec {
            Value::Array(results) if results.len() == count => Ok(TransactionOutcome::Committed(
                BatchResults::new(results.into_iter().map(server_error).collect()),
            )),
            Value::Nil => Ok(TransactionOutcome::Aborted(AbortReason::WatchConflict)),
            exec => match exec.as_error().map(ServerError::parse) {
                Some(e) if e.code() == "EXECABORT" => {
                    let aborted = Error::Server(e);
                    let results = queued
                        .into_iter()
                        .map(|reply| match reply {
                            Some(Ok(value)) if value.as_error().is_some() => server_error(value),
                            _ => Err(aborted.clone()),
                        })
                        .collect();
                    Ok(TransactionOutcome::Aborted(AbortReason::Rejected(
                        BatchResults::new(results),
                    )))
                }
                Some(e) => Err(Error::Server(e)),
                None => Err(Error::protocol(format!(
                    "EXEC answered {} for {count} commands",
                    exec.kind()
                ))),
            },
        }
    }
}

/// An error reply as an error.
fn server_error(value: Value) -> Result<Value> {
    match value.as_error() {
        Some(line) => Err(Error::Server(ServerError::parse(line))),
        None => Ok(value),
    }
}
