//! Smoke test of ROS 2 Jazzy from the PyPI wheels through r2r: one r2r node publishes and
//! receives `std_msgs/String` and `spikectl_msgs/SolveStats` (the project's own interface
//! package, built by scripts/setup.sh), and an rclpy process exchanges both with it, in both
//! directions. Run by scripts/test.sh inside a network namespace with only loopback.

mod ros_common;

use std::io::Read;
use std::time::Duration;

use r2r::QosProfile;
use r2r::spikectl_msgs::msg::SolveStats;
use r2r::std_msgs::msg::{Header, String as RosString};
use ros_common::{KillOnDrop, context, drain, spawn_python, spin_until, topic};

/// ROS domain of this test binary (other ROS test binaries use other ids).
const DOMAIN: u32 = 87;
/// Upper bound for discovery plus delivery [s]; reached only on failure.
const TIMEOUT: Duration = Duration::from_secs(30);

fn sample_stats(tag: &str) -> SolveStats {
    SolveStats {
        header: Header { frame_id: tag.to_string(), ..Default::default() },
        solver: "spiking".into(),
        status: "Solved".into(),
        iterations: 123,
        solve_time_s: 1.5e-4,
        primal_residual: 2.5e-5,
        dual_residual: 3.5e-5,
        objective: -17.25,
        timesteps: 246,
        messages: 9_876_543_210,
        synops: 42,
        fallback: true,
        node: "/ns/spikectl_quadruped".into(),
        arithmetic: "loihi2-fixed".into(),
        preprocess_time_s: 2.0e-5,
        neuron_updates: 1_000_001,
        idle_neuron_updates: 77,
        readouts: 64,
        readout_checks: 8,
        chip_profile: "loihi2-est".into(),
        chip_cores: 2,
        chip_latency_s: 1.25e-5,
        chip_energy_j: 3.5e-7,
        cpu_watts: 15.0,
        cpu_energy_j: 2.25e-3,
    }
}

#[test]
fn r2r_node_publishes_and_receives_std_and_spikectl_messages() {
    let ctx = context(DOMAIN);
    let mut node = r2r::Node::create(ctx, "spikectl_smoke_loop", "").unwrap();
    let (t_str, t_stats) = (topic("loop_string"), topic("loop_stats"));
    let mut sub_str = node.subscribe::<RosString>(&t_str, QosProfile::default()).unwrap();
    let mut sub_stats = node.subscribe::<SolveStats>(&t_stats, QosProfile::default()).unwrap();
    let pub_str = node.create_publisher::<RosString>(&t_str, QosProfile::default()).unwrap();
    let pub_stats = node.create_publisher::<SolveStats>(&t_stats, QosProfile::default()).unwrap();
    let sent = sample_stats("loop");

    let (mut got_str, mut got_stats) = (None, None);
    let done = spin_until(&mut node, TIMEOUT, || {
        // Publish until both arrive (discovery of the own endpoints takes a moment).
        pub_str.publish(&RosString { data: "hello from r2r".into() }).unwrap();
        pub_stats.publish(&sent).unwrap();
        got_str = got_str.take().or_else(|| drain(&mut sub_str).pop());
        got_stats = got_stats.take().or_else(|| drain(&mut sub_stats).pop());
        (got_str.is_some() && got_stats.is_some()).then_some(())
    });
    assert!(done.is_some(), "no loop-back within {TIMEOUT:?}: str {got_str:?}, stats {got_stats:?}");
    assert_eq!(got_str.unwrap().data, "hello from r2r");
    assert_eq!(got_stats.unwrap(), sent, "SolveStats changed on the way through DDS");
}

/// rclpy side: subscribes to the r2r topics, publishes its own String and SolveStats, and
/// exits (printing what it received) once r2r acknowledged rclpy's messages.
const RCLPY_PEER: &str = r#"
import sys, time, json
import rclpy
from std_msgs.msg import String
from spikectl_msgs.msg import SolveStats

in_str, in_stats, out_str, out_stats, timeout = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5])
rclpy.init()
node = rclpy.create_node("spikectl_smoke_rclpy")
got = {}
def on_str(m):
    if m.data.startswith("ack:"):
        got["ack"] = m.data
    else:
        got["str"] = m.data
def on_stats(m):
    got["stats"] = {"frame_id": m.header.frame_id, "solver": m.solver, "status": m.status,
                    "iterations": m.iterations, "solve_time_s": m.solve_time_s,
                    "messages": m.messages, "fallback": m.fallback}
node.create_subscription(String, in_str, on_str, 10)
node.create_subscription(SolveStats, in_stats, on_stats, 10)
p_str = node.create_publisher(String, out_str, 10)
p_stats = node.create_publisher(SolveStats, out_stats, 10)
s = SolveStats(solver="osqp", status="MaxIterations", iterations=4000, solve_time_s=2.0e-3,
               primal_residual=1e-3, dual_residual=2e-3, objective=3.25, fallback=False)
s.header.frame_id = "from-rclpy"
end = time.monotonic() + timeout
while time.monotonic() < end and not ("str" in got and "stats" in got and "ack" in got):
    p_str.publish(String(data="hello from rclpy"))
    p_stats.publish(s)
    rclpy.spin_once(node, timeout_sec=0.02)
print(json.dumps(got), flush=True)
node.destroy_node()
rclpy.shutdown()
sys.exit(0 if ("str" in got and "stats" in got and "ack" in got) else 3)
"#;

#[test]
fn rclpy_and_r2r_exchange_messages_both_ways() {
    let ctx = context(DOMAIN);
    let mut node = r2r::Node::create(ctx, "spikectl_smoke_r2r", "").unwrap();
    let (to_py_str, to_py_stats) = (topic("to_py_string"), topic("to_py_stats"));
    let (from_py_str, from_py_stats) = (topic("from_py_string"), topic("from_py_stats"));
    let pub_str = node.create_publisher::<RosString>(&to_py_str, QosProfile::default()).unwrap();
    let pub_stats = node.create_publisher::<SolveStats>(&to_py_stats, QosProfile::default()).unwrap();
    let mut sub_str = node.subscribe::<RosString>(&from_py_str, QosProfile::default()).unwrap();
    let mut sub_stats = node.subscribe::<SolveStats>(&from_py_stats, QosProfile::default()).unwrap();

    let timeout_s = TIMEOUT.as_secs().to_string();
    let args = [to_py_str.as_str(), to_py_stats.as_str(), from_py_str.as_str(), from_py_stats.as_str(), &timeout_s];
    let mut child = KillOnDrop(Some(spawn_python(RCLPY_PEER, &args)));
    let sent = sample_stats("from-r2r");

    let (mut got_str, mut got_stats) = (None::<RosString>, None::<SolveStats>);
    let exit = spin_until(&mut node, TIMEOUT + Duration::from_secs(10), || {
        got_str = got_str.take().or_else(|| drain(&mut sub_str).pop());
        got_stats = got_stats.take().or_else(|| drain(&mut sub_stats).pop());
        // Greet rclpy every round (it may discover the topic late) and, once both of its
        // messages arrived, acknowledge them too.
        pub_str.publish(&RosString { data: "hello from r2r".to_string() }).unwrap();
        if let (Some(s), Some(st)) = (&got_str, &got_stats) {
            pub_str.publish(&RosString { data: format!("ack:{}|{}", s.data, st.header.frame_id) }).unwrap();
        }
        pub_stats.publish(&sent).unwrap();
        child.0.as_mut().unwrap().try_wait().unwrap()
    });
    let mut proc = child.0.take().unwrap();
    let Some(status) = exit else {
        let _ = proc.kill();
        let _ = proc.wait();
        panic!("rclpy peer did not finish within the timeout; r2r got str {got_str:?}, stats {got_stats:?}");
    };
    let (mut out, mut err) = (String::new(), String::new());
    proc.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    proc.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert!(status.success(), "rclpy peer failed ({status}): stdout {out}\nstderr {err}");

    // rclpy → r2r
    assert_eq!(got_str.expect("r2r got no String from rclpy").data, "hello from rclpy");
    let st = got_stats.expect("r2r got no SolveStats from rclpy");
    assert_eq!(st.header.frame_id, "from-rclpy");
    assert_eq!((st.solver.as_str(), st.status.as_str(), st.iterations), ("osqp", "MaxIterations", 4000));
    assert_eq!((st.solve_time_s, st.objective, st.fallback), (2.0e-3, 3.25, false));

    // r2r → rclpy (the JSON line rclpy printed)
    let got: serde_json::Value = serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out:?}"));
    assert_eq!(got["str"], "hello from r2r");
    assert_eq!(got["ack"], "ack:hello from rclpy|from-rclpy");
    let s = &got["stats"];
    assert_eq!(s["frame_id"], "from-r2r");
    assert_eq!(s["solver"], "spiking");
    assert_eq!(s["iterations"], 123);
    assert_eq!(s["solve_time_s"], 1.5e-4);
    assert_eq!(s["messages"], 9_876_543_210u64);
    assert_eq!(s["fallback"], true);
}
