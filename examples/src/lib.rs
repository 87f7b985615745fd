//! redmux-examples: a small web service written the way redmux is meant to be used.
//!
//! Every handler shares one cloned [`redmux::Client`] through axum's `State`, so every
//! request of the service goes over one auto-pipelined connection, and the bookkeeping
//! a handler does not need to wait for is sent with `fire_and_forget()`.
//!
//! | route | does |
//! |---|---|
//! | `GET /items/{id}` | a cached lookup of `item:{id}`, with a sliding expiry and a hit count |
//! | `GET /hits/{id}` | how many times `/items/{id}` was requested |
//!
//! The `web_service` example serves it (`cargo run -p redmux-examples --example
//! web_service`); `tests/web_service.rs` drives it with concurrent HTTP requests
//! against a real `redis-server`.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = redmux::Client::connect("redis://127.0.0.1:6379").await?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! axum::serve(listener, redmux_examples::app(client)).await?;
//! # Ok(()) }
//! ```

use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use redmux::{Client, cmd};

/// How long a cached item lives after it was last read.
pub const ITEM_TTL: Duration = Duration::from_secs(300);

/// The response header that says whether `/items/{id}` came from Redis.
pub const CACHE_HEADER: &str = "x-cache";

/// How long the fake slow source takes to load an item, standing in for a database.
const LOAD_DELAY: Duration = Duration::from_millis(20);

/// The service: every route shares `client`, and so its one connection.
///
/// ```no_run
/// # async fn run(client: redmux::Client) {
/// let router: axum::Router = redmux_examples::app(client);
/// # }
/// ```
pub fn app(client: Client) -> Router {
    Router::new()
        .route("/items/{id}", get(get_item))
        .route("/hits/{id}", get(get_hits))
        .with_state(client)
}

/// The Redis key an item is cached under.
pub fn item_key(id: u64) -> String {
    format!("item:{id}")
}

/// The Redis key counting requests for an item.
pub fn hits_key(id: u64) -> String {
    format!("hits:{id}")
}

/// What the slow source holds for `id`: deterministic, so a test can check every body.
pub fn item_record(id: u64) -> String {
    format!("item {id}: {} widgets in stock", id * 7 + 3)
}

/// Loads an item from the slow source (a sleep standing in for a database query).
pub async fn load_item(id: u64) -> String {
    tokio::time::sleep(LOAD_DELAY).await;
    item_record(id)
}

/// `GET /items/{id}`: the item, from Redis when it is there, with `x-cache: hit|miss`.
///
/// Sends, per request:
/// - `INCR hits:{id}`, fire-and-forget: counting never delays the response;
/// - `GET item:{id}`, awaited;
/// - on a hit, `EXPIRE item:{id} 300`, fire-and-forget: a sliding expiry, so items
///   read often stay cached without the reader waiting for the server;
/// - on a miss, the slow load, then `SET item:{id} value EX 300`, awaited, so a
///   `miss` response means the item is cached.
///
/// Concurrent first requests for one id may all miss and all load (no single-flight):
/// they store the same value, so the cache stays right.
async fn get_item(State(client): State<Client>, Path(id): Path<u64>) -> Result<Response, AppError> {
    let key = item_key(id);
    client.incr(hits_key(id)).fire_and_forget()?;
    let (cache, value) = match client.get::<Option<String>>(&key).await? {
        Some(value) => {
            client.expire(&key, ITEM_TTL).fire_and_forget()?;
            ("hit", value)
        }
        None => {
            let value = load_item(id).await;
            client
                .command::<()>(
                    cmd("SET")
                        .arg(&key)
                        .arg(&value)
                        .arg("EX")
                        .arg(ITEM_TTL.as_secs()),
                )
                .await?;
            ("miss", value)
        }
    };
    Ok(([(CACHE_HEADER, cache)], value).into_response())
}

/// `GET /hits/{id}`: the number of requests `/items/{id}` has counted (`GET hits:{id}`).
///
/// The counts are sent fire-and-forget, so one still in flight is not counted yet.
async fn get_hits(State(client): State<Client>, Path(id): Path<u64>) -> Result<String, AppError> {
    let hits: Option<i64> = client.get(hits_key(id)).await?;
    Ok(hits.unwrap_or(0).to_string())
}

/// A redmux error as a response: `503 Service Unavailable` with the error's text.
///
/// Every redmux failure a handler can meet (timeout, lost connection, overload, an
/// error reply) means the cache is not usable right now, so the handler reports it
/// rather than panicking.
#[derive(Debug)]
pub struct AppError(pub redmux::Error);

impl From<redmux::Error> for AppError {
    fn from(error: redmux::Error) -> Self {
        AppError(error)
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        (StatusCode::SERVICE_UNAVAILABLE, self.0.to_string()).into_response()
    }
}
