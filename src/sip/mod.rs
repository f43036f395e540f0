//! SIP, sans-IO: messages, transactions, dialogs, SDP offer/answer, the
//! registrar for agents' phones (digest authentication) and call transfer
//! (REFER), and the user agent core ([`Endpoint`]) that ties them together. Nothing here reads
//! the clock or touches a socket: the runtime feeds datagrams and TCP
//! messages in, fires timers and sends what comes out.

pub mod codec;
mod compose;
mod dialog;
pub mod digest;
mod endpoint;
pub mod error;
pub mod header;
mod ids;
pub mod message;
pub mod registrar;
mod registration;
mod screening;
pub mod sdp;
mod syntax;
mod transaction;
mod transfer;
mod types;
mod uac;
mod uas;
pub mod uri;

pub use endpoint::Endpoint;
pub use error::{CodecError, ParseError, SdpError, SipError};
pub use message::{Message, Method, Request, Response, parse_message};
pub use types::{
    AgentCredential, CallHandle, Codec, EndReason, EndpointConfig, Input, MediaOffer, Output, Peer,
    Registration, SipEvent, Transport,
};
