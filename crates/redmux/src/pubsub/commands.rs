//! Publishing to shard channels and asking the server about subscriptions: SPUBLISH,
//! PUBSUB CHANNELS, NUMSUB, NUMPAT, SHARDCHANNELS, SHARDNUMSUB. They go through the
//! shared connection like any command. (`PUBLISH` is with the server commands.)

use redmux_resp::ToArg;

use crate::{Client, FromValue, Request, cmd};

impl Client {
    /// Sends a message to a shard channel's subscribers (Redis 7+, Valkey):
    /// `SPUBLISH shardchannel message`. The reply is how many received it.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let receivers: u64 = client.spublish("{room:7}:chat", "hello").await?;
    /// # Ok(()) }
    /// ```
    pub fn spublish(&self, channel: impl ToArg, message: impl ToArg) -> Request<'_, u64> {
        // The channel is marked as the key: on a cluster its slot picks the node
        // (the server's key specs flag it `not_key`, so it is no key to GETKEYS).
        self.request(cmd("SPUBLISH").key(channel).arg(message))
    }

    /// The channels with at least one subscriber (pattern subscriptions not
    /// counted), optionally only those matching a glob-style pattern:
    /// `PUBSUB CHANNELS [pattern]`.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let all: Vec<String> = client.pubsub_channels(None::<&str>).await?;
    /// let news: Vec<String> = client.pubsub_channels(Some("news.*")).await?;
    /// # Ok(()) }
    /// ```
    pub fn pubsub_channels<T: FromValue>(
        &self,
        pattern: Option<impl ToArg>,
    ) -> Request<'_, Vec<T>> {
        let mut command = cmd("PUBSUB").arg("CHANNELS");
        if let Some(pattern) = pattern {
            command = command.arg(pattern);
        }
        self.request(command)
    }

    /// How many subscribers each channel has (pattern subscriptions not counted),
    /// in the order asked: `PUBSUB NUMSUB [channel ...]`. Several subscriptions of
    /// one redmux client to one channel count once: they share one server-side
    /// subscription.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let counts: Vec<(String, u64)> = client.pubsub_numsub(["news", "alerts"]).await?;
    /// # Ok(()) }
    /// ```
    pub fn pubsub_numsub<T: FromValue>(
        &self,
        channels: impl IntoIterator<Item = impl ToArg>,
    ) -> Request<'_, Vec<(T, u64)>> {
        self.request(cmd("PUBSUB").arg("NUMSUB").args(channels))
    }

    /// How many pattern subscriptions exist, over all clients: `PUBSUB NUMPAT`.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let patterns: u64 = client.pubsub_numpat().await?;
    /// # Ok(()) }
    /// ```
    pub fn pubsub_numpat(&self) -> Request<'_, u64> {
        self.request(cmd("PUBSUB").arg("NUMPAT"))
    }

    /// The shard channels with at least one subscriber, optionally only those
    /// matching a pattern: `PUBSUB SHARDCHANNELS [pattern]` (Redis 7+).
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let rooms: Vec<String> = client.pubsub_shardchannels(Some("{room:*")).await?;
    /// # Ok(()) }
    /// ```
    pub fn pubsub_shardchannels<T: FromValue>(
        &self,
        pattern: Option<impl ToArg>,
    ) -> Request<'_, Vec<T>> {
        let mut command = cmd("PUBSUB").arg("SHARDCHANNELS");
        if let Some(pattern) = pattern {
            command = command.arg(pattern);
        }
        self.request(command)
    }

    /// How many subscribers each shard channel has, in the order asked:
    /// `PUBSUB SHARDNUMSUB [shardchannel ...]` (Redis 7+).
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let counts: Vec<(String, u64)> = client.pubsub_shardnumsub(["{room:7}:chat"]).await?;
    /// # Ok(()) }
    /// ```
    pub fn pubsub_shardnumsub<T: FromValue>(
        &self,
        channels: impl IntoIterator<Item = impl ToArg>,
    ) -> Request<'_, Vec<(T, u64)>> {
        self.request(cmd("PUBSUB").arg("SHARDNUMSUB").args(channels))
    }
}
