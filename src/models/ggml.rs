//! Writes a CTranslate2 Whisper model as a whisper.cpp ggml model file.
//!
//! Layout and tensor naming follow whisper.cpp's `convert-pt-to-ggml.py` and
//! its loader (`whisper_model_load`): magic, 11 i32 hparams, the mel
//! filterbank, the vocabulary as raw token bytes, then tensors as
//! (n_dims, name length, ftype, dims innermost-first, name, data).
//! Matrices are f16; 1-D tensors (conv biases reshaped to `[n, 1]`
//! included) and the positional embeddings are f32, as the loader expects.

use super::ct2::{Ct2Error, Ct2Model, DType, Variable, floats_to_f32};
use super::mel::mel_filters;
use std::io::{self, Write};

const GGML_MAGIC: u32 = 0x6767_6d6c;
const SAMPLE_RATE: u32 = 16_000;
const N_FFT: usize = 400;
/// End of the ordinary BPE tokens in `vocabulary.txt`; whisper.cpp's loader
/// numbers the special tokens from here itself.
const END_OF_TEXT: &str = "<|endoftext|>";

#[derive(Debug, thiserror::Error)]
pub enum GgmlError {
    #[error(transparent)]
    Model(#[from] Ct2Error),
    #[error("not a Whisper model: spec is {0:?}")]
    NotWhisper(String),
    #[error("variable {name:?} has shape {shape:?}, expected {expected}")]
    BadShape {
        name: String,
        shape: Vec<usize>,
        expected: String,
    },
    #[error("vocabulary token {index} ({token:?}) is not GPT-2 byte-level text")]
    BadToken { index: usize, token: String },
    #[error("vocabulary has no {END_OF_TEXT} token")]
    NoEndOfText,
    #[error("writing the ggml file failed")]
    Write(#[from] io::Error),
}

/// whisper.cpp hyper-parameters, in file order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hparams {
    pub n_vocab: usize,
    pub n_audio_ctx: usize,
    pub n_audio_state: usize,
    pub n_audio_head: usize,
    pub n_audio_layer: usize,
    pub n_text_ctx: usize,
    pub n_text_state: usize,
    pub n_text_head: usize,
    pub n_text_layer: usize,
    pub n_mels: usize,
}

impl Hparams {
    pub fn from_model(m: &Ct2Model) -> Result<Hparams, GgmlError> {
        if !m.spec.starts_with("Whisper") {
            return Err(GgmlError::NotWhisper(m.spec.clone()));
        }
        let matrix = |name: &str| -> Result<(usize, usize), GgmlError> {
            let v = m.get(name)?;
            match v.shape[..] {
                [rows, cols] => Ok((rows, cols)),
                _ => Err(bad_shape(name, v, "2 dimensions")),
            }
        };
        let heads = |name: &str| -> Result<usize, GgmlError> {
            let v = m.get(name)?;
            usize::try_from(v.as_int(name)?).map_err(|_| bad_shape(name, v, "a head count"))
        };
        let layers = |prefix: &str| {
            (0..)
                .take_while(|i| m.contains(&format!("{prefix}/layer_{i}/ffn/linear_0/weight")))
                .count()
        };
        let (n_vocab, _) = matrix("decoder/embeddings/weight")?;
        let (n_audio_ctx, n_audio_state) = matrix("encoder/position_encodings/encodings")?;
        let (n_text_ctx, n_text_state) = matrix("decoder/position_encodings/encodings")?;
        let conv1 = m.get("encoder/conv1/weight")?;
        let n_mels = match conv1.shape[..] {
            [_, mels, 3] => mels,
            _ => return Err(bad_shape("encoder/conv1/weight", conv1, "[state, mels, 3]")),
        };
        Ok(Hparams {
            n_vocab,
            n_audio_ctx,
            n_audio_state,
            n_audio_head: heads("encoder/num_heads")?,
            n_audio_layer: layers("encoder"),
            n_text_ctx,
            n_text_state,
            n_text_head: heads("decoder/num_heads")?,
            n_text_layer: layers("decoder"),
            n_mels,
        })
    }
}

fn bad_shape(name: &str, v: &Variable, expected: &str) -> GgmlError {
    GgmlError::BadShape {
        name: name.to_string(),
        shape: v.shape.clone(),
        expected: expected.to_string(),
    }
}

/// How a whisper.cpp tensor is cut out of a CTranslate2 variable.
#[derive(Debug, Clone, PartialEq)]
struct TensorPlan {
    ggml_name: String,
    ct2_name: String,
    /// `Some((part, parts))`: CTranslate2 fuses q/k/v (and cross-attention
    /// k/v) along the first axis; take part `part` of `parts` equal blocks.
    split: Option<(usize, usize)>,
    /// Conv biases gain a trailing unit axis (`[n]` -> `[n, 1]`).
    column: bool,
}

fn plan(h: &Hparams) -> Vec<TensorPlan> {
    let mut plans = Vec::new();
    let mut add = |ggml: String, ct2: String, split: Option<(usize, usize)>| {
        let column = ggml.starts_with("encoder.conv") && ggml.ends_with(".bias");
        plans.push(TensorPlan {
            ggml_name: ggml,
            ct2_name: ct2,
            split,
            column,
        });
    };
    // A linear layer, whole or as one block of a fused projection.
    let mut linear = |ggml: &str, ct2: &str, split: Option<(usize, usize)>, bias: bool| {
        add(format!("{ggml}.weight"), format!("{ct2}/weight"), split);
        if bias {
            add(format!("{ggml}.bias"), format!("{ct2}/bias"), split);
        }
    };
    let norm = |ggml: &str, ct2: &str| {
        [
            (format!("{ggml}.weight"), format!("{ct2}/gamma")),
            (format!("{ggml}.bias"), format!("{ct2}/beta")),
        ]
    };

    let mut tensors: Vec<(String, String)> = vec![
        (
            "encoder.positional_embedding".into(),
            "encoder/position_encodings/encodings".into(),
        ),
        ("encoder.conv1.weight".into(), "encoder/conv1/weight".into()),
        ("encoder.conv1.bias".into(), "encoder/conv1/bias".into()),
        ("encoder.conv2.weight".into(), "encoder/conv2/weight".into()),
        ("encoder.conv2.bias".into(), "encoder/conv2/bias".into()),
    ];
    tensors.extend(norm("encoder.ln_post", "encoder/layer_norm"));
    tensors.push((
        "decoder.positional_embedding".into(),
        "decoder/position_encodings/encodings".into(),
    ));
    tensors.push((
        "decoder.token_embedding.weight".into(),
        "decoder/embeddings/weight".into(),
    ));
    tensors.extend(norm("decoder.ln", "decoder/layer_norm"));

    // Block-level tensors in whisper naming: self-attention, optional
    // cross-attention, MLP. Whisper has no key bias: CTranslate2 stores zeros
    // for it, and a key bias cannot change attention anyway (it adds the same
    // q.b to every score of a row, which softmax ignores), so it is dropped.
    let mut blocks = Vec::new();
    for (side, n_layers) in [("encoder", h.n_audio_layer), ("decoder", h.n_text_layer)] {
        for i in 0..n_layers {
            let g = format!("{side}.blocks.{i}");
            let c = format!("{side}/layer_{i}");
            tensors.extend(norm(
                &format!("{g}.attn_ln"),
                &format!("{c}/self_attention/layer_norm"),
            ));
            let qkv = format!("{c}/self_attention/linear_0");
            blocks.push((format!("{g}.attn.query"), qkv.clone(), Some((0, 3)), true));
            blocks.push((format!("{g}.attn.key"), qkv.clone(), Some((1, 3)), false));
            blocks.push((format!("{g}.attn.value"), qkv, Some((2, 3)), true));
            blocks.push((
                format!("{g}.attn.out"),
                format!("{c}/self_attention/linear_1"),
                None,
                true,
            ));
            if side == "decoder" {
                tensors.extend(norm(
                    &format!("{g}.cross_attn_ln"),
                    &format!("{c}/attention/layer_norm"),
                ));
                let kv = format!("{c}/attention/linear_1");
                blocks.push((
                    format!("{g}.cross_attn.query"),
                    format!("{c}/attention/linear_0"),
                    None,
                    true,
                ));
                blocks.push((
                    format!("{g}.cross_attn.key"),
                    kv.clone(),
                    Some((0, 2)),
                    false,
                ));
                blocks.push((format!("{g}.cross_attn.value"), kv, Some((1, 2)), true));
                blocks.push((
                    format!("{g}.cross_attn.out"),
                    format!("{c}/attention/linear_2"),
                    None,
                    true,
                ));
            }
            tensors.extend(norm(&format!("{g}.mlp_ln"), &format!("{c}/ffn/layer_norm")));
            blocks.push((
                format!("{g}.mlp.0"),
                format!("{c}/ffn/linear_0"),
                None,
                true,
            ));
            blocks.push((
                format!("{g}.mlp.2"),
                format!("{c}/ffn/linear_1"),
                None,
                true,
            ));
        }
    }
    for (ggml, ct2, split, bias) in blocks {
        linear(&ggml, &ct2, split, bias);
    }
    for (ggml, ct2) in tensors {
        add(ggml, ct2, None);
    }
    plans
}

/// Vocabulary bytes for whisper.cpp: the ordinary tokens (everything before
/// `<|endoftext|>`), each decoded from GPT-2's byte-to-unicode spelling.
pub fn token_bytes(vocabulary: &[&str]) -> Result<Vec<Vec<u8>>, GgmlError> {
    let end = vocabulary
        .iter()
        .position(|t| *t == END_OF_TEXT)
        .ok_or(GgmlError::NoEndOfText)?;
    let decode = byte_decoder();
    vocabulary[..end]
        .iter()
        .enumerate()
        .map(|(index, token)| {
            token
                .chars()
                .map(&decode)
                .collect::<Option<Vec<u8>>>()
                .ok_or_else(|| GgmlError::BadToken {
                    index,
                    token: token.to_string(),
                })
        })
        .collect()
}

/// Inverse of GPT-2's `bytes_to_unicode`: printable Latin-1 bytes stand for
/// themselves, the other 68 bytes were shifted to U+0100.. in byte order.
fn byte_decoder() -> impl Fn(char) -> Option<u8> {
    let printable = |b: u8| matches!(b, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF);
    let shifted: Vec<u8> = (0..=255u8).filter(|&b| !printable(b)).collect();
    move |c: char| {
        let code = u32::from(c);
        if code < 256 && printable(code as u8) {
            Some(code as u8)
        } else {
            let index = code.checked_sub(256)? as usize;
            shifted.get(index).copied()
        }
    }
}

/// Writes the whole ggml file. `progress(done, total)` is called per tensor.
pub fn write_whisper_ggml(
    model: &Ct2Model,
    vocabulary: &[Vec<u8>],
    mut out: impl Write,
    mut progress: impl FnMut(usize, usize),
) -> Result<Hparams, GgmlError> {
    let h = Hparams::from_model(model)?;
    let i32s = |out: &mut dyn Write, values: &[usize]| -> io::Result<()> {
        for &v in values {
            out.write_all(&(v as i32).to_le_bytes())?;
        }
        Ok(())
    };

    out.write_all(&GGML_MAGIC.to_le_bytes())?;
    #[rustfmt::skip]
    i32s(&mut out, &[
        h.n_vocab, h.n_audio_ctx, h.n_audio_state, h.n_audio_head, h.n_audio_layer,
        h.n_text_ctx, h.n_text_state, h.n_text_head, h.n_text_layer, h.n_mels,
        1, // ftype: f16
    ])?;

    let n_bins = N_FFT / 2 + 1;
    i32s(&mut out, &[h.n_mels, n_bins])?;
    for w in mel_filters(SAMPLE_RATE, N_FFT, h.n_mels) {
        out.write_all(&w.to_le_bytes())?;
    }

    i32s(&mut out, &[vocabulary.len()])?;
    for token in vocabulary {
        i32s(&mut out, &[token.len()])?;
        out.write_all(token)?;
    }

    let plans = plan(&h);
    for (done, p) in plans.iter().enumerate() {
        write_tensor(model, p, &mut out)?;
        progress(done + 1, plans.len());
    }
    out.flush()?;
    Ok(h)
}

fn write_tensor(model: &Ct2Model, p: &TensorPlan, out: &mut impl Write) -> Result<(), GgmlError> {
    let v = model.get(&p.ct2_name)?;
    let as_f32 = v.shape.len() < 2 || p.ggml_name.ends_with("positional_embedding");
    let mut shape = v.shape.clone();
    let mut data: &[u8] = &v.data;
    if let Some((part, parts)) = p.split {
        let rows = shape.first().copied().unwrap_or(0);
        if rows == 0 || rows % parts != 0 {
            return Err(bad_shape(
                &p.ct2_name,
                v,
                &format!("first axis divisible by {parts}"),
            ));
        }
        shape[0] = rows / parts;
        let block = data.len() / parts;
        data = &data[part * block..(part + 1) * block];
    }
    if p.column {
        shape.push(1);
    }

    let name = p.ggml_name.as_bytes();
    out.write_all(&(shape.len() as i32).to_le_bytes())?;
    out.write_all(&(name.len() as i32).to_le_bytes())?;
    out.write_all(&i32::from(!as_f32).to_le_bytes())?; // ggml type: 0 f32, 1 f16
    // ggml lists dimensions innermost first.
    for &d in shape.iter().rev() {
        out.write_all(&(d as i32).to_le_bytes())?;
    }
    out.write_all(name)?;

    match (as_f32, v.dtype) {
        (false, DType::F16) | (true, DType::F32) => out.write_all(data)?,
        _ => {
            let mut bytes = Vec::with_capacity(data.len() * 2);
            for x in floats_to_f32(v.dtype, data, &p.ct2_name)? {
                if as_f32 {
                    bytes.extend_from_slice(&x.to_le_bytes());
                } else {
                    bytes.extend_from_slice(&half::f16::from_f32(x).to_bits().to_le_bytes());
                }
            }
            out.write_all(&bytes)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::ct2::tests::Writer;

    #[test]
    fn byte_decoder_inverts_gpt2_spelling() {
        let decode = byte_decoder();
        assert_eq!(decode('a'), Some(b'a'));
        assert_eq!(decode('Ġ'), Some(b' ')); // U+0120
        assert_eq!(decode('Ċ'), Some(b'\n')); // U+010A
        assert_eq!(decode('\u{100}'), Some(0));
        assert_eq!(decode('\u{143}'), Some(0xAD)); // the last shifted byte
        assert_eq!(decode('\u{144}'), None);
        assert_eq!(decode('中'), None);
        let all: Vec<u8> = (0..=255u8)
            .filter_map(|b| {
                let c = if matches!(b, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF) {
                    char::from(b)
                } else {
                    char::from_u32(
                        256 + (0..b)
                            .filter(|&x| !matches!(x, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF))
                            .count() as u32,
                    )?
                };
                decode(c)
            })
            .collect();
        assert_eq!(all, (0..=255u8).collect::<Vec<_>>());
    }

    #[test]
    fn vocabulary_stops_before_end_of_text_and_keeps_empty_tokens() {
        let vocab = [
            "Hello",
            "Ġworld",
            "",
            "<|endoftext|>",
            "<|startoftranscript|>",
        ];
        let bytes = token_bytes(&vocab).unwrap();
        assert_eq!(bytes, [b"Hello".to_vec(), b" world".to_vec(), vec![]]);
        assert!(matches!(token_bytes(&["a"]), Err(GgmlError::NoEndOfText)));
        assert!(matches!(
            token_bytes(&["中", "<|endoftext|>"]),
            Err(GgmlError::BadToken { index: 0, .. })
        ));
    }

    /// A one-layer Whisper with state 4, 2 mels, vocab 3, contexts 5/6.
    fn tiny_whisper() -> Ct2Model {
        let s = 4u32;
        let mut w = Writer::default();
        let seq = |n: u32| (0..n).map(|i| i as f32).collect::<Vec<_>>();
        w.var("encoder/num_heads", &[], 2, 2i16.to_le_bytes().to_vec());
        w.var("decoder/num_heads", &[], 2, 2i16.to_le_bytes().to_vec());
        w.f16("decoder/embeddings/weight", &[3, s], &seq(3 * s));
        w.f16("encoder/position_encodings/encodings", &[5, s], &seq(5 * s));
        w.f16("decoder/position_encodings/encodings", &[6, s], &seq(6 * s));
        w.f16("encoder/conv1/weight", &[s, 2, 3], &seq(s * 6));
        w.f16("encoder/conv1/bias", &[s], &seq(s));
        w.f16("encoder/conv2/weight", &[s, s, 3], &seq(s * s * 3));
        w.f16("encoder/conv2/bias", &[s], &seq(s));
        for side in ["encoder", "decoder"] {
            w.f16(&format!("{side}/layer_norm/gamma"), &[s], &seq(s));
            w.f16(&format!("{side}/layer_norm/beta"), &[s], &seq(s));
            let l = format!("{side}/layer_0");
            let mut lin = |name: &str, rows: u32| {
                w.f16(&format!("{l}/{name}/weight"), &[rows, s], &seq(rows * s));
                w.f16(&format!("{l}/{name}/bias"), &[rows], &seq(rows));
            };
            lin("self_attention/linear_0", 3 * s);
            lin("self_attention/linear_1", s);
            lin("ffn/linear_0", 4 * s);
            if side == "decoder" {
                lin("attention/linear_0", s);
                lin("attention/linear_1", 2 * s);
                lin("attention/linear_2", s);
            }
            for ln in ["self_attention", "ffn", "attention"] {
                if ln != "attention" || side == "decoder" {
                    w.f16(&format!("{l}/{ln}/layer_norm/gamma"), &[s], &seq(s));
                    w.f16(&format!("{l}/{ln}/layer_norm/beta"), &[s], &seq(s));
                }
            }
            w.f16(
                &format!("{l}/ffn/linear_1/weight"),
                &[s, 4 * s],
                &seq(4 * s * s),
            );
            w.f16(&format!("{l}/ffn/linear_1/bias"), &[s], &seq(s));
        }
        Ct2Model::read(&w.bytes(6)[..]).unwrap()
    }

    /// Parses the tensors section back: name -> (ftype, dims, data bytes).
    fn tensors(mut b: &[u8]) -> Vec<(String, i32, Vec<i32>, Vec<u8>)> {
        let int = |b: &mut &[u8]| {
            let v = i32::from_le_bytes(b[..4].try_into().unwrap());
            *b = &b[4..];
            v
        };
        let mut out = Vec::new();
        while !b.is_empty() {
            let (n_dims, len, ftype) = (int(&mut b), int(&mut b) as usize, int(&mut b));
            let dims: Vec<i32> = (0..n_dims).map(|_| int(&mut b)).collect();
            let name = String::from_utf8(b[..len].to_vec()).unwrap();
            b = &b[len..];
            let n = dims.iter().product::<i32>() as usize * if ftype == 0 { 4 } else { 2 };
            out.push((name, ftype, dims, b[..n].to_vec()));
            b = &b[n..];
        }
        out
    }

    #[test]
    fn writes_header_and_whisper_cpp_tensor_set() {
        let model = tiny_whisper();
        let vocab = vec![b"a".to_vec(), b" b".to_vec()];
        let mut file = Vec::new();
        let mut calls = 0;
        let h = write_whisper_ggml(&model, &vocab, &mut file, |_, _| calls += 1).unwrap();
        assert_eq!(
            (h.n_vocab, h.n_audio_ctx, h.n_text_ctx, h.n_mels),
            (3, 5, 6, 2)
        );
        assert_eq!((h.n_audio_layer, h.n_text_layer, h.n_audio_head), (1, 1, 2));

        let ints: Vec<i32> = file[..4 * 14]
            .chunks(4)
            .map(|c| i32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        assert_eq!(ints[0] as u32, GGML_MAGIC);
        assert_eq!(ints[1..12], [3, 5, 4, 2, 1, 6, 4, 2, 1, 2, 1]);
        assert_eq!(ints[12..14], [2, 201]);
        let vocab_at = 4 * 14 + 2 * 201 * 4;
        let tensors_at = vocab_at + 4 + (4 + 1) + (4 + 2);
        assert_eq!(&file[vocab_at..vocab_at + 4], &2i32.to_le_bytes());
        assert_eq!(&file[tensors_at - 2..tensors_at], b" b");

        let t = tensors(&file[tensors_at..]);
        assert_eq!(calls, t.len());
        // whisper.cpp: 11 top-level, 15 per encoder block, 24 per decoder block.
        assert_eq!(t.len(), 11 + 15 + 24);
        let find = |n: &str| t.iter().find(|x| x.0 == n).unwrap_or_else(|| panic!("{n}"));

        let (_, ftype, dims, _) = find("encoder.conv1.weight");
        assert_eq!((*ftype, dims.as_slice()), (1, &[3, 2, 4][..]));
        let (_, ftype, dims, data) = find("encoder.conv1.bias");
        assert_eq!((*ftype, dims.as_slice()), (0, &[1, 4][..]));
        assert_eq!(data[4..8], 1.0f32.to_le_bytes());
        let (_, ftype, dims, _) = find("decoder.positional_embedding");
        assert_eq!((*ftype, dims.as_slice()), (0, &[4, 6][..]));
        let (_, ftype, dims, _) = find("decoder.blocks.0.mlp_ln.weight");
        assert_eq!((*ftype, dims.as_slice()), (0, &[4][..]));

        // Fused q/k/v rows 0..4 / 4..8 / 8..12 of a 12x4 matrix counting up.
        let f16_first = |d: &[u8]| half::f16::from_le_bytes([d[0], d[1]]).to_f32();
        let (_, ftype, dims, data) = find("encoder.blocks.0.attn.key.weight");
        assert_eq!((*ftype, dims.as_slice()), (1, &[4, 4][..]));
        assert_eq!(f16_first(data), 16.0);
        assert_eq!(
            f16_first(&find("encoder.blocks.0.attn.value.weight").3),
            32.0
        );
        let value_bias = &find("decoder.blocks.0.attn.value.bias").3;
        assert_eq!(value_bias[..4], 8.0f32.to_le_bytes());
        assert_eq!(
            f16_first(&find("decoder.blocks.0.cross_attn.value.weight").3),
            16.0
        );
        assert!(t.iter().all(|x| !x.0.ends_with("key.bias")));
    }

    #[test]
    fn non_whisper_or_incomplete_models_are_errors() {
        let err = write_whisper_ggml(&Ct2Model::default(), &[], io::sink(), |_, _| {});
        assert!(matches!(err, Err(GgmlError::NotWhisper(_))));
        let empty = Ct2Model::read(&Writer::default().bytes(6)[..]).unwrap();
        let err = write_whisper_ggml(&empty, &[], io::sink(), |_, _| {}).unwrap_err();
        assert!(
            matches!(err, GgmlError::Model(Ct2Error::Missing(n)) if n == "decoder/embeddings/weight")
        );
    }
}
