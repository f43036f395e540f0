//! Rewrites a whisper.cpp ggml model with its weight matrices in ggml's
//! 8-bit block format (Q8_0), as whisper.cpp's own `quantize` tool does:
//! every 2-D tensor except the conv biases and positional embeddings
//! becomes blocks of 32 int8 values with one f16 scale. Conv kernels (3-D)
//! stay f16 and norms and biases stay f32, which is what whisper.cpp's
//! loader expects of a Q8_0 file.
//!
//! On this project's CPUs (AVX2 and wider) the int8 dot products make the
//! encoder and decoder faster at a word error rate within noise of f16;
//! `ivr bench asr --model` measures both.

use std::io::{self, Read, Write};

const GGML_MAGIC: u32 = 0x6767_6d6c;
const GGML_TYPE_F32: i32 = 0;
const GGML_TYPE_F16: i32 = 1;
const GGML_TYPE_Q8_0: i32 = 8;
const GGML_FTYPE_MOSTLY_Q8_0: i32 = 7;
/// whisper.cpp stores `ftype + GGML_QNT_VERSION * 1000` for quantized files.
const GGML_QNT_VERSION: i32 = 2;
const QK8_0: usize = 32;
/// Tensors whisper.cpp's quantize tool leaves alone although they are 2-D.
const KEEP: [&str; 4] = [
    "encoder.conv1.bias",
    "encoder.conv2.bias",
    "encoder.positional_embedding",
    "decoder.positional_embedding",
];

#[derive(Debug, thiserror::Error)]
pub enum QuantizeError {
    #[error("not a ggml Whisper model (bad magic)")]
    BadMagic,
    #[error("the model is already quantized (ftype {0})")]
    NotF16(i32),
    #[error("tensor {name:?} has unexpected type {ttype} or shape {dims:?}")]
    BadTensor {
        name: String,
        ttype: i32,
        dims: Vec<i32>,
    },
    #[error("reading or writing the model failed")]
    Io(#[from] io::Error),
}

fn read_i32(r: &mut impl Read) -> io::Result<i32> {
    let mut b = [0u8; 4];
    r.read_exact(&mut b)?;
    Ok(i32::from_le_bytes(b))
}

/// Copies `n` bytes from `r` to `w`.
fn copy_n(r: &mut impl Read, w: &mut impl Write, n: u64) -> io::Result<()> {
    let copied = io::copy(&mut r.take(n), w)?;
    if copied != n {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    Ok(())
}

fn count(v: i32) -> io::Result<u64> {
    u64::try_from(v).map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "negative size"))
}

/// Streams an f16 ggml Whisper model from `input` to `output` as Q8_0.
/// `progress(tensors_done)` is called after each tensor.
pub fn quantize_q8_0(
    mut input: impl Read,
    mut output: impl Write,
    mut progress: impl FnMut(usize),
) -> Result<(), QuantizeError> {
    let magic = read_i32(&mut input)? as u32;
    if magic != GGML_MAGIC {
        return Err(QuantizeError::BadMagic);
    }
    output.write_all(&magic.to_le_bytes())?;
    let mut hparams = [0i32; 11];
    for h in &mut hparams {
        *h = read_i32(&mut input)?;
    }
    if hparams[10] % 1000 != GGML_TYPE_F16 {
        return Err(QuantizeError::NotF16(hparams[10]));
    }
    hparams[10] = GGML_QNT_VERSION * 1000 + GGML_FTYPE_MOSTLY_Q8_0;
    for h in hparams {
        output.write_all(&h.to_le_bytes())?;
    }
    // Mel filters: n_mel, n_fft, then n_mel * n_fft f32.
    let (n_mel, n_fft) = (read_i32(&mut input)?, read_i32(&mut input)?);
    output.write_all(&n_mel.to_le_bytes())?;
    output.write_all(&n_fft.to_le_bytes())?;
    copy_n(&mut input, &mut output, count(n_mel)? * count(n_fft)? * 4)?;
    // Vocabulary: count, then (length, bytes) per token.
    let n_vocab = read_i32(&mut input)?;
    output.write_all(&n_vocab.to_le_bytes())?;
    for _ in 0..n_vocab {
        let len = read_i32(&mut input)?;
        output.write_all(&len.to_le_bytes())?;
        copy_n(&mut input, &mut output, count(len)?)?;
    }

    let mut done = 0;
    loop {
        // End of file is the clean end of the tensor list.
        let mut first = [0u8; 4];
        match input.read(&mut first)? {
            0 => break,
            4 => {}
            n => input.read_exact(&mut first[n..])?,
        }
        let n_dims = i32::from_le_bytes(first);
        let name_len = read_i32(&mut input)?;
        let ttype = read_i32(&mut input)?;
        let dims = (0..n_dims.clamp(0, 4))
            .map(|_| read_i32(&mut input))
            .collect::<io::Result<Vec<_>>>()?;
        let mut name = vec![0u8; count(name_len)? as usize];
        input.read_exact(&mut name)?;
        let name = String::from_utf8_lossy(&name).into_owned();
        let elements = dims
            .iter()
            .map(|&d| count(d))
            .product::<io::Result<u64>>()?;
        let bad = || QuantizeError::BadTensor {
            name: name.clone(),
            ttype,
            dims: dims.clone(),
        };

        let quantize = n_dims == 2 && ttype == GGML_TYPE_F16 && !KEEP.contains(&name.as_str());
        let out_type = if quantize { GGML_TYPE_Q8_0 } else { ttype };
        for v in [n_dims, name_len, out_type].iter().chain(&dims) {
            output.write_all(&v.to_le_bytes())?;
        }
        output.write_all(name.as_bytes())?;
        if quantize {
            if !(dims[0] as usize).is_multiple_of(QK8_0) {
                return Err(bad());
            }
            let mut data = vec![0u8; elements as usize * 2];
            input.read_exact(&mut data)?;
            let values: Vec<f32> = data
                .chunks_exact(2)
                .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect();
            output.write_all(&q8_0_blocks(&values))?;
        } else {
            let width = match ttype {
                GGML_TYPE_F32 => 4,
                GGML_TYPE_F16 => 2,
                _ => return Err(bad()),
            };
            copy_n(&mut input, &mut output, elements * width)?;
        }
        done += 1;
        progress(done);
    }
    output.flush()?;
    Ok(())
}

/// ggml's reference Q8_0 quantization: per 32 values, scale = max|x| / 127
/// (stored f16) and the values rounded to int8 multiples of it.
fn q8_0_blocks(values: &[f32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(values.len() / QK8_0 * (2 + QK8_0));
    for block in values.chunks(QK8_0) {
        let amax = block.iter().fold(0.0f32, |m, x| m.max(x.abs()));
        let d = amax / 127.0;
        let inv = if d != 0.0 { 1.0 / d } else { 0.0 };
        out.extend_from_slice(&half::f16::from_f32(d).to_le_bytes());
        out.extend(block.iter().map(|x| (x * inv).round() as i8 as u8));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn q8_0_block_keeps_values_within_half_a_step() {
        let values: Vec<f32> = (0..64).map(|i| (i as f32 - 30.0) / 17.0).collect();
        let bytes = q8_0_blocks(&values);
        assert_eq!(bytes.len(), 2 * 34);
        for (b, chunk) in bytes.chunks(34).zip(values.chunks(32)) {
            let d = half::f16::from_le_bytes([b[0], b[1]]).to_f32();
            for (q, x) in b[2..].iter().zip(chunk) {
                let back = f32::from(*q as i8) * d;
                assert!((back - x).abs() <= d * 0.51 + 1e-6, "{back} vs {x}");
            }
        }
    }

    #[test]
    fn zero_block_has_zero_scale() {
        let bytes = q8_0_blocks(&[0.0; 32]);
        assert!(bytes.iter().all(|&b| b == 0));
    }

    #[test]
    fn rejects_what_is_not_ggml() {
        let err = quantize_q8_0(&b"not a model at all"[..], Vec::new(), |_| {});
        assert!(matches!(err, Err(QuantizeError::BadMagic)));
        let err = quantize_q8_0(&b"lmgg"[..], Vec::new(), |_| {});
        assert!(matches!(err, Err(QuantizeError::Io(_))));
    }
}
