//! `event_camera_msgs/msg/EventPacket` as a plain Rust type, with helpers to build packets
//! from events and to decode them.
use super::evt3::{AuxEvent, Evt3Decoder, Evt3Encoder};
use super::{Event, TrackError, mono};

/// `builtin_interfaces/Time`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Time {
    /// Seconds.
    pub sec: i32,
    /// Nanoseconds within the second.
    pub nanosec: u32,
}

impl Time {
    /// Converts a time in ns since the epoch of the stream (saturating at `i32::MAX` s).
    pub fn from_ns(t_ns: u64) -> Self {
        Self { sec: i32::try_from(t_ns / 1_000_000_000).unwrap_or(i32::MAX), nanosec: (t_ns % 1_000_000_000) as u32 }
    }
    /// The time in ns (negative seconds clamp to 0).
    pub fn to_ns(&self) -> u64 {
        u64::try_from(self.sec).unwrap_or(0) * 1_000_000_000 + u64::from(self.nanosec)
    }
}

/// `std_msgs/Header`.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Header {
    /// Time stamp.
    pub stamp: Time,
    /// Coordinate frame id.
    pub frame_id: String,
}

/// `event_camera_msgs/msg/EventPacket`: exactly the message's fields.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct EventPacket {
    /// Header (stamp = time of the first event in the packet for the drivers).
    pub header: Header,
    /// Sensor height, in pixels.
    pub height: u32,
    /// Sensor width, in pixels.
    pub width: u32,
    /// Packet sequence number.
    pub seq: u64,
    /// Time base in ns (`mono`: event offsets are relative to it; `evt3`: unused).
    pub time_base: u64,
    /// Encoding name: `evt3` or `mono` here (`libcaer`, `libcaer_cmp` are not decoded).
    pub encoding: String,
    /// Byte order of multi-byte words (only meaningful for `mono`).
    pub is_bigendian: bool,
    /// Encoded events.
    pub events: Vec<u8>,
}

impl EventPacket {
    /// Builds an `evt3` packet; `enc` carries time and row state between packets of a stream
    /// exactly as a driver forwarding raw sensor words does.
    pub fn evt3(
        events: &[Event],
        width: u32,
        height: u32,
        seq: u64,
        frame_id: &str,
        enc: &mut Evt3Encoder,
    ) -> Result<Self, TrackError> {
        let mut bytes = Vec::new();
        enc.encode(events, &mut bytes)?;
        Ok(Self {
            header: Header { stamp: Time::from_ns(events.first().map_or(0, |e| e.t_ns)), frame_id: frame_id.into() },
            height,
            width,
            seq,
            time_base: 0,
            encoding: "evt3".into(),
            is_bigendian: false,
            events: bytes,
        })
    }

    /// Builds a `mono` packet with `time_base` = time of the first event.
    pub fn mono(events: &[Event], width: u32, height: u32, seq: u64, frame_id: &str) -> Result<Self, TrackError> {
        let time_base = events.first().map_or(0, |e| e.t_ns);
        let mut bytes = Vec::new();
        mono::encode(events, time_base, false, &mut bytes)?;
        Ok(Self {
            header: Header { stamp: Time::from_ns(time_base), frame_id: frame_id.into() },
            height,
            width,
            seq,
            time_base,
            encoding: "mono".into(),
            is_bigendian: false,
            events: bytes,
        })
    }

    /// Decodes the packet's events. `evt3` packets need the stream's decoder (state is
    /// carried from packet to packet); `mono` packets are self-contained.
    pub fn decode(
        &self,
        dec: &mut Evt3Decoder,
        out: &mut Vec<Event>,
        aux: &mut Vec<AuxEvent>,
    ) -> Result<(), TrackError> {
        match self.encoding.as_str() {
            "evt3" => dec.decode_bytes(&self.events, out, aux),
            "mono" => mono::decode(&self.events, self.time_base, self.is_bigendian, out),
            other => Err(TrackError::UnsupportedEncoding(other.into())),
        }
    }
}
