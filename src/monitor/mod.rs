//! monitor (see ARCHITECTURE.md)
