//! Event-camera tracking: event types, codecs (Prophesee EVT 3.0, the `mono` encoding of
//! `event_camera_msgs`, Metavision RAW files), the `EventPacket` message type, the ball
//! tracker as a network on the neuromorphic substrate ([`net`], float or Loihi 2 fixed
//! point), the host refinement stage ([`refine`]), a classic event-cluster baseline
//! ([`cluster`]) and its background pricing ([`baseline`]), and [`stream`]: the tracker
//! network on a live packet stream (what the `spikectl-tracker` ROS node runs).
//!
//! Times are integers in nanoseconds (`t_ns`) unless a name says otherwise; pixel
//! coordinates are `x` (column, 0 = left) and `y` (row, 0 = top).

pub mod baseline;
pub mod cluster;
pub mod eval;
pub mod evt3;
pub mod mono;
pub mod net;
pub mod packet;
pub mod raw;
pub mod refine;
pub mod stream;

/// One change-detection event of an event camera.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
pub struct Event {
    /// Timestamp in nanoseconds (monotonic within a stream).
    pub t_ns: u64,
    /// Pixel column (0 = left), in pixels.
    pub x: u16,
    /// Pixel row (0 = top), in pixels.
    pub y: u16,
    /// Polarity: `true` = ON (log intensity increased), `false` = OFF.
    pub p: bool,
}

impl Event {
    /// Builds an event from its fields (`t_ns` in ns, `x`/`y` in pixels, `p` = ON).
    pub const fn new(t_ns: u64, x: u16, y: u16, p: bool) -> Self {
        Self { t_ns, x, y, p }
    }
}

#[cfg(feature = "sim")]
impl From<spikectl_sim::events::Event> for Event {
    fn from(e: spikectl_sim::events::Event) -> Self {
        Self { t_ns: e.t_ns, x: e.x, y: e.y, p: e.p }
    }
}

/// A tracker's estimate of the ball at the end of a packet.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize)]
pub struct Estimate {
    /// Time the estimate refers to (end of the packet), in ns.
    pub t_ns: u64,
    /// Ball centre column, in pixels (pixel centres at k + 0.5).
    pub x: f64,
    /// Ball centre row, in pixels.
    pub y: f64,
    /// Image velocity, columns per second [px/s].
    pub vx: f64,
    /// Image velocity, rows per second [px/s].
    pub vy: f64,
    /// RMS radius of the event cloud used for the estimate, in pixels (≈ the ball's
    /// image radius, since events lie on its rim); 0 when unknown.
    pub radius_px: f64,
}

/// A ball tracker fed with consecutive event packets.
pub trait Tracker {
    /// Short name for reports.
    fn name(&self) -> &'static str;
    /// Processes the events of one packet ending at `t_end_ns` (events in time order, within
    /// the packet) and returns the ball estimate at `t_end_ns`, or `None` when not tracking.
    fn process(&mut self, events: &[Event], t_end_ns: u64) -> Option<Estimate>;
    /// Forgets all state.
    fn reset(&mut self);
    /// Neuromorphic operation counts so far (spiking trackers only).
    fn ops(&self) -> Option<&crate::neuro::OpCounts> {
        None
    }
}

/// Errors of the tracking codecs and file readers.
#[derive(Debug, thiserror::Error)]
pub enum TrackError {
    /// An EVT 3.0 word with a reserved type nibble (strict decoding only).
    #[error("EVT 3.0: reserved word type {kind:#x} (word {word:#06x}) at word offset {offset}")]
    Evt3ReservedType {
        /// The type nibble (top 4 bits).
        kind: u8,
        /// The whole 16-bit word.
        word: u16,
        /// Offset of the word in the chunk, in words.
        offset: usize,
    },
    /// An EVT 3.0 event outside the sensor geometry (strict decoding only).
    #[error("EVT 3.0: event at ({x}, {y}) outside the {width}x{height} sensor")]
    Evt3OutOfBounds {
        /// Column of the event, in pixels.
        x: u16,
        /// Row of the event, in pixels.
        y: u16,
        /// Sensor width, in pixels.
        width: u16,
        /// Sensor height, in pixels.
        height: u16,
    },
    /// A byte stream ended in the middle of a word or record.
    #[error("truncated data: {len} bytes is not a multiple of {unit}")]
    Truncated {
        /// Length of the data, in bytes.
        len: usize,
        /// Record size, in bytes.
        unit: usize,
    },
    /// An event cannot be represented in the target encoding.
    #[error("event not encodable: {0}")]
    NotEncodable(String),
    /// An `EventPacket` encoding this crate does not decode.
    #[error("unsupported event packet encoding {0:?}")]
    UnsupportedEncoding(String),
    /// A malformed RAW file header.
    #[error("RAW header: {0}")]
    RawHeader(String),
    /// An I/O error while reading or writing a file.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}
