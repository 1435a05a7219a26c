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

use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;
use std::ops::Range;

use foldhash::fast::RandomState;

/// Records are grouped by charger id at each hand-over: a fast hash, randomly seeded per process
/// (charger ids come from the network).
type ByCharger<K, V> = HashMap<K, V, RandomState>;

/// The largest uncompressed block accepted (a block holds one charger's exchanges of one
/// hand-over interval: far less in practice).
pub const MAX_BLOCK_BYTES: usize = 64 << 20;

/// Why a stored block cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlockError {
    /// Shorter than its four-byte length prefix.
    Truncated,
    /// Declares more than [`MAX_BLOCK_BYTES`] uncompressed bytes.
    TooLarge(usize),
    /// The LZ4 data is invalid or does not fill the declared length.
    Corrupt(String),
}

impl fmt::Display for BlockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated => write!(f, "block shorter than its 4-byte length prefix"),
            Self::TooLarge(size) => write!(f, "block declares {size} bytes, over the {MAX_BLOCK_BYTES}-byte limit"),
            Self::Corrupt(reason) => write!(f, "corrupt block: {reason}"),
        }
    }
}

impl std::error::Error for BlockError {}

/// Compresses `raw` into a block.
pub fn compress(raw: &[u8]) -> Vec<u8> {
    lz4_flex::block::compress_prepend_size(raw)
}

/// The raw bytes of a block.
pub fn decompress(block: &[u8]) -> Result<Vec<u8>, BlockError> {
    let Some((size, data)) = block.split_first_chunk::<4>() else {
        return Err(BlockError::Truncated);
    };
    let size = u32::from_le_bytes(*size) as usize;
    if size > MAX_BLOCK_BYTES {
        return Err(BlockError::TooLarge(size));
    }
    let mut raw = vec![0; size];
    let written = lz4_flex::block::decompress_into(data, &mut raw).map_err(|e| BlockError::Corrupt(e.to_string()))?;
    if written != size {
        return Err(BlockError::Corrupt(format!("{written} bytes where {size} were declared")));
    }
    Ok(raw)
}

/// One exchange of the message log: the frame that opened it and, once known, its answer.
#[derive(Debug, Clone, Copy)]
pub struct Exchange<'a> {
    pub outgoing: bool,
    /// When the opening frame crossed the wire (Unix seconds).
    pub opened: f64,
    /// 2, 3 or 4; None for a frame whose type could not be read.
    pub message_type: Option<i8>,
    pub message_id: &'a str,
    pub action: &'a str,
    pub frame: &'a [u8],
    /// The answering frame, its message type and when it crossed the wire.
    pub reply: Option<Reply<'a>>,
}

/// The frame that answered an [`Exchange`].
#[derive(Debug, Clone, Copy)]
pub struct Reply<'a> {
    pub message_type: i8,
    pub frame: &'a [u8],
    pub at: f64,
}

/// Packs an exchange as the record layout of the message log: little-endian `opened: f64`,
/// `replied: f64` (NaN: no reply), `outgoing: u8`, `message_type: i8` and `reply_type: i8` (-1:
/// none), the lengths `message_id: u16`, `action: u16`, `frame: u32`, `reply: u32`, then those
/// four byte strings. Message ids and actions longer than a u16 holds are cut (only an unreadable
/// frame has one), as are frames over 4 GiB (none reach the log).
pub fn pack_exchange(out: &mut Vec<u8>, exchange: &Exchange<'_>) {
    let message_id = clip(exchange.message_id.as_bytes(), u16::MAX as usize);
    let action = clip(exchange.action.as_bytes(), u16::MAX as usize);
    let frame = clip(exchange.frame, u32::MAX as usize);
    let (replied, reply_type, reply) = match exchange.reply {
        Some(reply) => (reply.at, reply.message_type, clip(reply.frame, u32::MAX as usize)),
        None => (f64::NAN, -1, &[][..]),
    };
    out.reserve(RECORD_HEADER + message_id.len() + action.len() + frame.len() + reply.len());
    out.extend_from_slice(&exchange.opened.to_le_bytes());
    out.extend_from_slice(&replied.to_le_bytes());
    out.push(u8::from(exchange.outgoing));
    out.extend_from_slice(&exchange.message_type.unwrap_or(-1).to_le_bytes());
    out.extend_from_slice(&reply_type.to_le_bytes());
    out.extend_from_slice(&len_u16(message_id).to_le_bytes());
    out.extend_from_slice(&len_u16(action).to_le_bytes());
    out.extend_from_slice(&len_u32(frame).to_le_bytes());
    out.extend_from_slice(&len_u32(reply).to_le_bytes());
    for part in [message_id, action, frame, reply] {
        out.extend_from_slice(part);
    }
}

/// Bytes of a packed record before its four byte strings.
pub const RECORD_HEADER: usize = 8 + 8 + 1 + 1 + 1 + 2 + 2 + 4 + 4;

fn clip(bytes: &[u8], max: usize) -> &[u8] {
    &bytes[..bytes.len().min(max)]
}

fn len_u16(bytes: &[u8]) -> u16 {
    u16::try_from(bytes.len()).unwrap_or(u16::MAX)
}

fn len_u32(bytes: &[u8]) -> u32 {
    u32::try_from(bytes.len()).unwrap_or(u32::MAX)
}

/// What a block says of one charger's exchanges since the last hand-over (its records are copied
/// apart, see [`Grouped`]).
#[derive(Debug, Default)]
struct Group {
    first: f64,
    last: f64,
    count: u32,
    actions: ActionSet,
}

/// The OCPP 1.6 actions (the security extension's included), one bit each in an [`ActionSet`].
const OCPP16_ACTIONS: [&str; 39] = [
    "Authorize",
    "BootNotification",
    "CancelReservation",
    "CertificateSigned",
    "ChangeAvailability",
    "ChangeConfiguration",
    "ClearCache",
    "ClearChargingProfile",
    "DataTransfer",
    "DeleteCertificate",
    "DiagnosticsStatusNotification",
    "ExtendedTriggerMessage",
    "FirmwareStatusNotification",
    "GetCompositeSchedule",
    "GetConfiguration",
    "GetDiagnostics",
    "GetInstalledCertificateIds",
    "GetLocalListVersion",
    "GetLog",
    "Heartbeat",
    "InstallCertificate",
    "LogStatusNotification",
    "MeterValues",
    "RemoteStartTransaction",
    "RemoteStopTransaction",
    "ReserveNow",
    "Reset",
    "SecurityEventNotification",
    "SendLocalList",
    "SetChargingProfile",
    "SignCertificate",
    "SignedFirmwareStatusNotification",
    "SignedUpdateFirmware",
    "StartTransaction",
    "StatusNotification",
    "StopTransaction",
    "TriggerMessage",
    "UnlockConnector",
    "UpdateFirmware",
];

/// The distinct actions of a group. A known action is a bit of the group itself: noting one per
/// exchange reads no memory beyond the group, where a list of strings would read one cold
/// allocation per entry for each of a thousand chargers in turn.
#[derive(Debug, Default)]
struct ActionSet {
    known: u64,
    other: Vec<String>,
}

impl ActionSet {
    fn insert(&mut self, action: &str) {
        match OCPP16_ACTIONS.binary_search(&action) {
            Ok(bit) => self.known |= 1 << bit,
            Err(_) if action.is_empty() || self.other.iter().any(|a| a == action) => {}
            Err(_) => self.other.push(action.to_owned()),
        }
    }

    /// Sorted and comma-separated.
    fn joined(self) -> String {
        let known = (0..OCPP16_ACTIONS.len()).filter(|bit| self.known & (1 << bit) != 0).map(|bit| OCPP16_ACTIONS[bit]);
        let mut all: Vec<&str> = known.chain(self.other.iter().map(String::as_str)).collect();
        all.sort_unstable();
        all.join(",")
    }
}

/// One charger's exchanges of an interval, compressed: a message-log row.
#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    pub charger_id: String,
    /// When the first and the last exchange of the block opened.
    pub first: f64,
    pub last: f64,
    pub count: u32,
    /// The distinct actions of the block, sorted and comma-separated (for filtering by action).
    pub actions: String,
    pub data: Vec<u8>,
}

/// Exchanges buffered until the next hand-over, in arrival order, each packed after its charger's
/// id (`u16` length, then the bytes). An append writes only at the end of one buffer, memory the
/// previous append left in cache, where a buffer per charger would begin each append on a cold
/// line among a thousand chargers' buffers. Grouping by charger, like compression, is left to
/// [`TakenExchanges::into_blocks`], which runs in the writer thread.
#[derive(Debug, Default)]
pub struct ExchangeBuffer {
    log: Vec<u8>,
    exchanges: usize,
}

impl ExchangeBuffer {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an exchange of `charger_id`.
    pub fn push(&mut self, charger_id: &str, exchange: &Exchange<'_>) {
        let id = clip(charger_id.as_bytes(), u16::MAX as usize);
        self.log.extend_from_slice(&len_u16(id).to_le_bytes());
        self.log.extend_from_slice(id);
        pack_exchange(&mut self.log, exchange);
        self.exchanges += 1;
    }

    /// Exchanges buffered since the last `take`.
    pub fn len(&self) -> usize {
        self.exchanges
    }

    pub fn is_empty(&self) -> bool {
        self.exchanges == 0
    }

    /// Everything buffered, not yet grouped nor compressed (both are `TakenExchanges::into_blocks`,
    /// meant for the writer thread). The next interval's buffer starts at this one's size, so that
    /// a steady load appends without reallocating.
    pub fn take(&mut self) -> TakenExchanges {
        let records = std::mem::take(&mut self.exchanges);
        let next = Vec::with_capacity(self.log.len());
        let log = std::mem::replace(&mut self.log, next);
        TakenExchanges { log, records }
    }
}

/// The exchanges of an [`ExchangeBuffer`] taken at a hand-over.
#[derive(Debug, Default)]
pub struct TakenExchanges {
    log: Vec<u8>,
    records: usize,
}

impl TakenExchanges {
    /// One compressed block per charger, its exchanges in arrival order; blocks in the order their
    /// chargers first appear.
    pub fn into_blocks(self) -> Vec<Block> {
        let mut grouped = Grouped::with_capacity(self.records);
        let mut at = 0;
        while let Some((id, record)) = next_tagged_record(&self.log, at) {
            at = record.end;
            let opened = f64::from_le_bytes(self.log[record.start..record.start + 8].try_into().unwrap_or_default());
            let action = record_action(&self.log[record.clone()]);
            let (group, _) = grouped.add(id, record, || Group { first: opened, ..Group::default() });
            group.last = opened;
            group.count += 1;
            group.actions.insert(action);
        }
        grouped
            .into_raw(&self.log)
            .map(|(id, group, raw)| Block {
                charger_id: String::from_utf8_lossy(id).into_owned(),
                first: group.first,
                last: group.last,
                count: group.count,
                actions: group.actions.joined(),
                data: compress(&raw),
            })
            .collect()
    }
}

/// Records of a taken buffer sorted into their groups in two passes: `add` notes each record's
/// group and size, `into_raw` then copies every group's records into one buffer allocated at its
/// final size. Growing a thousand buffers record by record would reallocate and copy each of them
/// several times, most of the grouping's cost.
struct Grouped<K, G> {
    index: ByCharger<K, usize>,
    /// Each group with its key and the bytes of its records so far.
    groups: Vec<(K, G, usize)>,
    /// Each record's group and range of the log, in arrival order.
    records: Vec<(usize, Range<usize>)>,
}

impl<K: Eq + Hash + Copy, G> Grouped<K, G> {
    fn with_capacity(records: usize) -> Self {
        Self { index: ByCharger::default(), groups: Vec::new(), records: Vec::with_capacity(records) }
    }

    /// Notes `record` (a range of the log) as the next of `key`'s group, made by `new` on its
    /// first record; returns the group and where the record will start in the group's buffer.
    fn add(&mut self, key: K, record: Range<usize>, new: impl FnOnce() -> G) -> (&mut G, usize) {
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
    fn into_raw(self, log: &[u8]) -> impl Iterator<Item = (K, G, Vec<u8>)> {
        let mut raws: Vec<Vec<u8>> = self.groups.iter().map(|&(_, _, size)| Vec::with_capacity(size)).collect();
        for (slot, record) in self.records {
            raws[slot].extend_from_slice(&log[record]);
        }
        self.groups.into_iter().zip(raws).map(|((key, group, _), raw)| (key, group, raw))
    }
}

/// The charger id and the record's range of the tagged record at `at` of a buffer's log (which
/// `ExchangeBuffer::push` wrote, so it is whole); None at its end.
fn next_tagged_record(log: &[u8], at: usize) -> Option<(&[u8], Range<usize>)> {
    let id_len = usize::from(u16::from_le_bytes(log.get(at..at + 2)?.try_into().ok()?));
    let start = at + 2 + id_len;
    let header = log.get(start..start + RECORD_HEADER)?;
    let field = |range: Range<usize>| header[range].iter().rev().fold(0usize, |n, &b| n << 8 | usize::from(b));
    let end = start + RECORD_HEADER + field(19..21) + field(21..23) + field(23..27) + field(27..31);
    (end <= log.len()).then(|| (&log[at + 2..start], start..end))
}

/// The action of a packed exchange record (its second string).
fn record_action(record: &[u8]) -> &str {
    let message_id_len = usize::from(u16::from_le_bytes([record[19], record[20]]));
    let action_len = usize::from(u16::from_le_bytes([record[21], record[22]]));
    let start = RECORD_HEADER + message_id_len;
    std::str::from_utf8(&record[start..start + action_len]).unwrap_or("")
}

/// One meter reading of a `MeterValues` (or a stop's `transactionData`) as a meter block packs it.
#[derive(Debug, Clone, Copy)]
pub struct Reading<'a> {
    /// The meterValue's timestamp as sent.
    pub timestamp: &'a str,
    /// When it was received (Unix seconds).
    pub received_at: f64,
    /// Energy.Active.Import.Register in Wh and Power.Active.Import in W, when present.
    pub energy_wh: Option<f64>,
    pub power_w: Option<f64>,
    /// The timestamp lies before 2000 or too far in the future.
    pub clock_skew: bool,
    /// The sampledValue array as sent (JSON).
    pub sampled_value: &'a [u8],
}

/// Bytes of a packed reading before its two byte strings.
pub const READING_HEADER: usize = 8 + 8 + 8 + 1 + 2 + 4;

/// Packs a reading: little-endian `received_at: f64`, `energy_wh: f64` and `power_w: f64` (NaN:
/// absent), `clock_skew: u8`, the lengths `timestamp: u16` and `sampled_value: u32`, then those
/// two byte strings (cut to what their length fields hold).
pub fn pack_reading(out: &mut Vec<u8>, reading: &Reading<'_>) {
    let timestamp = clip(reading.timestamp.as_bytes(), u16::MAX as usize);
    let sampled = clip(reading.sampled_value, u32::MAX as usize);
    out.reserve(READING_HEADER + timestamp.len() + sampled.len());
    out.extend_from_slice(&reading.received_at.to_le_bytes());
    out.extend_from_slice(&reading.energy_wh.unwrap_or(f64::NAN).to_le_bytes());
    out.extend_from_slice(&reading.power_w.unwrap_or(f64::NAN).to_le_bytes());
    out.push(u8::from(reading.clock_skew));
    out.extend_from_slice(&len_u16(timestamp).to_le_bytes());
    out.extend_from_slice(&len_u32(sampled).to_le_bytes());
    out.extend_from_slice(timestamp);
    out.extend_from_slice(sampled);
}

/// Which series a reading belongs to: one block per series and hand-over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeriesKey<'a> {
    pub charger_id: &'a str,
    pub connector_id: i64,
    pub transaction_id: Option<i64>,
}

#[derive(Debug, Default)]
struct Series {
    connector_id: i64,
    transaction_id: Option<i64>,
    first_timestamp: String,
    /// Where the last reading's record starts in the series' buffer: its timestamp is read back
    /// from there at the hand-over instead of being copied aside at every reading.
    last_record: usize,
    count: u32,
    energy_wh: Option<f64>,
    power_w: Option<f64>,
}

/// The readings of one series over one interval, compressed: a `meter_blocks` row.
#[derive(Debug, Clone, PartialEq)]
pub struct MeterBlock {
    pub charger_id: String,
    pub connector_id: i64,
    pub transaction_id: Option<i64>,
    pub first_timestamp: String,
    pub last_timestamp: String,
    pub count: u32,
    /// The block's last energy and power readings (what a reconcile or a site view needs without
    /// opening the block).
    pub energy_wh: Option<f64>,
    pub power_w: Option<f64>,
    pub data: Vec<u8>,
}

/// Meter readings buffered until the next hand-over, in arrival order, each packed after its
/// series (charger id as `u16` length and bytes, `connector_id: i64`, a `u8` flag and
/// `transaction_id: i64`, 0 when there is none): like [`ExchangeBuffer`], an append only writes
/// at the end of one buffer, and [`TakenReadings::into_blocks`] groups the series in the writer
/// thread.
#[derive(Debug, Default)]
pub struct ReadingBuffer {
    log: Vec<u8>,
    readings: usize,
}

impl ReadingBuffer {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a reading to its series.
    pub fn push(&mut self, key: SeriesKey<'_>, reading: &Reading<'_>) {
        let id = clip(key.charger_id.as_bytes(), u16::MAX as usize);
        self.log.extend_from_slice(&len_u16(id).to_le_bytes());
        self.log.extend_from_slice(id);
        self.log.extend_from_slice(&key.connector_id.to_le_bytes());
        self.log.push(u8::from(key.transaction_id.is_some()));
        self.log.extend_from_slice(&key.transaction_id.unwrap_or(0).to_le_bytes());
        pack_reading(&mut self.log, reading);
        self.readings += 1;
    }

    /// Readings buffered since the last `take`.
    pub fn len(&self) -> usize {
        self.readings
    }

    pub fn is_empty(&self) -> bool {
        self.readings == 0
    }

    /// Everything buffered, not yet grouped nor compressed (`TakenReadings::into_blocks`, meant
    /// for the writer thread); the next buffer starts at this one's size.
    pub fn take(&mut self) -> TakenReadings {
        let records = std::mem::take(&mut self.readings);
        let next = Vec::with_capacity(self.log.len());
        TakenReadings { log: std::mem::replace(&mut self.log, next), records }
    }
}

/// The timestamp of the packed reading that `record` starts with (see [`pack_reading`]).
fn record_timestamp(record: &[u8]) -> String {
    let length = usize::from(u16::from_le_bytes([record[25], record[26]]));
    String::from_utf8_lossy(&record[READING_HEADER..READING_HEADER + length]).into_owned()
}

/// The readings of a [`ReadingBuffer`] taken at a hand-over.
#[derive(Debug, Default)]
pub struct TakenReadings {
    log: Vec<u8>,
    records: usize,
}

type SeriesOf<'a> = (&'a [u8], i64, Option<i64>);

impl TakenReadings {
    /// One compressed block per series, its readings in arrival order; blocks in the order their
    /// series first appear.
    pub fn into_blocks(self) -> Vec<MeterBlock> {
        let mut grouped = Grouped::with_capacity(self.records);
        let mut at = 0;
        while let Some((key, range)) = next_tagged_reading(&self.log, at) {
            at = range.end;
            let record = &self.log[range.clone()];
            let (s, starts_at) = grouped.add(key, range, || Series {
                connector_id: key.1,
                transaction_id: key.2,
                first_timestamp: record_timestamp(record),
                ..Series::default()
            });
            s.last_record = starts_at;
            s.count += 1;
            let number = |range: Range<usize>| {
                let value = f64::from_le_bytes(record[range].try_into().unwrap_or_default());
                (!value.is_nan()).then_some(value)
            };
            s.energy_wh = number(8..16).or(s.energy_wh);
            s.power_w = number(16..24).or(s.power_w);
        }
        grouped
            .into_raw(&self.log)
            .map(|((id, _, _), s, raw)| MeterBlock {
                charger_id: String::from_utf8_lossy(id).into_owned(),
                connector_id: s.connector_id,
                transaction_id: s.transaction_id,
                last_timestamp: record_timestamp(&raw[s.last_record..]),
                first_timestamp: s.first_timestamp,
                count: s.count,
                energy_wh: s.energy_wh,
                power_w: s.power_w,
                data: compress(&raw),
            })
            .collect()
    }
}

/// The series and the record's range of the tagged reading at `at` of a buffer's log (which
/// `ReadingBuffer::push` wrote, so it is whole); None at its end.
fn next_tagged_reading(log: &[u8], at: usize) -> Option<(SeriesOf<'_>, Range<usize>)> {
    let id_len = usize::from(u16::from_le_bytes(log.get(at..at + 2)?.try_into().ok()?));
    let ids = at + 2 + id_len;
    let number = |from: usize| Some(i64::from_le_bytes(log.get(from..from + 8)?.try_into().ok()?));
    let connector_id = number(ids)?;
    let transaction_id = (*log.get(ids + 8)? != 0).then_some(number(ids + 9)?);
    let start = ids + 17;
    let header = log.get(start..start + READING_HEADER)?;
    let timestamp = usize::from(u16::from_le_bytes([header[25], header[26]]));
    let sampled = u32::from_le_bytes([header[27], header[28], header[29], header[30]]) as usize;
    let end = start + READING_HEADER + timestamp + sampled;
    (end <= log.len()).then(|| ((&log[at + 2..ids], connector_id, transaction_id), start..end))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exchange<'a>(message_id: &'a str, frame: &'a [u8], reply: Option<Reply<'a>>) -> Exchange<'a> {
        Exchange { outgoing: false, opened: 1.5, message_type: Some(2), message_id, action: "Heartbeat", frame, reply }
    }

    #[test]
    fn blocks_round_trip_through_compression() {
        let raw: Vec<u8> = (0..10_000u32).flat_map(|i| (i % 97).to_le_bytes()).collect();
        let block = compress(&raw);
        assert!(block.len() < raw.len() / 4);
        assert_eq!(decompress(&block).unwrap(), raw);
        assert_eq!(decompress(&compress(b"")).unwrap(), b"");
    }

    #[test]
    fn bad_blocks_are_errors() {
        assert_eq!(decompress(b"\x01\x02"), Err(BlockError::Truncated));
        let huge = u32::try_from(MAX_BLOCK_BYTES + 1).unwrap().to_le_bytes();
        assert_eq!(decompress(&huge), Err(BlockError::TooLarge(MAX_BLOCK_BYTES + 1)));
        let mut short = compress(b"some bytes that compress to something");
        short[0] += 1; // declares one byte more than the data holds
        assert!(matches!(decompress(&short), Err(BlockError::Corrupt(_))));
        assert!(matches!(decompress(b"\x05\x00\x00\x00\xff\xff"), Err(BlockError::Corrupt(_))));
    }

    #[test]
    fn records_follow_the_layout() {
        let mut out = Vec::new();
        let reply = Reply { message_type: 3, frame: b"[3]", at: 2.0 };
        pack_exchange(&mut out, &exchange("m1", b"[2]", Some(reply)));
        assert_eq!(out.len(), RECORD_HEADER + 2 + 9 + 3 + 3);
        assert_eq!(&out[..8], &1.5f64.to_le_bytes());
        assert_eq!(&out[8..16], &2.0f64.to_le_bytes());
        assert_eq!(&out[16..19], &[0, 2, 3]);
        assert_eq!(&out[RECORD_HEADER..], b"m1Heartbeat[2][3]");
        out.clear();
        pack_exchange(&mut out, &exchange("m1", b"[2]", None));
        assert!(f64::from_le_bytes(out[8..16].try_into().unwrap()).is_nan());
        assert_eq!(out[18], 0xff);
    }

    #[test]
    fn buffer_groups_by_charger() {
        let mut buffer = ExchangeBuffer::new();
        buffer.push("A", &exchange("1", b"[2]", None));
        buffer.push("B", &Exchange { action: "MeterValues", ..exchange("2", b"[2]", None) });
        buffer.push("A", &Exchange { opened: 3.0, action: "Boot", ..exchange("3", b"[2]", None) });
        assert_eq!(buffer.len(), 3);
        let mut blocks = buffer.take().into_blocks();
        assert!(buffer.is_empty());
        blocks.sort_by(|a, b| a.charger_id.cmp(&b.charger_id));
        assert_eq!(blocks[0].count, 2);
        assert_eq!((blocks[0].first.to_bits(), blocks[0].last.to_bits()), (1.5f64.to_bits(), 3.0f64.to_bits()));
        assert_eq!(blocks[0].actions, "Boot,Heartbeat");
        assert_eq!(blocks[1].actions, "MeterValues");
        assert_eq!(decompress(&blocks[0].data).unwrap().len(), 2 * (RECORD_HEADER + 1 + 3) + 9 + 4);
    }

    #[test]
    fn interleaved_chargers_come_out_whole_and_in_order() {
        let mut buffer = ExchangeBuffer::new();
        let mut expected: HashMap<String, Vec<u8>> = HashMap::new();
        for n in 0..300u32 {
            let charger = format!("CP-{}", n % 7);
            let (id, frame) = (n.to_string(), format!("[2,\"{n}\",\"Heartbeat\",{{}}]"));
            let reply = Reply { message_type: 3, frame: b"[3]", at: 2.0 };
            let one = Exchange { opened: f64::from(n), ..exchange(&id, frame.as_bytes(), Some(reply)) };
            buffer.push(&charger, &one);
            pack_exchange(expected.entry(charger).or_default(), &one);
        }
        let blocks = buffer.take().into_blocks();
        assert_eq!(blocks.len(), 7);
        for block in blocks {
            assert_eq!(decompress(&block.data).unwrap(), expected[&block.charger_id], "{}", block.charger_id);
            assert_eq!(block.actions, "Heartbeat");
            assert!(block.first < block.last);
        }
        assert!(buffer.take().into_blocks().is_empty());
    }

    #[test]
    fn actions_are_listed_once_each_sorted_known_or_not() {
        assert!(OCPP16_ACTIONS.is_sorted(), "binary search needs the table sorted");
        let mut actions = ActionSet::default();
        for action in ["StatusNotification", "VendorThing", "", "Authorize", "VendorThing", "StatusNotification"] {
            actions.insert(action);
        }
        assert_eq!(actions.joined(), "Authorize,StatusNotification,VendorThing");
        assert_eq!(ActionSet::default().joined(), "");
    }

    fn reading(timestamp: &str, energy_wh: Option<f64>, power_w: Option<f64>) -> Reading<'_> {
        Reading { timestamp, received_at: 7.0, energy_wh, power_w, clock_skew: false, sampled_value: b"[]" }
    }

    #[test]
    fn readings_follow_the_layout() {
        let mut out = Vec::new();
        pack_reading(&mut out, &Reading { clock_skew: true, ..reading("T1", Some(5.0), None) });
        assert_eq!(out.len(), READING_HEADER + 2 + 2);
        assert_eq!(&out[..8], &7.0f64.to_le_bytes());
        assert_eq!(&out[8..16], &5.0f64.to_le_bytes());
        assert!(f64::from_le_bytes(out[16..24].try_into().unwrap()).is_nan());
        assert_eq!(out[24], 1);
        assert_eq!(&out[READING_HEADER..], b"T1[]");
    }

    #[test]
    fn readings_are_grouped_by_series() {
        let mut buffer = ReadingBuffer::new();
        let key = SeriesKey { charger_id: "A", connector_id: 1, transaction_id: Some(9) };
        buffer.push(key, &reading("T1", Some(10.0), Some(3.0)));
        buffer.push(SeriesKey { transaction_id: None, ..key }, &reading("T2", Some(1.0), None));
        buffer.push(key, &reading("T3", None, Some(4.0)));
        buffer.push(SeriesKey { charger_id: "B", ..key }, &reading("T4", None, None));
        assert_eq!(buffer.len(), 4);
        let mut blocks = buffer.take().into_blocks();
        assert!(buffer.is_empty());
        blocks.sort_by_key(|b| (b.charger_id.clone(), b.transaction_id));
        assert_eq!(blocks.len(), 3);
        let a9 = &blocks[1];
        assert_eq!((a9.transaction_id, a9.count), (Some(9), 2));
        assert_eq!((a9.first_timestamp.as_str(), a9.last_timestamp.as_str()), ("T1", "T3"));
        assert_eq!(a9.energy_wh.map(f64::to_bits), Some(10.0f64.to_bits()));
        assert_eq!(a9.power_w.map(f64::to_bits), Some(4.0f64.to_bits()));
        assert_eq!(decompress(&a9.data).unwrap().len(), 2 * (READING_HEADER + 2 + 2));
        assert_eq!((blocks[2].charger_id.as_str(), blocks[2].energy_wh), ("B", None));
    }

    /// The group of `key` in `groups`, added (empty) at the end on its first use.
    fn group_of<K: PartialEq, V: Default>(groups: &mut Vec<(K, V)>, key: K) -> &mut V {
        let at = groups.iter().position(|(k, _)| *k == key).unwrap_or_else(|| {
            groups.push((key, V::default()));
            groups.len() - 1
        });
        &mut groups[at].1
    }

    /// What a meter block should hold: its records, first and last timestamps.
    #[derive(Default)]
    struct ExpectedSeries {
        raw: Vec<u8>,
        first: Option<String>,
        last: String,
    }

    proptest::proptest! {
        /// Any interleaving of chargers: one block each, in the order of their first exchange, holding
        /// exactly that charger's records in arrival order.
        #[test]
        fn exchange_groups_are_whole_ordered_and_exact(
            chargers in proptest::collection::vec(0u8..12, 0..200),
            frame_len in 0usize..400,
        ) {
            let mut buffer = ExchangeBuffer::new();
            let mut expected: Vec<(String, (Vec<u8>, u32))> = Vec::new();
            for (n, charger) in (0u32..).zip(&chargers) {
                let charger = format!("CP{charger}");
                let frame = vec![b'x'; (frame_len + n as usize) % 400];
                let one = Exchange { opened: f64::from(n), ..exchange("m", &frame, None) };
                buffer.push(&charger, &one);
                let (raw, count) = group_of(&mut expected, charger);
                pack_exchange(raw, &one);
                *count += 1;
            }
            let blocks = buffer.take().into_blocks();
            proptest::prop_assert_eq!(blocks.len(), expected.len());
            for (block, (charger, (raw, count))) in blocks.iter().zip(&expected) {
                proptest::prop_assert_eq!(&block.charger_id, charger);
                proptest::prop_assert_eq!(block.count, *count);
                proptest::prop_assert_eq!(&decompress(&block.data).unwrap(), raw);
            }
        }

        /// The same for meter series, with each block's first and last timestamp.
        #[test]
        fn reading_series_are_whole_ordered_and_exact(series in proptest::collection::vec((0u8..4, 0i64..3), 0..200)) {
            let mut buffer = ReadingBuffer::new();
            let mut expected: Vec<((String, i64), ExpectedSeries)> = Vec::new();
            for (n, (charger, connector)) in (0u32..).zip(&series) {
                let key = (format!("CP{charger}"), *connector);
                let timestamp = format!("T{n}");
                let one = reading(&timestamp, Some(f64::from(n)), None);
                buffer.push(SeriesKey { charger_id: &key.0, connector_id: key.1, transaction_id: None }, &one);
                let group = group_of(&mut expected, key);
                pack_reading(&mut group.raw, &one);
                group.first.get_or_insert_with(|| timestamp.clone());
                group.last = timestamp;
            }
            let blocks = buffer.take().into_blocks();
            proptest::prop_assert_eq!(blocks.len(), expected.len());
            for (block, ((charger, connector), group)) in blocks.iter().zip(&expected) {
                proptest::prop_assert_eq!((&block.charger_id, block.connector_id), (charger, *connector));
                proptest::prop_assert_eq!(Some(&block.first_timestamp), group.first.as_ref());
                proptest::prop_assert_eq!(&block.last_timestamp, &group.last);
                proptest::prop_assert_eq!(&decompress(&block.data).unwrap(), &group.raw);
            }
        }
    }
}
