//! A cluster over TLS (`tls-cluster yes`): every node serves TLS on its own port
//! (the bus and replication are TLS too), and the client, given `rediss://` seeds,
//! discovers the TLS ports, routes every key to its owner over TLS, survives a
//! failover, and names each node's certificate (the announced hostname, or the
//! user's mapping).
//!
//! Valkey's PyPI wheel has no TLS: there each test prints why and returns.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use futures::StreamExt;
use futures::future::join_all;
use redmux::pubsub::Event;
use redmux::{Client, Config, Error, TlsConfig};
use redmux_testkit::{RedisCluster, ServerCertificate};

/// A TLS cluster, or `None` (with the reason printed) when this binary has no TLS.
fn tls_cluster(certificate: ServerCertificate, args: &[&str]) -> Option<RedisCluster> {
    let mut builder = RedisCluster::builder().tls_certificate(certificate);
    for arg in args {
        builder = builder.arg(*arg);
    }
    match builder.start() {
        Ok(cluster) => Some(cluster),
        Err(redmux_testkit::Error::TlsUnsupported { .. }) => {
            eprintln!("skipped: this redis-server has no TLS support (it refused --tls-port)");
            None
        }
        Err(e) => panic!("{e}"),
    }
}

fn config(cluster: &RedisCluster, tls: TlsConfig) -> Config {
    let mut config = Config::from_url(&cluster.tls_seeds_url().unwrap()).unwrap();
    config.tls = Some(tls);
    config.connect_timeout = Duration::from_secs(3);
    config.command_timeout = Duration::from_secs(5);
    config
}

fn trusting(cluster: &RedisCluster) -> TlsConfig {
    TlsConfig::new().ca_file(cluster.tls_files().unwrap().ca())
}

/// Which of the cluster's nodes holds `key` (asked over the kit's plaintext port).
fn holder(cluster: &RedisCluster, key: &str) -> usize {
    cluster.key_owner(key.as_bytes()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_cluster_routes_every_key_and_survives_a_failover() {
    let Some(cluster) = tls_cluster(ServerCertificate::Valid, &[]) else {
        return;
    };
    let cluster = Arc::new(cluster);
    let client = Client::connect_with(config(&cluster, trusting(&cluster)))
        .await
        .unwrap();
    // Every primary was reached over TLS: the map names TLS ports only.
    let tls_ports: Vec<String> = cluster
        .tls_seeds_url()
        .unwrap()
        .trim_start_matches("rediss://")
        .split(',')
        .map(str::to_owned)
        .collect();
    for node in client.nodes() {
        let addr = node.addr.trim_end_matches(" (seed)");
        assert!(
            tls_ports.iter().any(|p| p == addr),
            "{addr} is not a TLS port"
        );
    }

    // 50 tasks of 40 SET/GETs each, every value checked, every key on its owner.
    let prefix = cluster.key_prefix("tls");
    let tasks = (0..50).map(|t| {
        let client = client.clone();
        let prefix = prefix.clone();
        tokio::spawn(async move {
            for i in 0..40 {
                let key = format!("{prefix}:{t}:{i}");
                let value = format!("v{t}-{i}");
                client.set(&key, &value).await.unwrap();
                let got: Option<String> = client.get(&key).await.unwrap();
                assert_eq!(got.as_deref(), Some(value.as_str()));
            }
        })
    });
    for task in join_all(tasks).await {
        task.unwrap();
    }
    for t in 0..50 {
        let key = format!("{prefix}:{t}:0");
        let owner = holder(&cluster, &key);
        let reply = cluster.call(owner, &["EXISTS", key.as_str()]).unwrap();
        assert_eq!(reply.as_int(), Some(1), "{key} is not on node {owner}");
    }

    // A manual failover under load from 50 tasks of INCR: nothing lost, no error.
    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(AtomicU64::new(0));
    let load: Vec<_> = (0..50)
        .map(|t| {
            let (client, stop, acked) = (client.clone(), stop.clone(), acked.clone());
            let key = format!("{prefix}:incr:{t}");
            tokio::spawn(async move {
                let mut mine = 0;
                while !stop.load(Relaxed) {
                    let n: i64 = client.incr(&key).await?;
                    mine += 1;
                    assert_eq!(n, mine, "{key}: an INCR ran twice or was lost");
                    acked.fetch_add(1, Relaxed);
                }
                Ok::<_, Error>(())
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let primary = cluster.primaries()[0];
    let replica = cluster.replicas_of(primary)[0];
    let settled = {
        let cluster = cluster.clone();
        tokio::task::spawn_blocking(move || cluster.failover(replica).unwrap())
            .await
            .unwrap()
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.store(true, Relaxed);
    for task in join_all(load).await {
        task.unwrap().unwrap();
    }
    println!(
        "TLS cluster failover agreed after {:?}; {} INCRs",
        settled.agreed_after,
        acked.load(Relaxed)
    );
    // The promoted replica now serves its slots, over its TLS port.
    let promoted = format!("127.0.0.1:{}", cluster.node(replica).addr().port() + 3_000);
    assert!(
        client
            .nodes()
            .iter()
            .any(|n| n.addr == promoted && !n.slots.is_empty()),
        "{:?}",
        client.nodes()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_node_is_checked_against_its_announced_hostname_or_the_users_mapping() {
    // Every node's certificate names `other.invalid` only, and every node announces
    // that hostname, while the map's endpoints stay IPs (127.0.0.1).
    let Some(cluster) = tls_cluster(
        ServerCertificate::OtherHost,
        &["--cluster-announce-hostname", "other.invalid"],
    ) else {
        return;
    };
    let seed = cluster
        .tls_seeds_url()
        .unwrap()
        .trim_start_matches("rediss://")
        .split(',')
        .next()
        .unwrap()
        .to_owned();

    // No name for the seed: its certificate does not name 127.0.0.1.
    let err = Client::connect_with(config(&cluster, trusting(&cluster)))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Connect { .. }), "{err}");
    assert!(err.to_string().contains("host name"), "{err}");

    // A mapping for the seed alone: the other nodes are named by the hostname they
    // announce, so every primary is reached.
    let seed_only = seed.clone();
    let tls = trusting(&cluster).server_name_for(move |host, port| {
        (format!("{host}:{port}") == seed_only).then(|| "other.invalid".to_owned())
    });
    let mut one_seed = config(&cluster, tls);
    one_seed.addr = redmux::Addr::Tcp {
        host: "127.0.0.1".into(),
        port: seed.rsplit_once(':').unwrap().1.parse().unwrap(),
    };
    one_seed.seeds.clear();
    let client = Client::connect_with(one_seed).await.unwrap();
    let prefix = cluster.key_prefix("sni");
    for i in 0..200 {
        let key = format!("{prefix}:{i}");
        client.set(&key, i).await.unwrap();
        let got: Option<i64> = client.get(&key).await.unwrap();
        assert_eq!(got, Some(i));
    }
    let reached = client
        .nodes()
        .iter()
        .filter(|n| !n.slots.is_empty())
        .count();
    assert_eq!(reached, 3);
    // Shard subscribers name their nodes the same way: one channel per primary.
    let channels: Vec<String> = cluster
        .primaries()
        .into_iter()
        .map(|p| {
            let slot = *cluster.slots(p)[0].start();
            format!(
                "{{{}}}:sni",
                redmux_testkit::hash_tag_for_slot(slot).unwrap()
            )
        })
        .collect();
    let mut sub = client.ssubscribe(&channels[..]).await.unwrap();
    for channel in &channels {
        let receivers: u64 = client.spublish(channel, "hello").await.unwrap();
        assert_eq!(receivers, 1, "{channel}");
        let event = tokio::time::timeout(Duration::from_secs(5), sub.next())
            .await
            .unwrap()
            .unwrap();
        assert!(matches!(event, Event::Message(_)), "{event:?}");
    }

    // A mapping for every node works without the announced names, and a mapping
    // that names the wrong host fails as a mismatch.
    let tls = trusting(&cluster).server_name_for(|_, _| Some("localhost".to_owned()));
    let err = Client::connect_with(config(&cluster, tls))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("host name"), "{err}");

    // The classic subscriber starts on the seed (named by the mapping); with the
    // seed killed it moves to another node, named by the hostname that announces.
    let mut classic = client.subscribe("sni-classic").await.unwrap();
    let seed_node = cluster
        .nodes()
        .iter()
        .position(|n| n.addr() == cluster.addrs()[0])
        .unwrap();
    tokio::task::block_in_place(|| cluster.kill(seed_node)).unwrap();
    let killed = std::time::Instant::now();
    let mut gaps = 0;
    loop {
        assert!(
            killed.elapsed() < Duration::from_secs(20),
            "the classic subscriber never moved off the killed seed: {:?}",
            client.subscriber_stats()
        );
        // Publishing may fail while the cluster fails the seed over.
        if client.publish("sni-classic", "moved").await.is_ok() {
            match tokio::time::timeout(Duration::from_millis(500), classic.next()).await {
                Ok(Some(Event::Message(_))) => break,
                // Said once the subscriber has lost its connection.
                Ok(Some(Event::Gap)) => gaps += 1,
                Ok(other) => panic!("{other:?}"),
                Err(_) => {}
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(gaps, 1, "the move was reported once");
    println!("classic subscriber moved within {:?}", killed.elapsed());
}
