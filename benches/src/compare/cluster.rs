//! The cluster scenarios, on a throwaway cluster of 3 primaries and 3 replicas from
//! redmux-testkit (`RedisCluster`), which the run starts and drops like (a)-(d)'s
//! server:
//!
//! - (f) throughput and CPU per op at C = `cluster_concurrency` (1000): (a)'s tasks,
//!   each SETting then GETting its own key, on redmux, redis-rs's cluster async
//!   connection and fred in clustered mode, straight to the nodes. It runs first,
//!   before the proxies of (e) are announced.
//! - (e) a burst of SETs across slots issued at once, through one `FaultProxy` per
//!   primary adding `proxy_one_way` each way, the same three clients each on a fresh
//!   connection; the floor is the same SETs encoded beforehand into one stream per
//!   primary (by hash slot), written on bare sockets in parallel through the same
//!   proxies, the `+OK`s counted.
//!
//! # How the clients find the proxies
//!
//! A cluster client learns the nodes' addresses from the cluster (`CLUSTER SLOTS`,
//! MOVED), not from its seeds, so giving it the proxies as seeds is not enough: it
//! would go to the ports the nodes announce, their real ones. Each primary is
//! therefore told its proxy's port with `CONFIG SET cluster-announce-port` (a
//! setting made for NAT and containers; the cluster bus port stays the real one, so
//! the nodes still talk to each other directly), and the run waits until every node
//! reports the proxies' ports for every slot. Every client then sees one ordinary
//! cluster whose primaries are the proxies: no client needs an address map, and all
//! three take the same path. The replicas keep their real ports; no client reads
//! from them.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use redmux_testkit::{FaultProxy, RedisCluster, Reply};

use super::clients::{self, ClientKind, Kv, Tuning};
use super::report::{ClusterFigures, PerClient, RoundTrips};
use super::{Options, Result, order, scenarios};

/// The node timeout of the benchmark's cluster: long, so a burst on a busy 2-core
/// machine never makes a node look failed (the test kit's default is 500 ms).
const NODE_TIMEOUT: Duration = Duration::from_secs(5);

/// How long the nodes get to agree on the proxies' ports (gossip carries a node's
/// announced port in every ping; with a 5 s node timeout each pair pings at least
/// every 2.5 s).
const ANNOUNCE_WAIT: Duration = Duration::from_secs(20);

/// Keys SET one after another on a fresh connection before a burst, so each client
/// has met every primary (16 keys hit all three of 3 primaries but for 3 in 10^7).
const WARM_KEYS: usize = 16;

/// Runs (e) and (f) as `options.scenarios` asks, on a cluster of its own.
///
/// The test kit's calls block, so this runs outside the runtime and enters it for the
/// measurements only. Progress goes to stderr.
pub fn run(
    runtime: &tokio::runtime::Runtime,
    options: &Options,
    tuning: Tuning,
) -> Result<ClusterFigures> {
    let cluster = RedisCluster::builder()
        .node_timeout(NODE_TIMEOUT)
        .start()
        .map_err(|e| format!("cannot start a throwaway cluster (3 + 3 nodes): {e}"))?;
    let primaries = cluster.primaries();
    let direct: Vec<SocketAddr> = primaries.iter().map(|&p| cluster.node(p).addr()).collect();
    eprintln!(
        "cluster: {} {} primaries and {} replicas started in {:.1} s",
        cluster.version(),
        primaries.len(),
        cluster.replicas().len(),
        cluster.started_in().as_secs_f64()
    );

    let throughput = if options.scenarios.cluster_throughput {
        let row = runtime.block_on(run_throughput(&direct, options, tuning))?;
        eprintln!(
            "(f) C = {}: redmux {:.0}  redis-rs {:.0}  fred {:.0} ops/s; CPU µs/op {:.2} / {:.2} / {:.2}",
            row.concurrency,
            row.ops_per_sec.redmux,
            row.ops_per_sec.redis_rs,
            row.ops_per_sec.fred,
            row.cpu_us_per_op.redmux,
            row.cpu_us_per_op.redis_rs,
            row.cpu_us_per_op.fred,
        );
        Some(row)
    } else {
        None
    };

    let (round_trips, sets_per_primary) = if options.scenarios.cluster_round_trips {
        // Which primary owns each floor key, read before the ports change (the kit's
        // map is keyed by the nodes' real addresses).
        let floor_keys: Vec<Vec<u8>> = (0..options.burst)
            .map(|i| format!("compare:raw:cburst:{i}").into_bytes())
            .collect();
        let mut by_primary: Vec<Vec<Vec<u8>>> = vec![Vec::new(); primaries.len()];
        for key in floor_keys {
            let owner = cluster
                .key_owner(&key)
                .and_then(|node| primaries.iter().position(|&p| p == node))
                .ok_or("cluster: a slot without a primary")?;
            by_primary[owner].push(key);
        }
        let sets_per_primary = by_primary.iter().map(Vec::len).collect();
        // The proxies run on their own threads: started and dropped outside the runtime.
        let mut proxies = Vec::with_capacity(primaries.len());
        for &p in &primaries {
            let proxy = FaultProxy::start(cluster.node(p).addr())
                .map_err(|e| format!("cannot start a FaultProxy: {e}"))?;
            proxy.set_latency(options.proxy_one_way);
            proxies.push(proxy);
        }
        let proxied: Vec<SocketAddr> = proxies.iter().map(FaultProxy::addr).collect();
        let agreed = announce(&cluster, &primaries, &proxied)?;
        eprintln!(
            "(e) every node announces the proxies' ports after {:.1} s",
            agreed.as_secs_f64()
        );
        let groups: Vec<(SocketAddr, Vec<Vec<u8>>)> =
            proxied.iter().copied().zip(by_primary).collect();
        let figures = runtime.block_on(run_round_trips(&proxies, &groups, options, tuning));
        drop(proxies);
        (Some(figures?), sets_per_primary)
    } else {
        (None, Vec::new())
    };

    Ok(ClusterFigures {
        server_version: cluster.version().to_string(),
        primaries: primaries.len(),
        replicas: cluster.replicas().len(),
        sets_per_primary,
        round_trips,
        throughput,
    })
}

/// Points each primary's announced port at its proxy and waits until every node
/// reports only the proxies' ports for every slot; returns how long that took.
fn announce(
    cluster: &RedisCluster,
    primaries: &[usize],
    proxies: &[SocketAddr],
) -> Result<Duration> {
    let started = Instant::now();
    for (&p, proxy) in primaries.iter().zip(proxies) {
        let port = proxy.port().to_string();
        let reply = cluster.call(p, &["CONFIG", "SET", "cluster-announce-port", &port])?;
        if reply.is_error() {
            return Err(
                format!("CONFIG SET cluster-announce-port {port} refused: {reply:?}").into(),
            );
        }
    }
    let wanted: Vec<u16> = proxies.iter().map(SocketAddr::port).collect();
    loop {
        let mut agreed = true;
        for node in 0..cluster.nodes().len() {
            let slots = cluster.call(node, &["CLUSTER", "SLOTS"])?;
            agreed &= primary_ports(&slots).is_some_and(|ports| {
                ports.iter().all(|p| wanted.contains(p)) && wanted.iter().all(|w| ports.contains(w))
            });
        }
        if agreed {
            return Ok(started.elapsed());
        }
        if started.elapsed() > ANNOUNCE_WAIT {
            return Err(format!(
                "the nodes did not all announce the proxies' ports {wanted:?} within {ANNOUNCE_WAIT:?}"
            )
            .into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The primaries' ports in a `CLUSTER SLOTS` reply (`[first, last, [host, port, id],
/// replicas...]` per range); `None` for an error or a reply of another shape.
fn primary_ports(slots: &Reply) -> Option<Vec<u16>> {
    slots
        .as_array()?
        .iter()
        .map(|range| {
            let primary = range.as_array()?.get(2)?.as_array()?;
            u16::try_from(primary.get(1)?.as_int()?).ok()
        })
        .collect()
}

/// (f): the three clients on the cluster, straight to the nodes, at C =
/// `options.cluster_concurrency`, measured as (a) measures.
async fn run_throughput(
    seeds: &[SocketAddr],
    options: &Options,
    tuning: Tuning,
) -> Result<super::report::ThroughputRow> {
    let redmux = clients::connect_redmux(&clients::redmux_seeds_url(seeds)).await?;
    let redis_rs = clients::connect_redis_rs_cluster(seeds, tuning).await?;
    let fred = clients::connect_fred_cluster(seeds, tuning).await?;
    let row = super::throughput_row(
        &redmux,
        &redis_rs,
        &fred,
        options.cluster_concurrency,
        options,
    )
    .await;
    clients::close_fred(&fred).await;
    row
}

/// (e): in each round the floor, then each client on a fresh connection through the
/// proxies, in alternating order.
async fn run_round_trips(
    proxies: &[FaultProxy],
    groups: &[(SocketAddr, Vec<Vec<u8>>)],
    options: &Options,
    tuning: Tuning,
) -> Result<RoundTrips> {
    let seeds: Vec<SocketAddr> = proxies.iter().map(FaultProxy::addr).collect();
    let seeds = seeds.as_slice();
    let mut walls = PerClient::<Vec<f64>>::default();
    let (mut raw_walls, mut pings) = (Vec::new(), Vec::new());
    let (mut sent, mut writes) = (0u64, 0u64);
    let url = clients::redmux_seeds_url(seeds);
    for round in 0..options.burst_rounds.max(1) {
        let salt = u32::try_from(round)?;
        let (took, ping) = raw_cluster_burst(groups, salt).await?;
        eprintln!(
            "(e) raw sockets: {} SETs at once through {} proxies in {:.1} ms (PING round trip {:.2} ms)",
            options.burst,
            groups.len(),
            took.as_secs_f64() * 1000.0,
            ping.as_secs_f64() * 1000.0
        );
        raw_walls.push(took.as_secs_f64() * 1000.0);
        pings.push(ping.as_secs_f64() * 1000.0);
        for kind in order(round) {
            let label = kind.name();
            let keys: Vec<Vec<u8>> = (0..options.burst)
                .map(|i| format!("compare:{label}:cburst:{i}").into_bytes())
                .collect();
            let accepted: Vec<usize> = proxies.iter().map(FaultProxy::accepted_total).collect();
            let took = match kind {
                ClientKind::Redmux => {
                    let client = clients::connect_redmux(&url).await?;
                    warm(&client, label).await?;
                    let before = super::redmux_counts(&client);
                    let took =
                        scenarios::burst(&client, label, &keys, salt, scenarios::Form::Issued)
                            .await?;
                    let after = super::redmux_counts(&client);
                    sent += after.0 - before.0;
                    writes += after.1 - before.1;
                    took
                }
                ClientKind::RedisRs => {
                    let client = clients::connect_redis_rs_cluster(seeds, tuning).await?;
                    warm(&client, label).await?;
                    scenarios::burst(&client, label, &keys, salt, scenarios::Form::Issued).await?
                }
                ClientKind::Fred => {
                    let client = clients::connect_fred_cluster(seeds, tuning).await?;
                    warm(&client, label).await?;
                    let took =
                        scenarios::burst(&client, label, &keys, salt, scenarios::Form::Issued)
                            .await;
                    clients::close_fred(&client).await;
                    took?
                }
            };
            // Every client must have reached every primary through its proxy: one
            // that went around them would not be measured on the slow link.
            for (i, (proxy, before)) in proxies.iter().zip(&accepted).enumerate() {
                if proxy.accepted_total() == *before {
                    return Err(format!(
                        "(e) {label} made no connection through the proxy of primary {i}"
                    )
                    .into());
                }
            }
            eprintln!(
                "(e) {label}: {} SETs at once through the proxies in {:.1} ms",
                options.burst,
                took.as_secs_f64() * 1000.0
            );
            walls.get_mut(kind).push(took.as_secs_f64() * 1000.0);
        }
    }
    Ok(RoundTrips::from_rounds(
        options,
        walls,
        raw_walls,
        &pings,
        super::per_write(sent, writes),
    ))
}

/// [`WARM_KEYS`] sequential SETs on keys spread over the slots.
async fn warm<K: Kv>(client: &K, label: &str) -> Result<()> {
    let mut client = client.clone();
    for i in 0..WARM_KEYS {
        let key = format!("compare:{label}:cwarm:{i}");
        client
            .set(key.as_bytes(), &scenarios::value_for(0, u32::try_from(i)?))
            .await?;
    }
    Ok(())
}

/// The floor of (e): one bare socket per primary through its proxy (each checked
/// with 20 PINGs first), then every primary's SETs, encoded beforehand, written on
/// all of them at once while their `+OK`s are counted. Returns the time from the
/// start to the last reply on any socket, and the median PING round trip.
async fn raw_cluster_burst(
    groups: &[(SocketAddr, Vec<Vec<u8>>)],
    round: u32,
) -> Result<(Duration, Duration)> {
    let total: usize = groups.iter().map(|(_, keys)| keys.len()).sum();
    // The value `scenarios::burst` would write for a burst of this size and round.
    let value = scenarios::value_for(u32::MAX - 1 - round, u32::try_from(total)?);
    let mut links = Vec::with_capacity(groups.len());
    let mut pings = Vec::with_capacity(groups.len());
    for (addr, keys) in groups {
        let (stream, ping) = scenarios::raw_connect(*addr).await?;
        pings.push(ping);
        links.push((stream, scenarios::encode_sets(keys, &value), keys.len()));
    }
    pings.sort();
    let start = tokio::time::Instant::now().into_std();
    // One task per primary, so the streams go out on every worker in parallel.
    let tasks: Vec<_> = links
        .into_iter()
        .map(|(stream, wire, sets)| tokio::spawn(scenarios::raw_stream(stream, wire, sets, start)))
        .collect();
    let mut slowest = Duration::ZERO;
    for task in tasks {
        let took = task
            .await
            .map_err(|e| format!("raw: a stream's task failed: {e}"))??;
        slowest = slowest.max(took);
    }
    Ok((slowest, pings[pings.len() / 2]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(port: i64) -> Reply {
        Reply::Array(vec![
            Reply::Bulk(b"127.0.0.1".to_vec()),
            Reply::Int(port),
            Reply::Bulk(b"id".to_vec()),
        ])
    }

    #[test]
    fn reads_the_primaries_ports_of_cluster_slots() {
        let reply = Reply::Array(vec![
            Reply::Array(vec![
                Reply::Int(0),
                Reply::Int(5460),
                node(7000),
                node(7003),
            ]),
            Reply::Array(vec![Reply::Int(5461), Reply::Int(16383), node(7001)]),
        ]);
        assert_eq!(primary_ports(&reply), Some(vec![7000, 7001]));
        assert_eq!(primary_ports(&Reply::Error("ERR".into())), None);
        assert_eq!(
            primary_ports(&Reply::Array(vec![Reply::Array(vec![Reply::Int(0)])])),
            None
        );
    }
}
