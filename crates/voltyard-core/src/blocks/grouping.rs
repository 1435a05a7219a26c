//! The records of a taken buffer sorted into their groups (a charger's exchanges, a meter series).

use std::collections::HashMap;
use std::hash::Hash;
use std::ops::Range;

use foldhash::fast::RandomState;

/// Records are grouped by charger id at each hand-over: a fast hash, randomly seeded per process
/// (charger ids come from the network).
type ByCharger<K, V> = HashMap<K, V, RandomState>;

/// Records of a taken buffer sorted into their groups in two passes: `add` notes each record's
/// group and size, `into_raw` then copies every group's records into one buffer allocated at its
/// final size. Growing a thousand buffers record by record would reallocate and copy each of them
/// several times, most of the grouping's cost.
pub(crate) struct Grouped<K, G> {
    index: ByCharger<K, usize>,
    /// Each group with its key and the bytes of its records so far.
    groups: Vec<(K, G, usize)>,
    /// Each record's group and range of the log, in arrival order.
    records: Vec<(usize, Range<usize>)>,
}

impl<K: Eq + Hash + Copy, G> Grouped<K, G> {
    pub(crate) fn with_capacity(records: usize) -> Self {
        Self { index: ByCharger::default(), groups: Vec::new(), records: Vec::with_capacity(records) }
    }

    /// Notes `record` (a range of the log) as the next of `key`'s group, made by `new` on its
    /// first record; returns the group and where the record will start in the group's buffer.
    pub(crate) fn add(&mut self, key: K, record: Range<usize>, new: impl FnOnce() -> G) -> (&mut G, usize) {
        let groups = &mut self.groups;
        let slot = *self.index.entry(key).or_insert_with(|| {
            groups.push((key, new(), 0));
            groups.len() - 1
        });
        let (_, group, size) = &mut self.groups[slot];
        let starts_at = *size;
        *size += record.len();
        self.records.push((slot, record));
        (group, starts_at)
    }

    /// Each group, in the order of its first record, with its records copied into one buffer.
    pub(crate) fn into_raw(self, log: &[u8]) -> impl Iterator<Item = (K, G, Vec<u8>)> {
        let mut raws: Vec<Vec<u8>> = self.groups.iter().map(|&(_, _, size)| Vec::with_capacity(size)).collect();
        for (slot, record) in self.records {
            raws[slot].extend_from_slice(&log[record]);
        }
        self.groups.into_iter().zip(raws).map(|((key, group, _), raw)| (key, group, raw))
    }
}
