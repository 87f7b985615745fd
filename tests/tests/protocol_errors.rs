//! Bad input from the server: a reply over the configured limit (a real server; it
//! fails its own command only, see also `reply_limits.rs`), and malformed frames no
//! real server sends (a scripted fake server, the one place one is allowed). Each
//! fails the commands it affects with a clear error; a malformed frame drops the
//! connection, and the client recovers.

use std::time::Duration;

use bytes::BytesMut;
use redmux::{Client, Config, Error, Limits, Value};
use redmux_resp::Decoder;
use redmux_testkit::RedisServer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[tokio::test]
async fn a_reply_too_large_fails_clearly_and_the_connection_stays() {
    let server = RedisServer::start().unwrap();
    let mut config = Config::from_url(&server.url()).unwrap();
    config.limits = Limits {
        max_bulk_len: 1024,
        ..Limits::default()
    };
    let client = Client::connect_with(config).await.unwrap();
    client.set("big", "x".repeat(4096)).await.unwrap();
    let err = client.get::<String>("big").await.unwrap_err();
    assert!(matches!(err, Error::ReplyTooLarge { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("reply too large") && text.contains("max_bulk_len"),
        "{text}"
    );
    // The reply was skipped, not the connection: later commands succeed on it.
    client.set("small", "ok").await.unwrap();
    let v: String = client.get("small").await.unwrap();
    assert_eq!(v, "ok");
    assert_eq!(client.stats().reconnects, 0);
}

/// Answers the handshake, then sends `garbage` in reply to the first command after it.
async fn fake_server(garbage: &'static [u8]) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut first = true;
        while let Ok((socket, _)) = listener.accept().await {
            tokio::spawn(serve(socket, if first { Some(garbage) } else { None }));
            first = false;
        }
    });
    addr
}

async fn serve(mut socket: TcpStream, mut garbage: Option<&'static [u8]>) {
    let mut decoder = Decoder::new();
    let mut buf = BytesMut::new();
    let mut handshake_done = false;
    loop {
        while let Ok(Some(Value::Array(args))) = decoder.decode(&mut buf) {
            let name = match args.first() {
                Some(Value::BulkString(b)) => b.to_ascii_uppercase(),
                _ => return,
            };
            let reply: &[u8] = if !handshake_done {
                if name == b"PING" {
                    handshake_done = true;
                    b"+PONG\r\n"
                } else {
                    b"+OK\r\n"
                }
            } else if let Some(g) = garbage.take() {
                g
            } else {
                b"$2\r\nok\r\n"
            };
            if socket.write_all(reply).await.is_err() {
                return;
            }
        }
        buf.reserve(4096);
        match socket.read_buf(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

#[tokio::test]
async fn malformed_frames_drop_the_connection_not_the_process() {
    for garbage in [
        &b"?what\r\n"[..],
        b":12abc\r\n",
        b"$5\r\nhello!!\r\n",
        b"*-7\r\n",
        b"$99999999999999999999\r\n",
    ] {
        let addr = fake_server(garbage).await;
        let client = Client::connect(&format!("redis://{addr}")).await.unwrap();
        let err = client
            .get::<Value>("k")
            .timeout(Duration::from_secs(2))
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("protocol error"),
            "{garbage:?}: {err}"
        );
        assert!(!err.status().safe_to_retry(), "it was sent: {err:?}");
        // Reconnected to the fake's well-behaved second connection.
        let v: String = client
            .get("k")
            .timeout(Duration::from_secs(2))
            .await
            .unwrap();
        assert_eq!(v, "ok");
    }
}

#[tokio::test]
async fn a_reply_nobody_asked_for_drops_the_connection() {
    // Two replies to one command: the second has no slot. Wrong answers are worse
    // than errors, so the connection goes.
    let addr = fake_server(b"$2\r\nok\r\n$5\r\nextra\r\n").await;
    let client = Client::connect(&format!("redis://{addr}")).await.unwrap();
    // Both replies may arrive in one read, in which case none can be trusted and the
    // command fails as sent; either way nothing is delivered to the wrong caller.
    let first = client.get::<String>("k").await;
    assert!(
        matches!(&first, Ok(v) if v == "ok") || matches!(&first, Err(Error::ConnectionLost { .. })),
        "{first:?}"
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while client.stats().reconnects == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "no reconnect after a surplus reply"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let v: String = client.get("k").await.unwrap();
    assert_eq!(v, "ok");
}
