//! The real Gen4 EVT 3.0 recording in `../shared/data/events/evt3_trigger/` (105 driver
//! packets, 1280×720) against the vendor decoders' reference sums — whole file, driver
//! packet by driver packet (decoder state carried) and through the streaming tracker — and
//! corrupted copies of it: flipped bits, truncation, wrong or missing geometry, random bytes.
use spikectl::tracking::cluster::{ClusterConfig, ClusterTracker};
use spikectl::tracking::eval::{MAX_IDLE_WINDOWS, MAX_PENDING, PacketResult, TrackTotals, track_raw};
use spikectl::tracking::evt3::{AuxEvent, Evt3Decoder, Evt3Encoder};
use spikectl::tracking::net::{NetConfig, NetTracker};
use spikectl::tracking::packet::{EventPacket, Header, Time};
use spikectl::tracking::raw::{RawHeader, RawReader, read_raw, read_raw_with, write_raw};
use spikectl::tracking::stream::{StreamConfig, StreamTracker};
use spikectl::tracking::{Event, TrackError, Tracker};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/events/evt3_trigger/");

fn recording() -> Vec<u8> {
    std::fs::read(format!("{DIR}recording.raw")).expect("the shared evt3_trigger recording")
}

/// Offset of the EVT 3.0 body (after `% end\n`).
fn body_start(file: &[u8]) -> usize {
    let k = file.windows(6).position(|w| w == b"% end\n").expect("header end");
    k + 6
}

struct Packet {
    seq: u64,
    offset: usize,
    len: usize,
    stamp_ns: u64,
}

fn packets() -> Vec<Packet> {
    let text = std::fs::read_to_string(format!("{DIR}packets.csv")).unwrap();
    text.lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            assert_eq!((f[5], f[6], f[7]), ("evt3", "1280", "720"));
            Packet {
                seq: f[0].parse().unwrap(),
                offset: f[1].parse().unwrap(),
                len: f[2].parse().unwrap(),
                stamp_ns: f[4].parse().unwrap(),
            }
        })
        .collect()
}

/// The quantities of the reference table (README.md of the recording).
#[derive(Debug, Default, PartialEq, Eq)]
struct Sums {
    events: u64,
    on: u64,
    t_ns: u128,
    x: u64,
    y: u64,
    x_max: u16,
    y_max: u16,
    t_first: u64,
    t_last: u64,
    triggers: u64,
    trig_t_ns: u128,
    trig_edge: u64,
    trig_id: u64,
}

impl Sums {
    fn add(&mut self, ev: &[Event], aux: &[AuxEvent]) {
        for e in ev {
            if self.events == 0 {
                self.t_first = e.t_ns;
            }
            self.events += 1;
            self.on += u64::from(e.p);
            self.t_ns += u128::from(e.t_ns);
            self.x += u64::from(e.x);
            self.y += u64::from(e.y);
            self.x_max = self.x_max.max(e.x);
            self.y_max = self.y_max.max(e.y);
            self.t_last = e.t_ns;
        }
        for a in aux {
            if let AuxEvent::Trigger { t_ns, id, value } = *a {
                self.triggers += 1;
                self.trig_t_ns += u128::from(t_ns);
                self.trig_edge += u64::from(value);
                self.trig_id += u64::from(id);
            }
        }
    }

    /// The vendor decoders' values.
    fn reference() -> Self {
        Self {
            events: 82_469,
            on: 41_439,
            t_ns: 1_222_326_831_810_000,
            x: 42_078_718,
            y: 31_656_267,
            x_max: 1279,
            y_max: 719,
            t_first: 14_224_870_000,
            t_last: 15_476_187_000,
            triggers: 2,
            trig_t_ns: 29_096_982_000,
            trig_edge: 1,
            trig_id: 0,
        }
    }
}

#[test]
fn whole_file_decode_equals_the_vendor_sums() {
    let rec = read_raw(&recording()[..]).unwrap();
    assert_eq!(rec.geometry, (1280, 720));
    let mut s = Sums::default();
    s.add(&rec.events, &rec.aux);
    assert_eq!(s, Sums::reference());
    let d = rec.stats;
    assert_eq!(d.events, 82_469);
    // Clean data: nothing dropped, repaired or stepped back (78 k repeated TIME_HIGH words
    // are not regressions).
    assert_eq!(
        (d.out_of_bounds, d.before_time, d.reserved_words, d.truncated_bytes, d.time_wraps),
        (0, 0, 0, 0, 0),
        "{d:?}"
    );
    assert_eq!(
        (d.time_high_backsteps, d.time_low_backsteps, d.time_jumps, d.time_glitches, d.held_events),
        (0, 0, 0, 0, 0),
        "{d:?}"
    );
}

#[test]
fn driver_packets_decode_to_the_vendor_sums() {
    let file = recording();
    let body = &file[body_start(&file)..];
    let pk = packets();
    assert_eq!(pk.len(), 105);
    assert_eq!(pk.iter().map(|p| p.len).sum::<usize>(), body.len());
    let mut dec = Evt3Decoder::new(1280, 720);
    let mut s = Sums::default();
    let (mut ev, mut aux) = (Vec::new(), Vec::new());
    for p in &pk {
        ev.clear();
        aux.clear();
        let msg = EventPacket {
            header: Header { stamp: Time::from_ns(p.stamp_ns), frame_id: "camera".into() },
            width: 1280,
            height: 720,
            seq: p.seq,
            time_base: 0,
            encoding: "evt3".into(),
            is_bigendian: false,
            events: body[p.offset..p.offset + p.len].to_vec(),
        };
        msg.decode(&mut dec, &mut ev, &mut aux).unwrap();
        s.add(&ev, &aux);
    }
    dec.finish(&mut aux).unwrap();
    assert_eq!(s, Sums::reference());
}

fn packet_msgs() -> Vec<EventPacket> {
    let file = recording();
    let body = &file[body_start(&file)..];
    packets()
        .iter()
        .map(|p| EventPacket {
            header: Header { stamp: Time::from_ns(p.stamp_ns), frame_id: "camera".into() },
            width: 1280,
            height: 720,
            seq: p.seq,
            time_base: 0,
            encoding: "evt3".into(),
            is_bigendian: false,
            events: body[p.offset..p.offset + p.len].to_vec(),
        })
        .collect()
}

#[test]
fn stream_tracker_sees_the_vendor_sums() {
    let mut st = StreamTracker::new(StreamConfig::default());
    let mut out = Vec::new();
    let mut s = Sums::default();
    let mut sorted_sums = (0u128, 0u64);
    for p in packet_msgs() {
        st.ingest(&p, &mut out).unwrap();
        // The stream tracker hands events on in time order; the sums do not care.
        let ev = st.last_events();
        sorted_sums.0 += ev.iter().map(|e| u128::from(e.t_ns)).sum::<u128>();
        sorted_sums.1 += ev.len() as u64;
        s.add(&[], st.last_aux());
        s.events += ev.len() as u64;
        s.on += ev.iter().filter(|e| e.p).count() as u64;
        s.x += ev.iter().map(|e| u64::from(e.x)).sum::<u64>();
        s.y += ev.iter().map(|e| u64::from(e.y)).sum::<u64>();
    }
    let r = Sums::reference();
    assert_eq!((s.events, s.on, s.x, s.y), (r.events, r.on, r.x, r.y));
    assert_eq!(sorted_sums, (r.t_ns, r.events));
    assert_eq!((s.triggers, s.trig_t_ns, s.trig_edge, s.trig_id), (r.triggers, r.trig_t_ns, r.trig_edge, r.trig_id));
    st.flush_idle(st.lost_after_windows(), &mut out);
    // Every event lands in exactly one window; windows start at the first event (14.2 s
    // of sensor time are not walked) and end times increase.
    assert_eq!(out.iter().map(|w| w.events as u64).sum::<u64>(), r.events);
    let span_ms = (r.t_last / 1_000_000 - r.t_first / 1_000_000 + 1) as usize;
    assert!(out.len() <= span_ms + st.lost_after_windows() as usize, "{} windows", out.len());
    assert!(out.windows(2).all(|w| w[0].t_end_ns < w[1].t_end_ns));
    assert_eq!(out[0].t_end_ns, 14_225_000_000);
    let d = st.decode_stats();
    assert_eq!((d.events, d.out_of_bounds, d.time_glitches), (r.events, 0, 0));
    assert_eq!((st.stats().seq_gaps, st.stats().late_events, st.stats().restarts), (0, 0, 0));
}

/// Tracks `file` (RAW bytes) with `tracker`, checking the streaming invariants; returns the
/// results and totals.
fn track<T: Tracker + ?Sized>(file: &[u8], tracker: &mut T) -> Result<(Vec<PacketResult>, TrackTotals), TrackError> {
    let mut rd = RawReader::new(file)?;
    let mut res = Vec::new();
    let totals = track_raw(
        &mut rd,
        tracker,
        1_000_000,
        |_| None,
        |r: &PacketResult, ev: &[Event]| {
            assert_eq!(r.n_events, ev.len());
            res.push(*r);
            Ok::<(), TrackError>(())
        },
    )?;
    check_stream(&res, &totals);
    Ok((res, totals))
}

/// Window ends strictly increase, every event decoded is in one window (or counted as
/// overflow), and the windows and the buffer stay bounded by the events.
fn check_stream(res: &[PacketResult], t: &TrackTotals) {
    assert!(res.windows(2).all(|w| w[0].t_end_ns < w[1].t_end_ns), "window ends must increase");
    let in_windows: u64 = res.iter().map(|r| r.n_events as u64).sum();
    assert_eq!(in_windows + t.windows.overflow_events, t.decode.events);
    assert_eq!(res.len() as u64, t.windows.windows);
    assert!(t.windows.windows <= (MAX_IDLE_WINDOWS + 2) * t.decode.events.max(1), "{t:?}");
    assert!(t.windows.max_pending <= MAX_PENDING);
}

#[test]
fn both_trackers_stream_the_real_recording() {
    let file = recording();
    let mut cl = ClusterTracker::new(ClusterConfig::new(1280, 720));
    let (res, t) = track(&file, &mut cl).unwrap();
    // 1252 ms of events from t = 14.22 s: one window per ms, none before the first event.
    assert_eq!(res[0].t_end_ns, 14_225_000_000);
    assert!(res.len() <= 1253, "{} windows", res.len());
    assert_eq!((t.decode.events, t.windows.skipped_windows, t.windows.late_events), (82_469, 0, 0));
    // The tracker network, float and Loihi 2 fixed point, network-only and refined: the same
    // windows, every position finite and on the sensor, every window's work on the substrate.
    let base = NetConfig::new(1280, 720);
    for cfg in [base, base.loihi2(), base.with_refine(true), base.loihi2().with_refine(true)] {
        let mut net = NetTracker::new(cfg);
        let (res3, _) = track(&file, &mut net).unwrap();
        assert_eq!(res3.len(), res.len(), "{}", net.name());
        let mut tracked = 0;
        for r in &res3 {
            let ops = r.ops.expect("op counts per window");
            assert_eq!(ops.timesteps, u64::from(cfg.substeps));
            if let Some(e) = r.est {
                tracked += 1;
                assert!(e.x.is_finite() && e.y.is_finite() && e.vx.is_finite() && e.vy.is_finite(), "{e:?}");
                // The field spreads the events by at most two cells (4 px) around them (the
                // refinement extrapolates with a velocity, so only the network's own readout
                // is bounded by the sensor).
                if !cfg.refine {
                    assert!((-4.0..=1284.0).contains(&e.x) && (-4.0..=724.0).contains(&e.y), "{} {e:?}", net.name());
                }
            }
        }
        let total = net.ops().unwrap();
        assert_eq!(total.timesteps, res3.len() as u64 * u64::from(cfg.substeps));
        eprintln!("{}: {tracked} of {} windows with a position, {total:?}", net.name(), res3.len());
    }
}

fn with_header(header: &str, body: &[u8]) -> Vec<u8> {
    let mut v = header.as_bytes().to_vec();
    v.extend_from_slice(body);
    v
}

#[test]
fn geometry_missing_wrong_or_impossible() {
    let file = recording();
    let body = &file[body_start(&file)..];
    // No geometry: a clear error, unless the caller gives one.
    let none = with_header("% evt 3.0\n% end\n", body);
    let e = read_raw(&none[..]).unwrap_err();
    assert!(e.to_string().contains("no sensor geometry"), "{e}");
    assert_eq!(read_raw_with(&none[..], Some((1280, 720))).unwrap().events.len(), 82_469);
    // Beyond 11-bit addresses, or zero: refused.
    for g in ["4096x4096", "0x720", "2049x720"] {
        let f = with_header(&format!("% evt 3.0\n% geometry {g}\n% end\n"), body);
        let e = read_raw(&f[..]).unwrap_err();
        assert!(e.to_string().contains("not possible for EVT 3.0"), "{g}: {e}");
    }
    assert!(read_raw_with(&none[..], Some((4096, 4096))).is_err());
    // Two declarations that disagree.
    let f = with_header("% evt 3.0\n% format EVT3;height=720;width=1280\n% geometry 640x480\n% end\n", body);
    assert!(read_raw(&f[..]).unwrap_err().to_string().contains("disagree") || read_raw(&f[..]).is_err());
    // Too small: the events outside are counted, with the largest address seen.
    let small = with_header("% evt 3.0\n% geometry 640x480\n% end\n", body);
    let rec = read_raw(&small[..]).unwrap();
    assert_eq!(rec.stats.events + rec.stats.out_of_bounds, 82_469);
    assert!(rec.stats.out_of_bounds > 40_000, "{:?}", rec.stats);
    assert_eq!((rec.stats.out_of_bounds_max_x, rec.stats.out_of_bounds_max_y), (1279, 719));
    // 2048×2048 (the largest EVT 3.0 sensor) decodes everything.
    let big = with_header("% evt 3.0\n% geometry 2048x2048\n% end\n", body);
    assert_eq!(read_raw(&big[..]).unwrap().events.len(), 82_469);
}

#[test]
fn a_cut_last_word_decodes_the_complete_words_and_is_reported() {
    let file = recording();
    let start = body_start(&file);
    for cut in [1usize, 3, 4001, 758_295] {
        let f = &file[..start + cut];
        let rec = read_raw(f).unwrap();
        let whole = read_raw(&file[..start + cut - 1]).unwrap();
        assert_eq!(rec.events, whole.events);
        assert_eq!((rec.stats.truncated_bytes, whole.stats.truncated_bytes), (1, 0));
    }
}

#[test]
fn flipped_time_high_bits_do_not_shift_the_recording() {
    let file = recording();
    let start = body_start(&file);
    let reference = read_raw(&file[..]).unwrap();
    // A TIME_HIGH word in the middle of the recording.
    let body = &file[start..];
    let k = (body.len() / 4..body.len() / 2).step_by(2).find(|&i| body[i + 1] >> 4 == 0x8).expect("a TIME_HIGH word");
    for bit in 0..12 {
        let mut f = file.clone();
        let w = u16::from_le_bytes([f[start + k], f[start + k + 1]]) ^ (1 << bit);
        f[start + k..start + k + 2].copy_from_slice(&w.to_le_bytes());
        let rec = read_raw(&f[..]).unwrap();
        assert_eq!(rec.events.len(), reference.events.len(), "bit {bit}");
        // At most the events up to the next TIME_HIGH may move, and by at most 10 steps.
        let moved: Vec<(u64, u64)> = rec
            .events
            .iter()
            .zip(&reference.events)
            .filter(|(a, b)| a.t_ns != b.t_ns)
            .map(|(a, b)| (a.t_ns, b.t_ns))
            .collect();
        assert!(moved.len() < 200, "bit {bit}: {} events moved", moved.len());
        assert!(moved.iter().all(|(a, b)| a.abs_diff(*b) <= 10 * 4_096_000), "bit {bit}: {moved:?}");
        assert_eq!(rec.events.last().unwrap().t_ns, reference.events.last().unwrap().t_ns, "bit {bit}");
        assert_eq!(rec.stats.time_wraps, 0, "bit {bit}");
    }
}

/// A small deterministic generator (xorshift) for corruption positions and random bytes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn randomly_flipped_bits_give_counted_damage_and_bounded_streams() {
    let file = recording();
    let start = body_start(&file);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for round in 0..6 {
        let mut f = file.clone();
        let flips = [1usize, 10, 100, 1000, 10_000, 100_000][round];
        for _ in 0..flips {
            let i = start + (rng.next() as usize) % (file.len() - start);
            f[i] ^= 1 << (rng.next() % 8);
        }
        let mut cl = ClusterTracker::new(ClusterConfig::new(1280, 720));
        let (res, t) = track(&f, &mut cl).unwrap();
        // The clock never runs away: the windows stay near the 1252 ms of the recording
        // (plus the jumps the corrupt words caused, skipped in bounded steps).
        assert!(
            res.len() as u64 <= 1253 + (MAX_IDLE_WINDOWS + 2) * (t.decode.time_jumps + 1) * 2,
            "{flips} flips: {t:?}"
        );
    }
}

#[test]
fn random_bytes_never_allocate_or_panic() {
    let mut rng = Rng(42);
    for len in [0usize, 1, 2, 1000, 1 << 20] {
        let body: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        let f = with_header("% evt 3.0\n% geometry 1280x720\n% end\n", &body);
        let mut cl = ClusterTracker::new(ClusterConfig::new(1280, 720));
        let (res, t) = track(&f, &mut cl).unwrap();
        assert!(res.len() as u64 <= t.windows.windows);
        // Random words contain reserved types: counted.
        if len >= 1000 {
            assert!(t.decode.reserved_words > 0);
        }
        // Without a header at all: the header reader stops at the first non-% byte and the
        // missing geometry is reported.
        assert!(RawReader::new(&body[..]).is_err() || body.first() == Some(&b'%'));
    }
}

#[test]
fn late_start_and_two_hundred_wraps_cost_bounded_windows() {
    // A recording starting at t = 14 s, then one short burst after each of 200 genuine
    // 24-bit wraps (56 min of sensor time).
    let mut ev = Vec::new();
    for k in 0..=200u64 {
        let t0 = 14_000_000_000 + k * 16_900_000_000;
        for i in 0..50u64 {
            ev.push(Event::new(t0 + i * 10_000, (100 + i % 7) as u16, 200, i % 2 == 0));
        }
    }
    let mut file = Vec::new();
    write_raw(&mut file, &RawHeader::evt3(640, 480), &ev).unwrap();
    let rec = read_raw(&file[..]).unwrap();
    assert_eq!(rec.events, ev);
    assert_eq!(rec.stats.time_wraps, (ev.last().unwrap().t_ns / 1000) >> 24);
    assert!(rec.stats.time_wraps >= 200);
    let mut cl = ClusterTracker::new(ClusterConfig::new(640, 480));
    let (res, t) = track(&file, &mut cl).unwrap();
    assert_eq!(res[0].t_end_ns, 14_000_000_000 + 1_000_000);
    // Per burst: its window plus at most MAX_IDLE_WINDOWS + 1 empty ones.
    assert!(res.len() as u64 <= 201 * (MAX_IDLE_WINDOWS + 2), "{} windows", res.len());
    assert!(t.windows.skipped_windows > 3_000_000);
    // The encoder's long silences are walked in confirmed jumps.
    assert_eq!((t.decode.time_glitches, t.decode.held_events), (0, 0));
}

#[test]
fn stream_tracker_survives_corrupted_packets() {
    let mut rng = Rng(7);
    let mut st = StreamTracker::new(StreamConfig::default());
    let mut out = Vec::new();
    let mut errors = 0;
    for mut p in packet_msgs() {
        for _ in 0..20 {
            let n = p.events.len();
            let i = (rng.next() as usize) % n;
            p.events[i] ^= 1 << (rng.next() % 8);
        }
        if rng.next().is_multiple_of(5) {
            p.events.pop();
        }
        errors += usize::from(st.ingest(&p, &mut out).is_err());
    }
    st.flush_idle(st.lost_after_windows(), &mut out);
    assert!(errors > 0);
    let d = st.decode_stats();
    assert!(d.events > 70_000 && d.events <= 82_469 + 2000, "{d:?}");
    assert!(out.len() < 1253 + 2 * (MAX_IDLE_WINDOWS as usize + 2) * (d.time_jumps as usize + 1), "{}", out.len());
}

mod arbitrary {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: std::env::var("PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(48),
            ..ProptestConfig::default()
        })]

        /// Arbitrary bytes behind a RAW header: no panic, window ends increase, windows and
        /// buffered events bounded by the events decoded.
        #[test]
        fn arbitrary_bytes_stream_with_bounded_memory(
            body in prop::collection::vec(any::<u8>(), 0..4000),
            time_words in prop::collection::vec((0usize..4000, any::<u16>()), 0..40),
        ) {
            // Splice in many TIME_HIGH / TIME_LOW words so that the clock rules get exercised.
            let mut body = body;
            for (i, v) in time_words {
                if i + 1 < body.len() {
                    let w = if v & 1 == 0 { 0x8000 | (v >> 4) } else { 0x6000 | (v >> 4) };
                    body[i & !1..(i & !1) + 2].copy_from_slice(&w.to_le_bytes());
                }
            }
            let f = with_header("% evt 3.0\n% geometry 320x240\n% end\n", &body);
            let mut cl = ClusterTracker::new(ClusterConfig::new(320, 240));
            let (res, t) = track(&f, &mut cl).unwrap();
            prop_assert!(t.windows.max_pending as u64 <= t.decode.events);
            prop_assert!(res.len() as u64 <= (MAX_IDLE_WINDOWS + 2) * t.decode.events.max(1));
            // Decoded times never step back by more than 10 TIME_HIGH periods + one TIME_LOW period.
            let (mut ev, mut aux) = (Vec::new(), Vec::new());
            let mut d = Evt3Decoder::new(320, 240);
            let _ = d.decode_bytes(&body, &mut ev, &mut aux);
            let mut max_t = 0u64;
            for e in &ev {
                prop_assert!(e.t_ns + 11 * 4_096_000 >= max_t, "time went back by {} ns", max_t - e.t_ns);
                max_t = max_t.max(e.t_ns);
            }
            let _ = Evt3Encoder::new();
        }
    }
}
