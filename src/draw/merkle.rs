//! The conflicts tree (suiji-draw/2 §B.6): an RFC 9162 (Certificate Transparency) Merkle
//! tree over one leaf per pool institution, so a public bundle can prove the conflicts of
//! the drawn institutions without publishing anyone else's.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::canonical::{Canon, CanonicalJson, Sink};

/// One leaf: an institution and the sorted ids of the inspectors who must stay away from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConflictLeaf {
    /// Institution id.
    pub institution: String,
    /// Inspector ids, sorted, unique (may be empty).
    pub inspectors: Vec<String>,
}

impl CanonicalJson for ConflictLeaf {
    fn write_canonical<S: Sink>(&self, w: &mut Canon<'_, S>) {
        w.begin_object();
        w.key("inspectors");
        w.str_array(self.inspectors.iter().map(String::as_str));
        w.key("institution");
        w.str(&self.institution);
        w.end_object();
    }
}

/// `SHA-256(0x00 || canonical(leaf))`.
pub fn leaf_hash(leaf: &ConflictLeaf) -> [u8; 32] {
    let mut bytes = vec![0u8];
    leaf.write_canonical(&mut Canon::new(&mut bytes));
    Sha256::digest(&bytes).into()
}

/// `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// RFC 9162 §2.1.1 root over leaf hashes (`SHA-256("")` for none).
pub fn root(leaves: &[[u8; 32]]) -> [u8; 32] {
    match leaves.len() {
        0 => Sha256::digest([]).into(),
        1 => leaves[0],
        n => {
            let k = split(n);
            node_hash(&root(&leaves[..k]), &root(&leaves[k..]))
        }
    }
}

/// Largest power of two strictly less than `n` (n ≥ 2).
fn split(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// RFC 9162 §2.1.3.1 inclusion paths (bottom-up) of the leaves at `indices` (sorted,
/// unique), together with the root; every node is hashed once.
pub fn paths(leaves: &[[u8; 32]], indices: &[usize]) -> ([u8; 32], Vec<Vec<[u8; 32]>>) {
    let mut out = vec![Vec::new(); indices.len()];
    let r = if leaves.is_empty() {
        root(leaves)
    } else {
        build(leaves, 0, indices, &mut out)
    };
    (r, out)
}

fn build(
    leaves: &[[u8; 32]],
    offset: usize,
    want: &[usize],
    out: &mut [Vec<[u8; 32]>],
) -> [u8; 32] {
    let n = leaves.len();
    if n == 1 {
        return leaves[0];
    }
    let k = split(n);
    let cut = want.partition_point(|&i| i < offset + k);
    let (wl, wr) = want.split_at(cut);
    let (ol, or) = out.split_at_mut(cut);
    let l = if wl.is_empty() {
        root(&leaves[..k])
    } else {
        build(&leaves[..k], offset, wl, ol)
    };
    let r = if wr.is_empty() {
        root(&leaves[k..])
    } else {
        build(&leaves[k..], offset + k, wr, or)
    };
    for p in ol.iter_mut() {
        p.push(r);
    }
    for p in or.iter_mut() {
        p.push(l);
    }
    node_hash(&l, &r)
}

/// The inclusion path of one leaf (see [`paths`]).
pub fn path(leaves: &[[u8; 32]], index: usize) -> Vec<[u8; 32]> {
    paths(leaves, &[index]).1.pop().unwrap_or_default()
}

/// RFC 9162 §2.1.3.2: does `path` prove `leaf` at `index` in a tree of `size` with `root`?
pub fn verify_path(
    leaf: &[u8; 32],
    index: u64,
    size: u64,
    path: &[[u8; 32]],
    root: &[u8; 32],
) -> bool {
    if index >= size {
        return false;
    }
    let (mut f, mut s) = (index, size - 1);
    let mut r = *leaf;
    for p in path {
        if s == 0 {
            return false;
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            if f & 1 == 0 {
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    s == 0 && r == *root
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_path_verifies_and_no_other_index_does() {
        for n in 1..=23usize {
            let leaves: Vec<[u8; 32]> = (0..n)
                .map(|i| {
                    leaf_hash(&ConflictLeaf {
                        institution: format!("P{i}"),
                        inspectors: vec![],
                    })
                })
                .collect();
            let r = root(&leaves);
            let all: Vec<usize> = (0..n).collect();
            let (r2, ps) = paths(&leaves, &all);
            assert_eq!(r, r2);
            for i in 0..n {
                let p = path(&leaves, i);
                assert_eq!(p, ps[i]);
                assert!(
                    verify_path(&leaves[i], i as u64, n as u64, &p, &r),
                    "{n} {i}"
                );
                for j in 0..n {
                    if j != i {
                        assert!(!verify_path(&leaves[i], j as u64, n as u64, &p, &r));
                    }
                }
            }
        }
    }
}
