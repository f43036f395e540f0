//! Errors of the SIP layer, one enum per cause: bytes that are not SIP, SDP
//! that cannot be used, a TCP stream that cannot be framed, and calls the
//! caller of the endpoint got wrong.

/// Why bytes are not an acceptable SIP message. The text is what a 400
/// response tells the peer, so it names the header and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("message is empty")]
    Empty,
    #[error("header section is not UTF-8")]
    NotUtf8,
    #[error("message ends before the empty line closing the headers")]
    UnterminatedHeaders,
    #[error("malformed start line: {0}")]
    BadStartLine(String),
    #[error("unsupported SIP version {0}")]
    UnsupportedVersion(String),
    #[error("malformed header line: {0}")]
    BadHeaderLine(String),
    #[error("malformed {name} header: {reason}")]
    BadHeader { name: String, reason: String },
    #[error("missing {0} header")]
    MissingHeader(&'static str),
    #[error("more than one {0} header")]
    DuplicateHeader(&'static str),
    #[error("CSeq method {cseq} does not match request method {method}")]
    CSeqMethodMismatch { method: String, cseq: String },
    #[error("Content-Length {declared} is larger than the {available} bytes of body received")]
    BodyTruncated { declared: usize, available: usize },
}

impl ParseError {
    pub(crate) fn header(name: &str, reason: impl Into<String>) -> ParseError {
        ParseError::BadHeader {
            name: name.to_string(),
            reason: reason.into(),
        }
    }
}

/// Why a session description cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SdpError {
    #[error("SDP is not UTF-8")]
    NotUtf8,
    #[error("SDP does not start with v=0")]
    NoVersion,
    #[error("malformed SDP line {line}: {reason}")]
    BadLine { line: usize, reason: String },
    #[error("SDP has no connection address for the audio stream")]
    NoConnection,
    #[error("SDP offers no audio stream over RTP/AVP")]
    NoAudio,
    #[error("SDP offers no codec we support (PCMU/8000, PCMA/8000)")]
    NoUsableCodec,
}

/// Why a TCP byte stream cannot be cut into SIP messages. The connection
/// cannot be resynchronised after any of these.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("SIP/TCP read failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("SIP/TCP headers longer than {limit} bytes without an empty line")]
    HeadersTooLong { limit: usize },
    #[error("SIP/TCP message without Content-Length (required on streams)")]
    MissingContentLength,
    #[error("SIP/TCP message with a bad Content-Length: {0}")]
    BadContentLength(String),
    #[error("SIP/TCP message of {size} bytes is over the {limit} byte limit")]
    MessageTooLarge { size: usize, limit: usize },
}

/// Misuse of the endpoint by its caller (the runtime), never a peer's fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SipError {
    #[error("no call {0}")]
    UnknownCall(u64),
    #[error("call {call} cannot {action} now (it is {state})")]
    InvalidState {
        call: u64,
        action: &'static str,
        state: &'static str,
    },
    #[error("not a SIP URI to call: {0:?}")]
    BadTarget(String),
    #[error("bad extra header {0:?}")]
    BadHeader(String),
}
