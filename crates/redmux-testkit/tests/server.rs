//! `RedisServer` against the real `redis-server`: start, kill, restart, drop, options.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use redmux_testkit::{Error, RedisServer};
use support::{Conn, PING, PONG};

#[test]
fn starts_on_a_free_port_and_answers_ping() {
    let server = RedisServer::start().expect("start");
    assert!(server.is_running());
    assert_eq!(server.addr().port(), server.port());
    assert_eq!(server.url(), format!("redis://127.0.0.1:{}", server.port()));
    assert_eq!(Conn::connect(server.addr()).call(&["PING"]), "+PONG");

    assert!(server.version().starts_with(|c: char| c.is_ascii_digit()));
    assert!(server.version().contains('.'), "{}", server.version());
    assert!(server.log().contains("Ready to accept connections"));
    assert!(server.dir().join("redis.log").exists());
    assert_eq!(server.unix_socket(), None);
}

#[test]
fn persistence_is_off_and_debug_is_allowed() {
    let server = RedisServer::start().expect("start");
    let mut conn = Conn::connect(server.addr());
    assert_eq!(
        conn.call(&["CONFIG", "GET", "appendonly"]),
        "appendonly\nno"
    );
    assert_eq!(conn.call(&["CONFIG", "GET", "save"]), "save\n");
    let dir = conn.call(&["CONFIG", "GET", "dir"]);
    assert!(dir.ends_with(&*server.dir().to_string_lossy()), "{dir}");
    // DEBUG SLEEP is how client tests make a reply slow; redis 7 forbids it by default
    // and the kit turns it back on (redis 6 has no such switch and allows it).
    assert_eq!(conn.call(&["DEBUG", "SLEEP", "0"]), "+OK");
}

/// Between a kill and its restart the port is free, and another test process could
/// take it: its server (the restart then fails on "address in use" while the client
/// talks to the stranger), or any `connect()`'s source port. So the kit's ports lie
/// below the kernel's ephemeral range, and a machine-wide lease (an abstract socket
/// name, which any process of the kit asks for before using a port) stays held while
/// the server is down.
#[cfg(target_os = "linux")]
#[test]
fn a_killed_servers_port_stays_leased_until_it_restarts() {
    use std::os::linux::net::SocketAddrExt;
    use std::os::unix::net::{SocketAddr, UnixListener};
    let name_free = |port: u16| {
        let name = format!("redmux-testkit-port-{port}");
        let addr = SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        UnixListener::bind_addr(&addr).is_ok()
    };
    let server = RedisServer::start().expect("start");
    let port = server.port();
    assert!(port < 32_768, "port {port} is in the ephemeral range");
    server.kill();
    assert!(!name_free(port), "the lease went with the process");
    server.restart().expect("restart");
    assert_eq!(Conn::connect(server.addr()).call(&["PING"]), "+PONG");
    drop(server);
    assert!(name_free(port), "the lease outlived the server");
}

#[test]
fn kill_drops_connections_and_restart_comes_back_on_the_same_port() {
    let server = RedisServer::start().expect("start");
    let port = server.port();
    let first_pid = server.pid().expect("pid");
    let mut stream = TcpStream::connect(server.addr()).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(2)))
        .expect("timeout");

    server.kill();
    server.kill(); // idempotent
    assert!(!server.is_running());
    assert_eq!(server.pid(), None);
    let mut buf = [0u8; 16];
    let _ = stream.write_all(PING);
    match stream.read(&mut buf) {
        Ok(0) => {}
        Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
        other => panic!("expected EOF or reset from a killed server, got {other:?}"),
    }
    let refused = TcpStream::connect(server.addr()).map(drop).unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::ConnectionRefused);

    server.restart().expect("restart");
    assert!(server.is_running());
    assert_eq!(server.port(), port);
    assert_ne!(server.pid(), Some(first_pid));
    assert_eq!(Conn::connect(server.addr()).call(&["PING"]), "+PONG");

    // Restarting a running server replaces it.
    let second_pid = server.pid().expect("pid");
    server.restart().expect("restart while running");
    assert_ne!(server.pid(), Some(second_pid));
    assert!(!Path::new(&format!("/proc/{second_pid}")).exists());
    assert_eq!(Conn::connect(server.addr()).call(&["PING"]), "+PONG");
}

#[test]
fn drop_kills_the_process() {
    let server = RedisServer::start().expect("start");
    let pid = server.pid().expect("pid");
    let addr = server.addr();
    let dir = server.dir().to_path_buf();
    assert!(Path::new(&format!("/proc/{pid}")).exists());

    drop(server);
    // Reaped, not a zombie: the pid is gone entirely.
    assert!(!Path::new(&format!("/proc/{pid}")).exists());
    assert!(TcpStream::connect(addr).is_err());
    assert!(!dir.exists(), "temp dir removed");
}

#[test]
fn a_panicking_test_still_kills_its_server() {
    let (tx, rx) = std::sync::mpsc::channel();
    // A test thread that panics with the server in scope, as a failed assertion does.
    let outcome = std::thread::spawn(move || {
        let server = RedisServer::start().expect("start");
        tx.send((server.pid().expect("pid"), server.addr()))
            .unwrap();
        panic!("a failed assertion");
    })
    .join();
    assert!(outcome.is_err(), "the thread was meant to panic");
    let (pid, addr) = rx.recv().unwrap();
    assert!(!Path::new(&format!("/proc/{pid}")).exists(), "left running");
    assert!(TcpStream::connect(addr).is_err());
}

#[test]
fn password_requires_auth() {
    let server = RedisServer::builder()
        .password("s3cret")
        .start()
        .expect("start");
    assert!(!server.url().contains("s3cret"));
    let mut conn = Conn::connect(server.addr());
    assert!(conn.call(&["PING"]).starts_with("-NOAUTH"));
    assert!(conn.call(&["AUTH", "wrong"]).starts_with("-WRONGPASS"));
    assert_eq!(conn.call(&["AUTH", "s3cret"]), "+OK");
    assert_eq!(conn.call(&["PING"]), "+PONG");
}

#[test]
fn acl_user_can_authenticate() {
    let server = RedisServer::builder()
        .acl_user("alice", "wonder land") // a space in the password survives
        .acl_user("bob", "builder")
        .start()
        .expect("start");
    let mut conn = Conn::connect(server.addr());
    assert!(
        conn.call(&["AUTH", "alice", "nope"])
            .starts_with("-WRONGPASS")
    );
    assert_eq!(conn.call(&["AUTH", "alice", "wonder land"]), "+OK");
    assert_eq!(conn.call(&["ACL", "WHOAMI"]), "alice");
    assert_eq!(conn.call(&["SET", "k", "v"]), "+OK");
    assert_eq!(conn.call(&["AUTH", "bob", "builder"]), "+OK");
}

#[test]
fn unix_socket_accepts_connections() {
    let server = RedisServer::builder()
        .unix_socket(true)
        .start()
        .expect("start");
    let path = server.unix_socket().expect("socket path");
    assert!(path.starts_with(server.dir()));
    let mode = std::fs::metadata(&path).expect("stat").permissions().mode();
    assert_eq!(mode & 0o777, 0o700);

    let ping_over_socket = || {
        let mut stream = UnixStream::connect(&path).expect("connect");
        stream.write_all(PING).expect("write");
        let mut reply = [0u8; 7];
        stream.read_exact(&mut reply).expect("read");
        reply
    };
    assert_eq!(&ping_over_socket(), PONG);
    // A restart replaces the stale socket file left by the killed process.
    server.restart().expect("restart");
    assert_eq!(&ping_over_socket(), PONG);
}

#[test]
fn extra_args_reach_the_server() {
    let server = RedisServer::builder()
        .arg("--maxmemory")
        .arg("10mb")
        .start()
        .expect("start");
    let reply = Conn::connect(server.addr()).call(&["CONFIG", "GET", "maxmemory"]);
    assert_eq!(reply, "maxmemory\n10485760");
}

/// A free port below the kernel's ephemeral range (32768 and up by default) and
/// outside the kit's own ranges (10000..25000, and 30000..32000 for cluster buses),
/// so no other test's server can take it between the probe and the server binding it.
fn free_port_below_the_ephemeral_range() -> u16 {
    let start = 25_000 + (std::process::id() % 5_000) as u16;
    (start..30_000)
        .chain(25_000..start)
        .find(|&port| std::net::TcpListener::bind(("127.0.0.1", port)).is_ok())
        .expect("a free port in 25000..30000")
}

#[test]
fn fixed_port_is_used() {
    let port = free_port_below_the_ephemeral_range();
    let server = RedisServer::builder().port(port).start().expect("start");
    assert_eq!(server.port(), port);
    assert_eq!(Conn::connect(server.addr()).call(&["PING"]), "+PONG");
}

/// A stranger holds the port and answers every PING with PONG, as another test's
/// server would if both had been handed the same free port. The kit must not take it
/// for the server it started (whose child dies of "address in use"): it waits until
/// the port is its own, and the server it returns is the real one.
#[test]
fn a_stranger_answering_ping_on_the_port_is_not_taken_for_the_server() {
    let port = free_port_below_the_ephemeral_range();
    let listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    listener.set_nonblocking(true).unwrap();
    let stranger = std::thread::spawn(move || {
        let until = std::time::Instant::now() + Duration::from_millis(800);
        while std::time::Instant::now() < until {
            match listener.accept() {
                Ok((mut stream, _)) => {
                    stream.set_nonblocking(false).unwrap();
                    let mut buf = [0u8; 256];
                    if stream.read(&mut buf).unwrap_or(0) > 0 {
                        let _ = stream.write_all(PONG);
                    }
                }
                Err(_) => std::thread::sleep(Duration::from_millis(2)),
            }
        }
    });
    let server = RedisServer::builder().port(port).start().expect("start");
    stranger.join().unwrap();
    let mut conn = Conn::connect(server.addr());
    assert_eq!(conn.call(&["SET", "k", "v"]), "+OK");
    assert_eq!(conn.call(&["GET", "k"]), "v");
}

#[test]
fn a_bad_argument_fails_with_the_log() {
    let err = RedisServer::builder()
        .arg("--no-such-directive")
        .arg("1")
        .start()
        .expect_err("must fail");
    assert!(matches!(err, Error::ServerExited { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("Bad directive"), "{message}");
    assert!(message.contains("no-such-directive"), "{message}");
}
