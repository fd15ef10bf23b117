//! Fuzz the `mono` decoder and the EventPacket decode path with arbitrary bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use spikectl::tracking::evt3::Evt3Decoder;
use spikectl::tracking::mono;
use spikectl::tracking::packet::EventPacket;

fuzz_target!(|data: &[u8]| {
    if data.len() < 9 {
        return;
    }
    let base = u64::from_le_bytes(data[..8].try_into().unwrap());
    let be = data[8] & 1 == 1;
    let body = &data[9..];
    let mut out = Vec::new();
    if mono::decode(body, base, be, &mut out).is_ok() {
        assert_eq!(out.len(), body.len() / 8);
    }
    let p = EventPacket {
        encoding: if data[8] & 2 == 0 { "mono".into() } else { "evt3".into() },
        time_base: base,
        is_bigendian: be,
        events: body.to_vec(),
        ..EventPacket::default()
    };
    let _ = p.decode(&mut Evt3Decoder::new(1280, 720), &mut out, &mut Vec::new());
});
