//! Server administration: INFO parsed into sections ([`Info`]), CLIENT ID, GETNAME,
//! SETNAME, LIST, INFO and KILL ([`ClientInfo`], [`ClientListFilter`],
//! [`ClientKill`]), CONFIG GET and SET, FLUSHALL and FLUSHDB with a [`FlushMode`].
//! The plain commands (PING, INFO as text, DBSIZE, FLUSHDB, ...) are in `server.rs`.
//!
//! The CLIENT commands that act on "this connection" act on the shared one that every
//! caller of the client uses, and the server forgets what they set when it reconnects.

use std::collections::HashMap;
use std::str::FromStr;
use std::time::Duration;

use redmux_resp::{ToArg, Value};

use super::strings::pairs_args;
use crate::{Command, Commands, FromValue, Request, Result, cmd};

impl Commands {
    /// The server's default report, parsed: `INFO`. Sections are keyed by their
    /// heading in lower case (`# Server` is `server`).
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let info = client.info_parsed().await?;
    /// // Valkey's own version; its `redis_version` is the Redis it is compatible with.
    /// let version = info.get("server", "valkey_version").or(info.get("server", "redis_version"));
    /// let clients: Option<u64> = info.get_parsed("clients", "connected_clients");
    /// # Ok(()) }
    /// ```
    pub fn info_parsed(&self) -> Request<'_, Info> {
        self.request(cmd("INFO"))
    }

    /// Some sections of the server's report, parsed: `INFO [section [section ...]]`.
    /// Several sections at once need Redis 7.0; `all` and `everything` name more than
    /// the default.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let info = client.info_parsed_many(["memory", "keyspace"]).await?;
    /// let used: Option<u64> = info.get_parsed("memory", "used_memory");
    /// # Ok(()) }
    /// ```
    pub fn info_parsed_many(
        &self,
        sections: impl IntoIterator<Item = impl ToArg>,
    ) -> Request<'_, Info> {
        self.request(cmd("INFO").args(sections))
    }

    /// The shared connection's ID: `CLIENT ID`. It changes when the client reconnects.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let id: u64 = client.client_id().await?;
    /// # Ok(()) }
    /// ```
    pub fn client_id(&self) -> Request<'_, u64> {
        self.request(cmd("CLIENT").arg("ID"))
    }

    /// The shared connection's name, `None` if it has none: `CLIENT GETNAME`.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let name: Option<String> = client.client_getname().await?;
    /// # Ok(()) }
    /// ```
    pub fn client_getname(&self) -> Request<'_, Option<String>> {
        self.request(cmd("CLIENT").arg("GETNAME"))
    }

    /// Names the shared connection, or clears its name with `""`:
    /// `CLIENT SETNAME name`. The name is lost when the client reconnects; to keep one,
    /// set [`Config::client_name`](crate::Config::client_name) (or `?client_name=` in
    /// the URL), which every handshake sends.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// client.client_setname("billing-api").await?;
    /// # Ok(()) }
    /// ```
    pub fn client_setname(&self, name: impl ToArg) -> Request<'_, ()> {
        self.request(cmd("CLIENT").arg("SETNAME").arg(name))
    }

    /// Every connection to the server, parsed: `CLIENT LIST`.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// for conn in client.client_list().await? {
    ///     println!("{:?} from {:?} running {:?}", conn.id(), conn.addr(), conn.get("cmd"));
    /// }
    /// # Ok(()) }
    /// ```
    pub fn client_list(&self) -> Request<'_, Vec<ClientInfo>> {
        self.request(cmd("CLIENT").arg("LIST"))
    }

    /// Some connections, parsed: `CLIENT LIST TYPE normal|master|replica|pubsub` or
    /// `CLIENT LIST ID client-id [client-id ...]`.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// use redmux::{ClientListFilter, ClientType};
    /// let subscribers = client.client_list_with(ClientListFilter::Type(ClientType::PubSub)).await?;
    /// # Ok(()) }
    /// ```
    pub fn client_list_with(&self, filter: ClientListFilter) -> Request<'_, Vec<ClientInfo>> {
        let command = cmd("CLIENT").arg("LIST");
        self.request(match filter {
            ClientListFilter::Type(client_type) => command.arg("TYPE").arg(client_type.as_str()),
            ClientListFilter::Ids(ids) => command.arg("ID").args(ids),
        })
    }

    /// The shared connection as the server sees it, parsed: `CLIENT INFO` (Redis 6.2).
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let me = client.client_info().await?;
    /// println!("db {:?}, protocol {:?}", me.db(), me.get("resp"));
    /// # Ok(()) }
    /// ```
    pub fn client_info(&self) -> Request<'_, ClientInfo> {
        self.request(cmd("CLIENT").arg("INFO"))
    }

    /// Closes the connections matching every filter given: `CLIENT KILL [ID id]
    /// [TYPE type] [USER username] [ADDR ip:port] [LADDR ip:port] [SKIPME yes|no]`.
    /// The reply is how many were closed. The shared connection itself is spared
    /// unless [`skipme(false)`](ClientKill::skipme); closing it makes the client
    /// reconnect.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// use redmux::ClientKill;
    /// let closed: u64 = client.client_kill(ClientKill::new().user("reporting")).await?;
    /// # Ok(()) }
    /// ```
    pub fn client_kill(&self, filters: ClientKill) -> Request<'_, u64> {
        let mut command = cmd("CLIENT").arg("KILL");
        filters.push_args(&mut command);
        self.request(command)
    }

    /// Configuration parameters matching a glob pattern, as name/value pairs: `CONFIG
    /// GET parameter`. Ask for a `HashMap<String, String>` or a `BTreeMap`; RESP2's flat
    /// array and RESP3's map read alike.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// use std::collections::HashMap;
    /// let memory: HashMap<String, String> = client.config_get("maxmemory*").await?;
    /// # Ok(()) }
    /// ```
    pub fn config_get<T: FromValue>(&self, parameter: impl ToArg) -> Request<'_, T> {
        self.request(cmd("CONFIG").arg("GET").arg(parameter))
    }

    /// Configuration parameters matching any of several patterns: `CONFIG GET
    /// parameter [parameter ...]` (several need Redis 7.0).
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// use std::collections::BTreeMap;
    /// let some: BTreeMap<String, String> = client.config_get_many(["timeout", "databases"]).await?;
    /// # Ok(()) }
    /// ```
    pub fn config_get_many<T: FromValue>(
        &self,
        parameters: impl IntoIterator<Item = impl ToArg>,
    ) -> Request<'_, T> {
        self.request(cmd("CONFIG").arg("GET").args(parameters))
    }

    /// Changes a configuration parameter at run time: `CONFIG SET parameter value`.
    ///
    /// # Errors
    ///
    /// An unknown parameter or a bad value is a server error.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// client.config_set("maxmemory", "256mb").await?;
    /// # Ok(()) }
    /// ```
    pub fn config_set(&self, parameter: impl ToArg, value: impl ToArg) -> Request<'_, ()> {
        self.request(cmd("CONFIG").arg("SET").arg(parameter).arg(value))
    }

    /// Changes several configuration parameters, all or none:
    /// `CONFIG SET parameter value [parameter value ...]` (several need Redis 7.0).
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// client.config_set_many([("maxmemory", "256mb"), ("maxmemory-policy", "allkeys-lru")]).await?;
    /// # Ok(()) }
    /// ```
    pub fn config_set_many(
        &self,
        pairs: impl IntoIterator<Item = (impl ToArg, impl ToArg)>,
    ) -> Request<'_, ()> {
        self.request(pairs_args(cmd("CONFIG").arg("SET"), pairs))
    }

    /// Deletes every key of every database: `FLUSHALL`. The server's `lazyfree-lazy-user-flush`
    /// setting decides whether it frees memory in the background.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// client.flushall().await?;
    /// # Ok(()) }
    /// ```
    pub fn flushall(&self) -> Request<'_, ()> {
        self.request(cmd("FLUSHALL"))
    }

    /// Deletes every key of every database, freeing memory now or in the background:
    /// `FLUSHALL SYNC|ASYNC`. Either way, the keys are gone when the reply comes.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// use redmux::FlushMode;
    /// client.flushall_with(FlushMode::Async).await?;
    /// # Ok(()) }
    /// ```
    pub fn flushall_with(&self, mode: FlushMode) -> Request<'_, ()> {
        self.request(cmd("FLUSHALL").arg(mode.as_str()))
    }

    /// Deletes every key of the selected database, freeing memory now or in the
    /// background: `FLUSHDB SYNC|ASYNC`.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// use redmux::FlushMode;
    /// client.flushdb_with(FlushMode::Sync).await?;
    /// # Ok(()) }
    /// ```
    pub fn flushdb_with(&self, mode: FlushMode) -> Request<'_, ()> {
        self.request(cmd("FLUSHDB").arg(mode.as_str()))
    }
}

/// An INFO reply parsed: sections (by lower-case heading) of `field:value` lines.
/// Values stay text: most are numbers, some are lists (`db0:keys=1,expires=0,...`).
/// RESP3's verbatim string reads like RESP2's bulk string.
///
/// ```
/// use redmux::{FromValue, Info, Value};
/// let info = Info::from_value(Value::from("# Server\r\nredis_version:7.0.15\r\n\r\n# Clients\r\nconnected_clients:3\r\n")).unwrap();
/// assert_eq!(info.get("server", "redis_version"), Some("7.0.15"));
/// assert_eq!(info.get_parsed::<u32>("clients", "connected_clients"), Some(3));
/// assert_eq!(info.find("connected_clients"), Some("3"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Info {
    sections: HashMap<String, HashMap<String, String>>,
}

impl Info {
    /// Parses INFO's text. Lines before any heading land in a section named `""`;
    /// lines without a `:` are skipped.
    pub fn parse(text: &str) -> Self {
        let mut sections: HashMap<String, HashMap<String, String>> = HashMap::new();
        let mut current = String::new();
        for line in text.lines() {
            if let Some(heading) = line.strip_prefix('#') {
                current = heading.trim().to_ascii_lowercase();
                sections.entry(current.clone()).or_default();
            } else if let Some((field, value)) = line.split_once(':') {
                sections
                    .entry(current.clone())
                    .or_default()
                    .insert(field.to_owned(), value.to_owned());
            }
        }
        Info { sections }
    }

    /// A field's value in a section (`"server"`, `"redis_version"`).
    pub fn get(&self, section: &str, field: &str) -> Option<&str> {
        self.sections.get(section)?.get(field).map(String::as_str)
    }

    /// A field's value parsed (`u64`, `f64`, ...); `None` if absent or unparsable.
    pub fn get_parsed<T: FromStr>(&self, section: &str, field: &str) -> Option<T> {
        self.get(section, field)?.parse().ok()
    }

    /// A field's value in whichever section has it: field names do not repeat across
    /// INFO's sections.
    pub fn find(&self, field: &str) -> Option<&str> {
        self.sections
            .values()
            .find_map(|fields| fields.get(field))
            .map(String::as_str)
    }

    /// One section's fields.
    pub fn section(&self, section: &str) -> Option<&HashMap<String, String>> {
        self.sections.get(section)
    }

    /// The names of the sections present, in no particular order.
    pub fn section_names(&self) -> impl Iterator<Item = &str> {
        self.sections.keys().map(String::as_str)
    }
}

impl FromValue for Info {
    fn from_value(value: Value) -> Result<Self> {
        Ok(Info::parse(&String::from_value(value)?))
    }
}

/// One connection in a CLIENT LIST or CLIENT INFO reply: its `field=value` pairs,
/// with typed getters for the common ones. The server sends text (a verbatim string
/// in RESP3); `Vec<ClientInfo>` reads one per line.
///
/// ```
/// use redmux::{ClientInfo, FromValue, Value};
/// let conns = Vec::<ClientInfo>::from_value(Value::from("id=7 addr=127.0.0.1:5000 name= db=2 cmd=client|list\nid=8 addr=127.0.0.1:5001 name=web db=0 cmd=get\n")).unwrap();
/// assert_eq!(conns.len(), 2);
/// assert_eq!((conns[0].id(), conns[0].name(), conns[0].db()), (Some(7), None, Some(2)));
/// assert_eq!(conns[1].name(), Some("web"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientInfo {
    fields: HashMap<String, String>,
}

impl ClientInfo {
    /// Parses one line of `field=value` pairs separated by spaces.
    pub fn parse(line: &str) -> Self {
        let fields = line
            .split_ascii_whitespace()
            .filter_map(|pair| pair.split_once('='))
            .map(|(field, value)| (field.to_owned(), value.to_owned()))
            .collect();
        ClientInfo { fields }
    }

    /// Any field as sent (`"cmd"`, `"resp"`, `"tot-mem"`, ...).
    pub fn get(&self, field: &str) -> Option<&str> {
        self.fields.get(field).map(String::as_str)
    }

    /// Every field and its value, in no particular order.
    pub fn fields(&self) -> impl Iterator<Item = (&str, &str)> {
        self.fields.iter().map(|(f, v)| (f.as_str(), v.as_str()))
    }

    /// `id`: the connection's ID, as [`Client::client_id`] gives.
    pub fn id(&self) -> Option<u64> {
        self.get("id")?.parse().ok()
    }

    /// `addr`: the client's address and port.
    pub fn addr(&self) -> Option<&str> {
        self.get("addr")
    }

    /// `laddr`: the server's address and port for this connection.
    pub fn laddr(&self) -> Option<&str> {
        self.get("laddr")
    }

    /// `name`: `None` when unnamed.
    pub fn name(&self) -> Option<&str> {
        self.get("name").filter(|n| !n.is_empty())
    }

    /// `db`: the selected database.
    pub fn db(&self) -> Option<u32> {
        self.get("db")?.parse().ok()
    }

    /// `user`: the ACL user it authenticated as.
    pub fn user(&self) -> Option<&str> {
        self.get("user")
    }

    /// `age`: how long it has been connected.
    pub fn age(&self) -> Option<Duration> {
        self.get("age")?.parse().ok().map(Duration::from_secs)
    }

    /// `idle`: how long since its last command.
    pub fn idle(&self) -> Option<Duration> {
        self.get("idle")?.parse().ok().map(Duration::from_secs)
    }
}

impl FromValue for ClientInfo {
    fn from_value(value: Value) -> Result<Self> {
        let text = String::from_value(value)?;
        Ok(ClientInfo::parse(text.lines().next().unwrap_or("")))
    }

    /// CLIENT LIST is one string with a line per connection.
    fn vec_from_value(value: Value) -> Result<Vec<Self>> {
        let text = String::from_value(value)?;
        Ok(text
            .lines()
            .filter(|line| !line.trim().is_empty())
            .map(ClientInfo::parse)
            .collect())
    }
}

/// A kind of connection, for [`ClientListFilter::Type`] and [`ClientKill::type_`].
///
/// ```no_run
/// # async fn run(client: redmux::Client) -> redmux::Result<()> {
/// use redmux::{ClientKill, ClientType};
/// // CLIENT KILL TYPE pubsub
/// let closed: u64 = client.client_kill(ClientKill::new().type_(ClientType::PubSub)).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientType {
    /// `normal`: an ordinary client.
    Normal,
    /// `master`: this server's link to its primary, on a replica.
    Master,
    /// `replica`: a replica's link to this server.
    Replica,
    /// `pubsub`: a connection in subscriber mode.
    PubSub,
}

impl ClientType {
    /// The name Redis uses for the kind.
    pub fn as_str(self) -> &'static str {
        match self {
            ClientType::Normal => "normal",
            ClientType::Master => "master",
            ClientType::Replica => "replica",
            ClientType::PubSub => "pubsub",
        }
    }
}

/// Which connections [`Client::client_list_with`] lists: of one kind, or with given
/// IDs. The server takes one or the other, not both (Redis 7.0 answers `ERR syntax
/// error` to the two together).
///
/// ```
/// use redmux::{ClientListFilter, ClientType};
/// // CLIENT LIST TYPE pubsub
/// let subscribers = ClientListFilter::Type(ClientType::PubSub);
/// // CLIENT LIST ID 7 8
/// let these = ClientListFilter::Ids(vec![7, 8]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientListFilter {
    /// `TYPE normal|master|replica|pubsub`: connections of this kind.
    Type(ClientType),
    /// `ID client-id [client-id ...]`: these connections (those still open).
    Ids(Vec<u64>),
}

/// The filters of [`Client::client_kill`]; a connection must match all of them.
/// Each setter replaces an earlier one of the same kind.
///
/// ```
/// use redmux::{ClientKill, ClientType};
/// // CLIENT KILL TYPE pubsub USER reporting SKIPME yes
/// let filters = ClientKill::new().type_(ClientType::PubSub).user("reporting").skipme(true);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientKill {
    id: Option<u64>,
    client_type: Option<ClientType>,
    user: Option<String>,
    addr: Option<String>,
    laddr: Option<String>,
    skipme: Option<bool>,
}

impl ClientKill {
    /// No filters yet; the server refuses a CLIENT KILL without any.
    pub fn new() -> Self {
        ClientKill::default()
    }

    /// `ID client-id`: the connection with this ID.
    pub fn id(mut self, id: u64) -> Self {
        self.id = Some(id);
        self
    }

    /// `TYPE type`: connections of this kind.
    pub fn type_(mut self, client_type: ClientType) -> Self {
        self.client_type = Some(client_type);
        self
    }

    /// `USER username`: connections authenticated as this user. An unknown user is
    /// a server error, not zero connections.
    pub fn user(mut self, user: impl Into<String>) -> Self {
        self.user = Some(user.into());
        self
    }

    /// `ADDR ip:port`: the connection from this address (as CLIENT LIST's `addr`).
    pub fn addr(mut self, addr: impl Into<String>) -> Self {
        self.addr = Some(addr.into());
        self
    }

    /// `LADDR ip:port`: connections to this local address of the server.
    pub fn laddr(mut self, laddr: impl Into<String>) -> Self {
        self.laddr = Some(laddr.into());
        self
    }

    /// `SKIPME yes|no`: whether to spare the connection sending the command (the
    /// server's default is yes).
    pub fn skipme(mut self, skip: bool) -> Self {
        self.skipme = Some(skip);
        self
    }

    fn push_args(self, command: &mut Command) {
        if let Some(id) = self.id {
            command.push_arg("ID").push_arg(id);
        }
        if let Some(client_type) = self.client_type {
            command.push_arg("TYPE").push_arg(client_type.as_str());
        }
        for (filter, value) in [
            ("USER", self.user),
            ("ADDR", self.addr),
            ("LADDR", self.laddr),
        ] {
            if let Some(value) = value {
                command.push_arg(filter).push_arg(value);
            }
        }
        if let Some(skip) = self.skipme {
            command
                .push_arg("SKIPME")
                .push_arg(if skip { "yes" } else { "no" });
        }
    }
}

/// How FLUSHALL and FLUSHDB free memory.
///
/// ```no_run
/// # async fn run(client: redmux::Client) -> redmux::Result<()> {
/// use redmux::FlushMode;
/// // FLUSHDB ASYNC
/// client.flushdb_with(FlushMode::Async).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FlushMode {
    /// `SYNC`: before replying.
    Sync,
    /// `ASYNC`: in a background thread, after replying.
    Async,
}

impl FlushMode {
    fn as_str(self) -> &'static str {
        match self {
            FlushMode::Sync => "SYNC",
            FlushMode::Async => "ASYNC",
        }
    }
}
