use proptest::prelude::*;

use super::*;

fn h(hex: &str) -> Hash {
    Hash::from_hex(hex).expect("64 hex digits")
}

/// The leaves of the reference test vectors (transparency-dev/merkle's
/// `testonly`, also in RFC 6962's reference implementation).
fn reference_leaves() -> Vec<Vec<u8>> {
    vec![
        vec![],
        vec![0x00],
        vec![0x10],
        vec![0x20, 0x21],
        vec![0x30, 0x31],
        vec![0x40, 0x41, 0x42, 0x43],
        vec![0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57],
        (0x60..=0x6f).collect(),
    ]
}

fn reference_tree() -> MemoryTree {
    let mut tree = MemoryTree::new();
    for leaf in reference_leaves() {
        tree.push(leaf_hash(&leaf));
    }
    tree
}

#[test]
fn roots_match_the_reference_vectors() {
    let roots = [
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];
    let mut frontier = Frontier::new();
    assert_eq!(frontier.root(), h(roots[0]));
    for (leaf, root) in reference_leaves().iter().zip(&roots[1..]) {
        frontier.push(leaf_hash(leaf));
        assert_eq!(frontier.root(), h(root), "size {}", frontier.size());
    }
    let tree = reference_tree();
    for (size, root) in roots.iter().enumerate() {
        assert_eq!(tree.root_at(size as u64).expect("stored"), h(root));
    }
}

#[test]
fn inclusion_proofs_match_the_reference_vectors() {
    let tree = reference_tree();
    let cases: [(u64, u64, &[&str]); 4] = [
        (
            0,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            5,
            8,
            &[
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (2, 3, &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
        (
            1,
            5,
            &[
                "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
    ];
    for (index, size, want) in cases {
        let proof = tree.inclusion_proof(index, size).expect("in range");
        assert_eq!(proof, want.iter().map(|x| h(x)).collect::<Vec<_>>(), "{index} in {size}");
        let leaf = leaf_hash(&reference_leaves()[index as usize]);
        let root = tree.root_at(size).expect("stored");
        verify_inclusion(index, size, &leaf, &proof, &root).expect("verifies");
    }
}

#[test]
fn consistency_proofs_match_the_reference_vectors() {
    let tree = reference_tree();
    let cases: [(u64, u64, &[&str]); 5] = [
        (1, 1, &[]),
        (
            1,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            6,
            8,
            &[
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (
            2,
            5,
            &[
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
        (
            6,
            7,
            &[
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
    ];
    for (from, to, want) in cases {
        let proof = tree.consistency_proof(from, to).expect("valid sizes");
        assert_eq!(proof, want.iter().map(|x| h(x)).collect::<Vec<_>>(), "{from} to {to}");
        let (old, new) = (tree.root_at(from).expect("old"), tree.root_at(to).expect("new"));
        verify_consistency(from, to, &old, &new, &proof).expect("verifies");
    }
}

#[test]
fn malformed_requests_are_refused() {
    let tree = reference_tree();
    assert_eq!(tree.inclusion_proof(8, 8), Err(ProofError::IndexOutOfRange { index: 8, size: 8 }));
    assert_eq!(tree.consistency_proof(0, 3), Err(ProofError::EmptyFrom));
    assert_eq!(tree.consistency_proof(4, 3), Err(ProofError::SizesReversed { from: 4, to: 3 }));
    let root = tree.root();
    let leaf = leaf_hash(&[]);
    let proof = tree.inclusion_proof(0, 8).expect("in range");
    assert!(matches!(
        verify_inclusion(0, 8, &leaf, &proof[..2], &root),
        Err(ProofError::WrongLength { got: 2, want: 3 })
    ));
}

#[test]
fn each_leaf_completes_the_subtrees_its_index_closes() {
    let mut frontier = Frontier::new();
    for index in 0u64..64 {
        let completed = frontier.push(leaf_hash(&index.to_be_bytes()));
        assert_eq!(completed.len() as u32, index.trailing_ones(), "leaf {index}");
    }
    let rebuilt = Frontier::from_parts(
        64,
        Frontier::subtrees_at(64)
            .iter()
            .map(|_| frontier.root()) // 64 is a power of two: one subtree, the root
            .collect(),
    );
    assert_eq!(rebuilt.map(|f| f.root()), Some(frontier.root()));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any sequence of appends: every leaf proves into every later head, and
    /// every head is consistent with every later one.
    #[test]
    fn any_sequence_of_appends_verifies(leaves in prop::collection::vec(any::<Vec<u8>>(), 1..70)) {
        let mut tree = MemoryTree::new();
        for leaf in &leaves {
            tree.push(leaf_hash(leaf));
        }
        let size = tree.size();
        for to in 1..=size {
            let root = tree.root_at(to).expect("stored");
            for index in 0..to {
                let proof = tree.inclusion_proof(index, to).expect("in range");
                verify_inclusion(index, to, &leaf_hash(&leaves[index as usize]), &proof, &root)
                    .expect("inclusion verifies");
            }
            for from in 1..=to {
                let proof = tree.consistency_proof(from, to).expect("sizes");
                let old = tree.root_at(from).expect("stored");
                verify_consistency(from, to, &old, &root, &proof).expect("consistency verifies");
            }
        }
    }

    /// Any single changed byte of any leaf changes its hash and the root, and
    /// its old inclusion proof no longer verifies.
    #[test]
    fn any_changed_byte_is_detected(
        leaves in prop::collection::vec(prop::collection::vec(any::<u8>(), 1..40), 1..40),
        pick in any::<prop::sample::Index>(),
        byte in any::<prop::sample::Index>(),
        flip in 1u8..=255,
    ) {
        let mut tree = MemoryTree::new();
        for leaf in &leaves {
            tree.push(leaf_hash(leaf));
        }
        let index = pick.index(leaves.len());
        let mut changed = leaves[index].clone();
        let at = byte.index(changed.len());
        changed[at] ^= flip;
        let proof = tree.inclusion_proof(index as u64, tree.size()).expect("in range");
        prop_assert!(verify_inclusion(index as u64, tree.size(), &leaf_hash(&changed), &proof, &tree.root()).is_err());
        let mut other = MemoryTree::new();
        for (i, leaf) in leaves.iter().enumerate() {
            other.push(leaf_hash(if i == index { &changed } else { leaf }));
        }
        prop_assert_ne!(other.root(), tree.root());
        if index > 0 || tree.size() > 1 {
            // The rewritten log is not an extension of any head that held the leaf.
            let from = index as u64 + 1;
            let proof = other.consistency_proof(from, other.size()).expect("sizes");
            prop_assert!(verify_consistency(from, tree.size(), &tree.root_at(from).expect("stored"), &other.root(), &proof).is_err());
        }
    }

    /// A proof with any one hash altered, dropped or added is refused.
    #[test]
    fn altered_proofs_are_refused(size in 2u64..200, index_seed: u64, from_seed: u64, bit in 0usize..256) {
        let mut tree = MemoryTree::new();
        for i in 0..size {
            tree.push(leaf_hash(&i.to_le_bytes()));
        }
        let index = index_seed % size;
        let leaf = leaf_hash(&index.to_le_bytes());
        let mut proof = tree.inclusion_proof(index, size).expect("in range");
        if !proof.is_empty() {
            let at = bit % proof.len();
            proof[at].0[bit / 8 % 32] ^= 1 << (bit % 8);
            prop_assert!(verify_inclusion(index, size, &leaf, &proof, &tree.root()).is_err());
            proof.pop();
            prop_assert!(verify_inclusion(index, size, &leaf, &proof, &tree.root()).is_err());
        }
        let from = 1 + from_seed % (size - 1);
        let mut proof = tree.consistency_proof(from, size).expect("sizes");
        let old = tree.root_at(from).expect("stored");
        proof.push(old);
        prop_assert!(verify_consistency(from, size, &old, &tree.root(), &proof).is_err());
        proof.pop();
        let at = bit % proof.len();
        proof[at].0[bit / 8 % 32] ^= 1 << (bit % 8);
        prop_assert!(verify_consistency(from, size, &old, &tree.root(), &proof).is_err());
    }
}
