//! [`ConnectionState`]: where a client's connection is in its life. The
//! multiplexer sets it; [`crate::Stats`] and [`crate::Client::watch_state`] report it.

/// The state of the shared connection.
///
/// ```text
/// Connecting ──► Connected ◄──► Reconnecting
///      └─────────────┴──────────────┴──► Closed
/// ```
///
/// ```
/// assert_eq!(redmux::ConnectionState::Connected.to_string(), "connected");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectionState {
    /// Not connected yet: a client made with [`crate::Client::connect_lazy`] before
    /// its first connection is up. Commands wait in the backlog.
    Connecting = 3,
    /// Connected and serving commands.
    Connected = 0,
    /// The connection broke; commands wait in the backlog while it is rebuilt.
    Reconnecting = 1,
    /// The client was closed or dropped.
    Closed = 2,
}

impl ConnectionState {
    /// Whether commands wait in the backlog for a connection (connecting or
    /// reconnecting).
    pub(crate) fn is_down(self) -> bool {
        matches!(
            self,
            ConnectionState::Connecting | ConnectionState::Reconnecting
        )
    }

    /// Its name, as `Display` writes it and timeout diagnostics carry it.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ConnectionState::Connecting => "connecting",
            ConnectionState::Connected => "connected",
            ConnectionState::Reconnecting => "reconnecting",
            ConnectionState::Closed => "closed",
        }
    }
}

impl std::fmt::Display for ConnectionState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
