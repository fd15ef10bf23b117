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
//! Types 0x1, 0x9, 0xB, 0xC and 0xD are reserved. All decoder state (current y, base x,
//! polarity, time, a pending OTHERS record and an odd trailing byte) is carried across chunk
//! boundaries, so a stream may be fed in chunks of any size (e.g. a driver's packets).
//!
//! # Time rules
//!
//! The sensor clock counts µs in 24 bits (TIME_HIGH = bits 12–23 in steps of 4096 µs,
//! TIME_LOW = bits 0–11) and wraps every 2²⁴ µs ≈ 16.78 s; the decoder unwraps it into a
//! 64-bit time in ns (`t = (wraps·2²⁴ + high·2¹² + low) · 1000`), like the vendor decoders:
//!
//! - **Before the first TIME_HIGH** there is no valid time: CD events, triggers and OTHERS
//!   records are dropped and counted ([`DecodeStats::before_time`]); row/column state is kept.
//! - **Small steps are taken as they come.** A TIME_HIGH within ±[`TIME_HIGH_TOLERANCE`]
//!   (10) steps, on the 12-bit circle, of the newest TIME_HIGH reached moves the time there
//!   (so backward steps cannot add up): forward
//!   across 0xFFF → 0x000 it is a wrap ([`DecodeStats::time_wraps`]); backward (real sensors
//!   do step back a little) the time goes back by up to ≈ 41 ms
//!   ([`DecodeStats::time_high_backsteps`]). A repeated equal TIME_HIGH changes nothing. A
//!   TIME_LOW below the previous one under the same TIME_HIGH is used as it comes, not
//!   clamped ([`DecodeStats::time_low_backsteps`]); a TIME_HIGH keeps the last TIME_LOW
//!   until the next one arrives.
//! - **Large jumps need confirmation.** A TIME_HIGH farther than the tolerance from the
//!   newest one is held as a candidate and read forward: a drop of more than 10 steps is a wrap
//!   (the ROS codec's rule; Prophesee's SDK only takes drops of ≥ 2048 steps as wraps and
//!   smaller ones as time going back by seconds, which this decoder never does). The jump is
//!   taken only when the next TIME_HIGH lies within the tolerance of the candidate
//!   ([`DecodeStats::time_jumps`]; events decoded in between keep the old TIME_HIGH and are
//!   counted in [`DecodeStats::held_events`]). If the next TIME_HIGH lies near the old time
//!   instead, the candidate was corrupt and is dropped ([`DecodeStats::time_glitches`]). So
//!   one flipped bit in a TIME_HIGH word mistimes at most the events up to the next TIME_HIGH
//!   (≈ 4 ms on a sensor stream) instead of shifting the rest of a recording by 16.8 s, and
//!   decoded times never go back by more than ≈ 45 ms (10 TIME_HIGH steps + one TIME_LOW
//!   period).
//!
//! Sensors write a TIME_HIGH every 4096 µs, so confirmation costs nothing on sensor
//! streams; [`Evt3Encoder`] writes a jump of more than the tolerance twice (the repeat
//! confirms it) and crosses long silences in jumps of at most 2047 steps, which both vendor
//! rules also read as intended.
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

/// How far (in TIME_HIGH steps of 4096 µs, either way) a TIME_HIGH may move from the last
/// one and still be taken as it comes. 10 steps (≈ 41 ms) is the ROS codec's tolerance for
/// the small backward steps real sensors produce.
pub(crate) const TIME_HIGH_TOLERANCE: u64 = 10;

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
    /// Largest column among the events dropped as outside the sensor [px] (0 if none).
    pub out_of_bounds_max_x: u16,
    /// Largest row among the events dropped as outside the sensor [px] (0 if none).
    pub out_of_bounds_max_y: u16,
    /// CD events, triggers and OTHERS records before the first TIME_HIGH of the stream:
    /// they have no valid time and are dropped.
    pub before_time: u64,
    /// CONTINUED words with no preceding OTHERS word (ignored).
    pub orphan_continued: u64,
    /// 24-bit time wraps taken (each adds 2²⁴ µs ≈ 16.78 s).
    pub time_wraps: u64,
    /// TIME_HIGH words up to [`TIME_HIGH_TOLERANCE`] steps below the last one, taken as
    /// they come (event times go back by up to ≈ 41 ms).
    pub time_high_backsteps: u64,
    /// TIME_LOW words smaller than the previous TIME_LOW under the same TIME_HIGH, taken
    /// as they come (event times go back by under 4.1 ms).
    pub time_low_backsteps: u64,
    /// Large TIME_HIGH jumps confirmed by the TIME_HIGH after them, and taken.
    pub time_jumps: u64,
    /// Large TIME_HIGH jumps that the next TIME_HIGH did not confirm: ignored as corrupt.
    pub time_glitches: u64,
    /// CD events decoded between a confirmed jump and its confirmation: they were timed
    /// with the TIME_HIGH before the jump.
    pub held_events: u64,
    /// Bytes of an incomplete last word (0 or 1), reported by [`Evt3Decoder::finish`].
    pub truncated_bytes: u64,
}

impl DecodeStats {
    /// The sum of two sets of counters (the `out_of_bounds_max_*` fields take the maximum).
    pub(crate) fn merged(&self, b: &DecodeStats) -> DecodeStats {
        let a = self;
        DecodeStats {
            words: a.words + b.words,
            events: a.events + b.events,
            triggers: a.triggers + b.triggers,
            others: a.others + b.others,
            reserved_words: a.reserved_words + b.reserved_words,
            out_of_bounds: a.out_of_bounds + b.out_of_bounds,
            out_of_bounds_max_x: a.out_of_bounds_max_x.max(b.out_of_bounds_max_x),
            out_of_bounds_max_y: a.out_of_bounds_max_y.max(b.out_of_bounds_max_y),
            before_time: a.before_time + b.before_time,
            orphan_continued: a.orphan_continued + b.orphan_continued,
            time_wraps: a.time_wraps + b.time_wraps,
            time_high_backsteps: a.time_high_backsteps + b.time_high_backsteps,
            time_low_backsteps: a.time_low_backsteps + b.time_low_backsteps,
            time_jumps: a.time_jumps + b.time_jumps,
            time_glitches: a.time_glitches + b.time_glitches,
            held_events: a.held_events + b.held_events,
            truncated_bytes: a.truncated_bytes + b.truncated_bytes,
        }
    }
}

/// Signed distance from `from` to `to` on the 12-bit TIME_HIGH circle, in [−2048, 2047].
#[inline]
fn circular_step(from: u64, to: u64) -> i64 {
    (((to.wrapping_sub(from)) & 0xFFF) as i64 + 2048) % 4096 - 2048
}

/// Streaming EVT 3.0 decoder (time rules in the module docs).
#[derive(Debug, Clone)]
pub struct Evt3Decoder {
    width: u16,
    height: u16,
    strict: bool,
    y: u16,
    base_x: u16,
    pol: bool,
    /// Committed TIME_HIGH, unwrapped: time in µs >> 12, wraps included.
    high: u64,
    /// The largest committed TIME_HIGH so far (unwrapped).
    max_high: u64,
    /// Last TIME_LOW (µs, 12 bits).
    low: u32,
    /// No TIME_LOW since `high` last changed.
    fresh_high: bool,
    seen_time_high: bool,
    /// A large TIME_HIGH jump waiting for confirmation: its unwrapped value and the event
    /// count when it arrived.
    candidate: Option<(u64, u64)>,
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
            high: 0,
            max_high: 0,
            low: 0,
            fresh_high: true,
            seen_time_high: false,
            candidate: None,
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

    /// Time of the last decoded word that set the time [ns] (0 before the first TIME_HIGH).
    pub fn time_ns(&self) -> u64 {
        self.t_ns
    }

    /// Whether a TIME_HIGH has been seen (events are emitted only from then on).
    pub fn has_time(&self) -> bool {
        self.seen_time_high
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

    /// Ends the stream: emits a pending OTHERS record. An odd trailing byte (half a word)
    /// is counted in [`DecodeStats::truncated_bytes`] and reported as
    /// [`TrackError::Truncated`]; everything before it has been decoded.
    pub fn finish(&mut self, aux: &mut Vec<AuxEvent>) -> Result<(), TrackError> {
        self.flush_other(aux);
        if self.pending_byte.take().is_some() {
            self.stats.truncated_bytes += 1;
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
        self.stats.out_of_bounds_max_x = self.stats.out_of_bounds_max_x.max(x);
        self.stats.out_of_bounds_max_y = self.stats.out_of_bounds_max_y.max(y);
        Ok(())
    }

    /// Moves the committed TIME_HIGH to `high` (unwrapped) and updates the counters.
    fn set_high(&mut self, high: u64) {
        if high < self.high {
            self.stats.time_high_backsteps += 1;
        }
        if high != self.high {
            self.fresh_high = true;
        }
        if high > self.max_high {
            self.stats.time_wraps += (high >> 12) - (self.max_high >> 12);
            self.max_high = high;
        }
        self.high = high;
        self.t_ns = ((high << 12) | u64::from(self.low)).saturating_mul(1000);
    }

    /// A TIME_HIGH word with 12-bit value `h` (rules in the module docs). Steps are measured
    /// from the newest TIME_HIGH reached (`max_high`), so backward steps cannot accumulate.
    fn time_high(&mut self, h: u64) {
        if !self.seen_time_high {
            self.seen_time_high = true;
            (self.high, self.max_high) = (h, h);
            self.fresh_high = true;
            self.t_ns = ((h << 12) | u64::from(self.low)).saturating_mul(1000);
            return;
        }
        let tol = TIME_HIGH_TOLERANCE as i64;
        let d = circular_step(self.max_high, h);
        if d.abs() <= tol {
            if self.candidate.take().is_some() {
                self.stats.time_glitches += 1;
            }
            self.set_high(self.max_high.saturating_add_signed(d));
            return;
        }
        if let Some((c, events_then)) = self.candidate.take() {
            let dc = circular_step(c, h);
            if dc.abs() <= tol {
                self.stats.time_jumps += 1;
                self.stats.held_events += self.stats.events - events_then;
                self.set_high(c.saturating_add_signed(dc));
                return;
            }
            self.stats.time_glitches += 1;
        }
        // A large jump: always read forward (a drop of more than the tolerance is a wrap),
        // taken only once the next TIME_HIGH confirms it.
        let forward = (h.wrapping_sub(self.max_high)) & 0xFFF;
        self.candidate = Some((self.max_high + forward, self.stats.events));
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
            kind::TIME_HIGH => self.time_high(u64::from(payload)),
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

    /// Words before the first TIME_HIGH: row, column and polarity state is kept, events
    /// and records are counted in `before_time` and dropped. Returns after the first
    /// TIME_HIGH (consumed) or at the end of `words`.
    fn before_first_time<I: Iterator<Item = (usize, u16)>>(&mut self, words: &mut I) -> Result<(), TrackError> {
        for (offset, w) in words {
            self.stats.words += 1;
            let k = (w >> 12) as u8;
            let payload = w & 0x0FFF;
            match k {
                kind::TIME_HIGH => {
                    self.time_high(u64::from(payload));
                    return Ok(());
                }
                kind::ADDR_Y => self.y = payload & 0x7FF,
                kind::TIME_LOW => self.low = u32::from(payload),
                kind::VECT_BASE_X => {
                    self.base_x = payload & 0x7FF;
                    self.pol = payload & 0x800 != 0;
                }
                kind::VECT_12 => {
                    self.stats.before_time += u64::from(payload.count_ones());
                    self.base_x = (self.base_x + 12) & 0x7FF;
                }
                kind::VECT_8 => {
                    self.stats.before_time += u64::from((payload & 0xFF).count_ones());
                    self.base_x = (self.base_x + 8) & 0x7FF;
                }
                kind::ADDR_X | kind::EXT_TRIGGER | kind::OTHERS => self.stats.before_time += 1,
                kind::CONTINUED_4 | kind::CONTINUED_12 => {}
                _ => {
                    if self.strict {
                        return Err(TrackError::Evt3ReservedType { kind: k, word: w, offset });
                    }
                    self.stats.reserved_words += 1;
                }
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
        let mut words = words.enumerate();
        if !self.seen_time_high {
            self.before_first_time(&mut words)?;
        }
        out.reserve(words.size_hint().0);
        let (width, height) = (self.width, self.height);
        let (mut y, mut base_x, mut pol, mut t_ns) = (self.y, self.base_x, self.pol, self.t_ns);
        let mut hi_us = self.high << 12;
        let mut low = self.low;
        let mut fresh = self.fresh_high;
        let mut pending = self.pending_other.is_some();
        let (mut n_words, mut n_ev, mut low_back) = (0u64, 0u64, 0u64);
        let mut result = Ok(());
        for (offset, w) in words {
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
                    let new = u32::from(payload);
                    low_back += u64::from(!fresh && new < low);
                    fresh = false;
                    low = new;
                    t_ns = (hi_us | u64::from(low)).saturating_mul(1000);
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
                    self.low = low;
                    self.fresh_high = fresh;
                    self.stats.events += n_ev;
                    n_ev = 0;
                    let r = self.slow_word(k, w, offset, aux);
                    t_ns = self.t_ns;
                    hi_us = self.high << 12;
                    fresh = self.fresh_high;
                    pending = self.pending_other.is_some();
                    if let Err(e) = r {
                        result = Err(e);
                        break;
                    }
                }
            }
        }
        (self.y, self.base_x, self.pol, self.t_ns, self.low, self.fresh_high) = (y, base_x, pol, t_ns, low, fresh);
        self.stats.words += n_words;
        self.stats.events += n_ev;
        self.stats.time_low_backsteps += low_back;
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
        let steps = t_us >> 12;
        match self.last_t_us {
            Some(last) if last == t_us => return,
            Some(last) if last >> 12 == steps => {}
            Some(last) => Self::walk_high(last >> 12, steps, out),
            None => {
                // The decoder starts its clock at the first TIME_HIGH, in wrap 0.
                let start = if steps < 4096 { steps } else { 0 };
                Self::push(out, word(kind::TIME_HIGH, (start & 0xFFF) as u16));
                Self::walk_high(start, steps, out);
            }
        }
        Self::push(out, word(kind::TIME_LOW, (t_us & 0xFFF) as u16));
        self.last_t_us = Some(t_us);
    }

    /// TIME_HIGH words from `from` to `to` (unwrapped steps, `from` ≤ `to`): jumps of at most
    /// 2047 steps, each written twice when larger than [`TIME_HIGH_TOLERANCE`] so that the
    /// decoder's confirmation rule takes it at once.
    fn walk_high(mut from: u64, to: u64, out: &mut Vec<u8>) {
        while from < to {
            let step = (to - from).min(2047);
            from += step;
            let w = word(kind::TIME_HIGH, (from & 0xFFF) as u16);
            Self::push(out, w);
            if step > TIME_HIGH_TOLERANCE {
                Self::push(out, w);
            }
        }
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
