//! mpc (see ARCHITECTURE.md)
