//! The handoff an agent's phone receives in the INVITE: what the caller
//! wants, how upset they are, the summary line, and where to read the rest.

use crate::brain::text::one_line;
use crate::runtime::call_task::QueuedCall;

/// The handoff an agent's phone receives with the call.
pub fn handoff_headers(q: &QueuedCall, http_base: Option<&str>) -> Vec<(String, String)> {
    let mut headers = vec![
        (
            "X-IVR-Intent".to_string(),
            header_safe(q.intent.as_deref().unwrap_or("none"), 64),
        ),
        (
            "X-IVR-Agitation".to_string(),
            format!(
                "{:.2}; level={}",
                q.agitation,
                header_safe(&q.agitation_level, 16)
            ),
        ),
        ("X-IVR-Summary".to_string(), header_safe(&q.summary, 300)),
        ("X-IVR-Queue".to_string(), header_safe(&q.queue, 64)),
    ];
    if let Some(base) = http_base {
        headers.push((
            "Call-Info".to_string(),
            format!("<{base}/api/calls/{}>;purpose=info", q.id),
        ));
    }
    headers
}

/// One line of printable text, at most `max` characters: no CR/LF or other
/// control characters can reach a SIP header.
pub fn header_safe(text: &str, max: usize) -> String {
    let line = one_line(text);
    match line.char_indices().nth(max) {
        Some((cut, _)) => line[..cut].trim_end().to_string(),
        None => line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_safe_strips_line_breaks_and_limits_length() {
        assert_eq!(header_safe("a\r\nInjected: x", 100), "a Injected: x");
        assert_eq!(header_safe("  spaced\tout  ", 100), "spaced out");
        assert_eq!(header_safe("转人工转人工", 3), "转人工");
    }
}
