//! The 29-bit extended ID layout: `base | type << 4 | plcId`, base 0x300 for host->PLC frames and
//! 0x100 for PLC->host frames, the type nibble naming the message and the low nibble the PLC (0-15).
//! Every other bit is zero: an ID with any of them set is not of this contract.

/// Highest plcId: the ID's low nibble.
pub const PLC_ID_MAX: u8 = 15;

/// Who sends a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Host -> PLC (commands): base 0x300.
    ToPlc,
    /// PLC -> host (status, measurements): base 0x100.
    ToHost,
}

impl Direction {
    /// The ID bits above the type nibble.
    #[must_use]
    pub const fn base(self) -> u32 {
        match self {
            Self::ToPlc => 0x300,
            Self::ToHost => 0x100,
        }
    }
}

/// A message of the contract as its ID names it, without the plcId.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MessageType {
    pub direction: Direction,
    /// Bits 4-7 of the ID.
    pub nibble: u8,
}

impl MessageType {
    #[must_use]
    pub const fn new(direction: Direction, nibble: u8) -> Self {
        Self { direction, nibble }
    }

    /// The ID of this message for PLC 0.
    #[must_use]
    pub const fn base_id(self) -> u32 {
        self.direction.base() | (self.nibble as u32) << 4
    }
}

/// The arbitration ID of `message` for `plc_id`, which must be at most [`PLC_ID_MAX`] (checked by
/// the encoder before it calls this).
#[must_use]
pub const fn arbitration_id(message: MessageType, plc_id: u8) -> u32 {
    message.base_id() | (plc_id & PLC_ID_MAX) as u32
}

/// The message type and plcId of an arbitration ID, or `None` when the ID is outside the layout.
#[must_use]
pub const fn parse_id(id: u32) -> Option<(MessageType, u8)> {
    let direction = match id >> 8 {
        0x1 => Direction::ToHost,
        0x3 => Direction::ToPlc,
        _ => return None,
    };
    #[allow(clippy::cast_possible_truncation)] // masked to a nibble first
    let (nibble, plc_id) = (((id >> 4) & 0xF) as u8, (id & 0xF) as u8);
    Some((MessageType::new(direction, nibble), plc_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relay_control_of_plc_5() {
        let ty = MessageType::new(Direction::ToPlc, 0x4);
        assert_eq!(arbitration_id(ty, 5), 0x345);
        assert_eq!(parse_id(0x345), Some((ty, 5)));
    }

    #[test]
    fn energy_meter_of_plc_15() {
        let ty = MessageType::new(Direction::ToHost, 0x7);
        assert_eq!(arbitration_id(ty, 15), 0x17F);
        assert_eq!(parse_id(0x17F), Some((ty, 15)));
    }

    #[test]
    fn ids_outside_the_layout() {
        for id in [0x000, 0x0FF, 0x245, 0x445, 0x1345, 0x1FFF_FFFF, 0x8000_0345] {
            assert_eq!(parse_id(id), None, "{id:#x}");
        }
    }
}
