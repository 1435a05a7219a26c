//! The message log's records: one exchange each (the frame that opened it and its answer), buffered
//! per charger, grouped into blocks in the writer thread, and decoded again for reading.

use std::borrow::Cow;
use std::ops::Range;

use super::grouping::Grouped;
use super::{BlockError, clip, compress, len_u16, len_u32};

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
#[derive(Debug, Clone, Copy, PartialEq)]
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

/// One exchange read back from a block's records by [`unpack_exchanges`]: what [`pack_exchange`]
/// packed, its strings decoded as UTF-8 (an invalid sequence replaced by U+FFFD), its frames borrowed.
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedExchange<'a> {
    pub outgoing: bool,
    pub opened: f64,
    /// None where the frame's type could not be read.
    pub message_type: Option<i8>,
    /// Empty when there was none (as for the action).
    pub message_id: Cow<'a, str>,
    pub action: Cow<'a, str>,
    pub frame: &'a [u8],
    pub reply: Option<Reply<'a>>,
}

/// The exchanges of a block's (decompressed) records, oldest first. The records come from the
/// store, so they are untrusted: one cut short is an error naming the byte where it starts.
pub fn unpack_exchanges(raw: &[u8]) -> Result<Vec<LoggedExchange<'_>>, BlockError> {
    let mut exchanges = Vec::new();
    let mut at = 0;
    while at < raw.len() {
        let Some(header) = raw.get(at..at + RECORD_HEADER) else {
            return Err(BlockError::Cut { what: "record header", at });
        };
        let number = |from: usize| f64::from_le_bytes(header[from..from + 8].try_into().unwrap_or_default());
        let length = |range: Range<usize>| header[range].iter().rev().fold(0usize, |n, &b| n << 8 | usize::from(b));
        let [message_type, reply_type] = [header[17], header[18]].map(|b| i8::from_le_bytes([b]));
        let lengths = [length(19..21), length(21..23), length(23..27), length(27..31)];
        at += RECORD_HEADER;
        let Some(strings) = raw.get(at..at + lengths.iter().sum::<usize>()) else {
            return Err(BlockError::Cut { what: "record", at });
        };
        at += strings.len();
        let (message_id, rest) = strings.split_at(lengths[0]);
        let (action, rest) = rest.split_at(lengths[1]);
        let (frame, reply) = rest.split_at(lengths[2]);
        exchanges.push(LoggedExchange {
            outgoing: header[16] != 0,
            opened: number(0),
            message_type: (message_type != -1).then_some(message_type),
            message_id: String::from_utf8_lossy(message_id),
            action: String::from_utf8_lossy(action),
            frame,
            reply: (reply_type != -1).then(|| Reply { message_type: reply_type, frame: reply, at: number(8) }),
        });
    }
    Ok(exchanges)
}

/// Bytes of a packed record before its four byte strings.
pub const RECORD_HEADER: usize = 8 + 8 + 1 + 1 + 1 + 2 + 2 + 4 + 4;

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

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::super::{decompress, group_of};
    use super::*;

    fn exchange<'a>(message_id: &'a str, frame: &'a [u8], reply: Option<Reply<'a>>) -> Exchange<'a> {
        Exchange { outgoing: false, opened: 1.5, message_type: Some(2), message_id, action: "Heartbeat", frame, reply }
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

    #[test]
    fn records_decode_as_they_were_packed() {
        let mut raw = Vec::new();
        let reply = Reply { message_type: 4, frame: b"[4,\"m1\"]", at: 2.5 };
        pack_exchange(&mut raw, &Exchange { outgoing: true, ..exchange("m1", b"[2]", Some(reply)) });
        pack_exchange(
            &mut raw,
            &Exchange { message_type: None, message_id: "", action: "", ..exchange("", b"?", None) },
        );
        let got = unpack_exchanges(&raw).unwrap();
        assert_eq!(got.len(), 2);
        assert!(got[0].outgoing);
        assert_eq!((got[0].opened.to_bits(), got[0].message_type), (1.5f64.to_bits(), Some(2)));
        assert_eq!((&*got[0].message_id, &*got[0].action, got[0].frame), ("m1", "Heartbeat", &b"[2]"[..]));
        let back = got[0].reply.unwrap();
        assert_eq!((back.message_type, back.frame, back.at.to_bits()), (4, &b"[4,\"m1\"]"[..], 2.5f64.to_bits()));
        assert_eq!((got[1].outgoing, got[1].message_type, got[1].reply), (false, None, None));
        assert_eq!((&*got[1].message_id, &*got[1].action, got[1].frame), ("", "", &b"?"[..]));
    }

    #[test]
    fn cut_records_are_errors() {
        let mut raw = Vec::new();
        pack_exchange(&mut raw, &exchange("m1", b"[2]", None));
        let whole = raw.len();
        pack_exchange(&mut raw, &exchange("m2", b"[2]", None));
        assert_eq!(unpack_exchanges(&raw[..whole + 3]), Err(BlockError::Cut { what: "record header", at: whole }));
        let cut = unpack_exchanges(&raw[..raw.len() - 1]);
        assert_eq!(cut, Err(BlockError::Cut { what: "record", at: whole + RECORD_HEADER }));
        assert_eq!(unpack_exchanges(b""), Ok(Vec::new()));
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


        /// Whatever was packed decodes to the same exchange.
        #[test]
        fn exchanges_round_trip(
            outgoing: bool, opened: f64, message_type: Option<i8>, message_id in ".{0,12}", action in "[A-Za-z]{0,20}",
            frame in proptest::collection::vec(proptest::num::u8::ANY, 0..64),
            reply in proptest::option::of((0i8..5, proptest::collection::vec(proptest::num::u8::ANY, 0..64), 0f64..1e10)),
        ) {
            let message_type = message_type.filter(|t| *t != -1);
            let reply = reply.as_ref().map(|(t, f, at)| Reply { message_type: *t, frame: f, at: *at });
            let one = Exchange { outgoing, opened, message_type, message_id: &message_id, action: &action, frame: &frame, reply };
            let mut raw = Vec::new();
            pack_exchange(&mut raw, &one);
            let got = unpack_exchanges(&raw).unwrap();
            proptest::prop_assert_eq!(got.len(), 1);
            proptest::prop_assert_eq!(got[0].outgoing, outgoing);
            proptest::prop_assert_eq!(got[0].opened.to_bits(), opened.to_bits());
            proptest::prop_assert_eq!(got[0].message_type, message_type);
            proptest::prop_assert_eq!((&*got[0].message_id, &*got[0].action, got[0].frame), (message_id.as_str(), action.as_str(), frame.as_slice()));
            proptest::prop_assert_eq!(got[0].reply.map(|r| (r.message_type, r.frame.to_vec(), r.at.to_bits())), reply.map(|r| (r.message_type, r.frame.to_vec(), r.at.to_bits())));
        }
    }
}
