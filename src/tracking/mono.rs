//! The `mono` encoding of `event_camera_msgs/EventPacket` (deprecated upstream but still
//! produced by older drivers): one 64-bit word per event, bit 63 = polarity,
//! bits 48–62 = y (15 bits), bits 32–47 = x (16 bits), bits 0–31 = time offset in ns from
//! the packet's `time_base`. Byte order follows the packet's `is_bigendian` flag.
use super::{Event, TrackError};

/// Packs one event relative to `time_base_ns`.
pub(crate) fn pack(e: &Event, time_base_ns: u64) -> Result<u64, TrackError> {
    let dt = e
        .t_ns
        .checked_sub(time_base_ns)
        .ok_or_else(|| TrackError::NotEncodable(format!("event at {} ns before time_base {time_base_ns}", e.t_ns)))?;
    let dt = u32::try_from(dt).map_err(|_| TrackError::NotEncodable(format!("offset {dt} ns exceeds 32 bits")))?;
    if e.y > 0x7FFF {
        return Err(TrackError::NotEncodable(format!("y = {} exceeds 15 bits", e.y)));
    }
    Ok((u64::from(e.p) << 63) | (u64::from(e.y) << 48) | (u64::from(e.x) << 32) | u64::from(dt))
}

/// Unpacks one word relative to `time_base_ns` (saturating at `u64::MAX` ns).
pub(crate) fn unpack(w: u64, time_base_ns: u64) -> Event {
    Event {
        t_ns: time_base_ns.saturating_add(w & 0xFFFF_FFFF),
        x: ((w >> 32) & 0xFFFF) as u16,
        y: ((w >> 48) & 0x7FFF) as u16,
        p: w >> 63 != 0,
    }
}

/// Encodes events as `mono` bytes.
pub fn encode(events: &[Event], time_base_ns: u64, big_endian: bool, out: &mut Vec<u8>) -> Result<(), TrackError> {
    out.reserve(events.len() * 8);
    for e in events {
        let w = pack(e, time_base_ns)?;
        out.extend_from_slice(&if big_endian { w.to_be_bytes() } else { w.to_le_bytes() });
    }
    Ok(())
}

/// Decodes `mono` bytes; the length must be a multiple of 8.
pub fn decode(bytes: &[u8], time_base_ns: u64, big_endian: bool, out: &mut Vec<Event>) -> Result<(), TrackError> {
    if !bytes.len().is_multiple_of(8) {
        return Err(TrackError::Truncated { len: bytes.len(), unit: 8 });
    }
    out.reserve(bytes.len() / 8);
    for c in bytes.chunks_exact(8) {
        let a: [u8; 8] = [c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]];
        let w = if big_endian { u64::from_be_bytes(a) } else { u64::from_le_bytes(a) };
        out.push(unpack(w, time_base_ns));
    }
    Ok(())
}
