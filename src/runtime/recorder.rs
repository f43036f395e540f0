//! Per-call recordings: what the caller said and what the engine played,
//! as two 8 kHz 16-bit mono WAV files side by side in the recordings
//! folder, `<call id>-caller.wav` and `<call id>-engine.wav`.
//!
//! The runtime gives both tracks 20 ms every tick (the engine track gets
//! silence while nothing plays, via [`CallRecorder::silence_engine`]), so
//! sample `n` of one file is the same instant as sample `n` of the other;
//! `finish` pads the shorter one so they also end together.

use std::fs::File;
use std::io::{BufWriter, Seek, Write};
use std::path::{Path, PathBuf};

use hound::{SampleFormat, WavSpec, WavWriter};
use thiserror::Error;

pub const SAMPLE_RATE: u32 = 8_000;
/// Headers are rewritten this often (5 s of audio), so a crash leaves
/// playable files missing at most the last seconds.
const HEADER_EVERY_SAMPLES: u64 = 5 * SAMPLE_RATE as u64;
/// Longest call id kept in a file name.
const MAX_NAME_CHARS: usize = 96;

#[derive(Debug, Error)]
pub enum RecorderError {
    #[error("cannot create the recordings folder {path}: {source}")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot create recording {path}: {source}")]
    Create {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write recording {path}: {source}")]
    Write { path: PathBuf, source: hound::Error },
    /// A write failed earlier; the files hold what was written before it.
    #[error("recording {path} is incomplete: {reason}")]
    Incomplete { path: PathBuf, reason: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingPaths {
    pub caller: PathBuf,
    pub engine: PathBuf,
}

/// Where a track's bytes go: its file, or in unit tests a disk that fills.
trait Sink: Write + Seek + Send {}
impl<T: Write + Seek + Send> Sink for T {}

struct Track {
    path: PathBuf,
    writer: WavWriter<BufWriter<Box<dyn Sink>>>,
    samples: u64,
}

impl Track {
    fn create(path: PathBuf) -> Result<Track, RecorderError> {
        // create_new: never overwrite another call's recording.
        let file = File::options()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|source| RecorderError::Create {
                path: path.clone(),
                source,
            })?;
        Track::new(path, Box::new(file))
    }

    fn new(path: PathBuf, sink: Box<dyn Sink>) -> Result<Track, RecorderError> {
        let spec = WavSpec {
            channels: 1,
            sample_rate: SAMPLE_RATE,
            bits_per_sample: 16,
            sample_format: SampleFormat::Int,
        };
        let writer =
            WavWriter::new(BufWriter::new(sink), spec).map_err(|source| RecorderError::Write {
                path: path.clone(),
                source,
            })?;
        Ok(Track {
            path,
            writer,
            samples: 0,
        })
    }

    fn write(&mut self, pcm: impl ExactSizeIterator<Item = i16>) -> Result<(), RecorderError> {
        let before = self.samples;
        let result = (|| {
            for sample in pcm {
                self.writer.write_sample(sample)?;
                self.samples += 1;
            }
            if before / HEADER_EVERY_SAMPLES != self.samples / HEADER_EVERY_SAMPLES {
                self.writer.flush()?;
            }
            Ok(())
        })();
        result.map_err(|source| RecorderError::Write {
            path: self.path.clone(),
            source,
        })
    }

    fn finish(self) -> Result<PathBuf, RecorderError> {
        let write_error = |source| RecorderError::Write {
            path: self.path.clone(),
            source,
        };
        self.writer.finalize().map_err(write_error)?;
        // Durable before the call record that names it is saved.
        File::open(&self.path)
            .and_then(|f| f.sync_all())
            .map_err(|e| write_error(hound::Error::IoError(e)))?;
        Ok(self.path)
    }
}

pub struct CallRecorder {
    caller: Track,
    engine: Track,
    /// The first write error; later writes are skipped.
    failed: Option<(PathBuf, String)>,
}

impl std::fmt::Debug for CallRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallRecorder")
            .field("paths", &self.paths())
            .field("samples", &self.samples())
            .field("failed", &self.failed)
            .finish()
    }
}

impl CallRecorder {
    /// Start recording call `call_id` into `dir` (created if missing). The
    /// id is made safe for a file name; if files of that name exist, a
    /// number is added rather than overwrite them.
    pub fn create(dir: &Path, call_id: &str) -> Result<CallRecorder, RecorderError> {
        std::fs::create_dir_all(dir).map_err(|source| RecorderError::CreateDir {
            path: dir.to_owned(),
            source,
        })?;
        let name = file_stem(call_id);
        let mut attempt = 1;
        loop {
            let stem = match attempt {
                1 => name.clone(),
                n => format!("{name}.{n}"),
            };
            let paths = RecordingPaths {
                caller: dir.join(format!("{stem}-caller.wav")),
                engine: dir.join(format!("{stem}-engine.wav")),
            };
            match (Track::create(paths.caller.clone()), attempt) {
                (Ok(caller), _) => {
                    let engine = match Track::create(paths.engine.clone()) {
                        Ok(engine) => engine,
                        Err(e) => {
                            drop(caller);
                            let _ = std::fs::remove_file(&paths.caller);
                            return Err(e);
                        }
                    };
                    return Ok(CallRecorder {
                        caller,
                        engine,
                        failed: None,
                    });
                }
                (Err(RecorderError::Create { source, .. }), n)
                    if source.kind() == std::io::ErrorKind::AlreadyExists && n < 1000 =>
                {
                    attempt += 1;
                }
                (Err(e), _) => return Err(e),
            }
        }
    }

    pub fn paths(&self) -> RecordingPaths {
        RecordingPaths {
            caller: self.caller.path.clone(),
            engine: self.engine.path.clone(),
        }
    }

    /// The next caller audio (8 kHz).
    pub fn caller(&mut self, pcm: &[i16]) -> Result<(), RecorderError> {
        self.write(Side::Caller, pcm.iter().copied())
    }

    /// The next audio the engine played (8 kHz).
    pub fn engine(&mut self, pcm: &[i16]) -> Result<(), RecorderError> {
        self.write(Side::Engine, pcm.iter().copied())
    }

    /// `samples` of engine silence: a tick when nothing was played.
    pub fn silence_engine(&mut self, samples: usize) -> Result<(), RecorderError> {
        self.write(Side::Engine, std::iter::repeat_n(0, samples))
    }

    /// Samples written so far to the caller and engine tracks.
    pub fn samples(&self) -> (u64, u64) {
        (self.caller.samples, self.engine.samples)
    }

    /// Pad the shorter track with silence, close both files and sync them
    /// to disk.
    pub fn finish(mut self) -> Result<RecordingPaths, RecorderError> {
        if self.failed.is_none() {
            let (caller, engine) = self.samples();
            let gap = caller.abs_diff(engine) as usize;
            let side = if caller < engine {
                Side::Caller
            } else {
                Side::Engine
            };
            // A failure here is recorded in `failed`, reported below.
            let _ = self.write(side, std::iter::repeat_n(0, gap));
        }
        let caller = self.caller.finish();
        let engine = self.engine.finish();
        if let Some((path, reason)) = self.failed {
            return Err(RecorderError::Incomplete { path, reason });
        }
        Ok(RecordingPaths {
            caller: caller?,
            engine: engine?,
        })
    }

    fn write(
        &mut self,
        side: Side,
        pcm: impl ExactSizeIterator<Item = i16>,
    ) -> Result<(), RecorderError> {
        if self.failed.is_some() {
            // Reported once; the call goes on without its recording.
            return Ok(());
        }
        let track = match side {
            Side::Caller => &mut self.caller,
            Side::Engine => &mut self.engine,
        };
        track.write(pcm).inspect_err(|e| {
            self.failed = Some((track.path.clone(), e.to_string()));
        })
    }
}

#[derive(Clone, Copy)]
enum Side {
    Caller,
    Engine,
}

/// A call id made safe as a file name: ASCII letters, digits, `-`, `_`,
/// `.` kept, anything else `_`; no leading dot (hidden files, `..`).
pub fn file_stem(call_id: &str) -> String {
    let mut name: String = call_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .take(MAX_NAME_CHARS)
        .collect();
    while name.starts_with('.') {
        name.replace_range(..1, "_");
    }
    if name.is_empty() {
        name.push_str("call");
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A disk with room for `room` bytes.
    struct FillingDisk {
        data: std::io::Cursor<Vec<u8>>,
        room: usize,
    }

    impl Write for FillingDisk {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.data.position() as usize + buf.len() > self.room {
                return Err(std::io::Error::from(std::io::ErrorKind::StorageFull));
            }
            self.data.write(buf)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Seek for FillingDisk {
        fn seek(&mut self, pos: std::io::SeekFrom) -> std::io::Result<u64> {
            self.data.seek(pos)
        }
    }

    fn track(name: &str, room: usize) -> Track {
        let disk = FillingDisk {
            data: std::io::Cursor::new(Vec::new()),
            room,
        };
        Track::new(PathBuf::from(name), Box::new(disk)).unwrap()
    }

    #[test]
    fn a_full_disk_is_reported_once_and_at_finish() {
        let mut recorder = CallRecorder {
            caller: track("caller.wav", 1 << 20),
            engine: track("engine.wav", 20_000),
            failed: None,
        };
        let frame = [100i16; 160];
        let mut errors = Vec::new();
        // 10 s of calls: the engine track's disk fills after ~1.2 s.
        for _ in 0..500 {
            recorder.caller(&frame).unwrap();
            if let Err(e) = recorder.engine(&frame) {
                errors.push(e);
            }
        }
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            matches!(&errors[0], RecorderError::Write { path, .. } if path.ends_with("engine.wav"))
        );
        match recorder.finish() {
            Err(RecorderError::Incomplete { path, reason }) => {
                assert!(path.ends_with("engine.wav"));
                assert!(reason.contains("engine.wav"), "{reason}");
            }
            other => panic!("expected an incomplete recording, got {other:?}"),
        }
    }

    #[test]
    fn call_ids_become_safe_file_names() {
        assert_eq!(file_stem("c-0001_ab.x"), "c-0001_ab.x");
        assert_eq!(file_stem("../../etc/passwd"), "_._.._etc_passwd");
        assert_eq!(file_stem("a3f@192.0.2.1"), "a3f_192.0.2.1");
        assert_eq!(file_stem(".hidden"), "_hidden");
        assert_eq!(file_stem("来电"), "__");
        assert_eq!(file_stem(""), "call");
        assert_eq!(file_stem(&"x".repeat(500)).len(), MAX_NAME_CHARS);
    }
}
