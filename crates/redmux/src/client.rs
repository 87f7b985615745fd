//! [`Client`]: the handle every caller shares. Clones share one connection, one
//! writer and one reader; the last clone dropped closes them.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::command::{Command, KeySlot};
use crate::config::Config;
use crate::connection::ServerMode;
use crate::error::Result;
use crate::from_value::FromValue;
use crate::mux::{self, Shared};
use crate::request::{Commands, Request, Target};
use crate::router::{Cluster, Router, SentinelReplicas};
use crate::state::ConnectionState;
use crate::stats::Stats;

/// A Redis or Valkey client: clone it freely and share it across every task.
///
/// Every clone sends through one connection. Commands from all callers are queued,
/// written together by one writer task, and their replies matched back in order by
/// one reader task, so a thousand concurrent callers cost a handful of syscalls.
///
/// ```no_run
/// # async fn run() -> redmux::Result<()> {
/// use std::time::Duration;
/// let client = redmux::Client::connect("redis://127.0.0.1:6379/0").await?;
/// client.set("greeting", "hello").await?;
/// let v: Option<String> = client.get("greeting").await?;
/// client.expire("session:42", Duration::from_secs(300)).fire_and_forget()?;
/// let n: i64 = client.incr("hits").await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    handle: Arc<Handle>,
}

/// Dropped with the last clone of a client: closes the multiplexer, which writes what
/// is queued, reads the replies owed, and ends its tasks.
struct Handle {
    router: Arc<Router>,
    /// The typed commands, sent through `router`.
    commands: Commands,
    /// The pub/sub connection, opened by the first subscription.
    subscriber: crate::subscriber::SubscriberSlot,
}

impl Drop for Handle {
    fn drop(&mut self) {
        // As `Client::close`, with nobody left to wait for it.
        self.router.mark_closed();
        for (_, node) in self.router.nodes() {
            node.close(close_deadline(node.config()));
        }
    }
}

/// How long `close()` (and dropping the last clone) gives what is owed.
fn close_deadline(config: &Config) -> Duration {
    config
        .command_timeout
        .saturating_add(config.connect_timeout)
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("addr", &self.config().addr)
            .field("state", &self.state())
            .finish()
    }
}

/// The typed commands: `client.get(..)`, `client.hset(..)` and the rest (see
/// [`Commands`]).
impl std::ops::Deref for Client {
    type Target = Commands;

    fn deref(&self) -> &Commands {
        &self.handle.commands
    }
}

impl Client {
    /// Connects to the server a URL names (see [`Config::from_url`]).
    ///
    /// # Errors
    ///
    /// [`crate::Error::Config`] for a bad URL, [`crate::Error::Connect`] when the
    /// server cannot be reached within the connect timeout, [`crate::Error::Auth`]
    /// for rejected credentials.
    ///
    /// ```no_run
    /// # async fn run() -> redmux::Result<()> {
    /// let client = redmux::Client::connect("redis://:secret@127.0.0.1:6379/0").await?;
    /// # Ok(()) }
    /// ```
    pub async fn connect(url: &str) -> Result<Client> {
        Self::connect_with(Config::from_url(url)?).await
    }

    /// Connects with a [`Config`] built by hand.
    ///
    /// # Errors
    ///
    /// As [`Client::connect`]; [`crate::Error::Config`] also for a zero
    /// `command_timeout` or `heartbeat_interval`.
    ///
    /// ```no_run
    /// # async fn run() -> redmux::Result<()> {
    /// let mut config = redmux::Config::default();
    /// config.client_name = Some("web".into());
    /// let client = redmux::Client::connect_with(config).await?;
    /// # Ok(()) }
    /// ```
    pub async fn connect_with(mut config: Config) -> Result<Client> {
        config.check()?;
        if config.sentinel.is_some() {
            // Every connection asks the sentinels for the primary before it dials;
            // `addr` names the one found now (for `nodes()` and logs).
            let find = crate::sentinel::attach_and_locate(&mut config).await?;
            let replicas = find.map(|find| SentinelReplicas::new(&config, find));
            let (shared, _) = mux::start(config).await?;
            crate::cache::attach(&shared);
            return Ok(Client::with_router(match replicas {
                Some(replicas) => Router::sentinel(shared, replicas),
                None => Router::standalone(shared),
            }));
        }
        // The first seed that answers; its HELLO says whether it is a cluster node.
        let mut last_error = None;
        let seeds = std::iter::once(config.addr.clone()).chain(config.seeds.iter().cloned());
        for addr in seeds {
            let mut seed_config = config.clone();
            seed_config.addr = addr;
            match mux::start(seed_config.clone()).await {
                Ok((shared, ServerMode::Cluster)) => {
                    crate::cache::attach(&shared);
                    let cluster = Cluster::discover(seed_config, shared).await?;
                    return Ok(Client::with_router(Router::cluster(cluster)));
                }
                Ok((shared, _)) => {
                    crate::cache::attach(&shared);
                    return Ok(Client::with_router(Router::standalone(shared)));
                }
                // Credentials or the protocol are wrong for every seed alike.
                Err(e @ (crate::Error::Auth(_) | crate::Error::Protocol(_))) => return Err(e),
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(|| crate::Error::config("no server address to connect to")))
    }

    /// Returns a client at once and connects in the background, as a lost
    /// connection is rebuilt: for a service that must start while the server is
    /// not up yet (StackExchange.Redis's `AbortOnConnectFail = false`).
    ///
    /// The client starts in [`ConnectionState::Connecting`]; commands wait in the
    /// backlog, each bounded by its timeout, and go out once the first connection
    /// is up. Attempts follow [`Config::reconnect`] (forever by default). Rejected
    /// credentials fail the backlog and every later command with
    /// [`crate::Error::Auth`] while the attempts go on; when the attempts run out
    /// the client closes.
    ///
    /// A subscription made while connecting waits for the first connection too,
    /// within its timeout, then opens the subscriber's own connection.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Config`] for a configuration [`Client::connect_with`] would
    /// refuse, or when called outside a tokio runtime.
    ///
    /// ```no_run
    /// # async fn run() -> redmux::Result<()> {
    /// let client = redmux::Client::connect_lazy(redmux::Config::from_url("redis://127.0.0.1/")?)?;
    /// // Waits in the backlog until the server is reachable (up to its timeout).
    /// client.set("started", "yes").await?;
    /// # Ok(()) }
    /// ```
    pub fn connect_lazy(mut config: Config) -> Result<Client> {
        config.check()?;
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(crate::Error::config(
                "Client::connect_lazy must be called within a tokio runtime (it starts the client's tasks)",
            ));
        }
        let find = crate::sentinel::attach(&mut config)?;
        let replicas = find.map(|find| SentinelReplicas::new(&config, find));
        let shared = mux::start_lazy(config);
        crate::cache::attach(&shared);
        Ok(Client::with_router(match replicas {
            Some(replicas) => Router::sentinel(shared, replicas),
            None => Router::standalone(shared),
        }))
    }

    fn with_router(router: Router) -> Client {
        let router = Arc::new(router);
        Client {
            handle: Arc::new(Handle {
                commands: Commands::new(Target::Shared(router.clone())),
                router,
                subscriber: Default::default(),
            }),
        }
    }

    /// Sends any command; the reply converts to the type asked for.
    ///
    /// # Refused commands
    ///
    /// Every caller shares this connection, so two kinds of command are refused
    /// before they are queued (also in a batch, a transaction, or fire-and-forget),
    /// with an error that names the alternative:
    ///
    /// - blocking commands (BLPOP, BRPOP, BLMOVE, XREAD ... BLOCK, WAIT, ...):
    ///   [`crate::Error::BlockingCommandRefused`], as one would stall every caller;
    /// - commands that change the connection's state (CLIENT REPLY, MULTI, EXEC,
    ///   WATCH, SELECT, HELLO with arguments, AUTH, RESET, QUIT, CLIENT TRACKING,
    ///   SUBSCRIBE, MONITOR, READONLY, ASKING, ...):
    ///   [`crate::Error::StateCommandRefused`], as it would change it under every
    ///   caller, and some (CLIENT REPLY SKIP, MULTI) would hand callers each
    ///   other's replies. Use [`Client::transaction`], [`Config::db`],
    ///   [`Config::protocol`], the credentials in [`Config`], or
    ///   [`Client::subscribe`] instead.
    ///
    /// [`Client::dedicated`] gives a connection of your own, where all of them are
    /// allowed. `docs/reliability.md` has the whole table.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let raw: redmux::Value = client.command(redmux::cmd("OBJECT").arg("ENCODING").arg("greeting")).await?;
    ///
    /// let refused = client.command::<()>(redmux::cmd("SELECT").arg(1)).await;
    /// assert!(matches!(refused, Err(redmux::Error::StateCommandRefused { .. })));
    /// # Ok(()) }
    /// ```
    pub fn command<T: FromValue>(&self, command: Command) -> Request<'_, T> {
        match command.check_shareable() {
            Ok(()) => self.handle.commands.request(command),
            Err(e) => self.handle.commands.refused(e),
        }
    }

    /// A typed command's request: typed commands are never refused ones (checked
    /// in debug builds, so every test of a typed command checks it).
    pub(crate) fn request<T>(&self, command: Command) -> Request<'_, T> {
        debug_assert!(
            command.check_shareable().is_ok(),
            "a typed command built a command the shared connection refuses: {}",
            command.name()
        );
        self.handle.commands.request(command)
    }

    /// The hash slot a command goes to on a cluster: from the keys it marked as
    /// it was built ([`Command::key`], as every typed command does), else from
    /// where the server's key specifications put keys among its arguments
    /// (`COMMAND INFO`, asked once per client; a built-in table of Redis 7.0's if
    /// the server refuses).
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// use redmux::{KeySlot, cmd};
    /// let slot = client.slot_of(&cmd("GET").arg("foo")).await;
    /// assert_eq!(slot, KeySlot::One(12182));
    /// assert_eq!(client.slot_of(&cmd("MGET").arg("a").arg("b")).await, KeySlot::Cross);
    /// # Ok(()) }
    /// ```
    pub async fn slot_of(&self, command: &Command) -> KeySlot {
        let info = async {
            self.command::<redmux_resp::Value>(crate::cmd("COMMAND").arg("INFO"))
                .await
                .ok()
        };
        self.handle.router.slot_of(command, info).await
    }

    /// The router, for what must reach a particular node (a cluster's SCAN).
    pub(crate) fn router(&self) -> &Router {
        &self.handle.router
    }

    /// The one server's multiplexer, for what a standalone client sends to no node
    /// in particular (a batch chunk, a transaction; on a cluster these are split
    /// per node or routed by their slot).
    pub(crate) fn node(&self) -> &Arc<Shared> {
        self.handle.router.any_node()
    }

    /// The nodes the client talks to: the one server, or a cluster's nodes with
    /// the slots each primary owns (none for a replica or a node that left the
    /// map), and each node's counters.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) {
    /// for node in client.nodes() {
    ///     println!("{}: {} slot ranges, {} commands", node.addr, node.slots.len(), node.stats.commands_sent);
    /// }
    /// # }
    /// ```
    pub fn nodes(&self) -> Vec<crate::NodeInfo> {
        let router = &self.handle.router;
        let Some(cluster) = router.as_cluster() else {
            return router
                .nodes()
                .into_iter()
                .map(|(addr, node)| crate::NodeInfo {
                    addr,
                    slots: vec![(0, crate::SLOTS - 1)],
                    stats: node.stats(),
                })
                .collect();
        };
        let primaries = cluster.primaries();
        let mut out: Vec<crate::NodeInfo> = primaries
            .iter()
            .map(|(addr, node, slots)| crate::NodeInfo {
                addr: addr.clone(),
                slots: slots.clone(),
                stats: node.stats(),
            })
            .collect();
        for (addr, node) in cluster.nodes() {
            if !out.iter().any(|n| n.addr == addr) {
                out.push(crate::NodeInfo {
                    addr,
                    slots: Vec::new(),
                    stats: node.stats(),
                });
            }
        }
        out
    }

    /// Watches the cluster's topology: the value changes whenever a refresh of the
    /// slot map finds it changed (a failover, a slot moved, a node added). On a
    /// standalone server it never changes. See [`Client::nodes`] for the map.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) {
    /// let mut changes = client.watch_topology();
    /// while changes.changed().await.is_ok() {
    ///     println!("the cluster changed: {} nodes", client.nodes().len());
    /// }
    /// # }
    /// ```
    pub fn watch_topology(&self) -> watch::Receiver<u64> {
        self.handle.router.watch_topology()
    }

    /// The pub/sub connection's slot, for `crate::pubsub`.
    pub(crate) fn subscriber_slot(&self) -> &crate::subscriber::SubscriberSlot {
        &self.handle.subscriber
    }

    /// A snapshot of the client's counters.
    pub fn stats(&self) -> Stats {
        self.node().stats()
    }

    /// The connection's state now.
    pub fn state(&self) -> ConnectionState {
        self.node().state()
    }

    /// Watches the connection's state change (connected, reconnecting, closed).
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) {
    /// let mut states = client.watch_state();
    /// while states.changed().await.is_ok() {
    ///     println!("connection is {}", *states.borrow());
    /// }
    /// # }
    /// ```
    pub fn watch_state(&self) -> watch::Receiver<ConnectionState> {
        self.node().watch_state()
    }

    /// Stops taking commands (on every clone), sends what is queued, waits for the
    /// replies owed, then closes the connection: [`Client::close_within`] with the
    /// command timeout plus the connect timeout as its deadline. Later calls fail
    /// with [`crate::Error::Closed`].
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) {
    /// client.set("last", "words").fire_and_forget().ok();
    /// client.close().await; // the SET was written and answered
    /// # }
    /// ```
    pub async fn close(&self) {
        self.close_within(close_deadline(self.config())).await;
    }

    /// Stops taking commands (on every clone), sends what is queued (waiting for a
    /// reconnect if the connection is down), waits for the replies owed, then
    /// closes the connection; all of it within `deadline`. Returns `true` if
    /// everything queued was sent and answered, `false` if something was given up
    /// (the deadline passed, or the connection could not be rebuilt in time).
    ///
    /// Past the deadline the connection is torn down at once: commands still
    /// queued fail with [`crate::Error::Closed`] (not sent), and commands written
    /// but unanswered with [`crate::Error::ConnectionLost`] (sent, may have run).
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) {
    /// use std::time::Duration;
    /// client.incr("visits").fire_and_forget().ok();
    /// if !client.close_within(Duration::from_secs(2)).await {
    ///     eprintln!("some commands were given up at shutdown");
    /// }
    /// # }
    /// ```
    pub async fn close_within(&self, deadline: Duration) -> bool {
        // First, so a node or replica connected from now on is closed at once.
        self.handle.router.mark_closed();
        let nodes = self.handle.router.nodes();
        // Each supervisor keeps the deadline: past it, it tears its connection down.
        for (_, node) in &nodes {
            node.close(deadline);
        }
        let mut gave_up = false;
        for (_, node) in &nodes {
            let mut state = node.watch_state();
            let _ = state.wait_for(|s| *s == ConnectionState::Closed).await;
            gave_up |= node.gave_up();
        }
        !gave_up
    }

    /// The configuration the client was made with.
    pub fn config(&self) -> &Config {
        self.node().config()
    }
}
