//! Hash slots: CRC16 (XMODEM) of a key, or of its `{hash tag}`, modulo 16,384, as
//! Redis Cluster and Valkey Cluster compute them.

/// The number of hash slots in a cluster.
pub const SLOTS: u16 = 16_384;

/// The hash slot a key lives in: CRC16 of the key, or of the part between the first
/// `{` and the next `}` when that part is not empty (a *hash tag*), modulo 16,384.
/// Keys that share a hash tag share a slot, so multi-key commands can use them
/// together on a cluster.
///
/// ```
/// use redmux::hash_slot;
/// assert_eq!(hash_slot(b"foo"), 12182);
/// assert_eq!(hash_slot(b"{user1000}.following"), hash_slot(b"{user1000}.followers"));
/// assert_eq!(hash_slot(b"foo{}{bar}"), hash_slot(b"foo{}{bar}")); // `{}` is no tag
/// ```
pub fn hash_slot(key: &[u8]) -> u16 {
    // One pass for the usual key, with no `{`: its CRC is worked out while
    // looking for one, instead of a scan for `{` and then a second pass for the
    // CRC (a cluster hashes every command's key).
    let mut crc = 0u16;
    for (i, &b) in key.iter().enumerate() {
        if b == b'{' {
            return crc16_from(crc, hash_tag(key), i, key) % SLOTS;
        }
        crc = crc16_step(crc, b);
    }
    crc % SLOTS
}

/// The CRC of `hashed` (the key's hash tag, or the whole key), knowing that `crc`
/// is already the CRC of `key`'s first `done` bytes.
#[cold]
fn crc16_from(crc: u16, hashed: &[u8], done: usize, key: &[u8]) -> u16 {
    if hashed.len() == key.len() {
        // No tag: the whole key, from where the CRC stopped.
        key[done..].iter().fold(crc, |crc, &b| crc16_step(crc, b))
    } else {
        crc16(hashed)
    }
}

/// One byte into the CRC.
#[inline(always)]
fn crc16_step(crc: u16, b: u8) -> u16 {
    (crc << 8) ^ TABLE[usize::from(((crc >> 8) as u8) ^ b)]
}

/// The part of a key that is hashed: its hash tag if it has a non-empty one.
fn hash_tag(key: &[u8]) -> &[u8] {
    let Some(open) = key.iter().position(|&b| b == b'{') else {
        return key;
    };
    match key[open + 1..].iter().position(|&b| b == b'}') {
        Some(0) | None => key,
        Some(len) => &key[open + 1..open + 1 + len],
    }
}

/// CRC16-CCITT (XMODEM): polynomial 0x1021, initial value 0, no reflection.
fn crc16(bytes: &[u8]) -> u16 {
    bytes.iter().fold(0u16, |crc, &b| crc16_step(crc, b))
}

/// The CRC16 table, computed at compile time.
const TABLE: [u16; 256] = {
    let mut table = [0u16; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = (i as u16) << 8;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc16_check_value() {
        // The XMODEM check value, as the Redis Cluster specification gives it.
        assert_eq!(crc16(b"123456789"), 0x31C3);
    }

    #[test]
    fn known_slots() {
        // Values from CLUSTER KEYSLOT on a real server.
        assert_eq!(hash_slot(b"foo"), 12182);
        assert_eq!(hash_slot(b"bar"), 5061);
        assert_eq!(hash_slot(b""), 0);
        assert_eq!(hash_slot(b"somekey"), 11058);
    }

    #[test]
    fn hash_tags() {
        assert_eq!(hash_tag(b"{user1000}.following"), b"user1000");
        assert_eq!(hash_tag(b"foo{}{bar}"), b"foo{}{bar}");
        assert_eq!(hash_tag(b"foo{{bar}}zap"), b"{bar");
        assert_eq!(hash_tag(b"foo{bar}{zap}"), b"bar");
        assert_eq!(hash_tag(b"{"), b"{");
        assert_eq!(hash_tag(b"}{"), b"}{");
        assert_eq!(hash_slot(b"a{tag}b"), hash_slot(b"tag"));
    }

    #[test]
    fn the_one_pass_slot_is_the_crc_of_the_tag_or_key() {
        // `hash_slot` hashes while it looks for `{`: it must agree with the two
        // steps it folds together, tag or no tag, wherever the `{` is.
        let keys: [&[u8]; 12] = [
            b"b:12345",
            b"{",
            b"a{",
            b"ab{cd",
            b"ab{cd}",
            b"ab{}cd",
            b"{}",
            b"x{}{y}",
            b"{user1000}.following",
            b"foo{{bar}}zap",
            b"}{",
            b"long:key:with:no:tag:at:all",
        ];
        for key in keys {
            assert_eq!(hash_slot(key), crc16(hash_tag(key)) % SLOTS, "{key:?}");
        }
    }
}
