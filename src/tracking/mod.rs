//! tracking (see ARCHITECTURE.md)
