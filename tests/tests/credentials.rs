//! Credentials that change: a provider asked at every connect and reconnect, a
//! password rotated on the server picked up without a restart, and
//! `reauthenticate` switching live connections to the provider's new credentials.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use redmux::{Client, Config, Credentials, Error, cmd};
use redmux_testkit::{RawConnection, RedisServer, Reply};

/// A provider whose answer the test changes, counting the times it is asked.
#[derive(Clone, Default)]
struct Rotating {
    current: Arc<Mutex<(String, String)>>,
    calls: Arc<AtomicUsize>,
}

impl Rotating {
    fn new(user: &str, password: &str) -> Rotating {
        let r = Rotating::default();
        r.set(user, password);
        r
    }

    fn set(&self, user: &str, password: &str) {
        *self.current.lock().unwrap() = (user.into(), password.into());
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    fn config(&self, server: &RedisServer) -> Config {
        let mut config = Config::from_url(&server.url()).unwrap();
        config.connect_timeout = Duration::from_secs(1);
        let provider = self.clone();
        config.credentials = Some(Arc::new(move || {
            provider.calls.fetch_add(1, Ordering::SeqCst);
            let (user, password) = provider.current.lock().unwrap().clone();
            async move { Ok(Credentials::new(Some(user), password)) }
        }));
        config
    }
}

fn server() -> RedisServer {
    RedisServer::builder()
        .acl_user("app", "one")
        .acl_user("ops", "ops-pass")
        .start()
        .unwrap()
}

/// Kills every connection of `user` from the side, as a proxy or a server
/// restart would.
fn kill_connections_of(server: &RedisServer, user: &str) -> i64 {
    let mut admin = RawConnection::connect(server.addr()).unwrap();
    admin
        .call(&["CLIENT", "KILL", "USER", user])
        .unwrap()
        .as_int()
        .unwrap_or(0)
}

async fn whoami(client: &Client) -> String {
    client
        .command::<String>(cmd("ACL").arg("WHOAMI"))
        .await
        .unwrap()
}

/// Runs `ping` until it succeeds (the client reconnects on the first failure).
async fn until_ok(client: &Client) {
    for _ in 0..100 {
        if client.ping().await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the client did not come back; stats {:?}", client.stats());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_provider_is_asked_again_on_every_reconnect() {
    let server = server();
    let provider = Rotating::new("app", "one");
    let client = Client::connect_with(provider.config(&server))
        .await
        .unwrap();
    assert_eq!(provider.calls(), 1, "asked once at connect");
    assert_eq!(whoami(&client).await, "app");

    for round in 2..=3 {
        assert!(kill_connections_of(&server, "app") >= 1);
        until_ok(&client).await;
        assert_eq!(provider.calls(), round, "asked again by the reconnect");
        assert_eq!(whoami(&client).await, "app");
    }
    // The subscriber's connection and a dedicated one ask too.
    let _subscription = client.subscribe("news").await.unwrap();
    let dedicated = client.dedicated().await.unwrap();
    assert_eq!(provider.calls(), 5);
    drop(dedicated);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_rotated_on_the_server_is_picked_up_without_a_restart() {
    let server = server();
    let provider = Rotating::new("app", "one");
    let client = Client::connect_with(provider.config(&server))
        .await
        .unwrap();
    client.set("k", "before").await.unwrap();

    // Rotate on the server: the old password stops working for new connections.
    let mut admin = RawConnection::connect(server.addr()).unwrap();
    let reply = admin
        .call(&["ACL", "SETUSER", "app", "resetpass", ">two"])
        .unwrap();
    assert_eq!(reply, Reply::Status("OK".into()));
    provider.set("app", "two");

    // Live connections re-authenticate in place, between commands.
    client.reauthenticate().await.unwrap();
    // And a reconnect authenticates with the new password.
    assert!(kill_connections_of(&server, "app") >= 1);
    until_ok(&client).await;
    let v: Option<String> = client.get("k").await.unwrap();
    assert_eq!(v.as_deref(), Some("before"));
    assert!(client.stats().reconnects >= 1);

    // Without the provider's new answer, the reconnect is refused: the provider
    // really is what made it work.
    provider.set("app", "one");
    assert!(kill_connections_of(&server, "app") >= 1);
    let refused = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match client.ping().await {
                Err(Error::Auth(_)) => return true,
                _ => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    })
    .await
    .unwrap_or(false);
    assert!(refused, "a stale password was accepted");
    provider.set("app", "two");
    until_ok(&client).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reauthenticate_switches_live_connections_between_commands() {
    let server = server();
    let provider = Rotating::new("app", "one");
    let client = Client::connect_with(provider.config(&server))
        .await
        .unwrap();
    assert_eq!(whoami(&client).await, "app");

    // Commands keep flowing while AUTH goes through the queue among them.
    let load: Vec<_> = (0..50)
        .map(|i| {
            let client = client.clone();
            tokio::spawn(async move {
                for j in 0..200 {
                    let n: i64 = client.incr(format!("reauth:{i}:{j}")).await.unwrap();
                    assert_eq!(n, 1);
                }
            })
        })
        .collect();
    provider.set("ops", "ops-pass");
    client.reauthenticate().await.unwrap();
    for task in load {
        task.await.unwrap();
    }
    assert_eq!(whoami(&client).await, "ops");
    assert_eq!(client.stats().reconnects, 0, "no reconnect was needed");

    // Rejected credentials are an Auth error, and the connection keeps its user.
    provider.set("ops", "wrong");
    let error = client.reauthenticate().await.unwrap_err();
    assert!(matches!(error, Error::Auth(_)), "{error}");
    assert_eq!(whoami(&client).await, "ops");

    // AUTH stays refused to callers on the shared connection.
    let refused = client.command::<()>(cmd("AUTH").arg("x")).await;
    assert!(matches!(refused, Err(Error::StateCommandRefused { .. })));
}
