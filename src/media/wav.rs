//! Caller audio files: 8 kHz mu-law / A-law / PCM and 16 kHz PCM WAV.
//!
//! Files are written with hound. Reading walks the RIFF chunks by hand:
//! hound refuses G.711 format tags (6 and 7), which is what phone
//! recordings usually are, and it skips chunks without their RIFF pad byte,
//! so a PCM file with an odd-sized LIST chunk before 'data' fails in hound.
//! Walking the chunks here classifies every file, gives a precise error for
//! anything unsupported, and leaves only a trivial payload decode.

use std::path::{Path, PathBuf};

use thiserror::Error;

use super::g711;
use super::resample::upsample_8k_to_16k;

/// What the caller's samples were stored as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Pcm16,
    MuLaw,
    ALaw,
}

/// Decoded caller audio: mono linear PCM at the file's sample rate.
#[derive(Debug, Clone, PartialEq)]
pub struct CallerAudio {
    pub sample_rate: u32,
    pub encoding: Encoding,
    pub samples: Vec<i16>,
}

/// The formats [`read_wav`] accepts, for error messages.
pub const ACCEPTED_FORMATS: &str =
    "mono 8 kHz mu-law, 8 kHz A-law, 8 kHz 16-bit PCM, or 16 kHz 16-bit PCM";

#[derive(Debug, Error)]
pub enum WavError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: hound::Error },
    #[error("not a WAV file: expected a RIFF/WAVE header, found {found}")]
    NotWav { found: String },
    #[error("truncated WAV file: {what}")]
    Truncated { what: String },
    #[error("malformed WAV file: {what}")]
    Malformed { what: String },
    #[error("unsupported WAV format: found {found}; accepted: {ACCEPTED_FORMATS}")]
    Unsupported { found: String },
}

const FORMAT_PCM: u16 = 1;
const FORMAT_FLOAT: u16 = 3;
const FORMAT_ALAW: u16 = 6;
const FORMAT_MULAW: u16 = 7;
const FORMAT_EXTENSIBLE: u16 = 0xFFFE;
/// Bytes 2..16 of every WAVE_FORMAT_EXTENSIBLE sub-format GUID; the first
/// two bytes hold the plain format tag.
const SUBFORMAT_GUID_TAIL: [u8; 14] = [
    0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71,
];

/// Read and decode a caller WAV file.
pub fn read_wav(path: &Path) -> Result<CallerAudio, WavError> {
    let bytes = std::fs::read(path).map_err(|source| WavError::Read {
        path: path.to_owned(),
        source,
    })?;
    read_wav_bytes(&bytes)
}

/// Decode a caller WAV file held in memory.
pub fn read_wav_bytes(bytes: &[u8]) -> Result<CallerAudio, WavError> {
    let chunks = parse_riff(bytes)?;
    let format = parse_fmt(chunks.fmt)?;
    let encoding = format.accepted_encoding()?;
    let samples = match encoding {
        Encoding::MuLaw => g711::decode_ulaw(chunks.data),
        Encoding::ALaw => g711::decode_alaw(chunks.data),
        Encoding::Pcm16 => chunks
            .data
            .chunks_exact(2)
            .map(|b| i16::from_le_bytes([b[0], b[1]]))
            .collect(),
    };
    Ok(CallerAudio {
        sample_rate: format.sample_rate,
        encoding,
        samples,
    })
}

/// Write mono 16-bit PCM.
pub fn write_wav_pcm16(path: &Path, sample_rate: u32, samples: &[i16]) -> Result<(), WavError> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let write = || -> Result<(), hound::Error> {
        let mut writer = hound::WavWriter::create(path, spec)?;
        let mut samples_writer = writer.get_i16_writer(samples.len() as u32);
        for &s in samples {
            samples_writer.write_sample(s);
        }
        samples_writer.flush()?;
        writer.finalize()
    };
    write().map_err(|source| WavError::Write {
        path: path.to_owned(),
        source,
    })
}

/// The caller's audio as 16 kHz samples in -1..1, upsampling 8 kHz files.
pub fn to_16k_f32(audio: &CallerAudio) -> Vec<f32> {
    match audio.sample_rate {
        16_000 => audio
            .samples
            .iter()
            .map(|&s| f32::from(s) / 32768.0)
            .collect(),
        // read_wav only produces 8 or 16 kHz.
        _ => upsample_8k_to_16k(&audio.samples),
    }
}

struct Chunks<'a> {
    fmt: &'a [u8],
    data: &'a [u8],
}

fn parse_riff(bytes: &[u8]) -> Result<Chunks<'_>, WavError> {
    if bytes.len() < 12 {
        if bytes.len() >= 4 && &bytes[..4] != b"RIFF" {
            return Err(not_wav(bytes));
        }
        return Err(truncated(format!(
            "{} bytes, shorter than the 12-byte RIFF header",
            bytes.len()
        )));
    }
    if &bytes[..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
        return Err(not_wav(bytes));
    }
    let mut fmt = None;
    let mut data = None;
    let mut offset = 12;
    while offset < bytes.len() && (fmt.is_none() || data.is_none()) {
        let Some(header) = bytes.get(offset..offset + 8) else {
            return Err(truncated(format!("chunk header cut off at byte {offset}")));
        };
        let id = &header[..4];
        let size = u32::from_le_bytes([header[4], header[5], header[6], header[7]]) as usize;
        let body_start = offset + 8;
        let body_end = body_start.saturating_add(size);
        let Some(body) = bytes.get(body_start..body_end) else {
            return Err(truncated(format!(
                "chunk '{}' declares {size} bytes but only {} remain",
                String::from_utf8_lossy(id),
                bytes.len() - body_start
            )));
        };
        match id {
            b"fmt " => fmt = Some(body),
            b"data" => data = Some(body),
            _ => {}
        }
        // Chunks are padded to an even length.
        offset = body_end.saturating_add(size % 2);
    }
    match (fmt, data) {
        (Some(fmt), Some(data)) => Ok(Chunks { fmt, data }),
        (None, _) => Err(malformed("no 'fmt ' chunk".into())),
        (_, None) => Err(malformed("no 'data' chunk".into())),
    }
}

struct Format {
    tag: u16,
    channels: u16,
    sample_rate: u32,
    bits_per_sample: u16,
}

fn parse_fmt(fmt: &[u8]) -> Result<Format, WavError> {
    if fmt.len() < 16 {
        return Err(truncated(format!(
            "'fmt ' chunk is {} bytes, needs at least 16",
            fmt.len()
        )));
    }
    let u16_at = |i: usize| u16::from_le_bytes([fmt[i], fmt[i + 1]]);
    let mut format = Format {
        tag: u16_at(0),
        channels: u16_at(2),
        sample_rate: u32::from_le_bytes([fmt[4], fmt[5], fmt[6], fmt[7]]),
        bits_per_sample: u16_at(14),
    };
    let block_align = u16_at(12);
    if format.tag == FORMAT_EXTENSIBLE {
        if fmt.len() < 40 {
            return Err(truncated(format!(
                "extensible 'fmt ' chunk is {} bytes, needs 40",
                fmt.len()
            )));
        }
        if fmt[26..40] != SUBFORMAT_GUID_TAIL {
            return Err(WavError::Unsupported {
                found: "an extensible format with a non-standard sub-format GUID".into(),
            });
        }
        format.tag = u16_at(24);
    }
    let expected_align = u32::from(format.channels) * u32::from(format.bits_per_sample) / 8;
    if format.channels > 0 && u32::from(block_align) != expected_align {
        return Err(malformed(format!(
            "block align {block_align} does not match {} channel(s) of {} bits",
            format.channels, format.bits_per_sample
        )));
    }
    Ok(format)
}

impl Format {
    fn accepted_encoding(&self) -> Result<Encoding, WavError> {
        let encoding = match (self.tag, self.bits_per_sample) {
            (FORMAT_PCM, 16) => Some(Encoding::Pcm16),
            (FORMAT_MULAW, 8) => Some(Encoding::MuLaw),
            (FORMAT_ALAW, 8) => Some(Encoding::ALaw),
            _ => None,
        };
        let rate_ok = match encoding {
            Some(Encoding::Pcm16) => matches!(self.sample_rate, 8_000 | 16_000),
            Some(_) => self.sample_rate == 8_000,
            None => false,
        };
        match encoding {
            Some(encoding) if rate_ok && self.channels == 1 => Ok(encoding),
            _ => Err(WavError::Unsupported {
                found: self.describe(),
            }),
        }
    }

    fn describe(&self) -> String {
        let kind = match (self.tag, self.bits_per_sample) {
            (FORMAT_PCM, bits) => format!("{bits}-bit PCM"),
            (FORMAT_FLOAT, bits) => format!("{bits}-bit float"),
            (FORMAT_MULAW, bits) => format!("{bits}-bit mu-law"),
            (FORMAT_ALAW, bits) => format!("{bits}-bit A-law"),
            (tag, bits) => format!("format tag {tag:#06x} with {bits} bits"),
        };
        let channels = match self.channels {
            1 => "mono".to_string(),
            2 => "stereo".to_string(),
            n => format!("{n} channels"),
        };
        format!("{channels} {} Hz {kind}", self.sample_rate)
    }
}

fn not_wav(bytes: &[u8]) -> WavError {
    let head = &bytes[..bytes.len().min(12)];
    WavError::NotWav {
        found: format!("{:?}", String::from_utf8_lossy(head)),
    }
}

fn truncated(what: String) -> WavError {
    WavError::Truncated { what }
}

fn malformed(what: String) -> WavError {
    WavError::Malformed { what }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A WAV file image with the given fmt fields and payload.
    fn wav_bytes(tag: u16, channels: u16, rate: u32, bits: u16, data: &[u8]) -> Vec<u8> {
        let align = channels * bits / 8;
        let mut fmt = Vec::new();
        fmt.extend(tag.to_le_bytes());
        fmt.extend(channels.to_le_bytes());
        fmt.extend(rate.to_le_bytes());
        fmt.extend((rate * u32::from(align)).to_le_bytes());
        fmt.extend(align.to_le_bytes());
        fmt.extend(bits.to_le_bytes());
        if tag != FORMAT_PCM {
            fmt.extend(0u16.to_le_bytes());
        }
        riff(&fmt, data)
    }

    fn extensible_bytes(subformat: u16, rate: u32, bits: u16, data: &[u8]) -> Vec<u8> {
        let align = bits / 8;
        let mut fmt = Vec::new();
        fmt.extend(FORMAT_EXTENSIBLE.to_le_bytes());
        fmt.extend(1u16.to_le_bytes());
        fmt.extend(rate.to_le_bytes());
        fmt.extend((rate * u32::from(align)).to_le_bytes());
        fmt.extend(align.to_le_bytes());
        fmt.extend(bits.to_le_bytes());
        fmt.extend(22u16.to_le_bytes());
        fmt.extend(bits.to_le_bytes());
        fmt.extend(4u32.to_le_bytes()); // front centre
        fmt.extend(subformat.to_le_bytes());
        fmt.extend(SUBFORMAT_GUID_TAIL);
        riff(&fmt, data)
    }

    fn riff(fmt: &[u8], data: &[u8]) -> Vec<u8> {
        let mut body = b"WAVE".to_vec();
        // An odd-sized chunk before fmt, to check padding is honoured.
        body.extend(b"LIST");
        body.extend(3u32.to_le_bytes());
        body.extend([1, 2, 3, 0]);
        body.extend(b"fmt ");
        body.extend((fmt.len() as u32).to_le_bytes());
        body.extend(fmt);
        body.extend(b"data");
        body.extend((data.len() as u32).to_le_bytes());
        body.extend(data);
        let mut out = b"RIFF".to_vec();
        out.extend((body.len() as u32).to_le_bytes());
        out.extend(body);
        out
    }

    fn pcm_bytes(samples: &[i16]) -> Vec<u8> {
        samples.iter().flat_map(|s| s.to_le_bytes()).collect()
    }

    #[test]
    fn reads_mu_law_and_a_law() {
        let pcm: Vec<i16> = (0..400)
            .map(|i| ((i * 97) % 20000 - 10000) as i16)
            .collect();
        let ulaw = g711::encode_ulaw(&pcm);
        let audio = read_wav_bytes(&wav_bytes(FORMAT_MULAW, 1, 8000, 8, &ulaw)).unwrap();
        assert_eq!(audio.encoding, Encoding::MuLaw);
        assert_eq!(audio.sample_rate, 8000);
        assert_eq!(audio.samples, g711::decode_ulaw(&ulaw));

        let alaw = g711::encode_alaw(&pcm);
        let audio = read_wav_bytes(&extensible_bytes(FORMAT_ALAW, 8000, 8, &alaw)).unwrap();
        assert_eq!(audio.encoding, Encoding::ALaw);
        assert_eq!(audio.samples, g711::decode_alaw(&alaw));
    }

    #[test]
    fn reads_pcm_at_8_and_16_khz() {
        let pcm: Vec<i16> = (0..321).map(|i| (i * 100 - 16000) as i16).collect();
        for rate in [8000, 16000] {
            let audio = read_wav_bytes(&wav_bytes(FORMAT_PCM, 1, rate, 16, &pcm_bytes(&pcm)));
            let audio = audio.unwrap();
            assert_eq!((audio.sample_rate, audio.encoding), (rate, Encoding::Pcm16));
            assert_eq!(audio.samples, pcm);
        }
        let audio = read_wav_bytes(&extensible_bytes(FORMAT_PCM, 16000, 16, &pcm_bytes(&pcm)));
        assert_eq!(audio.unwrap().samples, pcm);
    }

    #[test]
    fn written_pcm_reads_back() {
        let dir = std::env::temp_dir().join(format!("ivr-wav-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("roundtrip.wav");
        let pcm: Vec<i16> = (0..1000).map(|i| (i * 31 % 6000) as i16).collect();
        write_wav_pcm16(&path, 16000, &pcm).unwrap();
        let audio = read_wav(&path).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(audio.sample_rate, 16000);
        assert_eq!(audio.samples, pcm);
    }

    #[test]
    fn rejects_unsupported_formats_saying_what_was_found() {
        let cases = [
            (
                wav_bytes(FORMAT_PCM, 2, 8000, 16, &[0; 8]),
                "stereo 8000 Hz 16-bit PCM",
            ),
            (
                wav_bytes(FORMAT_PCM, 1, 44100, 16, &[0; 8]),
                "mono 44100 Hz 16-bit PCM",
            ),
            (
                wav_bytes(FORMAT_FLOAT, 1, 16000, 32, &[0; 8]),
                "mono 16000 Hz 32-bit float",
            ),
            (
                wav_bytes(FORMAT_PCM, 1, 8000, 8, &[0; 8]),
                "mono 8000 Hz 8-bit PCM",
            ),
            (
                wav_bytes(FORMAT_MULAW, 1, 16000, 8, &[0; 8]),
                "mono 16000 Hz 8-bit mu-law",
            ),
            (wav_bytes(0x55, 1, 8000, 0, &[]), "format tag 0x0055"),
        ];
        for (bytes, found) in cases {
            let err = read_wav_bytes(&bytes).unwrap_err();
            let message = err.to_string();
            assert!(matches!(err, WavError::Unsupported { .. }), "{message}");
            assert!(message.contains(found), "{message}");
            assert!(message.contains(ACCEPTED_FORMATS), "{message}");
        }
    }

    #[test]
    fn garbage_and_truncated_input_give_errors_not_panics() {
        let good = wav_bytes(FORMAT_MULAW, 1, 8000, 8, &[0xFF; 100]);
        // Every prefix of a good file, and assorted garbage.
        for len in 0..good.len() {
            let result = read_wav_bytes(&good[..len]);
            assert!(result.is_err(), "prefix of {len} bytes accepted");
        }
        let err = read_wav_bytes(&good[..40]).unwrap_err();
        assert!(matches!(err, WavError::Truncated { .. }), "{err}");
        let err = read_wav_bytes(b"ID3\x04 this is an mp3").unwrap_err();
        assert!(matches!(err, WavError::NotWav { .. }), "{err}");
        let mut noise = 0x1234_5678u32;
        for len in [0, 3, 12, 44, 1000] {
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    noise ^= noise << 13;
                    noise ^= noise >> 17;
                    noise ^= noise << 5;
                    noise as u8
                })
                .collect();
            assert!(read_wav_bytes(&bytes).is_err());
            // A valid header followed by garbage chunks.
            let mut riffed = b"RIFF\0\0\0\0WAVE".to_vec();
            riffed.extend(&bytes);
            assert!(read_wav_bytes(&riffed).is_err());
        }
        let err = read_wav(Path::new("/nonexistent/caller.wav")).unwrap_err();
        assert!(matches!(err, WavError::Read { .. }), "{err}");
    }

    #[test]
    fn to_16k_doubles_8k_audio_and_scales_to_unit_range() {
        let audio = CallerAudio {
            sample_rate: 8000,
            encoding: Encoding::Pcm16,
            samples: vec![16384; 800],
        };
        let out = to_16k_f32(&audio);
        assert_eq!(out.len(), 1600);
        assert!((out[800] - 0.5).abs() < 0.01);
        let audio = CallerAudio {
            sample_rate: 16000,
            encoding: Encoding::Pcm16,
            samples: vec![-32768, 16384],
        };
        assert_eq!(to_16k_f32(&audio), vec![-1.0, 0.5]);
    }
}
