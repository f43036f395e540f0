//! 8 kHz to 16 kHz resampling (rubato), streaming in 20 ms chunks.
