//! One question to one sentinel, in one round trip: `SENTINEL
//! GET-MASTER-ADDR-BY-NAME` (where is the primary) and `SENTINEL SENTINELS` (who
//! else watches it, to keep the list fresh).

use bytes::BytesMut;
use redmux_resp::Value;

use crate::command::cmd;
use crate::config::{Addr, Config};
use crate::connection::{self, Connection};
use crate::error::{Error, Result};

/// What one sentinel said.
pub(super) struct Answer {
    /// The primary it names; `None` when it does not know the service.
    pub(super) primary: Option<Addr>,
    /// The other sentinels it knows for the service.
    pub(super) peers: Vec<(String, u16)>,
}

/// Asks the sentinel `config.addr` about `service`, within `config.connect_timeout`.
pub(super) async fn ask(config: &Config, service: &str) -> Result<Answer> {
    let question = async {
        let mut conn = connection::connect(config).await?;
        let mut out = BytesMut::new();
        out.extend_from_slice(
            &cmd("SENTINEL")
                .arg("GET-MASTER-ADDR-BY-NAME")
                .arg(service)
                .into_bytes(),
        );
        out.extend_from_slice(&cmd("SENTINEL").arg("SENTINELS").arg(service).into_bytes());
        let lost = |e: std::io::Error| Error::Connect {
            addr: config.addr.to_string(),
            reason: format!("asking the sentinel: {e}").into(),
        };
        conn.writer.write_all(&out).await.map_err(lost)?;
        let primary = read(&mut conn, config).await?;
        let peers = read(&mut conn, config).await?;
        Ok(Answer {
            primary: parse_addr(&primary),
            peers: parse_peers(&peers),
        })
    };
    match tokio::time::timeout(config.connect_timeout, question).await {
        Ok(answer) => answer,
        Err(_) => Err(Error::Connect {
            addr: config.addr.to_string(),
            reason: format!(
                "the sentinel did not answer within {:?}",
                config.connect_timeout
            )
            .into(),
        }),
    }
}

/// Asks the sentinel `config.addr` which replicas of `service` are up: `SENTINEL
/// REPLICAS`, less those it flags down or disconnected.
pub(super) async fn replicas(config: &Config, service: &str) -> Result<Vec<Addr>> {
    let question = async {
        let mut conn = connection::connect(config).await?;
        let out = cmd("SENTINEL").arg("REPLICAS").arg(service).into_bytes();
        conn.writer
            .write_all(&out)
            .await
            .map_err(|e| Error::Connect {
                addr: config.addr.to_string(),
                reason: format!("asking the sentinel: {e}").into(),
            })?;
        let reply = read(&mut conn, config).await?;
        match reply {
            Value::Error(e) => Err(Error::Connect {
                addr: config.addr.to_string(),
                reason: format!("SENTINEL REPLICAS: {}", String::from_utf8_lossy(&e)).into(),
            }),
            reply => Ok(parse_replicas(&reply)),
        }
    };
    match tokio::time::timeout(config.connect_timeout, question).await {
        Ok(answer) => answer,
        Err(_) => Err(Error::Connect {
            addr: config.addr.to_string(),
            reason: format!(
                "the sentinel did not answer within {:?}",
                config.connect_timeout
            )
            .into(),
        }),
    }
}

/// The next reply on a sentinel connection.
pub(super) async fn read(conn: &mut Connection, config: &Config) -> Result<Value> {
    match conn.reader.next_reply(drop).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(too_large)) => Err(Error::protocol(format!(
            "a sentinel's reply of {} bytes exceeds the limit of {}",
            too_large.len, too_large.limit
        ))),
        Err(e) => Err(Error::Connect {
            addr: config.addr.to_string(),
            reason: e.reason(),
        }),
    }
}

fn text(value: &Value) -> Option<&str> {
    match value {
        Value::BulkString(b) | Value::SimpleString(b) => std::str::from_utf8(b).ok(),
        _ => None,
    }
}

/// `[ip, port]` as an address; nil (an unknown service) or anything else is `None`.
fn parse_addr(reply: &Value) -> Option<Addr> {
    let Value::Array(pair) = reply else {
        return None;
    };
    let host = text(pair.first()?)?.to_string();
    let port = text(pair.get(1)?)?.parse().ok()?;
    Some(Addr::Tcp { host, port })
}

/// `SENTINEL SENTINELS`: one flat field/value array (a map in RESP3) per sentinel.
fn parse_peers(reply: &Value) -> Vec<(String, u16)> {
    instances(reply)
        .filter_map(|i| Some((i.field("ip")?.to_string(), i.field("port")?.parse().ok()?)))
        .collect()
}

/// `SENTINEL REPLICAS`: the replicas not flagged `s_down`, `o_down` or
/// `disconnected`. Their `master-link-status` is not looked at: the sentinel
/// refreshes it only every 10 s, and a fresh replica reads `err` meanwhile
/// (redis-py filters on the flags alone too).
fn parse_replicas(reply: &Value) -> Vec<Addr> {
    instances(reply)
        .filter(|i| {
            let flags = i.field("flags").unwrap_or_default();
            !flags
                .split(',')
                .any(|f| matches!(f, "s_down" | "o_down" | "disconnected"))
        })
        .filter_map(|i| {
            Some(Addr::Tcp {
                host: i.field("ip")?.to_string(),
                port: i.field("port")?.parse().ok()?,
            })
        })
        .collect()
}

/// One instance of a `SENTINEL SENTINELS` / `REPLICAS` reply: its fields and values.
struct Instance<'a>(Vec<(&'a Value, &'a Value)>);

impl<'a> Instance<'a> {
    fn field(&self, name: &str) -> Option<&'a str> {
        self.0
            .iter()
            .find(|(k, _)| text(k) == Some(name))
            .and_then(|(_, v)| text(v))
    }
}

/// Each instance of a reply: a flat field/value array, or a map in RESP3.
fn instances(reply: &Value) -> impl Iterator<Item = Instance<'_>> {
    let entries = match reply {
        Value::Array(entries) => entries.as_slice(),
        _ => &[],
    };
    entries.iter().filter_map(|entry| match entry {
        Value::Array(items) => Some(Instance(
            items.chunks_exact(2).map(|p| (&p[0], &p[1])).collect(),
        )),
        Value::Map(pairs) => Some(Instance(pairs.iter().map(|(k, v)| (k, v)).collect())),
        _ => None,
    })
}

/// `+switch-master`'s payload, `name old-ip old-port new-ip new-port`: the new
/// primary, when `name` is `service`.
pub(super) fn parse_switch(payload: &str, service: &str) -> Option<Addr> {
    let mut words = payload.split_whitespace();
    if words.next()? != service {
        return None;
    }
    let mut words = words.skip(2);
    let host = words.next()?.to_string();
    let port = words.next()?.parse().ok()?;
    Some(Addr::Tcp { host, port })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn bulk(s: &str) -> Value {
        Value::BulkString(Bytes::copy_from_slice(s.as_bytes()))
    }

    #[test]
    fn replies_are_read() {
        let pair = Value::Array(vec![bulk("10.0.0.2"), bulk("6380")]);
        assert_eq!(
            parse_addr(&pair),
            Some(Addr::Tcp {
                host: "10.0.0.2".into(),
                port: 6380
            })
        );
        assert_eq!(parse_addr(&Value::Nil), None);
        assert_eq!(parse_addr(&Value::Array(vec![bulk("h"), bulk("x")])), None);
        let peers = Value::Array(vec![
            Value::Array(vec![
                bulk("name"),
                bulk("a"),
                bulk("ip"),
                bulk("1.2.3.4"),
                bulk("port"),
                bulk("26380"),
            ]),
            Value::Array(vec![bulk("ip")]),
        ]);
        assert_eq!(parse_peers(&peers), vec![("1.2.3.4".to_string(), 26380)]);
        assert_eq!(
            parse_switch("mymaster 127.0.0.1 6379 127.0.0.1 6380", "mymaster"),
            Some(Addr::Tcp {
                host: "127.0.0.1".into(),
                port: 6380
            })
        );
        assert_eq!(parse_switch("other 1 2 3 4", "mymaster"), None);
        assert_eq!(parse_switch("mymaster 1 2", "mymaster"), None);
    }
}
