//! Meter readings' records: one meterValue each, buffered per series (charger, connector,
//! transaction), grouped into blocks in the writer thread, and decoded again for reading.

use std::borrow::Cow;
use std::ops::Range;

use super::grouping::Grouped;
use super::{BlockError, clip, compress, len_u16, len_u32};

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

/// One reading read back from a block's records by [`unpack_readings`]: what [`pack_reading`]
/// packed, its strings decoded as UTF-8 (an invalid sequence replaced by U+FFFD).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredReading<'a> {
    pub received_at: f64,
    pub energy_wh: Option<f64>,
    pub power_w: Option<f64>,
    pub clock_skew: bool,
    pub timestamp: Cow<'a, str>,
    /// The sampledValue array as sent (JSON).
    pub sampled_value: Cow<'a, str>,
}

/// The readings of a meter block's (decompressed) records, oldest first; like
/// [`super::unpack_exchanges`], a record cut short is an error naming the byte where it starts.
pub fn unpack_readings(raw: &[u8]) -> Result<Vec<StoredReading<'_>>, BlockError> {
    let mut readings = Vec::new();
    let mut at = 0;
    while at < raw.len() {
        let Some(header) = raw.get(at..at + READING_HEADER) else {
            return Err(BlockError::Cut { what: "reading header", at });
        };
        let number = |from: usize| f64::from_le_bytes(header[from..from + 8].try_into().unwrap_or_default());
        let stamp = usize::from(u16::from_le_bytes([header[25], header[26]]));
        let sampled = u32::from_le_bytes([header[27], header[28], header[29], header[30]]) as usize;
        at += READING_HEADER;
        let Some(strings) = raw.get(at..at + stamp + sampled) else {
            return Err(BlockError::Cut { what: "reading", at });
        };
        at += strings.len();
        let (timestamp, sampled_value) = strings.split_at(stamp);
        readings.push(StoredReading {
            received_at: number(0),
            energy_wh: Some(number(8)).filter(|v| !v.is_nan()),
            power_w: Some(number(16)).filter(|v| !v.is_nan()),
            clock_skew: header[24] != 0,
            timestamp: String::from_utf8_lossy(timestamp),
            sampled_value: String::from_utf8_lossy(sampled_value),
        });
    }
    Ok(readings)
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
    use super::super::{decompress, group_of};
    use super::*;

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

    /// What a meter block should hold: its records, first and last timestamps.
    #[derive(Default)]
    struct ExpectedSeries {
        raw: Vec<u8>,
        first: Option<String>,
        last: String,
    }

    #[test]
    fn readings_decode_as_they_were_packed() {
        let mut raw = Vec::new();
        pack_reading(&mut raw, &Reading { clock_skew: true, ..reading("T1", Some(5.0), None) });
        pack_reading(&mut raw, &reading("T2", None, Some(7.5)));
        let got = unpack_readings(&raw).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(
            (got[0].received_at.to_bits(), got[0].energy_wh, got[0].power_w),
            (7.0f64.to_bits(), Some(5.0), None)
        );
        assert_eq!((got[0].clock_skew, &*got[0].timestamp, &*got[0].sampled_value), (true, "T1", "[]"));
        assert_eq!((got[1].energy_wh, got[1].power_w, got[1].clock_skew), (None, Some(7.5), false));
        let whole = raw.len();
        raw.extend_from_slice(&[0; 5]);
        assert_eq!(unpack_readings(&raw), Err(BlockError::Cut { what: "reading header", at: whole }));
        assert_eq!(unpack_readings(&raw[..whole - 1]), Err(BlockError::Cut { what: "reading", at: whole - 4 }));
    }

    proptest::proptest! {
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
