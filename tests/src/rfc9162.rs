//! An independent verifier of RFC 9162's proofs, written from the RFC's own
//! algorithms (section 2.1.3.2, "Verifying an Inclusion Proof", and 2.1.4.2,
//! "Verifying Consistency between Two Tree Heads") and nothing of
//! termaudit's: the tests check the server's proofs with it, so a mistake
//! shared by the prover and termaudit's verifier cannot hide.

use sha2::{Digest, Sha256};

pub type H = [u8; 32];

fn node(left: &H, right: &H) -> H {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

pub fn leaf(data: &[u8]) -> H {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

/// RFC 9162, 2.1.3.2.
pub fn verify_inclusion(leaf_index: u64, tree_size: u64, hash: &H, path: &[H], root: &H) -> bool {
    // 1. leaf_index >= tree_size fails.
    if leaf_index >= tree_size {
        return false;
    }
    // 2. fn = leaf_index, sn = tree_size - 1.
    let (mut f, mut s) = (leaf_index, tree_size - 1);
    // 3. r = hash.
    let mut r = *hash;
    // 4. For each p in the path:
    for p in path {
        // a. sn == 0: fail.
        if s == 0 {
            return false;
        }
        // b. LSB(fn) set, or fn == sn:
        if f & 1 == 1 || f == s {
            r = node(p, &r);
            // ii. if LSB(fn) is not set, shift both until it is or fn is 0.
            if f & 1 == 0 {
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            }
        } else {
            r = node(&r, p);
        }
        // c. shift both once.
        f >>= 1;
        s >>= 1;
    }
    // 5. sn == 0 and r == root.
    s == 0 && r == *root
}

/// RFC 9162, 2.1.4.2 (for 0 < first < second; equal sizes need equal roots
/// and an empty path).
pub fn verify_consistency(
    first: u64,
    second: u64,
    first_hash: &H,
    second_hash: &H,
    path: &[H],
) -> bool {
    if first == second {
        return path.is_empty() && first_hash == second_hash;
    }
    if first == 0 || first > second {
        return false;
    }
    // 1. An empty path fails.
    if path.is_empty() {
        return false;
    }
    // 2. If first is an exact power of 2, prepend first_hash.
    let mut path = path.to_vec();
    if first.is_power_of_two() {
        path.insert(0, *first_hash);
    }
    // 3. fn = first - 1, sn = second - 1.
    let (mut f, mut s) = (first - 1, second - 1);
    // 4. If LSB(fn) is set, shift both until it is not.
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    // 5. fr = sr = the first value of the path.
    let (mut fr, mut sr) = (path[0], path[0]);
    // 6. For each subsequent value c:
    for c in &path[1..] {
        // a. sn == 0: fail.
        if s == 0 {
            return false;
        }
        // b. LSB(fn) set, or fn == sn:
        if f & 1 == 1 || f == s {
            fr = node(c, &fr);
            sr = node(c, &sr);
            if f & 1 == 0 {
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            }
        } else {
            sr = node(&sr, c);
        }
        // c. shift both once.
        f >>= 1;
        s >>= 1;
    }
    // 7. fr == first_hash, sr == second_hash, sn == 0.
    fr == *first_hash && sr == *second_hash && s == 0
}

/// A hex string as 32 bytes.
pub fn unhex(text: &str) -> H {
    let bytes: Vec<u8> = (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect();
    bytes.try_into().expect("32 bytes")
}
