//! The example web service, served for real and driven by concurrent HTTP requests,
//! against a real `redis-server` from the test kit.

// Helpers here are part of the tests: a failed unwrap is a failed assertion.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use redmux::{Client, Config, cmd};
use redmux_examples::{CACHE_HEADER, app, hits_key, item_key, item_record};
use redmux_testkit::RedisServer;
use tokio::task::JoinSet;

/// Distinct items the load test asks for.
const IDS: u64 = 20;

/// The name the service's client gives its connection, to find it in `CLIENT LIST`.
const SERVICE_CLIENT_NAME: &str = "web-service";

/// How long to wait for the effect of a fire-and-forget command to show.
const EVENTUALLY: Duration = Duration::from_secs(5);

/// Requests the load test makes for `id`: a different number per id, so a count
/// bumped under the wrong key shows up as a wrong count.
fn requests_for(id: u64) -> u64 {
    5 + id
}

/// The service on a free port over its own client, and `admin`, a second client that
/// inspects and tampers with the server behind the service's back.
struct Service {
    server: RedisServer,
    base: String,
    http: reqwest::Client,
    admin: Client,
}

/// What came back from one HTTP request.
#[derive(Debug)]
struct Reply {
    status: u16,
    cache: Option<String>,
    body: String,
}

impl Service {
    async fn start() -> Service {
        Self::start_with(|_| {}).await
    }

    async fn start_with(configure: impl FnOnce(&mut Config)) -> Service {
        let server = RedisServer::start().expect("redis-server");
        let mut config = Config::from_url(&server.url()).unwrap();
        config.client_name = Some(SERVICE_CLIENT_NAME.into());
        configure(&mut config);
        let client = Client::connect_with(config).await.unwrap();
        let admin = Client::connect(&server.url()).await.unwrap();

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app(client)).await.unwrap() });

        // No proxy: an `http_proxy` in the environment must not see test traffic.
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        Service {
            server,
            base,
            http,
            admin,
        }
    }

    async fn get(&self, path: &str) -> Reply {
        fetch(&self.http, &format!("{}{path}", self.base)).await
    }

    /// `GET /items/{id}` for every id in `ids`, all in flight at once, each on its own
    /// task; the replies come back with their ids, in completion order.
    async fn get_items_concurrently(&self, ids: &[u64]) -> Vec<(u64, Reply)> {
        let mut tasks = JoinSet::new();
        for &id in ids {
            let http = self.http.clone();
            let url = format!("{}/items/{id}", self.base);
            tasks.spawn(async move { (id, fetch(&http, &url).await) });
        }
        tasks.join_all().await
    }

    async fn ttl(&self, id: u64) -> i64 {
        self.admin
            .command(cmd("TTL").arg(item_key(id)))
            .await
            .unwrap()
    }

    async fn hits(&self, id: u64) -> u64 {
        let reply = self.get(&format!("/hits/{id}")).await;
        assert_eq!(reply.status, 200, "/hits/{id}: {reply:?}");
        reply.body.parse().unwrap()
    }
}

async fn fetch(http: &reqwest::Client, url: &str) -> Reply {
    let response = http.get(url).send().await.unwrap();
    let status = response.status().as_u16();
    let cache = response
        .headers()
        .get(CACHE_HEADER)
        .map(|v| v.to_str().unwrap().to_owned());
    let body = response.text().await.unwrap();
    Reply {
        status,
        cache,
        body,
    }
}

fn assert_item(id: u64, reply: &Reply, cache: &str) {
    assert_eq!(reply.status, 200, "/items/{id}: {reply:?}");
    assert_eq!(
        reply.cache.as_deref(),
        Some(cache),
        "/items/{id}: {reply:?}"
    );
    assert_eq!(
        reply.body,
        item_record(id),
        "/items/{id} answered another item"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_requests_miss_once_per_item_then_hit_and_are_all_counted() {
    let service = Service::start().await;
    let ids: Vec<u64> = (0..IDS).collect();

    // The first request for every item, all at once: each one loads its item.
    let started = Instant::now();
    for (id, reply) in service.get_items_concurrently(&ids).await {
        assert_item(id, &reply, "miss");
    }
    // Each load sleeps 20 ms: one after another they would take 400 ms. Sharing the
    // client must not line the handlers up.
    assert!(
        started.elapsed() < Duration::from_millis(400),
        "{IDS} concurrent misses took {:?}",
        started.elapsed()
    );
    // The SET was awaited before the response, so the item is cached by now.
    for id in 0..IDS {
        let ttl = service.ttl(id).await;
        assert!((295..=300).contains(&ttl), "item:{id} has TTL {ttl}");
    }

    // The rest, interleaved across items and all in flight at once: every one a hit.
    let max = (0..IDS).map(requests_for).max().unwrap();
    let rest: Vec<u64> = (1..max)
        .flat_map(|round| (0..IDS).filter(move |&id| round < requests_for(id)))
        .collect();
    assert!(rest.len() >= 200, "only {} concurrent requests", rest.len());
    let replies = service.get_items_concurrently(&rest).await;
    assert_eq!(replies.len(), rest.len());
    for (id, reply) in &replies {
        assert_item(*id, reply, "hit");
    }

    // The counts went fire-and-forget: wait for the last of them to land, then
    // check every item has exactly its own count.
    let deadline = Instant::now() + EVENTUALLY;
    loop {
        let mut counts = Vec::new();
        for id in 0..IDS {
            counts.push((id, service.hits(id).await));
        }
        let wrong: Vec<_> = counts
            .iter()
            .filter(|&&(id, n)| n != requests_for(id))
            .collect();
        if wrong.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline && wrong.iter().all(|&&(id, n)| n < requests_for(id)),
            "(id, hits) not matching the requests made (5 + id): {wrong:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // Every handler shared the service's one client, and so one connection.
    let clients: String = service
        .admin
        .command(cmd("CLIENT").arg("LIST"))
        .await
        .unwrap();
    let named = clients
        .lines()
        .filter(|line| line.contains(&format!(" name={SERVICE_CLIENT_NAME} ")))
        .count();
    assert_eq!(named, 1, "the service's connections:\n{clients}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hit_slides_the_expiry_back_out() {
    let service = Service::start().await;
    let id = 7;
    assert_item(id, &service.get(&format!("/items/{id}")).await, "miss");

    let had_key: bool = service
        .admin
        .expire(item_key(id), Duration::from_secs(10))
        .await
        .unwrap();
    assert!(had_key);
    let lowered = service.ttl(id).await;
    assert!(
        (1..=10).contains(&lowered),
        "TTL after EXPIRE 10: {lowered}"
    );

    assert_item(id, &service.get(&format!("/items/{id}")).await, "hit");

    // The hit sent its EXPIRE fire-and-forget: it lands a moment after the response.
    let deadline = Instant::now() + EVENTUALLY;
    let mut ttl = service.ttl(id).await;
    while ttl <= 10 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
        ttl = service.ttl(id).await;
    }
    assert!((295..=300).contains(&ttl), "TTL after a hit: {ttl}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_from_redis_are_503_with_their_text() {
    let service = Service::start().await;

    // An item key holding a list: GET fails with WRONGTYPE.
    let _: i64 = service
        .admin
        .command(cmd("LPUSH").arg(item_key(900)).arg("not an item"))
        .await
        .unwrap();
    let reply = service.get("/items/900").await;
    assert_eq!(reply.status, 503, "{reply:?}");
    assert!(reply.body.contains("WRONGTYPE"), "{reply:?}");

    // A counter that is not a number: the reply does not convert to an integer.
    service.admin.set(hits_key(901), "many").await.unwrap();
    let reply = service.get("/hits/901").await;
    assert_eq!(reply.status, 503, "{reply:?}");
    assert!(reply.body.contains("cannot convert reply"), "{reply:?}");

    // Neither hurt the service: the next request works.
    assert_item(1, &service.get("/items/1").await, "miss");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_server_is_503_within_the_command_timeout_and_the_service_recovers() {
    let service = Service::start_with(|config| {
        config.command_timeout = Duration::from_millis(300);
    })
    .await;
    assert_item(3, &service.get("/items/3").await, "miss");

    service.server.kill();
    let started = Instant::now();
    let reply = service.get("/items/3").await;
    assert_eq!(reply.status, 503, "{reply:?}");
    assert!(
        reply.body.contains("timeout") || reply.body.contains("connection lost"),
        "{reply:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "503 took {:?}",
        started.elapsed()
    );

    // Back up (empty: the data went with the old process): the client reconnects by
    // itself and the service loads the item again.
    service.server.restart().expect("restart redis-server");
    let deadline = Instant::now() + EVENTUALLY;
    let mut reply = service.get("/items/3").await;
    while reply.status != 200 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
        reply = service.get("/items/3").await;
    }
    assert_item(3, &reply, "miss");
}
