//! The state one client's connections share about its sentinels, and the
//! `locate` closure the connection layer calls before each dial.

use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::sync::watch;

use super::{ask, follow};
use crate::config::{Addr, Config, FindReplicas, Protocol};
use crate::error::{Error, Result};

/// How long after naming a primary the same answer counts as "that one failed":
/// the next ask then waits for `+switch-master` (up to the reconnect's longest
/// pause) rather than hand back a dead address at once.
const RECENT: Duration = Duration::from_secs(1);

/// The longest a sentinel may take to answer: a dead one must not hold up the
/// others for a whole `connect_timeout`.
const SENTINEL_TIMEOUT: Duration = Duration::from_secs(2);

/// What every connection of one client shares about its sentinels.
pub(super) struct Sentinels {
    pub(super) service: String,
    /// How to dial a sentinel: the client's timeouts and limits, the sentinels'
    /// credentials, RESP2, no sentinel of its own (`addr` is set per sentinel).
    pub(super) base: Config,
    /// The sentinels, the last one that answered first; grows with `SENTINEL
    /// SENTINELS`.
    pub(super) known: Mutex<Vec<(String, u16)>>,
    /// The primary `+switch-master` last announced.
    pub(super) switched: watch::Sender<Option<Addr>>,
    /// The primary last handed to a dial, and when.
    last: Mutex<Option<(Addr, Instant)>>,
    /// The reconnect's longest pause: how long to wait for `+switch-master`.
    max_wait: Duration,
}

/// As [`attach`], then asks the sentinels for the primary now and names it in
/// `config.addr` (what `Client::nodes` and logs show; the connections themselves
/// ask again before every dial). Returns how to ask them for the replicas, for
/// reads flagged for a replica.
pub(crate) async fn attach_and_locate(config: &mut Config) -> Result<Option<FindReplicas>> {
    match start(config)? {
        Some(state) => {
            config.addr = state.primary().await?;
            Ok(Some(finder(state)))
        }
        None => Ok(None),
    }
}

/// When `config.sentinel` is set (and not attached yet), starts following
/// `+switch-master` and sets `config.locate` to ask the sentinels; returns how to
/// ask them for the replicas. Must be called within a tokio runtime.
pub(crate) fn attach(config: &mut Config) -> Result<Option<FindReplicas>> {
    Ok(start(config)?.map(finder))
}

fn finder(state: Arc<Sentinels>) -> FindReplicas {
    Arc::new(move || {
        let state = state.clone();
        Box::pin(async move { state.replicas().await })
    })
}

fn start(config: &mut Config) -> Result<Option<Arc<Sentinels>>> {
    let Some(settings) = &config.sentinel else {
        return Ok(None);
    };
    if config.locate.is_some() {
        return Ok(None);
    }
    if settings.sentinels.is_empty() {
        return Err(Error::config("Config::sentinel has no sentinels to ask"));
    }
    let base = Config {
        seeds: Vec::new(),
        username: settings.username.clone(),
        password: settings.password.clone(),
        tls: settings.tls.clone(),
        // A sentinel link is plain request and reply: no tracking (its pushes
        // would be taken for replies' absence), no READONLY.
        client_cache: None,
        read_only: false,
        db: 0,
        protocol: Protocol::Resp2,
        client_name: None,
        connect_timeout: config.connect_timeout.min(SENTINEL_TIMEOUT),
        sentinel: None,
        credentials: None,
        locate: None,
        ..config.clone()
    };
    let state = Arc::new(Sentinels {
        service: settings.service_name.clone(),
        base,
        known: Mutex::new(settings.sentinels.clone()),
        switched: watch::channel(None).0,
        last: Mutex::new(None),
        max_wait: config.reconnect.max_delay,
    });
    tokio::spawn(follow::run(Arc::downgrade(&state)));
    let located = state.clone();
    config.locate = Some(Arc::new(move || {
        let state = located.clone();
        Box::pin(async move { state.locate().await })
    }));
    Ok(Some(state))
}

/// How long a quick look at whether a named primary takes connections may take.
const REACHABLE_TIMEOUT: Duration = Duration::from_millis(200);

/// Whether `addr` takes a TCP connection within [`REACHABLE_TIMEOUT`].
async fn reachable(addr: &Addr) -> bool {
    let Addr::Tcp { host, port } = addr else {
        return true;
    };
    let dial = tokio::net::TcpStream::connect((host.as_str(), *port));
    matches!(
        tokio::time::timeout(REACHABLE_TIMEOUT, dial).await,
        Ok(Ok(_))
    )
}

impl Sentinels {
    /// The primary to dial now.
    async fn locate(&self) -> Result<Addr> {
        let mut switched = self.switched.subscribe();
        switched.mark_unchanged();
        let mut addr = self.primary().await?;
        let repeated = matches!(&*self.last.lock(), Some((last, at)) if *last == addr && at.elapsed() < RECENT);
        // Every connection of the client asks here (the multiplexer, the
        // subscriber, each dedicated one): a second ask soon after the first is
        // not by itself a failed dial. A primary that takes a TCP connection is
        // dialled at once (the handshake's ROLE check refuses a demoted one).
        if repeated && !reachable(&addr).await {
            // The last dial to this address failed or its connection was lost:
            // wait for the sentinels to announce a new primary, as long as the
            // reconnect's own pause would have been.
            let announced = tokio::time::timeout(self.max_wait, switched.changed()).await;
            if let (Ok(Ok(())), Some(new)) = (announced, switched.borrow_and_update().clone()) {
                tracing::info!(primary = %new, "+switch-master: dialing the new primary");
                addr = new;
            }
        }
        *self.last.lock() = Some((addr.clone(), Instant::now()));
        Ok(addr)
    }

    /// Asks the sentinels in turn until one names the primary; moves that one to
    /// the front and adds the peers it reports.
    async fn primary(&self) -> Result<Addr> {
        let known = self.known.lock().clone();
        let mut failures = Vec::new();
        for (host, port) in known {
            let config = self.dial_config(&host, port);
            match ask::ask(&config, &self.service).await {
                Ok(ask::Answer {
                    primary: Some(primary),
                    peers,
                }) => {
                    self.learn(&host, port, peers);
                    return Ok(primary);
                }
                Ok(_) => failures.push(format!(
                    "{}: does not know service {:?}",
                    config.addr, self.service
                )),
                Err(e) => failures.push(format!("{}: {e}", config.addr)),
            }
        }
        Err(Error::Connect {
            addr: format!("sentinels for {:?}", self.service),
            reason: format!("no sentinel named a primary: {}", failures.join("; ")).into(),
        })
    }

    /// Asks the sentinels in turn until one lists the replicas that are up.
    async fn replicas(&self) -> Result<Vec<Addr>> {
        let known = self.known.lock().clone();
        let mut failures = Vec::new();
        for (host, port) in known {
            let config = self.dial_config(&host, port);
            match ask::replicas(&config, &self.service).await {
                Ok(replicas) => return Ok(replicas),
                Err(e) => failures.push(format!("{}: {e}", config.addr)),
            }
        }
        Err(Error::Connect {
            addr: format!("sentinels for {:?}", self.service),
            reason: format!("no sentinel listed the replicas: {}", failures.join("; ")).into(),
        })
    }

    /// The config to dial the sentinel at `host:port` with.
    pub(super) fn dial_config(&self, host: &str, port: u16) -> Config {
        let mut config = self.base.clone();
        config.addr = Addr::Tcp {
            host: host.to_string(),
            port,
        };
        config
    }

    /// `host:port` answered: try it first next time, and remember its peers.
    fn learn(&self, host: &str, port: u16, peers: Vec<(String, u16)>) {
        let mut known = self.known.lock();
        if let Some(at) = known.iter().position(|(h, p)| h == host && *p == port) {
            let answered = known.remove(at);
            known.insert(0, answered);
        }
        for peer in peers {
            if !known.contains(&peer) {
                tracing::debug!(sentinel = ?peer, "learned a sentinel");
                known.push(peer);
            }
        }
    }
}
