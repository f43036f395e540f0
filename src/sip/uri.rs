//! Just enough of URIs: the scheme check every URI gets, and the host, port
//! and user of `sip:`/`sips:` URIs. Other schemes are carried as opaque text.

use super::syntax::is_host;

/// The scheme of an absolute URI, when it has a syntactically valid one.
pub fn scheme(uri: &str) -> Option<&str> {
    let (scheme, rest) = uri.split_once(':')?;
    let mut chars = scheme.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    (first_ok && rest_ok && !rest.is_empty()).then_some(scheme)
}

pub fn is_sip_scheme(uri: &str) -> bool {
    scheme(uri).is_some_and(|s| s.eq_ignore_ascii_case("sip") || s.eq_ignore_ascii_case("sips"))
}

/// The parts of a `sip:` / `sips:` URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipUri<'a> {
    pub user: Option<&'a str>,
    pub host: &'a str,
    pub port: Option<u16>,
    /// `;params` after the host, without the leading `;`.
    pub params: &'a str,
    /// `?headers`, without the `?`.
    pub headers: Option<&'a str>,
}

/// Checks a URI as it appears in a header or request line: a scheme, no
/// whitespace or control characters, and a valid host for SIP URIs.
pub fn check(uri: &str) -> Result<(), String> {
    if uri.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("URI {uri:?} contains whitespace"));
    }
    if scheme(uri).is_none() {
        return Err(format!("{uri:?} is not a URI"));
    }
    if is_sip_scheme(uri) {
        parse_sip(uri)?;
    }
    Ok(())
}

pub fn parse_sip(uri: &str) -> Result<SipUri<'_>, String> {
    let (_, rest) = uri
        .split_once(':')
        .ok_or_else(|| format!("{uri:?} is not a SIP URI"))?;
    // The user part may itself contain ';', '?', ',' and ':' (RFC 4475
    // intmeth), so the host starts after the last '@'.
    let (user, hostpart) = match rest.rfind('@') {
        Some(at) => (Some(&rest[..at]), &rest[at + 1..]),
        None => (None, rest),
    };
    let (before_headers, headers) = match hostpart.split_once('?') {
        Some((b, h)) => (b, Some(h)),
        None => (hostpart, None),
    };
    let (hostport, params) = before_headers
        .split_once(';')
        .unwrap_or((before_headers, ""));
    let (host, port) =
        split_host_port(hostport).ok_or_else(|| format!("bad host in URI {uri:?}"))?;
    if !is_host(host) {
        return Err(format!("bad host {host:?} in URI"));
    }
    if user == Some("") {
        return Err(format!("empty user in URI {uri:?}"));
    }
    Ok(SipUri {
        user,
        host,
        port,
        params,
        headers,
    })
}

/// `host[:port]` with IPv6 references in brackets.
pub fn split_host_port(hostport: &str) -> Option<(&str, Option<u16>)> {
    let (host, port) = if hostport.starts_with('[') {
        let end = hostport.find(']')?;
        let (h, rest) = hostport.split_at(end + 1);
        (h, rest.strip_prefix(':'))
    } else {
        match hostport.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        }
    };
    let port = match port {
        Some(p) if !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()) => Some(p.parse().ok()?),
        Some(_) => return None,
        None => None,
    };
    Some((host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_comes_after_the_last_at() {
        let u = parse_sip("sip:user;par=u%40example.net@example.com").unwrap();
        assert_eq!(u.user, Some("user;par=u%40example.net"));
        assert_eq!(u.host, "example.com");
    }

    #[test]
    fn port_params_and_headers() {
        let u = parse_sip("sip:a@[::1]:5070;transport=tcp?Subject=x").unwrap();
        assert_eq!((u.host, u.port), ("[::1]", Some(5070)));
        assert_eq!(u.params, "transport=tcp");
        assert_eq!(u.headers, Some("Subject=x"));
    }

    #[test]
    fn rejects_what_is_not_a_uri() {
        assert!(check("<sip:user@example.com>").is_err());
        assert!(check("sip:user@example.com;").is_ok());
        assert!(check("sip:user@exa mple.com").is_err());
        assert!(check("sip:user@host:99999").is_err());
        assert!(check("nobodyKnowsThisScheme:totallyopaquecontent").is_ok());
    }
}
