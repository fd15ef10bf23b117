//! Robot models below the MPC and the controllers: quadruped leg kinematics, Jacobians and
//! gravity torques ([`leg`]), and the 7-DoF arm's kinematics and statics ([`arm_kin`]). Both
//! are built from the robot descriptions (`spikectl_robot::robots`).

pub mod arm_kin;
pub mod leg;
