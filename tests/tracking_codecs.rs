//! Event codecs: hand-written EVT 3.0 / mono byte sequences from the format descriptions,
//! time wrap, chunking, RAW files, round trips and robustness to random bytes.
use proptest::prelude::*;
use spikectl::tracking::evt3::{AuxEvent, Evt3Decoder, Evt3Encoder, decode_all, encode_all};
use spikectl::tracking::packet::EventPacket;
use spikectl::tracking::raw::{RawHeader, read_raw, write_raw};
use spikectl::tracking::{Event, TrackError, mono};

fn bytes(words: &[u16]) -> Vec<u8> {
    words.iter().flat_map(|w| w.to_le_bytes()).collect()
}

#[test]
fn evt3_hand_written_sequence() {
    let words = [
        0x8001, // TIME_HIGH = 1
        0x6002, // TIME_LOW = 2  -> t = 4098 us
        0x0805, // ADDR_Y y = 5 (bit 11 = system type, not polarity)
        0x2803, // ADDR_X x = 3, ON
        0x3010, // VECT_BASE_X x = 16, OFF
        0x4005, // VECT_12 bits 0, 2 -> x = 16, 18; base -> 28
        0x5081, // VECT_8 bits 0, 7 -> x = 28, 35; base -> 36
        0xA301, // EXT_TRIGGER id 3, rising
        0xE123, // OTHERS subtype 0x123
        0xFABC, // CONTINUED_12
        0x7005, // CONTINUED_4
        0x6003, // TIME_LOW = 3
        0x0007, // ADDR_Y y = 7
        0x2002, // ADDR_X x = 2, OFF
    ];
    let (ev, aux) = decode_all(&bytes(&words), 640, 480).unwrap();
    let t = 4_098_000;
    assert_eq!(
        ev,
        vec![
            Event::new(t, 3, 5, true),
            Event::new(t, 16, 5, false),
            Event::new(t, 18, 5, false),
            Event::new(t, 28, 5, false),
            Event::new(t, 35, 5, false),
            Event::new(t + 1000, 2, 7, false),
        ]
    );
    assert_eq!(
        aux,
        vec![
            AuxEvent::Trigger { t_ns: t, id: 3, value: true },
            AuxEvent::Other { t_ns: t, subtype: 0x123, data: 0x5ABC, bits: 16 },
        ]
    );
}

fn decode(words: &[u16]) -> (Vec<u64>, spikectl::tracking::evt3::DecodeStats) {
    let mut d = Evt3Decoder::new(640, 480);
    let (mut ev, mut aux) = (vec![], vec![]);
    d.decode_words(words, &mut ev, &mut aux).unwrap();
    (ev.iter().map(|e| e.t_ns / 1000).collect(), *d.stats())
}

#[test]
fn evt3_wrap_is_a_step_from_0xfff_to_0x000() {
    let (ts, s) = decode(&[0x8FFF, 0x6FFF, 0x0001, 0x2001, 0x8000, 0x6001, 0x2002, 0x8001, 0x6000, 0x2003]);
    assert_eq!(ts, vec![0xFF_FFFF, 0x100_0001, 0x100_1000]);
    assert_eq!((s.time_wraps, s.time_high_backsteps, s.time_jumps, s.time_glitches), (1, 0, 0, 0));
}

#[test]
fn evt3_small_time_high_drop_is_taken_as_it_comes() {
    // 0x100 -> 0x0FB is 5 steps back: time goes back, no wrap (vendor behaviour).
    let (ts, s) = decode(&[0x8100, 0x6005, 0x0001, 0x2001, 0x80FB, 0x6003, 0x2002, 0x8101, 0x6000, 0x2003]);
    assert_eq!(ts, vec![0x10_0005, 0x0F_B003, 0x10_1000]);
    assert_eq!((s.time_wraps, s.time_high_backsteps), (0, 1));
    // Backward steps are measured from the newest TIME_HIGH: they cannot add up.
    let (ts, s) = decode(&[0x8100, 0x6000, 0x80F8, 0x6000, 0x2001, 0x80F0, 0x6000, 0x2002, 0x80F0, 0x6000, 0x2003]);
    assert_eq!(ts[0], 0x0F_8000);
    // 0x0F0 is 16 steps below the newest (0x100): a jump read forward (a wrap), confirmed
    // by the repeat; the event between waits with the old TIME_HIGH.
    assert_eq!(ts[1], 0x0F_8000);
    assert_eq!(ts[2], 0x100_0000 + 0x0F_0000);
    assert_eq!((s.time_jumps, s.held_events, s.time_wraps), (1, 1, 1));
}

#[test]
fn evt3_a_flipped_time_high_bit_is_ignored() {
    for bit in 0..12 {
        let bad = 0x8000 | (0x100 ^ (1 << bit));
        let (ts, s) = decode(&[0x8100, 0x6005, 0x0001, 0x2001, bad, 0x6006, 0x2002, 0x8100, 0x6007, 0x2003]);
        if (1u16 << bit) <= 8 {
            // Within the tolerance: taken as a small step, undone by the next word.
            assert_eq!(s.time_glitches, 0, "bit {bit}");
            assert_eq!(ts[2], 0x10_0007, "bit {bit}");
        } else {
            assert_eq!(ts, vec![0x10_0005, 0x10_0006, 0x10_0007], "bit {bit}");
            assert_eq!((s.time_glitches, s.time_jumps, s.time_wraps), (1, 0, 0), "bit {bit}");
        }
    }
}

#[test]
fn evt3_events_before_the_first_time_high_are_dropped_and_counted() {
    // ADDR_Y state before the first TIME_HIGH is kept; the event and the trigger are not.
    let (ts, s) = decode(&[0x0005, 0x2001, 0x6003, 0xA001, 0x3010, 0x4003, 0x8002, 0x6004, 0x2002]);
    assert_eq!(ts, vec![0x2004]);
    assert_eq!((s.before_time, s.events, s.triggers), (4, 1, 0));
}

#[test]
fn evt3_time_low_going_back_is_used_as_it_comes() {
    let (ts, s) = decode(&[0x8001, 0x6010, 0x2001, 0x6008, 0x2002, 0x8001, 0x6009, 0x2003, 0x8002, 0x6001, 0x2004]);
    assert_eq!(ts, vec![0x1010, 0x1008, 0x1009, 0x2001]);
    // One TIME_LOW went back; the repeated TIME_HIGH and the new period are no regressions.
    assert_eq!((s.time_low_backsteps, s.time_high_backsteps), (1, 0));
}

#[test]
fn evt3_encoder_long_gaps_and_wraps() {
    // Gaps longer than one 16.77 s wrap period must survive the round trip.
    let ev = vec![
        Event::new(5_000, 1, 1, true),
        Event::new(40_000_000_000, 2, 1, false),
        Event::new(40_000_001_000, 3, 2, true),
        Event::new(100_123_456_000, 4, 3, true),
    ];
    let (back, _) = decode_all(&encode_all(&ev).unwrap(), 640, 480).unwrap();
    assert_eq!(back, ev);
}

#[test]
fn evt3_strict_rejects_reserved_and_out_of_bounds() {
    let mut d = Evt3Decoder::strict(640, 480);
    let (mut ev, mut aux) = (vec![], vec![]);
    let e = d.decode_words(&[0x8000, 0x0001, 0x2001, 0x9000, 0x2002], &mut ev, &mut aux).unwrap_err();
    assert!(matches!(e, TrackError::Evt3ReservedType { kind: 9, offset: 3, .. }), "{e}");
    assert_eq!(ev.len(), 1);
    let mut d = Evt3Decoder::strict(640, 480);
    let e = d.decode_words(&[0x8000, 0x0001, 0x2000 | 700], &mut ev, &mut aux).unwrap_err();
    assert!(matches!(e, TrackError::Evt3OutOfBounds { x: 700, .. }));
    // Lenient: skipped and counted.
    let mut d = Evt3Decoder::new(640, 480);
    d.decode_words(&[0x8000, 0x0001, 0x2000 | 700, 0xB000, 0x2001], &mut ev, &mut aux).unwrap();
    assert_eq!((d.stats().out_of_bounds, d.stats().reserved_words, d.stats().events), (1, 1, 1));
}

#[test]
fn evt3_odd_trailing_byte_is_an_error_at_finish() {
    let mut d = Evt3Decoder::new(64, 64);
    let (mut ev, mut aux) = (vec![], vec![]);
    d.decode_bytes(&[0x01, 0x20, 0x05], &mut ev, &mut aux).unwrap();
    assert!(matches!(d.finish(&mut aux), Err(TrackError::Truncated { .. })));
}

#[test]
fn mono_hand_written_word() {
    let e = Event::new(1_000_007, 5, 3, true);
    let mut b = vec![];
    mono::encode(&[e], 1_000_000, false, &mut b).unwrap();
    assert_eq!(u64::from_le_bytes(b[..].try_into().unwrap()), 0x8003_0005_0000_0007);
    let mut bb = vec![];
    mono::encode(&[e], 1_000_000, true, &mut bb).unwrap();
    assert_eq!(bb, 0x8003_0005_0000_0007u64.to_be_bytes());
    let mut out = vec![];
    mono::decode(&bb, 1_000_000, true, &mut out).unwrap();
    assert_eq!(out, vec![e]);
    assert!(mono::decode(&bb[..7], 0, true, &mut out).is_err());
    assert!(mono::encode(&[Event::new(1 << 33, 0, 0, true)], 0, false, &mut b).is_err());
}

#[test]
fn raw_file_header_and_body() {
    let text = b"% camera_integrator_name Prophesee\n% date 2024-01-01 10:00:00\n% evt 3.0\n\
% format EVT3;height=480;width=640\n% end\n";
    let mut data = text.to_vec();
    data.extend(bytes(&[0x8000, 0x6010, 0x0002, 0x2805]));
    let rec = read_raw(&data[..]).unwrap();
    assert_eq!(rec.geometry, (640, 480));
    assert_eq!(rec.header.get("date"), Some("2024-01-01 10:00:00"));
    assert_eq!(rec.events, vec![Event::new(16_000, 5, 2, true)]);

    let ev: Vec<Event> =
        (0..1000u64).map(|i| Event::new(i * 1000 + 7000, (i % 640) as u16, (i % 480) as u16, i % 3 == 0)).collect();
    let mut file = vec![];
    write_raw(&mut file, &RawHeader::evt3(640, 480), &ev).unwrap();
    let rec = read_raw(&file[..]).unwrap();
    assert_eq!(rec.geometry, (640, 480));
    assert_eq!(rec.events, ev);
    // Not EVT 3.0.
    assert!(read_raw(&b"% evt 2.0\n% end\n"[..]).is_err());
}

#[test]
fn packets_round_trip_both_encodings() {
    let ev: Vec<Event> = (0..50u64).map(|i| Event::new(2_000_000 + i * 3000, i as u16 * 3, 7, i % 2 == 0)).collect();
    let mut enc = Evt3Encoder::new();
    let mut dec = Evt3Decoder::new(640, 480);
    let (mut out, mut aux) = (vec![], vec![]);
    for (seq, chunk) in ev.chunks(7).enumerate() {
        let p = EventPacket::evt3(chunk, 640, 480, seq as u64, "camera", &mut enc).unwrap();
        p.decode(&mut dec, &mut out, &mut aux).unwrap();
    }
    assert_eq!(out, ev);
    let p = EventPacket::mono(&ev, 640, 480, 0, "camera").unwrap();
    assert_eq!(p.time_base, 2_000_000);
    let mut out2 = vec![];
    p.decode(&mut dec, &mut out2, &mut aux).unwrap();
    assert_eq!(out2, ev);
    let bad = EventPacket { encoding: "libcaer".into(), ..p };
    assert!(matches!(bad.decode(&mut dec, &mut out2, &mut aux), Err(TrackError::UnsupportedEncoding(_))));
}

fn arb_events() -> impl Strategy<Value = Vec<Event>> {
    prop::collection::vec((0u64..3000, 0u16..1280, 0u16..720, any::<bool>()), 0..300).prop_map(|v| {
        let mut t = 0u64;
        v.into_iter()
            .map(|(dt, x, y, p)| {
                // mostly small steps, sometimes a jump over a 24-bit wrap
                t += if dt == 2999 { 20_000_000 } else { dt / 100 };
                Event::new(t * 1000, x, y, p)
            })
            .collect()
    })
}

fn arb_rows() -> impl Strategy<Value = Vec<Event>> {
    // Dense rows that exercise the vector words.
    prop::collection::vec((0u16..1268, 0u16..720, any::<u16>(), any::<bool>()), 0..50).prop_map(|v| {
        let mut out = vec![];
        for (i, (x0, y, mask, p)) in v.into_iter().enumerate() {
            for b in 0..12 {
                if mask & (1 << b) != 0 {
                    out.push(Event::new(i as u64 * 1000, x0 + b, y, p));
                }
            }
        }
        out
    })
}

proptest! {
    // PROPTEST_CASES=100000 runs the decoders on many more random inputs (default 64).
    #![proptest_config(ProptestConfig { cases: std::env::var("PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(64), ..ProptestConfig::default() })]

    #[test]
    fn evt3_round_trip(ev in arb_events()) {
        let b = encode_all(&ev).unwrap();
        let (back, aux) = decode_all(&b, 1280, 720).unwrap();
        prop_assert_eq!(back, ev);
        prop_assert!(aux.is_empty());
    }

    #[test]
    fn evt3_round_trip_vectors(ev in arb_rows()) {
        let b = encode_all(&ev).unwrap();
        let (back, _) = decode_all(&b, 1280, 720).unwrap();
        prop_assert_eq!(back, ev);
    }

    #[test]
    fn evt3_chunking_does_not_matter(data in prop::collection::vec(any::<u8>(), 0..600), cuts in prop::collection::vec(0usize..600, 0..8)) {
        let whole = decode_all(&data, 1280, 720);
        let mut d = Evt3Decoder::new(1280, 720);
        let (mut ev, mut aux) = (vec![], vec![]);
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(data.len())).collect();
        cuts.sort_unstable();
        let mut start = 0;
        for c in cuts.into_iter().chain(std::iter::once(data.len())) {
            d.decode_bytes(&data[start..c], &mut ev, &mut aux).unwrap();
            start = c;
        }
        let fin = d.finish(&mut aux);
        match whole {
            Ok((w_ev, w_aux)) => { prop_assert!(fin.is_ok()); prop_assert_eq!(ev, w_ev); prop_assert_eq!(aux, w_aux); }
            Err(_) => prop_assert!(fin.is_err()),
        }
    }

    #[test]
    fn random_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..2000)) {
        let (ev, _) = decode_all(&data[..data.len() & !1], 640, 480).unwrap();
        let mut newest = 0;
        for e in &ev {
            prop_assert!(e.x < 640 && e.y < 480);
            // Decoded time steps back by at most 10 TIME_HIGH periods + one TIME_LOW period.
            prop_assert!(e.t_ns + 11 * 4_096_000 > newest, "time went back by {} ns", newest - e.t_ns);
            newest = newest.max(e.t_ns);
        }
        let mut d = Evt3Decoder::strict(640, 480);
        let _ = d.decode_bytes(&data, &mut vec![], &mut vec![]);
        let _ = mono::decode(&data, u64::MAX - 5, data.len() % 2 == 0, &mut vec![]);
        let _ = read_raw(&data[..]);
        let mut with_header = b"% evt 3.0\n% format EVT3;height=480;width=640\n".to_vec();
        with_header.extend_from_slice(&data);
        let _ = read_raw(&with_header[..]);
    }

    #[test]
    fn mono_round_trip(ev in arb_events(), be in any::<bool>()) {
        let base = ev.first().map_or(0, |e| e.t_ns);
        let mut b = vec![];
        match mono::encode(&ev, base, be, &mut b) {
            Ok(()) => {
                let mut out = vec![];
                mono::decode(&b, base, be, &mut out).unwrap();
                prop_assert_eq!(out, ev);
            }
            Err(_) => prop_assert!(ev.last().unwrap().t_ns - base > u64::from(u32::MAX)),
        }
    }
}
