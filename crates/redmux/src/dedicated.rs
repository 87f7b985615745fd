//! [`DedicatedConnection`]: an exclusive, non-multiplexed connection for the rare
//! caller who needs BLPOP and friends, or a WATCH ... EXEC sequence of its own.

use bytes::BytesMut;
use redmux_resp::{Decoded, Decoder, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::client::Client;
use crate::command::Command;
use crate::connection::{self, ReadHalf, WriteHalf};
use crate::error::{CommandStatus, Error, Result};
use crate::from_value::{FromValue, convert};

/// A connection of its own, opened with the client's configuration, that sends one
/// command at a time and waits for its reply. Blocking commands are allowed here:
/// they stall only this connection. It closes when dropped.
///
/// ```no_run
/// # async fn run(client: redmux::Client) -> redmux::Result<()> {
/// let mut conn = client.dedicated().await?;
/// let job: Option<(String, String)> = conn.command(redmux::cmd("BLPOP").arg("jobs").arg(5)).await?;
/// # Ok(()) }
/// ```
///
/// # Cancellation
///
/// Dropping a [`DedicatedConnection::command`] future after it sent the command
/// leaves the reply unread: the connection is then marked broken and every later
/// call fails with [`Error::ConnectionLost`]. Open a new one.
#[derive(Debug)]
pub struct DedicatedConnection {
    reader: ReadHalf,
    writer: WriteHalf,
    decoder: Decoder,
    buf: BytesMut,
    /// Set while a command is in flight; still set on entry means a call was
    /// cancelled mid-way and the stream can no longer be trusted.
    busy: bool,
}

impl Client {
    /// Opens an exclusive connection with this client's configuration (address,
    /// credentials, database, protocol).
    ///
    /// # Errors
    ///
    /// As [`Client::connect`].
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let mut conn = client.dedicated().await?;
    /// conn.command::<()>(redmux::cmd("WATCH").arg("balance")).await?;
    /// # Ok(()) }
    /// ```
    pub async fn dedicated(&self) -> Result<DedicatedConnection> {
        let conn = connection::connect(self.config()).await?;
        Ok(DedicatedConnection {
            reader: conn.reader,
            writer: conn.writer,
            decoder: conn.decoder,
            buf: conn.leftover,
            busy: false,
        })
    }
}

impl DedicatedConnection {
    /// Sends one command and waits for its reply, however long that takes (a
    /// blocking command's own timeout argument bounds it).
    ///
    /// # Errors
    ///
    /// [`Error::Server`] for an error reply; [`Error::ConnectionLost`] when the
    /// connection breaks or was left mid-command by a cancelled call;
    /// [`Error::ReplyTooLarge`] for a reply over [`crate::Config::limits`] (the
    /// connection stays usable).
    pub async fn command<T: FromValue>(&mut self, command: Command) -> Result<T> {
        if self.busy {
            return Err(Error::ConnectionLost {
                status: CommandStatus::NotSent,
                reason: "an earlier call on this dedicated connection was cancelled mid-command; open a new one".into(),
            });
        }
        self.busy = true;
        let lost = |e: std::io::Error| Error::ConnectionLost {
            status: CommandStatus::Sent,
            reason: e.to_string().into(),
        };
        self.writer
            .write_all(&command.into_bytes())
            .await
            .map_err(lost)?;
        let reply = loop {
            match self.decoder.decode_frame(&mut self.buf) {
                Ok(Some(Decoded::Frame(Value::Push(_)))) => continue,
                Ok(Some(Decoded::Frame(v))) => break v,
                Ok(Some(Decoded::TooLarge(t))) if t.push => continue,
                // Skipped whole: the connection is still in step and stays usable.
                Ok(Some(Decoded::TooLarge(t))) => {
                    self.busy = false;
                    return Err(Error::ReplyTooLarge {
                        what: t.what,
                        len: t.len,
                        limit: t.limit,
                    });
                }
                Ok(None) => {}
                Err(e) => return Err(Error::protocol(e.to_string())),
            }
            self.buf.reserve(16 * 1024);
            if self.reader.read_buf(&mut self.buf).await.map_err(lost)? == 0 {
                return Err(Error::ConnectionLost {
                    status: CommandStatus::Sent,
                    reason: "the server closed the connection".into(),
                });
            }
        };
        self.busy = false;
        convert(reply)
    }
}
