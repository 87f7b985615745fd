//! The handshake, in one write and one round trip: `HELLO 3 [AUTH]` or `AUTH`,
//! `SELECT`, `CLIENT SETNAME`, `CLIENT SETINFO` (errors ignored: Redis < 7.2 lacks
//! it), and `PING`, so that a server that wants a password we did not give fails at
//! connect, not on the first command.

use bytes::BytesMut;
use redmux_resp::{CommandBuf, ToArg, Value};

use super::read::{FrameReader, ReadError};
use super::transport::WriteHalf;
use crate::config::{Config, Protocol};
use crate::error::{Error, ServerError};

/// What each handshake reply answers, so its error can be reported for what it is.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Step {
    Hello,
    Auth,
    Select,
    SetName,
    /// `CLIENT SETINFO`: older servers lack it, and that is fine.
    Optional,
    /// `HELLO` with no arguments on RESP2: it reports the server (its `mode`)
    /// without switching protocol; servers before 6.0 lack it.
    Describe,
    /// `CLIENT TRACKING ON ...`, for a client-side cache.
    Tracking,
    Ping,
    /// `ROLE`, on a server the sentinels named: it must say `master`.
    Role,
    /// `READONLY`, on a cluster replica the cluster layer reads from.
    ReadOnly,
}

/// What kind of server answered the handshake, from `HELLO`'s `mode` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum ServerMode {
    /// A standalone server (or one too old to say).
    #[default]
    Standalone,
    /// A node of a cluster.
    Cluster,
    /// A sentinel.
    Sentinel,
}

impl ServerMode {
    /// Reads `mode` from a `HELLO` reply.
    fn of_hello(reply: &Value) -> ServerMode {
        match hello_field(reply, b"mode").as_deref() {
            Some(m) if m.eq_ignore_ascii_case(b"cluster") => ServerMode::Cluster,
            Some(m) if m.eq_ignore_ascii_case(b"sentinel") => ServerMode::Sentinel,
            _ => ServerMode::Standalone,
        }
    }
}

/// What the server said of itself in its `HELLO` reply.
#[derive(Debug, Clone, Default)]
pub(crate) struct Hello {
    pub(crate) mode: ServerMode,
    /// The server's `availability_zone` (Valkey 8 and later, when configured):
    /// replica reads prefer nodes in the client's own zone
    /// (`Config::availability_zone`). `None` from servers that report none.
    pub(crate) zone: Option<std::sync::Arc<str>>,
}

impl Hello {
    fn of(reply: &Value) -> Hello {
        let zone = hello_field(reply, b"availability_zone")
            .filter(|z| !z.is_empty())
            .map(|z| String::from_utf8_lossy(&z).into());
        Hello {
            mode: ServerMode::of_hello(reply),
            zone,
        }
    }
}

/// The text of field `name` in a `HELLO` reply: a RESP3 map or a RESP2 flat array.
fn hello_field(reply: &Value, name: &[u8]) -> Option<bytes::Bytes> {
    let text = |v: &Value| match v {
        Value::BulkString(b) | Value::SimpleString(b) => Some(b.clone()),
        _ => None,
    };
    let is_name = |k: &Value| text(k).is_some_and(|k| k.eq_ignore_ascii_case(name));
    match reply {
        Value::Map(pairs) => pairs
            .iter()
            .find(|(k, _)| is_name(k))
            .and_then(|(_, v)| text(v)),
        Value::Array(items) => items
            .chunks_exact(2)
            .find(|p| is_name(&p[0]))
            .and_then(|p| text(&p[1])),
        _ => None,
    }
}

/// Whether a `ROLE` reply says `master`.
fn is_primary(reply: &Value) -> bool {
    let first = match reply {
        Value::Array(items) => items.first(),
        _ => None,
    };
    matches!(first, Some(Value::BulkString(b) | Value::SimpleString(b)) if b.eq_ignore_ascii_case(b"master"))
}

/// Sends every handshake command in one write and checks every reply: one round trip.
pub(super) async fn run(
    reader: &mut FrameReader,
    writer: &WriteHalf,
    config: &Config,
) -> Result<Hello, Error> {
    let mut hello = Hello::default();
    let mut out = BytesMut::with_capacity(256);
    let mut steps = Vec::with_capacity(6);
    let mut push = |out: &mut BytesMut, step: Step, args: &[&dyn ToArg]| {
        let mut cmd = CommandBuf::new(args[0]);
        for a in &args[1..] {
            cmd.arg(*a);
        }
        out.extend_from_slice(&cmd.finish());
        steps.push(step);
    };
    // Asked at every connect: a rotated token is picked up by the next reconnect.
    let credentials = crate::credentials::current(config).await?;
    // A client-side cache needs RESP3: its invalidations are push frames.
    let protocol = match config.client_cache {
        Some(_) => Protocol::Resp3,
        None => config.protocol,
    };
    match (protocol, &credentials) {
        (Protocol::Resp3, Some(c)) => {
            let user = c.username.as_deref().unwrap_or("default");
            push(
                &mut out,
                Step::Hello,
                &[&"HELLO", &"3", &"AUTH", &user, &c.password],
            )
        }
        (Protocol::Resp3, None) => push(&mut out, Step::Hello, &[&"HELLO", &"3"]),
        (Protocol::Resp2, Some(c)) => match &c.username {
            Some(user) => push(&mut out, Step::Auth, &[&"AUTH", user, &c.password]),
            None => push(&mut out, Step::Auth, &[&"AUTH", &c.password]),
        },
        (Protocol::Resp2, None) => {}
    }
    if config.db != 0 {
        push(&mut out, Step::Select, &[&"SELECT", &config.db]);
    }
    if let Some(name) = &config.client_name {
        push(&mut out, Step::SetName, &[&"CLIENT", &"SETNAME", name]);
    }
    push(
        &mut out,
        Step::Optional,
        &[&"CLIENT", &"SETINFO", &"LIB-NAME", &"redmux"],
    );
    push(
        &mut out,
        Step::Optional,
        &[
            &"CLIENT",
            &"SETINFO",
            &"LIB-VER",
            &env!("CARGO_PKG_VERSION"),
        ],
    );
    if protocol == Protocol::Resp2 {
        push(&mut out, Step::Describe, &[&"HELLO"]);
    }
    if config.read_only {
        // Replays on every reconnect: a replica connection without it would
        // answer every read with MOVED to the primary.
        push(&mut out, Step::ReadOnly, &[&"READONLY"]);
    }
    if let Some(cache) = &config.client_cache {
        let words = cache.tracking_command();
        let args: Vec<&dyn ToArg> = words.iter().map(|w| w as &dyn ToArg).collect();
        push(&mut out, Step::Tracking, &args);
    }
    push(&mut out, Step::Ping, &[&"PING"]);
    if config.sentinel.is_some() {
        // The sentinels may name a node that has just been demoted, or not yet
        // promoted: refuse it, and the reconnect loop asks them again.
        push(&mut out, Step::Role, &[&"ROLE"]);
    }

    let io_error = |e: std::io::Error| Error::Connect {
        addr: config.addr.to_string(),
        reason: match e.kind() {
            // What a TLS port does with a plaintext hello.
            std::io::ErrorKind::ConnectionReset if config.tls.is_none() => {
                format!("handshake failed: {e}; if this is a TLS port, connect with rediss://")
                    .into()
            }
            _ => format!("handshake failed: {e}").into(),
        },
    };
    writer.write_all(&out).await.map_err(io_error)?;

    for step in steps {
        // Pushes before the replies (none in practice) say nothing about them.
        let reply = reader.next_reply(drop).await.map_err(|e| match e {
            ReadError::Io(e) => io_error(e),
            ReadError::Closed => Error::Connect {
                addr: config.addr.to_string(),
                reason: "the server closed the connection during the handshake (is it a Redis server? does it accept this client?)".into(),
            },
            ReadError::Decode(e) => Error::protocol(format!("during the handshake: {e}")),
        })?;
        let reply = reply.map_err(|t| {
            Error::protocol(format!(
                "during the handshake: a reply of {} exceeds the limit of {} (Config::limits)",
                t.len, t.limit
            ))
        })?;
        let Some(line) = reply.as_error() else {
            if matches!(step, Step::Hello | Step::Describe) {
                hello = Hello::of(&reply);
            }
            if step == Step::Role && !is_primary(&reply) {
                return Err(Error::Connect {
                    addr: config.addr.to_string(),
                    reason: "the sentinels named this node, but its ROLE is not master (a failover in progress); asking them again".into(),
                });
            }
            continue;
        };
        let error = ServerError::parse(line);
        match step {
            Step::Optional | Step::Describe => {}
            Step::Auth => return Err(Error::Auth(error)),
            // NOAUTH: the server wants a password and HELLO brought none.
            Step::Hello if matches!(error.code(), "WRONGPASS" | "NOPERM" | "NOAUTH") => {
                return Err(Error::Auth(error));
            }
            Step::Hello => {
                return Err(Error::Connect {
                    addr: config.addr.to_string(),
                    reason: format!(
                        "the server refused RESP3 (HELLO 3: {error}); connect with protocol=resp2"
                    )
                    .into(),
                });
            }
            Step::Ping if error.code() == "NOAUTH" => {
                return Err(Error::Auth(error));
            }
            Step::Tracking => {
                return Err(Error::Connect {
                    addr: config.addr.to_string(),
                    reason: format!(
                        "the server refused client-side caching (CLIENT TRACKING: {error}); \
                         a cache that is never told of changes would serve stale data, so the \
                         client does not connect: unset Config::client_cache, or allow CLIENT TRACKING"
                    )
                    .into(),
                });
            }
            Step::Select | Step::SetName | Step::ReadOnly | Step::Ping | Step::Role => {
                return Err(Error::Connect {
                    addr: config.addr.to_string(),
                    reason: format!("handshake failed at {step:?}: {error}").into(),
                });
            }
        }
    }
    tracing::debug!(addr = %config.addr, protocol = ?config.protocol, db = config.db, mode = ?hello.mode, zone = ?hello.zone, "connected");
    Ok(hello)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Value {
        Value::BulkString(bytes::Bytes::copy_from_slice(s.as_bytes()))
    }

    #[test]
    fn hello_gives_the_mode_and_the_zone_in_either_protocol() {
        let resp3 = Value::Map(vec![
            (text("server"), text("valkey")),
            (text("mode"), text("cluster")),
            (text("availability_zone"), text("az-b")),
        ]);
        let hello = Hello::of(&resp3);
        assert_eq!(hello.mode, ServerMode::Cluster);
        assert_eq!(hello.zone.as_deref(), Some("az-b"));

        let resp2 = Value::Array(vec![
            text("mode"),
            text("standalone"),
            text("availability_zone"),
            text("az-c"),
        ]);
        let hello = Hello::of(&resp2);
        assert_eq!(hello.mode, ServerMode::Standalone);
        assert_eq!(hello.zone.as_deref(), Some("az-c"));
    }

    #[test]
    fn no_zone_or_an_empty_one_is_none() {
        let redis = Value::Map(vec![(text("mode"), text("sentinel"))]);
        assert_eq!(Hello::of(&redis).mode, ServerMode::Sentinel);
        assert_eq!(Hello::of(&redis).zone, None);
        let unset = Value::Map(vec![(text("availability_zone"), text(""))]);
        assert_eq!(Hello::of(&unset).zone, None);
        assert_eq!(Hello::of(&Value::Integer(1)).mode, ServerMode::Standalone);
    }
}
