//! Sentinel over TLS: the sentinels, the primary and the replica all serve TLS (and
//! replicate and gossip over it); a `rediss+sentinel://` client asks the sentinels
//! over TLS, reaches the primary over TLS, and after a `kill -9` of the primary
//! writes to the promoted replica. The sentinels' TLS is set apart from the data
//! nodes': a client that trusts the CA for the nodes only cannot ask the sentinels.
//!
//! Valkey's PyPI wheel has no TLS: there the test prints why and returns.

use std::time::Duration;

use redmux::{Client, Config, Error, TlsConfig};
use redmux_testkit::{RawConnection, RedisSentinelSet};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_sentinel_set_finds_the_primary_and_follows_a_failover() {
    let set = match RedisSentinelSet::start_tls() {
        Ok(set) => set,
        Err(redmux_testkit::Error::TlsUnsupported { .. }) => {
            eprintln!("skipped: this redis-server has no TLS support (it refused --tls-port)");
            return;
        }
        Err(e) => panic!("{e}"),
    };
    let url = set.url();
    assert!(url.starts_with("rediss+sentinel://"), "{url}");
    let trust = TlsConfig::new().ca_file(set.tls_files().unwrap().ca());
    let config = |sentinel_tls: Option<TlsConfig>| {
        let mut config = Config::from_url(&url).unwrap();
        config.tls = Some(trust.clone());
        config.connect_timeout = Duration::from_secs(2);
        config.command_timeout = Duration::from_secs(10);
        if let Some(sentinel) = config.sentinel.as_mut() {
            sentinel.tls = sentinel_tls;
        }
        config
    };

    // The sentinels' TLS is their own: without it (plaintext to a TLS port), or
    // trusting the system's roots only, no sentinel answers.
    for sentinel_tls in [None, Some(TlsConfig::new())] {
        let err = Client::connect_with(config(sentinel_tls))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Connect { .. }), "{err}");
    }

    let client = Client::connect_with(config(Some(trust.clone())))
        .await
        .unwrap();
    assert_eq!(
        client.nodes()[0].addr,
        set.primary_named().to_string(),
        "the node named is the primary's TLS port"
    );
    client.set("tls-sentinel", "before").await.unwrap();
    let mut primary = RawConnection::connect(set.primary().addr()).unwrap();
    assert_eq!(
        primary.call(&["GET", "tls-sentinel"]).unwrap().as_str(),
        Some("before")
    );

    let failover = tokio::task::spawn_blocking(move || {
        let failover = set.kill_primary().unwrap();
        (set, failover)
    });
    let (set, failover) = failover.await.unwrap();
    println!(
        "TLS sentinel failover: promoted after {:?}, sentinels agree after {:?}",
        failover.promoted, failover.sentinels_agree
    );
    // The first write after the failover may meet the dead connection; within the
    // command timeout the client reaches the new primary over TLS.
    let mut written = false;
    for _ in 0..20 {
        if client.set("tls-sentinel", "after").await.is_ok() {
            written = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(written, "no write succeeded after the failover");
    let mut replica = RawConnection::connect(set.replica().addr()).unwrap();
    assert_eq!(
        replica.call(&["GET", "tls-sentinel"]).unwrap().as_str(),
        Some("after")
    );
}
