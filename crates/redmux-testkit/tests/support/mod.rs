//! Raw RESP over a plain `std` socket: the redmux client is not what is under test here.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// `PING` as a client sends it.
pub const PING: &[u8] = b"*1\r\n$4\r\nPING\r\n";

/// `PING`'s reply.
pub const PONG: &[u8] = b"+PONG\r\n";

/// Encodes a command as a RESP array of bulk strings.
pub fn encode(args: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        out.extend_from_slice(format!("${}\r\n{}\r\n", arg.len(), arg).as_bytes());
    }
    out
}

/// A connection that sends commands and reads one reply each.
pub struct Conn {
    reader: BufReader<TcpStream>,
}

impl Conn {
    /// Connects, with a 2 s read timeout so a broken test fails instead of hanging.
    pub fn connect(addr: SocketAddr) -> Conn {
        let stream = TcpStream::connect(addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(2)))
            .expect("timeout");
        Conn {
            reader: BufReader::new(stream),
        }
    }

    /// Sends a command and returns its reply: the line for `+`, `-` and `:` replies,
    /// the payload for a bulk string, the elements joined by `\n` for an array.
    pub fn call(&mut self, args: &[&str]) -> String {
        self.reader
            .get_mut()
            .write_all(&encode(args))
            .expect("write");
        self.read_reply()
    }

    fn read_reply(&mut self) -> String {
        let mut line = String::new();
        self.reader.read_line(&mut line).expect("read reply");
        let line = line.trim_end().to_owned();
        if let Some(Ok(len)) = line.strip_prefix('$').map(str::parse::<usize>) {
            let mut payload = vec![0u8; len + 2];
            self.reader.read_exact(&mut payload).expect("read bulk");
            payload.truncate(len);
            return String::from_utf8(payload).expect("utf-8");
        }
        if let Some(Ok(count)) = line.strip_prefix('*').map(str::parse::<usize>) {
            let items: Vec<String> = (0..count).map(|_| self.read_reply()).collect();
            return items.join("\n");
        }
        line
    }
}

/// `connected_clients` from `INFO clients`, counting the connection that asks.
pub fn connected_clients(addr: SocketAddr) -> usize {
    let info = Conn::connect(addr).call(&["INFO", "clients"]);
    info.lines()
        .find_map(|line| line.strip_prefix("connected_clients:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("connected_clients in INFO")
}
