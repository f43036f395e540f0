//! Where a call to an outside number goes: the Request-URI and the address
//! the INVITE is sent to, through the configured outbound proxy (a PSTN
//! gateway) or straight to the URI's own host.

use std::net::SocketAddr;

use crate::sip::uri;
use crate::sip::{Peer, Transport};

/// An INVITE's Request-URI and the next hop it is sent to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundRoute {
    pub uri: String,
    pub peer: Peer,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutboundError {
    #[error("{0:?} is not a number or a sip:/tel: URI the engine can dial")]
    BadTarget(String),
    #[error("{0:?} can only be dialled through an outbound proxy, and none is configured")]
    NeedsProxy(String),
    #[error("cannot find the address of {host}: {reason}")]
    Resolve { host: String, reason: String },
}

/// Picks the Request-URI and next hop for `target`: a `sip:` URI, a `tel:`
/// URI, or a bare number. With a proxy everything goes to it (numbers become
/// `sip:NUMBER@proxy`); without one, a `sip:` URI is sent to its own host
/// and port (5060 when it names none).
pub async fn route(target: &str, proxy: Option<&str>) -> Result<OutboundRoute, OutboundError> {
    let bad = || OutboundError::BadTarget(target.to_string());
    let target = target.trim();
    let number = match uri::scheme(target) {
        Some(s) if s.eq_ignore_ascii_case("tel") => {
            Some(target[4..].split(';').next().unwrap_or(""))
        }
        Some(s) if s.eq_ignore_ascii_case("sip") || s.eq_ignore_ascii_case("sips") => None,
        Some(_) => return Err(bad()),
        None => Some(target),
    };
    if let Some(number) = number {
        let ok = !number.is_empty()
            && number
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.*#".contains(c));
        if !ok {
            return Err(bad());
        }
        let proxy = proxy.ok_or_else(|| OutboundError::NeedsProxy(target.to_string()))?;
        return Ok(OutboundRoute {
            uri: format!("sip:{number}@{proxy}"),
            peer: resolve(proxy).await?,
        });
    }
    uri::check(target).map_err(|_| bad())?;
    let parts = uri::parse_sip(target).map_err(|_| bad())?;
    let hop = match proxy {
        Some(proxy) => proxy.to_string(),
        None => format!("{}:{}", parts.host, parts.port.unwrap_or(5060)),
    };
    Ok(OutboundRoute {
        uri: target.to_string(),
        peer: resolve(&hop).await?,
    })
}

/// `host:port` to a UDP peer (DNS for names, without blocking the task).
async fn resolve(hostport: &str) -> Result<Peer, OutboundError> {
    let fail = |reason: String| OutboundError::Resolve {
        host: hostport.to_string(),
        reason,
    };
    let cleaned = hostport.trim();
    let addr: SocketAddr = match cleaned.parse() {
        Ok(addr) => addr,
        Err(_) => {
            let with_port = if uri::split_host_port(cleaned).is_some_and(|(_, p)| p.is_some()) {
                cleaned.to_string()
            } else {
                format!("{cleaned}:5060")
            };
            tokio::net::lookup_host(with_port)
                .await
                .map_err(|e| fail(e.to_string()))?
                .next()
                .ok_or_else(|| fail("no address".to_string()))?
        }
    };
    Ok(Peer {
        transport: Transport::Udp,
        addr,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run<T>(f: impl std::future::Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn sip_uris_go_to_their_host_or_the_proxy() {
        let direct = run(route("sip:bob@127.0.0.1:5080", None)).unwrap();
        assert_eq!(direct.uri, "sip:bob@127.0.0.1:5080");
        assert_eq!(
            direct.peer.addr,
            "127.0.0.1:5080".parse::<SocketAddr>().unwrap()
        );
        let default_port = run(route("sip:bob@127.0.0.1", None)).unwrap();
        assert_eq!(default_port.peer.addr.port(), 5060);
        let proxied = run(route("sip:bob@example.invalid", Some("127.0.0.2:5070"))).unwrap();
        assert_eq!(proxied.uri, "sip:bob@example.invalid");
        assert_eq!(
            proxied.peer.addr,
            "127.0.0.2:5070".parse::<SocketAddr>().unwrap()
        );
    }

    #[test]
    fn numbers_need_the_proxy() {
        let tel = run(route("tel:+15551234", Some("127.0.0.1:5070"))).unwrap();
        assert_eq!(tel.uri, "sip:+15551234@127.0.0.1:5070");
        let bare = run(route("5551234", Some("127.0.0.1:5070"))).unwrap();
        assert_eq!(bare.uri, "sip:5551234@127.0.0.1:5070");
        assert_eq!(
            run(route("5551234", None)),
            Err(OutboundError::NeedsProxy("5551234".into()))
        );
        for bad in ["http://x", "555 1234", "sip:a b@c", ""] {
            assert!(
                matches!(
                    run(route(bad, Some("127.0.0.1:1"))),
                    Err(OutboundError::BadTarget(_))
                ),
                "{bad}"
            );
        }
    }
}
