//! Smoke test: the real MuJoCo (libmujoco 3.17.0 from the PyPI wheel that scripts/setup.sh
//! installs, driven through `mujoco-rs`) loads MJCF models and steps them, and the motion
//! follows the physics: free fall under g, then a ball at rest on the floor.

use mujoco_rs::prelude::*;

/// Gravity used in the models [m/s²] (MuJoCo's default is (0, 0, −9.81)).
const G: f64 = 9.81;

const FREE_FALL: &str = r#"
<mujoco model="free fall">
  <option timestep="0.001" integrator="RK4" gravity="0 0 -9.81"/>
  <worldbody>
    <body name="ball" pos="0 0 10">
      <freejoint/>
      <geom type="sphere" size="0.05" mass="1"/>
    </body>
  </worldbody>
</mujoco>
"#;

const DROP_ON_FLOOR: &str = r#"
<mujoco model="drop on floor">
  <option timestep="0.002" gravity="0 0 -9.81"/>
  <worldbody>
    <geom name="floor" type="plane" size="5 5 0.1"/>
    <body name="ball" pos="0 0 0.5">
      <freejoint/>
      <geom type="sphere" size="0.1" mass="1"/>
    </body>
  </worldbody>
</mujoco>
"#;

#[test]
fn free_fall_follows_gravity() {
    let model = MjModel::from_xml_string(FREE_FALL).expect("MuJoCo rejected the MJCF");
    assert_eq!(model.ffi().nq, 7, "a free joint has 7 position coordinates");
    assert_eq!(model.ffi().nv, 6, "a free joint has 6 velocity coordinates");
    let mut data = model.make_data();
    let z0 = data.qpos()[2];
    assert!((z0 - 10.0).abs() < 1e-12, "initial height {z0}");
    let steps = 500;
    for _ in 0..steps {
        data.step();
    }
    let t = data.ffi().time;
    assert!((t - 0.5).abs() < 1e-9, "simulated time {t}");
    // RK4 integrates constant acceleration exactly: z = z0 − ½ g t², vz = −g t.
    let z = data.qpos()[2];
    let vz = data.qvel()[2];
    assert!((z - (z0 - 0.5 * G * t * t)).abs() < 1e-9, "z = {z} at t = {t}");
    assert!((vz + G * t).abs() < 1e-9, "vz = {vz} at t = {t}");
    // No horizontal drift and no rotation.
    assert!(data.qpos()[0].abs() < 1e-12 && data.qpos()[1].abs() < 1e-12);
    assert!((data.qpos()[3] - 1.0).abs() < 1e-12, "orientation quaternion changed");
}

#[test]
fn ball_comes_to_rest_on_the_floor() {
    let model = MjModel::from_xml_string(DROP_ON_FLOOR).expect("MuJoCo rejected the MJCF");
    let mut data = model.make_data();
    let mut min_z = f64::INFINITY;
    let mut saw_contact = false;
    for _ in 0..1500 {
        data.step();
        min_z = min_z.min(data.qpos()[2]);
        saw_contact |= data.ffi().ncon > 0;
    }
    assert!(saw_contact, "the ball never touched the floor");
    // Soft contacts allow a few millimetres of penetration, never a fall through the floor.
    assert!(min_z > 0.08, "ball sank to z = {min_z}");
    let z = data.qpos()[2];
    let vz = data.qvel()[2];
    assert!((z - 0.1).abs() < 5e-3, "resting height {z}, expected the radius 0.1 m");
    assert!(vz.abs() < 1e-2, "ball still moving: vz = {vz}");
    assert!(data.qpos().iter().chain(data.qvel()).all(|v| v.is_finite()));
}
