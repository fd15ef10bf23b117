//! Fuzz the streaming EVT 3.0 decoder: arbitrary bytes, split into two chunks at a
//! position taken from the input, in lenient and strict mode; decoded events must lie on
//! the sensor, their time may step back by at most 10 TIME_HIGH periods + one TIME_LOW
//! period (the decoder's rules), and the chunked decode must equal the whole one.
#![no_main]
use libfuzzer_sys::fuzz_target;
use spikectl::tracking::evt3::Evt3Decoder;

fuzz_target!(|data: &[u8]| {
    let Some((&cut, body)) = data.split_first() else { return };
    let cut = usize::from(cut).min(body.len());
    let mut whole = Evt3Decoder::new(640, 480);
    let (mut ev, mut aux) = (Vec::new(), Vec::new());
    let r_whole = whole.decode_bytes(body, &mut ev, &mut aux).and_then(|_| whole.finish(&mut aux));
    let mut split = Evt3Decoder::new(640, 480);
    let (mut ev2, mut aux2) = (Vec::new(), Vec::new());
    let r_split = split
        .decode_bytes(&body[..cut], &mut ev2, &mut aux2)
        .and_then(|_| split.decode_bytes(&body[cut..], &mut ev2, &mut aux2))
        .and_then(|_| split.finish(&mut aux2));
    assert_eq!(r_whole.is_ok(), r_split.is_ok());
    assert_eq!(ev, ev2);
    assert_eq!(aux, aux2);
    let mut newest = 0;
    for e in &ev {
        assert!(e.x < 640 && e.y < 480);
        assert!(e.t_ns + 11 * 4_096_000 > newest);
        newest = newest.max(e.t_ns);
    }
    let mut strict = Evt3Decoder::strict(640, 480);
    let _ = strict.decode_bytes(body, &mut Vec::new(), &mut Vec::new());
});
