//! The tensor store: tensors kept on the server between calls, so that a
//! client uploads a tensor once and computes on it many times, and a
//! pipeline of operations runs on the server with only its last result
//! travelling.
//!
//! - A tensor is put under an unguessable id (128 random bits) and belongs
//!   to the API key that put it: another key gets `NOT_FOUND`, exactly as
//!   for an id that never existed, so ids cannot be probed.
//! - Stored tensors are immutable. A call holds its own reference to the
//!   data (`Tensor` shares its bytes), so deleting or expiring a tensor in
//!   use lets running calls finish; its bytes are freed when the last one
//!   ends.
//! - Limits: `--store-bytes` for the whole store (its own share, apart from
//!   what calls reserve in `--memory-budget`), `--store-bytes-per-key`,
//!   `--store-max-tensors`. A put that would go over is refused with
//!   `RESOURCE_EXHAUSTED` naming the flag before any of its data is read;
//!   the store never evicts a tensor that has not expired.
//! - Expiry: a tensor unused for `--store-ttl-secs` is dropped; every use
//!   (get, describe, an operation reading it) restarts its clock.
//! - The store lives in memory only: a restart or SIGTERM loses it, by
//!   design (a store on disk would be a second, slower copy of data the
//!   client still has, with its own cleanup and security questions).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use thiserror::Error;

use crate::tensor::Tensor;

/// The store's limits (`--store-bytes`, `--store-bytes-per-key`,
/// `--store-max-tensors`, `--store-ttl-secs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoreLimits {
    /// Bytes of tensor data the store holds at most.
    pub max_bytes: u64,
    /// Bytes one API key's tensors hold at most.
    pub max_bytes_per_key: u64,
    /// Tensors the store holds at most.
    pub max_tensors: usize,
    /// Idle time after which a tensor is dropped.
    pub ttl: Duration,
}

impl StoreLimits {
    /// The limits the flags set (`--store-bytes-per-key 0`: the whole
    /// store).
    pub fn from_config(limits: &crate::config::Limits) -> StoreLimits {
        StoreLimits {
            max_bytes: limits.store_bytes,
            max_bytes_per_key: match limits.store_bytes_per_key {
                0 => limits.store_bytes,
                share => share,
            },
            max_tensors: limits.store_max_tensors,
            ttl: Duration::from_secs(limits.store_ttl_secs),
        }
    }
}

/// Why the store refused.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum StoreError {
    /// No tensor with this id for this key (never put, deleted, expired, or
    /// another key's).
    #[error(
        "no stored tensor has the id {0:?} (it never existed, was deleted, expired after --store-ttl-secs of disuse, or belongs to another API key)"
    )]
    NotFound(String),
    /// The operating system's random source failed (no id can be made).
    #[error("cannot make a tensor id: {0}")]
    Random(String),
    /// The put would go over a limit.
    #[error("{message}")]
    Full {
        /// The flag whose limit it is.
        limit: &'static str,
        /// What is over, for a person.
        message: String,
    },
}

/// Who owns a stored tensor: the API key that put it (empty when the
/// server has no keys).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Owner(Vec<u8>);

impl Owner {
    /// The owner for the key of an `authorization: Bearer KEY` value; the
    /// anonymous owner without one.
    pub fn from_authorization(value: Option<&[u8]>) -> Owner {
        Owner(
            value
                .and_then(crate::auth::bearer_key)
                .map(<[u8]>::to_vec)
                .unwrap_or_default(),
        )
    }
}

/// What the store says of one tensor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredInfo {
    /// Its id.
    pub id: String,
    /// Its dtype.
    pub dtype: crate::tensor::DType,
    /// Its shape.
    pub shape: Vec<usize>,
    /// Bytes of its data.
    pub nbytes: u64,
    /// Idle time left before it expires.
    pub expires_in: Duration,
}

/// Counters for `/metrics`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StoreCounts {
    /// Tensors held now.
    pub tensors: u64,
    /// Bytes held now (and reserved by puts under way).
    pub bytes: u64,
    /// Tensors put since start (uploads and kept results).
    pub puts: u64,
    /// Lookups that found their tensor.
    pub hits: u64,
    /// Lookups that did not.
    pub misses: u64,
    /// Tensors dropped for disuse.
    pub expiries: u64,
}

/// The store, shared by the service's handlers (cloning shares it).
#[derive(Clone, Debug)]
pub struct TensorStore {
    limits: StoreLimits,
    state: Arc<Mutex<State>>,
}

#[derive(Debug, Default)]
struct State {
    entries: HashMap<String, Entry>,
    /// Bytes of the entries plus those reserved by puts under way.
    bytes: u64,
    /// The same, per owner.
    bytes_by_owner: HashMap<Owner, u64>,
    /// Puts under way (each will add a tensor).
    pending: usize,
    counts: StoreCounts,
}

#[derive(Debug)]
struct Entry {
    tensor: Tensor,
    owner: Owner,
    last_used: Instant,
}

/// Room held in the store for a tensor being put: released when dropped
/// unless [`TensorStore::insert`] turned it into a stored tensor.
#[derive(Debug)]
pub struct StoreRoom {
    state: Arc<Mutex<State>>,
    id: String,
    owner: Owner,
    bytes: u64,
    held: bool,
}

impl Drop for StoreRoom {
    fn drop(&mut self) {
        if self.held {
            let mut state = lock(&self.state);
            state.release(&self.owner, self.bytes);
            state.pending -= 1;
        }
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    // A panic while holding the lock cannot leave the maps half-updated in
    // a way later calls would trip on (each update is a few assignments).
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl State {
    fn release(&mut self, owner: &Owner, bytes: u64) {
        self.bytes -= bytes;
        if let Some(held) = self.bytes_by_owner.get_mut(owner) {
            *held -= bytes;
            if *held == 0 {
                self.bytes_by_owner.remove(owner);
            }
        }
    }

    /// Drops the entries unused for `ttl`.
    fn expire(&mut self, ttl: Duration, now: Instant) {
        let expired: Vec<String> = self
            .entries
            .iter()
            .filter(|(_, e)| now.saturating_duration_since(e.last_used) >= ttl)
            .map(|(id, _)| id.clone())
            .collect();
        for id in expired {
            if let Some(entry) = self.entries.remove(&id) {
                self.release(&entry.owner, entry.tensor.nbytes() as u64);
                self.counts.expiries += 1;
            }
        }
    }
}

impl TensorStore {
    /// An empty store with `limits`.
    pub fn new(limits: StoreLimits) -> TensorStore {
        TensorStore {
            limits,
            state: Arc::default(),
        }
    }

    /// The store's limits.
    pub fn limits(&self) -> StoreLimits {
        self.limits
    }

    /// Holds room for a tensor of `bytes` that `owner` is about to put,
    /// before any of its data is read; refused when a limit would be
    /// passed. Expired tensors are dropped first.
    pub fn reserve(&self, owner: &Owner, bytes: u64) -> Result<StoreRoom, StoreError> {
        if self.limits.max_bytes == 0 {
            return Err(StoreError::Full {
                limit: "--store-bytes",
                message: "the tensor store is off on this server (--store-bytes 0)".into(),
            });
        }
        let id = new_id()?;
        let mut state = lock(&self.state);
        state.expire(self.limits.ttl, Instant::now());
        if state.entries.len() + state.pending >= self.limits.max_tensors {
            return Err(StoreError::Full {
                limit: "--store-max-tensors",
                message: format!(
                    "the tensor store holds its most tensors ({}, --store-max-tensors); delete some or wait for them to expire",
                    self.limits.max_tensors
                ),
            });
        }
        let owned = state.bytes_by_owner.get(owner).copied().unwrap_or(0);
        if owned.saturating_add(bytes) > self.limits.max_bytes_per_key {
            return Err(StoreError::Full {
                limit: "--store-bytes-per-key",
                message: format!(
                    "storing {bytes} more bytes would pass this key's share of the tensor store ({owned} of {} bytes held, --store-bytes-per-key)",
                    self.limits.max_bytes_per_key
                ),
            });
        }
        if state.bytes.saturating_add(bytes) > self.limits.max_bytes {
            return Err(StoreError::Full {
                limit: "--store-bytes",
                message: format!(
                    "storing {bytes} more bytes would pass the tensor store's size ({} of {} bytes held, --store-bytes)",
                    state.bytes, self.limits.max_bytes
                ),
            });
        }
        state.bytes += bytes;
        *state.bytes_by_owner.entry(owner.clone()).or_default() += bytes;
        state.pending += 1;
        Ok(StoreRoom {
            state: Arc::clone(&self.state),
            id,
            owner: owner.clone(),
            bytes,
            held: true,
        })
    }

    /// Stores `tensor` in the room reserved for it; its new id and
    /// description.
    pub fn insert(&self, mut room: StoreRoom, tensor: Tensor) -> StoredInfo {
        // The room was reserved for exactly this tensor (its header, or its
        // operation's planned result), so its bytes are already counted.
        debug_assert_eq!(tensor.nbytes() as u64, room.bytes);
        let id = std::mem::take(&mut room.id);
        let mut state = lock(&self.state);
        state.pending -= 1;
        room.held = false;
        state.counts.puts += 1;
        let info = describe(&id, &tensor, self.limits.ttl);
        state.entries.insert(
            id,
            Entry {
                tensor,
                owner: room.owner.clone(),
                last_used: Instant::now(),
            },
        );
        info
    }

    /// The tensor `id` of `owner`, its clock restarted.
    pub fn get(&self, owner: &Owner, id: &str) -> Result<Tensor, StoreError> {
        let mut state = lock(&self.state);
        let ttl = self.limits.ttl;
        let now = Instant::now();
        match state.entries.get_mut(id) {
            Some(entry)
                if entry.owner == *owner
                    && now.saturating_duration_since(entry.last_used) < ttl =>
            {
                entry.last_used = now;
                let tensor = entry.tensor.clone();
                state.counts.hits += 1;
                Ok(tensor)
            }
            _ => {
                state.counts.misses += 1;
                state.expire(ttl, now);
                Err(StoreError::NotFound(id.to_owned()))
            }
        }
    }

    /// The description of tensor `id` of `owner`, its clock restarted.
    pub fn stat(&self, owner: &Owner, id: &str) -> Result<StoredInfo, StoreError> {
        let tensor = self.get(owner, id)?;
        Ok(describe(id, &tensor, self.limits.ttl))
    }

    /// Deletes tensor `id` of `owner`; calls using it finish with their own
    /// reference. Its description as it was.
    pub fn delete(&self, owner: &Owner, id: &str) -> Result<StoredInfo, StoreError> {
        let mut state = lock(&self.state);
        state.expire(self.limits.ttl, Instant::now());
        let owned = state.entries.get(id).is_some_and(|e| e.owner == *owner);
        let Some(entry) = owned.then(|| state.entries.remove(id)).flatten() else {
            return Err(StoreError::NotFound(id.to_owned()));
        };
        state.release(&entry.owner, entry.tensor.nbytes() as u64);
        Ok(describe(id, &entry.tensor, Duration::ZERO))
    }

    /// The tensors of `owner`, oldest use first.
    pub fn list(&self, owner: &Owner) -> Vec<StoredInfo> {
        let mut state = lock(&self.state);
        let now = Instant::now();
        state.expire(self.limits.ttl, now);
        let mut mine: Vec<(&String, &Entry)> = state
            .entries
            .iter()
            .filter(|(_, e)| e.owner == *owner)
            .collect();
        mine.sort_by_key(|(_, e)| e.last_used);
        mine.into_iter()
            .map(|(id, e)| {
                let left = self
                    .limits
                    .ttl
                    .saturating_sub(now.saturating_duration_since(e.last_used));
                describe(id, &e.tensor, left)
            })
            .collect()
    }

    /// Drops expired tensors now (the server does this periodically, so an
    /// idle store frees its memory without waiting for a call).
    pub fn sweep(&self) {
        lock(&self.state).expire(self.limits.ttl, Instant::now());
    }

    /// The counters for `/metrics`.
    pub fn counts(&self) -> StoreCounts {
        let state = lock(&self.state);
        StoreCounts {
            tensors: state.entries.len() as u64,
            bytes: state.bytes,
            ..state.counts
        }
    }
}

fn describe(id: &str, tensor: &Tensor, expires_in: Duration) -> StoredInfo {
    StoredInfo {
        id: id.to_owned(),
        dtype: tensor.dtype(),
        shape: tensor.shape().to_vec(),
        nbytes: tensor.nbytes() as u64,
        expires_in,
    }
}

/// A new id: 128 bits from the operating system's random source, in hex.
fn new_id() -> Result<String, StoreError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| StoreError::Random(e.to_string()))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::{DType, TensorLimits};

    fn tensor(n: usize) -> Tensor {
        Tensor::new(
            DType::UInt8,
            &[n as u64],
            bytes::Bytes::from(vec![7u8; n]),
            &TensorLimits::default(),
        )
        .unwrap()
    }

    fn limits() -> StoreLimits {
        StoreLimits {
            max_bytes: 100,
            max_bytes_per_key: 60,
            max_tensors: 3,
            ttl: Duration::from_secs(600),
        }
    }

    fn put(store: &TensorStore, owner: &Owner, n: usize) -> Result<StoredInfo, StoreError> {
        let room = store.reserve(owner, n as u64)?;
        Ok(store.insert(room, tensor(n)))
    }

    #[test]
    fn a_tensor_is_found_only_by_its_owner() {
        let store = TensorStore::new(limits());
        let alice = Owner(b"alice".to_vec());
        let bob = Owner(b"bob".to_vec());
        let info = put(&store, &alice, 10).unwrap();
        assert_eq!(info.id.len(), 32);
        assert_eq!(store.get(&alice, &info.id).unwrap().nbytes(), 10);
        assert_eq!(
            store.get(&bob, &info.id),
            Err(StoreError::NotFound(info.id.clone()))
        );
        assert!(store.delete(&bob, &info.id).is_err());
        assert!(store.list(&bob).is_empty());
        assert_eq!(store.list(&alice).len(), 1);
        store.delete(&alice, &info.id).unwrap();
        assert!(store.get(&alice, &info.id).is_err());
        assert_eq!(store.counts().bytes, 0);
    }

    #[test]
    fn limits_refuse_before_reading_and_never_evict() {
        let store = TensorStore::new(limits());
        let alice = Owner(b"alice".to_vec());
        let bob = Owner(b"bob".to_vec());
        let refused_by = |err: StoreError| match err {
            StoreError::Full { limit, .. } => limit,
            other => panic!("not a full store: {other:?}"),
        };
        put(&store, &alice, 50).unwrap();
        let over_key = put(&store, &alice, 11).unwrap_err();
        assert_eq!(refused_by(over_key), "--store-bytes-per-key");
        put(&store, &bob, 45).unwrap();
        let over_store = put(&store, &bob, 6).unwrap_err();
        assert_eq!(refused_by(over_store), "--store-bytes");
        put(&store, &bob, 5).unwrap();
        let over_count = put(&store, &bob, 0).unwrap_err();
        assert_eq!(refused_by(over_count), "--store-max-tensors");
        assert_eq!(store.counts().tensors, 3);
    }

    #[test]
    fn a_dropped_room_gives_its_bytes_back() {
        let store = TensorStore::new(limits());
        let alice = Owner(b"alice".to_vec());
        let room = store.reserve(&alice, 60).unwrap();
        assert!(store.reserve(&alice, 1).is_err());
        drop(room);
        assert_eq!(store.counts().bytes, 0);
        put(&store, &alice, 60).unwrap();
    }

    #[test]
    fn unused_tensors_expire_and_each_use_restarts_the_clock() {
        let store = TensorStore::new(StoreLimits {
            ttl: Duration::from_millis(300),
            ..limits()
        });
        let owner = Owner::default();
        let kept = put(&store, &owner, 10).unwrap();
        let left = put(&store, &owner, 10).unwrap();
        for _ in 0..4 {
            std::thread::sleep(Duration::from_millis(100));
            store.get(&owner, &kept.id).unwrap();
        }
        store.sweep();
        assert!(store.get(&owner, &kept.id).is_ok());
        assert_eq!(
            store.get(&owner, &left.id),
            Err(StoreError::NotFound(left.id.clone()))
        );
        let counts = store.counts();
        assert_eq!((counts.tensors, counts.bytes, counts.expiries), (1, 10, 1));
    }

    #[test]
    fn a_deleted_tensor_stays_valid_for_who_holds_it() {
        let store = TensorStore::new(limits());
        let owner = Owner::default();
        let info = put(&store, &owner, 10).unwrap();
        let held = store.get(&owner, &info.id).unwrap();
        store.delete(&owner, &info.id).unwrap();
        assert_eq!(held.data().as_ref(), &[7u8; 10]);
    }

    #[test]
    fn owners_are_the_bearer_keys() {
        assert_eq!(
            Owner::from_authorization(Some(b"Bearer k1")),
            Owner(b"k1".to_vec())
        );
        assert_eq!(Owner::from_authorization(None), Owner::default());
    }
}
