//! The Merkle tree of RFC 9162 (Certificate Transparency 2.0), section 2.1:
//! leaf and node hashes with SHA-256 and domain separation, the tree head
//! of any size, inclusion and consistency proofs, and their verification.
//!
//! Storage keeps the roots of *perfect* subtrees (2^level leaves starting at
//! a multiple of 2^level): every hash a proof needs is one of them or a fold
//! of a few of them, so a proof over millions of leaves reads a few dozen
//! hashes. [`Frontier`] appends leaves and says which perfect subtrees each
//! leaf completes; [`ProofPlan`] says which perfect subtrees a proof needs
//! and assembles it from them.
//!
//! Verification follows the recursive definitions of the RFC (PATH and
//! SUBPROOF, section 2.1.3.1 and 2.1.4.1) backwards, recomputing the roots;
//! the tests check it against the RFC's iterative algorithms (2.1.3.2,
//! 2.1.4.2), written separately, and against the reference test vectors.

use std::{collections::HashMap, fmt, ops::Range};

use sha2::{Digest, Sha256};

/// A SHA-256 value in the tree.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Hash(pub [u8; 32]);

impl Hash {
    pub fn hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Parses 64 hexadecimal digits.
    pub fn from_hex(text: &str) -> Option<Self> {
        let bytes = text.as_bytes();
        if bytes.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, pair) in bytes.chunks(2).enumerate() {
            let digit = |c: u8| (c as char).to_digit(16);
            out[i] = u8::try_from(digit(pair[0])? * 16 + digit(pair[1])?).ok()?;
        }
        Some(Self(out))
    }

    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        Some(Self(bytes.try_into().ok()?))
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.hex())
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.hex())
    }
}

/// The root of an empty tree: SHA-256 of nothing.
pub fn empty_root() -> Hash {
    Hash(Sha256::digest([]).into())
}

/// `SHA-256(0x00 || data)`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    Hash(h.finalize().into())
}

/// `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left.0);
    h.update(right.0);
    Hash(h.finalize().into())
}

/// A perfect subtree: the leaves `index << level .. (index + 1) << level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Subtree {
    pub level: u32,
    pub index: u64,
}

impl Subtree {
    pub fn leaves(&self) -> Range<u64> {
        self.index << self.level..(self.index + 1) << self.level
    }

    /// The leaf whose append completed this subtree (its last leaf).
    pub fn last_leaf(&self) -> u64 {
        ((self.index + 1) << self.level) - 1
    }
}

/// The perfect subtrees a range of the tree is made of, left to right: the
/// binary expansion of its length. For the ranges a tree of any size is
/// split into (RFC 9162's `D[k:n]`), the range's hash is the right fold of
/// theirs ([`fold`]).
pub fn subtrees(range: Range<u64>) -> Vec<Subtree> {
    let mut out = Vec::new();
    let mut start = range.start;
    while start < range.end {
        let remaining = range.end - start;
        let mut level = 63 - remaining.leading_zeros();
        if start != 0 {
            level = level.min(start.trailing_zeros());
        }
        out.push(Subtree { level, index: start >> level });
        start += 1 << level;
    }
    out
}

/// The hash of a range from the hashes of its [`subtrees`]:
/// `node(h0, node(h1, ... node(h[n-2], h[n-1])))`.
pub fn fold(hashes: &[Hash]) -> Option<Hash> {
    let (last, rest) = hashes.split_last()?;
    Some(rest.iter().rev().fold(*last, |acc, h| node_hash(h, &acc)))
}

/// The largest power of two smaller than `n` (`n > 1`).
fn split_point(n: u64) -> u64 {
    debug_assert!(n > 1);
    1 << (63 - (n - 1).leading_zeros())
}

/// The right edge of a growing tree: the roots of the perfect subtrees its
/// leaves form so far (one per set bit of the size, largest first).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    nodes: Vec<Hash>,
}

impl Frontier {
    pub fn new() -> Self {
        Self::default()
    }

    /// Which perfect subtrees make up the frontier of a tree of `size` leaves.
    pub fn subtrees_at(size: u64) -> Vec<Subtree> {
        subtrees(0..size)
    }

    /// A frontier from the hashes of [`Frontier::subtrees_at`]`(size)`, in order.
    pub fn from_parts(size: u64, nodes: Vec<Hash>) -> Option<Self> {
        (nodes.len() == Self::subtrees_at(size).len()).then_some(Self { size, nodes })
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a leaf hash. Returns the roots of the perfect subtrees this
    /// leaf completes, level 1 upwards (as many as the trailing one bits of
    /// the size before it).
    pub fn push(&mut self, leaf: Hash) -> Vec<Hash> {
        let mut completed = Vec::new();
        let mut hash = leaf;
        let mut bits = self.size;
        while bits & 1 == 1 {
            let left = self.nodes.pop().unwrap_or(hash);
            hash = node_hash(&left, &hash);
            completed.push(hash);
            bits >>= 1;
        }
        self.nodes.push(hash);
        self.size += 1;
        completed
    }

    /// The tree head's root hash (RFC 9162's MTH) at the current size.
    pub fn root(&self) -> Hash {
        fold(&self.nodes).unwrap_or_else(empty_root)
    }
}

/// Why a proof was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    #[error("leaf {index} is not in a tree of {size} leaves")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("tree size {from} is larger than {to}")]
    SizesReversed { from: u64, to: u64 },
    #[error("a consistency proof from an empty tree is meaningless")]
    EmptyFrom,
    #[error("the proof has {got} hashes where {want} are expected")]
    WrongLength { got: usize, want: usize },
    #[error("the proof leads to root {computed}, not the expected {expected}")]
    RootMismatch { computed: Hash, expected: Hash },
    #[error("the proof does not lead to the older tree head's root")]
    OldRootMismatch,
    #[error("a hash the proof needs is not stored: subtree {0:?}")]
    MissingSubtree(Subtree),
}

/// What a proof is made of: one hash per range of leaves, each range the
/// fold of a few perfect subtrees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofPlan {
    pub ranges: Vec<Range<u64>>,
}

impl ProofPlan {
    /// RFC 9162's PATH(index, D[size]): the inclusion proof of leaf `index`.
    pub fn inclusion(index: u64, size: u64) -> Result<Self, ProofError> {
        if index >= size {
            return Err(ProofError::IndexOutOfRange { index, size });
        }
        let mut ranges = Vec::new();
        path(index, 0..size, &mut ranges);
        Ok(Self { ranges })
    }

    /// RFC 9162's PROOF(from, D[to]): a consistency proof between two sizes.
    pub fn consistency(from: u64, to: u64) -> Result<Self, ProofError> {
        if from > to {
            return Err(ProofError::SizesReversed { from, to });
        }
        if from == 0 {
            return Err(ProofError::EmptyFrom);
        }
        let mut ranges = Vec::new();
        if from < to {
            subproof(from, 0..to, true, &mut ranges);
        }
        Ok(Self { ranges })
    }

    /// Every perfect subtree whose hash the proof needs.
    pub fn subtrees(&self) -> impl Iterator<Item = Subtree> + '_ {
        self.ranges.iter().flat_map(|r| subtrees(r.clone()))
    }

    /// The proof, from the hashes of [`ProofPlan::subtrees`].
    pub fn assemble(&self, hashes: &HashMap<Subtree, Hash>) -> Result<Vec<Hash>, ProofError> {
        self.ranges
            .iter()
            .map(|range| {
                let parts = subtrees(range.clone())
                    .into_iter()
                    .map(|s| hashes.get(&s).copied().ok_or(ProofError::MissingSubtree(s)))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(fold(&parts).unwrap_or_else(empty_root))
            })
            .collect()
    }
}

/// PATH(m, D[lo:hi]), deepest sibling first.
fn path(m: u64, leaves: Range<u64>, out: &mut Vec<Range<u64>>) {
    let n = leaves.end - leaves.start;
    if n <= 1 {
        return;
    }
    let k = split_point(n);
    let mid = leaves.start + k;
    if m < mid {
        path(m, leaves.start..mid, out);
        out.push(mid..leaves.end);
    } else {
        path(m, mid..leaves.end, out);
        out.push(leaves.start..mid);
    }
}

/// SUBPROOF(m, D[lo:hi], b).
fn subproof(m: u64, leaves: Range<u64>, whole: bool, out: &mut Vec<Range<u64>>) {
    let n = leaves.end - leaves.start;
    if m == leaves.end {
        if !whole {
            out.push(leaves);
        }
        return;
    }
    let k = split_point(n);
    let mid = leaves.start + k;
    if m <= mid {
        subproof(m, leaves.start..mid, whole, out);
        out.push(mid..leaves.end);
    } else {
        subproof(m, mid..leaves.end, false, out);
        out.push(leaves.start..mid);
    }
}

/// The root a tree of `size` leaves has if leaf `index` hashes to `leaf` and
/// `proof` is its inclusion proof.
pub fn root_from_inclusion(
    index: u64,
    size: u64,
    leaf: &Hash,
    proof: &[Hash],
) -> Result<Hash, ProofError> {
    let want = ProofPlan::inclusion(index, size)?.ranges.len();
    if proof.len() != want {
        return Err(ProofError::WrongLength { got: proof.len(), want });
    }
    // PATH puts the sibling of the largest subtree last: undo it from the top.
    fn up(m: u64, leaves: Range<u64>, leaf: &Hash, proof: &[Hash]) -> Hash {
        let n = leaves.end - leaves.start;
        let Some((sibling, rest)) = proof.split_last().filter(|_| n > 1) else {
            return *leaf;
        };
        let mid = leaves.start + split_point(n);
        if m < mid {
            node_hash(&up(m, leaves.start..mid, leaf, rest), sibling)
        } else {
            node_hash(sibling, &up(m, mid..leaves.end, leaf, rest))
        }
    }
    Ok(up(index, 0..size, leaf, proof))
}

/// Checks that leaf `index`, hashing to `leaf`, is in the tree of `size`
/// leaves whose root is `root`.
pub fn verify_inclusion(
    index: u64,
    size: u64,
    leaf: &Hash,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    let computed = root_from_inclusion(index, size, leaf, proof)?;
    if computed != *root {
        return Err(ProofError::RootMismatch { computed, expected: *root });
    }
    Ok(())
}

/// Checks that the tree of `to` leaves with root `new_root` extends the tree
/// of `from` leaves with root `old_root`: nothing in the older one changed.
pub fn verify_consistency(
    from: u64,
    to: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    let want = ProofPlan::consistency(from, to)?.ranges.len();
    if proof.len() != want {
        return Err(ProofError::WrongLength { got: proof.len(), want });
    }
    if from == to {
        return if old_root == new_root {
            Ok(())
        } else {
            Err(ProofError::RootMismatch { computed: *old_root, expected: *new_root })
        };
    }
    // Undo SUBPROOF: each step yields the hash of the node's old leaves
    // (those below `from`) and of all its leaves.
    fn up(
        m: u64,
        leaves: Range<u64>,
        whole: bool,
        proof: &[Hash],
        old_root: &Hash,
    ) -> (Hash, Hash) {
        if m == leaves.end {
            let hash = if whole { *old_root } else { proof.last().copied().unwrap_or(*old_root) };
            return (hash, hash);
        }
        let n = leaves.end - leaves.start;
        let mid = leaves.start + split_point(n);
        let Some((sibling, rest)) = proof.split_last() else {
            return (*old_root, *old_root);
        };
        if m <= mid {
            let (old, new) = up(m, leaves.start..mid, whole, rest, old_root);
            (old, node_hash(&new, sibling))
        } else {
            let (old, new) = up(m, mid..leaves.end, false, rest, old_root);
            (node_hash(sibling, &old), node_hash(sibling, &new))
        }
    }
    let (old, new) = up(from, 0..to, true, proof, old_root);
    if old != *old_root {
        return Err(ProofError::OldRootMismatch);
    }
    if new != *new_root {
        return Err(ProofError::RootMismatch { computed: new, expected: *new_root });
    }
    Ok(())
}

/// A whole tree in memory: for tests, benchmarks and offline tools.
#[derive(Debug, Clone, Default)]
pub struct MemoryTree {
    frontier: Frontier,
    nodes: HashMap<Subtree, Hash>,
}

impl MemoryTree {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, leaf: Hash) {
        let index = self.frontier.size();
        self.nodes.insert(Subtree { level: 0, index }, leaf);
        for (i, hash) in self.frontier.push(leaf).into_iter().enumerate() {
            let level = i as u32 + 1;
            self.nodes.insert(Subtree { level, index: index >> level }, hash);
        }
    }

    pub fn size(&self) -> u64 {
        self.frontier.size()
    }

    pub fn root(&self) -> Hash {
        self.frontier.root()
    }

    /// The root the tree had at `size` leaves.
    pub fn root_at(&self, size: u64) -> Result<Hash, ProofError> {
        let parts = subtrees(0..size)
            .into_iter()
            .map(|s| self.nodes.get(&s).copied().ok_or(ProofError::MissingSubtree(s)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(fold(&parts).unwrap_or_else(empty_root))
    }

    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, ProofError> {
        ProofPlan::inclusion(index, size)?.assemble(&self.nodes)
    }

    pub fn consistency_proof(&self, from: u64, to: u64) -> Result<Vec<Hash>, ProofError> {
        ProofPlan::consistency(from, to)?.assemble(&self.nodes)
    }
}

#[cfg(test)]
mod tests;
