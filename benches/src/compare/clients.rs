//! The three clients behind one small trait, each used the way its documentation
//! shows: one shared handle, cloned into every task, one connection.

use std::future::Future;
use std::future::IntoFuture;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use fred::interfaces::{ClientLike, KeysInterface};
use redis::AsyncCommands;
use serde::Serialize;

use super::Result;

/// The timeout given to redmux and redis-rs commands. Both time every command by
/// default (redmux 5 s, redis-rs 500 ms); a burst of 100,000 commands behind a slow
/// proxy can take longer than that, and a benchmark should measure, not time out. The
/// per-command timer stays, so the cost structure is each client's default one. fred
/// has no command timeout by default and keeps none.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// Which client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum ClientKind {
    /// This project.
    #[serde(rename = "redmux")]
    Redmux,
    /// redis-rs: `MultiplexedConnection`; on a cluster, `cluster_async::ClusterConnection`.
    #[serde(rename = "redis-rs")]
    RedisRs,
    /// fred, `Client` (clustered mode on a cluster).
    #[serde(rename = "fred")]
    Fred,
}

impl ClientKind {
    /// All three, in table order.
    pub const ALL: [ClientKind; 3] = [ClientKind::Redmux, ClientKind::RedisRs, ClientKind::Fred];

    /// The name in tables and JSON.
    pub fn name(self) -> &'static str {
        match self {
            ClientKind::Redmux => "redmux",
            ClientKind::RedisRs => "redis-rs",
            ClientKind::Fred => "fred",
        }
    }
}

/// SET and GET of bytes, the only two commands the comparison needs.
///
/// Methods take `&mut self` because redis-rs's connection needs it; every task owns a
/// clone of the shared handle, as each library's documentation shows.
pub trait Kv: Clone + Send + Sync + 'static {
    /// A GET reply: each client's cheapest owned bytes (`Bytes` for redmux and fred,
    /// which decode without copying, `Vec<u8>` for redis-rs).
    type Value: AsRef<[u8]> + Send;

    /// `SET key value`.
    fn set(&mut self, key: &[u8], value: &[u8]) -> impl Future<Output = Result<()>> + Send;

    /// `GET key`.
    fn get(&mut self, key: &[u8]) -> impl Future<Output = Result<Option<Self::Value>>> + Send;

    /// `SET key value`, issued the way the library documents issuing a command now
    /// and awaiting it later, for (c)'s burst. By default that is the lazy future of
    /// [`Kv::set`] on a clone of the handle: redis-rs and fred send a command when it
    /// is first polled. redmux sends it when the request becomes a future
    /// (`into_future`), so its override is on the wire before it is polled.
    fn issue_set<'a>(
        &'a self,
        key: &'a [u8],
        value: &'a [u8],
    ) -> impl Future<Output = Result<()>> + Send + 'a {
        let mut client = self.clone();
        async move { client.set(key, value).await }
    }

    /// `SET key value` as a lazy future, the way a Rust user writes a burst
    /// (`join_all(keys.map(|k| client.set(k, v)))` needs a `Future`, so an
    /// `async` block around the call): nothing is sent until `join_all` first polls
    /// it. For redis-rs and fred this is [`Kv::issue_set`]; redmux's override
    /// borrows the client instead of cloning it, as the idiomatic form does.
    fn lazy_set<'a>(
        &'a self,
        key: &'a [u8],
        value: &'a [u8],
    ) -> impl Future<Output = Result<()>> + Send + 'a {
        self.issue_set(key, value)
    }

    /// `SET key value` with a value the caller already holds as `Bytes`, for a client
    /// that can send it without copying (redmux; fred takes `Bytes` too). The
    /// default copies, as `set` does.
    fn set_bytes(&mut self, key: &[u8], value: Bytes) -> impl Future<Output = Result<()>> + Send {
        async move { self.set(key, &value).await }
    }
}

impl Kv for redmux::Client {
    type Value = Bytes;

    async fn set(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        redmux::Commands::set(self, key, value).await?;
        Ok(())
    }

    async fn set_bytes(&mut self, key: &[u8], value: Bytes) -> Result<()> {
        redmux::Commands::set(self, key, value).await?;
        Ok(())
    }

    async fn get(&mut self, key: &[u8]) -> Result<Option<Bytes>> {
        Ok(redmux::Commands::get::<Option<Bytes>>(self, key).await?)
    }

    fn issue_set<'a>(
        &'a self,
        key: &'a [u8],
        value: &'a [u8],
    ) -> impl Future<Output = Result<()>> + Send + 'a {
        // Sent here, in `into_future`; awaited later.
        let reply = redmux::Commands::set(self, key, value).into_future();
        async move { Ok(reply.await?) }
    }

    // Built, encoded and sent only when first polled.
    async fn lazy_set(&self, key: &[u8], value: &[u8]) -> Result<()> {
        Ok(redmux::Commands::set(self, key, value).await?)
    }
}

impl Kv for redis::aio::MultiplexedConnection {
    type Value = Vec<u8>;

    async fn set(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        AsyncCommands::set::<_, _, ()>(self, key, value).await?;
        Ok(())
    }

    async fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(AsyncCommands::get::<_, Option<Vec<u8>>>(self, key).await?)
    }
}

impl Kv for redis::cluster_async::ClusterConnection {
    type Value = Vec<u8>;

    async fn set(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        AsyncCommands::set::<_, _, ()>(self, key, value).await?;
        Ok(())
    }

    async fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(AsyncCommands::get::<_, Option<Vec<u8>>>(self, key).await?)
    }
}

impl Kv for fred::clients::Client {
    type Value = Bytes;

    async fn set(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        KeysInterface::set::<(), _, _>(self, key, value, None, None, false).await?;
        Ok(())
    }

    async fn set_bytes(&mut self, key: &[u8], value: Bytes) -> Result<()> {
        KeysInterface::set::<(), _, _>(self, key, value, None, None, false).await?;
        Ok(())
    }

    async fn get(&mut self, key: &[u8]) -> Result<Option<Bytes>> {
        Ok(KeysInterface::get::<Option<Bytes>, _>(self, key).await?)
    }
}

/// How the competitors' sockets are set up.
#[derive(Debug, Clone, Copy)]
pub struct Tuning {
    /// Set `TCP_NODELAY` on redis-rs's and fred's sockets (redmux always sets it). Both
    /// leave Nagle's algorithm on by default; fred's own examples turn it off.
    pub nodelay: bool,
}

/// redmux with its default configuration but [`COMMAND_TIMEOUT`].
pub async fn connect_redmux(url: &str) -> Result<redmux::Client> {
    let mut config = redmux::Config::from_url(url)?;
    config.command_timeout = COMMAND_TIMEOUT;
    redmux::Client::connect_with(config)
        .await
        .map_err(|e| format!("redmux: cannot connect to {url}: {e}").into())
}

/// redis-rs's `MultiplexedConnection` with its default configuration (pipeline
/// channel of 50) but [`COMMAND_TIMEOUT`] and, if asked, `TCP_NODELAY`.
pub async fn connect_redis_rs(
    url: &str,
    tuning: Tuning,
) -> Result<redis::aio::MultiplexedConnection> {
    use redis::IntoConnectionInfo;
    let info = url
        .into_connection_info()?
        .set_tcp_settings(redis::io::tcp::TcpSettings::default().set_nodelay(tuning.nodelay));
    let client = redis::Client::open(info)?;
    let config = redis::AsyncConnectionConfig::new().set_response_timeout(Some(COMMAND_TIMEOUT));
    client
        .get_multiplexed_async_connection_with_config(&config)
        .await
        .map_err(|e| format!("redis-rs: cannot connect to {url}: {e}").into())
}

/// fred's `Client` with its default configuration (one connection, commands
/// pipelined, no command timeout) and, if asked, `TCP_NODELAY`.
pub async fn connect_fred(url: &str, tuning: Tuning) -> Result<fred::clients::Client> {
    let config = fred::types::config::Config::from_url(url)?;
    connect_fred_with(config, url, tuning).await
}

/// [`connect_fred`] from a `config` the caller made (`url` names the server in
/// errors): with a TLS connector of its own, say.
pub async fn connect_fred_with(
    config: fred::types::config::Config,
    url: &str,
    tuning: Tuning,
) -> Result<fred::clients::Client> {
    let client = fred::types::Builder::from_config(config)
        .with_connection_config(|c| {
            c.tcp = fred::types::config::TcpConfig {
                nodelay: tuning.nodelay.then_some(true),
                ..Default::default()
            };
        })
        .build()?;
    client
        .init()
        .await
        .map_err(|e| format!("fred: cannot connect to {url}: {e}"))?;
    Ok(client)
}

/// redis-rs's cluster async connection (`ClusterClient::get_async_connection`), found
/// from `seeds`, with its default configuration but [`COMMAND_TIMEOUT`] (per attempt
/// and overall) and, if asked, `TCP_NODELAY`.
pub async fn connect_redis_rs_cluster(
    seeds: &[SocketAddr],
    tuning: Tuning,
) -> Result<redis::cluster_async::ClusterConnection> {
    let urls: Vec<String> = seeds.iter().map(|a| format!("redis://{a}")).collect();
    let client = redis::cluster::ClusterClientBuilder::new(urls)
        .tcp_settings(redis::io::tcp::TcpSettings::default().set_nodelay(tuning.nodelay))
        .response_timeout(COMMAND_TIMEOUT)
        .build()?;
    client
        .get_async_connection()
        .await
        .map_err(|e| format!("redis-rs cluster: cannot connect to {seeds:?}: {e}").into())
}

/// fred's `Client` in clustered mode (`redis-cluster://` with every seed), otherwise
/// as [`connect_fred`].
pub async fn connect_fred_cluster(
    seeds: &[SocketAddr],
    tuning: Tuning,
) -> Result<fred::clients::Client> {
    let (first, rest) = seeds.split_first().ok_or("fred cluster: no seed")?;
    let others: Vec<String> = rest.iter().map(|a| format!("node={a}")).collect();
    connect_fred(
        &format!("redis-cluster://{first}?{}", others.join("&")),
        tuning,
    )
    .await
}

/// `redis://h1:p1,h2:p2,...`: redmux's URL for a cluster's seeds.
pub fn redmux_seeds_url(seeds: &[SocketAddr]) -> String {
    let list: Vec<String> = seeds.iter().map(ToString::to_string).collect();
    format!("redis://{}", list.join(","))
}

/// Closes a fred client (redmux and redis-rs close when their last handle drops).
pub async fn close_fred(client: &fred::clients::Client) {
    // The comparison is done with it; a failed QUIT changes no figure.
    let _ = client.quit().await;
}
