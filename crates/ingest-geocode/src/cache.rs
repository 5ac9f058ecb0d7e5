//! A bounded least-recently-used cache, small enough not to need a crate.
//!
//! A `HashMap` holds the values, each stamped with the tick of its last use;
//! a `VecDeque` holds `(key, tick)` in use order. A use pushes a fresh pair
//! and leaves the old one behind as stale; eviction pops from the front and
//! skips stale pairs. The queue is compacted when stale pairs outnumber live
//! ones, so every operation is amortised O(1) and memory stays within about
//! three times the capacity in keys.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;

/// A map of at most `capacity` entries that evicts the least recently used.
#[derive(Debug)]
pub(crate) struct LruCache<K, V> {
    capacity: usize,
    map: HashMap<K, (V, u64)>,
    order: VecDeque<(K, u64)>,
    tick: u64,
}

impl<K: Eq + Hash + Clone, V: Clone> LruCache<K, V> {
    /// An empty cache; a capacity of 0 is treated as 1.
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            map: HashMap::new(),
            order: VecDeque::new(),
            tick: 0,
        }
    }

    /// The value for `key`, marking it most recently used.
    pub(crate) fn get(&mut self, key: &K) -> Option<V> {
        self.tick += 1;
        let tick = self.tick;
        let (value, used) = self.map.get_mut(key)?;
        *used = tick;
        let value = value.clone();
        self.order.push_back((key.clone(), tick));
        self.compact();
        Some(value)
    }

    /// Insert or replace `key`, evicting the least recently used entry if
    /// the cache is full.
    pub(crate) fn insert(&mut self, key: K, value: V) {
        self.tick += 1;
        let tick = self.tick;
        self.order.push_back((key.clone(), tick));
        self.map.insert(key, (value, tick));
        while self.map.len() > self.capacity {
            let Some((old, used)) = self.order.pop_front() else {
                break;
            };
            if self.map.get(&old).is_some_and(|(_, t)| *t == used) {
                self.map.remove(&old);
            }
        }
        self.compact();
    }

    /// Entries held.
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    /// Drop stale pairs once they outnumber the live ones.
    fn compact(&mut self) {
        if self.order.len() > 2 * self.map.len() + 16 {
            let map = &self.map;
            self.order
                .retain(|(k, used)| map.get(k).is_some_and(|(_, t)| t == used));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_the_least_recently_used() {
        let mut cache = LruCache::new(2);
        cache.insert("a", 1);
        cache.insert("b", 2);
        assert_eq!(cache.get(&"a"), Some(1)); // "b" is now the oldest
        cache.insert("c", 3);
        assert_eq!(cache.get(&"b"), None);
        assert_eq!(cache.get(&"a"), Some(1));
        assert_eq!(cache.get(&"c"), Some(3));
        assert_eq!(cache.len(), 2);
    }

    #[test]
    fn replacing_refreshes_and_does_not_grow() {
        let mut cache = LruCache::new(2);
        cache.insert("a", 1);
        cache.insert("b", 2);
        cache.insert("a", 10); // "b" is now the oldest
        assert_eq!(cache.len(), 2);
        cache.insert("c", 3);
        assert_eq!(cache.get(&"a"), Some(10));
        assert_eq!(cache.get(&"b"), None);
    }

    #[test]
    fn negative_values_are_values() {
        let mut cache: LruCache<&str, Option<u8>> = LruCache::new(4);
        cache.insert("nowhere", None);
        assert_eq!(cache.get(&"nowhere"), Some(None));
        assert_eq!(cache.get(&"elsewhere"), None);
    }

    #[test]
    fn many_hits_keep_the_order_queue_bounded() {
        let mut cache = LruCache::new(3);
        for k in 0..3 {
            cache.insert(k, k);
        }
        for _ in 0..10_000 {
            assert_eq!(cache.get(&1), Some(1));
        }
        assert!(cache.order.len() <= 2 * cache.map.len() + 17);
        // Order survives compaction: 0 and 2 are older than 1.
        cache.insert(3, 3);
        assert_eq!(cache.get(&0), None);
        assert_eq!(cache.get(&1), Some(1));
    }

    #[test]
    fn behaves_like_a_reference_model() {
        // A naive LRU (a Vec in use order) as the oracle, over a fixed
        // pseudo-random sequence of operations.
        let mut cache = LruCache::new(5);
        let mut model: Vec<(u32, u32)> = Vec::new();
        let mut state: u32 = 0x2545_f491;
        for step in 0..20_000_u32 {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let key = state % 9;
            if state.is_multiple_of(3) {
                cache.insert(key, step);
                model.retain(|(k, _)| *k != key);
                model.push((key, step));
                if model.len() > 5 {
                    model.remove(0);
                }
            } else {
                let expected = model.iter().position(|(k, _)| *k == key).map(|i| {
                    let entry = model.remove(i);
                    model.push(entry);
                    entry.1
                });
                assert_eq!(cache.get(&key), expected, "step {step}, key {key}");
            }
            assert_eq!(cache.len(), model.len());
        }
    }
}
