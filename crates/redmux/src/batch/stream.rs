//! [`BatchStream`]: a batch fed by an iterator or a stream of commands, whose
//! results come out in order as their chunks are answered, in bounded memory.

use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::Stream;

use super::{BatchItem, Chunks, Item, Options};
use crate::client::Client;
use crate::error::Result;
use crate::from_value::FromValue;

/// The results of a stream of commands, in order, each converted to `T`.
///
/// Made by [`Client::batch_iter`] or [`Client::batch_stream`]. Commands are pulled
/// from the source only as room frees up: at most `window` chunks (default 4 of
/// 1,000 commands or 1 MiB) are queued, in flight, or waiting to be read, so a
/// job of millions of commands runs in the memory of a few thousand. Nothing is
/// sent before the stream is first polled.
///
/// ```no_run
/// # async fn run(client: redmux::Client) -> redmux::Result<()> {
/// use futures::StreamExt;
/// let mut values = client.batch_iter((0..1_000_000).map(|i| client.get::<Option<String>>(format!("k:{i}"))));
/// let mut found = 0;
/// while let Some(value) = values.next().await {
///     found += usize::from(value?.is_some());
/// }
/// # Ok(()) }
/// ```
///
/// # Cancellation
///
/// Dropping the stream stops pulling commands. Chunks already queued are still
/// sent and their replies discarded.
#[must_use = "streams do nothing unless polled"]
pub struct BatchStream<'a, T> {
    chunks: Chunks,
    source: Pin<Box<dyn Stream<Item = Item> + Send + 'a>>,
    options: Options,
    _reply: PhantomData<fn() -> T>,
}

impl<T> std::fmt::Debug for BatchStream<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchStream")
            .field("chunks", &self.chunks)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Sends the commands an iterator yields, in chunks, and streams their results
    /// in order (see [`BatchStream`]).
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// use futures::StreamExt;
    /// let sets = (0..100_000).map(|i| client.set(format!("k:{i}"), i));
    /// let failures = client.batch_iter(sets).filter(|r| std::future::ready(r.is_err())).count().await;
    /// # Ok(()) }
    /// ```
    pub fn batch_iter<'a, T, I>(&self, commands: I) -> BatchStream<'a, T>
    where
        I: IntoIterator,
        I::IntoIter: Send + 'a,
        I::Item: BatchItem<T>,
    {
        self.batch_stream(Iter {
            iter: commands.into_iter(),
        })
    }

    /// Sends the commands a stream yields, in chunks, and streams their results in
    /// order (see [`BatchStream`]). When the source has nothing ready, the commands
    /// pulled so far go out at once as a smaller chunk.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// use futures::StreamExt;
    /// let jobs = futures::stream::iter(["a", "b", "c"]);
    /// let mut pushed = client.batch_stream(jobs.map(|job| redmux::cmd("RPUSH").arg("jobs").arg(job)));
    /// while let Some(length) = pushed.next().await {
    ///     let length: i64 = length?;
    ///     println!("queue length {length}");
    /// }
    /// # Ok(()) }
    /// ```
    pub fn batch_stream<'a, T, S>(&self, commands: S) -> BatchStream<'a, T>
    where
        S: Stream + Send + 'a,
        S::Item: BatchItem<T>,
    {
        let options = Options::default();
        BatchStream {
            chunks: Chunks::new(self.clone(), options),
            source: Box::pin(Items { stream: commands }),
            options,
            _reply: PhantomData,
        }
    }
}

impl<T> BatchStream<'_, T> {
    /// How long each chunk may take, from when it is queued until its last reply
    /// (the client's `command_timeout` otherwise). Options apply to the chunks
    /// queued after they are set: set them before the first poll.
    ///
    /// ```no_run
    /// # fn run(client: redmux::Client) {
    /// use std::time::Duration;
    /// let gets = (0..10_000).map(|i| client.get::<Option<String>>(format!("k:{i}")));
    /// let stream = client.batch_iter(gets).timeout(Duration::from_secs(10)).chunk_size(250).window(2);
    /// # }
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.options.timeout = Some(timeout);
        self.chunks.set_options(self.options);
        self
    }

    /// The most commands per chunk (default 1,000); see [`BatchStream::timeout`]
    /// for an example.
    pub fn chunk_size(mut self, commands: usize) -> Self {
        self.options.chunk_commands = commands.max(1);
        self.chunks.set_options(self.options);
        self
    }

    /// How many chunks may be queued, in flight or waiting to be read at once
    /// (default 4). Memory is bounded by `window × chunk_size` commands. See
    /// [`BatchStream::timeout`] for an example.
    pub fn window(mut self, chunks: usize) -> Self {
        self.options.window = chunks.max(1);
        self.chunks.set_options(self.options);
        self
    }
}

impl<T: FromValue> Stream for BatchStream<'_, T> {
    type Item = Result<T>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<T>>> {
        let this = self.get_mut();
        let source = &mut this.source;
        let mut pull = |cx: &mut Context<'_>| source.as_mut().poll_next(cx);
        this.chunks
            .poll_next(cx, &mut pull)
            .map(|next| next.map(|result| result.and_then(T::from_value)))
    }
}

pin_project_lite::pin_project! {
    /// A stream of commands as batch items.
    struct Items<S> {
        #[pin]
        stream: S,
    }
}

impl<S> Stream for Items<S>
where
    S: Stream,
    S::Item: super::sealed::Sealed,
{
    type Item = Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Item>> {
        self.project()
            .stream
            .poll_next(cx)
            .map(|next| next.map(|command| super::sealed::Sealed::into_item(command).0))
    }
}

pin_project_lite::pin_project! {
    /// An iterator as a stream that is always ready.
    struct Iter<I> {
        iter: I,
    }
}

impl<I: Iterator> Stream for Iter<I> {
    type Item = I::Item;

    fn poll_next(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<I::Item>> {
        Poll::Ready(self.project().iter.next())
    }
}
