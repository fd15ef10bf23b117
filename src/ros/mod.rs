//! ROS 2 node glue through r2r (cargo feature `ros`).
