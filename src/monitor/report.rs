//! JSON and CSV report writers.

use std::io::Write;
use std::path::Path;

use super::MonitorError;

/// Writes `value` as pretty JSON to `path` (creating parent folders).
pub fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<(), MonitorError> {
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d)?;
    }
    let s = serde_json::to_string_pretty(value)?;
    std::fs::write(path, s)?;
    Ok(())
}

/// Writes a CSV file with a header row and numeric rows (creating parent folders). Every
/// row must have `header.len()` values; non-finite values are written as `NaN`/`inf`.
#[cfg_attr(not(feature = "sim"), allow(dead_code))] // used by the closed-loop runner
pub(crate) fn write_csv(path: &Path, header: &[&str], rows: &[Vec<f64>]) -> Result<(), MonitorError> {
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d)?;
    }
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(out, "{}", header.join(","))?;
    for (i, r) in rows.iter().enumerate() {
        if r.len() != header.len() {
            return Err(MonitorError::Invalid(format!("row {i} has {} values, header {}", r.len(), header.len())));
        }
        let line: Vec<String> = r.iter().map(|v| format!("{v}")).collect();
        writeln!(out, "{}", line.join(","))?;
    }
    out.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_and_json_round_trip() {
        let dir = std::env::temp_dir().join(format!("spikectl-report-{}", std::process::id()));
        let p = dir.join("a.csv");
        write_csv(&p, &["t", "x"], &[vec![0.0, 1.5], vec![0.1, -2.0]]).unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "t,x\n0,1.5\n0.1,-2\n");
        assert!(write_csv(&p, &["t", "x"], &[vec![0.0]]).is_err());
        let j = dir.join("b.json");
        write_json(&j, &vec![1, 2]).unwrap();
        let back: Vec<i32> = serde_json::from_str(&std::fs::read_to_string(&j).unwrap()).unwrap();
        assert_eq!(back, vec![1, 2]);
        let _ = std::fs::remove_dir_all(dir);
    }
}
