//! One struct per message of configs/plc.dbc, fields named after its signals (lower case) and
//! holding their raw values: the scale is in the name (`voltage_0p1v` is in 0.1 V) and in the DBC.
//! `EnergyMeterData` is multiplexed; its two layouts are two structs, [`MeterInstant`] (mux 0) and
//! [`MeterTotals`] (mux 1). Byte 7 of every message is the CRC, handled by the codec.
//!
//! The table lives in one macro, [`with_plc_frames!`], that hands it to a callback macro: this
//! module builds the structs and their bit layout from it, and the Python bindings their classes,
//! so the field list is written once.

use super::error::PlcError;
use super::ids::{Direction, MessageType};
use super::signal::{SignalValue, extract, insert};

/// Passes the message table to `$callback!`. Each entry is
/// `Name(direction, type nibble, mux) { field: type = start, length; ... }`, bits counted from
/// bit 0 of byte 0, little-endian (DBC `@1`); a signed type means a signed signal.
#[macro_export]
macro_rules! with_plc_frames {
    ($callback:ident) => {
        $callback! {
            /// Host->PLC, every 100 ms: the gun's relay command; the PLC opens everything after
            /// ~300 ms without it. `cmd_seq` changes with each change of command.
            RelayControl(ToPlc, 0x4, None) {
                rly1_cmd: bool = 0, 1;
                sys_enable: bool = 1, 1;
                force_all_off: bool = 2, 1;
                clear_faults: bool = 3, 1;
                auth_grant: bool = 4, 1;
                rly_mode: u8 = 5, 3;
                cmd_seq: u8 = 8, 8;
                rly_enable_mask: u8 = 16, 8;
                pulse_ms: u16 = 24, 16;
            }
            /// Host->PLC: get or set a runtime parameter; answered by `ConfigAck`.
            ConfigCmd(ToPlc, 0x8, None) {
                cfg_param_id: u8 = 0, 8;
                cfg_op: u8 = 8, 4;
                cfg_value: u32 = 16, 32;
            }
            /// Host->PLC: the slot's contactor command (gun, slot, modules, bridges) and power budget.
            GcmcCommand(ToPlc, 0x9, None) {
                gc_cmd: bool = 0, 1;
                mc_cmd: bool = 1, 1;
                mn1_cmd: bool = 2, 1;
                mn2_cmd: bool = 3, 1;
                cw_cmd: bool = 4, 1;
                ccw_cmd: bool = 5, 1;
                gcmc_force_off: bool = 6, 1;
                gcmc_clear_faults: bool = 7, 1;
                gcmc_seq: u8 = 8, 8;
                gcmc_mask: u8 = 16, 6;
                pwr_limit_0p1kw: u16 = 24, 16;
                cur_limit_0p1a: u16 = 40, 16;
            }
            /// PLC->host: contactor commands as applied, feedback and weld detection.
            GcmcStatus(ToHost, 0x5, None) {
                gc_cmd: bool = 0, 1;
                mc_cmd: bool = 1, 1;
                mn1_cmd: bool = 2, 1;
                mn2_cmd: bool = 3, 1;
                cw_cmd: bool = 4, 1;
                ccw_cmd: bool = 5, 1;
                gc_fb: bool = 8, 1;
                mc_fb: bool = 9, 1;
                mn1_fb: bool = 10, 1;
                mn2_fb: bool = 11, 1;
                cw_fb: bool = 12, 1;
                ccw_fb: bool = 13, 1;
                gc_weld: bool = 14, 1;
                mc_weld: bool = 15, 1;
                gcmc_fault_reason: u8 = 16, 8;
                gcmc_comm_ok: bool = 24, 1;
                gcmc_safety_ok: bool = 25, 1;
                gcmc_forced_off: bool = 26, 1;
                last_gcmc_seq_applied: u8 = 32, 8;
                last_gcmc_seq_rx: u8 = 40, 8;
            }
            /// PLC->host: relay and safety state, and the last `cmd_seq` applied.
            RelayStatus(ToHost, 0x6, None) {
                rly1_state: bool = 0, 1;
                rly1_fb: bool = 1, 1;
                sw1: bool = 2, 1;
                sw2: bool = 3, 1;
                sw3: bool = 4, 1;
                sw4: bool = 5, 1;
                safety_ok: bool = 6, 1;
                earth_fault: bool = 7, 1;
                estop_input: bool = 8, 1;
                comm_fault: bool = 9, 1;
                sys_enabled: bool = 10, 1;
                relay_timeout: bool = 11, 1;
                remote_force_off: bool = 12, 1;
                fault_reason: u8 = 16, 8;
                last_cmd_seq_applied: u8 = 24, 8;
                rx_crc_fail_count: u8 = 32, 8;
            }
            /// PLC->host: `EnergyMeterData`, mux 0: voltage, current and power.
            MeterInstant(ToHost, 0x7, Some(0)) {
                meter_ok: bool = 2, 1;
                comm_error: bool = 3, 1;
                data_stale: bool = 4, 1;
                overrange: bool = 5, 1;
                fallback_active: bool = 6, 1;
                current_0p01a: i32 = 7, 17;
                voltage_0p1v: u16 = 24, 16;
                active_power_0p01kw: i16 = 40, 16;
            }
            /// PLC->host: `EnergyMeterData`, mux 1: imported energy and frequency.
            MeterTotals(ToHost, 0x7, Some(1)) {
                meter_ok: bool = 2, 1;
                comm_error: bool = 3, 1;
                data_stale: bool = 4, 1;
                overrange: bool = 5, 1;
                fallback_active: bool = 6, 1;
                import_energy_0p1kwh: u32 = 8, 32;
                freq_0p01hz: u16 = 40, 16;
            }
            /// PLC->host: gun connector pin temperatures.
            GunTemperature(ToHost, 0x8, None) {
                gun_temp_dcp_c: i8 = 0, 8;
                gun_temp_dcn_c: i8 = 8, 8;
                gun_otp: bool = 16, 1;
                gun_temp_sensor_fault: bool = 17, 1;
            }
            /// PLC->host: debounced switch inputs and the safety chain.
            SafetySwitchStatus(ToHost, 0x9, None) {
                sw1_deb: bool = 0, 1;
                sw2_deb: bool = 1, 1;
                sw3_deb: bool = 2, 1;
                sw4_deb: bool = 3, 1;
                estop: bool = 4, 1;
                safety_ok: bool = 5, 1;
                earth_fault: bool = 6, 1;
                sw_mask: u8 = 8, 4;
            }
            /// PLC->host: the answer to a `ConfigCmd`.
            ConfigAck(ToHost, 0xA, None) {
                cfg_param_id: u8 = 0, 8;
                cfg_status: u8 = 8, 4;
                cfg_op: u8 = 12, 4;
                cfg_value: u32 = 16, 32;
                ack_plc_id: u8 = 48, 4;
            }
            /// PLC->host: the EV's DC targets (`CurrentDemandReq`) and state of charge.
            EvdcTargets(ToHost, 0xB, None) {
                ev_target_voltage_0p1v: u16 = 0, 16;
                ev_target_current_0p1a: u16 = 16, 16;
                ev_soc_pct: u8 = 32, 8;
                ev_ready: bool = 40, 1;
                ev_charging_complete: bool = 41, 1;
                ev_bulk_complete: bool = 42, 1;
            }
            /// PLC->host: the EV's maximum voltage, current and power.
            EvdcLimits(ToHost, 0xC, None) {
                ev_max_voltage_0p1v: u16 = 0, 16;
                ev_max_current_0p1a: u16 = 16, 16;
                ev_max_power_0p1kw: u16 = 32, 16;
            }
            /// PLC->host: control pilot state and levels, HLC stage flags, authorisation and lock.
            ChargeInfo(ToHost, 0xD, None) {
                cp_state: u8 = 0, 4;
                auth_granted: bool = 4, 1;
                auth_pending: bool = 5, 1;
                lock_engaged: bool = 6, 1;
                hlc_active: bool = 7, 1;
                hlc_slac_matched: bool = 8, 1;
                hlc_session_setup: bool = 9, 1;
                hlc_authorization: bool = 10, 1;
                hlc_param_discovery: bool = 11, 1;
                hlc_cable_check: bool = 12, 1;
                hlc_precharge: bool = 13, 1;
                hlc_power_delivery: bool = 14, 1;
                hlc_current_demand: bool = 15, 1;
                hlc_session_stop: bool = 16, 1;
                hlc_welding_detection: bool = 17, 1;
                cp_high_0p1v: i8 = 24, 8;
                cp_low_0p1v: i8 = 32, 8;
                cp_duty_pct: u8 = 40, 8;
            }
            /// PLC->host: one 5-byte segment of an EV identity (EVCCID, EMAID0, EMAID1, EVMAC).
            EvIdentity(ToHost, 0xE, None) {
                id_kind: u8 = 0, 4;
                id_seg_index: u8 = 4, 4;
                id_seg_count: u8 = 8, 4;
                id_seg_len: u8 = 12, 4;
                id_byte0: u8 = 16, 8;
                id_byte1: u8 = 24, 8;
                id_byte2: u8 = 32, 8;
                id_byte3: u8 = 40, 8;
                id_byte4: u8 = 48, 8;
            }
            /// PLC->host: health and temperature of the slot's two power modules.
            ModuleStatus(ToHost, 0xF, None) {
                mod1_health: u8 = 0, 3;
                mod1_otp: bool = 3, 1;
                mod2_health: u8 = 4, 3;
                mod2_otp: bool = 7, 1;
                mod1_temp_c: i8 = 8, 8;
                mod2_temp_c: i8 = 16, 8;
            }
        }
    };
}

/// Where `EnergyMeterData` keeps its multiplexer: bits 0-1.
pub const MUX_START: u32 = 0;
pub const MUX_LEN: u32 = 2;

/// One signal of a message: its field name and bit placement (for tests and introspection).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignalSpec {
    pub name: &'static str,
    pub start: u32,
    pub len: u32,
    pub signed: bool,
}

macro_rules! define_frames {
    ($(
        $(#[$meta:meta])*
        $name:ident($direction:ident, $nibble:literal, $mux:expr) {
            $($field:ident: $ty:ty = $start:literal, $len:literal;)*
        }
    )*) => {
        $(
            $(#[$meta])*
            #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
            pub struct $name {
                $(pub $field: $ty,)*
            }

            impl $name {
                pub const NAME: &'static str = stringify!($name);
                pub const MESSAGE_TYPE: MessageType = MessageType::new(Direction::$direction, $nibble);
                /// The multiplexer value of this layout, for a multiplexed message.
                pub const MUX: Option<u8> = $mux;
                pub const SIGNALS: &'static [SignalSpec] = &[$(SignalSpec {
                    name: stringify!($field),
                    start: $start,
                    len: $len,
                    signed: <$ty as SignalValue>::SIGNED,
                },)*];

                fn pack(&self) -> Result<u64, PlcError> {
                    let mut word = 0u64;
                    if let Some(mux) = Self::MUX {
                        word |= u64::from(mux) << MUX_START;
                    }
                    $(
                        insert(&mut word, $start, $len, <$ty as SignalValue>::SIGNED, self.$field.to_raw())
                            .map_err(|(min, max)| PlcError::OutOfRange {
                                message: Self::NAME,
                                signal: stringify!($field),
                                value: self.$field.to_raw(),
                                min,
                                max,
                            })?;
                    )*
                    Ok(word)
                }

                #[inline]
                fn unpack(word: u64) -> Self {
                    Self {
                        $($field: <$ty as SignalValue>::from_raw(extract(word, $start, $len, <$ty as SignalValue>::SIGNED)),)*
                    }
                }
            }

            impl From<$name> for PlcFrame {
                fn from(frame: $name) -> Self {
                    Self::$name(frame)
                }
            }
        )*

        /// Any message of the contract.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum PlcFrame {
            $($name($name),)*
        }

        impl PlcFrame {
            /// Every message layout: name, type, mux, signals.
            pub const LAYOUTS: &'static [(&'static str, MessageType, Option<u8>, &'static [SignalSpec])] =
                &[$(($name::NAME, $name::MESSAGE_TYPE, $name::MUX, $name::SIGNALS),)*];

            #[must_use]
            pub fn name(&self) -> &'static str {
                match self {
                    $(Self::$name(_) => $name::NAME,)*
                }
            }

            #[must_use]
            pub fn message_type(&self) -> MessageType {
                match self {
                    $(Self::$name(_) => $name::MESSAGE_TYPE,)*
                }
            }

            /// Bytes 0-6 as a little-endian word (byte 7, the CRC, left zero).
            pub(super) fn pack(&self) -> Result<u64, PlcError> {
                match self {
                    $(Self::$name(frame) => frame.pack(),)*
                }
            }

            /// The frame of `message_type` in `word`; `Err(mux)` for a multiplexed message whose
            /// mux value has no layout, `Ok(None)` for a type the contract does not define.
            #[inline]
            pub(super) fn unpack(message_type: MessageType, word: u64) -> Result<Option<Self>, u8> {
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // two unsigned bits
                let mux = extract(word, MUX_START, MUX_LEN, false) as u8;
                let mut muxed = false;
                $(
                    if message_type == $name::MESSAGE_TYPE {
                        match $name::MUX {
                            None => return Ok(Some(Self::$name($name::unpack(word)))),
                            Some(value) if value == mux => return Ok(Some(Self::$name($name::unpack(word)))),
                            Some(_) => muxed = true,
                        }
                    }
                )*
                if muxed { Err(mux) } else { Ok(None) }
            }
        }
    };
}

with_plc_frames!(define_frames);
