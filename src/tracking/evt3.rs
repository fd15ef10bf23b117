//! Prophesee EVT 3.0: a streaming decoder and an encoder.
//!
//! EVT 3.0 is a stream of 16-bit little-endian words whose top 4 bits give the word type:
//!
//! | type | name         | payload (bits 0–11)                                        |
//! |------|--------------|------------------------------------------------------------|
//! | 0x0  | ADDR_Y       | y in bits 0–10; bit 11 = master/slave system type          |
//! | 0x2  | ADDR_X       | x in bits 0–10, polarity in bit 11; emits one event        |
//! | 0x3  | VECT_BASE_X  | base x in bits 0–10, polarity in bit 11                    |
//! | 0x4  | VECT_12      | validity mask of 12 pixels from base x; base x += 12       |
//! | 0x5  | VECT_8       | validity mask of 8 pixels from base x (bits 0–7); base x += 8 |
//! | 0x6  | TIME_LOW     | bits 0–11 of the 24-bit µs timestamp                       |
//! | 0x7  | CONTINUED_4  | 4 more data bits for the preceding OTHERS word            |
//! | 0x8  | TIME_HIGH    | bits 12–23 of the 24-bit µs timestamp                      |
//! | 0xA  | EXT_TRIGGER  | value (edge) in bit 0, channel id in bits 8–11            |
//! | 0xE  | OTHERS       | 12-bit subtype; data follows in CONTINUED words            |
//! | 0xF  | CONTINUED_12 | 12 more data bits for the preceding OTHERS word           |
//!
//! Types 0x1, 0x9, 0xB, 0xC and 0xD are reserved. The 24-bit µs time wraps every
//! 2²⁴ µs ≈ 16.77 s; the decoder counts wraps (a TIME_HIGH smaller than the previous one)
//! and produces a monotonic 64-bit time in nanoseconds. All decoder state (current y, base
//! x, polarity, time, a pending OTHERS record and an odd trailing byte) is carried across
//! chunk boundaries, so a stream may be fed in chunks of any size.
use super::{Event, TrackError};

/// Word type nibbles of EVT 3.0.
pub mod kind {
    /// ADDR_Y: sets the current row.
    pub const ADDR_Y: u8 = 0x0;
    /// ADDR_X: one event at x with polarity.
    pub const ADDR_X: u8 = 0x2;
    /// VECT_BASE_X: base column and polarity of the following vectors.
    pub const VECT_BASE_X: u8 = 0x3;
    /// VECT_12: 12-pixel validity mask.
    pub const VECT_12: u8 = 0x4;
    /// VECT_8: 8-pixel validity mask.
    pub const VECT_8: u8 = 0x5;
    /// TIME_LOW: low 12 bits of the µs time.
    pub const TIME_LOW: u8 = 0x6;
    /// CONTINUED_4: 4 data bits continuing an OTHERS word.
    pub const CONTINUED_4: u8 = 0x7;
    /// TIME_HIGH: high 12 bits of the 24-bit µs time.
    pub const TIME_HIGH: u8 = 0x8;
    /// EXT_TRIGGER: an external trigger edge.
    pub const EXT_TRIGGER: u8 = 0xA;
    /// OTHERS: a vendor record with a 12-bit subtype.
    pub const OTHERS: u8 = 0xE;
    /// CONTINUED_12: 12 data bits continuing an OTHERS word.
    pub const CONTINUED_12: u8 = 0xF;
}

/// Builds one EVT 3.0 word from a type nibble and a 12-bit payload.
#[inline]
pub const fn word(kind: u8, payload: u16) -> u16 {
    ((kind as u16) << 12) | (payload & 0x0FFF)
}

/// Non-CD records of an EVT 3.0 stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuxEvent {
    /// An external trigger edge.
    Trigger {
        /// Time of the edge, in ns.
        t_ns: u64,
        /// Trigger channel (0–15).
        id: u8,
        /// Edge value: `true` = rising.
        value: bool,
    },
    /// An OTHERS record with the data of the CONTINUED words that followed it.
    Other {
        /// Time of the record, in ns.
        t_ns: u64,
        /// 12-bit subtype.
        subtype: u16,
        /// Continued data, first word in the lowest bits (only the first 64 bits kept).
        data: u64,
        /// Number of data bits received (may exceed 64; extra bits are dropped).
        bits: u32,
    },
}

/// Counters kept by the decoder over its lifetime.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct DecodeStats {
    /// 16-bit words consumed.
    pub words: u64,
    /// CD events emitted.
    pub events: u64,
    /// Trigger records emitted.
    pub triggers: u64,
    /// OTHERS records emitted.
    pub others: u64,
    /// Reserved-type words skipped (lenient mode).
    pub reserved_words: u64,
    /// Events dropped because they fell outside the sensor (lenient mode).
    pub out_of_bounds: u64,
    /// CONTINUED words with no preceding OTHERS word (ignored).
    pub orphan_continued: u64,
    /// 24-bit time wraps detected.
    pub time_wraps: u64,
    /// Times that went backwards inside one TIME_HIGH period and were clamped.
    pub time_regressions: u64,
}

/// Streaming EVT 3.0 decoder.
#[derive(Debug, Clone)]
pub struct Evt3Decoder {
    width: u16,
    height: u16,
    strict: bool,
    y: u16,
    base_x: u16,
    pol: bool,
    time_high: u32,
    time_low: u32,
    epoch: u64,
    seen_time_high: bool,
    t_ns: u64,
    pending_other: Option<AuxEvent>,
    pending_byte: Option<u8>,
    stats: DecodeStats,
}

impl Evt3Decoder {
    /// A lenient decoder for a `width`×`height` sensor (pixels): reserved words are skipped
    /// and out-of-sensor events dropped, both counted in [`DecodeStats`].
    pub fn new(width: u16, height: u16) -> Self {
        Self {
            width,
            height,
            strict: false,
            y: 0,
            base_x: 0,
            pol: false,
            time_high: 0,
            time_low: 0,
            epoch: 0,
            seen_time_high: false,
            t_ns: 0,
            pending_other: None,
            pending_byte: None,
            stats: DecodeStats::default(),
        }
    }

    /// A strict decoder: a reserved word or an out-of-sensor event is an error.
    pub fn strict(width: u16, height: u16) -> Self {
        Self { strict: true, ..Self::new(width, height) }
    }

    /// Counters so far.
    pub fn stats(&self) -> &DecodeStats {
        &self.stats
    }

    /// Current decoded time, in ns.
    pub fn time_ns(&self) -> u64 {
        self.t_ns
    }

    /// Decodes a chunk of raw bytes (little-endian words). An odd trailing byte is kept
    /// for the next chunk. Events are appended to `out`, triggers/OTHERS to `aux`.
    ///
    /// In strict mode the first invalid word stops decoding of this chunk with an error
    /// (events before it are already in `out`; the rest of the chunk is discarded).
    pub fn decode_bytes(
        &mut self,
        mut bytes: &[u8],
        out: &mut Vec<Event>,
        aux: &mut Vec<AuxEvent>,
    ) -> Result<(), TrackError> {
        if let Some(b0) = self.pending_byte {
            let Some((&b1, rest)) = bytes.split_first() else { return Ok(()) };
            self.pending_byte = None;
            bytes = rest;
            self.decode_words_iter(std::iter::once(u16::from_le_bytes([b0, b1])), out, aux)?;
        }
        let chunks = bytes.chunks_exact(2);
        let rem = chunks.remainder();
        if let [b] = rem {
            self.pending_byte = Some(*b);
        }
        self.decode_words_iter(chunks.map(|c| u16::from_le_bytes([c[0], c[1]])), out, aux)
    }

    /// Decodes a chunk of words.
    pub fn decode_words(
        &mut self,
        words: &[u16],
        out: &mut Vec<Event>,
        aux: &mut Vec<AuxEvent>,
    ) -> Result<(), TrackError> {
        self.decode_words_iter(words.iter().copied(), out, aux)
    }

    /// Ends the stream: emits a pending OTHERS record; an odd trailing byte is an error.
    pub fn finish(&mut self, aux: &mut Vec<AuxEvent>) -> Result<(), TrackError> {
        self.flush_other(aux);
        if self.pending_byte.take().is_some() {
            return Err(TrackError::Truncated { len: 1, unit: 2 });
        }
        Ok(())
    }

    #[inline]
    fn flush_other(&mut self, aux: &mut Vec<AuxEvent>) {
        if let Some(o) = self.pending_other.take() {
            self.stats.others += 1;
            aux.push(o);
        }
    }

    #[cold]
    fn out_of_bounds(&mut self, x: u16, y: u16) -> Result<(), TrackError> {
        if self.strict {
            return Err(TrackError::Evt3OutOfBounds { x, y, width: self.width, height: self.height });
        }
        self.stats.out_of_bounds += 1;
        Ok(())
    }

    /// Rare words (everything but CD addresses, vectors and TIME_LOW). Uses and updates the
    /// decoder fields; the caller syncs its locals around the call.
    #[cold]
    #[inline(never)]
    fn slow_word(&mut self, k: u8, w: u16, offset: usize, aux: &mut Vec<AuxEvent>) -> Result<(), TrackError> {
        let payload = w & 0x0FFF;
        if k == kind::CONTINUED_4 || k == kind::CONTINUED_12 {
            let (v, nb) = if k == kind::CONTINUED_4 { (payload & 0xF, 4) } else { (payload, 12) };
            match &mut self.pending_other {
                Some(AuxEvent::Other { data, bits, .. }) => {
                    if *bits < 64 {
                        *data |= u64::from(v) << *bits;
                    }
                    *bits += nb;
                }
                _ => self.stats.orphan_continued += 1,
            }
            return Ok(());
        }
        self.flush_other(aux);
        match k {
            kind::TIME_HIGH => {
                let high = u32::from(payload);
                if self.seen_time_high && high < self.time_high {
                    self.epoch += 1;
                    self.stats.time_wraps += 1;
                }
                self.seen_time_high = true;
                self.time_high = high;
                self.time_low = 0;
                let t = ((self.epoch << 24) | (u64::from(high) << 12)) * 1000;
                if t < self.t_ns {
                    self.stats.time_regressions += 1;
                } else {
                    self.t_ns = t;
                }
            }
            kind::EXT_TRIGGER => {
                aux.push(AuxEvent::Trigger { t_ns: self.t_ns, id: (payload >> 8) as u8, value: payload & 1 != 0 });
                self.stats.triggers += 1;
            }
            kind::OTHERS => {
                self.pending_other = Some(AuxEvent::Other { t_ns: self.t_ns, subtype: payload, data: 0, bits: 0 });
            }
            kind::ADDR_Y | kind::ADDR_X | kind::VECT_BASE_X | kind::VECT_12 | kind::VECT_8 | kind::TIME_LOW => {
                // Only reached to close a pending OTHERS record; the caller decodes the word.
            }
            _ => {
                if self.strict {
                    return Err(TrackError::Evt3ReservedType { kind: k, word: w, offset });
                }
                self.stats.reserved_words += 1;
            }
        }
        Ok(())
    }

    /// The decoding loop. The state used by every word lives in locals (registers); rare
    /// words go through [`Self::slow_word`].
    fn decode_words_iter<I: Iterator<Item = u16>>(
        &mut self,
        words: I,
        out: &mut Vec<Event>,
        aux: &mut Vec<AuxEvent>,
    ) -> Result<(), TrackError> {
        out.reserve(words.size_hint().0);
        let (width, height) = (self.width, self.height);
        let (mut y, mut base_x, mut pol, mut t_ns) = (self.y, self.base_x, self.pol, self.t_ns);
        let mut hi_us = (self.epoch << 24) | (u64::from(self.time_high) << 12);
        let mut low = self.time_low;
        let mut pending = self.pending_other.is_some();
        let (mut n_words, mut n_ev, mut regress) = (0u64, 0u64, 0u64);
        let mut result = Ok(());
        for (offset, w) in words.enumerate() {
            n_words += 1;
            let k = (w >> 12) as u8;
            let payload = w & 0x0FFF;
            if pending && k != kind::CONTINUED_4 && k != kind::CONTINUED_12 {
                self.flush_other(aux);
                pending = false;
            }
            match k {
                kind::ADDR_X => {
                    let x = payload & 0x7FF;
                    if x < width && y < height {
                        out.push(Event { t_ns, x, y, p: payload & 0x800 != 0 });
                        n_ev += 1;
                    } else if let Err(e) = self.out_of_bounds(x, y) {
                        result = Err(e);
                        break;
                    }
                }
                kind::ADDR_Y => y = payload & 0x7FF,
                kind::TIME_LOW => {
                    low = u32::from(payload);
                    let t = (hi_us | u64::from(low)) * 1000;
                    if t >= t_ns {
                        t_ns = t;
                    } else {
                        regress += 1;
                    }
                }
                kind::VECT_BASE_X => {
                    base_x = payload & 0x7FF;
                    pol = payload & 0x800 != 0;
                }
                kind::VECT_12 | kind::VECT_8 => {
                    let (mut mask, span) = if k == kind::VECT_12 { (payload, 12u16) } else { (payload & 0xFF, 8u16) };
                    let base = base_x;
                    base_x = (base + span) & 0x7FF;
                    if base + span <= width && y < height {
                        n_ev += u64::from(mask.count_ones());
                        while mask != 0 {
                            let i = mask.trailing_zeros() as u16;
                            mask &= mask - 1;
                            out.push(Event { t_ns, x: base + i, y, p: pol });
                        }
                    } else {
                        while mask != 0 {
                            let x = base + mask.trailing_zeros() as u16;
                            mask &= mask - 1;
                            if x < width && y < height {
                                out.push(Event { t_ns, x, y, p: pol });
                                n_ev += 1;
                            } else if let Err(e) = self.out_of_bounds(x, y) {
                                result = Err(e);
                                break;
                            }
                        }
                        if result.is_err() {
                            break;
                        }
                    }
                }
                _ => {
                    self.t_ns = t_ns;
                    self.time_low = low;
                    let r = self.slow_word(k, w, offset, aux);
                    t_ns = self.t_ns;
                    low = self.time_low;
                    hi_us = (self.epoch << 24) | (u64::from(self.time_high) << 12);
                    pending = self.pending_other.is_some();
                    if let Err(e) = r {
                        result = Err(e);
                        break;
                    }
                }
            }
        }
        (self.y, self.base_x, self.pol, self.t_ns, self.time_low) = (y, base_x, pol, t_ns, low);
        self.stats.words += n_words;
        self.stats.events += n_ev;
        self.stats.time_regressions += regress;
        result
    }
}

/// Decodes a whole EVT 3.0 byte stream (lenient mode) into CD events and aux records.
pub fn decode_all(bytes: &[u8], width: u16, height: u16) -> Result<(Vec<Event>, Vec<AuxEvent>), TrackError> {
    let mut d = Evt3Decoder::new(width, height);
    let mut ev = Vec::with_capacity(bytes.len() / 2);
    let mut aux = Vec::new();
    d.decode_bytes(bytes, &mut ev, &mut aux)?;
    d.finish(&mut aux)?;
    Ok((ev, aux))
}

/// Streaming EVT 3.0 encoder. Times are truncated to whole µs; events must come in
/// non-decreasing time order. Runs of ≥ 3 events with the same time, row and polarity and
/// increasing x within 12 columns are packed as VECT_BASE_X + VECT_12.
#[derive(Debug, Clone, Default)]
pub struct Evt3Encoder {
    last_t_us: Option<u64>,
    y: Option<u16>,
}

impl Evt3Encoder {
    /// A fresh encoder (its first output word sets the time).
    pub fn new() -> Self {
        Self::default()
    }

    fn push(out: &mut Vec<u8>, w: u16) {
        out.extend_from_slice(&w.to_le_bytes());
    }

    fn set_time(&mut self, t_us: u64, out: &mut Vec<u8>) {
        let high = |t: u64| ((t >> 12) & 0xFFF) as u16;
        match self.last_t_us {
            Some(last) if last == t_us => return,
            Some(last) if last >> 12 == t_us >> 12 => {}
            Some(last) => {
                let k = (t_us >> 24) - (last >> 24);
                if k > 1 || (k == 1 && high(t_us) >= high(last)) {
                    // Make every wrap visible to the decoder as a TIME_HIGH decrease.
                    for _ in 0..k {
                        Self::push(out, word(kind::TIME_HIGH, 0xFFF));
                        Self::push(out, word(kind::TIME_HIGH, 0));
                    }
                }
                Self::push(out, word(kind::TIME_HIGH, high(t_us)));
            }
            None => {
                let k = t_us >> 24;
                for _ in 0..k {
                    Self::push(out, word(kind::TIME_HIGH, 0xFFF));
                    Self::push(out, word(kind::TIME_HIGH, 0));
                }
                Self::push(out, word(kind::TIME_HIGH, high(t_us)));
            }
        }
        Self::push(out, word(kind::TIME_LOW, (t_us & 0xFFF) as u16));
        self.last_t_us = Some(t_us);
    }

    /// Appends the words for `events` to `out` (little-endian bytes).
    pub fn encode(&mut self, events: &[Event], out: &mut Vec<u8>) -> Result<(), TrackError> {
        out.reserve(events.len() * 2 + 16);
        let mut i = 0;
        while i < events.len() {
            let e = events[i];
            let t_us = e.t_ns / 1000;
            if let Some(last) = self.last_t_us
                && t_us < last
            {
                return Err(TrackError::NotEncodable(format!(
                    "time goes backwards at event {i} ({t_us} µs < {last} µs)"
                )));
            }
            if e.x > 0x7FF || e.y > 0x7FF {
                return Err(TrackError::NotEncodable(format!("event {i} at ({}, {}) beyond 11-bit address", e.x, e.y)));
            }
            self.set_time(t_us, out);
            if self.y != Some(e.y) {
                Self::push(out, word(kind::ADDR_Y, e.y));
                self.y = Some(e.y);
            }
            // Look for a vector run.
            let mut mask = 1u16;
            let mut j = i + 1;
            let mut last_x = e.x;
            while j < events.len() {
                let f = events[j];
                if f.t_ns / 1000 != t_us || f.y != e.y || f.p != e.p || f.x <= last_x || f.x >= e.x + 12 {
                    break;
                }
                mask |= 1 << (f.x - e.x);
                last_x = f.x;
                j += 1;
            }
            if j - i >= 3 && e.x + 12 <= 0x800 {
                Self::push(out, word(kind::VECT_BASE_X, e.x | (u16::from(e.p) << 11)));
                Self::push(out, word(kind::VECT_12, mask));
                i = j;
            } else {
                Self::push(out, word(kind::ADDR_X, e.x | (u16::from(e.p) << 11)));
                i += 1;
            }
        }
        Ok(())
    }

    /// Appends an external trigger at `t_ns` (channel `id` 0–15, edge `value`).
    pub fn trigger(&mut self, t_ns: u64, id: u8, value: bool, out: &mut Vec<u8>) -> Result<(), TrackError> {
        let t_us = t_ns / 1000;
        if let Some(last) = self.last_t_us
            && t_us < last
        {
            return Err(TrackError::NotEncodable("trigger time goes backwards".into()));
        }
        if id > 15 {
            return Err(TrackError::NotEncodable(format!("trigger id {id} > 15")));
        }
        self.set_time(t_us, out);
        Self::push(out, word(kind::EXT_TRIGGER, (u16::from(id) << 8) | u16::from(value)));
        Ok(())
    }
}

/// Encodes events into a fresh EVT 3.0 byte stream.
pub fn encode_all(events: &[Event]) -> Result<Vec<u8>, TrackError> {
    let mut out = Vec::new();
    Evt3Encoder::new().encode(events, &mut out)?;
    Ok(out)
}
