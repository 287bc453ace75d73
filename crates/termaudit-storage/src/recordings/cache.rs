//! A replica's cache of the object ranges it read last, so that a viewer
//! who seeks and then plays on (the next windows start from the same
//! snapshot and chunks) or seeks back reads each range from the object
//! store once, as PostgreSQL's shared buffers serve the bodies it keeps.
//!
//! Bounded by bytes, least recently used out first; a range larger than an
//! eighth of it is not kept, so one read never empties it. A download's
//! batches (2 to 4 MB) are under that limit with the default 64 MiB and
//! are kept like any range: a download pushes older seeks' ranges out
//! (keeping them out would take a read-kind hint from the caller). An
//! object never changes once written (each has a new key), so an entry
//! is never stale; one of a purged or moved recording is no longer
//! reachable (no row points at it any more) and leaves once it is the
//! oldest, or after [`IDLE`] unread.

use std::{
    collections::{BTreeMap, HashMap},
    ops::Range,
    sync::Mutex,
    time::{Duration, Instant},
};

use bytes::Bytes;

/// An entry unread this long is dropped at the next use of the cache.
const IDLE: Duration = Duration::from_secs(10 * 60);

/// How many cached ranges starting at or before a wanted range are looked
/// at for one that holds it.
const SCAN: usize = 8;

pub(super) struct RangeCache {
    capacity: usize,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    used: usize,
    clock: u64,
    /// Per object key, its cached ranges by their start.
    objects: HashMap<String, BTreeMap<u64, Entry>>,
    /// Recency: the clock of each entry's last use, oldest first.
    order: BTreeMap<u64, (String, u64)>,
}

struct Entry {
    end: u64,
    bytes: Bytes,
    tick: u64,
    read_at: Instant,
}

impl RangeCache {
    /// A cache of at most `capacity` bytes (`0`: nothing is kept).
    pub(super) fn new(capacity: usize) -> Self {
        Self { capacity, inner: Mutex::new(Inner::default()) }
    }

    pub(super) fn capacity(&self) -> usize {
        self.capacity
    }

    /// `range` of object `key`, if a cached range holds it.
    pub(super) fn get(&self, key: &str, range: &Range<u64>) -> Option<Bytes> {
        if self.capacity == 0 {
            return None;
        }
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        inner.expire(now);
        let inner = &mut *inner;
        let ranges = inner.objects.get_mut(key)?;
        let (start, entry) = ranges
            .range_mut(..=range.start)
            .rev()
            .take(SCAN)
            .find(|(_, entry)| entry.end >= range.end)?;
        let from = usize::try_from(range.start - start).ok()?;
        let to = usize::try_from(range.end - start).ok()?;
        let bytes = entry.bytes.slice(from..to);
        inner.clock += 1;
        inner.order.remove(&entry.tick);
        entry.tick = inner.clock;
        entry.read_at = now;
        inner.order.insert(inner.clock, (key.to_owned(), *start));
        Some(bytes)
    }

    /// Keeps `bytes`, which are `range` of object `key`, pushing the least
    /// recently used ranges out past the capacity.
    pub(super) fn put(&self, key: &str, range: Range<u64>, bytes: Bytes) {
        if bytes.len() > self.capacity / 8 || range.end - range.start != bytes.len() as u64 {
            return;
        }
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        inner.expire(now);
        inner.remove(key, range.start);
        inner.clock += 1;
        let tick = inner.clock;
        inner.used += bytes.len();
        inner.order.insert(tick, (key.to_owned(), range.start));
        inner
            .objects
            .entry(key.to_owned())
            .or_default()
            .insert(range.start, Entry { end: range.end, bytes, tick, read_at: now });
        while inner.used > self.capacity {
            let Some((_, (key, start))) = inner.order.pop_first() else { break };
            inner.remove(&key, start);
        }
    }

    /// Bytes held.
    #[cfg(test)]
    fn used(&self) -> usize {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).used
    }
}

impl Inner {
    fn remove(&mut self, key: &str, start: u64) {
        let Some(ranges) = self.objects.get_mut(key) else { return };
        if let Some(entry) = ranges.remove(&start) {
            self.used -= entry.bytes.len();
            self.order.remove(&entry.tick);
        }
        if ranges.is_empty() {
            self.objects.remove(key);
        }
    }

    /// Drops the entries unread for [`IDLE`]: the oldest in `order`.
    fn expire(&mut self, now: Instant) {
        while let Some((_, (key, start))) = self.order.first_key_value() {
            let idle = self.objects.get(key).and_then(|r| r.get(start)).map(|e| e.read_at);
            if idle.is_some_and(|read_at| now.duration_since(read_at) < IDLE) {
                break;
            }
            let (key, start) = (key.clone(), *start);
            self.order.pop_first();
            self.remove(&key, start);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(from: u8, len: usize) -> Bytes {
        Bytes::from((0..len).map(|i| from.wrapping_add(i as u8)).collect::<Vec<u8>>())
    }

    #[test]
    fn a_cached_range_serves_the_ranges_inside_it() {
        let cache = RangeCache::new(800);
        cache.put("a", 100..150, bytes(0, 50));
        assert_eq!(cache.get("a", &(100..150)), Some(bytes(0, 50)));
        assert_eq!(cache.get("a", &(110..120)), Some(bytes(10, 10)));
        assert_eq!(cache.get("a", &(140..151)), None, "past its end");
        assert_eq!(cache.get("a", &(99..120)), None, "before its start");
        assert_eq!(cache.get("b", &(100..150)), None, "another object");
    }

    #[test]
    fn the_least_recently_used_go_first_and_big_ranges_are_not_kept() {
        let cache = RangeCache::new(800);
        cache.put("a", 0..100, bytes(0, 100));
        assert_eq!(cache.used(), 100);
        cache.put("a", 0..100, bytes(0, 100));
        assert_eq!(cache.used(), 100, "the same range once");
        cache.put("big", 0..101, bytes(0, 101));
        assert_eq!(cache.get("big", &(0..101)), None, "over an eighth of the capacity");
        for k in 1..8 {
            cache.put(&format!("k{k}"), 0..100, bytes(0, 100));
        }
        assert_eq!(cache.used(), 800);
        assert!(cache.get("a", &(0..1)).is_some(), "a is now the most recently used");
        cache.put("k8", 0..100, bytes(0, 100));
        assert_eq!(cache.used(), 800);
        assert!(cache.get("k1", &(0..1)).is_none(), "the least recently used went");
        assert!(cache.get("a", &(0..1)).is_some());
        assert!(cache.get("k8", &(0..1)).is_some());
    }

    #[test]
    fn no_capacity_keeps_nothing() {
        let cache = RangeCache::new(0);
        cache.put("a", 0..1, bytes(0, 1));
        assert_eq!(cache.get("a", &(0..1)), None);
        assert_eq!(cache.used(), 0);
    }
}
