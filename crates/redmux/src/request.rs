//! [`Request`]: a command not yet sent, with its options; and [`Response`], the
//! future of its reply.
//!
//! A request is sent when it becomes a future (`.await` or `IntoFuture::into_future`)
//! or with [`Request::fire_and_forget`]. So commands a caller issues reach the server
//! in the order the caller turned them into futures, even if it awaits them later.

use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::ops::BitOr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::time::{Instant, Sleep};

use crate::command::{Command, ShortName};
use crate::error::{Error, Result, ServerError};
use crate::from_value::{FromValue, convert};
use redmux_resp::Value;

use crate::cache::{OwnWrite, Write, track_cluster_write};
use crate::mux::{ReplyReceiver, SenderDropped, Shared, Ticket};
use crate::router::{Route, Router, is_resumable, resume, send_clustered};

/// Per-command options, in the StackExchange.Redis spirit.
///
/// ```
/// use redmux::Flags;
/// let f = Flags::FIRE_AND_FORGET;
/// assert!(f.contains(Flags::FIRE_AND_FORGET));
/// assert!(!Flags::NONE.contains(Flags::FIRE_AND_FORGET));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Flags(u32);

impl Flags {
    /// No options.
    pub const NONE: Flags = Flags(0);
    /// Send without waiting for the reply: awaiting the request resolves at once
    /// with the type's empty value, as StackExchange.Redis returns `default`:
    /// `()`, `None`, `0`, `false`, an empty string or collection. A type with no
    /// empty value (a tuple) gets [`Error::Conversion`], but the command is sent.
    pub const FIRE_AND_FORGET: Flags = Flags(1);
    /// On a cluster, read from one of the key's slot's replicas (round-robin over
    /// those whose connection is up), falling back to the primary when none is;
    /// under sentinel, from one of the replicas the sentinels list as up
    /// (`SENTINEL REPLICAS`). Replicas may lag their primary: a read can miss a
    /// write the caller just made. Only read-only commands go to a replica;
    /// anything else goes to the primary as usual. Ignored on a standalone server,
    /// in batches and in transactions. See `docs/cluster.md`.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// use redmux::Flags;
    /// let v: Option<String> = client.get("greeting").flags(Flags::PREFER_REPLICA).await?;
    /// # Ok(()) }
    /// ```
    pub const PREFER_REPLICA: Flags = Flags(2);
    /// On a cluster (or under sentinel), read from a replica (round-robin),
    /// never the primary: fails with [`Error::NoReplica`] when none is up, or when
    /// the command is not read-only. Ignored on a standalone server, in batches
    /// and in transactions. Set with
    /// [`PREFER_REPLICA`](Self::PREFER_REPLICA), this one wins.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// use redmux::{Error, Flags};
    /// match client.get::<Option<String>>("greeting").flags(Flags::DEMAND_REPLICA).await {
    ///     Ok(v) => println!("a replica says {v:?}"),
    ///     Err(Error::NoReplica { .. }) => println!("no replica is up"),
    ///     Err(e) => return Err(e),
    /// }
    /// # Ok(()) }
    /// ```
    pub const DEMAND_REPLICA: Flags = Flags(4);

    /// Whether every flag in `other` is set.
    pub fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }
}

impl BitOr for Flags {
    type Output = Flags;
    fn bitor(self, rhs: Flags) -> Flags {
        Flags(self.0 | rhs.0)
    }
}

/// Where requests go: the shared connections, through the router, or a
/// connection of one's own.
#[derive(Debug)]
pub(crate) enum Target {
    /// The shared, multiplexed connection of each node, picked by the router.
    Shared(Arc<Router>),
    /// A dedicated connection: one command at a time, in the order sent.
    Exclusive(Arc<dyn Exclusive>),
}

/// A connection of one's own that runs one command at a time (see
/// [`crate::DedicatedConnection`]).
pub(crate) trait Exclusive: std::fmt::Debug + Send + Sync {
    /// Sends `command` when its turn comes and resolves to the reply as the
    /// server sent it; `timeout` (none: wait as long as it takes) bounds the wait
    /// for the turn and the reply together.
    fn round_trip(
        self: Arc<Self>,
        command: Command,
        timeout: Option<Duration>,
    ) -> Pin<Box<dyn Future<Output = Result<Value>> + Send>>;

    /// Takes `command`'s turn now and returns at once; the reply is read and
    /// dropped when it comes.
    fn send_detached(self: Arc<Self>, command: Command, timeout: Option<Duration>) -> Result<()>;
}

/// The typed commands (`get`, `set`, `hgetall`, `zadd`, ...): a [`crate::Client`]
/// and a [`crate::DedicatedConnection`] both dereference to this, so every typed
/// method works on either. Each returns a [`Request`].
///
/// ```no_run
/// # async fn run(client: redmux::Client) -> redmux::Result<()> {
/// client.set("k", "v").await?;                  // on the shared connection
/// let conn = client.dedicated().await?;
/// let v: Option<String> = conn.get("k").await?; // on a connection of its own
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Commands {
    target: Target,
}

impl Commands {
    pub(crate) fn new(target: Target) -> Commands {
        Commands { target }
    }

    /// A typed command's request.
    pub(crate) fn request<T>(&self, command: Command) -> Request<'_, T> {
        Request::new(&self.target, command)
    }

    /// A request that fails with `error` when awaited.
    pub(crate) fn refused<T>(&self, error: Error) -> Request<'_, T> {
        Request::failed(&self.target, error)
    }
}

/// A command ready to send, whose reply becomes a `T`.
///
/// Await it to send it and get the reply; before that, set a [`timeout`](Self::timeout)
/// or [`flags`](Self::flags), or send it with [`fire_and_forget`](Self::fire_and_forget).
///
/// ```
/// # async fn run(client: redmux::Client) -> redmux::Result<()> {
/// use std::time::Duration;
/// let v: Option<String> = client.get("k").timeout(Duration::from_millis(50)).await?;
/// client.expire("session:42", Duration::from_secs(300)).fire_and_forget()?;
/// # Ok(()) }
/// ```
#[must_use = "a request does nothing until it is awaited or sent with fire_and_forget()"]
#[derive(Debug)]
pub struct Request<'a, T> {
    target: &'a Target,
    command: Result<Command>,
    timeout: Option<Duration>,
    flags: Flags,
    _reply: PhantomData<fn() -> T>,
}

impl<'a, T> Request<'a, T> {
    pub(crate) fn new(target: &'a Target, command: Command) -> Self {
        Request {
            target,
            // Checked for an argument that could not be made when it is sent
            // (`into_future`, `fire_and_forget`) or taken by a batch: a test there
            // costs less than building a `Result` here.
            command: Ok(command),
            timeout: None,
            flags: Flags::NONE,
            _reply: PhantomData,
        }
    }

    /// A request that fails with `error` when awaited, for input refused before sending.
    pub(crate) fn failed(target: &'a Target, error: Error) -> Self {
        Request {
            target,
            command: Err(error),
            timeout: None,
            flags: Flags::NONE,
            _reply: PhantomData,
        }
    }

    /// The command, or why it was refused before sending: for a batch or a
    /// transaction that takes the request instead of sending it alone.
    pub(crate) fn into_command(self) -> Result<Command> {
        self.command
    }

    /// Everything, for a read through the client-side cache (`crate::cache`).
    pub(crate) fn into_cache_parts(self) -> (&'a Target, Result<Command>, Option<Duration>, Flags) {
        (self.target, self.command, self.timeout, self.flags)
    }

    /// Sets this command's timeout (the client's `command_timeout` otherwise). A
    /// command still queued when it expires is never sent.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Sets per-command [`Flags`].
    pub fn flags(mut self, flags: Flags) -> Self {
        self.flags = self.flags | flags;
        self
    }

    /// Queues the command and returns at once, without waiting for or allocating a
    /// place for its reply. The reply is read and counted (see
    /// [`crate::Stats::fire_and_forget_errors`]), never delivered.
    ///
    /// # Errors
    ///
    /// [`Error::Overloaded`] at once when the queue is at its bound (it never
    /// waits); [`Error::Closed`] when the client is closed; the refusal of a
    /// blocking command; while the connection is down, the fail-fast policy's
    /// [`Error::ConnectionLost`] or the server's rejection of the credentials.
    pub fn fire_and_forget(self) -> Result<()> {
        let command = self.command?;
        command.check_arguments()?;
        match self.target {
            Target::Shared(router) => match router.route(&command, self.flags) {
                Route::Node(node) => {
                    // A client-side cache drops what this write changes (`crate::cache`).
                    let own_write = OwnWrite::of(node, &command);
                    node.send_detached(command.into_parts(), self.timeout)?;
                    if let Some(own_write) = own_write {
                        own_write.apply();
                    }
                    Ok(())
                }
                route => {
                    let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
                        Error::config(
                            "a fire-and-forget command on a cluster, or for a replica, needs a tokio runtime",
                        )
                    })?;
                    let call = routed(route, command, self.timeout, self.flags);
                    // Started here, so it keeps its place among this caller's
                    // commands; a task follows its redirects and drops the reply.
                    match start(call) {
                        Ok(rest) => {
                            runtime.spawn(rest);
                            Ok(())
                        }
                        // Refused before sending (CROSSSLOT): the caller hears it.
                        Err(outcome) => outcome.map(drop),
                    }
                }
            },
            Target::Exclusive(link) => link.clone().send_detached(command, self.timeout),
        }
    }
}

impl<T: FromValue> IntoFuture for Request<'_, T> {
    type Output = Result<T>;
    type IntoFuture = Response<T>;

    /// Sends the command now; the future completes with its reply.
    fn into_future(self) -> Response<T> {
        if self.flags.contains(Flags::FIRE_AND_FORGET) {
            let outcome = self.fire_and_forget().and_then(|()| {
                T::empty_reply().ok_or(Error::Conversion {
                    expected: "a type with an empty value for a fire-and-forget request",
                    got: "no reply (the command was sent)".into(),
                    source: None,
                })
            });
            return Response::ready(outcome);
        }
        let command = match self.command {
            Ok(c) => c,
            Err(e) => return Response::ready(Err(e)),
        };
        // An argument that could not be made (a value that did not serialize)
        // fails the request here, before anything is queued.
        if command.has_failed_argument()
            && let Err(e) = command.check_arguments()
        {
            return Response::ready(Err(e));
        }
        let node = match self.target {
            Target::Shared(router) => match router.route(&command, self.flags) {
                Route::Node(node) => node,
                Route::Cluster(cluster)
                    if let Some((node, slot)) = cluster.direct(&command, self.flags) =>
                {
                    // Straight to its slot's primary, as on a standalone server;
                    // the cluster layer takes over only if the reply redirects it.
                    let timeout = self.timeout.unwrap_or(node.config().command_timeout);
                    return send_direct(node, command, timeout, slot);
                }
                route => {
                    let call = routed(route, command, self.timeout, self.flags);
                    // Polled once now: the command is queued at `into_future`, as
                    // everywhere else, so a caller's commands keep their order.
                    return match start(call) {
                        Ok(rest) => Response {
                            state: State::Boxed(rest),
                            sleep: None,
                        },
                        Err(outcome) => Response::ready(outcome.and_then(convert)),
                    };
                }
            },
            Target::Exclusive(link) => {
                let reply = link.clone().round_trip(command, self.timeout);
                return Response::boxed(reply);
            }
        };
        let config = node.config();
        let timeout = self.timeout.unwrap_or(config.command_timeout);
        // The one cost of tracing when it is off: this branch, on a flag next to
        // the timeout just read. On, the reply comes through a boxed future that
        // holds the span (see `crate::trace`), so `Response` stays its size.
        // A client-side cache drops what this write changes once it is queued
        // (`crate::cache`); without a cache, one look at an unset cell.
        let own_write = OwnWrite::of(node, &command);
        let response = if config.tracing {
            traced(node, command, timeout)
        } else {
            send(node, command, timeout)
        };
        if let Some(own_write) = own_write {
            own_write.apply();
        }
        response
    }
}

/// [`send`] inside the command's span. Kept out of line, so the untraced path
/// stays as compact as it was.
#[cold]
#[inline(never)]
fn traced<T>(node: &Arc<Shared>, command: Command, timeout: Duration) -> Response<T> {
    let name = command.short_name();
    let reply = crate::trace::command(node.config(), name.as_bytes(), || {
        send::<Value>(node, command, timeout)
    });
    Response::boxed(reply)
}

/// [`State::Waiting`]'s `route` for a command that is not a cluster's.
const UNROUTED: u16 = u16::MAX;

/// Queues `command` on `node`; the future completes with its reply.
#[inline]
fn send<T>(node: &Arc<Shared>, command: Command, timeout: Duration) -> Response<T> {
    let deadline = crate::mux::deadline(timeout);
    let name = command.short_name();
    match node.send(command.into_parts(), timeout, deadline) {
        Ok(Ticket {
            rx,
            seq,
            timed,
            lone,
        }) => Response {
            state: State::Waiting {
                rx,
                shared: node.clone(),
                seq,
                name,
                timeout,
                deadline,
                timed,
                route: UNROUTED,
                lone,
                claimed: false,
            },
            sleep: None,
        },
        Err(e) => Response::ready(Err(e)),
    }
}

/// [`send`] for a cluster command sent straight to `node`, its slot's primary
/// (see `router/cluster/direct.rs`): its bytes come back to the future in case
/// the reply redirects it, and `slot` goes with them. Apart from `send`, so a
/// standalone command carries none of it.
fn send_direct<T>(
    node: Arc<Shared>,
    command: Command,
    timeout: Duration,
    slot: u16,
) -> Response<T> {
    let deadline = crate::mux::deadline(timeout);
    let name = command.short_name();
    match node.send_kept(command.into_parts(), timeout, deadline) {
        Ok(Ticket {
            rx,
            seq,
            timed,
            lone,
        }) => Response {
            state: State::Waiting {
                rx,
                shared: node,
                seq,
                name,
                timeout,
                deadline,
                timed,
                route: slot,
                lone,
                claimed: false,
            },
            sleep: None,
        },
        Err(e) => Response::ready(Err(e)),
    }
}

pin_project_lite::pin_project! {
    /// The reply to a sent command, converted to `T`.
    ///
    /// # Cancellation
    ///
    /// Dropping it does not cancel the command: once sent it runs, and its reply is
    /// read and discarded, so the connection stays in step for everyone else.
    #[must_use = "futures do nothing unless polled"]
    #[derive(Debug)]
    pub struct Response<T> {
        state: State<T>,
        // For a command with a timeout of its own: armed on the first poll that
        // has to wait, so a reply that is already in never touches the timer.
        // Boxed: most commands never need one, and an inline `Sleep` doubled the
        // size of every future.
        sleep: Option<Pin<Box<Sleep>>>,
    }
}

/// A reply still to come from a trip the multiplexer does not drive alone.
type BoxedReply = Pin<Box<dyn Future<Output = Result<Value>> + Send>>;

/// The reply of a command the router sends itself: through the cluster layer, or
/// to a sentinel-found primary's replicas.
fn routed(
    route: Route<'_>,
    command: Command,
    timeout: Option<Duration>,
    flags: Flags,
) -> BoxedReply {
    match route {
        Route::Cluster(cluster) => {
            // A client-side cache drops what this write changes (`crate::cache`).
            let own_write = track_cluster_write(cluster, &command);
            let call = send_clustered(cluster.clone(), command, timeout, flags);
            match own_write {
                Some(own_write) => own_write.wrap(call),
                None => call,
            }
        }
        Route::Replicas(primary, replicas) => {
            // The router sends a write flagged PREFER_REPLICA to the primary
            // itself, and DEMAND_REPLICA refuses one; should a write come this way
            // all the same, its keys are dropped from the primary's cache once
            // sent and again once answered (`crate::cache`). A read writes
            // nothing, so costs nothing here.
            let own_write = OwnWrite::of(primary, &command);
            let call = replicas.send(primary, command, timeout, flags);
            match own_write {
                Some(own_write) => Write::Node(own_write).wrap(call),
                None => call,
            }
        }
        Route::Node(node) => {
            let node = node.clone();
            let timeout = timeout.unwrap_or(node.config().command_timeout);
            Box::pin(crate::router::to_node(node, command, timeout))
        }
    }
}

/// Polls `call` once, so whatever it sends first is queued now: its outcome if it
/// finished at once (a command refused before sending), else the rest, to be
/// polled later.
fn start(mut call: BoxedReply) -> std::result::Result<BoxedReply, Result<Value>> {
    let mut cx = Context::from_waker(std::task::Waker::noop());
    match call.as_mut().poll(&mut cx) {
        Poll::Ready(outcome) => Err(outcome),
        Poll::Pending => Ok(call),
    }
}

enum State<T> {
    Done(Option<Result<T>>),
    /// A reply through a future of its own: a dedicated connection's round trip,
    /// a traced command's, or one through the cluster layer.
    Boxed(BoxedReply),
    Waiting {
        rx: ReplyReceiver,
        shared: Arc<Shared>,
        seq: u64,
        name: ShortName,
        timeout: Duration,
        deadline: Instant,
        /// The multiplexer's sweep enforces the deadline (`Slot::Timed`).
        timed: bool,
        /// A cluster command's slot, sent straight to its primary: a redirect
        /// hands it to the cluster layer. [`UNROUTED`] for any other command.
        route: u16,
        /// Written by its caller alone on the connection: it may read its reply
        /// from the socket itself ([`Shared::read_own_reply`]).
        lone: bool,
        /// It holds the connection's read side, to be given back if dropped.
        claimed: bool,
    },
}

impl<T> Drop for State<T> {
    fn drop(&mut self) {
        if let State::Waiting {
            shared,
            claimed: true,
            ..
        } = self
        {
            // Dropped (or done) while reading its own reply: the reader task
            // reads again, for whoever comes next.
            shared.release_read();
        }
    }
}

impl<T> std::fmt::Debug for State<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            State::Done(outcome) => f.debug_tuple("Done").field(&outcome.is_some()).finish(),
            State::Boxed(_) => f.write_str("Boxed"),
            State::Waiting {
                seq, name, timeout, ..
            } => f
                .debug_struct("Waiting")
                .field("command", &name.as_string())
                .field("seq", seq)
                .field("timeout", timeout)
                .finish_non_exhaustive(),
        }
    }
}

impl<T> Response<T> {
    pub(crate) fn ready(outcome: Result<T>) -> Self {
        Response {
            state: State::Done(Some(outcome)),
            sleep: None,
        }
    }

    pub(crate) fn boxed(reply: Pin<Box<dyn Future<Output = Result<Value>> + Send>>) -> Self {
        Response {
            state: State::Boxed(reply),
            sleep: None,
        }
    }
}

impl<T: FromValue> Future for Response<T> {
    type Output = Result<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T>> {
        let this = self.project();
        let (rx, shared, seq, name, timeout, deadline, timed, route) =
            match this.state {
                State::Waiting {
                    rx,
                    shared,
                    seq,
                    name,
                    timeout,
                    deadline,
                    timed,
                    route,
                    lone,
                    claimed,
                } => {
                    if *lone {
                        // Its own waker out of the cell first: the read below may
                        // complete the reply, which must not wake this task again.
                        rx.forget_waker();
                        *claimed = shared.read_own_reply(cx, *claimed);
                    }
                    (rx, shared, seq, name, timeout, deadline, *timed, *route)
                }
                State::Done(outcome) => {
                    return Poll::Ready(outcome.take().unwrap_or_else(|| {
                        Err(Error::protocol("response polled after completion"))
                    }));
                }
                State::Boxed(reply) => {
                    let outcome = ready!(reply.as_mut().poll(cx)).and_then(convert);
                    *this.state = State::Done(None);
                    return Poll::Ready(outcome);
                }
            };
        let outcome = 'waiting: {
            if let Poll::Ready(received) = Pin::new(&mut *rx).poll(cx) {
                let received = match received {
                    // A success, the common case, first: it pays for nothing below.
                    Ok(Ok(value)) if value.as_error().is_none() => {
                        break 'waiting T::from_value(value);
                    }
                    // A cluster command refused (MOVED, ASK, ...) or never
                    // written: the cluster layer follows it from here, boxed now.
                    Ok(outcome) if route != UNROUTED && is_resumable(&outcome) => {
                        let kept = rx.take_kept();
                        match resume(shared, kept, route, *timeout, *deadline, outcome) {
                            Ok(mut call) => {
                                *this.sleep = None;
                                return match call.as_mut().poll(cx) {
                                    Poll::Ready(outcome) => {
                                        *this.state = State::Done(None);
                                        Poll::Ready(outcome.and_then(convert))
                                    }
                                    Poll::Pending => {
                                        *this.state = State::Boxed(call);
                                        Poll::Pending
                                    }
                                };
                            }
                            Err(outcome) => Ok(outcome),
                        }
                    }
                    received => received,
                };
                break 'waiting match received {
                    // What `convert` does, with the error reply counted on the
                    // branch it takes anyway: a success pays nothing for the count.
                    Ok(Ok(value)) => match value.as_error() {
                        Some(line) => {
                            shared.count_error_reply();
                            Err(Error::Server(ServerError::parse(line)))
                        }
                        None => T::from_value(value),
                    },
                    Ok(Err(Error::Timeout(expired))) => {
                        // Expired in the queue or in flight (the sweep, or the writer
                        // finding it past its deadline): report it with this command's
                        // diagnostics, and where it was then. Worked out now, a command
                        // that expired unwritten would look sent once the writer has
                        // taken later ones.
                        Err(shared.timeout_error_as(&name.as_string(), *timeout, expired.status))
                    }
                    Ok(Err(e)) => Err(e),
                    Err(SenderDropped) => Err(Error::ConnectionLost {
                        status: shared.status_of(*seq),
                        reason: "the client shut down before the reply came".into(),
                    }),
                };
            }
            if timed {
                return Poll::Pending;
            }
            let sleep = this
                .sleep
                .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(*deadline)));
            ready!(sleep.as_mut().poll(cx));
            Err(shared.deadline_error(&name.as_string(), *timeout, *seq))
        };
        // Done: a later poll gets the "polled after completion" error, not a made-up
        // one, and the timer (if any) goes now.
        *this.state = State::Done(None);
        // Tested first: most commands never had a timer, and the drop of an
        // `Option` of one is a call of its own.
        if this.sleep.is_some() {
            *this.sleep = None;
        }
        Poll::Ready(outcome)
    }
}
