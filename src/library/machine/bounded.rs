//! A map with a bound, for what the library tracker remembers.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;

/// A map with a bound: the oldest goes when a new one comes. Removing is O(1): the
/// order keeps a stale entry (told apart by its generation) until it is popped or the
/// order is compacted.
pub(super) struct Bounded<K, V> {
    order: VecDeque<(K, u64)>,
    map: HashMap<K, (V, u64)>,
    max: usize,
    generation: u64,
}

impl<K: Hash + Eq + Clone, V> Bounded<K, V> {
    pub(super) fn new(max: usize) -> Self {
        Bounded {
            order: VecDeque::new(),
            map: HashMap::new(),
            max,
            generation: 0,
        }
    }

    pub(super) fn insert(&mut self, k: K, v: V) {
        match self.map.get_mut(&k) {
            Some(entry) => entry.0 = v,
            None => {
                self.generation += 1;
                self.map.insert(k.clone(), (v, self.generation));
                self.order.push_back((k, self.generation));
            }
        }
        while self.map.len() > self.max {
            let Some((old, generation)) = self.order.pop_front() else {
                break;
            };
            if self.map.get(&old).is_some_and(|(_, g)| *g == generation) {
                self.map.remove(&old);
            }
        }
        if self.order.len() > 2 * self.max + 16 {
            let map = &self.map;
            self.order
                .retain(|(k, generation)| map.get(k).is_some_and(|(_, g)| g == generation));
        }
    }

    pub(super) fn remove(&mut self, k: &K) -> Option<V> {
        self.map.remove(k).map(|(v, _)| v)
    }

    pub(super) fn get(&self, k: &K) -> Option<&V> {
        self.map.get(k).map(|(v, _)| v)
    }

    pub(super) fn contains(&self, k: &K) -> bool {
        self.map.contains_key(k)
    }

    pub(super) fn len(&self) -> usize {
        self.map.len()
    }

    pub(super) fn keys(&self) -> Vec<K> {
        self.map.keys().cloned().collect()
    }

    pub(super) fn values(&self) -> impl Iterator<Item = &V> {
        self.map.values().map(|(v, _)| v)
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.map.iter().map(|(k, (v, _))| (k, v))
    }

    #[cfg(test)]
    pub(super) fn order_len(&self) -> usize {
        self.order.len()
    }
}

#[cfg(test)]
mod tests {
    use super::Bounded;

    #[test]
    fn the_oldest_goes_when_a_new_one_comes() {
        let mut b = Bounded::new(2);
        b.insert("a", 1);
        b.insert("b", 2);
        b.insert("a", 3); // replaced, not moved
        b.insert("c", 4);
        assert!(!b.contains(&"a"));
        assert_eq!((b.get(&"b"), b.get(&"c")), (Some(&2), Some(&4)));
    }

    #[test]
    fn a_key_back_after_its_removal_is_not_evicted_by_its_old_place() {
        let mut b = Bounded::new(2);
        b.insert("a", 1);
        b.insert("b", 2);
        assert_eq!(b.remove(&"a"), Some(1));
        b.insert("a", 3); // now the newest
        b.insert("c", 4); // "b" is the oldest
        assert!(!b.contains(&"b"));
        assert_eq!((b.get(&"a"), b.get(&"c")), (Some(&3), Some(&4)));
    }

    #[test]
    fn adds_and_removes_without_end_stay_within_the_bound() {
        let mut b = Bounded::new(10);
        for i in 0..100_000u32 {
            b.insert(i, ());
            b.remove(&i);
        }
        assert_eq!(b.len(), 0);
        assert!(b.order_len() <= 2 * 10 + 16, "{}", b.order_len());
    }
}
