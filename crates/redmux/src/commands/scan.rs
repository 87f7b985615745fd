//! SCAN as a [`Stream`] of keys: [`Scan`] and its [`ScanOptions`].

use std::collections::VecDeque;
use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use futures_core::Stream;

use super::KeyType;
use crate::{Client, Command, FromValue, Response, Result, cmd};

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
        Scan {
            client: self.clone(),
            options,
            cursor: 0,
            keys: VecDeque::new(),
            page: None,
            finished: false,
        }
    }
}

/// The filters of [`Client::scan`]: a glob pattern, a page size hint, a type.
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
    pub fn type_(mut self, key_type: impl Into<KeyType>) -> Self {
        self.key_type = Some(key_type.into());
        self
    }

    fn command(&self, cursor: u64) -> Command {
        let mut command = cmd("SCAN").arg(cursor);
        if let Some(pattern) = &self.pattern {
            command.push_arg("MATCH").push_arg(pattern);
        }
        if let Some(count) = self.count {
            command.push_arg("COUNT").push_arg(count);
        }
        if let Some(key_type) = &self.key_type {
            command.push_arg("TYPE").push_arg(key_type.as_str());
        }
        command
    }
}

/// A page being fetched: `SCAN`'s reply is `[next cursor, [key, ...]]`.
type Page<T> = Pin<Box<Response<(u64, Vec<T>)>>>;

/// The keys of a database, page by page: a [`Stream`] from [`Client::scan`].
///
/// Each item is one key converted to `T` (`String`, `Vec<u8>`, `bytes::Bytes`, ...).
#[must_use = "streams do nothing unless polled"]
pub struct Scan<T> {
    client: Client,
    options: ScanOptions,
    /// The cursor of the next page to ask for.
    cursor: u64,
    /// Keys of the last page not yet yielded.
    keys: VecDeque<T>,
    page: Option<Page<T>>,
    finished: bool,
}

// Nothing inside is pinned in place: keys are plain values moved in and out of the
// queue, and the page future is boxed.
impl<T> Unpin for Scan<T> {}

impl<T> fmt::Debug for Scan<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scan")
            .field("options", &self.options)
            .field("cursor", &self.cursor)
            .field("buffered", &self.keys.len())
            .field("fetching", &self.page.is_some())
            .field("finished", &self.finished)
            .finish()
    }
}

impl<T: FromValue> Stream for Scan<T> {
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
                    let request = this.client.request(this.options.command(this.cursor));
                    this.page.insert(Box::pin(request.into_future()))
                }
            };
            let outcome = ready!(page.as_mut().poll(cx));
            this.page = None;
            match outcome {
                Ok((cursor, keys)) => {
                    this.cursor = cursor;
                    this.finished = cursor == 0;
                    this.keys = keys.into();
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
