//! Compressed record blocks: how the store keeps its high-volume logs (every OCPP exchange) at a
//! small cost per record.
//!
//! Records are packed as they arrive into one buffer, each after the group (a charger, or a
//! meter series) it belongs to, so that an append writes only memory the previous one left in
//! cache. At each store hand-over the buffer is taken whole, and in the writer thread its records
//! are grouped and every group becomes one LZ4-compressed block, one `SQLite` row. A charger's
//! JSON frames repeat themselves, so blocks compress several-fold, and a row per block divides
//! `SQLite`'s per-row cost by the records in it. LZ4 rather than deflate: it compresses JSON at
//! about ten times deflate's speed, which is what matters on a server logging every frame of
//! thousands of chargers.
//!
//! A block is the uncompressed length (u32, little-endian) followed by one LZ4 block. Blocks are
//! read back from the store, so `decompress` treats them as untrusted: it refuses a declared
//! length over [`MAX_BLOCK_BYTES`] before allocating anything.
//!
//! | module | concept |
//! | --- | --- |
//! | `compress` | a block: its length prefix and LZ4, read back as untrusted |
//! | `message_log` | the message log's exchange records, their buffer and blocks, and their decoding |
//! | `meter` | the meter readings' records, their buffer and blocks, and their decoding |
//! | `grouping` | a taken buffer's records sorted into one buffer per group (shared by both logs) |

mod compress;
mod grouping;
mod message_log;
mod meter;

pub use compress::{BlockError, MAX_BLOCK_BYTES, compress, decompress};
pub use message_log::{
    Block, Exchange, ExchangeBuffer, LoggedExchange, RECORD_HEADER, Reply, TakenExchanges, pack_exchange,
    unpack_exchanges,
};
pub use meter::{
    MeterBlock, READING_HEADER, Reading, ReadingBuffer, SeriesKey, StoredReading, TakenReadings, pack_reading,
    unpack_readings,
};

pub(crate) fn clip(bytes: &[u8], max: usize) -> &[u8] {
    &bytes[..bytes.len().min(max)]
}

pub(crate) fn len_u16(bytes: &[u8]) -> u16 {
    u16::try_from(bytes.len()).unwrap_or(u16::MAX)
}

pub(crate) fn len_u32(bytes: &[u8]) -> u32 {
    u32::try_from(bytes.len()).unwrap_or(u32::MAX)
}

/// The group of `key` in `groups`, added (empty) at the end on its first use.
#[cfg(test)]
pub(crate) fn group_of<K: PartialEq, V: Default>(groups: &mut Vec<(K, V)>, key: K) -> &mut V {
    let at = groups.iter().position(|(k, _)| *k == key).unwrap_or_else(|| {
        groups.push((key, V::default()));
        groups.len() - 1
    });
    &mut groups[at].1
}
