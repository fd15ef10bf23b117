//! `spikectl track` as a user runs it: on the real recording, piped into a reader that
//! stops early (`| head`), and on corrupt files (random bytes, no geometry, cut tail).
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/events/evt3_trigger/");

fn spikectl() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_spikectl"));
    c.env("RUST_BACKTRACE", "0");
    c
}

#[test]
fn a_closed_stdout_ends_track_quietly() {
    for fmt in [None, Some("--json"), Some("--csv")] {
        let mut cmd = spikectl();
        cmd.args(["track", &format!("{DIR}recording.raw"), "--every", "1"]);
        if let Some(f) = fmt {
            cmd.arg(f);
        }
        let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        assert!(!line.is_empty());
        drop(out); // like `| head -1`
        let res = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&res.stderr);
        assert!(res.status.success(), "{fmt:?}: {:?} {err}", res.status);
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn json_lines_stream_one_object_per_window() {
    let res =
        spikectl().args(["track", &format!("{DIR}recording.raw"), "--json", "--tracker", "cluster"]).output().unwrap();
    assert!(res.status.success());
    let text = String::from_utf8(res.stdout).unwrap();
    let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines[0]["type"], "header");
    let summary = lines.last().unwrap();
    assert_eq!(summary["type"], "summary");
    assert_eq!(summary["decode_stats"]["events"], 82_469);
    let windows = lines.iter().filter(|l| l["type"] == "window").count();
    assert_eq!(summary["windows"]["windows"], windows);
    assert!(windows <= 1253, "{windows}");
}

fn temp_file(name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let p = std::env::temp_dir().join(format!("spikectl-cli-{}-{name}", std::process::id()));
    std::fs::File::create(&p).unwrap().write_all(bytes).unwrap();
    p
}

#[test]
fn corrupt_files_give_a_clear_error_or_counted_damage() {
    let rec = std::fs::read(format!("{DIR}recording.raw")).unwrap();
    let body_at = rec.windows(6).position(|w| w == b"% end\n").unwrap() + 6;
    // 4 MB of random bytes behind a valid header: runs to the end, reports the damage.
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    let mut noise = b"% evt 3.0\n% geometry 1280x720\n% end\n".to_vec();
    noise.extend((0..4 << 20).map(|_| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x as u8
    }));
    let p = temp_file("noise.raw", &noise);
    let res =
        spikectl().args(["track", p.to_str().unwrap(), "--tracker", "cluster", "--every", "1000"]).output().unwrap();
    let err = String::from_utf8_lossy(&res.stderr);
    assert!(res.status.success(), "{err}");
    assert!(err.contains("reserved types"), "{err}");
    // No geometry: an error that says what to do; with --geometry it runs.
    let mut nogeo = b"% evt 3.0\n% end\n".to_vec();
    nogeo.extend_from_slice(&rec[body_at..]);
    let p2 = temp_file("nogeo.raw", &nogeo);
    let res = spikectl().args(["track", p2.to_str().unwrap()]).output().unwrap();
    let err = String::from_utf8_lossy(&res.stderr);
    assert!(!res.status.success() && err.contains("--geometry"), "{err}");
    let res = spikectl().args(["track", p2.to_str().unwrap(), "--geometry", "1280x720"]).output().unwrap();
    assert!(res.status.success());
    assert!(String::from_utf8_lossy(&res.stdout).contains("82469 events"));
    // A cut last word: decoded up to it, reported.
    let p3 = temp_file("cut.raw", &rec[..rec.len() - 1]);
    let res = spikectl().args(["track", p3.to_str().unwrap()]).output().unwrap();
    let err = String::from_utf8_lossy(&res.stderr);
    assert!(res.status.success() && err.contains("middle of a word"), "{err}");
    for p in [p, p2, p3] {
        let _ = std::fs::remove_file(p);
    }
}
