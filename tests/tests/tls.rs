//! TLS against a real TLS server from the test kit (certificates made at test time):
//! load over one connection, the fast path, the large-value path, mutual TLS, every
//! certificate failure named and within the connect timeout, the two insecure
//! modes, plaintext and TLS never mixed, pub/sub and dedicated connections.
//!
//! A server binary built without TLS (Valkey's PyPI wheel) cannot run these: each
//! test then prints why and returns, so the suite passes on both servers.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::future::join_all;
use redmux::cmd;
use redmux::pubsub::Event;
use redmux::{Bytes, Client, Config, Error, TlsConfig};
use redmux_testkit::{CutMode, FaultProxy, RedisServer, ServerCertificate, TlsFiles, TlsMode};

/// A TLS server, or `None` (with the reason printed) when this binary has no TLS.
fn tls_server(mode: TlsMode, certificate: ServerCertificate) -> Option<RedisServer> {
    match RedisServer::builder()
        .tls(mode)
        .tls_certificate(certificate)
        .start()
    {
        Ok(server) => Some(server),
        Err(redmux_testkit::Error::TlsUnsupported { .. }) => {
            eprintln!("skipped: this redis-server has no TLS support (it refused --tls-port)");
            None
        }
        Err(e) => panic!("{e}"),
    }
}

fn files(server: &RedisServer) -> &TlsFiles {
    server.tls_files().expect("a TLS server has TLS files")
}

/// The server's URL with these TLS settings and a short connect timeout.
fn config(server: &RedisServer, tls: TlsConfig) -> Config {
    let mut config = Config::from_url(&server.url()).unwrap();
    config.tls = Some(tls);
    config.connect_timeout = Duration::from_secs(3);
    config
}

/// Trusts the test CA, as a client of this server should.
fn trusting(server: &RedisServer) -> TlsConfig {
    TlsConfig::new().ca_file(files(server).ca())
}

fn with_client_cert(server: &RedisServer) -> TlsConfig {
    let f = files(server);
    trusting(server).client_cert_files(f.client_cert(), f.client_key())
}

/// Connecting must fail: returns the message and how long it took.
async fn refused(config: Config) -> (String, Duration) {
    let started = Instant::now();
    match Client::connect_with(config).await {
        Ok(_) => panic!("connected, but the connection should have been refused"),
        Err(e) => (e.to_string(), started.elapsed()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_tasks_each_get_their_own_values() {
    let Some(server) = tls_server(TlsMode::ServerOnly, ServerCertificate::Valid) else {
        return;
    };
    let client = Client::connect_with(config(&server, trusting(&server)))
        .await
        .unwrap();
    let tasks: Vec<_> = (0..200)
        .map(|t| {
            let client = client.clone();
            tokio::spawn(async move {
                for i in 0..500 {
                    let key = format!("task:{t}:{i}");
                    let value = format!("value-{t}-{i}-{}", "x".repeat((t * 7 + i) % 60));
                    client.set(&key, &value).await.unwrap();
                    let back: Option<String> = client.get(&key).await.unwrap();
                    assert_eq!(back.as_deref(), Some(value.as_str()), "{key}");
                }
            })
        })
        .collect();
    for t in join_all(tasks).await {
        t.unwrap();
    }
    let stats = client.stats();
    assert_eq!(stats.commands_sent, stats.replies);
    assert!(stats.commands_sent >= 200_000, "{stats:?}");
    // The writer batched under this load: far fewer writes than commands.
    assert!(stats.commands_per_write() > 1.5, "{stats:?}");
}

/// One caller at a time: each command goes out on the fast path (the caller's own
/// `try_write` through the TLS session), one write per command.
#[tokio::test]
async fn a_lone_caller_writes_its_own_commands() {
    let Some(server) = tls_server(TlsMode::ServerOnly, ServerCertificate::Valid) else {
        return;
    };
    let client = Client::connect_with(config(&server, trusting(&server)))
        .await
        .unwrap();
    client.set("lone", "start").await.unwrap();
    let before = client.stats();
    for i in 0..2_000 {
        let value = format!("v{i}");
        client.set("lone", &value).await.unwrap();
        let back: Option<String> = client.get("lone").await.unwrap();
        assert_eq!(back, Some(value));
    }
    let after = client.stats();
    let commands = after.commands_sent - before.commands_sent;
    let writes = after.writes - before.writes;
    assert_eq!(commands, 4_000);
    // Nothing was ever batched, and no command needed the writer to finish it.
    assert!(
        writes >= commands && writes <= commands + 20,
        "{writes} writes for {commands} commands"
    );
}

/// A 4 MiB value goes out from its own buffer (encrypted where it lies), far more
/// than rustls buffers at once, so the writer waits for the socket in between.
#[tokio::test]
async fn a_four_mebibyte_value_round_trips() {
    let Some(server) = tls_server(TlsMode::ServerOnly, ServerCertificate::Valid) else {
        return;
    };
    let client = Client::connect_with(config(&server, trusting(&server)))
        .await
        .unwrap();
    let value: Vec<u8> = (0..4 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    let value = Bytes::from(value);
    for round in 0..3 {
        let key = format!("big:{round}");
        client.set(&key, value.clone()).await.unwrap();
        let back: Option<Vec<u8>> = client.get(&key).await.unwrap();
        assert!(back.as_deref() == Some(&value[..]), "round {round}");
    }
    // Small commands before and after still line up.
    client.set("after", "ok").await.unwrap();
    let back: Option<String> = client.get("after").await.unwrap();
    assert_eq!(back.as_deref(), Some("ok"));
}

#[tokio::test]
async fn mutual_tls_works_with_the_client_certificate() {
    let Some(server) = tls_server(TlsMode::Mutual, ServerCertificate::Valid) else {
        return;
    };
    let client = Client::connect_with(config(&server, with_client_cert(&server)))
        .await
        .unwrap();
    client.set("mtls", "yes").await.unwrap();
    let back: Option<String> = client.get("mtls").await.unwrap();
    assert_eq!(back.as_deref(), Some("yes"));
}

/// Under TLS 1.3 the server refuses a missing certificate after the client thinks
/// the handshake is done; the HELLO/PING of our own handshake brings it to connect.
#[tokio::test]
async fn a_missing_client_certificate_fails_at_connect_saying_so() {
    let Some(server) = tls_server(TlsMode::Mutual, ServerCertificate::Valid) else {
        return;
    };
    let (message, took) = refused(config(&server, trusting(&server))).await;
    assert!(message.contains("client certificate"), "{message}");
    assert!(took < Duration::from_secs(3), "{took:?}");
}

#[tokio::test]
async fn a_client_certificate_from_another_ca_fails_saying_so() {
    let Some(server) = tls_server(TlsMode::Mutual, ServerCertificate::Valid) else {
        return;
    };
    let f = files(&server);
    let tls = trusting(&server).client_cert_files(f.other_client_cert(), f.other_client_key());
    let (message, took) = refused(config(&server, tls)).await;
    assert!(message.contains("client certificate"), "{message}");
    assert!(took < Duration::from_secs(3), "{took:?}");
}

#[tokio::test]
async fn a_wrong_ca_fails_within_the_connect_timeout_naming_the_issuer() {
    let Some(server) = tls_server(TlsMode::ServerOnly, ServerCertificate::Valid) else {
        return;
    };
    let tls = TlsConfig::new().ca_file(files(&server).other_ca());
    let (message, took) = refused(config(&server, tls)).await;
    assert!(message.contains("unknown issuer"), "{message}");
    assert!(took < Duration::from_secs(3), "{took:?}");
}

#[tokio::test]
async fn a_certificate_for_another_host_fails_naming_the_mismatch() {
    let Some(server) = tls_server(TlsMode::ServerOnly, ServerCertificate::OtherHost) else {
        return;
    };
    let (message, _) = refused(config(&server, trusting(&server))).await;
    assert!(message.contains("name mismatch"), "{message}");
    // The certificate's own name is accepted once it is the one checked.
    let tls = trusting(&server).server_name("other.invalid");
    let client = Client::connect_with(config(&server, tls)).await.unwrap();
    client.ping().await.unwrap();
}

#[tokio::test]
async fn an_expired_certificate_fails_saying_so() {
    let Some(server) = tls_server(TlsMode::ServerOnly, ServerCertificate::Expired) else {
        return;
    };
    let (message, _) = refused(config(&server, trusting(&server))).await;
    assert!(message.contains("expired"), "{message}");
}

/// The host name is the default server name: `localhost` is checked against the DNS
/// SAN, `127.0.0.1` against the IP SAN.
#[tokio::test]
async fn host_names_and_ip_addresses_are_both_checked() {
    let Some(server) = tls_server(TlsMode::ServerOnly, ServerCertificate::Valid) else {
        return;
    };
    for url in [
        format!("rediss://localhost:{}", server.port()),
        format!("valkeys://127.0.0.1:{}", server.port()),
    ] {
        let mut config = Config::from_url(&url).unwrap();
        config.tls = Some(trusting(&server));
        let client = Client::connect_with(config).await.unwrap();
        client.ping().await.unwrap();
    }
}

/// Counts warnings that mention TLS, on the thread that sets it as default.
struct WarnCounter(Arc<AtomicUsize>);

impl tracing::Subscriber for WarnCounter {
    fn enabled(&self, metadata: &tracing::Metadata<'_>) -> bool {
        *metadata.level() == tracing::Level::WARN
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        struct Message(bool);
        impl tracing::field::Visit for Message {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                if field.name() == "message" && format!("{value:?}").contains("TLS") {
                    self.0 = true;
                }
            }
        }
        let mut message = Message(false);
        event.record(&mut message);
        if message.0 {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

/// "Skip the hostname check" accepts another host's certificate from a trusted CA
/// but not an untrusted one; "no verification" accepts both. Each connection says
/// so at warn.
#[tokio::test]
async fn the_two_insecure_modes_are_separate_and_logged() {
    let Some(server) = tls_server(TlsMode::ServerOnly, ServerCertificate::OtherHost) else {
        return;
    };
    let warnings = Arc::new(AtomicUsize::new(0));
    let _guard = tracing::subscriber::set_default(WarnCounter(warnings.clone()));

    let skip_name = trusting(&server).danger_accept_invalid_hostnames(true);
    let client = Client::connect_with(config(&server, skip_name))
        .await
        .unwrap();
    client.ping().await.unwrap();
    assert!(warnings.load(Ordering::SeqCst) >= 1);

    let wrong_ca = TlsConfig::new()
        .ca_file(files(&server).other_ca())
        .danger_accept_invalid_hostnames(true);
    let (message, _) = refused(config(&server, wrong_ca)).await;
    assert!(message.contains("unknown issuer"), "{message}");

    let before = warnings.load(Ordering::SeqCst);
    let anything = TlsConfig::new()
        .ca_file(files(&server).other_ca())
        .danger_accept_invalid_certs(true);
    let client = Client::connect_with(config(&server, anything))
        .await
        .unwrap();
    client.ping().await.unwrap();
    assert!(warnings.load(Ordering::SeqCst) > before);
}

/// The server resets a connection that does not speak TLS: no hang until a timeout.
#[tokio::test]
async fn a_plaintext_client_at_the_tls_port_fails_fast() {
    let Some(server) = tls_server(TlsMode::ServerOnly, ServerCertificate::Valid) else {
        return;
    };
    let mut config = Config::from_url(&format!("redis://127.0.0.1:{}", server.port())).unwrap();
    config.connect_timeout = Duration::from_secs(5);
    let (message, took) = refused(config).await;
    assert!(took < Duration::from_secs(2), "took {took:?}: {message}");
    assert!(message.contains("rediss://"), "{message}");
}

/// TLS asked for and a plaintext server found: an error, never a plaintext session.
#[tokio::test]
async fn a_tls_client_at_a_plaintext_port_fails_and_does_not_fall_back() {
    let server = RedisServer::start().unwrap();
    let mut config = Config::from_url(&server.url()).unwrap();
    config.tls = Some(TlsConfig::new().danger_accept_invalid_certs(true));
    config.connect_timeout = Duration::from_secs(3);
    let started = Instant::now();
    match Client::connect_with(config).await {
        Ok(_) => panic!("a TLS client must not talk plaintext"),
        Err(Error::Connect { reason, .. }) => {
            assert!(started.elapsed() < Duration::from_secs(4), "{reason}");
        }
        Err(e) => panic!("expected a connect error, got {e}"),
    }
}

#[tokio::test]
async fn pubsub_over_tls() {
    let Some(server) = tls_server(TlsMode::Mutual, ServerCertificate::Valid) else {
        return;
    };
    let client = Client::connect_with(config(&server, with_client_cert(&server)))
        .await
        .unwrap();
    let mut subscription = client.subscribe("news").await.unwrap();
    let receivers: u64 = client.publish("news", "over tls").await.unwrap();
    assert_eq!(receivers, 1);
    let event = tokio::time::timeout(Duration::from_secs(5), subscription.next())
        .await
        .expect("a message within 5 s")
        .expect("the subscription is open");
    match event {
        Event::Message(message) => assert_eq!(&message.payload()[..], b"over tls"),
        other => panic!("expected a message, got {other:?}"),
    }
}

#[tokio::test]
async fn a_dedicated_connection_over_tls() {
    let Some(server) = tls_server(TlsMode::Mutual, ServerCertificate::Valid) else {
        return;
    };
    let client = Client::connect_with(config(&server, with_client_cert(&server)))
        .await
        .unwrap();
    let dedicated = client.dedicated().await.unwrap();
    client.rpush("jobs", "one").await.unwrap();
    let popped: Option<(String, String)> = dedicated
        .command(redmux::cmd("BLPOP").arg("jobs").arg(1))
        .await
        .unwrap();
    assert_eq!(popped, Some(("jobs".into(), "one".into())));
}

/// TLS through a proxy that cuts the connection every 100 ms: few callers, so most
/// commands take the fast path and the cuts land in the middle of TLS records. No
/// reply reaches the wrong caller, and each reconnect runs a new TLS handshake.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cuts_mid_record_never_cross_replies() {
    let Some(server) = tls_server(TlsMode::ServerOnly, ServerCertificate::Valid) else {
        return;
    };
    let proxy = Arc::new(FaultProxy::start(server.addr()).unwrap());
    let mut config = config(&server, trusting(&server));
    config.addr = Config::from_url(&proxy.url()).unwrap().addr;
    config.command_timeout = Duration::from_millis(500);
    let client = Client::connect_with(config).await.unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let cutter = {
        let (proxy, done) = (proxy.clone(), done.clone());
        tokio::spawn(async move {
            let mut cuts = 0u32;
            while !done.load(Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_millis(100)).await;
                proxy.cut(if cuts.is_multiple_of(2) {
                    CutMode::Reset
                } else {
                    CutMode::Close
                });
                cuts += 1;
            }
            cuts
        })
    };
    let successes = Arc::new(AtomicU64::new(0));
    let tasks: Vec<_> = (0..4)
        .map(|t| {
            let (client, successes) = (client.clone(), successes.clone());
            tokio::spawn(async move {
                let started = Instant::now();
                let mut i = 0u64;
                while started.elapsed() < Duration::from_secs(2) {
                    // Some large enough to span several TLS records.
                    let mine = format!("t{t}:{i}:{}", "x".repeat((i as usize % 5) * 9_000));
                    if let Ok(v) = client.command::<String>(cmd("ECHO").arg(&mine)).await {
                        assert_eq!(v, mine, "task {t} got another caller's reply");
                        successes.fetch_add(1, Ordering::Relaxed);
                    }
                    i += 1;
                }
            })
        })
        .collect();
    for t in join_all(tasks).await {
        t.unwrap();
    }
    done.store(true, Ordering::Relaxed);
    let cuts = cutter.await.unwrap();
    let stats = client.stats();
    assert!(cuts >= 5, "{cuts} cuts");
    assert!(stats.reconnects >= 2, "{stats:?}");
    assert!(
        successes.load(Ordering::Relaxed) > 500,
        "{successes:?}, {stats:?}"
    );
    // And the link comes back whole: the last cut may have landed just now, so a
    // PING in flight then may fail as lost before the reconnect.
    let deadline = Instant::now() + Duration::from_secs(3);
    while let Err(e) = client.ping().await {
        assert!(
            Instant::now() < deadline,
            "no PING answered after the cuts: {e}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
