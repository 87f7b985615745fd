//! `Client::reauthenticate`: fresh credentials on live connections, between
//! commands.
//!
//! `AUTH` is refused to callers on the shared connection (it would change the user
//! under every caller, `refusal.rs`); here the library sends it itself, through the
//! multiplexer's queue like any command, so it lands between two callers' commands
//! and never inside a transaction or a batch chunk's group.

use redmux_resp::Value;

use super::Credentials;
use crate::client::Client;
use crate::command::cmd;
use crate::config::Config;
use crate::error::{Error, Result, ServerError};

impl Client {
    /// Asks [`Config::credentials`] (or takes `Config::username` and
    /// `Config::password`) and sends `AUTH [user] password` on every connection
    /// of the shared multiplexer (each node's, on a cluster), between commands.
    /// Call it when your provider says the token rotated, before the old one
    /// expires. New connections ask the provider by themselves.
    ///
    /// The subscriber connection and [`dedicated`](Client::dedicated) ones are not
    /// re-authenticated in place (a RESP2 connection in subscribed mode refuses
    /// `AUTH`): they use the provider's credentials at their next connect.
    ///
    /// # Errors
    ///
    /// [`Error::Auth`] when a server rejects the credentials (the connection keeps
    /// its previous user then), [`Error::Config`] when there are no credentials to
    /// send, or the provider's own error; a lost connection as for any command.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// // The provider now hands out the new token:
    /// client.reauthenticate().await?;
    /// # Ok(()) }
    /// ```
    pub async fn reauthenticate(&self) -> Result<()> {
        let Some(credentials) = current(self.config()).await? else {
            return Err(Error::config(
                "reauthenticate: no credentials to send (set Config::credentials or Config::password)",
            ));
        };
        let mut auth = cmd("AUTH");
        if let Some(user) = &credentials.username {
            auth = auth.arg(user);
        }
        let auth = auth.arg(&credentials.password);
        for (addr, _) in self.router().nodes() {
            match self.router().send_to_node(&addr, auth.clone()).await {
                Ok(Value::Error(line)) => return Err(Error::Auth(ServerError::parse(&line))),
                Ok(_) => {}
                Err(Error::Server(e)) => return Err(Error::Auth(e)),
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// The credentials to authenticate with now: the provider's, else the static ones.
pub(crate) async fn current(config: &Config) -> Result<Option<Credentials>> {
    match &config.credentials {
        Some(provider) => provider.credentials().await.map(Some),
        None => Ok(config
            .password
            .as_ref()
            .map(|p| Credentials::new(config.username.clone(), p.clone()))),
    }
}
