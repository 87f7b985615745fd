//! Lua scripts and Redis functions.
//!
//! A [`Script`] knows its SHA1 from the start, so it is sent as `EVALSHA`: the body
//! crosses the network only when the server does not have it. On `NOSCRIPT` (a
//! restart, a failover, `SCRIPT FLUSH`) the call is sent once more as `EVAL`, which
//! runs the script and caches it again; the caller never sees the miss.
//!
//! In a batch or a transaction a reply cannot be retried in place, so the first call
//! of each script in a chunk (or transaction) goes as `EVAL` and the rest as
//! `EVALSHA`: they run right after it on the same connection, where it is cached.
//!
//! Functions (Redis 7+) are named and loaded once per library: [`Client::function_load`],
//! then [`Client::fcall`] and [`Client::fcall_ro`].

use std::fmt;
use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use redmux_resp::{ToArg, Value};

use crate::client::Client;
use crate::command::{Command, cmd};
use crate::error::{Error, Result};
use crate::from_value::FromValue;
use crate::request::Request;

/// A Lua script, with its SHA1 computed once.
///
/// Cheap to clone (the source is shared); make one per script, for instance in a
/// `static` `LazyLock`, and call it as often as you like.
///
/// ```no_run
/// # async fn run(client: redmux::Client) -> redmux::Result<()> {
/// use redmux::Script;
/// let add = Script::new("return redis.call('INCRBY', KEYS[1], ARGV[1])");
/// let n: i64 = add.invoke(&client).key("counter").arg(5).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Script {
    inner: Arc<Source>,
}

struct Source {
    body: String,
    sha1: String,
}

impl fmt::Debug for Script {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Script")
            .field("sha1", &self.inner.sha1)
            .field("bytes", &self.inner.body.len())
            .finish()
    }
}

impl Script {
    /// Wraps a Lua script and computes its SHA1 (as the server will).
    ///
    /// ```
    /// let script = redmux::Script::new("return 1");
    /// assert_eq!(script.sha1(), "e0e1f9fabfc9d4800c877a703b823ac0578ff8db");
    /// ```
    pub fn new(body: impl Into<String>) -> Script {
        let body = body.into();
        let sha1 = sha1_smol::Sha1::from(body.as_bytes()).digest().to_string();
        Script {
            inner: Arc::new(Source { body, sha1 }),
        }
    }

    /// The script's SHA1 in lower-case hex, as `EVALSHA` and `SCRIPT LOAD` use it.
    ///
    /// ```
    /// let script = redmux::Script::new("return ARGV[1]");
    /// assert_eq!(script.sha1().len(), 40);
    /// assert_eq!(script.body(), "return ARGV[1]");
    /// ```
    pub fn sha1(&self) -> &str {
        &self.inner.sha1
    }

    /// The Lua source (see [`Script::sha1`]).
    pub fn body(&self) -> &str {
        &self.inner.body
    }

    /// Starts a call of the script on the shared connection: add keys and
    /// arguments, then await it. The reply converts to `T`.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let script = redmux::Script::new("return {KEYS[1], ARGV[1]}");
    /// let pair: (String, String) = script.invoke(&client).key("k").arg("a").await?;
    /// # Ok(()) }
    /// ```
    pub fn invoke<'a, T>(&self, client: &'a Client) -> Invocation<'a, T> {
        Invocation {
            client,
            call: self.call(),
            timeout: None,
        }
    }

    /// A call of the script for a [`crate::Batch`] or a [`crate::Transaction`].
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let add = redmux::Script::new("return redis.call('INCRBY', KEYS[1], ARGV[1])");
    /// let mut batch = client.batch();
    /// let first = batch.add(add.call::<i64>().key("a").arg(1));
    /// let second = batch.add(add.call::<i64>().key("b").arg(2));
    /// let results = batch.execute().await;
    /// println!("{} {}", results.get(first)?, results.get(second)?);
    /// # Ok(()) }
    /// ```
    pub fn call<T>(&self) -> ScriptCall<T> {
        ScriptCall {
            call: Call {
                script: self.clone(),
                args: CallArgs::default(),
            },
            _reply: PhantomData,
        }
    }

    /// Loads the script into the server's cache without running it:
    /// `SCRIPT LOAD body`. Replies with the SHA1. Never needed for correctness (a
    /// call loads the script when the server lacks it); it saves the one round trip
    /// the first call after a restart would spend.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let script = redmux::Script::new("return 1");
    /// let sha: String = script.load(&client).await?;
    /// assert_eq!(sha, script.sha1());
    /// # Ok(()) }
    /// ```
    pub fn load<'a>(&self, client: &'a Client) -> Request<'a, String> {
        client.request(cmd("SCRIPT").arg("LOAD").arg(self.body()))
    }
}

/// The keys and arguments of a script or function call, encoded as they are given.
#[derive(Debug, Clone, Default)]
struct CallArgs {
    keys: BytesMut,
    key_count: usize,
    args: BytesMut,
    /// An argument that could not be made: handed on to the command, which then
    /// fails unsent.
    failed: Option<redmux_resp::ArgError>,
}

impl CallArgs {
    fn key(&mut self, key: impl ToArg) {
        let key = key.to_arg();
        self.note_failure(&key);
        key.encode(&mut self.keys);
        self.key_count += 1;
    }

    fn arg(&mut self, arg: impl ToArg) {
        let arg = arg.to_arg();
        self.note_failure(&arg);
        arg.encode(&mut self.args);
    }

    fn note_failure(&mut self, arg: &redmux_resp::Arg<'_>) {
        if let Some(error) = arg.failure() {
            self.failed.get_or_insert_with(|| error.clone());
        }
    }

    /// `numkeys key ... arg ...`
    fn append_to(&self, command: &mut Command) {
        command.push_arg(self.key_count);
        command.push_encoded_keys(&self.keys);
        command.push_encoded(&self.args);
        if let Some(error) = &self.failed {
            command.push_failed(error.clone());
        }
    }
}

/// A script with its keys and arguments, not yet encoded as EVAL or EVALSHA.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    script: Script,
    args: CallArgs,
}

impl Call {
    /// `EVAL body numkeys ...` when `eval`, else `EVALSHA sha1 numkeys ...`.
    pub(crate) fn command(&self, eval: bool) -> Command {
        let mut command = if eval {
            cmd("EVAL").arg(self.script.body())
        } else {
            cmd("EVALSHA").arg(self.script.sha1())
        };
        self.args.append_to(&mut command);
        command
    }

    /// The script's SHA1, to tell whether a group already sent it as EVAL.
    pub(crate) fn sha1(&self) -> &str {
        self.script.sha1()
    }

    /// About how many bytes the call takes on the wire.
    pub(crate) fn size(&self) -> usize {
        64 + self.args.keys.len() + self.args.args.len()
    }
}

/// A call of a [`Script`] for a batch or a transaction, made by [`Script::call`];
/// its reply converts to `T`.
#[derive(Debug, Clone)]
#[must_use = "a script call does nothing until it is added to a batch or transaction"]
pub struct ScriptCall<T> {
    call: Call,
    _reply: PhantomData<fn() -> T>,
}

impl<T> ScriptCall<T> {
    /// Adds a key (`KEYS[n]` in the script).
    ///
    /// ```
    /// let script = redmux::Script::new("return redis.call('MGET', unpack(KEYS))");
    /// let call = script.call::<Vec<Option<String>>>().key("a").keys(["b", "c"]).arg(1).args([2, 3]);
    /// ```
    pub fn key(mut self, key: impl ToArg) -> Self {
        self.call.args.key(key);
        self
    }

    /// Adds each item as a key (see [`ScriptCall::key`]).
    pub fn keys<A: ToArg>(mut self, keys: impl IntoIterator<Item = A>) -> Self {
        for key in keys {
            self.call.args.key(key);
        }
        self
    }

    /// Adds an argument (`ARGV[n]` in the script; see [`ScriptCall::key`]).
    pub fn arg(mut self, arg: impl ToArg) -> Self {
        self.call.args.arg(arg);
        self
    }

    /// Adds each item as an argument (see [`ScriptCall::key`]).
    pub fn args<A: ToArg>(mut self, args: impl IntoIterator<Item = A>) -> Self {
        for arg in args {
            self.call.args.arg(arg);
        }
        self
    }
}

impl<T> ScriptCall<T> {
    /// The call, for a batch or transaction that queues it.
    pub(crate) fn into_call(self) -> Call {
        self.call
    }
}

/// A call of a [`Script`] on the shared connection, made by [`Script::invoke`].
/// Await it to send it.
#[derive(Debug)]
#[must_use = "a script call does nothing until it is awaited"]
pub struct Invocation<'a, T> {
    client: &'a Client,
    call: ScriptCall<T>,
    timeout: Option<Duration>,
}

impl<T> Invocation<'_, T> {
    /// Adds a key (`KEYS[n]` in the script).
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// use std::time::Duration;
    /// let script = redmux::Script::new("return redis.call('MGET', unpack(KEYS))");
    /// let values: Vec<Option<String>> = script
    ///     .invoke(&client)
    ///     .key("a")
    ///     .keys(["b", "c"])
    ///     .arg("unused")
    ///     .args(["also", "unused"])
    ///     .timeout(Duration::from_millis(200))
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn key(mut self, key: impl ToArg) -> Self {
        self.call = self.call.key(key);
        self
    }

    /// Adds each item as a key (see [`Invocation::key`]).
    pub fn keys<A: ToArg>(mut self, keys: impl IntoIterator<Item = A>) -> Self {
        self.call = self.call.keys(keys);
        self
    }

    /// Adds an argument (`ARGV[n]` in the script; see [`Invocation::key`]).
    pub fn arg(mut self, arg: impl ToArg) -> Self {
        self.call = self.call.arg(arg);
        self
    }

    /// Adds each item as an argument (see [`Invocation::key`]).
    pub fn args<A: ToArg>(mut self, args: impl IntoIterator<Item = A>) -> Self {
        self.call = self.call.args(args);
        self
    }

    /// Sets the timeout of the whole call, a reload included (the client's
    /// `command_timeout` otherwise; see [`Invocation::key`]).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }
}

/// The future of a script call: its reply, after at most one invisible reload.
///
/// ```no_run
/// # async fn run(client: redmux::Client) -> redmux::Result<()> {
/// use std::future::IntoFuture;
/// let script = redmux::Script::new("return 1");
/// let pending: redmux::ScriptResponse<'_, i64> = script.invoke(&client).into_future(); // sent
/// assert_eq!(pending.await?, 1);
/// # Ok(()) }
/// ```
pub type ScriptResponse<'a, T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 'a>>;

impl<'a, T: FromValue + Send + 'a> IntoFuture for Invocation<'a, T> {
    type Output = Result<T>;
    type IntoFuture = ScriptResponse<'a, T>;

    /// Sends `EVALSHA` now; on `NOSCRIPT` the future sends `EVAL` once.
    ///
    /// # Errors
    ///
    /// The script's own error (`Error::Server`, for instance `ERR user_script:1: ...`),
    /// or the usual timeout and connection errors.
    ///
    /// # Cancellation
    ///
    /// As [`crate::Response`]: a dropped call still runs if it was sent; the reload
    /// is never sent after the future is dropped.
    fn into_future(self) -> ScriptResponse<'a, T> {
        let Invocation {
            client,
            call,
            timeout,
        } = self;
        let timeout = timeout.unwrap_or(client.config().command_timeout);
        let started = Instant::now();
        // Sent here, not at the first poll: calls keep the order they were made in.
        let first = client
            .request::<Value>(call.call.command(false))
            .timeout(timeout)
            .into_future();
        Box::pin(async move {
            match first.await {
                Ok(value) => T::from_value(value),
                Err(Error::Server(e)) if e.code() == "NOSCRIPT" => {
                    tracing::debug!(sha1 = call.call.sha1(), "script not cached; sending EVAL");
                    let left = timeout.saturating_sub(started.elapsed());
                    client
                        .request::<T>(call.call.command(true))
                        .timeout(left)
                        .await
                }
                Err(e) => Err(e),
            }
        })
    }
}

/// A call of a Redis function, made by [`Client::fcall`] or [`Client::fcall_ro`]:
/// add keys and arguments, then await it, or add it to a batch or transaction.
#[derive(Debug)]
#[must_use = "a function call does nothing until it is awaited or added to a batch"]
pub struct FunctionCall<'a, T> {
    client: &'a Client,
    read_only: bool,
    /// The function's name, encoded.
    name: BytesMut,
    args: CallArgs,
    timeout: Option<Duration>,
    _reply: PhantomData<fn() -> T>,
}

impl<T> FunctionCall<'_, T> {
    /// Adds a key (`keys[n]` in the function).
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// use std::time::Duration;
    /// let moved: i64 = client
    ///     .fcall("transfer")
    ///     .key("account:1")
    ///     .keys(["account:2"])
    ///     .arg(10)
    ///     .args(["EUR"])
    ///     .timeout(Duration::from_millis(200))
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn key(mut self, key: impl ToArg) -> Self {
        self.args.key(key);
        self
    }

    /// Adds each item as a key (see [`FunctionCall::key`]).
    pub fn keys<A: ToArg>(mut self, keys: impl IntoIterator<Item = A>) -> Self {
        for key in keys {
            self.args.key(key);
        }
        self
    }

    /// Adds an argument (`args[n]` in the function; see [`FunctionCall::key`]).
    pub fn arg(mut self, arg: impl ToArg) -> Self {
        self.args.arg(arg);
        self
    }

    /// Adds each item as an argument (see [`FunctionCall::key`]).
    pub fn args<A: ToArg>(mut self, args: impl IntoIterator<Item = A>) -> Self {
        for arg in args {
            self.args.arg(arg);
        }
        self
    }

    /// Sets this call's timeout (the client's `command_timeout` otherwise; see
    /// [`FunctionCall::key`]).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// `FCALL[_RO] function numkeys key ... arg ...`
    pub(crate) fn command(&self) -> Command {
        let mut command = cmd(if self.read_only { "FCALL_RO" } else { "FCALL" });
        command.push_encoded(&self.name);
        self.args.append_to(&mut command);
        command
    }
}

impl<'a, T: FromValue> IntoFuture for FunctionCall<'a, T> {
    type Output = Result<T>;
    type IntoFuture = crate::request::Response<T>;

    /// Sends the call now; the future completes with its reply.
    fn into_future(self) -> Self::IntoFuture {
        let mut request = self.client.request::<T>(self.command());
        if let Some(timeout) = self.timeout {
            request = request.timeout(timeout);
        }
        request.into_future()
    }
}

impl Client {
    /// Loads a library of functions: `FUNCTION LOAD code`. Replies with the
    /// library's name. Fails if a library of that name exists; see
    /// [`Client::function_load_replace`].
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let code = "#!lua name=counters\n\
    ///             redis.register_function('bump', function(keys, args) \
    ///                 return redis.call('INCRBY', keys[1], args[1]) end)";
    /// let library: String = client.function_load(code).await?;
    /// assert_eq!(library, "counters");
    /// # Ok(()) }
    /// ```
    pub fn function_load(&self, code: impl ToArg) -> Request<'_, String> {
        self.request(cmd("FUNCTION").arg("LOAD").arg(code))
    }

    /// Loads a library of functions, replacing one of the same name:
    /// `FUNCTION LOAD REPLACE code`. Replies with the library's name.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client, code: &str) -> redmux::Result<()> {
    /// client.function_load_replace(code).await?;
    /// # Ok(()) }
    /// ```
    pub fn function_load_replace(&self, code: impl ToArg) -> Request<'_, String> {
        self.request(cmd("FUNCTION").arg("LOAD").arg("REPLACE").arg(code))
    }

    /// Deletes a library and its functions: `FUNCTION DELETE library`.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// client.function_delete("counters").await?;
    /// # Ok(()) }
    /// ```
    pub fn function_delete(&self, library: impl ToArg) -> Request<'_, ()> {
        self.request(cmd("FUNCTION").arg("DELETE").arg(library))
    }

    /// Calls a function: `FCALL function numkeys key ... arg ...`.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let n: i64 = client.fcall("bump").key("hits").arg(1).await?;
    /// # Ok(()) }
    /// ```
    pub fn fcall<T>(&self, function: impl ToArg) -> FunctionCall<'_, T> {
        self.function_call(function, false)
    }

    /// Calls a read-only function (one registered with the `no-writes` flag):
    /// `FCALL_RO function numkeys key ... arg ...`. Replicas accept it.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let n: Option<i64> = client.fcall_ro("peek").key("hits").await?;
    /// # Ok(()) }
    /// ```
    pub fn fcall_ro<T>(&self, function: impl ToArg) -> FunctionCall<'_, T> {
        self.function_call(function, true)
    }

    fn function_call<T>(&self, function: impl ToArg, read_only: bool) -> FunctionCall<'_, T> {
        let mut name = BytesMut::new();
        function.to_arg().encode(&mut name);
        FunctionCall {
            client: self,
            read_only,
            name,
            args: CallArgs::default(),
            timeout: None,
            _reply: PhantomData,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha1_matches_the_servers() {
        // `redis-cli SCRIPT LOAD "return redis.call('GET', KEYS[1])"`
        let script = Script::new("return redis.call('GET', KEYS[1])");
        assert_eq!(script.sha1(), "d3c21d0c2b9ca22f82737626a27bcaf5d288f99f");
    }

    #[test]
    fn calls_encode_as_evalsha_or_eval() {
        let script = Script::new("return 1");
        let call = script.call::<i64>().key("k").arg(7).arg("x").call;
        let sha = call.command(false).into_bytes();
        let expected = format!(
            "*6\r\n$7\r\nEVALSHA\r\n$40\r\n{}\r\n$1\r\n1\r\n$1\r\nk\r\n$1\r\n7\r\n$1\r\nx\r\n",
            script.sha1()
        );
        assert_eq!(&sha[..], expected.as_bytes());
        let eval = call.command(true).into_bytes();
        assert!(eval.starts_with(b"*6\r\n$4\r\nEVAL\r\n$8\r\nreturn 1\r\n$1\r\n1\r\n"));
    }
}
