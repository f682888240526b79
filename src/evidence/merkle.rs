//! The log's Merkle tree, by tlog_tiles (a port of Go's `sumdb/tlog`): RFC
//! 6962 hashing, the subtree hashes stored as leaves are appended, and
//! inclusion and consistency proofs from them. Its reads are synchronous;
//! the log's hashes are in the database: [`Reader::recording`] learns which
//! hashes a computation needs (they depend on sizes only), the caller
//! fetches them, and the computation runs again on [`Reader::known`].

use std::cell::RefCell;
use std::collections::HashMap;

use tlog_tiles::{Error, HashReader};
pub use tlog_tiles::{Hash, check_record, check_tree, record_hash};

pub enum Reader {
    /// Answers zeros, and notes which hashes were asked for.
    Recording(RefCell<Vec<u64>>),
    /// Answers from the hashes fetched.
    Known(HashMap<u64, Hash>),
    /// Every stored hash, in order (the whole tree rebuilt in memory).
    All(Vec<Hash>),
}

impl Reader {
    pub fn recording() -> Reader {
        Reader::Recording(RefCell::new(Vec::new()))
    }

    pub fn known(hashes: HashMap<u64, Hash>) -> Reader {
        Reader::Known(hashes)
    }

    /// The stored-hash positions asked for so far (by a recording reader).
    pub fn asked(&self) -> Vec<u64> {
        match self {
            Reader::Recording(asked) => {
                let mut asked = asked.borrow().clone();
                asked.sort_unstable();
                asked.dedup();
                asked
            }
            _ => Vec::new(),
        }
    }

    /// The hashes to store when leaf `index` (with these leaf bytes) is
    /// appended to the tree held in `All`.
    pub fn append(&mut self, index: u64, leaf: &[u8]) -> Result<(), Error> {
        let new = tlog_tiles::stored_hashes(index, leaf, &*self)?;
        if let Reader::All(stored) = self {
            stored.extend(new);
        }
        Ok(())
    }
}

impl HashReader for Reader {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, Error> {
        match self {
            Reader::Recording(asked) => {
                asked.borrow_mut().extend_from_slice(indexes);
                Ok(vec![Hash::default(); indexes.len()])
            }
            Reader::Known(hashes) => indexes
                .iter()
                .map(|i| hashes.get(i).copied().ok_or(Error::IndexesNotInTree))
                .collect(),
            Reader::All(stored) => indexes
                .iter()
                .map(|i| {
                    stored
                        .get(*i as usize)
                        .copied()
                        .ok_or(Error::IndexesNotInTree)
                })
                .collect(),
        }
    }
}

/// The hashes to store for leaf `index`.
pub fn stored_hashes(index: u64, leaf: &[u8], reader: &Reader) -> Result<Vec<Hash>, Error> {
    tlog_tiles::stored_hashes(index, leaf, reader)
}

/// Where the first hash stored for leaf `index` goes.
pub fn first_stored_index(index: u64) -> u64 {
    tlog_tiles::stored_hash_index(0, index)
}

pub fn tree_hash(size: u64, reader: &Reader) -> Result<Hash, Error> {
    tlog_tiles::tree_hash(size, reader)
}

/// The proof that leaf `index` is in the tree of `size` leaves.
pub fn inclusion_proof(size: u64, index: u64, reader: &Reader) -> Result<Vec<Hash>, Error> {
    tlog_tiles::prove_record(size, index, reader)
}

/// The proof that the tree of `old` leaves is the start of that of `new`.
pub fn consistency_proof(new: u64, old: u64, reader: &Reader) -> Result<Vec<Hash>, Error> {
    tlog_tiles::prove_tree(new, old, reader)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(leaves: u64) -> Reader {
        let mut all = Reader::All(Vec::new());
        for i in 0..leaves {
            all.append(i, format!("leaf {i}").as_bytes()).unwrap();
        }
        all
    }

    #[test]
    fn the_root_of_seven_leaves_matches_an_independent_computation() {
        // Computed by hand from RFC 9162's definition (Python hashlib).
        let root = tree_hash(7, &tree(7)).unwrap();
        assert_eq!(
            root.to_string(),
            "WmH8K1T5z6cXdPJDIUPdQMbLKxGUf69lp9PaXLZRmcg="
        );
    }

    #[test]
    fn proofs_from_fetched_hashes_check_against_the_root() {
        let all = tree(70);
        let (size, index) = (70, 41);
        // What the database path does: record, fetch, compute.
        let recorder = Reader::recording();
        inclusion_proof(size, index, &recorder).unwrap();
        let Reader::All(stored) = &all else {
            unreachable!()
        };
        let fetched = recorder
            .asked()
            .into_iter()
            .map(|i| (i, stored[i as usize]))
            .collect();
        let proof = inclusion_proof(size, index, &Reader::known(fetched)).unwrap();
        let root = tree_hash(size, &all).unwrap();
        let leaf = record_hash(b"leaf 41");
        check_record(&proof, size, root, index, leaf).unwrap();
        assert!(check_record(&proof, size, root, index, record_hash(b"leaf 42")).is_err());

        let old_root = tree_hash(33, &all).unwrap();
        let consistency = consistency_proof(70, 33, &all).unwrap();
        check_tree(&consistency, 70, root, 33, old_root).unwrap();
        assert!(check_tree(&consistency, 70, root, 33, record_hash(b"x")).is_err());
    }
}
