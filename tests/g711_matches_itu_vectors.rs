//! G.711 encode and decode agree bit for bit with the ITU-T STL reference
//! vectors.
//!
//! The vector files hold 16-bit little-endian words, one per sample:
//! - `sweep.src`: every 16-bit input once, from -32768 up to 32767;
//! - `sweep-r.a` / `sweep-r.u`: the STL encoding of each input (code in the
//!   low byte of the word);
//! - `sweep-r.rea` / `sweep-r.reu`: the STL decoding of those codes;
//! - `sweep-r.a-a` / `sweep-r.u-u`: the STL encode-then-decode round trip.

use ivr::media::g711::{
    alaw_decode, alaw_encode, decode_alaw_into, decode_ulaw_into, ulaw_decode, ulaw_encode,
};

const DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/conformance/g711-itu-stl/"
);

fn words(name: &str) -> Vec<u16> {
    let path = format!("{DIR}{name}");
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    assert_eq!(
        bytes.len(),
        2 * 65536,
        "{name} holds one word per 16-bit input"
    );
    bytes
        .chunks_exact(2)
        .map(|b| u16::from_le_bytes([b[0], b[1]]))
        .collect()
}

fn sweep() -> Vec<i16> {
    let input: Vec<i16> = words("sweep.src").into_iter().map(|w| w as i16).collect();
    // Every possible input, each exactly once.
    let mut sorted = input.clone();
    sorted.sort_unstable();
    assert!(sorted.iter().zip(i16::MIN..=i16::MAX).all(|(a, b)| *a == b));
    input
}

fn codes(name: &str) -> Vec<u8> {
    words(name)
        .into_iter()
        .map(|w| u8::try_from(w).expect("codes are 8-bit"))
        .collect()
}

fn check_law(
    encoded: &str,
    decoded: &str,
    round_trip: &str,
    encode: fn(i16) -> u8,
    decode: fn(u8) -> i16,
    decode_into: fn(&[u8], &mut [i16]) -> usize,
) {
    let input = sweep();
    let expected_codes = codes(encoded);
    let expected_decoded: Vec<i16> = words(decoded).into_iter().map(|w| w as i16).collect();
    let expected_round_trip: Vec<i16> = words(round_trip).into_iter().map(|w| w as i16).collect();

    // All 65,536 inputs encode to the reference code.
    for (i, &x) in input.iter().enumerate() {
        assert_eq!(encode(x), expected_codes[i], "{encoded}: input {x}");
    }

    // Each of the 256 codes decodes to the reference value (the sweep uses
    // every code; collect the reference value for each).
    let mut reference: [Option<i16>; 256] = [None; 256];
    for (&code, &value) in expected_codes.iter().zip(&expected_decoded) {
        let slot = &mut reference[code as usize];
        assert!(
            slot.is_none_or(|v| v == value),
            "{decoded}: code {code} inconsistent"
        );
        *slot = Some(value);
    }
    for code in 0..=255u8 {
        let value = reference[code as usize].unwrap_or_else(|| panic!("code {code} unused"));
        assert_eq!(decode(code), value, "{decoded}: code {code:#04x}");
    }

    // The per-packet slice decoder and the round trip agree too.
    let mut out = vec![0i16; expected_codes.len()];
    assert_eq!(decode_into(&expected_codes, &mut out), out.len());
    assert_eq!(out, expected_decoded, "{decoded}: slice decoder");
    let round: Vec<i16> = input.iter().map(|&x| decode(encode(x))).collect();
    assert_eq!(round, expected_round_trip, "{round_trip}");
}

#[test]
fn alaw_is_bit_exact_with_the_stl() {
    check_law(
        "sweep-r.a",
        "sweep-r.rea",
        "sweep-r.a-a",
        alaw_encode,
        alaw_decode,
        decode_alaw_into,
    );
}

#[test]
fn ulaw_is_bit_exact_with_the_stl() {
    check_law(
        "sweep-r.u",
        "sweep-r.reu",
        "sweep-r.u-u",
        ulaw_encode,
        ulaw_decode,
        decode_ulaw_into,
    );
}
