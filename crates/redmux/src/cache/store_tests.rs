//! The store's tests: fills, flights, invalidations, flushes, bounds.

use super::*;
use std::time::Duration;

fn later() -> Instant {
    Instant::now() + Duration::from_secs(60)
}

fn lead(store: &Store, request: &str, key: &str) -> Arc<Flight> {
    match store.lookup(request.as_bytes(), || {
        Bytes::copy_from_slice(key.as_bytes())
    }) {
        Lookup::Lead(f) => f,
        other => panic!("expected a miss, got {other:?}"),
    }
}

fn value(s: &str) -> Value {
    Value::BulkString(Bytes::copy_from_slice(s.as_bytes()))
}

#[test]
fn a_fill_becomes_a_hit_and_concurrent_misses_share_one_flight() {
    let store = Store::new(1 << 20, 100);
    let flight = lead(&store, "GET a", "a");
    assert!(
        matches!(store.lookup(b"GET a", || unreachable!()), Lookup::Join(f) if Arc::ptr_eq(&f, &flight))
    );
    assert!(store.fill(&flight, Some((value("1"), later()))));
    assert!(matches!(store.lookup(b"GET a", || unreachable!()), Lookup::Hit(v) if v == value("1")));
    let stats = store.stats();
    assert_eq!((stats.hits, stats.misses, stats.entries), (1, 2, 1));
}

#[test]
fn an_invalidation_during_a_fill_drops_it_and_later_misses_read_again() {
    let store = Store::new(1 << 20, 100);
    let flight = lead(&store, "GET a", "a");
    store.invalidate(b"a");
    // A miss after the invalidation does not join the stale flight.
    let second = lead(&store, "GET a", "a");
    assert!(!store.fill(&flight, Some((value("old"), later()))));
    assert!(store.fill(&second, Some((value("new"), later()))));
    assert!(
        matches!(store.lookup(b"GET a", || unreachable!()), Lookup::Hit(v) if v == value("new"))
    );
    // Every request of a key goes with it.
    let strlen = lead(&store, "STRLEN a", "a");
    assert!(store.fill(&strlen, Some((Value::Integer(3), later()))));
    store.invalidate(b"a");
    assert_eq!(store.stats().entries, 0);
    assert_eq!(store.stats().bytes, 0);
}

#[test]
fn a_flush_drops_entries_and_fills_in_flight() {
    let store = Store::new(1 << 20, 100);
    let done = lead(&store, "GET a", "a");
    store.fill(&done, Some((Value::Nil, later())));
    let flying = lead(&store, "GET b", "b");
    store.flush();
    assert!(!store.fill(&flying, Some((value("b"), later()))));
    assert_eq!(store.stats().entries, 0);
    assert_eq!(store.stats().flushes, 1);
}

#[test]
fn errors_and_expired_replies_are_not_kept() {
    let store = Store::new(1 << 20, 100);
    let flight = lead(&store, "GET a", "a");
    assert!(!store.fill(&flight, None));
    let flight = lead(&store, "GET a", "a");
    assert!(!store.fill(&flight, Some((value("x"), Instant::now()))));
    assert_eq!(store.stats().entries, 0);
}

#[test]
fn both_bounds_hold_and_referenced_entries_get_a_second_chance() {
    let store = Store::new(1 << 20, 3);
    for k in ["a", "b", "c"] {
        let f = lead(&store, k, k);
        store.fill(&f, Some((value(k), later())));
    }
    // `a` is read, so `b` (the oldest unread) goes first.
    assert!(matches!(
        store.lookup(b"a", || unreachable!()),
        Lookup::Hit(_)
    ));
    let f = lead(&store, "d", "d");
    store.fill(&f, Some((value("d"), later())));
    assert!(matches!(
        store.lookup(b"a", || unreachable!()),
        Lookup::Hit(_)
    ));
    assert!(matches!(
        store.lookup(b"b", || Bytes::from_static(b"b")),
        Lookup::Lead(_)
    ));
    assert_eq!(store.stats().evictions, 1);

    let store = Store::new(10_000, 1_000_000);
    for i in 0..1_000 {
        let k = format!("key:{i}");
        let f = lead(&store, &k, &k);
        store.fill(&f, Some((value(&"x".repeat(100)), later())));
        assert!(store.stats().bytes <= 10_000);
    }
    assert!(store.stats().evictions > 900);
    // Ghosts in the clock are compacted away.
    let entries = store.stats().entries as usize;
    assert!(store.inner.lock().clock.len() <= 2 * entries + 1024);
    // An entry larger than the whole bound is never kept.
    let f = lead(&store, "big", "big");
    assert!(!store.fill(&f, Some((value(&"x".repeat(20_000)), later()))));
}
