//! Connecting: URLs, the handshake (AUTH, SELECT, SETNAME, RESP3), Unix sockets, and
//! clear errors for a wrong password, an unreachable port and a malformed URL.

use std::time::{Duration, Instant};

use redmux::{Client, Config, Error, Value, cmd};
use redmux_testkit::RedisServer;
use redmux_tests::wait_for_state;

#[tokio::test]
async fn url_options_reach_the_server() {
    let server = RedisServer::start().unwrap();
    let url = format!("{}/3?client_name=web-1", server.url());
    let client = Client::connect(&url).await.unwrap();
    let name: Option<String> = client.command(cmd("CLIENT").arg("GETNAME")).await.unwrap();
    assert_eq!(name.as_deref(), Some("web-1"));
    client.set("in-db-3", "yes").await.unwrap();
    let db0 = Client::connect(&server.url()).await.unwrap();
    assert_eq!(db0.get::<Option<String>>("in-db-3").await.unwrap(), None);
    let info: String = client.command(cmd("CLIENT").arg("INFO")).await.unwrap();
    assert!(info.contains("db=3"), "{info}");
}

#[tokio::test]
async fn resp3_handshake_and_replies() {
    let server = RedisServer::start().unwrap();
    let client = Client::connect(&format!("{}?protocol=resp3", server.url()))
        .await
        .unwrap();
    client
        .command::<i64>(cmd("HSET").arg("h").arg("f").arg("1"))
        .await
        .unwrap();
    let raw: Value = client.command(cmd("HGETALL").arg("h")).await.unwrap();
    assert!(
        matches!(raw, Value::Map(_)),
        "RESP3 replies with a map: {raw:?}"
    );
    let as_map: std::collections::HashMap<String, i64> =
        client.command(cmd("HGETALL").arg("h")).await.unwrap();
    assert_eq!(as_map["f"], 1);
    let hello: Value = client.command(cmd("HELLO")).await.unwrap();
    assert!(format!("{hello:?}").contains("proto"), "{hello:?}");
}

#[tokio::test]
async fn password_and_acl_user() {
    let server = RedisServer::builder()
        .password("s3cret")
        .acl_user("alice", "wonder")
        .start()
        .unwrap();
    let addr = server.addr();
    let ok = Client::connect(&format!("redis://:s3cret@{addr}"))
        .await
        .unwrap();
    ok.set("k", "v").await.unwrap();
    let alice = Client::connect(&format!("redis://alice:wonder@{addr}?protocol=resp3"))
        .await
        .unwrap();
    let who: String = alice.command(cmd("ACL").arg("WHOAMI")).await.unwrap();
    assert_eq!(who, "alice");

    let started = Instant::now();
    let wrong = Client::connect(&format!("redis://:nope@{addr}"))
        .await
        .unwrap_err();
    assert!(matches!(wrong, Error::Auth(_)), "{wrong:?}");
    assert!(
        wrong.to_string().contains("authentication failed"),
        "{wrong}"
    );
    let missing = Client::connect(&format!("redis://{addr}"))
        .await
        .unwrap_err();
    assert!(
        matches!(missing, Error::Auth(ref e) if e.code() == "NOAUTH"),
        "{missing:?}"
    );
    let wrong3 = Client::connect(&format!("redis://alice:nope@{addr}?protocol=resp3"))
        .await
        .unwrap_err();
    assert!(matches!(wrong3, Error::Auth(_)), "{wrong3:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn unix_socket() {
    let server = RedisServer::builder().unix_socket(true).start().unwrap();
    let path = server.unix_socket().unwrap();
    let client = Client::connect(&format!("redis+unix://{}?db=2", path.display()))
        .await
        .unwrap();
    client.set("over", "unix").await.unwrap();
    let v: String = client.get("over").await.unwrap();
    assert_eq!(v, "unix");
    let client = Client::connect(&format!("unix://{}", path.display()))
        .await
        .unwrap();
    assert_eq!(
        client.get::<Option<String>>("over").await.unwrap(),
        None,
        "db 0, not 2"
    );
}

#[tokio::test]
async fn unreachable_port_fails_within_the_connect_timeout() {
    // A port bound but not listening: a connection is refused. Holding it, rather
    // than taking a port that was free a moment ago, keeps another test's server
    // from getting it meanwhile.
    let reserved = tokio::net::TcpSocket::new_v4().unwrap();
    reserved.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let port = reserved.local_addr().unwrap().port();
    let mut config = Config::from_url(&format!("redis://127.0.0.1:{port}")).unwrap();
    config.connect_timeout = Duration::from_secs(2);
    let started = Instant::now();
    let err = Client::connect_with(config).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(matches!(err, Error::Connect { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains(&port.to_string()) && text.contains("refused"),
        "{text}"
    );
}

#[tokio::test]
async fn silent_server_hits_the_connect_timeout() {
    // Accepts and never answers: the handshake must give up at the connect timeout.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            held.push(s);
        }
    });
    let mut config = Config::from_url(&format!("redis://{addr}")).unwrap();
    config.connect_timeout = Duration::from_millis(300);
    let started = Instant::now();
    let err = Client::connect_with(config).await.unwrap_err();
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(300) && elapsed < Duration::from_secs(2),
        "{elapsed:?}"
    );
    assert!(err.to_string().contains("connect_timeout"), "{err}");
    hold.abort();
}

#[tokio::test]
async fn malformed_urls_name_their_bad_part() {
    for (url, part) in [
        ("redis://localhost:notaport", "port \"notaport\""),
        ("redis://localhost/db9x", "database \"db9x\""),
        ("mysql://localhost", "scheme \"mysql\""),
        ("localhost:6379", "no scheme"),
        ("redis://localhost?protocol=resp4", "protocol \"resp4\""),
        ("redis://:pa%zzss@localhost", "percent-encoding"),
    ] {
        let err = Client::connect(url).await.unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{url}: {err:?}");
        assert!(err.to_string().contains(part), "{url}: {err}");
    }
}

#[tokio::test]
async fn zero_command_timeout_or_heartbeat_is_refused_at_connect() {
    // Zero would time out every command before it is sent, or PING without pause:
    // a clear error beats a client that burns a core doing nothing useful.
    let server = RedisServer::start().unwrap();
    type Set = fn(&mut Config);
    let cases: [(&str, Set); 2] = [
        ("command_timeout", |c| c.command_timeout = Duration::ZERO),
        ("heartbeat_interval", |c| {
            c.heartbeat_interval = Duration::ZERO
        }),
    ];
    for (field, set) in cases {
        let mut config = Config::from_url(&server.url()).unwrap();
        set(&mut config);
        let err = Client::connect_with(config).await.unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{field}: {err:?}");
        assert!(err.to_string().contains(field), "{err}");
    }
}

#[tokio::test]
async fn a_server_without_hello_refuses_resp3_clearly_and_serves_resp2() {
    // HELLO renamed away: as on servers older than 6, or behind a proxy without it.
    let server = RedisServer::builder()
        .arg("--rename-command")
        .arg("HELLO")
        .arg("")
        .start()
        .unwrap();
    let started = Instant::now();
    let err = Client::connect(&format!("{}?protocol=resp3", server.url()))
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(matches!(err, Error::Connect { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("refused RESP3") && text.contains("protocol=resp2"),
        "{text}"
    );

    let client = Client::connect(&format!("{}?protocol=resp2&client_name=old", server.url()))
        .await
        .unwrap();
    client.set("k", "v").await.unwrap();
    assert_eq!(client.get::<String>("k").await.unwrap(), "v");
    let name: String = client.command(cmd("CLIENT").arg("GETNAME")).await.unwrap();
    assert_eq!(name, "old");
    // The default protocol is RESP2, so a plain URL works too.
    let plain = Client::connect(&server.url()).await.unwrap();
    assert_eq!(plain.get::<String>("k").await.unwrap(), "v");
}

#[tokio::test]
async fn resp2_auth_with_an_acl_user() {
    let server = RedisServer::builder()
        .password("s3cret")
        .acl_user("alice", "wonder")
        .start()
        .unwrap();
    let addr = server.addr();
    for url in [
        format!("redis://alice:wonder@{addr}"),
        format!("redis://alice:wonder@{addr}/2?protocol=resp2"),
    ] {
        let alice = Client::connect(&url).await.unwrap();
        let who: String = alice.command(cmd("ACL").arg("WHOAMI")).await.unwrap();
        assert_eq!(who, "alice", "{url}");
        let info: String = alice.command(cmd("CLIENT").arg("INFO")).await.unwrap();
        assert!(info.contains("resp=2"), "{url}: {info}");
        alice.set("k", "v").await.unwrap();
    }
    let started = Instant::now();
    let wrong = Client::connect(&format!("redis://alice:nope@{addr}?protocol=resp2"))
        .await
        .unwrap_err();
    assert!(
        matches!(wrong, Error::Auth(ref e) if e.code() == "WRONGPASS"),
        "{wrong:?}"
    );
    assert!(
        wrong.to_string().contains("authentication failed"),
        "{wrong}"
    );
    let nobody = Client::connect(&format!("redis://bob:wonder@{addr}"))
        .await
        .unwrap_err();
    assert!(matches!(nobody, Error::Auth(_)), "{nobody:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

/// The handshake sends CLIENT SETINFO (lib-name, lib-ver) in the same write as
/// everything else. Servers before 7.2 do not have it: their errors must be
/// skipped without failing the connect or putting later replies out of step.
#[tokio::test]
async fn client_setinfo_where_the_server_has_it_and_no_failure_where_not() {
    let server = RedisServer::start().unwrap();
    let probe = Client::connect(&server.url()).await.unwrap();
    let has_setinfo = probe
        .command::<()>(cmd("CLIENT").args(["SETINFO", "LIB-NAME", "probe"]))
        .await
        .is_ok();
    for protocol in ["resp2", "resp3"] {
        let url = format!("{}/4?protocol={protocol}&client_name=app", server.url());
        let client = Client::connect(&url).await.unwrap();
        // The steps around SETINFO took effect, and replies are in step.
        let name: String = client.command(cmd("CLIENT").arg("GETNAME")).await.unwrap();
        assert_eq!(name, "app", "{protocol}");
        let info: String = client.command(cmd("CLIENT").arg("INFO")).await.unwrap();
        assert!(info.contains("db=4"), "{protocol}: {info}");
        assert_eq!(
            client
                .command::<String>(cmd("ECHO").arg("x"))
                .await
                .unwrap(),
            "x"
        );
        if has_setinfo {
            assert!(info.contains("lib-name=redmux"), "{protocol}: {info}");
            // This crate and redmux share the workspace's version.
            let version = format!("lib-ver={}", env!("CARGO_PKG_VERSION"));
            assert!(info.contains(&version), "{protocol}: {info}");
        } else {
            // Redis 7.0 and older: nothing to set, and nothing broke.
            assert!(!info.contains("lib-name=redmux"), "{protocol}: {info}");
        }
    }
}

/// `connect_lazy` starts while the server is down: the client is `Connecting`,
/// commands wait in the backlog in order, and go out once the server comes up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_lazy_starts_before_the_server_and_delivers_the_backlog() {
    use redmux::ConnectionState;
    let server = std::sync::Arc::new(RedisServer::start().unwrap());
    server.kill();
    let client = Client::connect_lazy(Config::from_url(&server.url()).unwrap()).unwrap();
    assert_eq!(client.state(), ConnectionState::Connecting);
    let mut awaited = Vec::new();
    for i in 0..100 {
        if i % 2 == 0 {
            client.rpush("order", i).fire_and_forget().unwrap();
        } else {
            awaited.push(std::future::IntoFuture::into_future(
                client.rpush("order", i),
            ));
        }
    }
    let stats = client.stats();
    assert_eq!(stats.backlog, 100, "{stats:?}");
    // Still connecting after a while: nothing is lost or refused meanwhile.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(client.state(), ConnectionState::Connecting);
    let restarted = server.clone();
    tokio::task::spawn_blocking(move || restarted.restart().unwrap())
        .await
        .unwrap();
    wait_for_state(&client, ConnectionState::Connected, Duration::from_secs(5)).await;
    for (n, r) in futures::future::join_all(awaited)
        .await
        .into_iter()
        .enumerate()
    {
        assert_eq!(r.unwrap(), 2 * n as u64 + 2);
    }
    let order: Vec<i64> = client.lrange("order", 0, -1).await.unwrap();
    assert_eq!(order, (0..100).collect::<Vec<_>>());
    assert_eq!(client.stats().reconnects, 0);
}

/// A lazily connecting client with the wrong password fails its backlog and later
/// commands with the authentication error, not a timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_lazy_with_a_wrong_password_fails_commands_with_the_auth_error() {
    let server = RedisServer::builder().password("right").start().unwrap();
    let url = format!("redis://:wrong@127.0.0.1:{}/", server.port());
    let client = Client::connect_lazy(Config::from_url(&url).unwrap()).unwrap();
    let started = Instant::now();
    let e = client.get::<Option<String>>("k").await.unwrap_err();
    assert!(matches!(e, Error::Auth(_)), "{e:?}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    let e = client.set("k", "v").await.unwrap_err();
    assert!(matches!(e, Error::Auth(_)), "{e:?}");
}

#[test]
fn connect_lazy_outside_a_runtime_is_a_config_error() {
    let e = Client::connect_lazy(Config::default()).unwrap_err();
    assert!(matches!(e, Error::Config(_)), "{e:?}");
    assert!(e.to_string().contains("tokio runtime"), "{e}");
}
