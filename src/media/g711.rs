//! G.711 mu-law and A-law, bit-exact with the ITU-T reference (STL g711).
//!
//! Linear samples are 16-bit and left justified, as in the STL: mu-law uses
//! the top 14 bits and A-law the top 13, so the low bits are ignored when
//! encoding and decoded values are multiples of 4 (mu-law) or 8 (A-law).
//! Encoding is a few shifts per sample; decoding is a 256-entry table lookup
//! built at compile time from the same reference formulas.
//!
//! Written by hand rather than taken from a crate because the whole job is
//! a dozen lines and bit-exactness with the ITU vectors is the requirement.

/// Encode one 16-bit linear sample to mu-law (STL `ulaw_compress`).
pub fn ulaw_encode(x: i16) -> u8 {
    // 14-bit magnitude (one's complement for negatives) plus the mu-law bias
    // of 33, limited to 13 bits.
    let magnitude = if x < 0 { !x >> 2 } else { x >> 2 };
    let biased = (magnitude + 33).min(0x1FFF);
    // Segment 1..=8: one more than the bit length of `biased >> 6`.
    let segment = 1 + (16 - ((biased >> 6) as u16).leading_zeros()) as i16;
    let high_nibble = 8 - segment;
    let low_nibble = 0x0F - ((biased >> segment) & 0x0F);
    let code = ((high_nibble << 4) | low_nibble) as u8;
    if x >= 0 { code | 0x80 } else { code }
}

/// Decode one mu-law code to a 16-bit linear sample (STL `ulaw_expand`).
pub fn ulaw_decode(code: u8) -> i16 {
    ULAW_TO_LINEAR[code as usize]
}

/// Encode one 16-bit linear sample to A-law (STL `alaw_compress`).
pub fn alaw_encode(x: i16) -> u8 {
    // 12-bit magnitude (one's complement for negatives).
    let mut ix = if x < 0 { !x >> 4 } else { x >> 4 };
    if ix > 15 {
        let mut exponent = 1;
        while ix > 16 + 15 {
            ix >>= 1;
            exponent += 1;
        }
        ix -= 16;
        ix += exponent << 4;
    }
    if x >= 0 {
        ix |= 0x80;
    }
    (ix ^ 0x55) as u8
}

/// Decode one A-law code to a 16-bit linear sample (STL `alaw_expand`).
pub fn alaw_decode(code: u8) -> i16 {
    ALAW_TO_LINEAR[code as usize]
}

/// mu-law code to linear sample, indexed by the code.
pub static ULAW_TO_LINEAR: [i16; 256] = ulaw_table();

/// A-law code to linear sample, indexed by the code.
pub static ALAW_TO_LINEAR: [i16; 256] = alaw_table();

const fn ulaw_expand(code: u8) -> i16 {
    let inverted = !code;
    let exponent = ((inverted >> 4) & 0x07) as i32;
    let mantissa = (inverted & 0x0F) as i32;
    let step = 4 << (exponent + 1);
    let magnitude = (0x80 << exponent) + step * mantissa + step / 2 - 4 * 33;
    if code < 0x80 {
        -magnitude as i16
    } else {
        magnitude as i16
    }
}

const fn alaw_expand(code: u8) -> i16 {
    let ix = ((code ^ 0x55) & 0x7F) as i32;
    let exponent = ix >> 4;
    let mut mantissa = ix & 0x0F;
    if exponent > 0 {
        mantissa += 16;
    }
    // Left justify and add half a quantisation step.
    mantissa = (mantissa << 4) + 0x08;
    if exponent > 1 {
        mantissa <<= exponent - 1;
    }
    if code > 127 {
        mantissa as i16
    } else {
        -mantissa as i16
    }
}

const fn ulaw_table() -> [i16; 256] {
    let mut table = [0; 256];
    let mut code = 0;
    while code < 256 {
        table[code] = ulaw_expand(code as u8);
        code += 1;
    }
    table
}

const fn alaw_table() -> [i16; 256] {
    let mut table = [0; 256];
    let mut code = 0;
    while code < 256 {
        table[code] = alaw_expand(code as u8);
        code += 1;
    }
    table
}

/// Decode mu-law codes into `out` without allocating (one RTP payload per
/// call). Converts `min(codes.len(), out.len())` samples and returns that
/// count.
pub fn decode_ulaw_into(codes: &[u8], out: &mut [i16]) -> usize {
    decode_into(&ULAW_TO_LINEAR, codes, out)
}

/// Decode A-law codes into `out` without allocating. Converts
/// `min(codes.len(), out.len())` samples and returns that count.
pub fn decode_alaw_into(codes: &[u8], out: &mut [i16]) -> usize {
    decode_into(&ALAW_TO_LINEAR, codes, out)
}

/// Encode linear samples to mu-law into `out` without allocating. Converts
/// `min(pcm.len(), out.len())` samples and returns that count.
pub fn encode_ulaw_into(pcm: &[i16], out: &mut [u8]) -> usize {
    encode_into(ulaw_encode, pcm, out)
}

/// Encode linear samples to A-law into `out` without allocating. Converts
/// `min(pcm.len(), out.len())` samples and returns that count.
pub fn encode_alaw_into(pcm: &[i16], out: &mut [u8]) -> usize {
    encode_into(alaw_encode, pcm, out)
}

/// Decode a whole mu-law buffer.
pub fn decode_ulaw(codes: &[u8]) -> Vec<i16> {
    codes.iter().map(|&c| ulaw_decode(c)).collect()
}

/// Decode a whole A-law buffer.
pub fn decode_alaw(codes: &[u8]) -> Vec<i16> {
    codes.iter().map(|&c| alaw_decode(c)).collect()
}

/// Encode a whole buffer to mu-law.
pub fn encode_ulaw(pcm: &[i16]) -> Vec<u8> {
    pcm.iter().map(|&x| ulaw_encode(x)).collect()
}

/// Encode a whole buffer to A-law.
pub fn encode_alaw(pcm: &[i16]) -> Vec<u8> {
    pcm.iter().map(|&x| alaw_encode(x)).collect()
}

fn decode_into(table: &[i16; 256], codes: &[u8], out: &mut [i16]) -> usize {
    let n = codes.len().min(out.len());
    for (sample, &code) in out[..n].iter_mut().zip(&codes[..n]) {
        *sample = table[code as usize];
    }
    n
}

fn encode_into(encode: fn(i16) -> u8, pcm: &[i16], out: &mut [u8]) -> usize {
    let n = pcm.len().min(out.len());
    for (code, &x) in out[..n].iter_mut().zip(&pcm[..n]) {
        *code = encode(x);
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_survives_decode_then_encode() {
        for code in 0..=255u8 {
            assert_eq!(alaw_encode(alaw_decode(code)), code, "A-law {code:#04x}");
            // mu-law has two zeros (0x7F and 0xFF); both decode to 0 which
            // encodes as positive zero.
            let expected = if code == 0x7F { 0xFF } else { code };
            assert_eq!(
                ulaw_encode(ulaw_decode(code)),
                expected,
                "mu-law {code:#04x}"
            );
        }
    }

    #[test]
    fn decoding_is_monotonic_in_magnitude() {
        // Positive codes 0x80..=0xFF: mu-law magnitude falls as the code
        // rises, A-law (after the even-bit toggle) rises.
        let ulaw: Vec<i16> = (0x80..=0xFFu8).map(ulaw_decode).collect();
        assert!(ulaw.windows(2).all(|w| w[0] > w[1]));
        let alaw: Vec<i16> = (0..=0x7Fu8)
            .map(|c| alaw_decode(0x80 | (c ^ 0x55)))
            .collect();
        assert!(alaw.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn slice_helpers_agree_with_scalar_functions() {
        let pcm: Vec<i16> = (-40..40).map(|i| i * 811).collect();
        let mut codes = [0u8; 80];
        assert_eq!(encode_ulaw_into(&pcm, &mut codes), 80);
        assert_eq!(codes.to_vec(), encode_ulaw(&pcm));
        let mut back = [0i16; 80];
        assert_eq!(decode_ulaw_into(&codes, &mut back), 80);
        assert_eq!(back.to_vec(), decode_ulaw(&codes));

        assert_eq!(encode_alaw_into(&pcm, &mut codes), 80);
        assert_eq!(codes.to_vec(), encode_alaw(&pcm));
        assert_eq!(decode_alaw_into(&codes, &mut back), 80);
        assert_eq!(back.to_vec(), decode_alaw(&codes));

        // A short output buffer converts only what fits.
        let mut short = [0i16; 10];
        assert_eq!(decode_alaw_into(&codes, &mut short), 10);
    }
}
