//! Voice activity detection and endpointing: turns a stream of 16 kHz
//! samples into utterances.
