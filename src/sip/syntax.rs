//! Lexical pieces of the RFC 3261 grammar: tokens, quoted strings, LWS,
//! generic parameters and comma-separated lists.

/// RFC 3261 `token` characters.
pub fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-.!%*_+`'~".contains(c)
}

pub fn is_token(s: &str) -> bool {
    !s.is_empty() && s.chars().all(is_token_char)
}

/// A cursor over a header value (already unfolded to one line).
pub struct Scanner<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Scanner<'a> {
    pub fn new(s: &'a str) -> Scanner<'a> {
        Scanner { s, pos: 0 }
    }

    pub fn rest(&self) -> &'a str {
        &self.s[self.pos..]
    }

    pub fn position(&self) -> usize {
        self.pos
    }

    pub fn raw_since(&self, start: usize) -> &'a str {
        &self.s[start..self.pos]
    }

    pub fn at_end(&self) -> bool {
        self.pos >= self.s.len()
    }

    pub fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    pub fn skip_ws(&mut self) {
        while let Some(c) = self.peek() {
            if c == ' ' || c == '\t' {
                self.pos += 1;
            } else {
                break;
            }
        }
    }

    /// Consumes `c` (after optional LWS) when it comes next.
    pub fn eat(&mut self, c: char) -> bool {
        self.skip_ws();
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    /// The longest run of characters matching `pred` (possibly empty).
    pub fn take_while(&mut self, pred: impl Fn(char) -> bool) -> &'a str {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if !pred(c) {
                break;
            }
            self.pos += c.len_utf8();
        }
        &self.s[start..self.pos]
    }

    pub fn token(&mut self) -> Option<&'a str> {
        self.skip_ws();
        let t = self.take_while(is_token_char);
        (!t.is_empty()).then_some(t)
    }

    /// A quoted string starting at the cursor; returns its unescaped content.
    pub fn quoted_string(&mut self) -> Result<String, &'static str> {
        self.skip_ws();
        if self.peek() != Some('"') {
            return Err("expected a quoted string");
        }
        self.pos += 1;
        let mut out = String::new();
        let mut chars = self.rest().char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    self.pos += i + 1;
                    return Ok(out);
                }
                '\\' => match chars.next() {
                    Some((_, e)) if e.is_ascii() && e != '\r' && e != '\n' => out.push(e),
                    _ => return Err("bad escape in quoted string"),
                },
                c => out.push(c),
            }
        }
        Err("unterminated quoted string")
    }
}

/// A `;name[=value]` parameter.
pub type Param = (String, Option<String>);

/// Parses `*( SEMI generic-param )` up to the end of the scanner. Values are
/// tokens, hosts (incl. `[v6]`) or quoted strings.
pub fn parse_params(sc: &mut Scanner<'_>) -> Result<Vec<Param>, String> {
    let mut params = Vec::new();
    loop {
        sc.skip_ws();
        if sc.at_end() {
            return Ok(params);
        }
        if !sc.eat(';') {
            return Err(format!("unexpected {:?} before parameters", sc.rest()));
        }
        let Some(name) = sc.token() else {
            return Err("empty parameter".into());
        };
        let value = if sc.eat('=') {
            sc.skip_ws();
            if sc.peek() == Some('"') {
                let start = sc.position();
                sc.quoted_string()?;
                Some(sc.raw_since(start).to_string())
            } else {
                let v = sc.take_while(|c| is_token_char(c) || "[]:".contains(c));
                if v.is_empty() {
                    return Err(format!("parameter {name} has an empty value"));
                }
                Some(v.to_string())
            }
        } else {
            None
        };
        params.push((name.to_string(), value));
    }
}

pub fn find_param<'p>(params: &'p [Param], name: &str) -> Option<&'p Option<String>> {
    params
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

pub fn write_params(out: &mut String, params: &[Param]) {
    for (name, value) in params {
        out.push(';');
        out.push_str(name);
        if let Some(v) = value {
            out.push('=');
            out.push_str(v);
        }
    }
}

/// Splits a header value at commas that are outside quotes and `<...>`.
pub fn split_list(value: &str) -> Vec<&str> {
    let mut items = Vec::new();
    let mut start = 0;
    let mut in_quotes = false;
    let mut in_angle = false;
    let mut escaped = false;
    for (i, c) in value.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' if in_quotes => escaped = true,
            '"' if !in_angle => in_quotes = !in_quotes,
            '<' if !in_quotes => in_angle = true,
            '>' if !in_quotes => in_angle = false,
            ',' if !in_quotes && !in_angle => {
                items.push(value[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(value[start..].trim());
    items
}

/// Quotes a display name for a header when it is not a plain token list.
pub fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// A hostname, IPv4 address or bracketed IPv6 reference.
pub fn is_host(h: &str) -> bool {
    if let Some(v6) = h.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        return v6.parse::<std::net::Ipv6Addr>().is_ok();
    }
    !h.is_empty()
        && h.split('.').enumerate().all(|(i, label)| {
            // A trailing dot (fully qualified name) leaves one empty label.
            (label.is_empty() && i > 0 && h.ends_with('.'))
                || (!label.is_empty()
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                    && !label.starts_with('-')
                    && !label.ends_with('-'))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_allow_lws_around_separators() {
        let mut sc = Scanner::new(" ;   tag    = 1918181833n ; lr");
        let p = parse_params(&mut sc).unwrap();
        assert_eq!(p[0], ("tag".into(), Some("1918181833n".into())));
        assert_eq!(p[1], ("lr".into(), None));
    }

    #[test]
    fn empty_parameter_is_an_error() {
        assert!(parse_params(&mut Scanner::new(";;")).is_err());
        assert!(parse_params(&mut Scanner::new(";a=")).is_err());
    }

    #[test]
    fn quoted_string_unescapes_and_detects_unterminated() {
        let mut sc = Scanner::new(r#""J Rosenberg \\\"" rest"#);
        assert_eq!(sc.quoted_string().unwrap(), "J Rosenberg \\\"");
        assert!(Scanner::new("\"open").quoted_string().is_err());
    }

    #[test]
    fn lists_split_outside_quotes_and_brackets() {
        let v = r#""a, b" <sip:x@y;p=1,2>, <sip:z@w>"#;
        assert_eq!(
            split_list(v),
            vec![r#""a, b" <sip:x@y;p=1,2>"#, "<sip:z@w>"]
        );
    }

    #[test]
    fn hosts() {
        assert!(is_host("example.com"));
        assert!(is_host("192.0.2.1"));
        assert!(is_host("[::1]"));
        assert!(!is_host("exa mple"));
        assert!(!is_host(""));
        assert!(!is_host("[zz]"));
    }
}
