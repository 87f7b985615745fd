//! Hash slots: which of the 16,384 slots a key belongs to, and a hash tag that lands in
//! a chosen slot. The kit has its own copy so a test can check the client's.

use std::sync::OnceLock;

/// The number of hash slots in a Redis or Valkey cluster.
pub const SLOTS: u16 = 16_384;

/// The hash slot of `key`: CRC16 (XMODEM) of the key, or of its `{hash tag}` when the
/// key has a non-empty one, modulo 16,384. The same rule the servers use.
///
/// # Example
///
/// ```
/// use redmux_testkit::key_slot;
///
/// assert_eq!(key_slot(b"foo"), 12182);
/// assert_eq!(key_slot(b"{user1000}.following"), key_slot(b"{user1000}.followers"));
/// assert_eq!(key_slot(b"{}x"), key_slot(b"{}x")); // empty tag: the whole key counts
/// ```
pub fn key_slot(key: &[u8]) -> u16 {
    crc16(hash_tag(key)) % SLOTS
}

/// A hash tag such as `{1234}` whose keys all live in `slot`, so a test can put keys in
/// a slot it chose: `format!("{}name", hash_tag_for_slot(s))`.
///
/// Returns `None` only for a slot of 16,384 or more.
///
/// # Example
///
/// ```
/// use redmux_testkit::{hash_tag_for_slot, key_slot};
///
/// let tag = hash_tag_for_slot(42).expect("a valid slot");
/// assert_eq!(key_slot(format!("{tag}:a").as_bytes()), 42);
/// assert_eq!(key_slot(format!("x{tag}").as_bytes()), 42);
/// ```
pub fn hash_tag_for_slot(slot: u16) -> Option<String> {
    let tags = TAGS.get_or_init(build_tags);
    let n = tags.get(usize::from(slot)).filter(|&&n| n != u32::MAX)?;
    Some(format!("{{{n}}}"))
}

/// For each slot, the smallest number whose decimal text hashes to it. Built once:
/// about 170,000 CRCs until the last slot is hit, a few milliseconds.
static TAGS: OnceLock<Vec<u32>> = OnceLock::new();

fn build_tags() -> Vec<u32> {
    let mut tags = vec![u32::MAX; usize::from(SLOTS)];
    let mut missing = usize::from(SLOTS);
    let mut n: u32 = 0;
    while missing > 0 && n < u32::MAX {
        let slot = usize::from(crc16(n.to_string().as_bytes()) % SLOTS);
        if tags[slot] == u32::MAX {
            tags[slot] = n;
            missing -= 1;
        }
        n += 1;
    }
    tags
}

/// The part of the key that is hashed: what is between the first `{` and the next `}`,
/// when that is not empty; otherwise the whole key.
fn hash_tag(key: &[u8]) -> &[u8] {
    let Some(open) = key.iter().position(|&b| b == b'{') else {
        return key;
    };
    match key[open + 1..].iter().position(|&b| b == b'}') {
        Some(len) if len > 0 => &key[open + 1..open + 1 + len],
        _ => key,
    }
}

/// CRC16-XMODEM (polynomial 0x1021, initial value 0), bit by bit: the kit hashes few
/// keys, so a table would buy nothing.
fn crc16(bytes: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for &byte in bytes {
        crc ^= u16::from(byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_reference_values() {
        // From the Redis cluster specification.
        assert_eq!(crc16(b"123456789"), 0x31C3);
        assert_eq!(key_slot(b"foo"), 12182);
        assert_eq!(key_slot(b"bar"), 5061);
        assert_eq!(key_slot(b""), 0);
    }

    #[test]
    fn hash_tags_follow_the_first_braces() {
        assert_eq!(hash_tag(b"a{b}c"), b"b");
        assert_eq!(hash_tag(b"a{}c{d}"), b"a{}c{d}");
        assert_eq!(hash_tag(b"a{b"), b"a{b");
        assert_eq!(hash_tag(b"{b}{c}"), b"b");
    }

    #[test]
    fn every_slot_has_a_tag() {
        for slot in 0..SLOTS {
            let tag = hash_tag_for_slot(slot).unwrap_or_default();
            assert_eq!(key_slot(tag.as_bytes()), slot, "{tag}");
        }
        assert_eq!(hash_tag_for_slot(SLOTS), None);
    }
}
