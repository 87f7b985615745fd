//! Bitmap commands on string values: SETBIT, GETBIT, BITCOUNT and BITPOS (with a
//! [`BitRange`]), BITOP ([`BitOp`]), and BITFIELD ([`BitField`]).

use redmux_resp::ToArg;

use crate::{Command, Commands, Request, cmd};

impl Commands {
    /// Sets or clears one bit, growing the string with zero bytes if needed:
    /// `SETBIT key offset 0|1`. Offset 0 is the most significant bit of the first byte.
    /// The reply is the bit's old value.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// // Mark user 1042 active today.
    /// let was_active: bool = client.setbit("active:2024-05-01", 1042, true).await?;
    /// # Ok(()) }
    /// ```
    pub fn setbit(&self, key: impl ToArg, offset: u64, value: bool) -> Request<'_, bool> {
        self.request(cmd("SETBIT").key(key).arg(offset).arg(u8::from(value)))
    }

    /// One bit; `false` past the end of the string or for a missing key:
    /// `GETBIT key offset`.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let active: bool = client.getbit("active:2024-05-01", 1042).await?;
    /// # Ok(()) }
    /// ```
    pub fn getbit(&self, key: impl ToArg, offset: u64) -> Request<'_, bool> {
        self.request(cmd("GETBIT").key(key).arg(offset))
    }

    /// The number of set bits in a string, 0 for a missing key: `BITCOUNT key`.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let active_users: u64 = client.bitcount("active:2024-05-01").await?;
    /// # Ok(()) }
    /// ```
    pub fn bitcount(&self, key: impl ToArg) -> Request<'_, u64> {
        self.request(cmd("BITCOUNT").key(key))
    }

    /// The number of set bits in a range of bytes or bits:
    /// `BITCOUNT key start end [BYTE|BIT]`. Counting by bit needs Redis 7.0.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// use redmux::BitRange;
    /// let in_first_byte: u64 = client.bitcount_range("flags", BitRange::bytes(0, 0)).await?;
    /// let in_bits_5_to_30: u64 = client.bitcount_range("flags", BitRange::bits(5, 30)).await?;
    /// # Ok(()) }
    /// ```
    pub fn bitcount_range(&self, key: impl ToArg, range: BitRange) -> Request<'_, u64> {
        let mut command = cmd("BITCOUNT").key(key);
        range.push_args(&mut command);
        self.request(command)
    }

    /// The position of the first bit set to 1 (`true`) or 0 (`false`): `BITPOS key bit`.
    /// The reply is -1 when there is none: no 1 in the string, or no 1 at all in a
    /// missing key. Looking for a 0 in a string of all ones answers the first bit past
    /// its end; in a missing key, 0.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let first_free_slot: i64 = client.bitpos("slots", false).await?;
    /// # Ok(()) }
    /// ```
    pub fn bitpos(&self, key: impl ToArg, bit: bool) -> Request<'_, i64> {
        self.request(cmd("BITPOS").key(key).arg(u8::from(bit)))
    }

    /// The position of the first bit set to 1 (`true`) or 0 (`false`) within a range:
    /// `BITPOS key bit start end [BYTE|BIT]`. The position counts from the start of
    /// the string, not of the range; -1 when the range holds no such bit. Ranges in
    /// bits need Redis 7.0.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// use redmux::BitRange;
    /// let first_set_after_byte_2: i64 = client.bitpos_range("flags", true, BitRange::bytes(2, -1)).await?;
    /// # Ok(()) }
    /// ```
    pub fn bitpos_range(&self, key: impl ToArg, bit: bool, range: BitRange) -> Request<'_, i64> {
        let mut command = cmd("BITPOS").key(key).arg(u8::from(bit));
        range.push_args(&mut command);
        self.request(command)
    }

    /// Stores a bitwise operation over strings in `destination`:
    /// `BITOP AND|OR|XOR|NOT destkey key [key ...]`. Shorter strings count as padded
    /// with zero bytes; `NOT` takes exactly one key. The reply is the length of the
    /// stored string, that of the longest input.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// use redmux::BitOp;
    /// let len: u64 = client.bitop(BitOp::And, "active:both", ["active:mon", "active:tue"]).await?;
    /// # Ok(()) }
    /// ```
    pub fn bitop(
        &self,
        op: BitOp,
        destination: impl ToArg,
        keys: impl IntoIterator<Item = impl ToArg>,
    ) -> Request<'_, u64> {
        self.request(cmd("BITOP").arg(op.as_str()).key(destination).keys(keys))
    }

    /// Reads and writes integers of any width at any bit offset, in one atomic
    /// command: `BITFIELD key [GET type offset | SET type offset value |
    /// INCRBY type offset increment | OVERFLOW WRAP|SAT|FAIL] ...`.
    ///
    /// The reply has one element per `GET`, `SET` (the old value) and `INCRBY` (the new
    /// value), in order; an `INCRBY` or `SET` that [`Overflow::Fail`] stopped is `None`.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// use redmux::{BitField, BitFieldType, Overflow};
    /// let u8_ = BitFieldType::unsigned(8);
    /// let replies: Vec<Option<i64>> = client
    ///     .bitfield("counters", BitField::new().overflow(Overflow::Sat).incrby(u8_, 0, 10).get(u8_, 8))
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn bitfield(&self, key: impl ToArg, ops: BitField) -> Request<'_, Vec<Option<i64>>> {
        let mut command = cmd("BITFIELD").key(key);
        for op in ops.ops {
            op.push_args(&mut command);
        }
        self.request(command)
    }
}

/// A range of a string for [`Client::bitcount_range`] and [`Client::bitpos_range`]:
/// `start end [BYTE|BIT]`, both inclusive. Negative positions count from the end
/// (`-1` is the last byte or bit).
///
/// ```
/// use redmux::BitRange;
/// // BITCOUNT key 0 -1
/// let whole = BitRange::bytes(0, -1);
/// // BITCOUNT key 5 30 BIT
/// let some_bits = BitRange::bits(5, 30);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BitRange {
    start: i64,
    end: i64,
    bits: bool,
}

impl BitRange {
    /// A range of bytes. Sent without a unit, so it works on servers before 7.0 too.
    pub fn bytes(start: i64, end: i64) -> Self {
        BitRange {
            start,
            end,
            bits: false,
        }
    }

    /// A range of bits: `start end BIT`. Needs Redis 7.0.
    pub fn bits(start: i64, end: i64) -> Self {
        BitRange {
            start,
            end,
            bits: true,
        }
    }

    fn push_args(self, command: &mut Command) {
        command.push_arg(self.start).push_arg(self.end);
        if self.bits {
            command.push_arg("BIT");
        }
    }
}

/// The operation of [`Client::bitop`].
///
/// ```no_run
/// # async fn run(client: redmux::Client) -> redmux::Result<()> {
/// use redmux::BitOp;
/// // BITOP OR active:week active:mon active:tue
/// client.bitop(BitOp::Or, "active:week", ["active:mon", "active:tue"]).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BitOp {
    /// `AND`: bits set in every input.
    And,
    /// `OR`: bits set in any input.
    Or,
    /// `XOR`: bits set in an odd number of inputs.
    Xor,
    /// `NOT`: the inverse of one input.
    Not,
}

impl BitOp {
    /// The name Redis uses for the operation.
    pub fn as_str(self) -> &'static str {
        match self {
            BitOp::And => "AND",
            BitOp::Or => "OR",
            BitOp::Xor => "XOR",
            BitOp::Not => "NOT",
        }
    }
}

/// The type of one integer in a [`BitField`]: signed up to 64 bits (`i1`..`i64`) or
/// unsigned up to 63 (`u1`..`u63`). The server refuses other widths.
///
/// ```
/// use redmux::BitFieldType;
/// assert_eq!(BitFieldType::unsigned(8).to_string(), "u8");
/// assert_eq!(BitFieldType::signed(5).to_string(), "i5");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BitFieldType {
    signed: bool,
    bits: u8,
}

impl BitFieldType {
    /// A signed integer of `bits` bits: `i<bits>`.
    pub fn signed(bits: u8) -> Self {
        BitFieldType { signed: true, bits }
    }

    /// An unsigned integer of `bits` bits: `u<bits>`.
    pub fn unsigned(bits: u8) -> Self {
        BitFieldType {
            signed: false,
            bits,
        }
    }
}

impl std::fmt::Display for BitFieldType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sign = if self.signed { 'i' } else { 'u' };
        write!(f, "{sign}{}", self.bits)
    }
}

/// What `SET` and `INCRBY` in a [`BitField`] do when a value does not fit its type.
///
/// ```
/// use redmux::{BitField, BitFieldType, Overflow};
/// // BITFIELD key OVERFLOW SAT INCRBY u8 0 300
/// let capped = BitField::new().overflow(Overflow::Sat).incrby(BitFieldType::unsigned(8), 0, 300);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Overflow {
    /// `WRAP`: wrap around, as unsigned arithmetic in C does (the default).
    Wrap,
    /// `SAT`: stop at the type's minimum or maximum.
    Sat,
    /// `FAIL`: do nothing; the operation's reply is `None`.
    Fail,
}

impl Overflow {
    fn as_str(self) -> &'static str {
        match self {
            Overflow::Wrap => "WRAP",
            Overflow::Sat => "SAT",
            Overflow::Fail => "FAIL",
        }
    }
}

/// The operations of one [`Client::bitfield`] call, run in order. Offsets are in
/// bits from the start of the string: the third 8-bit counter is at offset 16.
/// An [`overflow`](Self::overflow) applies to the `SET`s and `INCRBY`s after it.
///
/// ```
/// use redmux::{BitField, BitFieldType, Overflow};
/// let u4 = BitFieldType::unsigned(4);
/// // BITFIELD key SET u4 0 15 OVERFLOW FAIL INCRBY u4 0 1 GET u4 4
/// let ops = BitField::new().set(u4, 0, 15).overflow(Overflow::Fail).incrby(u4, 0, 1).get(u4, 4);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BitField {
    ops: Vec<BitFieldOp>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum BitFieldOp {
    Get(BitFieldType, u64),
    Set(BitFieldType, u64, i64),
    IncrBy(BitFieldType, u64, i64),
    Overflow(Overflow),
}

impl BitFieldOp {
    fn push_args(&self, command: &mut Command) {
        let ty = |t: &BitFieldType| t.to_string();
        match self {
            BitFieldOp::Get(t, offset) => command.push_arg("GET").push_arg(ty(t)).push_arg(offset),
            BitFieldOp::Set(t, offset, value) => command
                .push_arg("SET")
                .push_arg(ty(t))
                .push_arg(offset)
                .push_arg(value),
            BitFieldOp::IncrBy(t, offset, increment) => command
                .push_arg("INCRBY")
                .push_arg(ty(t))
                .push_arg(offset)
                .push_arg(increment),
            BitFieldOp::Overflow(o) => command.push_arg("OVERFLOW").push_arg(o.as_str()),
        };
    }
}

impl BitField {
    /// No operations yet.
    pub fn new() -> Self {
        BitField::default()
    }

    /// `GET type offset`: reads an integer.
    pub fn get(mut self, ty: BitFieldType, offset: u64) -> Self {
        self.ops.push(BitFieldOp::Get(ty, offset));
        self
    }

    /// `SET type offset value`: writes an integer; its reply is the old value.
    pub fn set(mut self, ty: BitFieldType, offset: u64, value: i64) -> Self {
        self.ops.push(BitFieldOp::Set(ty, offset, value));
        self
    }

    /// `INCRBY type offset increment`: adds to an integer (a negative increment
    /// subtracts); its reply is the new value.
    pub fn incrby(mut self, ty: BitFieldType, offset: u64, increment: i64) -> Self {
        self.ops.push(BitFieldOp::IncrBy(ty, offset, increment));
        self
    }

    /// `OVERFLOW WRAP|SAT|FAIL`: how the `SET`s and `INCRBY`s that follow handle a
    /// value that does not fit.
    pub fn overflow(mut self, overflow: Overflow) -> Self {
        self.ops.push(BitFieldOp::Overflow(overflow));
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bitfield_ops_encode_in_order() {
        let u4 = BitFieldType::unsigned(4);
        let mut c = cmd("BITFIELD").arg("k");
        let ops = BitField::new()
            .set(u4, 0, 15)
            .overflow(Overflow::Fail)
            .incrby(BitFieldType::signed(8), 8, -2)
            .get(u4, 4);
        for op in ops.ops {
            op.push_args(&mut c);
        }
        let wire = String::from_utf8_lossy(&c.into_bytes())
            .split("\r\n")
            .filter(|p| !p.starts_with('*') && !p.starts_with('$'))
            .collect::<Vec<_>>()
            .join(" ");
        assert_eq!(
            wire,
            "BITFIELD k SET u4 0 15 OVERFLOW FAIL INCRBY i8 8 -2 GET u4 4 "
        );
    }
}
