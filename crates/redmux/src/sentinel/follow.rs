//! Following `+switch-master`: one connection to one sentinel, subscribed, for as
//! long as the client lives; on to the next sentinel when it breaks.

use std::sync::Weak;
use std::time::Duration;

use redmux_resp::Value;

use super::ask::{self, parse_switch};
use super::locate::Sentinels;
use crate::command::cmd;
use crate::connection::{self, Connection};

/// How often a quiet subscription checks whether the client is gone, and the
/// pause before trying the sentinels again when none answers.
const CHECK: Duration = Duration::from_secs(1);

/// Runs until the client's connections are all gone (`state` cannot be upgraded).
pub(super) async fn run(state: Weak<Sentinels>) {
    loop {
        let Some(conn) = subscribe(&state).await else {
            if state.strong_count() == 0 {
                return;
            }
            tokio::time::sleep(CHECK).await;
            continue;
        };
        if !listen(&state, conn).await {
            return;
        }
    }
}

/// A connection to the first sentinel that takes `SUBSCRIBE +switch-master`.
async fn subscribe(state: &Weak<Sentinels>) -> Option<Connection> {
    let known = state.upgrade()?.known.lock().clone();
    for (host, port) in known {
        let config = state.upgrade()?.dial_config(&host, port);
        let Ok(mut conn) = connection::connect(&config).await else {
            continue;
        };
        let subscribe = cmd("SUBSCRIBE").arg("+switch-master").into_bytes();
        if conn.writer.write_all(&subscribe).await.is_ok()
            && matches!(
                tokio::time::timeout(config.connect_timeout, ask::read(&mut conn, &config)).await,
                Ok(Ok(_))
            )
        {
            tracing::debug!(sentinel = %config.addr, "following +switch-master");
            return Some(conn);
        }
    }
    None
}

/// Reads messages until the connection breaks (`true`: subscribe again) or the
/// client is gone (`false`).
async fn listen(state: &Weak<Sentinels>, mut conn: Connection) -> bool {
    loop {
        let Some(current) = state.upgrade() else {
            return false;
        };
        let config = current.base.clone();
        drop(current);
        let message = match tokio::time::timeout(CHECK, ask::read(&mut conn, &config)).await {
            Err(_) => continue,
            Ok(Err(_)) => return true,
            Ok(Ok(message)) => message,
        };
        let Value::Array(parts) = message else {
            continue;
        };
        let payload = match parts.get(2) {
            Some(Value::BulkString(b)) => String::from_utf8_lossy(b).into_owned(),
            _ => continue,
        };
        let Some(current) = state.upgrade() else {
            return false;
        };
        if let Some(primary) = parse_switch(&payload, &current.service) {
            tracing::info!(%primary, "+switch-master");
            current.switched.send_replace(Some(primary));
        }
    }
}
