//! Metavision RAW files: ASCII header lines `% key value`, closed by `% end`, then the
//! EVT 3.0 byte stream.
//!
//! [`RawReader`] decodes a file chunk by chunk (memory independent of the file's length);
//! [`read_raw`] collects a whole file. Rules:
//! - the sensor geometry comes from the header (`format …;height=H;width=W` or
//!   `geometry WxH`); a header without one is an error unless the caller gives a geometry
//!   ([`RawReader::with_geometry`], `spikectl track --geometry`), two disagreeing
//!   declarations are an error, and each side must be 1–2048 px (EVT 3.0 addresses have
//!   11 bits, so 2047 is the last column/row);
//! - events outside the geometry are dropped and counted
//!   ([`DecodeStats::out_of_bounds`], with the largest column/row seen);
//! - a body whose last word is cut in half is decoded up to the last complete word and the
//!   cut is counted ([`DecodeStats::truncated_bytes`]), not refused.
use super::evt3::{AuxEvent, DecodeStats, Evt3Decoder, Evt3Encoder};
use super::stream::MAX_SIDE;
use super::{Event, TrackError};
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::Path;

/// Longest header accepted, in bytes (a guard against non-RAW input).
pub(crate) const MAX_HEADER_BYTES: usize = 1 << 20;

/// A RAW header: its `% key value` lines in file order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RawHeader {
    /// (key, value) pairs, in file order (the closing `% end` is not stored).
    pub entries: Vec<(String, String)>,
}

impl RawHeader {
    /// The header Metavision writes for an EVT 3.0 recording of a `width`×`height` sensor.
    pub fn evt3(width: u16, height: u16) -> Self {
        let mut h = Self::default();
        h.set("camera_integrator_name", "spikectl");
        h.set("evt", "3.0");
        h.set("format", &format!("EVT3;height={height};width={width}"));
        h.set("geometry", &format!("{width}x{height}"));
        h
    }

    /// The value of the first line with `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// Sets `key` (replacing its first occurrence, else appending).
    pub fn set(&mut self, key: &str, value: &str) {
        match self.entries.iter_mut().find(|(k, _)| k == key) {
            Some(e) => e.1 = value.to_string(),
            None => self.entries.push((key.to_string(), value.to_string())),
        }
    }

    /// Sensor size (width, height) in pixels from `format …;height=H;width=W` and/or
    /// `geometry WxH`; `Ok(None)` when the header declares none. Unparsable values, two
    /// declarations that disagree, and sides outside 1–2048 px are errors.
    pub fn geometry(&self) -> Result<Option<(u16, u16)>, TrackError> {
        let num = |v: &str, what: &str| {
            v.trim().parse::<u32>().map_err(|_| TrackError::RawHeader(format!("{what} {v:?} is not a number")))
        };
        let mut from_format = None;
        if let Some(f) = self.get("format") {
            let (mut w, mut h) = (None, None);
            for part in f.split(';') {
                if let Some(v) = part.strip_prefix("width=") {
                    w = Some(num(v, "format width")?);
                } else if let Some(v) = part.strip_prefix("height=") {
                    h = Some(num(v, "format height")?);
                }
            }
            match (w, h) {
                (Some(w), Some(h)) => from_format = Some((w, h)),
                (None, None) => {}
                _ => return Err(TrackError::RawHeader(format!("format {f:?} gives only one of width and height"))),
            }
        }
        let from_geometry = match self.get("geometry") {
            Some(g) => {
                let (w, h) = g
                    .split_once('x')
                    .ok_or_else(|| TrackError::RawHeader(format!("geometry {g:?} is not WIDTHxHEIGHT")))?;
                Some((num(w, "geometry width")?, num(h, "geometry height")?))
            }
            None => None,
        };
        let (w, h) = match (from_format, from_geometry) {
            (Some(a), Some(b)) if a != b => {
                return Err(TrackError::RawHeader(format!(
                    "format says {}x{}, geometry says {}x{}",
                    a.0, a.1, b.0, b.1
                )));
            }
            (Some(a), _) | (None, Some(a)) => a,
            (None, None) => return Ok(None),
        };
        validate_geometry(w, h).map(Some)
    }

    /// Whether the header declares EVT 3.0 (or declares no format at all).
    pub(crate) fn is_evt3(&self) -> bool {
        match (self.get("evt"), self.get("format")) {
            (Some(e), _) => e.trim() == "3.0",
            (None, Some(f)) => f.split(';').next().is_some_and(|s| s.trim().eq_ignore_ascii_case("evt3")),
            (None, None) => true,
        }
    }

    /// Reads a header from the start of a RAW stream; stops after `% end` or before the
    /// first byte that does not start a `%` line.
    pub fn read<R: BufRead>(r: &mut R) -> Result<Self, TrackError> {
        let mut h = Self::default();
        let mut total = 0usize;
        let mut line = Vec::new();
        loop {
            let buf = r.fill_buf()?;
            if buf.first() != Some(&b'%') {
                return Ok(h);
            }
            line.clear();
            r.by_ref().take((MAX_HEADER_BYTES + 1 - total) as u64).read_until(b'\n', &mut line)?;
            total += line.len();
            if total > MAX_HEADER_BYTES {
                return Err(TrackError::RawHeader(format!("header longer than {MAX_HEADER_BYTES} bytes")));
            }
            let text = std::str::from_utf8(&line)
                .map_err(|_| TrackError::RawHeader("header line is not UTF-8".into()))?
                .trim_start_matches('%')
                .trim();
            if text == "end" {
                return Ok(h);
            }
            if text.is_empty() {
                continue;
            }
            let (k, v) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
            h.entries.push((k.to_string(), v.trim().to_string()));
        }
    }

    /// Writes the header lines and the closing `% end`.
    pub fn write<W: Write>(&self, w: &mut W) -> Result<(), TrackError> {
        for (k, v) in &self.entries {
            if k.is_empty() || k.contains(char::is_whitespace) || v.contains('\n') || k == "end" {
                return Err(TrackError::RawHeader(format!("cannot write header entry {k:?} = {v:?}")));
            }
            writeln!(w, "% {k} {v}")?;
        }
        writeln!(w, "% end")?;
        Ok(())
    }
}

/// Checks a sensor geometry for EVT 3.0: each side 1–2048 px (11-bit addresses).
pub(crate) fn validate_geometry(width: u32, height: u32) -> Result<(u16, u16), TrackError> {
    if width == 0 || height == 0 || width > MAX_SIDE || height > MAX_SIDE {
        return Err(TrackError::RawHeader(format!(
            "geometry {width}x{height} is not possible for EVT 3.0 (each side 1 to {MAX_SIDE} px)"
        )));
    }
    Ok((width as u16, height as u16))
}

/// Contents of a decoded RAW file.
#[derive(Debug, Clone)]
pub struct RawRecording {
    /// The header.
    pub header: RawHeader,
    /// Sensor width and height in pixels (from the header, or the caller's geometry).
    pub geometry: (u16, u16),
    /// CD events.
    pub events: Vec<Event>,
    /// Triggers and OTHERS records.
    pub aux: Vec<AuxEvent>,
    /// Decoder counters (including out-of-sensor events and a cut last word).
    pub stats: DecodeStats,
}

/// Bytes of the file read per [`RawReader::next_chunk`].
pub(crate) const CHUNK_BYTES: usize = 1 << 16;

/// A RAW file decoded chunk by chunk: memory is one chunk of bytes and its events.
pub struct RawReader<R> {
    r: BufReader<R>,
    header: RawHeader,
    geometry: (u16, u16),
    dec: Evt3Decoder,
    done: bool,
}

impl<R: Read> RawReader<R> {
    /// Reads the header; the geometry must come from it.
    pub fn new(r: R) -> Result<Self, TrackError> {
        Self::with_geometry(r, None)
    }

    /// Reads the header; `geometry` (width, height) [px], when given, is used instead of
    /// the header's (which must then still be well formed), and makes a header without
    /// one acceptable.
    pub fn with_geometry(r: R, geometry: Option<(u16, u16)>) -> Result<Self, TrackError> {
        let mut r = BufReader::with_capacity(CHUNK_BYTES, r);
        let header = RawHeader::read(&mut r)?;
        if !header.is_evt3() {
            return Err(TrackError::RawHeader(format!(
                "not an EVT 3.0 recording (evt {:?}, format {:?})",
                header.get("evt"),
                header.get("format")
            )));
        }
        let declared = header.geometry()?;
        let geometry = match (geometry, declared) {
            (Some((w, h)), _) => validate_geometry(u32::from(w), u32::from(h))?,
            (None, Some(g)) => g,
            (None, None) => {
                return Err(TrackError::RawHeader(
                    "the header declares no sensor geometry (no `format …;height=H;width=W` or `geometry WxH` \
                     line): give one explicitly (spikectl track --geometry WxH)"
                        .into(),
                ));
            }
        };
        let dec = Evt3Decoder::new(geometry.0, geometry.1);
        Ok(Self { r, header, geometry, dec, done: false })
    }

    /// The header.
    pub fn header(&self) -> &RawHeader {
        &self.header
    }

    /// Sensor (width, height) used for decoding [px].
    pub fn geometry(&self) -> (u16, u16) {
        self.geometry
    }

    /// Decoder counters so far.
    pub fn stats(&self) -> &DecodeStats {
        self.dec.stats()
    }

    /// Sensor time of the decoder [ns] (the newest TIME_HIGH/TIME_LOW).
    pub fn time_ns(&self) -> u64 {
        self.dec.time_ns()
    }

    /// Decodes the next chunk of at most [`CHUNK_BYTES`] bytes, appending to `out` and
    /// `aux`; `Ok(false)` once the file is exhausted. A cut last word ends the file
    /// normally and is counted in [`DecodeStats::truncated_bytes`].
    pub(crate) fn next_chunk(&mut self, out: &mut Vec<Event>, aux: &mut Vec<AuxEvent>) -> Result<bool, TrackError> {
        if self.done {
            return Ok(false);
        }
        let buf = self.r.fill_buf()?;
        if buf.is_empty() {
            self.done = true;
            match self.dec.finish(aux) {
                Ok(()) | Err(TrackError::Truncated { .. }) => return Ok(false),
                Err(e) => return Err(e),
            }
        }
        let n = buf.len();
        self.dec.decode_bytes(buf, out, aux)?;
        self.r.consume(n);
        Ok(true)
    }
}

/// Reads and decodes a whole EVT 3.0 RAW stream (lenient decoding); the geometry must be
/// in the header.
pub fn read_raw<R: Read>(r: R) -> Result<RawRecording, TrackError> {
    read_raw_with(r, None)
}

/// [`read_raw`] with an explicit geometry (see [`RawReader::with_geometry`]).
pub fn read_raw_with<R: Read>(r: R, geometry: Option<(u16, u16)>) -> Result<RawRecording, TrackError> {
    let mut rd = RawReader::with_geometry(r, geometry)?;
    let mut events = Vec::new();
    let mut aux = Vec::new();
    while rd.next_chunk(&mut events, &mut aux)? {}
    Ok(RawRecording { geometry: rd.geometry, stats: *rd.stats(), header: rd.header, events, aux })
}
/// Reads a RAW file from disk.
pub fn read_raw_file(path: &Path) -> Result<RawRecording, TrackError> {
    read_raw(std::fs::File::open(path)?)
}

/// Writes `header` and `events` (EVT 3.0) to `w`.
pub fn write_raw<W: Write>(w: W, header: &RawHeader, events: &[Event]) -> Result<(), TrackError> {
    let mut w = BufWriter::new(w);
    header.write(&mut w)?;
    let mut enc = Evt3Encoder::new();
    let mut buf = Vec::with_capacity(1 << 16);
    for chunk in events.chunks(16 * 1024) {
        buf.clear();
        enc.encode(chunk, &mut buf)?;
        w.write_all(&buf)?;
    }
    w.flush()?;
    Ok(())
}

/// Writes a RAW file to disk.
pub fn write_raw_file(path: &Path, header: &RawHeader, events: &[Event]) -> Result<(), TrackError> {
    write_raw(std::fs::File::create(path)?, header, events)
}
