//! Salesforce record ids.
//!
//! A Salesforce id is 15 case-sensitive characters (a 3-character key prefix naming the
//! object, a 2-character pod, 3 reserved characters and a base-62 counter) followed by a
//! 3-character suffix that makes the id safe to compare case-insensitively. The simulator
//! builds ids from a counter so that id order is index order, which lets `ORDER BY Id`
//! and paging work without materialising records.

/// The pod characters every simulated id carries; real orgs vary these per instance.
pub const POD: &str = "Dn";

/// Digits of Salesforce's base-62 counter, in ascending ASCII order so that padded
/// counters sort lexicographically in numeric order.
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Alphabet of the case-safety suffix: one character per 5-bit chunk value.
const CHECKSUM_ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";

/// Width of the counter part of a 15-character id.
const COUNTER_WIDTH: usize = 7;

/// Largest counter a 7-digit base-62 number can hold, plus one.
pub const COUNTER_LIMIT: u64 = 62u64.pow(COUNTER_WIDTH as u32);

/// Computes the 3-character case-safety suffix of a 15-character id.
///
/// For each 5-character chunk, bit `i` is set when character `i` is an ASCII capital
/// letter; the 5-bit value indexes `A..Z0..5`. Returns `None` when the id is not 15
/// ASCII characters.
pub fn checksum(id15: &str) -> Option<String> {
    let bytes = id15.as_bytes();
    if bytes.len() != 15 || !id15.is_ascii() {
        return None;
    }
    let mut suffix = String::with_capacity(3);
    for chunk in bytes.chunks(5) {
        let mut bits = 0usize;
        for (i, b) in chunk.iter().enumerate() {
            if b.is_ascii_uppercase() {
                bits |= 1 << i;
            }
        }
        suffix.push(char::from(CHECKSUM_ALPHABET[bits]));
    }
    Some(suffix)
}

/// Builds the 18-character id of counter `n` for the object with key prefix `prefix`.
///
/// The prefix must be 3 characters (e.g. `001` for Account); counters wrap at 62^7,
/// far beyond any org the simulator serves.
pub fn salesforce_id(prefix: &str, n: u64) -> String {
    let mut counter = [b'0'; COUNTER_WIDTH];
    let mut rest = n % COUNTER_LIMIT;
    for slot in counter.iter_mut().rev() {
        // The index is always below 62, so the cast cannot truncate.
        *slot = BASE62[(rest % 62) as usize];
        rest /= 62;
    }
    let mut id = String::with_capacity(18);
    id.push_str(prefix);
    id.push_str(POD);
    id.push_str("000");
    id.extend(counter.iter().map(|b| char::from(*b)));
    let suffix = checksum(&id).unwrap_or_default();
    id.push_str(&suffix);
    id
}

/// Turns a 15- or 18-character id into its 18-character form, or `None` if it is
/// neither. An 18-character id is returned with its suffix recomputed, because
/// Salesforce treats the suffix as derived data.
pub fn to_18(id: &str) -> Option<String> {
    if !id.is_ascii() || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    let id15 = match id.len() {
        15 => id,
        18 => &id[..15],
        _ => return None,
    };
    let suffix = checksum(id15)?;
    Some(format!("{id15}{suffix}"))
}

/// Recovers the counter of an id this module built with `prefix`, if it is one.
pub fn parse_counter(prefix: &str, id: &str) -> Option<u64> {
    let full = to_18(id)?;
    let head = format!("{prefix}{POD}000");
    let counter = full.get(..15)?.strip_prefix(head.as_str())?;
    let mut n = 0u64;
    for b in counter.bytes() {
        let digit = BASE62.iter().position(|d| *d == b)? as u64;
        n = n * 62 + digit;
    }
    Some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_matches_real_ids() {
        // Ids recorded from real orgs in the fixtures.
        for real in [
            "001Da00000xnAiyIAE",
            "0017e00001W4GYRAA3",
            "00390000001TdgeAAC",
            "0051a000000UGT8AAO",
            "00D1a000000H3O9EAK",
            "00Qak00000696HFEAY",
        ] {
            let computed = to_18(&real[..15]);
            assert_eq!(computed.as_deref(), Some(real), "checksum of {real}");
        }
    }

    #[test]
    fn ids_are_ordered_and_round_trip() {
        let mut previous = String::new();
        for n in [0u64, 1, 61, 62, 3843, 1_000_000, 56_800_235_583] {
            let id = salesforce_id("001", n);
            assert_eq!(id.len(), 18);
            assert!(id.starts_with("001Dn000"));
            assert!(id > previous, "{id} should sort after {previous}");
            assert_eq!(parse_counter("001", &id), Some(n));
            assert_eq!(parse_counter("001", &id[..15]), Some(n));
            assert_eq!(parse_counter("003", &id), None);
            previous = id;
        }
    }

    #[test]
    fn malformed_ids_are_rejected() {
        assert_eq!(to_18("001"), None);
        assert_eq!(to_18("001Da00000xnAi!"), None);
        assert_eq!(checksum("tooshort"), None);
    }
}
