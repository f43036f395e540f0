//! SIP over TCP is cut into messages by Content-Length: every valid RFC 4475
//! message, written back to back and delivered in odd-sized pieces, comes
//! out whole and in order; a stream that cannot be framed says why.

use bytes::BytesMut;
use ivr::sip::codec::SipCodec;
use ivr::sip::{CodecError, parse_message};
use tokio_util::codec::{Decoder, Encoder};

fn rfc4475(name: &str) -> Vec<u8> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/conformance/rfc4475");
    std::fs::read(format!("{dir}/{name}.dat")).unwrap()
}

fn valid_messages() -> Vec<Vec<u8>> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/conformance/rfc4475");
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    paths
        .iter()
        .filter_map(|p| parse_message(&std::fs::read(p).unwrap()).ok())
        .map(|m| m.to_bytes())
        .collect()
}

#[test]
fn back_to_back_messages_in_small_pieces_come_out_whole() {
    let messages = valid_messages();
    assert!(messages.len() > 20);
    let mut stream = Vec::new();
    let mut codec = SipCodec::default();
    for m in &messages {
        let mut out = BytesMut::new();
        codec.encode(m.clone(), &mut out).unwrap();
        stream.extend_from_slice(b"\r\n"); // keep-alives between messages
        stream.extend_from_slice(&out);
    }
    let mut buf = BytesMut::new();
    let mut framed = Vec::new();
    for piece in stream.chunks(7) {
        buf.extend_from_slice(piece);
        while let Some(frame) = codec.decode(&mut buf).unwrap() {
            framed.push(frame);
        }
    }
    assert_eq!(framed, messages);
    assert!(buf.is_empty());
}

#[test]
fn unframeable_streams_give_clear_errors() {
    let mut codec = SipCodec::default();
    // RFC 2543 style: no Content-Length, which streams require.
    let err = codec
        .decode(&mut BytesMut::from(&rfc4475("inv2543")[..]))
        .unwrap_err();
    assert!(matches!(err, CodecError::MissingContentLength), "{err}");
    let err = codec
        .decode(&mut BytesMut::from(&rfc4475("ncl")[..]))
        .unwrap_err();
    assert!(matches!(err, CodecError::BadContentLength(_)), "{err}");
    assert!(err.to_string().contains("-999"), "{err}");
    let err = codec
        .decode(&mut BytesMut::from(&rfc4475("mcl01")[..]))
        .unwrap_err();
    assert!(matches!(err, CodecError::BadContentLength(_)), "{err}");
    // clerr promises more body than it has: on a stream that means wait.
    assert_eq!(
        codec
            .decode(&mut BytesMut::from(&rfc4475("clerr")[..]))
            .unwrap(),
        None
    );
}
