//! Caller audio files: 8 kHz mu-law / A-law / PCM and 16 kHz PCM WAV.
