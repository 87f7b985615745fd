//! Pub/sub against a real server, over RESP2 and RESP3: every subscription gets every
//! message of its channels in order, subscriptions share one server-side
//! subscription, unsubscribe on drop, resubscribe after a restart or a cut with a
//! gap told, and a stalled consumer slows nobody else.

use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use redmux::pubsub::Event;
use redmux::{Client, Error, Message, Subscription};
use redmux_testkit::{CutMode, FaultProxy, RedisServer};

const PROTOCOLS: [&str; 2] = ["resp2", "resp3"];

async fn connect(url: &str, protocol: &str) -> Client {
    Client::connect(&format!("{url}?protocol={protocol}"))
        .await
        .expect("connect")
}

/// The next event, failing the test if none comes within 5 s.
async fn next_event(sub: &mut Subscription) -> Event {
    tokio::time::timeout(Duration::from_secs(5), sub.next())
        .await
        .expect("an event within 5 s")
        .expect("the stream is still open")
}

async fn next_message(sub: &mut Subscription) -> Message {
    match next_event(sub).await {
        Event::Message(m) => m,
        other => panic!("expected a message, got {other:?}"),
    }
}

/// Waits until `PUBSUB NUMSUB channel` says `expected`.
async fn wait_numsub(client: &Client, channel: &str, expected: u64) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let counts: Vec<(String, u64)> = client.pubsub_numsub([channel]).await.unwrap();
        if counts[0].1 == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "NUMSUB {channel} stayed {} (expected {expected})",
            counts[0].1
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_subscription_gets_its_channels_messages_in_order() {
    let server = RedisServer::start().unwrap();
    for protocol in PROTOCOLS {
        let client = connect(&server.url(), protocol).await;
        let publisher = connect(&server.url(), protocol).await;
        // Buffers big enough for everything: they are read one after another.
        const N: usize = 5000;
        let mut a1 = client.subscribe("a").buffer(N).await.unwrap();
        let mut a2 = client.subscribe("a").buffer(N).await.unwrap();
        let mut ab = client.subscribe(["a", "b"]).buffer(N).await.unwrap();
        // Three subscriptions, one server-side subscription per channel.
        let counts: Vec<(String, u64)> = publisher.pubsub_numsub(["a", "b"]).await.unwrap();
        assert_eq!(counts, [("a".into(), 1), ("b".into(), 1)], "{protocol}");
        let stats = client.subscriber_stats();
        assert!(stats.connected && stats.channels == 2, "{stats:?}");

        // Fire-and-forget, so the publishes are pipelined as hard as they can be.
        for i in 0..N {
            let channel = if i % 3 == 0 { "b" } else { "a" };
            publisher
                .publish(channel, format!("{channel}-{i}"))
                .fire_and_forget()
                .unwrap();
        }
        let expected_a: Vec<String> = (0..N)
            .filter(|i| i % 3 != 0)
            .map(|i| format!("a-{i}"))
            .collect();
        for sub in [&mut a1, &mut a2] {
            for want in &expected_a {
                let m = next_message(sub).await;
                assert_eq!(
                    (m.channel().as_ref(), m.payload_str()),
                    (&b"a"[..], Some(want.as_str()))
                );
            }
        }
        // Per channel, order holds; across channels it is the publish order too.
        let (mut next_a, mut next_b) = (0, 0);
        let expected_b: Vec<String> = (0..N)
            .filter(|i| i % 3 == 0)
            .map(|i| format!("b-{i}"))
            .collect();
        for _ in 0..N {
            let m = next_message(&mut ab).await;
            let payload = m.payload_str().unwrap().to_string();
            if m.channel() == "a" {
                assert_eq!(payload, expected_a[next_a]);
                next_a += 1;
            } else {
                assert_eq!(payload, expected_b[next_b]);
                next_b += 1;
            }
            assert!(m.pattern().is_none());
        }
        for sub in [&mut a1, &mut a2, &mut ab] {
            assert!(sub.try_next().is_none(), "nothing more");
            assert_eq!(sub.lagged(), 0);
        }
    }
}

#[tokio::test]
async fn patterns_shard_channels_and_binary_payloads() {
    let server = RedisServer::start().unwrap();
    for protocol in PROTOCOLS {
        let client = connect(&server.url(), protocol).await;
        let mut news = client.psubscribe(["news.*", "*.sport"]).await.unwrap();
        let mut shard = client.ssubscribe("{room}:chat").await.unwrap();
        assert_eq!(client.pubsub_numpat().await.unwrap(), 2, "{protocol}");
        let shards: Vec<String> = client.pubsub_shardchannels(None::<&str>).await.unwrap();
        assert_eq!(shards, ["{room}:chat"]);
        let counts: Vec<(String, u64)> = client.pubsub_shardnumsub(["{room}:chat"]).await.unwrap();
        assert_eq!(counts[0].1, 1);

        // One channel matching both patterns: the server sends it once per pattern.
        assert_eq!(client.publish("news.sport", "goal").await.unwrap(), 2);
        let mut patterns = Vec::new();
        for _ in 0..2 {
            let m = next_message(&mut news).await;
            assert_eq!(
                (m.channel().as_ref(), m.payload().as_ref()),
                (&b"news.sport"[..], &b"goal"[..])
            );
            patterns.push(m.pattern().cloned().unwrap());
        }
        patterns.sort();
        assert_eq!(patterns, ["*.sport", "news.*"]);

        // Binary and large payloads arrive byte for byte.
        let binary = Bytes::from((0..=255u8).cycle().take(1 << 20).collect::<Vec<u8>>());
        assert_eq!(
            client
                .spublish("{room}:chat", binary.clone())
                .await
                .unwrap(),
            1
        );
        let m = next_message(&mut shard).await;
        assert_eq!(
            (m.channel().as_ref(), m.payload()),
            (&b"{room}:chat"[..], &binary)
        );
        // A plain PUBLISH does not reach a shard subscription, nor SPUBLISH a pattern.
        assert_eq!(client.publish("{room}:chat", "x").await.unwrap(), 0);
        assert_eq!(client.spublish("news.x", "x").await.unwrap(), 0);
        assert!(shard.try_next().is_none() && news.try_next().is_none());
    }
}

#[tokio::test]
async fn dropping_the_last_subscription_unsubscribes() {
    let server = RedisServer::start().unwrap();
    for protocol in PROTOCOLS {
        let client = connect(&server.url(), protocol).await;
        let first = client.subscribe("ch").await.unwrap();
        let mut second = client.subscribe("ch").await.unwrap();
        wait_numsub(&client, "ch", 1).await;

        drop(first);
        // The other subscription still holds the server-side one, and still gets messages.
        tokio::time::sleep(Duration::from_millis(50)).await;
        wait_numsub(&client, "ch", 1).await;
        client.publish("ch", "still here").await.unwrap();
        assert_eq!(
            next_message(&mut second).await.payload_str(),
            Some("still here")
        );

        drop(second);
        wait_numsub(&client, "ch", 0).await;
        assert_eq!(client.subscriber_stats().channels, 0);

        // An explicit unsubscribe waits for the server: NUMSUB is 0 as soon as it returns.
        let third = client.subscribe("ch").await.unwrap();
        wait_numsub(&client, "ch", 1).await;
        third.unsubscribe().await.unwrap();
        let counts: Vec<(String, u64)> = client.pubsub_numsub(["ch"]).await.unwrap();
        assert_eq!(counts[0].1, 0, "{protocol}");

        // Subscribing again after all that works as the first time did.
        let mut again = client.subscribe("ch").await.unwrap();
        client.publish("ch", "back").await.unwrap();
        assert_eq!(next_message(&mut again).await.payload_str(), Some("back"));
    }
}

#[tokio::test]
async fn subscriptions_come_back_after_a_server_restart() {
    let server = RedisServer::start().unwrap();
    for protocol in PROTOCOLS {
        let client = connect(&server.url(), protocol).await;
        let mut plain = client.subscribe("ch").await.unwrap();
        let mut pattern = client.psubscribe("p.*").await.unwrap();
        let mut shard = client.ssubscribe("sh").await.unwrap();
        // More channels than fit in one resubscription command.
        let many: Vec<String> = (0..2500).map(|i| format!("many:{i}")).collect();
        let mut crowd = client.subscribe(many.clone()).await.unwrap();

        server.restart().unwrap();
        for sub in [&mut plain, &mut pattern, &mut shard, &mut crowd] {
            assert_eq!(next_event(sub).await, Event::Gap, "{protocol}");
        }
        // The gap is told once everything is subscribed again: publish at once.
        assert_eq!(client.publish("ch", "1").await.unwrap(), 1);
        assert_eq!(client.publish("p.x", "2").await.unwrap(), 1);
        assert_eq!(client.spublish("sh", "3").await.unwrap(), 1);
        assert_eq!(client.publish("many:2499", "4").await.unwrap(), 1);
        assert_eq!(next_message(&mut plain).await.payload_str(), Some("1"));
        assert_eq!(next_message(&mut pattern).await.payload_str(), Some("2"));
        assert_eq!(next_message(&mut shard).await.payload_str(), Some("3"));
        assert_eq!(next_message(&mut crowd).await.payload_str(), Some("4"));
        let counts: Vec<(String, u64)> = client.pubsub_numsub(&many).await.unwrap();
        assert!(counts.iter().all(|(_, n)| *n == 1));
        assert!(client.subscriber_stats().reconnects >= 1);
    }
}

#[tokio::test]
async fn a_cut_connection_is_rebuilt_and_the_gap_told_in_stream_order() {
    let server = RedisServer::start().unwrap();
    let proxy = FaultProxy::start(server.addr()).unwrap();
    let publisher = Client::connect(&server.url()).await.unwrap();
    for protocol in PROTOCOLS {
        let client = connect(&proxy.url(), protocol).await;
        let mut sub = client.subscribe("ch").await.unwrap();
        publisher.publish("ch", "before").await.unwrap();
        assert_eq!(next_message(&mut sub).await.payload_str(), Some("before"));
        proxy.refuse(true);
        proxy.cut(CutMode::Reset);
        // Published while the subscriber is down: lost, as pub/sub loses it.
        wait_numsub(&publisher, "ch", 0).await;
        assert_eq!(publisher.publish("ch", "lost").await.unwrap(), 0);
        proxy.refuse(false);
        assert_eq!(next_event(&mut sub).await, Event::Gap);
        publisher.publish("ch", "after").await.unwrap();
        assert_eq!(next_message(&mut sub).await.payload_str(), Some("after"));
        drop(sub);
        drop(client);
        wait_numsub(&publisher, "ch", 0).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_consumer_slows_no_other_subscription() {
    let server = RedisServer::start().unwrap();
    for protocol in PROTOCOLS {
        let client = connect(&server.url(), protocol).await;
        let publisher = connect(&server.url(), protocol).await;
        const N: usize = 20_000;
        const BUFFER: usize = 100;
        // Never read until the end: full after BUFFER messages.
        let mut stalled = client.subscribe("a").buffer(BUFFER).await.unwrap();
        // Beside it, on the same subscriber connection: another subscription to A,
        // and one to B. Their buffers hold everything, so only a reader that
        // waited for room in the stalled one could keep a message from them: a
        // wait that never ends shows as a hang, a message dropped as a hole in the
        // sequence, and no timing is needed.
        let mut same_channel = client.subscribe("a").buffer(N).await.unwrap();
        let mut other_channel = client.subscribe("b").buffer(N).await.unwrap();
        for i in 0..N {
            publisher.publish("a", i).fire_and_forget().unwrap();
            publisher.publish("b", i).fire_and_forget().unwrap();
        }
        for (channel, reader) in [("b", &mut other_channel), ("a", &mut same_channel)] {
            for i in 0..N {
                // A Lagged event here would fail: next_message wants a message.
                let m = next_message(reader).await;
                assert_eq!(
                    (m.channel().as_ref(), m.payload_str()),
                    (channel.as_bytes(), Some(i.to_string().as_str())),
                    "{protocol}"
                );
            }
            assert_eq!(reader.lagged(), 0, "{protocol}: {channel} lost nothing");
            assert!(reader.try_next().is_none(), "{protocol}: nothing more");
        }

        // The stalled one kept its first BUFFER messages, counted the rest, and
        // says so where they went missing.
        assert_eq!(stalled.lagged(), (N - BUFFER) as u64, "{protocol}");
        for i in 0..BUFFER {
            assert_eq!(
                next_message(&mut stalled).await.payload_str(),
                Some(i.to_string().as_str())
            );
        }
        assert_eq!(
            next_event(&mut stalled).await,
            Event::Lagged((N - BUFFER) as u64),
            "{protocol}"
        );
        // Caught up: it gets new messages again, and so do the others.
        publisher.publish("a", "fresh").await.unwrap();
        publisher.publish("b", "fresh").await.unwrap();
        for sub in [&mut stalled, &mut same_channel, &mut other_channel] {
            assert_eq!(next_message(sub).await.payload_str(), Some("fresh"));
        }
        assert_eq!(stalled.lagged(), (N - BUFFER) as u64);
    }
}

#[tokio::test]
async fn pubsub_channels_lists_the_channels_with_subscribers() {
    let server = RedisServer::start().unwrap();
    let sorted = |mut names: Vec<String>| {
        names.sort();
        names
    };
    for protocol in PROTOCOLS {
        let client = connect(&server.url(), protocol).await;
        let admin = connect(&server.url(), protocol).await;
        let news = client
            .subscribe(["news.local", "news.world"])
            .await
            .unwrap();
        let weather = client.subscribe("weather").await.unwrap();
        // Neither a pattern nor a shard channel is a channel to PUBSUB CHANNELS.
        let _pattern = client.psubscribe("news.*").await.unwrap();
        let _shard = client.ssubscribe("{room}:chat").await.unwrap();

        let all: Vec<String> = admin.pubsub_channels(None::<&str>).await.unwrap();
        assert_eq!(
            sorted(all),
            ["news.local", "news.world", "weather"],
            "{protocol}"
        );
        let news_only: Vec<String> = admin.pubsub_channels(Some("news.*")).await.unwrap();
        assert_eq!(
            sorted(news_only),
            ["news.local", "news.world"],
            "{protocol}"
        );
        let glob: Vec<String> = admin.pubsub_channels(Some("*[lr]")).await.unwrap();
        assert_eq!(sorted(glob), ["news.local", "weather"], "{protocol}");
        let none: Vec<String> = admin.pubsub_channels(Some("sport.*")).await.unwrap();
        assert!(none.is_empty(), "{protocol}: {none:?}");

        // A channel leaves the list with its last subscription.
        let again = client.subscribe("weather").await.unwrap();
        weather.unsubscribe().await.unwrap();
        let all: Vec<String> = admin.pubsub_channels(None::<&str>).await.unwrap();
        assert_eq!(sorted(all), ["news.local", "news.world", "weather"]);
        again.unsubscribe().await.unwrap();
        news.unsubscribe().await.unwrap();
        let all: Vec<String> = admin.pubsub_channels(None::<&str>).await.unwrap();
        assert!(all.is_empty(), "{protocol}: {all:?}");
    }
}

#[tokio::test]
async fn refused_subscriptions_fail_and_leave_the_others_working() {
    let server = RedisServer::start().unwrap();
    let admin = Client::connect(&server.url()).await.unwrap();
    let _: redmux::Value = admin
        .command(redmux::cmd("ACL").args([
            "SETUSER",
            "limited",
            "on",
            ">pw",
            "resetchannels",
            "&ok:*",
            "+@all",
            "~*",
        ]))
        .await
        .unwrap();
    let port = server.port();
    for protocol in PROTOCOLS {
        let client = Client::connect(&format!(
            "redis://limited:pw@127.0.0.1:{port}?protocol={protocol}"
        ))
        .await
        .unwrap();
        let mut ok = client.subscribe("ok:1").await.unwrap();
        let refused = client.subscribe(["ok:2", "secret"]).await.unwrap_err();
        assert!(
            matches!(&refused, Error::Server(e) if e.code() == "NOPERM"),
            "{refused}"
        );
        let refused = client.psubscribe("*").await.unwrap_err();
        assert!(
            matches!(&refused, Error::Server(e) if e.code() == "NOPERM"),
            "{refused}"
        );
        let empty = client.subscribe(Vec::<String>::new()).await.unwrap_err();
        assert!(matches!(empty, Error::Config(_)), "{empty}");

        admin.publish("ok:1", "fine").await.unwrap();
        assert_eq!(next_message(&mut ok).await.payload_str(), Some("fine"));
        let counts: Vec<(String, u64)> = admin.pubsub_numsub(["ok:1", "ok:2"]).await.unwrap();
        assert_eq!(counts[0].1, 1);
        assert_eq!(counts[1].1, 0, "the refused command subscribed nothing");
        assert_eq!(client.subscriber_stats().channels, 1);
    }
}

#[tokio::test]
async fn closing_the_client_ends_the_streams() {
    let server = RedisServer::start().unwrap();
    let client = Client::connect(&server.url()).await.unwrap();
    let mut sub = client.subscribe("ch").await.unwrap();
    client.publish("ch", "last").await.unwrap();
    client.close().await;
    // What was buffered is still read; then the stream ends.
    let mut rest = Vec::new();
    while let Some(event) = tokio::time::timeout(Duration::from_secs(5), sub.next())
        .await
        .expect("the stream ends within 5 s")
    {
        rest.push(event);
    }
    assert!(rest.len() <= 1, "{rest:?}");
    assert!(matches!(
        client.subscribe("other").await,
        Err(Error::Closed)
    ));
}

#[tokio::test]
async fn a_subscription_keeps_its_client_alive() {
    let server = RedisServer::start().unwrap();
    let publisher = Client::connect(&server.url()).await.unwrap();
    let mut sub = Client::connect(&server.url())
        .await
        .unwrap()
        .subscribe("ch")
        .await
        .unwrap();
    publisher.publish("ch", "hi").await.unwrap();
    assert_eq!(next_message(&mut sub).await.payload_str(), Some("hi"));
    assert!(sub.client().ping().await.is_ok());
}

#[test]
fn public_handles_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Subscription>();
    send_sync::<Message>();
    send_sync::<Event>();
    fn send<T: Send>(_: T) {}
    // The subscribe future can be spawned.
    let _ = |client: Client| send(async move { client.subscribe("x").await });
}

#[tokio::test]
async fn unsubscribing_while_disconnected_returns_at_once_and_stays_unsubscribed() {
    let server = RedisServer::start().unwrap();
    let proxy = FaultProxy::start(server.addr()).unwrap();
    let admin = Client::connect(&server.url()).await.unwrap();
    let client = Client::connect(&proxy.url()).await.unwrap();
    let mut kept = client.subscribe("kept").await.unwrap();
    let gone = client.subscribe("gone").await.unwrap();
    proxy.refuse(true);
    proxy.cut(CutMode::Reset);
    let deadline = Instant::now() + Duration::from_secs(5);
    while client.subscriber_stats().connected {
        assert!(
            Instant::now() < deadline,
            "the subscriber never noticed the cut"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::timeout(Duration::from_millis(500), gone.unsubscribe())
        .await
        .expect("no wait for a server that is not there")
        .unwrap();
    proxy.resume();
    assert_eq!(next_event(&mut kept).await, Event::Gap);
    wait_numsub(&admin, "kept", 1).await;
    let counts: Vec<(String, u64)> = admin.pubsub_numsub(["gone"]).await.unwrap();
    assert_eq!(counts[0].1, 0, "resubscribed to a channel nobody wants");
}

/// `Duration::MAX` as the heartbeat or the dead-link timeout means "never": the
/// subscriber's deadlines are computed from them without overflowing.
#[tokio::test]
async fn heartbeat_and_dead_link_timeouts_of_duration_max_mean_never() {
    let server = RedisServer::start().unwrap();
    let publisher = Client::connect(&server.url()).await.unwrap();
    let never_pings = {
        let mut config = redmux::Config::from_url(&server.url()).unwrap();
        config.heartbeat_interval = Duration::MAX;
        config.command_timeout = Duration::from_secs(2);
        config
    };
    let never_dead = {
        let mut config = redmux::Config::from_url(&server.url()).unwrap();
        // Pings at once, so one is outstanding while the dead-link deadline is set.
        config.heartbeat_interval = Duration::from_millis(10);
        config.dead_link_timeout = Duration::MAX;
        config.command_timeout = Duration::from_secs(2);
        config
    };
    for config in [never_pings, never_dead] {
        let client = Client::connect_with(config).await.unwrap();
        let mut sub = client.subscribe("ch").await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        publisher.publish("ch", "hi").await.unwrap();
        assert_eq!(next_message(&mut sub).await.payload_str(), Some("hi"));
        assert!(client.subscriber_stats().connected);
        client.close().await;
    }
}

/// A subscription made on a lazily started client before its server is up waits
/// for the first connection, within its timeout, and then receives messages.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscription_on_a_lazy_client_waits_for_the_server() {
    let server = std::sync::Arc::new(RedisServer::start().unwrap());
    server.kill();
    let client = Client::connect_lazy(redmux::Config::from_url(&server.url()).unwrap()).unwrap();
    // Too short a wait: a timeout that says nothing was sent, not a connect error.
    let early = client
        .subscribe("news")
        .timeout(Duration::from_millis(100))
        .await;
    assert!(
        matches!(&early, Err(e @ Error::Timeout(_)) if e.status().safe_to_retry()),
        "{early:?}"
    );
    let subscribing = tokio::spawn({
        let client = client.clone();
        async move {
            client
                .subscribe("news")
                .timeout(Duration::from_secs(10))
                .await
        }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!subscribing.is_finished(), "{:?}", subscribing.await);
    let restarted = server.clone();
    tokio::task::spawn_blocking(move || restarted.restart().unwrap())
        .await
        .unwrap();
    let mut sub = subscribing.await.unwrap().unwrap();
    client.publish("news", "hello").await.unwrap();
    let message = next_message(&mut sub).await;
    assert_eq!(message.payload_str(), Some("hello"));
}

/// A subscriber whose server starts rejecting its credentials fails the
/// subscriptions waiting for it with `Error::Auth` at once, and refuses new ones
/// the same way, as the shared connection does, instead of retrying silently until
/// each call times out. It keeps trying (with backoff), and once the server takes
/// the credentials again, the subscriptions made before come back.
#[tokio::test]
async fn a_subscriber_facing_rejected_credentials_fails_fast() {
    for protocol in PROTOCOLS {
        let server = RedisServer::start().unwrap();
        let client = connect(&server.url(), protocol).await;
        let admin = connect(&server.url(), "resp2").await;
        let mut before = client.subscribe("before").await.unwrap();
        admin
            .command::<()>(
                redmux::cmd("CONFIG")
                    .arg("SET")
                    .arg("requirepass")
                    .arg("rotated"),
            )
            .await
            .unwrap();
        // Only the subscriber's connection goes; the shared one stays authenticated.
        let killed: i64 = admin
            .command(redmux::cmd("CLIENT").arg("KILL").arg("TYPE").arg("pubsub"))
            .await
            .unwrap();
        assert_eq!(killed, 1, "{protocol}");

        let started = Instant::now();
        let err = client
            .subscribe("after")
            .timeout(Duration::from_secs(10))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Auth(_)), "{protocol}: {err:?}");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{protocol}: took {:?}",
            started.elapsed()
        );
        // Now refused at once.
        let started = Instant::now();
        let err = client
            .subscribe("later")
            .timeout(Duration::from_secs(10))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Auth(_)), "{protocol}: {err:?}");
        assert!(started.elapsed() < Duration::from_millis(200), "{protocol}");

        admin
            .command::<()>(redmux::cmd("CONFIG").arg("SET").arg("requirepass").arg(""))
            .await
            .unwrap();
        wait_numsub(&admin, "before", 1).await;
        admin.publish("before", "back").await.unwrap();
        loop {
            match next_event(&mut before).await {
                Event::Message(m) => {
                    assert_eq!(m.payload_str(), Some("back"));
                    break;
                }
                _gap => {}
            }
        }
    }
}
