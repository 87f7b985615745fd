//! [`Command`] and [`cmd`]: any command, built argument by argument and encoded to
//! RESP as it is built, on the caller's thread.

use bytes::BytesMut;
use redmux_resp::{CommandBuf, ToArg};

use crate::error::Error;
use crate::keys::{KeyPositions, KeySpecs, hash_slot};

/// A command being built: its arguments are encoded as they are added.
///
/// ```
/// let c = redmux::cmd("OBJECT").arg("ENCODING").arg("greeting");
/// assert_eq!(c.name(), "OBJECT");
/// ```
#[derive(Debug, Clone)]
pub struct Command {
    buf: CommandBuf,
    /// Where the keys are, for a router that must know the command's hash slot.
    keys: Keys,
}

/// Starts a command by name, for anything without a typed method.
///
/// ```
/// # async fn run(client: redmux::Client) -> redmux::Result<()> {
/// let encoding: String = client.command(redmux::cmd("OBJECT").arg("ENCODING").arg("greeting")).await?;
/// # Ok(()) }
/// ```
pub fn cmd(name: &str) -> Command {
    Command {
        buf: CommandBuf::new(name),
        keys: Keys::default(),
    }
}

impl Command {
    /// Appends one argument: a string, bytes, an integer or a float.
    pub fn arg(mut self, arg: impl ToArg) -> Self {
        self.buf.arg(arg);
        self
    }

    /// Appends each item as an argument.
    ///
    /// ```
    /// let c = redmux::cmd("DEL").args(["a", "b", "c"]);
    /// assert_eq!(c.argc(), 4);
    /// ```
    pub fn args<A: ToArg>(mut self, args: impl IntoIterator<Item = A>) -> Self {
        for a in args {
            self.buf.arg(a);
        }
        self
    }

    /// Appends one argument that is a key. On a standalone server it is sent as
    /// [`Command::arg`] sends it; on a cluster the keys decide which node the
    /// command goes to. Typed commands mark their keys this way; a command built
    /// with [`cmd`] whose keys are added with `arg` has them found from the
    /// server's key specifications instead.
    ///
    /// ```
    /// let c = redmux::cmd("COPY").key("{user:1}:a").key("{user:1}:b");
    /// assert_eq!(c.key_count(), 2);
    /// assert_eq!(c.hash_slot(), Some(redmux::hash_slot(b"user:1")));
    /// ```
    pub fn key(mut self, key: impl ToArg) -> Self {
        self.push_key(key);
        self
    }

    /// Appends each item as a key argument (see [`Command::key`]).
    ///
    /// ```
    /// let c = redmux::cmd("DEL").keys(["a", "b", "c"]);
    /// assert_eq!(c.key_count(), 3);
    /// ```
    pub fn keys<A: ToArg>(mut self, keys: impl IntoIterator<Item = A>) -> Self {
        for k in keys {
            self.push_key(k);
        }
        self
    }

    /// Appends a key in place (for builders that hold a `&mut Command`).
    pub fn push_key(&mut self, key: impl ToArg) -> &mut Self {
        let at = self.buf.args_bytes().len();
        let key = key.to_arg();
        // A key large enough to be kept by reference is not in the buffer to be
        // read back later: its slot is worked out now (keys that large are rare).
        let mark = match key.kept_by_reference() {
            Some(bytes) => KeyMark::Slot(hash_slot(bytes)),
            None => KeyMark::At(at),
        };
        self.keys.push(mark);
        self.buf.push(key);
        self
    }

    /// How many of the arguments were added as keys ([`Command::key`]).
    pub fn key_count(&self) -> usize {
        self.keys.len()
    }

    /// The hash slot of the command's keys: `None` for a command with no marked
    /// keys, or whose keys are in different slots (a cluster refuses such a
    /// command with CROSSSLOT; use a `{hash tag}` to keep keys together).
    ///
    /// ```
    /// assert_eq!(redmux::cmd("GET").key("foo").hash_slot(), Some(12182));
    /// assert_eq!(redmux::cmd("MGET").key("a").key("b").hash_slot(), None);
    /// assert_eq!(redmux::cmd("PING").hash_slot(), None);
    /// ```
    pub fn hash_slot(&self) -> Option<u16> {
        match self.slot() {
            KeySlot::One(slot) => Some(slot),
            KeySlot::Keyless | KeySlot::Cross | KeySlot::Unknown => None,
        }
    }

    /// The slot the marked keys hash to: computed when asked (a router with more
    /// than one node asks once, before queueing), never while building.
    pub(crate) fn slot(&self) -> KeySlot {
        // One key (GET, SET, INCR, ...), nearly every command routed on a cluster:
        // no iterator over the marks (callgrind, 100,000 SETs on a cluster: the
        // chained, filtered iterator was about 60 instructions per command).
        if self.keys.second == KeyMark::NONE && self.keys.rest.is_none() {
            return match KeyMark::unpack(self.keys.first) {
                None => KeySlot::Keyless,
                Some(mark) => match self.mark_slot(mark) {
                    Ok(slot) => KeySlot::One(slot),
                    Err(no) => no,
                },
            };
        }
        let mut slot = KeySlot::Keyless;
        for mark in self.keys.iter() {
            let this = match self.mark_slot(mark) {
                Ok(this) => this,
                Err(no) => return no,
            };
            slot = match slot {
                KeySlot::Keyless => KeySlot::One(this),
                KeySlot::One(s) if s == this => slot,
                _ => return KeySlot::Cross,
            };
        }
        slot
    }

    /// The slot of one marked key, or what the whole command's slot is when it
    /// cannot be known.
    #[inline(always)]
    fn mark_slot(&self, mark: KeyMark) -> Result<u16, KeySlot> {
        match mark {
            // An offset too large to pack (see `KeyMark::pack`).
            KeyMark::Slot(s) if s >= crate::keys::SLOTS => Err(KeySlot::Unknown),
            KeyMark::Slot(s) => Ok(s),
            KeyMark::At(at) => {
                let arg = self
                    .buf
                    .args_bytes()
                    .get(at..)
                    .and_then(|b| BulkArgs(b).next());
                match arg {
                    Some(key) => Ok(hash_slot(key)),
                    // Not where it was put: cannot happen, but never guess.
                    None => Err(KeySlot::Cross),
                }
            }
        }
    }

    /// The slot of a command whose keys may not be marked: marked keys decide;
    /// with none marked, the server's key specifications find them among the
    /// arguments (a raw [`cmd`] built with `arg`).
    pub(crate) fn slot_with(&self, specs: &KeySpecs) -> KeySlot {
        // The first mark is set whenever any key is: one look, not a count.
        if self.keys.first != KeyMark::NONE {
            return self.slot();
        }
        // A large argument kept by reference is not in the buffer to be read.
        let Some(args) = self.words() else {
            return KeySlot::Unknown;
        };
        match specs.positions(&args) {
            KeyPositions::None => KeySlot::Keyless,
            KeyPositions::Unknown => KeySlot::Unknown,
            KeyPositions::At(at) => {
                let mut slot = KeySlot::Keyless;
                for key in at.iter().filter_map(|&i| args.get(i)) {
                    let this = hash_slot(key);
                    slot = match slot {
                        KeySlot::Keyless => KeySlot::One(this),
                        KeySlot::One(s) if s == this => slot,
                        _ => return KeySlot::Cross,
                    };
                }
                slot
            }
        }
    }

    /// The name and every argument, as bytes: `None` for a command with a large
    /// argument kept by reference (not in the buffer to be read back).
    pub(crate) fn words(&self) -> Option<Vec<&[u8]>> {
        let words: Vec<&[u8]> = std::iter::once(self.buf.name())
            .chain(BulkArgs(self.buf.args_bytes()))
            .collect();
        (words.len() == self.argc()).then_some(words)
    }

    /// The marked keys' bytes, in order (keys kept by reference are left out): for
    /// checks, and for a client-side cache dropping what its own writes change.
    pub(crate) fn marked_keys(&self) -> Vec<Vec<u8>> {
        self.keys
            .iter()
            .filter_map(|mark| match mark {
                KeyMark::At(at) => self
                    .buf
                    .args_bytes()
                    .get(at..)
                    .and_then(|b| BulkArgs(b).next())
                    .map(<[u8]>::to_vec),
                KeyMark::Slot(_) => None,
            })
            .collect()
    }

    /// Every key of the command, marked or (with none marked) found by the
    /// server's key specifications: `None` when they cannot all be read back (a
    /// key kept by reference, or positions the specifications cannot tell).
    pub(crate) fn keys_with(&self, specs: &KeySpecs) -> Option<Vec<Vec<u8>>> {
        if self.keys.first != KeyMark::NONE {
            let all_in_buffer = self.keys.iter().all(|mark| matches!(mark, KeyMark::At(_)));
            return all_in_buffer.then(|| self.marked_keys());
        }
        let words = self.words()?;
        match specs.positions(&words) {
            KeyPositions::None => Some(Vec::new()),
            KeyPositions::Unknown => None,
            KeyPositions::At(at) => at
                .iter()
                .map(|&i| words.get(i).map(|key| key.to_vec()))
                .collect(),
        }
    }

    /// Every argument after the name, as bytes (for checks).
    #[cfg(test)]
    pub(crate) fn arg_bytes(&self) -> Vec<Vec<u8>> {
        BulkArgs(self.buf.args_bytes())
            .map(<[u8]>::to_vec)
            .collect()
    }

    /// Appends an argument in place (for builders that hold a `&mut Command`).
    pub fn push_arg(&mut self, arg: impl ToArg) -> &mut Self {
        self.buf.arg(arg);
        self
    }

    /// The command's name as given (lossy UTF-8).
    pub fn name(&self) -> String {
        String::from_utf8_lossy(self.buf.name()).into_owned()
    }

    /// The name's bytes as given.
    pub(crate) fn name_bytes(&self) -> &[u8] {
        self.buf.name()
    }

    /// About how many bytes it takes on the wire.
    pub(crate) fn encoded_len(&self) -> usize {
        self.buf.body_len() + 8
    }

    /// The number of arguments, the name included.
    pub fn argc(&self) -> usize {
        self.buf.argc()
    }

    /// The name into a short fixed buffer, for diagnostics without allocating.
    pub(crate) fn short_name(&self) -> ShortName {
        ShortName::new(self.buf.name())
    }

    /// Refuses a command with an argument that could not be made
    /// ([`redmux_resp::Arg::failed`]): it must never be sent.
    #[inline]
    pub(crate) fn check_arguments(&self) -> Result<(), Error> {
        match self.buf.failure() {
            None => Ok(()),
            Some(source) => Err(self.invalid_argument(source.clone())),
        }
    }

    #[cold]
    fn invalid_argument(&self, source: redmux_resp::ArgError) -> Error {
        Error::InvalidArgument {
            command: self.short_name().as_string().into(),
            source,
        }
    }

    /// Whether an argument could not be made: such a command must never be sent
    /// ([`Command::check_arguments`] says why). One test of a field, for the hot path.
    #[inline]
    pub(crate) fn has_failed_argument(&self) -> bool {
        self.buf.failure().is_some()
    }

    /// Refuses commands the shared connection must not run: blocking ones and ones
    /// that change its state (the table is in `crate::refusal`).
    pub(crate) fn check_shareable(&self) -> Result<(), Error> {
        crate::refusal::check(self.buf.name(), BulkArgs(self.buf.args_bytes()))
    }

    /// Appends arguments already encoded as RESP bulk strings (`$3\r\nfoo\r\n...`),
    /// each as one argument: how a script call adds the keys and arguments it
    /// encoded before it knew whether it would be sent as EVALSHA or EVAL.
    pub(crate) fn push_encoded(&mut self, encoded: &[u8]) {
        for arg in BulkArgs(encoded) {
            self.buf.arg(arg);
        }
    }

    /// As [`Command::push_encoded`], each argument marked as a key: a script
    /// call's keys, encoded before the call knew its command.
    pub(crate) fn push_encoded_keys(&mut self, encoded: &[u8]) {
        for key in BulkArgs(encoded) {
            self.push_key(key);
        }
    }

    /// Records an argument that could not be made (a script call's, encoded before
    /// its command): the command then fails unsent (see [`Command::check_arguments`]).
    pub(crate) fn push_failed(&mut self, error: redmux_resp::ArgError) {
        self.buf.push(error.into());
    }

    pub(crate) fn into_bytes(self) -> BytesMut {
        self.buf.finish()
    }

    /// A command taken back from the bytes it was encoded to ([`Command::into_parts`]
    /// with no parts), to send again: a cluster command a node refused (MOVED,
    /// ASK, ...). Its keys are not marked: whoever resends it knows its slot.
    pub(crate) fn from_encoded(bytes: BytesMut) -> Option<Command> {
        Some(Command {
            buf: CommandBuf::from_finished(bytes)?,
            keys: Keys::default(),
        })
    }

    /// The encoded command as a buffer followed by the large `Bytes` arguments it
    /// kept by reference (none for most commands).
    #[inline]
    pub(crate) fn into_parts(self) -> (BytesMut, Vec<bytes::Bytes>) {
        self.buf.finish_parts()
    }
}

/// Where a command's keys hash to (see [`crate::Client::slot_of`]).
///
/// ```
/// use redmux::{KeySlot, hash_slot};
/// assert_eq!(KeySlot::One(hash_slot(b"foo")), KeySlot::One(12182));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeySlot {
    /// The command takes no keys.
    Keyless,
    /// Every key hashes to this slot.
    One(u16),
    /// The keys hash to different slots.
    Cross,
    /// Where the keys are is not known (a raw command neither the key
    /// specifications nor a rule describes).
    Unknown,
}

/// Where one key is: the offset of its bulk string in the encoded arguments, or
/// (for a key kept by reference) its slot, worked out when it was added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyMark {
    At(usize),
    Slot(u16),
}

impl KeyMark {
    /// No mark, in [`Keys`]'s packed form.
    const NONE: u32 = u32::MAX;
    /// Set on a packed mark that holds a slot rather than an offset.
    const SLOT: u32 = 1 << 31;

    /// Packed into 31 bits: an offset past 2 GiB of arguments (no server takes
    /// such a command) is kept as an impossible slot, so its command counts as
    /// cross-slot rather than routed by a wrong key.
    #[inline(always)]
    fn pack(self) -> u32 {
        match self {
            KeyMark::Slot(slot) => Self::SLOT | u32::from(slot),
            KeyMark::At(at) => match u32::try_from(at) {
                Ok(at) if at < Self::SLOT => at,
                _ => Self::SLOT | u32::from(u16::MAX),
            },
        }
    }

    fn unpack(packed: u32) -> Option<KeyMark> {
        match packed {
            Self::NONE => None,
            p if p & Self::SLOT != 0 => Some(KeyMark::Slot((p & 0xFFFF) as u16)),
            p => Some(KeyMark::At(p as usize)),
        }
    }
}

/// The marks of a command's keys, packed into 16 bytes: a `Command` is moved by
/// value at every step of a builder chain, so each byte here is copied several
/// times per command. The first two marks are inline, so a command of one or two
/// keys (GET, SET, RENAME, LMOVE, SMOVE, ...) records them with a store each and
/// no allocation.
#[derive(Debug, Clone)]
struct Keys {
    first: u32,
    second: u32,
    // Boxed to keep `Keys` at 16 bytes (a `Vec` inline would be 24 more, copied
    // on every move); the third key of a command is rare enough to pay twice.
    #[allow(clippy::box_collection)]
    rest: Option<Box<Vec<u32>>>,
}

impl Default for Keys {
    fn default() -> Self {
        Keys {
            first: KeyMark::NONE,
            second: KeyMark::NONE,
            rest: None,
        }
    }
}

impl Keys {
    #[inline(always)]
    fn push(&mut self, mark: KeyMark) {
        let packed = mark.pack();
        if self.first == KeyMark::NONE {
            self.first = packed;
        } else if self.second == KeyMark::NONE {
            self.second = packed;
        } else {
            self.rest.get_or_insert_default().push(packed);
        }
    }

    fn len(&self) -> usize {
        usize::from(self.first != KeyMark::NONE)
            + usize::from(self.second != KeyMark::NONE)
            + self.rest.as_ref().map_or(0, |r| r.len())
    }

    fn iter(&self) -> impl Iterator<Item = KeyMark> + '_ {
        [self.first, self.second]
            .into_iter()
            .chain(self.rest.iter().flat_map(|r| r.iter().copied()))
            .filter_map(KeyMark::unpack)
    }
}

/// A command name of up to 24 bytes kept inline, so a request carries its name for
/// error messages without an allocation.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ShortName {
    bytes: [u8; 24],
    len: u8,
}

impl ShortName {
    fn new(name: &[u8]) -> Self {
        let mut bytes = [0u8; 24];
        let len = name.len().min(24);
        bytes[..len].copy_from_slice(&name[..len]);
        ShortName {
            bytes,
            len: len as u8,
        }
    }

    /// The name as given (up to 24 bytes).
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }

    pub(crate) fn as_string(&self) -> String {
        String::from_utf8_lossy(&self.bytes[..self.len as usize]).to_ascii_uppercase()
    }
}

/// Iterates over the payloads of encoded bulk strings (`$3\r\nfoo\r\n...`).
struct BulkArgs<'a>(&'a [u8]);

impl<'a> Iterator for BulkArgs<'a> {
    type Item = &'a [u8];

    // The length is read digit by digit: `str::from_utf8` and `parse` cost over a
    // hundred instructions per key, and a cluster reads every command's key here
    // to find its slot (callgrind, 100,000 SETs on a 3 + 3 cluster).
    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        let rest = self.0.strip_prefix(b"$")?;
        let mut len = 0usize;
        let mut header_end = 0;
        loop {
            match *rest.get(header_end)? {
                b'\r' if header_end > 0 => break,
                digit @ b'0'..=b'9' => {
                    len = len
                        .checked_mul(10)?
                        .checked_add(usize::from(digit - b'0'))?;
                }
                _ => return None,
            }
            header_end += 1;
        }
        let start = header_end + 2;
        let payload = rest.get(start..start + len)?;
        self.0 = rest.get(start + len + 2..).unwrap_or(&[]);
        Some(payload)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_with_reads_marked_keys_or_finds_them_by_the_specifications() {
        let specs = KeySpecs::builtin();
        let marked = cmd("SET").key("a").arg("1");
        assert_eq!(marked.keys_with(&specs), Some(vec![b"a".to_vec()]));
        let raw = cmd("MSET").arg("a").arg("1").arg("b").arg("2");
        assert_eq!(
            raw.keys_with(&specs),
            Some(vec![b"a".to_vec(), b"b".to_vec()])
        );
        assert_eq!(cmd("PING").keys_with(&specs), Some(Vec::new()));
        // An unknown command's keys cannot be placed.
        assert_eq!(cmd("NOSUCHCOMMAND").arg("k").keys_with(&specs), None);
    }
}
