//! One proxied connection: connect upstream, then pump bytes both ways through a
//! delay queue until either side closes or the connection is cut.
//!
//! Each direction is a reader and a writer joined by a channel. The reader stamps
//! every chunk with the time it is due (arrival + latency) and reads on at once; the
//! writer sleeps until each chunk is due, on a [`Timer`] precise to about 0.1 ms.
//! So latency delays bytes without capping throughput: many chunks are in flight,
//! as on a real long link.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use socket2::SockRef;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{ReadHalf, WriteHalf};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::CutMode;
use super::faults::{self, Direction, Faults};
use super::registry::Ticket;
use super::timer::Timer;

/// Bytes read per chunk.
const READ_SIZE: usize = 64 * 1024;

/// Chunks queued per direction. With `READ_SIZE` this allows up to 16 MiB in flight,
/// far more than any test pipelines, while still bounding memory: when it is full
/// the reader stops and TCP backpressure reaches the sender, as on a real link.
const QUEUE_CHUNKS: usize = 256;

/// How long to wait for the upstream to accept before giving up on a client.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Bytes on their way through the delay queue. Empty `data` stands for end of stream:
/// the writer then sends FIN, after the same delay as the data before it.
#[derive(Debug)]
struct Chunk {
    due: Instant,
    data: Vec<u8>,
}

/// Serves one accepted client until it ends. The ticket is dropped only after both
/// sockets are closed, so a waiting `cut` returns when the client can see it.
pub(crate) async fn run(
    client: TcpStream,
    upstream: SocketAddr,
    faults: watch::Receiver<Faults>,
    ticket: Ticket,
) {
    serve(client, upstream, faults, ticket.generation()).await;
    drop(ticket);
}

async fn serve(
    mut client: TcpStream,
    upstream: SocketAddr,
    faults: watch::Receiver<Faults>,
    birth: u64,
) {
    let cut = faults::cut_after(faults.clone(), birth);
    tokio::pin!(cut);

    let connect = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(upstream));
    let mut server = tokio::select! {
        connected = connect => match connected {
            Ok(Ok(server)) => server,
            // The client sees the connection close, as if the server had refused it.
            Ok(Err(error)) => {
                tracing::debug!(%upstream, %error, "fault proxy: upstream refused");
                return;
            }
            Err(_) => {
                tracing::debug!(%upstream, "fault proxy: upstream connect timed out");
                return;
            }
        },
        mode = &mut cut => {
            close(&client, mode);
            return;
        }
    };
    // Nagle's algorithm plus delayed ACKs would add up to 40 ms of latency of their
    // own, and tests measure latency.
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);

    let cut_mode = tokio::select! {
        result = forward(&mut client, &mut server, &faults) => {
            if let Err(error) = result {
                tracing::debug!(%error, "fault proxy: connection ended with an error");
            }
            None
        }
        mode = &mut cut => Some(mode),
    };
    if let Some(mode) = cut_mode {
        close(&client, mode);
        close(&server, mode);
    }
}

/// Prepares a socket for the way it is about to be closed (by being dropped).
/// `Reset`: SO_LINGER 0 makes close send RST. `Close`: a plain close sends FIN (the
/// kernel still sends RST if unread data is left in the receive buffer).
fn close(stream: &TcpStream, mode: CutMode) {
    match mode {
        CutMode::Reset => {
            if let Err(error) = SockRef::from(stream).set_linger(Some(Duration::ZERO)) {
                tracing::debug!(%error, "fault proxy: could not set SO_LINGER 0");
            }
        }
        CutMode::Close => {
            let _ = SockRef::from(stream).shutdown(std::net::Shutdown::Both);
        }
    }
}

/// Pumps both directions until both have ended, or one fails.
async fn forward(
    client: &mut TcpStream,
    server: &mut TcpStream,
    faults: &watch::Receiver<Faults>,
) -> io::Result<()> {
    let (client_read, client_write) = client.split();
    let (server_read, server_write) = server.split();
    let (to_server_tx, to_server_rx) = mpsc::channel(QUEUE_CHUNKS);
    let (to_client_tx, to_client_rx) = mpsc::channel(QUEUE_CHUNKS);
    tokio::try_join!(
        read_side(
            client_read,
            to_server_tx,
            faults.clone(),
            Direction::ToServer
        ),
        write_side(to_server_rx, server_write, faults.clone()),
        read_side(
            server_read,
            to_client_tx,
            faults.clone(),
            Direction::ToClient
        ),
        write_side(to_client_rx, client_write, faults.clone()),
    )?;
    Ok(())
}

/// Reads chunks and queues them, stamped with the time they are due.
async fn read_side(
    mut from: ReadHalf<'_>,
    queue: mpsc::Sender<Chunk>,
    mut faults: watch::Receiver<Faults>,
    direction: Direction,
) -> io::Result<()> {
    let mut buf = vec![0u8; READ_SIZE];
    loop {
        // Not reading while stalled lets TCP backpressure build, as on a dead link.
        if !faults::wait_until_flowing(&mut faults).await {
            return Ok(());
        }
        let n = from.read(&mut buf).await?;
        let due = Instant::now() + direction.latency(&faults.borrow());
        let chunk = Chunk {
            due,
            data: buf[..n].to_vec(),
        };
        if queue.send(chunk).await.is_err() || n == 0 {
            return Ok(());
        }
    }
}

/// Writes each queued chunk once it is due and the proxy is not stalled.
async fn write_side(
    mut queue: mpsc::Receiver<Chunk>,
    mut to: WriteHalf<'_>,
    mut faults: watch::Receiver<Faults>,
) -> io::Result<()> {
    let mut timer = Timer::default();
    while let Some(chunk) = queue.recv().await {
        timer.sleep_until(chunk.due).await?;
        if !faults::wait_until_flowing(&mut faults).await {
            return Ok(());
        }
        if chunk.data.is_empty() {
            return to.shutdown().await;
        }
        to.write_all(&chunk.data).await?;
    }
    Ok(())
}
