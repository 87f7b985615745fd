//! Server administration against a real server, over RESP2 and RESP3: INFO parsed
//! into sections, CLIENT ID/GETNAME/SETNAME/LIST/INFO/KILL, CONFIG GET/SET, FLUSHALL
//! and FLUSHDB with SYNC and ASYNC.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use redmux::{Client, ClientKill, ClientListFilter, ClientType, Error, FlushMode, Value, cmd};
use redmux_testkit::RedisServer;

async fn connect(options: &str) -> (RedisServer, Client) {
    let server = RedisServer::start().expect("redis-server");
    let client = Client::connect(&format!("{}{options}", server.url()))
        .await
        .unwrap();
    (server, client)
}

fn server_error<T: std::fmt::Debug>(result: redmux::Result<T>) -> String {
    match result {
        Err(Error::Server(e)) => e.to_string(),
        other => panic!("expected a server error, got {other:?}"),
    }
}

/// The fields of a keyspace line (`keys=1,expires=0,avg_ttl=0`), by name: servers add
/// fields (Valkey 9.1 appends `keys_with_volatile_items`), so none is read by position.
fn keyspace_fields(line: &str) -> BTreeMap<&str, &str> {
    line.split(',')
        .map(|field| field.split_once('=').unwrap_or((field, "")))
        .collect()
}

async fn info(server: &RedisServer, client: &Client) {
    client.set("k", "v").await.unwrap();
    let info = client.info_parsed().await.unwrap();
    // Valkey reports the Redis version it is compatible with as `redis_version`
    // (7.2.4) and its own in `valkey_version`: the server's real version is the
    // latter where it exists, and must match what the binary says of itself.
    let version = info
        .get("server", "valkey_version")
        .or_else(|| info.get("server", "redis_version"))
        .unwrap();
    assert_eq!(version, server.version());
    let redis_version = info.get("server", "redis_version").unwrap();
    assert_eq!(info.find("redis_version"), Some(redis_version));
    assert_eq!(info.get("server", "no_such_field"), None);
    assert_eq!(info.get("clients", "redis_version"), None, "wrong section");
    let connected: u64 = info.get_parsed("clients", "connected_clients").unwrap();
    assert!(connected >= 1);
    assert!(info.get_parsed::<u64>("memory", "used_memory").unwrap() > 0);
    let db0 = info.get("keyspace", "db0").unwrap();
    let db0 = keyspace_fields(db0);
    assert_eq!(
        (db0.get("keys"), db0.get("expires"), db0.get("avg_ttl")),
        (Some(&"1"), Some(&"0"), Some(&"0")),
        "{db0:?}"
    );
    for section in [
        "server",
        "clients",
        "memory",
        "stats",
        "replication",
        "keyspace",
    ] {
        assert!(info.section(section).is_some(), "{section}");
    }
    assert!(info.section("commandstats").is_none(), "not in the default");

    let some = client
        .info_parsed_many(["server", "commandstats"])
        .await
        .unwrap();
    let mut names: Vec<&str> = some.section_names().collect();
    names.sort_unstable();
    assert_eq!(names, ["commandstats", "server"]);
    assert!(
        some.get("commandstats", "cmdstat_set")
            .is_some_and(|s| s.starts_with("calls=1,")),
        "{:?}",
        some.section("commandstats")
    );
}

#[tokio::test]
async fn info_over_resp2() {
    let (server, client) = connect("").await;
    info(&server, &client).await;
}

#[tokio::test]
async fn info_over_resp3() {
    let (server, client) = connect("?protocol=resp3").await;
    let raw: Value = client.command(cmd("INFO").arg("server")).await.unwrap();
    assert!(
        matches!(raw, Value::VerbatimString { .. }),
        "RESP3 sends INFO as a verbatim string: {raw:?}"
    );
    info(&server, &client).await;
}

async fn clients(server: &RedisServer, client: &Client) {
    let id = client.client_id().await.unwrap();
    let me = client.client_info().await.unwrap();
    assert_eq!(me.id(), Some(id));
    assert_eq!(me.db(), Some(0));
    assert_eq!(me.user(), Some("default"));
    assert_eq!(me.get("cmd"), Some("client|info"));
    assert!(me.addr().is_some_and(|a| a.starts_with("127.0.0.1:")));
    assert!(
        me.laddr()
            .is_some_and(|a| a.ends_with(&format!(":{}", server.port())))
    );
    assert!(me.age().is_some() && me.idle().is_some());

    assert_eq!(client.client_getname().await.unwrap(), None);
    assert_eq!(me.name(), None);
    client.client_setname("admin-test").await.unwrap();
    assert_eq!(
        client.client_getname().await.unwrap().as_deref(),
        Some("admin-test")
    );
    assert_eq!(
        client.client_info().await.unwrap().name(),
        Some("admin-test")
    );
    let e = server_error(client.client_setname("has space").await);
    assert!(e.contains("spaces"), "{e}");

    // A second client: both in the list, each filterable by ID and type.
    let other = Client::connect(&format!("{}?client_name=other", server.url()))
        .await
        .unwrap();
    let other_id = other.client_id().await.unwrap();
    let all = client.client_list().await.unwrap();
    let ids: Vec<u64> = all.iter().filter_map(|c| c.id()).collect();
    assert!(ids.contains(&id) && ids.contains(&other_id), "{ids:?}");
    let listed = all.iter().find(|c| c.id() == Some(other_id)).unwrap();
    assert_eq!(listed.name(), Some("other"));
    assert!(listed.fields().any(|(f, _)| f == "tot-mem"));
    let just_other = client
        .client_list_with(ClientListFilter::Ids(vec![other_id]))
        .await
        .unwrap();
    assert_eq!(just_other.len(), 1);
    assert_eq!(just_other[0].id(), Some(other_id));
    let normal = client
        .client_list_with(ClientListFilter::Type(ClientType::Normal))
        .await
        .unwrap();
    assert!(normal.len() >= 2, "{normal:?}");
    let both = client
        .client_list_with(ClientListFilter::Ids(vec![id, other_id, 999_999]))
        .await
        .unwrap();
    assert_eq!(both.len(), 2);
    assert!(
        client
            .client_list_with(ClientListFilter::Type(ClientType::PubSub))
            .await
            .unwrap()
            .is_empty()
    );

    // KILL by ID closes the other client's connection (it reconnects on its own);
    // SKIPME spares the sender.
    let closed = client
        .client_kill(ClientKill::new().id(other_id))
        .await
        .unwrap();
    assert_eq!(closed, 1);
    assert_eq!(
        client
            .client_kill(ClientKill::new().id(other_id))
            .await
            .unwrap(),
        0
    );
    let addr = me.addr().unwrap().to_owned();
    assert_eq!(
        client
            .client_kill(ClientKill::new().addr(&addr).skipme(true))
            .await
            .unwrap(),
        0,
        "the sender is skipped"
    );
    assert_eq!(
        client
            .client_kill(ClientKill::new().user("default").type_(ClientType::PubSub))
            .await
            .unwrap(),
        0,
        "every filter must match"
    );
    assert_eq!(
        client
            .client_kill(ClientKill::new().laddr("127.0.0.1:1"))
            .await
            .unwrap(),
        0,
        "nothing connects through that port"
    );
    let e = server_error(client.client_kill(ClientKill::new().user("nobody")).await);
    assert!(e.contains("No such user"), "{e}");
    let e = server_error(client.client_kill(ClientKill::new()).await);
    assert!(e.contains("syntax") || e.contains("arguments"), "{e}");

    // The other client comes back with a new connection, its name set again by the
    // handshake.
    let mut new_id = other_id;
    for _ in 0..100 {
        if let Ok(id) = other.client_id().timeout(Duration::from_millis(200)).await {
            new_id = id;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_ne!(new_id, other_id, "reconnected");
    assert_eq!(
        other.client_getname().await.unwrap().as_deref(),
        Some("other")
    );
}

#[tokio::test]
async fn clients_over_resp2() {
    let (server, client) = connect("").await;
    clients(&server, &client).await;
}

#[tokio::test]
async fn clients_over_resp3() {
    let (server, client) = connect("?protocol=resp3").await;
    let raw: Value = client.command(cmd("CLIENT").arg("LIST")).await.unwrap();
    assert!(matches!(raw, Value::VerbatimString { .. }), "{raw:?}");
    clients(&server, &client).await;
}

async fn config(client: &Client) {
    let memory: HashMap<String, String> = client.config_get("maxmemory*").await.unwrap();
    assert_eq!(memory["maxmemory"], "0");
    assert_eq!(memory["maxmemory-policy"], "noeviction");
    assert!(memory.keys().all(|k| k.starts_with("maxmemory")));
    let none: HashMap<String, String> = client.config_get("no-such-*").await.unwrap();
    assert!(none.is_empty());

    client.config_set("maxmemory-samples", 7).await.unwrap();
    client
        .config_set_many([("maxmemory", "64mb"), ("maxmemory-policy", "allkeys-lru")])
        .await
        .unwrap();
    let some: BTreeMap<String, String> = client
        .config_get_many(["maxmemory", "maxmemory-samples", "maxmemory-policy"])
        .await
        .unwrap();
    assert_eq!(
        some.into_iter().collect::<Vec<_>>(),
        [
            ("maxmemory".into(), "67108864".into()),
            ("maxmemory-policy".into(), "allkeys-lru".into()),
            ("maxmemory-samples".into(), "7".into()),
        ]
    );

    // All or none: one bad value leaves every parameter as it was.
    let e = server_error(
        client
            .config_set_many([("maxmemory", "1mb"), ("maxmemory-policy", "sometimes")])
            .await,
    );
    assert!(e.contains("maxmemory-policy"), "{e}");
    let memory: HashMap<String, u64> = client.config_get("maxmemory").await.unwrap();
    assert_eq!(memory["maxmemory"], 67_108_864);
    let e = server_error(client.config_set("no-such-parameter", "1").await);
    assert!(e.contains("no-such-parameter"), "{e}");
}

#[tokio::test]
async fn config_over_resp2() {
    let (_server, client) = connect("").await;
    config(&client).await;
}

#[tokio::test]
async fn config_over_resp3() {
    let (_server, client) = connect("?protocol=resp3").await;
    let raw: Value = client
        .command(cmd("CONFIG").arg("GET").arg("maxmemory"))
        .await
        .unwrap();
    assert!(
        matches!(raw, Value::Map(_)),
        "RESP3 CONFIG GET is a map: {raw:?}"
    );
    config(&client).await;
}

#[tokio::test]
async fn flush() {
    let server = RedisServer::start().expect("redis-server");
    let db0 = Client::connect(&server.url()).await.unwrap();
    let db1 = Client::connect(&format!("{}/1", server.url()))
        .await
        .unwrap();
    let fill = || async {
        db0.mset([("a", 1), ("b", 2)]).await.unwrap();
        db1.set("c", 3).await.unwrap();
    };

    fill().await;
    db0.flushdb_with(FlushMode::Sync).await.unwrap();
    assert_eq!(
        (db0.dbsize().await.unwrap(), db1.dbsize().await.unwrap()),
        (0, 1)
    );
    fill().await;
    db0.flushdb_with(FlushMode::Async).await.unwrap();
    assert_eq!(db0.dbsize().await.unwrap(), 0, "gone when the reply comes");
    assert_eq!(db1.dbsize().await.unwrap(), 1);

    fill().await;
    db0.flushall().await.unwrap();
    assert_eq!(
        (db0.dbsize().await.unwrap(), db1.dbsize().await.unwrap()),
        (0, 0)
    );
    fill().await;
    db1.flushall_with(FlushMode::Async).await.unwrap();
    assert_eq!(
        (db0.dbsize().await.unwrap(), db1.dbsize().await.unwrap()),
        (0, 0)
    );
    fill().await;
    db1.flushall_with(FlushMode::Sync).await.unwrap();
    assert_eq!(
        (db0.dbsize().await.unwrap(), db1.dbsize().await.unwrap()),
        (0, 0)
    );
}
