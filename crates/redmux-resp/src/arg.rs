//! [`ToArg`] and [`Arg`]: what one argument of a command is.
//!
//! An impl hands over its bytes (or a number), never wire bytes: the encoder
//! ([`crate::CommandBuf`]) writes all the framing, `$len\r\n` before the payload and
//! `\r\n` after it, from the payload's own length. So no impl, however wrong, can
//! make a frame that ends early or says one length and carries another: on a
//! connection many callers share, one such frame would hand every later caller the
//! wrong reply.

use std::sync::Arc;

use bytes::Bytes;

/// A `Bytes` argument at least this large is not copied into the command's buffer:
/// [`crate::CommandBuf::finish_parts`] hands it back as a part of its own, to be
/// written from where it is (see [`Arg::shared`]).
pub const SHARED_ARG_MIN: usize = 64 * 1024;

/// One argument of a command, as a [`ToArg`] impl hands it over: bytes, borrowed or
/// owned, or a number the encoder writes in the decimal form Redis parses.
///
/// ```
/// use redmux_resp::{Arg, CommandBuf};
/// let mut cmd = CommandBuf::new("SET");
/// cmd.arg("k");
/// let value = Arg::bytes(b"a\r\nb"); // any bytes: the length is worked out for it
/// let mut out = bytes::BytesMut::new();
/// value.encode(&mut out);
/// assert_eq!(&out[..], b"$4\r\na\r\nb\r\n");
/// ```
#[derive(Debug, Clone)]
pub struct Arg<'a>(pub(crate) Repr<'a>);

#[derive(Debug, Clone)]
pub(crate) enum Repr<'a> {
    Borrowed(&'a [u8]),
    Owned(Vec<u8>),
    /// Kept by reference when it is [`SHARED_ARG_MIN`] or more.
    Shared(Bytes),
    Signed(i64),
    Unsigned(u64),
    Float(f64),
    /// The value could not be made into an argument (see [`Arg::failed`]).
    Failed(ArgError),
}

/// Why a value could not become an argument: a serializer's error, say. Behind one
/// thin `Arc` so an [`Arg`] (and the command that records it) stays small and
/// `Clone`.
pub type ArgError = Arc<Box<dyn std::error::Error + Send + Sync>>;

impl<'a> Arg<'a> {
    /// Bytes borrowed from the value (the usual case: copied once, straight into
    /// the command's buffer).
    #[inline]
    pub fn bytes(payload: &'a [u8]) -> Self {
        Arg(Repr::Borrowed(payload))
    }

    /// Text borrowed from the value.
    ///
    /// ```
    /// struct UserId(String);
    ///
    /// impl redmux_resp::ToArg for UserId {
    ///     fn to_arg(&self) -> redmux_resp::Arg<'_> {
    ///         redmux_resp::Arg::text(&self.0)
    ///     }
    /// }
    /// ```
    #[inline]
    pub fn text(payload: &'a str) -> Self {
        Arg(Repr::Borrowed(payload.as_bytes()))
    }

    /// Bytes made for the occasion, such as a formatted key.
    ///
    /// ```
    /// struct Session(u32);
    ///
    /// impl redmux_resp::ToArg for Session {
    ///     fn to_arg(&self) -> redmux_resp::Arg<'_> {
    ///         redmux_resp::Arg::owned(format!("session:{}", self.0))
    ///     }
    /// }
    /// ```
    #[inline]
    pub fn owned(payload: impl Into<Vec<u8>>) -> Arg<'static> {
        Arg(Repr::Owned(payload.into()))
    }

    /// Shared bytes: from [`SHARED_ARG_MIN`] on they are written from where they
    /// are, not copied into the command.
    #[inline]
    pub fn shared(payload: Bytes) -> Arg<'static> {
        Arg(Repr::Shared(payload))
    }

    /// A signed integer, written in decimal.
    #[inline]
    pub fn int(n: i64) -> Arg<'static> {
        Arg(Repr::Signed(n))
    }

    /// An unsigned integer, written in decimal.
    #[inline]
    pub fn uint(n: u64) -> Arg<'static> {
        Arg(Repr::Unsigned(n))
    }

    /// A float, in the shortest form that parses back to the same value; infinities
    /// as `+inf` and `-inf`, as sorted-set commands take them.
    #[inline]
    pub fn float(d: f64) -> Arg<'static> {
        Arg(Repr::Float(d))
    }
}

impl Arg<'static> {
    /// An argument that could not be made: a `ToArg` impl whose conversion can
    /// fail (serializing a value, say) hands this over instead of bytes it would
    /// have to make up. The command that takes it is never sent: it fails, before
    /// anything is queued, with an error whose source is `error`. The encoder
    /// writes an empty string in its place, so the command's framing stays whole.
    ///
    /// ```
    /// use redmux_resp::{Arg, CommandBuf, ToArg};
    ///
    /// /// A port number given as text, checked when it is used.
    /// struct Port<'a>(&'a str);
    ///
    /// impl ToArg for Port<'_> {
    ///     fn to_arg(&self) -> Arg<'_> {
    ///         match self.0.parse::<u16>() {
    ///             Ok(port) => Arg::uint(port.into()),
    ///             Err(e) => Arg::failed(e),
    ///         }
    ///     }
    /// }
    ///
    /// let mut cmd = CommandBuf::new("SET");
    /// cmd.arg("port").arg(Port("http"));
    /// assert!(cmd.failure().is_some());
    /// ```
    #[cold]
    pub fn failed(error: impl std::error::Error + Send + Sync + 'static) -> Arg<'static> {
        Arg(Repr::Failed(Arc::new(Box::new(error))))
    }
}

impl From<ArgError> for Arg<'static> {
    /// An argument that failed with an error already shared (see [`Arg::failed`]):
    /// how a builder that encoded an argument on its own hands the failure on.
    fn from(error: ArgError) -> Self {
        Arg(Repr::Failed(error))
    }
}

impl Arg<'_> {
    /// The error of an argument that could not be made ([`Arg::failed`]).
    ///
    /// ```
    /// use redmux_resp::Arg;
    /// assert!(Arg::failed(std::fmt::Error).failure().is_some());
    /// assert!(Arg::text("ok").failure().is_none());
    /// ```
    #[inline]
    pub fn failure(&self) -> Option<&ArgError> {
        match &self.0 {
            Repr::Failed(error) => Some(error),
            _ => None,
        }
    }

    /// The payload of an argument the encoder keeps by reference rather than
    /// copying (a `Bytes` of [`SHARED_ARG_MIN`] bytes or more): it will not be in
    /// the command's buffer to be read back, so a caller that needs it (a key's
    /// hash slot) reads it here.
    ///
    /// ```
    /// use redmux_resp::{Arg, SHARED_ARG_MIN};
    /// let big = bytes::Bytes::from(vec![b'k'; SHARED_ARG_MIN]);
    /// assert!(Arg::shared(big).kept_by_reference().is_some());
    /// assert!(Arg::text("k").kept_by_reference().is_none());
    /// ```
    #[inline]
    pub fn kept_by_reference(&self) -> Option<&[u8]> {
        match &self.0 {
            Repr::Shared(payload) if payload.len() >= SHARED_ARG_MIN => Some(payload),
            _ => None,
        }
    }
}

/// Something that can be one argument of a command: it hands over its bytes, or a
/// number, as an [`Arg`]; the encoder frames it. Implemented for strings, byte
/// slices and vectors, [`Bytes`], integers and floats.
///
/// Implement it for your own types to pass them as keys or values; nothing but this
/// crate (or `redmux`, which re-exports both) is needed.
///
/// ```
/// use redmux_resp::{Arg, CommandBuf, ToArg};
///
/// /// A tenant's key: `tenant:{id}:{name}`.
/// struct TenantKey<'a> {
///     tenant: u32,
///     name: &'a str,
/// }
///
/// impl ToArg for TenantKey<'_> {
///     fn to_arg(&self) -> Arg<'_> {
///         Arg::owned(format!("tenant:{}:{}", self.tenant, self.name))
///     }
/// }
///
/// let mut cmd = CommandBuf::new("GET");
/// cmd.arg(TenantKey { tenant: 7, name: "plan" });
/// assert_eq!(&cmd.finish()[..], b"*2\r\n$3\r\nGET\r\n$13\r\ntenant:7:plan\r\n");
/// ```
pub trait ToArg {
    /// This value as one argument.
    fn to_arg(&self) -> Arg<'_>;
}

impl ToArg for [u8] {
    #[inline]
    fn to_arg(&self) -> Arg<'_> {
        Arg::bytes(self)
    }
}

impl ToArg for str {
    #[inline]
    fn to_arg(&self) -> Arg<'_> {
        Arg::text(self)
    }
}

impl<const N: usize> ToArg for [u8; N] {
    #[inline]
    fn to_arg(&self) -> Arg<'_> {
        Arg::bytes(self)
    }
}

impl ToArg for String {
    #[inline]
    fn to_arg(&self) -> Arg<'_> {
        Arg::text(self)
    }
}

impl ToArg for Vec<u8> {
    #[inline]
    fn to_arg(&self) -> Arg<'_> {
        Arg::bytes(self)
    }
}

impl ToArg for Bytes {
    #[inline]
    fn to_arg(&self) -> Arg<'_> {
        // Only a large one is worth the reference count: a small one is copied.
        if self.len() >= SHARED_ARG_MIN {
            Arg::shared(self.clone())
        } else {
            Arg::bytes(self)
        }
    }
}

impl<T: ToArg + ?Sized> ToArg for &T {
    #[inline]
    fn to_arg(&self) -> Arg<'_> {
        (**self).to_arg()
    }
}

macro_rules! int_arg {
    ($make:ident as $wide:ty: $($t:ty),*) => {$(
        impl ToArg for $t {
            #[inline]
            fn to_arg(&self) -> Arg<'_> {
                Arg::$make(*self as $wide)
            }
        }
    )*};
}
int_arg!(int as i64: i8, i16, i32, i64, isize);
int_arg!(uint as u64: u8, u16, u32, u64, usize);

impl ToArg for f64 {
    #[inline]
    fn to_arg(&self) -> Arg<'_> {
        Arg::float(*self)
    }
}

impl ToArg for f32 {
    #[inline]
    fn to_arg(&self) -> Arg<'_> {
        Arg::float(f64::from(*self))
    }
}
