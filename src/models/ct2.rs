//! Reader for CTranslate2 model folders (`model.bin` + `vocabulary.txt`).
//!
//! `model.bin` layout (little-endian), as written by CTranslate2's converters:
//! u32 format version, spec name and u32 spec revision (version >= 2),
//! u32 variable count, then per variable: name, u8 rank, u32 dims[rank],
//! u8 dtype, u32 byte count, raw data; then (version >= 3) u32 alias count
//! and (alias, target) name pairs. Names are a u16 byte length followed by
//! the bytes, NUL-terminated. There is no crate for this format.

use std::collections::HashMap;
use std::io::{self, Read};

/// Oldest format version read: the first one with an explicit dtype byte.
const MIN_VERSION: u32 = 4;
/// Newest format version known to keep the layout above.
const MAX_VERSION: u32 = 6;

#[derive(Debug, thiserror::Error)]
pub enum Ct2Error {
    #[error("model.bin is truncated or unreadable")]
    Read(#[from] io::Error),
    #[error(
        "model.bin format version {0} is not supported (expected {MIN_VERSION}..={MAX_VERSION})"
    )]
    UnsupportedVersion(u32),
    #[error("model.bin variable {name:?} has unknown dtype {code}")]
    UnknownDtype { name: String, code: u8 },
    #[error(
        "model.bin variable {name:?} holds {actual} bytes, its shape {shape:?} needs {expected}"
    )]
    SizeMismatch {
        name: String,
        shape: Vec<usize>,
        expected: usize,
        actual: usize,
    },
    #[error("model.bin has a name that is not UTF-8")]
    BadName,
    #[error("model.bin has no variable {0:?}")]
    Missing(String),
    #[error("model.bin variable {name:?} is {dtype:?}, expected {expected}")]
    WrongType {
        name: String,
        dtype: DType,
        expected: &'static str,
    },
}

/// Element types, numbered as in CTranslate2's `DataType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DType {
    F32,
    I8,
    I16,
    I32,
    F16,
    BF16,
}

impl DType {
    fn from_code(code: u8) -> Option<DType> {
        Some(match code {
            0 => DType::F32,
            1 => DType::I8,
            2 => DType::I16,
            3 => DType::I32,
            4 => DType::F16,
            5 => DType::BF16,
            _ => return None,
        })
    }

    pub fn size(self) -> usize {
        match self {
            DType::I8 => 1,
            DType::I16 | DType::F16 | DType::BF16 => 2,
            DType::F32 | DType::I32 => 4,
        }
    }
}

/// One named tensor; `data` is the raw little-endian bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Variable {
    pub shape: Vec<usize>,
    pub dtype: DType,
    pub data: Vec<u8>,
}

impl Variable {
    pub fn elements(&self) -> usize {
        self.shape.iter().product()
    }

    /// Value of an integer scalar (CTranslate2 stores e.g. head counts so).
    pub fn as_int(&self, name: &str) -> Result<i64, Ct2Error> {
        let wrong = || Ct2Error::WrongType {
            name: name.to_string(),
            dtype: self.dtype,
            expected: "an integer scalar",
        };
        if self.elements() != 1 {
            return Err(wrong());
        }
        let d = &self.data;
        Ok(match self.dtype {
            DType::I8 => i64::from(d[0] as i8),
            DType::I16 => i64::from(i16::from_le_bytes([d[0], d[1]])),
            DType::I32 => i64::from(i32::from_le_bytes([d[0], d[1], d[2], d[3]])),
            _ => return Err(wrong()),
        })
    }

    /// Elements widened to f32 (float types only).
    pub fn to_f32(&self, name: &str) -> Result<Vec<f32>, Ct2Error> {
        floats_to_f32(self.dtype, &self.data, name)
    }
}

/// Raw little-endian floats of `dtype` widened to f32; `name` is for errors.
pub fn floats_to_f32(dtype: DType, data: &[u8], name: &str) -> Result<Vec<f32>, Ct2Error> {
    let pairs = || {
        data.chunks_exact(2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
    };
    Ok(match dtype {
        DType::F32 => data
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
        DType::F16 => pairs().map(|b| half::f16::from_bits(b).to_f32()).collect(),
        DType::BF16 => pairs().map(|b| half::bf16::from_bits(b).to_f32()).collect(),
        _ => {
            return Err(Ct2Error::WrongType {
                name: name.to_string(),
                dtype,
                expected: "a float tensor",
            });
        }
    })
}

/// A parsed `model.bin`.
#[derive(Debug, Clone, Default)]
pub struct Ct2Model {
    pub version: u32,
    pub spec: String,
    pub revision: u32,
    variables: HashMap<String, Variable>,
    aliases: HashMap<String, String>,
}

impl Ct2Model {
    /// Reads a whole `model.bin` from a stream (e.g. straight out of a wheel).
    pub fn read(mut r: impl Read) -> Result<Ct2Model, Ct2Error> {
        let version = read_u32(&mut r)?;
        if !(MIN_VERSION..=MAX_VERSION).contains(&version) {
            return Err(Ct2Error::UnsupportedVersion(version));
        }
        let spec = read_name(&mut r)?;
        let revision = read_u32(&mut r)?;
        let count = read_u32(&mut r)?;
        let mut variables = HashMap::new();
        for _ in 0..count {
            let name = read_name(&mut r)?;
            let rank = read_u8(&mut r)?;
            let shape = (0..rank)
                .map(|_| read_u32(&mut r).map(|d| d as usize))
                .collect::<Result<Vec<_>, _>>()?;
            let code = read_u8(&mut r)?;
            let dtype = DType::from_code(code).ok_or_else(|| Ct2Error::UnknownDtype {
                name: name.clone(),
                code,
            })?;
            let bytes = read_u32(&mut r)? as usize;
            let expected = shape.iter().product::<usize>() * dtype.size();
            if bytes != expected {
                return Err(Ct2Error::SizeMismatch {
                    name,
                    shape,
                    expected,
                    actual: bytes,
                });
            }
            // `take` grows the buffer as data arrives, so a corrupt size
            // ends in a read error rather than a huge allocation.
            let mut data = Vec::new();
            r.by_ref().take(bytes as u64).read_to_end(&mut data)?;
            if data.len() != bytes {
                return Err(Ct2Error::Read(io::ErrorKind::UnexpectedEof.into()));
            }
            variables.insert(name, Variable { shape, dtype, data });
        }
        let mut aliases = HashMap::new();
        for _ in 0..read_u32(&mut r)? {
            let alias = read_name(&mut r)?;
            let target = read_name(&mut r)?;
            aliases.insert(alias, target);
        }
        Ok(Ct2Model {
            version,
            spec,
            revision,
            variables,
            aliases,
        })
    }

    /// A variable by name, following aliases.
    pub fn get(&self, name: &str) -> Result<&Variable, Ct2Error> {
        let target = self.aliases.get(name).map_or(name, String::as_str);
        self.variables
            .get(target)
            .ok_or_else(|| Ct2Error::Missing(name.to_string()))
    }

    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_ok()
    }
}

/// `vocabulary.txt`: one token per line, line number = token id. Tokens are
/// in GPT-2's byte-to-unicode spelling, so none contains a newline.
pub fn read_vocabulary(text: &str) -> Vec<&str> {
    let text = text.strip_suffix('\n').unwrap_or(text);
    text.split('\n').collect()
}

fn read_u8(r: &mut impl Read) -> io::Result<u8> {
    let mut b = [0u8; 1];
    r.read_exact(&mut b)?;
    Ok(b[0])
}

fn read_u32(r: &mut impl Read) -> io::Result<u32> {
    let mut b = [0u8; 4];
    r.read_exact(&mut b)?;
    Ok(u32::from_le_bytes(b))
}

fn read_name(r: &mut impl Read) -> Result<String, Ct2Error> {
    let mut len = [0u8; 2];
    r.read_exact(&mut len)?;
    let mut bytes = vec![0u8; usize::from(u16::from_le_bytes(len))];
    r.read_exact(&mut bytes)?;
    if bytes.last() == Some(&0) {
        bytes.pop();
    }
    String::from_utf8(bytes).map_err(|_| Ct2Error::BadName)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Builds a `model.bin` the way CTranslate2 writes it.
    #[derive(Default)]
    pub(crate) struct Writer {
        vars: Vec<(String, Vec<u32>, u8, Vec<u8>)>,
        aliases: Vec<(String, String)>,
    }

    fn name(out: &mut Vec<u8>, s: &str) {
        out.extend_from_slice(&(s.len() as u16 + 1).to_le_bytes());
        out.extend_from_slice(s.as_bytes());
        out.push(0);
    }

    impl Writer {
        pub(crate) fn var(&mut self, n: &str, shape: &[u32], dtype: u8, data: Vec<u8>) {
            self.vars.push((n.into(), shape.to_vec(), dtype, data));
        }

        pub(crate) fn f16(&mut self, n: &str, shape: &[u32], values: &[f32]) {
            let data = values
                .iter()
                .flat_map(|&v| half::f16::from_f32(v).to_bits().to_le_bytes())
                .collect();
            self.var(n, shape, 4, data);
        }

        pub(crate) fn alias(&mut self, alias: &str, target: &str) {
            self.aliases.push((alias.into(), target.into()));
        }

        pub(crate) fn bytes(&self, version: u32) -> Vec<u8> {
            let mut out = version.to_le_bytes().to_vec();
            name(&mut out, "WhisperSpec");
            out.extend_from_slice(&3u32.to_le_bytes());
            out.extend_from_slice(&(self.vars.len() as u32).to_le_bytes());
            for (n, shape, dtype, data) in &self.vars {
                name(&mut out, n);
                out.push(shape.len() as u8);
                for d in shape {
                    out.extend_from_slice(&d.to_le_bytes());
                }
                out.push(*dtype);
                out.extend_from_slice(&(data.len() as u32).to_le_bytes());
                out.extend_from_slice(data);
            }
            out.extend_from_slice(&(self.aliases.len() as u32).to_le_bytes());
            for (a, t) in &self.aliases {
                name(&mut out, a);
                name(&mut out, t);
            }
            out
        }
    }

    fn sample() -> Writer {
        let mut w = Writer::default();
        w.var("encoder/num_heads", &[], 2, 6i16.to_le_bytes().to_vec());
        w.f16(
            "decoder/embeddings/weight",
            &[2, 3],
            &[1.0, -2.0, 0.5, 0.0, 3.0, 4.0],
        );
        w.var(
            "scale",
            &[2],
            0,
            [1.5f32, -1.0]
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect(),
        );
        w.alias("decoder/projection/weight", "decoder/embeddings/weight");
        w
    }

    #[test]
    fn reads_header_variables_and_aliases() {
        let m = Ct2Model::read(&sample().bytes(6)[..]).unwrap();
        assert_eq!(
            (m.version, m.spec.as_str(), m.revision),
            (6, "WhisperSpec", 3)
        );
        let emb = m.get("decoder/embeddings/weight").unwrap();
        assert_eq!(emb.shape, [2, 3]);
        assert_eq!(emb.dtype, DType::F16);
        assert_eq!(emb.to_f32("e").unwrap(), [1.0, -2.0, 0.5, 0.0, 3.0, 4.0]);
        assert_eq!(m.get("decoder/projection/weight").unwrap(), emb);
        assert_eq!(m.get("encoder/num_heads").unwrap().as_int("h").unwrap(), 6);
        assert_eq!(m.get("scale").unwrap().to_f32("s").unwrap(), [1.5, -1.0]);
        assert!(matches!(m.get("nope"), Err(Ct2Error::Missing(_))));
    }

    #[test]
    fn truncated_file_is_an_error_not_a_panic() {
        let bytes = sample().bytes(6);
        for cut in [0, 3, 10, 40, bytes.len() - 1] {
            assert!(Ct2Model::read(&bytes[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn rejects_unknown_version_dtype_and_size() {
        let err = Ct2Model::read(&sample().bytes(99)[..]).unwrap_err();
        assert!(matches!(err, Ct2Error::UnsupportedVersion(99)));

        let mut w = Writer::default();
        w.var("x", &[1], 9, vec![0]);
        let err = Ct2Model::read(&w.bytes(6)[..]).unwrap_err();
        assert!(matches!(err, Ct2Error::UnknownDtype { code: 9, .. }));

        let mut w = Writer::default();
        w.var("x", &[3], 0, vec![0; 8]);
        let err = Ct2Model::read(&w.bytes(6)[..]).unwrap_err();
        assert!(matches!(
            err,
            Ct2Error::SizeMismatch {
                expected: 12,
                actual: 8,
                ..
            }
        ));
    }

    #[test]
    fn vocabulary_lines_are_token_ids() {
        assert_eq!(read_vocabulary("a\n\nĠb\n"), ["a", "", "Ġb"]);
        assert_eq!(read_vocabulary("a\nb"), ["a", "b"]);
    }
}
