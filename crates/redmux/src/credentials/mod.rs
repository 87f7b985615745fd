//! Credentials that change: [`CredentialsProvider`], asked for a user name and
//! password at every connect and reconnect (the handshake), for rotating tokens such
//! as cloud IAM auth; and [`Client::reauthenticate`](crate::Client::reauthenticate)
//! (`reauth.rs`), which sends `AUTH` with fresh credentials on live connections.
//!
//! | file | owns |
//! |---|---|
//! | this file | [`Credentials`], [`CredentialsProvider`] (implemented by any async closure) |
//! | `reauth.rs` | `Client::reauthenticate`: `AUTH` through each multiplexer, between commands |

mod reauth;

pub(crate) use reauth::current;

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use crate::error::Result;

/// A user name (`None`: the `default` user) and a password or token.
///
/// ```
/// let c = redmux::Credentials::new(Some("app"), "token-1");
/// assert_eq!(c.username.as_deref(), Some("app"));
/// ```
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Credentials {
    /// The ACL user; `None` for `AUTH password` (the `default` user).
    pub username: Option<String>,
    /// The password or token.
    pub password: String,
}

impl Credentials {
    /// Credentials for `username` (`None`: the default user) with `password`.
    ///
    /// ```
    /// let c = redmux::Credentials::new(None::<String>, "secret");
    /// assert_eq!(c.password, "secret");
    /// ```
    pub fn new(username: Option<impl Into<String>>, password: impl Into<String>) -> Credentials {
        Credentials {
            username: username.map(Into::into),
            password: password.into(),
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// The boxed future a [`CredentialsProvider`] returns.
pub type CredentialsFuture = Pin<Box<dyn Future<Output = Result<Credentials>> + Send>>;

/// Asked for [`Credentials`] before every handshake: the first connect, every
/// reconnect of the shared connection and of the subscriber, every
/// [`dedicated`](crate::Client::dedicated) connection, and by
/// [`Client::reauthenticate`](crate::Client::reauthenticate). Set it as
/// [`Config::credentials`](crate::Config::credentials); it takes the place of
/// `Config::username` and `Config::password`.
///
/// Any `Fn() -> impl Future<Output = redmux::Result<Credentials>>` is one. An error
/// it returns fails that connect attempt (a reconnect tries again with backoff).
///
/// ```
/// use std::sync::Arc;
/// use redmux::{Config, Credentials};
/// let mut config = Config::from_url("redis://127.0.0.1:6379").unwrap();
/// config.credentials = Some(Arc::new(|| async {
///     // e.g. fetch a fresh IAM token here
///     Ok(Credentials::new(Some("app"), "token"))
/// }));
/// ```
pub trait CredentialsProvider: Send + Sync {
    /// The credentials to authenticate with now.
    fn credentials(&self) -> CredentialsFuture;
}

impl<F, Fut> CredentialsProvider for F
where
    F: Fn() -> Fut + Send + Sync,
    Fut: Future<Output = Result<Credentials>> + Send + 'static,
{
    fn credentials(&self) -> CredentialsFuture {
        Box::pin(self())
    }
}
