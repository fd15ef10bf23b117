//! Fuzz the streaming file path: RAW header + EVT 3.0 body → chunked decoding → windows →
//! cluster tracker. Window ends must increase, every decoded event must land in one window
//! (or be counted as overflow) and the windows must stay bounded by the events.
#![no_main]
use libfuzzer_sys::fuzz_target;
use spikectl::tracking::cluster::{ClusterConfig, ClusterTracker};
use spikectl::tracking::eval::{MAX_IDLE_WINDOWS, PacketResult, track_raw};
use spikectl::tracking::raw::RawReader;
use spikectl::tracking::{Event, TrackError};

fuzz_target!(|data: &[u8]| {
    let mut file = b"% evt 3.0\n% geometry 320x240\n% end\n".to_vec();
    file.extend_from_slice(data);
    let Ok(mut rd) = RawReader::new(&file[..]) else { return };
    let mut cl = ClusterTracker::new(ClusterConfig::new(320, 240));
    let mut last_end = 0u64;
    let mut windows = 0u64;
    let mut in_windows = 0u64;
    let totals = track_raw(&mut rd, &mut cl, 1_000_000, |_| None, |r: &PacketResult, ev: &[Event]| {
        assert!(r.t_end_ns > last_end || windows == 0);
        assert_eq!(r.n_events, ev.len());
        last_end = r.t_end_ns;
        windows += 1;
        in_windows += ev.len() as u64;
        Ok::<(), TrackError>(())
    })
    .expect("reading from memory cannot fail");
    assert_eq!(totals.windows.windows, windows);
    assert_eq!(in_windows + totals.windows.overflow_events, totals.decode.events);
    assert!(windows <= (MAX_IDLE_WINDOWS + 2) * totals.decode.events.max(1));
});
