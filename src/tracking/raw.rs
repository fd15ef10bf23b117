//! Metavision RAW files: ASCII header lines `% key value`, closed by `% end`, then the
//! EVT 3.0 byte stream.
use super::evt3::{AuxEvent, DecodeStats, Evt3Decoder, Evt3Encoder};
use super::{Event, TrackError};
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::Path;

/// Longest header accepted, in bytes (a guard against non-RAW input).
pub const MAX_HEADER_BYTES: usize = 1 << 20;

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

    /// Sensor size (width, height) in pixels from `format …;height=H;width=W` or
    /// `geometry WxH`.
    pub fn geometry(&self) -> Option<(u16, u16)> {
        if let Some(f) = self.get("format") {
            let mut w = None;
            let mut h = None;
            for part in f.split(';') {
                if let Some(v) = part.strip_prefix("width=") {
                    w = v.trim().parse().ok();
                } else if let Some(v) = part.strip_prefix("height=") {
                    h = v.trim().parse().ok();
                }
            }
            if let (Some(w), Some(h)) = (w, h) {
                return Some((w, h));
            }
        }
        let g = self.get("geometry")?;
        let (w, h) = g.split_once('x')?;
        Some((w.trim().parse().ok()?, h.trim().parse().ok()?))
    }

    /// Whether the header declares EVT 3.0 (or declares no format at all).
    pub fn is_evt3(&self) -> bool {
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

/// Contents of a decoded RAW file.
#[derive(Debug, Clone)]
pub struct RawRecording {
    /// The header.
    pub header: RawHeader,
    /// Sensor width and height in pixels (from the header, or 2048×2048 if absent).
    pub geometry: (u16, u16),
    /// CD events.
    pub events: Vec<Event>,
    /// Triggers and OTHERS records.
    pub aux: Vec<AuxEvent>,
    /// Decoder counters.
    pub stats: DecodeStats,
}

/// Reads and decodes an EVT 3.0 RAW stream (lenient decoding), in chunks of 64 KiB.
pub fn read_raw<R: Read>(r: R) -> Result<RawRecording, TrackError> {
    let mut r = BufReader::with_capacity(1 << 16, r);
    let header = RawHeader::read(&mut r)?;
    if !header.is_evt3() {
        return Err(TrackError::RawHeader(format!(
            "not an EVT 3.0 recording (evt {:?}, format {:?})",
            header.get("evt"),
            header.get("format")
        )));
    }
    let geometry = header.geometry().unwrap_or((2048, 2048));
    let mut dec = Evt3Decoder::new(geometry.0, geometry.1);
    let mut events = Vec::new();
    let mut aux = Vec::new();
    loop {
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            break;
        }
        let n = buf.len();
        dec.decode_bytes(buf, &mut events, &mut aux)?;
        r.consume(n);
    }
    dec.finish(&mut aux)?;
    Ok(RawRecording { header, geometry, events, aux, stats: *dec.stats() })
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
