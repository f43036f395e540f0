//! Framing SIP over TCP (RFC 3261 18.3): a message is its headers up to the
//! empty line plus exactly Content-Length bytes, which is mandatory on
//! streams. The only non-sans-IO piece of the SIP module: tokio-util's
//! Decoder/Encoder traits, so the runtime can wrap a socket in `Framed`.

use bytes::{Buf, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use super::error::CodecError;
use super::header::parse_decimal;
use super::message::{canonical_name, find_head_end};

/// Longest header section accepted before the empty line.
pub const MAX_HEADERS: usize = 64 * 1024;
/// Longest whole message accepted.
pub const MAX_MESSAGE: usize = 1024 * 1024;

#[derive(Debug, Clone, Default)]
pub struct SipCodec {}

impl Decoder for SipCodec {
    type Item = Vec<u8>;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Vec<u8>>, CodecError> {
        // CRLF keep-alives between messages (RFC 5626 4.4.1).
        let blank = src
            .iter()
            .take_while(|b| **b == b'\r' || **b == b'\n')
            .count();
        src.advance(blank);
        let Some((head_end, body_start)) = find_head_end(src) else {
            if src.len() > MAX_HEADERS {
                return Err(CodecError::HeadersTooLong { limit: MAX_HEADERS });
            }
            return Ok(None);
        };
        if head_end > MAX_HEADERS {
            return Err(CodecError::HeadersTooLong { limit: MAX_HEADERS });
        }
        let length = content_length(&src[..head_end])?;
        let size = body_start + length;
        if size > MAX_MESSAGE {
            return Err(CodecError::MessageTooLarge {
                size,
                limit: MAX_MESSAGE,
            });
        }
        if src.len() < size {
            src.reserve(size - src.len());
            return Ok(None);
        }
        Ok(Some(src.split_to(size).to_vec()))
    }
}

/// The one Content-Length of a header section (folded lines included).
fn content_length(head: &[u8]) -> Result<usize, CodecError> {
    let text = String::from_utf8_lossy(head);
    let mut found: Option<usize> = None;
    for line in text.split('\n').map(|l| l.trim_end_matches('\r')) {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        if line.starts_with([' ', '\t']) || canonical_name(name.trim()) != "Content-Length" {
            continue;
        }
        let value = parse_decimal(value, MAX_MESSAGE as u64)
            .map_err(CodecError::BadContentLength)? as usize;
        if found.is_some_and(|f| f != value) {
            return Err(CodecError::BadContentLength("two different values".into()));
        }
        found = Some(value);
    }
    found.ok_or(CodecError::MissingContentLength)
}

impl Encoder<Vec<u8>> for SipCodec {
    type Error = CodecError;

    fn encode(&mut self, item: Vec<u8>, dst: &mut BytesMut) -> Result<(), CodecError> {
        dst.extend_from_slice(&item);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSG: &[u8] = b"OPTIONS sip:a@b SIP/2.0\r\nl: 5\r\n\r\nhello";

    #[test]
    fn frames_split_and_joined_messages() {
        let mut codec = SipCodec::default();
        let mut buf = BytesMut::new();
        buf.extend_from_slice(b"\r\n\r\n");
        buf.extend_from_slice(&MSG[..10]);
        assert_eq!(codec.decode(&mut buf).unwrap(), None);
        buf.extend_from_slice(&MSG[10..]);
        buf.extend_from_slice(MSG);
        assert_eq!(codec.decode(&mut buf).unwrap().as_deref(), Some(MSG));
        assert_eq!(codec.decode(&mut buf).unwrap().as_deref(), Some(MSG));
        assert_eq!(codec.decode(&mut buf).unwrap(), None);
    }

    #[test]
    fn waits_for_the_whole_body() {
        let mut buf = BytesMut::from(&MSG[..MSG.len() - 1]);
        assert_eq!(SipCodec::default().decode(&mut buf).unwrap(), None);
    }

    #[test]
    fn framing_errors_are_explicit() {
        let mut codec = SipCodec::default();
        let mut missing = BytesMut::from(&b"OPTIONS sip:a@b SIP/2.0\r\nTo: x\r\n\r\n"[..]);
        assert!(matches!(
            codec.decode(&mut missing),
            Err(CodecError::MissingContentLength)
        ));
        let mut negative =
            BytesMut::from(&b"OPTIONS sip:a@b SIP/2.0\r\nContent-Length: -9\r\n\r\n"[..]);
        assert!(matches!(
            codec.decode(&mut negative),
            Err(CodecError::BadContentLength(_))
        ));
        let mut two =
            BytesMut::from(&b"OPTIONS sip:a@b SIP/2.0\r\nl: 1\r\nContent-Length: 2\r\n\r\nab"[..]);
        assert!(matches!(
            codec.decode(&mut two),
            Err(CodecError::BadContentLength(_))
        ));
        let mut endless = BytesMut::from(vec![b'a'; MAX_HEADERS + 1].as_slice());
        assert!(matches!(
            codec.decode(&mut endless),
            Err(CodecError::HeadersTooLong { .. })
        ));
    }
}
