//! control (see ARCHITECTURE.md)
