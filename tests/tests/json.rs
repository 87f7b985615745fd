//! `Json<T>` (the `json` feature) against a real server: a nested struct through
//! SET and GET, nil as `None`, a batch, a transaction, a dedicated connection, a
//! reply that is not JSON, and a value that does not serialize (nothing is sent).

use std::collections::{BTreeMap, HashMap};
use std::error::Error as _;

use redmux::{Client, CommandStatus, Error, Json, TransactionOutcome};
use redmux_testkit::RedisServer;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Address {
    street: String,
    city: String,
    geo: Option<(f64, f64)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct User {
    id: u64,
    name: String,
    roles: Vec<String>,
    address: Address,
    previous: Vec<Address>,
    settings: BTreeMap<String, serde_json::Value>,
}

fn ada() -> User {
    User {
        id: 1,
        // Bytes a hand-rolled encoder would trip on: CRLF, quotes, non-ASCII.
        name: "Ada \"Countess\" Lovelace\r\nÉ".into(),
        roles: vec!["admin".into(), "ops".into()],
        address: Address {
            street: "12 St James's Square".into(),
            city: "London".into(),
            geo: Some((51.507, -0.134)),
        },
        previous: vec![Address {
            street: "Ockham Park".into(),
            city: "Surrey".into(),
            geo: None,
        }],
        settings: BTreeMap::from([
            ("theme".into(), serde_json::json!("dark")),
            (
                "limits".into(),
                serde_json::json!({"daily": 10, "burst": [1, 2]}),
            ),
        ]),
    }
}

async fn connect(server: &RedisServer) -> Client {
    Client::connect(&server.url()).await.expect("connect")
}

#[tokio::test]
async fn a_nested_struct_round_trips_through_set_and_get() {
    let server = RedisServer::start().unwrap();
    let client = connect(&server).await;
    let user = ada();

    client.set("user:1", Json(&user)).await.unwrap();
    let back: Option<Json<User>> = client.get("user:1").await.unwrap();
    assert_eq!(back.map(Json::into_inner), Some(user.clone()));

    // What is stored is plain JSON, readable by any other client.
    let raw: String = client.get("user:1").await.unwrap();
    let parsed: serde_json::Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(parsed["address"]["city"], "London");
    assert_eq!(parsed["settings"]["limits"]["burst"][1], 2);

    let missing: Option<Json<User>> = client.get("user:404").await.unwrap();
    assert!(missing.is_none());
    // Without `Option`, nil is a conversion error, not a made-up value.
    let e = client.get::<Json<User>>("user:404").await.unwrap_err();
    assert!(matches!(e, Error::Conversion { .. }), "{e}");
}

#[tokio::test]
async fn in_a_batch_a_transaction_and_on_a_dedicated_connection() {
    let server = RedisServer::start().unwrap();
    let client = connect(&server).await;
    let user = ada();

    let mut batch = client.batch();
    batch.add(client.set("b:1", Json(&user)));
    let read = batch.add(client.get::<Option<Json<User>>>("b:1"));
    let results = batch.execute().await;
    assert_eq!(results.get(read).unwrap().map(|j| j.0), Some(user.clone()));

    let mut tx = client.transaction();
    tx.add(client.set("t:1", Json(&user.address)));
    let read = tx.add(client.get::<Json<Address>>("t:1"));
    let TransactionOutcome::Committed(results) = tx.execute().await.unwrap() else {
        panic!("no conditions: it commits");
    };
    assert_eq!(results.get(read).unwrap().0, user.address);

    let conn = client.dedicated().await.unwrap();
    conn.set("d:1", Json(vec![user.clone(), user.clone()]))
        .await
        .unwrap();
    let both: Json<Vec<User>> = conn.get("d:1").await.unwrap();
    assert_eq!(both.0, [user.clone(), user]);
}

#[tokio::test]
async fn a_reply_that_is_not_json_is_a_conversion_error_with_the_serde_error() {
    let server = RedisServer::start().unwrap();
    let client = connect(&server).await;
    client.set("plain", "not json").await.unwrap();
    let e = client.get::<Option<Json<User>>>("plain").await.unwrap_err();
    assert!(matches!(e, Error::Conversion { .. }), "{e}");
    assert!(
        e.source().is_some_and(|s| s.is::<serde_json::Error>()),
        "{e:?}"
    );
}

#[tokio::test]
async fn a_value_that_does_not_serialize_fails_unsent_and_stores_nothing() {
    let server = RedisServer::start().unwrap();
    let client = connect(&server).await;
    client.set("kept", "old").await.unwrap();
    // JSON object keys must be strings: a map keyed by tuples does not serialize.
    let bad = Json(HashMap::from([((1, 2), "point")]));

    let e = client.set("kept", &bad).await.unwrap_err();
    assert!(matches!(e, Error::InvalidArgument { .. }), "{e}");
    assert_eq!(e.status(), CommandStatus::NotSent);
    assert!(
        e.source().is_some_and(|s| s.is::<serde_json::Error>()),
        "{e:?}"
    );
    assert!(client.set("kept", &bad).fire_and_forget().is_err());

    let mut batch = client.batch();
    let failed = batch.add(client.set("kept", &bad));
    let fine = batch.add(client.get::<String>("kept"));
    let results = batch.execute().await;
    assert!(matches!(
        results.get(failed),
        Err(Error::InvalidArgument { .. })
    ));
    assert_eq!(results.get(fine).unwrap(), "old");

    let conn = client.dedicated().await.unwrap();
    assert!(conn.set("kept", &bad).await.is_err());
    let raw = redmux::cmd("SET").arg("kept").arg(&bad);
    assert!(matches!(
        conn.command::<()>(raw).await,
        Err(Error::InvalidArgument { .. })
    ));
    let script = redmux::Script::new("return redis.call('SET', KEYS[1], ARGV[1])");
    let e = script
        .invoke::<()>(&client)
        .key("kept")
        .arg(&bad)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::InvalidArgument { .. }), "{e}");
    let mut batch = client.batch();
    let scripted = batch.add(script.call::<()>().key("kept").arg(&bad));
    let results = batch.execute().await;
    assert!(matches!(
        results.get(scripted),
        Err(Error::InvalidArgument { .. })
    ));

    let value: String = client.get("kept").await.unwrap();
    assert_eq!(
        value, "old",
        "nothing was written in place of the bad value"
    );
}
