//! The SCAN family as [`Stream`]s: SCAN over keys, HSCAN over a hash's fields and
//! values, SSCAN over a set's members, ZSCAN over a sorted set's members and scores.
//! One [`Scan`] stream and one [`ScanOptions`] serve all four: they differ only in the
//! command's first arguments and in what one item is.

use std::collections::VecDeque;
use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use futures_core::Stream;

use redmux_resp::ToArg;

use super::KeyType;
use crate::{Client, Command, FromValue, Result, cmd};

impl Client {
    /// Iterates over the keys of the database: `SCAN cursor [MATCH pattern]
    /// [COUNT count] [TYPE type]`, one call per page, issued as the stream is polled.
    ///
    /// The stream yields keys one at a time and ends when the server's cursor comes
    /// back to 0. As SCAN promises, every key present for the whole iteration is
    /// yielded; a key may be yielded twice if the keyspace is resized meanwhile, and
    /// keys added or removed during the iteration may or may not appear.
    ///
    /// The stream owns a clone of the client, so it can outlive this borrow and move
    /// to another task.
    ///
    /// # Errors
    ///
    /// A failed page (a timeout, a lost connection, a server error) is yielded as an
    /// `Err`, and then the stream ends.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// use futures::StreamExt;
    /// use redmux::{KeyType, ScanOptions};
    /// let mut keys = client.scan(ScanOptions::new().pattern("user:*").count(100).type_(KeyType::Hash));
    /// while let Some(key) = keys.next().await {
    ///     let key: String = key?;
    ///     println!("{key}");
    /// }
    /// # Ok(()) }
    /// ```
    pub fn scan<T: FromValue>(&self, options: ScanOptions) -> Scan<T> {
        let mut scan = Scan::new(self.clone(), cmd("SCAN"), options);
        // On a cluster every primary holds its own keys: one cursor each, in turn.
        scan.nodes = self.router().scan_nodes().into();
        scan.node = scan.nodes.pop_front();
        scan
    }

    /// Iterates over the fields and values of a hash: `HSCAN key cursor [MATCH pattern]
    /// [COUNT count]`, one call per page, as the stream is polled. Each item is one
    /// `(field, value)` pair; `MATCH` filters on the field.
    ///
    /// The guarantees are SCAN's (see [`scan`](Self::scan)): every field present for
    /// the whole iteration is yielded, possibly twice if the hash is resized meanwhile.
    /// A small hash (listpack-encoded) comes back whole in the first page whatever the
    /// `COUNT`. A missing key is an empty stream. [`ScanOptions::type_`] is for SCAN
    /// only: the server refuses it here.
    ///
    /// # Errors
    ///
    /// A failed page (a key holding another type, a lost connection) is yielded as an
    /// `Err`, and then the stream ends.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// use futures::TryStreamExt;
    /// use redmux::ScanOptions;
    /// let mut fields = client.hscan::<String, i64>("stock", ScanOptions::new().pattern("sku:*"));
    /// while let Some((sku, count)) = fields.try_next().await? {
    ///     println!("{sku}: {count}");
    /// }
    /// # Ok(()) }
    /// ```
    pub fn hscan<K: FromValue, V: FromValue>(
        &self,
        key: impl ToArg,
        options: ScanOptions,
    ) -> Scan<(K, V)> {
        Scan::new(self.clone(), cmd("HSCAN").key(key), options)
    }

    /// Iterates over the members of a set: `SSCAN key cursor [MATCH pattern]
    /// [COUNT count]`, one call per page, as the stream is polled.
    ///
    /// The guarantees are SCAN's (see [`scan`](Self::scan)). A missing key is an empty
    /// stream; a failed page is yielded as an `Err`, and then the stream ends.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// use futures::TryStreamExt;
    /// use redmux::ScanOptions;
    /// let tags: Vec<String> = client.sscan("tags", ScanOptions::new().count(500)).try_collect().await?;
    /// # Ok(()) }
    /// ```
    pub fn sscan<T: FromValue>(&self, key: impl ToArg, options: ScanOptions) -> Scan<T> {
        Scan::new(self.clone(), cmd("SSCAN").key(key), options)
    }

    /// Iterates over the members of a sorted set with their scores: `ZSCAN key cursor
    /// [MATCH pattern] [COUNT count]`, one call per page, as the stream is polled. Each
    /// item is one `(member, score)` pair, in no particular order (use
    /// [`zrange`](Self::zrange) for score order).
    ///
    /// The guarantees are SCAN's (see [`scan`](Self::scan)). Scores are strings in a
    /// flat array in both RESP2 and RESP3; they read as `f64` alike, `inf` included. A
    /// missing key is an empty stream; a failed page is yielded as an `Err`, and then
    /// the stream ends.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// use futures::TryStreamExt;
    /// use redmux::ScanOptions;
    /// let mut members = client.zscan::<String>("leaderboard", ScanOptions::new());
    /// while let Some((player, score)) = members.try_next().await? {
    ///     println!("{player}: {score}");
    /// }
    /// # Ok(()) }
    /// ```
    pub fn zscan<T: FromValue>(&self, key: impl ToArg, options: ScanOptions) -> Scan<(T, f64)> {
        Scan::new(self.clone(), cmd("ZSCAN").key(key), options)
    }
}

/// The filters of [`Client::scan`], [`Client::hscan`], [`Client::sscan`] and
/// [`Client::zscan`]: a glob pattern, a page size hint, and for SCAN a type.
/// (`HSCAN ... NOVALUES` needs Redis 7.4 and is not offered.)
///
/// ```
/// use redmux::ScanOptions;
/// // SCAN cursor MATCH user:* COUNT 500 TYPE string
/// let options = ScanOptions::new().pattern("user:*").count(500).type_("string");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScanOptions {
    pattern: Option<Vec<u8>>,
    count: Option<u64>,
    key_type: Option<KeyType>,
}

impl ScanOptions {
    /// No filters: every key, in pages of the server's default size (10).
    pub fn new() -> Self {
        ScanOptions::default()
    }

    /// `MATCH pattern`: only keys matching a glob-style pattern (`user:*`, `h?llo`,
    /// `id:[0-9]*`). The server filters each page after reading it, so a page can
    /// come back empty; the stream simply asks for the next one.
    pub fn pattern(mut self, pattern: impl AsRef<[u8]>) -> Self {
        self.pattern = Some(pattern.as_ref().to_vec());
        self
    }

    /// `COUNT count`: how much work the server does per page, a hint, not a limit.
    /// Larger pages mean fewer round trips and longer single commands.
    pub fn count(mut self, count: u64) -> Self {
        self.count = Some(count);
        self
    }

    /// `TYPE type`: only keys holding this type (`"string"`, [`KeyType::Hash`], ...).
    /// SCAN only: HSCAN, SSCAN and ZSCAN refuse it (`ERR syntax error`).
    pub fn type_(mut self, key_type: impl Into<KeyType>) -> Self {
        self.key_type = Some(key_type.into());
        self
    }

    /// Appends the options after the cursor.
    fn push_args(&self, command: &mut Command) {
        if let Some(pattern) = &self.pattern {
            command.push_arg("MATCH").push_arg(pattern);
        }
        if let Some(count) = self.count {
            command.push_arg("COUNT").push_arg(count);
        }
        if let Some(key_type) = &self.key_type {
            command.push_arg("TYPE").push_arg(key_type.as_str());
        }
    }
}

/// A page being fetched: the reply is `[next cursor, [item, ...]]`, where a pair
/// (HSCAN's field and value, ZSCAN's member and score) is two elements of the flat
/// array, which `Vec<(A, B)>` reads two at a time.
type Page<T> = Pin<Box<dyn Future<Output = Result<(u64, Vec<T>)>> + Send>>;

/// Keys, fields or members, page by page: a [`Stream`] from [`Client::scan`],
/// [`Client::hscan`], [`Client::sscan`] or [`Client::zscan`].
///
/// Each item is one key or member converted to `T` (`String`, `Vec<u8>`,
/// `bytes::Bytes`, ...), or for HSCAN and ZSCAN one pair.
///
/// ```no_run
/// # async fn run(client: redmux::Client) -> redmux::Result<()> {
/// use futures::TryStreamExt;
/// use redmux::{Scan, ScanOptions};
/// // ZSCAN leaderboard cursor COUNT 100, page after page
/// let members: Scan<(String, f64)> = client.zscan("leaderboard", ScanOptions::new().count(100));
/// let high: Vec<(String, f64)> = members.try_filter(|(_, score)| std::future::ready(*score > 1000.0)).try_collect().await?;
/// # Ok(()) }
/// ```
#[must_use = "streams do nothing unless polled"]
pub struct Scan<T> {
    client: Client,
    /// The command up to the cursor: `SCAN`, or `HSCAN key` and the like.
    prefix: Command,
    options: ScanOptions,
    /// The cursor of the next page to ask for.
    cursor: u64,
    /// Keys of the last page not yet yielded.
    keys: VecDeque<T>,
    page: Option<Page<T>>,
    finished: bool,
    /// On a cluster: the primary being scanned, and those still to come.
    node: Option<String>,
    nodes: VecDeque<String>,
}

// Nothing inside is pinned in place: keys are plain values moved in and out of the
// queue, and the page future is boxed.
impl<T> Unpin for Scan<T> {}

impl<T> Scan<T> {
    fn new(client: Client, prefix: Command, options: ScanOptions) -> Self {
        Scan {
            client,
            prefix,
            options,
            cursor: 0,
            keys: VecDeque::new(),
            page: None,
            finished: false,
            node: None,
            nodes: VecDeque::new(),
        }
    }

    /// The next page's command: the prefix, the cursor, the options.
    pub(super) fn command(&self) -> Command {
        let mut command = self.prefix.clone().arg(self.cursor);
        self.options.push_args(&mut command);
        command
    }
}

impl<T> fmt::Debug for Scan<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scan")
            .field("command", &self.prefix.name())
            .field("options", &self.options)
            .field("cursor", &self.cursor)
            .field("buffered", &self.keys.len())
            .field("fetching", &self.page.is_some())
            .field("finished", &self.finished)
            .finish()
    }
}

impl<T: FromValue + Send + 'static> Stream for Scan<T> {
    type Item = Result<T>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<T>>> {
        let this = self.get_mut();
        loop {
            if let Some(key) = this.keys.pop_front() {
                return Poll::Ready(Some(Ok(key)));
            }
            if this.finished {
                return Poll::Ready(None);
            }
            let page = match &mut this.page {
                Some(page) => page,
                None => {
                    let page: Page<T> = match &this.node {
                        Some(node) => {
                            let reply = this.client.router().send_to_node(node, this.command());
                            Box::pin(
                                async move { reply.await.and_then(crate::from_value::convert) },
                            )
                        }
                        None => Box::pin(this.client.request(this.command()).into_future()),
                    };
                    this.page.insert(page)
                }
            };
            let outcome = ready!(page.as_mut().poll(cx));
            this.page = None;
            match outcome {
                Ok((cursor, keys)) => {
                    this.cursor = cursor;
                    this.keys = keys.into();
                    if cursor == 0 {
                        // This node is done; on a cluster the next one starts.
                        this.node = this.nodes.pop_front();
                        this.finished = this.node.is_none();
                    }
                }
                Err(e) => {
                    this.finished = true;
                    return Poll::Ready(Some(Err(e)));
                }
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let upper = if self.finished {
            Some(self.keys.len())
        } else {
            None
        };
        (self.keys.len(), upper)
    }
}
