//! MCAP recording of ROS 2 topics with the ROS 2 message encoding: messages as their CDR
//! bytes (`cdr`), schemas as `ros2msg` text (the type's `.msg` definition followed by every
//! nested type's, each after a `MSG: pkg/Type` separator line), so the file opens in
//! Foxglove, PlotJuggler and the `ros2 bag` tools. Written with Foxglove's `mcap` crate,
//! chunked, uncompressed.
//!
//! The `.msg` definitions are read from the ament prefixes (`AMENT_PREFIX_PATH`,
//! `share/<pkg>/msg/<Type>.msg`), where the interface packages install them.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

/// Errors of the recorder.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// File system error.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// MCAP writer error.
    #[error("mcap: {0}")]
    Mcap(#[from] mcap::McapError),
    /// A message definition was not found or is malformed.
    #[error("message definition: {0}")]
    Definition(String),
}

const SEPARATOR: &str = "================================================================================";

const PRIMITIVES: [&str; 17] = [
    "bool", "byte", "char", "float32", "float64", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64",
    "uint64", "string", "wstring", "octet", "float",
];

/// `pkg/Type` of a full type name `pkg/msg/Type` or `pkg/Type`.
fn short_name(full: &str) -> Result<(String, String), RecordError> {
    let parts: Vec<&str> = full.split('/').collect();
    match parts.as_slice() {
        [pkg, "msg", t] | [pkg, t] if !pkg.is_empty() && !t.is_empty() => Ok((pkg.to_string(), t.to_string())),
        _ => Err(RecordError::Definition(format!("type name {full:?} is not pkg/msg/Type"))),
    }
}

fn find_msg(prefixes: &[PathBuf], pkg: &str, ty: &str) -> Result<String, RecordError> {
    for p in prefixes {
        let f = p.join("share").join(pkg).join("msg").join(format!("{ty}.msg"));
        if let Ok(s) = std::fs::read_to_string(&f) {
            return Ok(s);
        }
    }
    Err(RecordError::Definition(format!("{pkg}/msg/{ty}.msg not found under AMENT_PREFIX_PATH")))
}

/// The nested message types a `.msg` text of package `pkg` refers to, as (pkg, Type).
fn nested_types(text: &str, pkg: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        let Some(ty) = line.split_whitespace().next() else { continue };
        // Constants (`TYPE NAME=VALUE`) have primitive types: skipped below.
        let base = ty.split('[').next().unwrap_or(ty);
        let base = base.split("<=").next().unwrap_or(base);
        if PRIMITIVES.contains(&base) {
            continue;
        }
        let t = match base.split('/').collect::<Vec<_>>().as_slice() {
            ["Header"] => ("std_msgs".to_string(), "Header".to_string()),
            [t] => (pkg.to_string(), t.to_string()),
            [p, t] | [p, "msg", t] => (p.to_string(), t.to_string()),
            _ => continue,
        };
        out.push(t);
    }
    out
}

/// The `ros2msg` schema text of `full_type` (`pkg/msg/Type`): its definition, then each
/// nested type's once, depth first, after a separator and `MSG: pkg/Type`.
pub fn ros2msg_schema(prefixes: &[PathBuf], full_type: &str) -> Result<String, RecordError> {
    let (pkg, ty) = short_name(full_type)?;
    let root = find_msg(prefixes, &pkg, &ty)?;
    let mut out = root.trim_end().to_string();
    out.push('\n');
    let mut seen: BTreeSet<(String, String)> = BTreeSet::new();
    let mut stack: Vec<(String, String)> = nested_types(&root, &pkg).into_iter().rev().collect();
    while let Some((p, t)) = stack.pop() {
        if !seen.insert((p.clone(), t.clone())) {
            continue;
        }
        let text = find_msg(prefixes, &p, &t)?;
        out.push_str(&format!("{SEPARATOR}\nMSG: {p}/{t}\n{}\n", text.trim_end()));
        stack.extend(nested_types(&text, &p).into_iter().rev());
    }
    Ok(out)
}

/// The ament prefixes of `AMENT_PREFIX_PATH`.
pub fn ament_prefixes() -> Vec<PathBuf> {
    std::env::var("AMENT_PREFIX_PATH")
        .unwrap_or_default()
        .split(':')
        .filter(|s| !s.is_empty())
        .map(PathBuf::from)
        .collect()
}

/// An open MCAP recording.
pub struct McapRecorder {
    writer: mcap::Writer<BufWriter<File>>,
    prefixes: Vec<PathBuf>,
    schemas: HashMap<String, u16>,
    channels: HashMap<String, (u16, u32)>,
    counts: BTreeMap<String, u64>,
    path: PathBuf,
}

impl McapRecorder {
    /// Creates `path` (and its folder) for recording; schemas come from `prefixes`.
    pub fn create(path: &Path, prefixes: Vec<PathBuf>) -> Result<Self, RecordError> {
        if let Some(d) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(d)?;
        }
        let file = BufWriter::new(File::create(path)?);
        let writer = mcap::WriteOptions::new().profile("ros2").compression(None).create(file)?;
        Ok(Self {
            writer,
            prefixes,
            schemas: HashMap::new(),
            channels: HashMap::new(),
            counts: BTreeMap::new(),
            path: path.to_path_buf(),
        })
    }

    /// Adds a channel for `topic` of type `full_type` (`pkg/msg/Type`); idempotent.
    pub fn add_topic(&mut self, topic: &str, full_type: &str) -> Result<(), RecordError> {
        if self.channels.contains_key(topic) {
            return Ok(());
        }
        let schema = match self.schemas.get(full_type) {
            Some(&id) => id,
            None => {
                let text = ros2msg_schema(&self.prefixes, full_type)?;
                let (p, t) = short_name(full_type)?;
                let id = self.writer.add_schema(&format!("{p}/msg/{t}"), "ros2msg", text.as_bytes())?;
                self.schemas.insert(full_type.to_string(), id);
                id
            }
        };
        let id = self.writer.add_channel(schema, topic, "cdr", &BTreeMap::new())?;
        self.channels.insert(topic.to_string(), (id, 0));
        self.counts.insert(topic.to_string(), 0);
        Ok(())
    }

    /// Writes one CDR-serialized message on `topic` (added before) at `time_ns` [ns since
    /// the epoch, or ROS time].
    pub fn write(&mut self, topic: &str, time_ns: u64, cdr: &[u8]) -> Result<(), RecordError> {
        let Some((id, seq)) = self.channels.get_mut(topic) else {
            return Err(RecordError::Definition(format!("topic {topic} was not added")));
        };
        *seq = seq.wrapping_add(1);
        let header =
            mcap::records::MessageHeader { channel_id: *id, sequence: *seq, log_time: time_ns, publish_time: time_ns };
        self.writer.write_to_known_channel(&header, cdr)?;
        *self.counts.entry(topic.to_string()).or_default() += 1;
        Ok(())
    }

    /// Messages written per topic [count].
    pub fn counts(&self) -> &BTreeMap<String, u64> {
        &self.counts
    }

    /// The file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes the summary and footer and closes the file; returns the counts per topic.
    pub fn finish(mut self) -> Result<BTreeMap<String, u64>, RecordError> {
        self.writer.finish()?;
        Ok(self.counts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_text_carries_nested_definitions_once() {
        let dir = std::env::temp_dir().join(format!("spikectl-mcap-schema-{}", std::process::id()));
        let w = |pkg: &str, t: &str, text: &str| {
            let d = dir.join("share").join(pkg).join("msg");
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join(format!("{t}.msg")), text).unwrap();
        };
        w("std_msgs", "Header", "builtin_interfaces/Time stamp\nstring frame_id\n");
        w("builtin_interfaces", "Time", "int32 sec\nuint32 nanosec\n");
        w("p", "Item", "# an item\nfloat64 x\nHeader header\n");
        w("p", "List", "std_msgs/Header header\nItem[] items\np/Item[<=3] few\nuint8 K=3\nstring s\n");
        let text = ros2msg_schema(std::slice::from_ref(&dir), "p/msg/List").unwrap();
        assert!(text.starts_with("std_msgs/Header header\n"));
        for m in ["MSG: std_msgs/Header", "MSG: builtin_interfaces/Time", "MSG: p/Item"] {
            assert_eq!(text.matches(m).count(), 1, "{m} in\n{text}");
        }
        assert_eq!(text.matches(SEPARATOR).count(), 3);
        assert!(ros2msg_schema(std::slice::from_ref(&dir), "p/msg/Missing").is_err());
        assert!(ros2msg_schema(std::slice::from_ref(&dir), "nonsense").is_err());
        let _ = std::fs::remove_dir_all(dir);
    }
}
