//! `RedisSentinelSet` against real servers (`redis-server`, or `REDIS_SERVER_BIN`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use redmux_testkit::{RawConnection, RedisSentinelSet};

/// A started set's replica has the primary's data: what a test wrote before it
/// killed the primary is on the promoted replica. The sentinels list a replica as
/// soon as it asks for a sync, and the primary used to wait 5 s before the first
/// one, so the set was declared ready (in about 2 s) with an empty replica, and this
/// write vanished with the failover.
#[test]
fn a_write_before_the_kill_is_on_the_promoted_replica() {
    let set = RedisSentinelSet::start().unwrap();
    let mut replica = RawConnection::connect(set.replica().addr()).unwrap();
    let info = replica.call(&["INFO", "replication"]).unwrap();
    assert!(
        info.as_str().unwrap().contains("master_link_status:up"),
        "declared ready before the replica synced:\n{info}"
    );
    let mut primary = RawConnection::connect(set.primary().addr()).unwrap();
    assert_eq!(
        primary.call(&["SET", "before", "v"]).unwrap().as_str(),
        Some("OK")
    );
    // Replication is asynchronous: WAIT makes sure this write reached the (synced)
    // replica, so only the set's readiness is under test, not a race with the kill.
    let acked = primary.call(&["WAIT", "1", "5000"]).unwrap();
    assert_eq!(acked.as_int(), Some(1), "the replica acknowledged nothing");
    set.kill_primary().unwrap();
    let mut promoted = RawConnection::connect(set.replica().addr()).unwrap();
    assert_eq!(
        promoted.call(&["GET", "before"]).unwrap().as_str(),
        Some("v")
    );
}
