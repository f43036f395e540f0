//! The engine's TOML configuration.
