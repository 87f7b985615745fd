//! The three measured scenarios, each generic over [`Kv`] so every client runs the
//! same code: (a) throughput of C tasks sharing one handle, (b) latency of one
//! sequential caller, (c) a burst of SETs behind a slow link.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

use futures::future::join_all;

use super::Result;
use super::clients::Kv;

/// The size of every value written.
pub const VALUE_LEN: usize = 16;

/// A 16-byte value that names its writer and iteration, so a reply delivered to the
/// wrong caller, or a stale one, cannot pass the check.
pub fn value_for(task: u32, iteration: u32) -> [u8; VALUE_LEN] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; VALUE_LEN];
    let word = (u64::from(task) << 32) | u64::from(iteration);
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = HEX[((word >> (60 - 4 * i)) & 0xf) as usize];
    }
    out
}

const WARMING: u8 = 0;
const MEASURING: u8 = 1;
const STOPPING: u8 = 2;

/// One throughput slice: what a client did in its measured window.
#[derive(Debug, Clone, Copy)]
pub struct Slice {
    /// SETs plus GETs completed in the window.
    pub ops: u64,
    /// The window's length.
    pub elapsed: Duration,
}

/// (a) `concurrency` tasks, each with its own clone of `client` and its own key,
/// loop SET then GET (checking the GET returns what was just SET) until stopped.
/// Operations are counted only while measuring, after `warmup`.
///
/// `between` is called at the start and the end of the measured window (for redmux's
/// batching counters).
pub async fn throughput<K: Kv>(
    client: &K,
    label: &str,
    concurrency: usize,
    warmup: Duration,
    measure: Duration,
    mut between: impl FnMut(),
) -> Result<Slice> {
    let phase = Arc::new(AtomicU8::new(WARMING));
    let mut tasks = Vec::with_capacity(concurrency);
    for task in 0..concurrency {
        let mut client = client.clone();
        let phase = phase.clone();
        let name: Arc<str> = label.into();
        let key = format!("compare:{label}:{concurrency}:{task}").into_bytes();
        let task = u32::try_from(task)?;
        tasks.push(tokio::spawn(async move {
            let mut counted = 0u64;
            let mut iteration = 0u32;
            while phase.load(Ordering::Relaxed) != STOPPING {
                let value = value_for(task, iteration);
                client.set(&key, &value).await?;
                let got = client.get(&key).await?;
                check(&name, &key, &value, got.as_ref().map(AsRef::as_ref))?;
                if phase.load(Ordering::Relaxed) == MEASURING {
                    counted += 2;
                }
                iteration = iteration.wrapping_add(1);
            }
            Ok::<u64, super::BoxError>(counted)
        }));
    }
    tokio::time::sleep(warmup).await;
    between();
    let start = Instant::now();
    phase.store(MEASURING, Ordering::Relaxed);
    tokio::time::sleep(measure).await;
    phase.store(STOPPING, Ordering::Relaxed);
    let elapsed = start.elapsed();
    between();
    let mut ops = 0;
    let mut first_error = None;
    for task in tasks {
        match task.await {
            Ok(Ok(n)) => ops += n,
            Ok(Err(e)) => {
                first_error.get_or_insert(e);
            }
            Err(join) => {
                first_error.get_or_insert(format!("{label}: a task panicked: {join}").into());
            }
        }
    }
    match first_error {
        Some(e) => Err(format!("{label}, C = {concurrency}: {e}").into()),
        None => Ok(Slice { ops, elapsed }),
    }
}

/// Fails loudly when a GET did not return what was SET.
fn check(label: &str, key: &[u8], expected: &[u8], got: Option<&[u8]>) -> Result<()> {
    if got == Some(expected) {
        return Ok(());
    }
    Err(format!(
        "{label} returned wrong data for key {:?}: expected {:?}, got {:?}",
        String::from_utf8_lossy(key),
        String::from_utf8_lossy(expected),
        got.map(String::from_utf8_lossy),
    )
    .into())
}

/// (b) One caller, sequential GETs of one key: the time of each, in nanoseconds.
pub async fn latency<K: Kv>(
    client: &K,
    label: &str,
    warmup: usize,
    ops: usize,
) -> Result<Vec<u64>> {
    let mut client = client.clone();
    let key = format!("compare:{label}:latency").into_bytes();
    let value = value_for(u32::MAX, 0);
    client.set(&key, &value).await?;
    for _ in 0..warmup {
        let got = client.get(&key).await?;
        check(label, &key, &value, got.as_ref().map(AsRef::as_ref))?;
    }
    let mut samples = Vec::with_capacity(ops);
    for _ in 0..ops {
        let start = Instant::now();
        let got = client.get(&key).await?;
        let took = start.elapsed();
        check(label, &key, &value, got.as_ref().map(AsRef::as_ref))?;
        samples.push(u64::try_from(took.as_nanos()).unwrap_or(u64::MAX));
    }
    Ok(samples)
}

/// p50, p99 and mean of samples in nanoseconds, in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct LatencySummary {
    /// Median.
    pub p50_us: f64,
    /// 99th percentile.
    pub p99_us: f64,
    /// Mean.
    pub mean_us: f64,
    /// Samples.
    pub samples: usize,
}

/// Summarises latency samples (nanoseconds); they are sorted in place.
pub fn summarise(samples: &mut [u64]) -> LatencySummary {
    samples.sort_unstable();
    let n = samples.len();
    let at = |q: f64| -> f64 {
        if n == 0 {
            return 0.0;
        }
        // Nearest rank.
        let rank = ((q * n as f64).ceil() as usize).clamp(1, n);
        samples[rank - 1] as f64 / 1000.0
    };
    let mean = if n == 0 {
        0.0
    } else {
        samples.iter().map(|&s| s as f64).sum::<f64>() / n as f64 / 1000.0
    };
    LatencySummary {
        p50_us: at(0.50),
        p99_us: at(0.99),
        mean_us: mean,
        samples: n,
    }
}

/// How (c)'s futures are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// [`Kv::issue_set`]: as each library documents issuing a command now and
    /// awaiting it later (redmux: `into_future` as the future is made).
    Issued,
    /// [`Kv::lazy_set`]: an `async` block around the call, sent when `join_all`
    /// first polls it: how a Rust user writes the burst.
    Lazy,
}

/// (c) `keys.len()` SETs issued at once: every future is created with
/// [`Kv::issue_set`] or [`Kv::lazy_set`] (`form`), then all are joined. redis-rs's and fred's futures each own a
/// clone of the handle (redis-rs needs `&mut`) and send when first polled; redmux's
/// request is sent as it becomes a future and borrows nothing. Returns the wall time
/// from the first future's creation to the last reply, after checking a sample of the
/// keys.
///
/// `round` goes into the value, so a SET that silently did nothing cannot pass the
/// check on an earlier round's data.
pub async fn burst<K: Kv>(
    client: &K,
    label: &str,
    keys: &[Vec<u8>],
    round: u32,
    form: Form,
) -> Result<Duration> {
    let value = value_for(u32::MAX - 1 - round, u32::try_from(keys.len())?);
    let start = Instant::now();
    let results = match form {
        // Each SET issued as its library documents issuing now and awaiting later
        // (see `Kv::issue_set`), then all awaited together.
        Form::Issued => {
            let futures: Vec<_> = keys
                .iter()
                .map(|key| client.issue_set(key, &value))
                .collect();
            join_all(futures).await
        }
        // The idiomatic form: lazy futures straight into `join_all`.
        Form::Lazy => join_all(keys.iter().map(|key| client.lazy_set(key, &value))).await,
    };
    let elapsed = start.elapsed();
    let failed = results.iter().filter(|r| r.is_err()).count();
    if let Some(Err(e)) = results.into_iter().find(Result::is_err) {
        return Err(format!(
            "{label}: {failed} of {} SETs failed; the first: {e}",
            keys.len()
        )
        .into());
    }
    let mut client = client.clone();
    let step = (keys.len() / 100).max(1);
    for key in keys.iter().step_by(step).chain(keys.last()) {
        let got = client.get(key).await?;
        check(label, key, &value, got.as_ref().map(AsRef::as_ref))?;
    }
    Ok(elapsed)
}

/// How long [`raw_burst`] waits for the last reply.
const RAW_BURST_TIMEOUT: Duration = Duration::from_secs(60);

/// The floor for [`burst`]: the same SETs, encoded beforehand, written as one stream
/// on a bare socket while a second task counts the `+OK` replies; no client library
/// at all. Also returns the median of 20 sequential PING round trips made first, the
/// round trip the link really has.
pub async fn raw_burst(
    addr: std::net::SocketAddr,
    keys: &[Vec<u8>],
    round: u32,
) -> Result<(Duration, Duration)> {
    let value = value_for(u32::MAX - 1 - round, u32::try_from(keys.len())?);
    let (stream, ping) = raw_connect(addr).await?;
    let wire = encode_sets(keys, &value);
    let start = Instant::now();
    let took = raw_stream(stream, wire, keys.len(), start).await?;
    Ok((took, ping))
}

/// A bare socket to `addr` with `TCP_NODELAY`, and the median of 20 sequential PING
/// round trips on it.
pub async fn raw_connect(addr: std::net::SocketAddr) -> Result<(tokio::net::TcpStream, Duration)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let mut pings = Vec::with_capacity(20);
    let mut pong = [0u8; 7];
    for _ in 0..20 {
        let start = Instant::now();
        stream.write_all(b"PING\r\n").await?;
        stream.read_exact(&mut pong).await?;
        pings.push(start.elapsed());
        if &pong != b"+PONG\r\n" {
            return Err(format!("raw: PING answered {:?}", String::from_utf8_lossy(&pong)).into());
        }
    }
    pings.sort();
    Ok((stream, pings[pings.len() / 2]))
}

/// `SET key value` for every key, encoded as RESP, one after another.
pub fn encode_sets(keys: &[Vec<u8>], value: &[u8]) -> Vec<u8> {
    let mut wire = Vec::with_capacity(keys.len() * 64);
    for key in keys {
        wire.extend_from_slice(format!("*3\r\n$3\r\nSET\r\n${}\r\n", key.len()).as_bytes());
        wire.extend_from_slice(key);
        wire.extend_from_slice(format!("\r\n${}\r\n", value.len()).as_bytes());
        wire.extend_from_slice(value);
        wire.extend_from_slice(b"\r\n");
    }
    wire
}

/// Writes `wire` (`sets` SETs) on `stream` while counting the `+OK` replies on the
/// same socket; returns the time from `start` to the last reply.
pub async fn raw_stream(
    stream: tokio::net::TcpStream,
    wire: Vec<u8>,
    sets: usize,
    start: Instant,
) -> Result<Duration> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    const OK: &[u8] = b"+OK\r\n";
    let expected = sets * OK.len();
    let (mut read, mut write) = stream.into_split();
    let writing = async move { write.write_all(&wire).await.map_err(super::BoxError::from) };
    let reading = async move {
        let mut buf = vec![0u8; 64 * 1024];
        let mut seen = 0usize;
        while seen < expected {
            let n = read.read(&mut buf).await?;
            if n == 0 {
                return Err(
                    format!("raw: the link closed after {seen} of {expected} reply bytes").into(),
                );
            }
            for (i, byte) in buf[..n].iter().enumerate() {
                if *byte != OK[(seen + i) % OK.len()] {
                    return Err(format!("raw: a reply other than +OK at byte {}", seen + i).into());
                }
            }
            seen += n;
        }
        Ok::<_, super::BoxError>(start.elapsed())
    };
    // A stalled proxy or server fails the run instead of hanging it.
    let ((), took) = tokio::time::timeout(RAW_BURST_TIMEOUT, async {
        tokio::try_join!(writing, reading)
    })
    .await
    .map_err(|_| format!("raw: no end to the burst within {RAW_BURST_TIMEOUT:?}"))??;
    Ok(took)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_distinct_and_sixteen_bytes() {
        assert_eq!(&value_for(1, 2), b"0000000100000002");
        assert_ne!(value_for(1, 2), value_for(2, 1));
    }

    #[test]
    fn summary_uses_nearest_rank() {
        let mut samples: Vec<u64> = (1..=100).map(|i| i * 1000).collect();
        let s = summarise(&mut samples);
        assert_eq!(s.p50_us, 50.0);
        assert_eq!(s.p99_us, 99.0);
        assert_eq!(s.mean_us, 50.5);
    }
}
