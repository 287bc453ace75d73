//! termaudit's Merkle proofs against the RFC's own verification algorithms
//! (`termaudit_tests::rfc9162`), for any sequence of appends.

use proptest::prelude::*;
use termaudit_domain::transparency::{Hash, MemoryTree, leaf_hash};
use termaudit_tests::rfc9162;

fn tree(leaves: &[Vec<u8>]) -> MemoryTree {
    let mut tree = MemoryTree::new();
    for leaf in leaves {
        tree.push(leaf_hash(leaf));
    }
    tree
}

fn raw(hashes: &[Hash]) -> Vec<rfc9162::H> {
    hashes.iter().map(|h| h.0).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Every inclusion and consistency proof of every size verifies with the
    /// RFC's algorithm, and the independent leaf hash is termaudit's.
    #[test]
    fn proofs_verify_with_the_rfc_algorithms(leaves in prop::collection::vec(any::<Vec<u8>>(), 1..80)) {
        let tree = tree(&leaves);
        for to in 1..=tree.size() {
            let root = tree.root_at(to).expect("stored").0;
            for index in 0..to {
                let proof = raw(&tree.inclusion_proof(index, to).expect("in range"));
                let leaf = rfc9162::leaf(&leaves[index as usize]);
                prop_assert_eq!(leaf, leaf_hash(&leaves[index as usize]).0);
                prop_assert!(rfc9162::verify_inclusion(index, to, &leaf, &proof, &root), "leaf {} of {}", index, to);
            }
            for from in 1..=to {
                let proof = raw(&tree.consistency_proof(from, to).expect("sizes"));
                let old = tree.root_at(from).expect("stored").0;
                prop_assert!(rfc9162::verify_consistency(from, to, &old, &root, &proof), "{} to {}", from, to);
            }
        }
    }

    /// What the RFC's algorithms refuse, termaudit's verifier refuses too:
    /// any one flipped bit of any proof hash.
    #[test]
    fn both_verifiers_refuse_a_flipped_bit(size in 2u64..300, pick: u64, bit in 0usize..256) {
        let leaves: Vec<Vec<u8>> = (0..size).map(|i| i.to_be_bytes().to_vec()).collect();
        let tree = tree(&leaves);
        let index = pick % size;
        let mut proof = tree.inclusion_proof(index, size).expect("in range");
        let at = bit % proof.len().max(1);
        if let Some(hash) = proof.get_mut(at) {
            hash.0[bit / 8 % 32] ^= 1 << (bit % 8);
            let leaf = leaf_hash(&leaves[index as usize]);
            prop_assert!(!rfc9162::verify_inclusion(index, size, &leaf.0, &raw(&proof), &tree.root().0));
            prop_assert!(termaudit_domain::transparency::verify_inclusion(index, size, &leaf, &proof, &tree.root()).is_err());
        }
        let from = 1 + pick % (size - 1);
        let mut proof = tree.consistency_proof(from, size).expect("sizes");
        let at = bit % proof.len();
        proof[at].0[bit / 8 % 32] ^= 1 << (bit % 8);
        let old = tree.root_at(from).expect("stored");
        prop_assert!(!rfc9162::verify_consistency(from, size, &old.0, &tree.root().0, &raw(&proof)));
        prop_assert!(termaudit_domain::transparency::verify_consistency(from, size, &old, &tree.root(), &proof).is_err());
    }
}
