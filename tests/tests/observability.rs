//! What a service watches, against a real server. Opt-in spans
//! (`Config::tracing`), collected by a small `tracing` layer: a command's span and
//! its OpenTelemetry attributes, on success and on a server error; a batch's and a
//! transaction's span with their command count; no span at all when tracing is
//! off. And the counters in `Stats` an exporter reads: error replies, overload.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use redmux::{Client, Config, cmd};
use redmux_testkit::RedisServer;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::Registry;

/// A closed span: its fields, by name, as text.
type Fields = HashMap<String, String>;

/// Collects every span's fields, and hands them over when the span closes.
#[derive(Clone, Default)]
struct Collect {
    open: Arc<Mutex<HashMap<Id, Fields>>>,
    closed: Arc<Mutex<Vec<Fields>>>,
}

struct Visitor<'a>(&'a mut Fields);

impl Visit for Visitor<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0
            .insert(field.name().to_string(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_string(), value.to_string());
    }
}

impl<S: tracing::Subscriber> Layer<S> for Collect {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, _: Context<'_, S>) {
        let mut fields = Fields::new();
        attrs.record(&mut Visitor(&mut fields));
        self.open.lock().unwrap().insert(id.clone(), fields);
    }
    fn on_record(&self, id: &Id, values: &Record<'_>, _: Context<'_, S>) {
        if let Some(fields) = self.open.lock().unwrap().get_mut(id) {
            values.record(&mut Visitor(fields));
        }
    }
    fn on_close(&self, id: Id, _: Context<'_, S>) {
        if let Some(fields) = self.open.lock().unwrap().remove(&id) {
            self.closed.lock().unwrap().push(fields);
        }
    }
}

impl Collect {
    /// The closed spans so far, taken.
    fn take(&self) -> Vec<Fields> {
        std::mem::take(&mut *self.closed.lock().unwrap())
    }

    /// The one closed span named `name` (`otel.name`).
    fn only(&self, name: &str) -> Fields {
        let spans = self.take();
        let mut named: Vec<Fields> = spans
            .into_iter()
            .filter(|s| s.get("otel.name").map(String::as_str) == Some(name))
            .collect();
        assert_eq!(named.len(), 1, "one {name} span: {named:?}");
        named.remove(0)
    }
}

async fn traced_client(server: &RedisServer, db: i64) -> Client {
    let mut config = Config::from_url(&server.url()).unwrap();
    config.db = db;
    config.tracing = true;
    Client::connect_with(config).await.unwrap()
}

fn get<'a>(span: &'a Fields, field: &str) -> Option<&'a str> {
    span.get(field).map(String::as_str)
}

#[tokio::test]
async fn a_command_span_carries_the_database_conventions() {
    let collect = Collect::default();
    let _guard = tracing::subscriber::set_default(Registry::default().with(collect.clone()));
    let server = RedisServer::start().unwrap();
    let client = traced_client(&server, 3).await;
    collect.take();

    client.set("k", "v").await.unwrap();
    let set = collect.only("SET");
    assert_eq!(get(&set, "db.operation.name"), Some("SET"));

    let v: Option<String> = client.get("k").await.unwrap();
    assert_eq!(v.as_deref(), Some("v"));
    let span = collect.only("GET");
    assert_eq!(get(&span, "otel.kind"), Some("client"));
    assert_eq!(get(&span, "db.system.name"), Some("redis"));
    assert_eq!(get(&span, "db.operation.name"), Some("GET"));
    assert_eq!(get(&span, "db.namespace"), Some("3"));
    assert_eq!(get(&span, "server.address"), Some("127.0.0.1"));
    assert_eq!(
        get(&span, "server.port"),
        Some(server.port().to_string().as_str())
    );
    assert_eq!(get(&span, "error.type"), None, "{span:?}");
    assert_eq!(get(&span, "otel.status_code"), None);

    // A raw command is named as it was given.
    let _: redmux::Value = client.command(cmd("STRLEN").arg("k")).await.unwrap();
    collect.only("STRLEN");
}

#[tokio::test]
async fn a_server_error_sets_error_type_to_its_code() {
    let collect = Collect::default();
    let _guard = tracing::subscriber::set_default(Registry::default().with(collect.clone()));
    let server = RedisServer::start().unwrap();
    let client = traced_client(&server, 0).await;
    client.lpush("list", "x").await.unwrap();
    collect.take();

    let e = client.incr("list").await.unwrap_err();
    let code = e.server_error().unwrap().code().to_string();
    let span = collect.only("INCR");
    assert_eq!(get(&span, "error.type"), Some(code.as_str()), "{span:?}");
    assert_eq!(get(&span, "db.response.status_code"), Some(code.as_str()));
    assert_eq!(get(&span, "otel.status_code"), Some("ERROR"));
}

#[tokio::test]
async fn batches_and_transactions_get_one_span_with_their_count() {
    let collect = Collect::default();
    let _guard = tracing::subscriber::set_default(Registry::default().with(collect.clone()));
    let server = RedisServer::start().unwrap();
    let client = traced_client(&server, 0).await;
    collect.take();

    let mut batch = client.batch();
    for i in 0..3 {
        batch.add(client.set(format!("k{i}"), i));
    }
    batch.execute().await;
    let span = collect.only("BATCH SET");
    assert_eq!(get(&span, "db.operation.name"), Some("BATCH SET"));
    assert_eq!(get(&span, "db.operation.batch.size"), Some("3"));
    assert_eq!(get(&span, "error.type"), None);

    let mut batch = client.batch();
    batch.add(client.set("s", "text"));
    batch.add(client.incr("s"));
    batch.add(client.get::<Option<String>>("s"));
    batch.add(client.incr("s"));
    let results = batch.execute().await;
    assert_eq!(results.errors().count(), 2);
    let spans = collect.take();
    assert_eq!(
        spans.len(),
        1,
        "one span for the batch, none per command: {spans:?}"
    );
    let span = &spans[0];
    assert_eq!(get(span, "otel.name"), Some("BATCH"));
    assert_eq!(get(span, "db.operation.batch.size"), Some("4"));
    assert_eq!(get(span, "redmux.batch.errors"), Some("2"));
    assert!(get(span, "error.type").is_some());

    let mut tx = client.transaction();
    tx.add(client.incr("n"));
    tx.add(client.incr("n"));
    assert!(tx.execute().await.unwrap().is_committed());
    let span = collect.only("MULTI");
    assert_eq!(get(&span, "db.operation.batch.size"), Some("2"));
    assert_eq!(get(&span, "db.system.name"), Some("redis"));
}

#[tokio::test]
async fn no_span_when_tracing_is_off() {
    let collect = Collect::default();
    let _guard = tracing::subscriber::set_default(Registry::default().with(collect.clone()));
    let server = RedisServer::start().unwrap();
    let client = Client::connect(&server.url()).await.unwrap();
    client.set("k", "v").await.unwrap();
    let mut batch = client.batch();
    batch.add(client.incr("a"));
    batch.add(client.incr("b"));
    batch.execute().await;
    let spans = collect.take();
    assert!(
        spans.iter().all(|s| !s.contains_key("db.system.name")),
        "{spans:?}"
    );
}

#[tokio::test]
async fn stats_count_error_replies() {
    let server = RedisServer::start().unwrap();
    let client = Client::connect(&server.url()).await.unwrap();
    client.set("s", "text").await.unwrap();
    let before = client.stats();
    assert_eq!(before.error_replies, 0);

    assert!(client.incr("s").await.is_err());
    client.incr("s").fire_and_forget().unwrap();
    let mut batch = client.batch();
    batch.add(client.incr("s"));
    batch.add(client.incr("fine"));
    batch.execute().await;
    // The fire-and-forget reply is read in order, before this one.
    client.ping().await.unwrap();

    let after = client.stats();
    assert_eq!(after.error_replies, 1, "the awaited one: {after:?}");
    assert_eq!(after.fire_and_forget_errors, 1);
    assert_eq!(after.overloaded, 0);
}

#[tokio::test]
async fn stats_count_commands_refused_at_the_queue_bound() {
    // Nothing listens here: commands wait in the backlog, which holds one. The port
    // stays bound (not listening) for the whole test: a port that was free a moment
    // ago could be taken meanwhile by another test's fault proxy (bound by `bind(0)`
    // too), and the client would then connect, send, and refuse nothing.
    let reserved = tokio::net::TcpSocket::new_v4().unwrap();
    reserved.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let port = reserved.local_addr().unwrap().port();
    let mut config = Config::from_url(&format!("redis://127.0.0.1:{port}")).unwrap();
    config.max_queued_commands = 1;
    let client = Client::connect_lazy(config).unwrap();
    client.set("a", 1).fire_and_forget().unwrap();
    let e = client.set("b", 2).fire_and_forget().unwrap_err();
    assert!(matches!(e, redmux::Error::Overloaded(_)), "{e}");
    assert_eq!(client.stats().overloaded, 1);
}
