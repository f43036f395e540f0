//! RFC 4475's expectations, shared by the tests that feed its torture
//! messages to the endpoint core and to a running server.
#![allow(dead_code)]

/// What RFC 4475 asks of a user agent for each message (the first final
/// response, or `None` where nothing can or may be answered). Section 3.1.2
/// and 3.3 messages that must be rejected get 400 (505 for another
/// version); requests this server does not serve get the code that says
/// why; calls are answered.
pub const EXPECTED: &[(&str, Option<u16>)] = &[
    // 3.1.1: valid messages.
    ("wsinv", Some(481)), // To tag of a dialog this server never had
    ("intmeth", Some(501)),
    ("esc01", Some(200)),
    ("escnull", Some(403)), // REGISTER: no agents configured
    ("esc02", Some(501)),
    ("lwsdisp", Some(200)),
    ("longreq", Some(200)),
    ("dblreq", Some(403)), // REGISTER: no agents configured
    ("semiuri", Some(200)),
    ("transports", Some(200)),
    ("mpart01", Some(405)),
    ("unreason", None), // responses are never answered
    ("noreason", None),
    // 3.1.2: invalid messages.
    ("badinv01", Some(400)),
    ("clerr", Some(400)),
    ("ncl", Some(400)),
    ("scalar02", Some(400)),
    ("scalarlg", None),
    ("quotbal", Some(400)),
    ("ltgtruri", Some(400)),
    ("lwsruri", Some(400)),
    ("lwsstart", Some(400)),
    ("trws", Some(400)),
    ("escruri", Some(400)),
    ("baddate", Some(400)),
    ("regbadct", Some(400)),
    ("badaspec", Some(400)),
    ("baddn", Some(400)),
    ("badvers", Some(505)),
    ("mismatch01", Some(400)),
    ("mismatch02", Some(400)),
    ("bigcode", None),
    // 3.2: transaction layer.
    ("badbranch", Some(200)),
    // 3.3: application layer.
    ("insuf", Some(400)),
    ("unkscm", Some(416)),
    ("novelsc", Some(416)),
    ("unksm2", Some(416)), // REGISTER of an isbn: address of record
    ("bext01", Some(420)),
    ("invut", Some(415)),
    ("regaut01", Some(403)), // REGISTER: no agents configured
    ("multi01", Some(400)),
    ("mcl01", Some(400)),
    ("bcast", None),
    ("zeromf", Some(200)),   // Max-Forwards 0 only stops proxies
    ("cparam01", Some(403)), // REGISTER: no agents configured
    ("cparam02", Some(403)), // REGISTER: no agents configured
    ("regescrt", Some(403)), // REGISTER: no agents configured
    ("sdp01", Some(406)),
    ("inv2543", Some(200)),
    // Not from RFC 4475: a request line with no SIP version and no Via.
    ("test", None),
];

/// Well-formed INVITEs that start a call: a running server answers them
/// (200), a bare endpoint whose application never answers only sends 100.
pub const CALLS: &[&str] = &["esc01", "inv2543", "longreq"];

/// The first status a bare endpoint (no application answering calls) sends.
pub fn endpoint_expectation(name: &str) -> Option<u16> {
    if CALLS.contains(&name) {
        return Some(100);
    }
    EXPECTED
        .iter()
        .find(|(n, _)| *n == name)
        .unwrap_or_else(|| panic!("no expectation for {name}"))
        .1
}
