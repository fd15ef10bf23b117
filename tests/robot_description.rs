//! Robots that differ from the shipped defaults run in MuJoCo from a description file alone:
//! the scene (MJCF) and the controller's model both come from the file, through the same
//! calls `spikectl run quadruped|arm --robot FILE.yaml` makes.

use spikectl::qp::registry::Backend;
use spikectl::scenario::controllers::{ControllerChoice, arm_controller_for, quadruped_controller_for};
use spikectl::scenario::{RunConfig, Scenario, ScenarioKind, run_arm, run_quadruped};
use spikectl_robot::robots::{ArmParams, GO1, PANDA, QuadrupedParams};
use spikectl_sim::noise::SensorNoise;

fn data(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name)
}

#[test]
fn a_heavier_quadruped_with_longer_legs_trots_from_its_description_file() {
    let robot = QuadrupedParams::from_yaml_file(data("heavy_quadruped.yaml")).expect("description");
    trots(robot, "heavy quadruped (YAML)");
}

/// The same robot as a URDF, with no overlay: geometry, masses and limits from the URDF; the
/// stance (0.30 m, the default's), gains and damping from the shipped defaults.
#[test]
fn a_heavier_quadruped_with_longer_legs_trots_from_its_urdf_alone() {
    let robot = QuadrupedParams::from_file(data("heavy_quadruped.urdf"), None).expect("URDF description");
    let yaml = QuadrupedParams::from_yaml_file(data("heavy_quadruped.yaml")).unwrap();
    assert_eq!((robot.thigh_length, robot.calf_length, robot.trunk_mass), (0.25, 0.25, 7.5));
    assert_eq!((robot.link_masses, robot.torque_limits), (yaml.link_masses, yaml.torque_limits));
    assert_eq!((robot.stand_height, robot.safe_damping), (GO1.stand_height, GO1.safe_damping));
    trots(robot, "heavy quadruped (URDF)");
}

fn trots(robot: QuadrupedParams, label: &str) {
    assert!(robot.total_mass() > GO1.total_mass() * 1.2 && robot.thigh_length > GO1.thigh_length + 0.03);
    let choice = ControllerChoice::mpc(Backend::Osqp);
    let mut scenario = Scenario::new(ScenarioKind::Trot);
    scenario.duration = 5.0;
    let cfg = RunConfig { quadruped: robot, noise: SensorNoise::NONE, ..RunConfig::new(scenario, choice.clone()) };
    let mut ctrl = quadruped_controller_for(&choice, &robot).expect("controller");
    let r = run_quadruped(&cfg, ctrl.as_mut()).expect("run");
    let m = &r.metrics;
    eprintln!(
        "{label}: fell {}, mean vx {:?} m/s (command 0.5), vel RMS {:?}, min height {:?} m, max tilt {:?}°, safety {:?}",
        m.fell, m.mean_vx_mps, m.vel_rms_mps, m.min_height_m, m.max_tilt_deg, m.safety
    );
    assert!(!m.fell, "fell at {:?} s", m.fall_time_s);
    let vx = m.mean_vx_mps.expect("evaluated");
    assert!((vx - 0.5).abs() < 0.15, "mean vx {vx} m/s");
    // It stands at its description's height.
    let h = r.trace.col("height").unwrap();
    let late: Vec<f64> = r.trace.rows.iter().filter(|row| row[0] > 2.0).map(|row| row[h]).collect();
    let mean_h = late.iter().sum::<f64>() / late.len() as f64;
    assert!((mean_h - robot.stand_height).abs() < 0.04, "mean trunk height {mean_h} m");
    assert_eq!(m.safety.fault_ticks + m.safety.stale_ticks, 0, "{:?}", m.safety);
}

#[test]
fn an_arm_with_a_longer_heavier_tool_presses_from_its_description_file() {
    let robot = ArmParams::from_yaml_file(data("arm_long_tool.yaml")).expect("description");
    assert!(robot.tool_length > PANDA.tool_length + 0.05 && robot.tool_mass > 4.0 * PANDA.tool_mass);
    let choice = ControllerChoice::mpc(Backend::Osqp);
    let mut scenario = Scenario::new(ScenarioKind::ForceRamp);
    scenario.duration = 5.0;
    let cfg = RunConfig { arm: robot, noise: SensorNoise::NONE, ..RunConfig::new(scenario, choice.clone()) };
    let mut ctrl = arm_controller_for(&choice, &robot).expect("controller");
    let r = run_arm(&cfg, ctrl.as_mut()).expect("run");
    let m = &r.metrics;
    eprintln!(
        "long-tool arm: force RMS {:?} N, hold RMS {:?} N, overshoot {:?} N, contact losses {:?}, safety {:?}",
        m.force_rms_n, m.force_hold_rms_n, m.force_overshoot_n, m.contact_losses, m.safety
    );
    let rms = m.force_rms_n.expect("evaluated");
    assert!(rms < 2.0, "force RMS {rms} N");
    assert_eq!(m.contact_losses, Some(0));
    assert_eq!(m.safety.fault_ticks, 0);
}
