//! Typed views of the headers the user agent acts on: Via, name-addr headers
//! (From, To, Contact, Route, Record-Route), CSeq and the scalar ones. Each
//! parser rejects what RFC 3261 (and the RFC 4475 torture tests) call
//! malformed, with the reason as text.

use super::syntax::{
    Param, Scanner, find_param, is_host, is_token, is_token_char, parse_params, write_params,
};
use super::uri;

/// One Via entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Via {
    pub transport: String,
    pub host: String,
    pub port: Option<u16>,
    pub params: Vec<Param>,
}

impl Via {
    pub fn branch(&self) -> Option<&str> {
        find_param(&self.params, "branch").and_then(|v| v.as_deref())
    }

    /// `host[:port]`, the sent-by that transaction matching compares.
    pub fn sent_by(&self) -> String {
        match self.port {
            Some(p) => format!("{}:{p}", self.host),
            None => self.host.clone(),
        }
    }

    pub fn has_param(&self, name: &str) -> bool {
        find_param(&self.params, name).is_some()
    }

    pub fn set_param(&mut self, name: &str, value: Option<String>) {
        match self
            .params
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            Some(p) => p.1 = value,
            None => self.params.push((name.to_string(), value)),
        }
    }
}

impl std::fmt::Display for Via {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut s = format!("SIP/2.0/{} {}", self.transport, self.sent_by());
        write_params(&mut s, &self.params);
        f.write_str(&s)
    }
}

pub fn parse_via(value: &str) -> Result<Via, String> {
    let mut sc = Scanner::new(value);
    let proto = sc.token().ok_or("missing protocol name")?;
    if !proto.eq_ignore_ascii_case("SIP") || !sc.eat('/') {
        return Err(format!("protocol {proto:?} is not SIP/"));
    }
    let version = sc.token().ok_or("missing protocol version")?;
    if version != "2.0" {
        return Err(format!("protocol version {version:?} is not 2.0"));
    }
    if !sc.eat('/') {
        return Err("missing transport".into());
    }
    let transport = sc.token().ok_or("missing transport")?.to_ascii_uppercase();
    sc.skip_ws();
    let hostport = sc.take_while(|c| c.is_ascii_alphanumeric() || "-.[]:".contains(c));
    let (host, port) =
        uri::split_host_port(hostport).ok_or_else(|| format!("bad sent-by {hostport:?}"))?;
    if !is_host(host) {
        return Err(format!("bad sent-by host {host:?}"));
    }
    let params = parse_params(&mut sc)?;
    Ok(Via {
        transport,
        host: host.to_string(),
        port,
        params,
    })
}

/// From, To, Contact, Route and Record-Route entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameAddr {
    pub display: Option<String>,
    pub uri: String,
    pub params: Vec<Param>,
}

impl NameAddr {
    pub fn tag(&self) -> Option<&str> {
        find_param(&self.params, "tag").and_then(|v| v.as_deref())
    }
}

impl std::fmt::Display for NameAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut s = String::new();
        if let Some(d) = &self.display {
            s.push_str(&super::syntax::quote(d));
            s.push(' ');
        }
        s.push('<');
        s.push_str(&self.uri);
        s.push('>');
        write_params(&mut s, &self.params);
        f.write_str(&s)
    }
}

pub fn parse_name_addr(value: &str) -> Result<NameAddr, String> {
    let mut sc = Scanner::new(value);
    sc.skip_ws();
    let has_angle = contains_outside_quotes(value, '<');
    let (display, uri) = if has_angle {
        let display = if sc.peek() == Some('"') {
            Some(sc.quoted_string()?)
        } else {
            let words = sc.take_while(|c| c != '<');
            let words = words.trim();
            if words
                .split([' ', '\t'])
                .any(|w| !w.is_empty() && !is_token(w))
            {
                return Err(format!("display name {words:?} must be quoted"));
            }
            (!words.is_empty()).then(|| words.split_whitespace().collect::<Vec<_>>().join(" "))
        };
        if !sc.eat('<') {
            return Err("expected '<' after the display name".into());
        }
        let uri = sc.take_while(|c| c != '>');
        if sc.peek() != Some('>') {
            return Err("missing '>'".into());
        }
        sc.eat('>');
        (display, uri)
    } else {
        // addr-spec: the URI ends at the first ';' (those are header
        // parameters) so it may not carry '?' headers or commas.
        let uri = sc.take_while(|c| c != ';' && c != ' ' && c != '\t');
        if uri.contains(['?', ',']) {
            return Err(format!(
                "URI {uri:?} with headers or commas must be enclosed in <>"
            ));
        }
        (None, uri)
    };
    uri::check(uri)?;
    let params = parse_params(&mut sc)?;
    Ok(NameAddr {
        display,
        uri: uri.to_string(),
        params,
    })
}

fn contains_outside_quotes(value: &str, needle: char) -> bool {
    let mut in_quotes = false;
    let mut escaped = false;
    for c in value.chars() {
        if escaped {
            escaped = false;
        } else if in_quotes && c == '\\' {
            escaped = true;
        } else if c == '"' {
            in_quotes = !in_quotes;
        } else if c == needle && !in_quotes {
            return true;
        }
    }
    false
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CSeq {
    pub seq: u32,
    pub method: String,
}

pub fn parse_cseq(value: &str) -> Result<CSeq, String> {
    let mut parts = value.split_whitespace();
    let (Some(num), Some(method), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(format!("{value:?} is not 'number method'"));
    };
    let seq = parse_decimal(num, (1 << 31) - 1)?;
    if !is_token(method) {
        return Err(format!("method {method:?} is not a token"));
    }
    Ok(CSeq {
        seq: seq as u32,
        method: method.to_string(),
    })
}

/// A decimal number no larger than `max`, overflow-safe.
pub fn parse_decimal(s: &str, max: u64) -> Result<u64, String> {
    let s = s.trim();
    if s.is_empty() || !s.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!("{s:?} is not a number"));
    }
    match s.parse::<u64>() {
        Ok(v) if v <= max => Ok(v),
        _ => Err(format!("{s} is out of range (max {max})")),
    }
}

/// A Call-ID is matched as an opaque string, so only what would break the
/// header is refused: emptiness and whitespace. Stricter `word[@word]`
/// checks would turn away real phones whose Call-IDs carry base64 `=`.
pub fn check_call_id(value: &str) -> Result<(), String> {
    if value.is_empty() || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        Err(format!("{value:?} is empty or has whitespace"))
    } else {
        Ok(())
    }
}

/// `type/subtype *(;param)`, returned lowercased without parameters.
pub fn parse_media_type(value: &str) -> Result<String, String> {
    let mut sc = Scanner::new(value);
    let ty = sc.token().ok_or("missing media type")?;
    if !sc.eat('/') {
        return Err(format!("{value:?} is not type/subtype"));
    }
    let sub = sc.token().ok_or("missing media subtype")?;
    parse_params(&mut sc)?;
    Ok(format!("{ty}/{sub}").to_ascii_lowercase())
}

/// Comma-separated tokens (Require, Supported, Allow).
pub fn parse_token_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty() && t.chars().all(is_token_char))
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn via_with_lws_everywhere() {
        let v =
            parse_via("SIP  /    2.0   / UDP  192.168.255.111   ; branch= z9hG4bK30239").unwrap();
        assert_eq!(v.transport, "UDP");
        assert_eq!(v.host, "192.168.255.111");
        assert_eq!(v.branch(), Some("z9hG4bK30239"));
        assert_eq!(
            v.to_string(),
            "SIP/2.0/UDP 192.168.255.111;branch=z9hG4bK30239"
        );
    }

    #[test]
    fn via_rejects_empty_params_and_other_versions() {
        assert!(parse_via("SIP/2.0/UDP 192.0.2.15;;").is_err());
        assert!(parse_via("SIP/7.0/UDP c.example.com;branch=z9hG4bKkdjuw").is_err());
        assert!(parse_via("SIP/2.0/UDP [::1]:5060;rport").is_ok());
    }

    #[test]
    fn name_addr_forms() {
        let a = parse_name_addr("caller<sip:caller@example.com>;tag=323").unwrap();
        assert_eq!(a.display.as_deref(), Some("caller"));
        assert_eq!(a.tag(), Some("323"));
        let b =
            parse_name_addr(" sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n").unwrap();
        assert_eq!(b.uri, "sip:vivekg@chair-dnrc.example.com");
        assert_eq!(b.tag(), Some("1918181833n"));
        let c = parse_name_addr(
            r#""J Rosenberg \\\""       <sip:jdrosen@example.com> ; tag = 98asjd8"#,
        )
        .unwrap();
        assert_eq!(c.display.as_deref(), Some("J Rosenberg \\\""));
    }

    #[test]
    fn name_addr_rejections() {
        assert!(parse_name_addr("\"Watson, Thomas\" < sip:t.watson@example.org >").is_err());
        assert!(parse_name_addr("Bell, Alexander <sip:a.g.bell@example.com>;tag=43").is_err());
        assert!(parse_name_addr("\"Mr. J. User <sip:j.user@example.com>").is_err());
        assert!(parse_name_addr("sip:user@example.com?Route=%3Csip:sip.example.com%3E").is_err());
        assert!(parse_name_addr("\"Joe\" <sip:joe@example.org>;;;;").is_err());
    }

    #[test]
    fn call_ids_are_opaque_but_one_word() {
        assert!(check_call_id("intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{").is_ok());
        assert!(check_call_id("YWJjZA==@host").is_ok());
        assert!(check_call_id("two words").is_err());
        assert!(check_call_id("").is_err());
    }

    #[test]
    fn cseq_range_and_shape() {
        assert_eq!(parse_cseq("0009   INVITE").unwrap().seq, 9);
        assert!(parse_cseq("36893488147419103232 REGISTER").is_err());
        assert!(parse_cseq("2147483648 INVITE").is_err());
        assert!(parse_cseq("1").is_err());
    }
}
