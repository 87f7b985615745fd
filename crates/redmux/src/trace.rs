//! Opt-in `tracing` spans ([`crate::Config::tracing`]), named and attributed after
//! OpenTelemetry's semantic conventions for database client spans and their Redis
//! page.
//!
//! One span per awaited command on the shared connection, and one per batch or
//! transaction, each from just before it is queued until its reply (or last
//! reply) is in. Spans have level INFO and target `redmux`. Their fields:
//!
//! | field | value |
//! |---|---|
//! | `otel.name` | the span's name for OpenTelemetry (a `tracing` span's own name is static): the command (`GET`), `BATCH SET` for a batch of one command kind, `BATCH` for a mixed one, `MULTI` for a transaction |
//! | `otel.kind` | `client` |
//! | `db.system.name` | `redis` (Valkey speaks the same protocol; the conventions name no other value for it) |
//! | `db.operation.name` | as `otel.name` |
//! | `db.namespace` | the database index the client selected at connect ([`crate::Config::db`]) |
//! | `server.address`, `server.port` | the node's host and port (a Unix socket: its path, no port) |
//! | `db.operation.batch.size` | a batch's or transaction's command count (a batch of one is traced as that command) |
//! | `error.type` | set when it failed: the server's error code (`WRONGTYPE`, `ERR`, ...) or one of `timeout`, `connection_lost`, `overloaded`, `closed`, `protocol_error`, `reply_too_large`, `refused`, `invalid_argument`, `connect`, `auth`, `config`, `conversion` |
//! | `db.response.status_code` | a server error's code |
//! | `otel.status_code` | `ERROR` when it failed |
//! | `redmux.batch.errors` | a batch's failed command count (`error.type` is the first one's) |
//!
//! `db.namespace` is left out of the span name, as the Redis conventions ask.
//! Not traced: fire-and-forget commands (nothing waits for them), commands refused
//! before they are queued, and commands on a dedicated connection.
//!
//! When tracing is off, a command pays one branch on a flag it reads from the
//! configuration it already reads for its timeout: no span is made, nothing is
//! allocated.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use redmux_resp::Value;
use tracing::Span;
use tracing::field::Empty;

use crate::config::{Addr, Config};
use crate::error::{Error, Result};

/// What `db.system.name` is for every span.
const SYSTEM: &str = "redis";

/// A reply on its way, boxed: how a traced command's future is held.
pub(crate) type BoxedReply = Pin<Box<dyn Future<Output = Result<Value>> + Send>>;

/// The span of one command named `name` (its first word, as given).
fn command_span(config: &Config, name: &[u8]) -> Span {
    let name = String::from_utf8_lossy(name);
    let span = tracing::info_span!(
        target: "redmux",
        "redis command",
        otel.name = %name,
        otel.kind = "client",
        db.system.name = SYSTEM,
        db.operation.name = %name,
        db.namespace = %config.db,
        server.address = Empty,
        server.port = Empty,
        error.type = Empty,
        db.response.status_code = Empty,
        otel.status_code = Empty,
    );
    record_server(&span, config);
    span
}

/// The span of a batch (`operation` is `BATCH`, `BATCH <command>` or `MULTI`) of
/// `count` commands.
fn group_span(config: &Config, operation: &str, count: usize) -> Span {
    let span = tracing::info_span!(
        target: "redmux",
        "redis batch",
        otel.name = operation,
        otel.kind = "client",
        db.system.name = SYSTEM,
        db.operation.name = operation,
        db.namespace = %config.db,
        db.operation.batch.size = count,
        server.address = Empty,
        server.port = Empty,
        error.type = Empty,
        db.response.status_code = Empty,
        otel.status_code = Empty,
        redmux.batch.errors = Empty,
    );
    record_server(&span, config);
    span
}

fn record_server(span: &Span, config: &Config) {
    match &config.addr {
        Addr::Tcp { host, port } => {
            span.record("server.address", host.as_str());
            span.record("server.port", port);
        }
        Addr::Unix(path) => {
            span.record("server.address", tracing::field::display(path.display()));
        }
    }
}

/// Records a failure on `span`: `error.type` and, for a server error, its code.
fn record_error(span: &Span, error: &Error) {
    let kind = match error {
        Error::Server(e) => {
            let code = if e.code().is_empty() {
                "_OTHER"
            } else {
                e.code()
            };
            span.record("db.response.status_code", code);
            code
        }
        Error::Timeout(_) => "timeout",
        Error::ConnectionLost { .. } => "connection_lost",
        Error::Connect { .. } => "connect",
        Error::Auth(_) => "auth",
        Error::Overloaded(_) => "overloaded",
        Error::Protocol(_) => "protocol_error",
        Error::Config(_) => "config",
        Error::BlockingCommandRefused { .. } | Error::StateCommandRefused { .. } => "refused",
        Error::CrossSlot { .. } => "crossslot",
        Error::NoReplica { .. } => "no_replica",
        Error::ReplyTooLarge { .. } => "reply_too_large",
        Error::Conversion { .. } => "conversion",
        Error::InvalidArgument { .. } => "invalid_argument",
        Error::NotCacheable { .. } => "not_cacheable",
        Error::Closed => "closed",
    };
    span.record("error.type", kind);
    span.record("otel.status_code", "ERROR");
}

/// Sends one command inside its span and returns its reply's future, which holds
/// the span until the reply is in. `send` queues the command.
pub(crate) fn command<F>(config: &Config, name: &[u8], send: impl FnOnce() -> F) -> BoxedReply
where
    F: Future<Output = Result<Value>> + Send + 'static,
{
    let span = command_span(config, name);
    let reply = span.in_scope(send);
    Box::pin(Traced {
        reply,
        span: Some(span),
    })
}

pin_project_lite::pin_project! {
    /// A reply's future with its command's span: entered while polled, closed
    /// (after its outcome is recorded) as soon as the reply is in, not when the
    /// caller drops the future.
    struct Traced<F> {
        #[pin]
        reply: F,
        span: Option<Span>,
    }
}

impl<F: Future<Output = Result<Value>>> Future for Traced<F> {
    type Output = Result<Value>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<Value>> {
        let this = self.project();
        let outcome = {
            let _entered = this.span.as_ref().map(Span::enter);
            ready!(this.reply.poll(cx))
        };
        if let (Some(span), Err(e)) = (this.span.take(), &outcome) {
            record_error(&span, e);
        }
        Poll::Ready(outcome)
    }
}

/// The span of a batch about to be sent, when tracing is on: `names` are its
/// commands' names (`None` for one whose name is not known). A batch of one
/// command is traced as that command, as the conventions ask.
pub(crate) fn batch<'a>(
    config: &Config,
    names: impl ExactSizeIterator<Item = Option<&'a [u8]>>,
) -> Option<Span> {
    if !config.tracing {
        return None;
    }
    let count = names.len();
    let mut common: Option<Option<&[u8]>> = None;
    for name in names {
        common = match common {
            None => Some(name),
            Some(seen) if seen.is_some() && seen == name => Some(seen),
            Some(_) => Some(None),
        };
    }
    let common = common.flatten();
    if count == 1 {
        return Some(command_span(config, common.unwrap_or(b"BATCH")));
    }
    let operation = match common {
        Some(name) => format!("BATCH {}", String::from_utf8_lossy(name)),
        None => "BATCH".to_string(),
    };
    Some(group_span(config, &operation, count))
}

/// The span of a transaction of `count` commands about to be sent, when tracing
/// is on.
pub(crate) fn transaction(config: &Config, count: usize) -> Option<Span> {
    config.tracing.then(|| group_span(config, "MULTI", count))
}

/// Records a batch's outcome: how many of its commands failed, and the first
/// failure's type.
pub(crate) fn record_batch<'a>(span: &Span, replies: impl Iterator<Item = &'a Result<Value>>) {
    let mut failed = 0u64;
    for reply in replies {
        if let Err(e) = reply {
            if failed == 0 {
                record_error(span, e);
            }
            failed += 1;
        }
    }
    if failed > 0 {
        span.record("redmux.batch.errors", failed);
    }
}

/// Records a failure of a transaction or other traced group.
pub(crate) fn record_failure(span: &Span, error: &Error) {
    record_error(span, error);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracing_does_not_grow_the_future_of_a_command() {
        // A traced reply rides in the variant a dedicated connection's already
        // used: every awaited command's future stays the size it was before
        // tracing (104 bytes on 64-bit targets).
        assert!(std::mem::size_of::<crate::Response<Value>>() <= 104);
        assert!(std::mem::size_of::<crate::Response<Option<String>>>() <= 104);
    }
}
