//! The RFC 4475 torture messages: the parser accepts exactly the ones the
//! RFC calls well-formed, rejects the rest, and never panics, not even on
//! every truncation and many small mutations of each.

use std::path::PathBuf;

use ivr::sip::{Message, ParseError, parse_message};

fn dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/conformance/rfc4475"
    ))
}

/// RFC 4475 section 3: true where the message is syntactically valid (its
/// trouble, if any, is for the application to answer), false where a parser
/// must reject it.
const EXPECTED: &[(&str, bool)] = &[
    // 3.1.1 valid
    ("wsinv", true),
    ("intmeth", true),
    ("esc01", true),
    ("escnull", true),
    ("esc02", true),
    ("lwsdisp", true),
    ("longreq", true),
    ("dblreq", true),
    ("semiuri", true),
    ("transports", true),
    ("mpart01", true),
    ("unreason", true),
    ("noreason", true),
    // 3.1.2 invalid
    ("badinv01", false),
    ("clerr", false),
    ("ncl", false),
    ("scalar02", false),
    ("scalarlg", false),
    ("quotbal", false),
    ("ltgtruri", false),
    ("lwsruri", false),
    ("lwsstart", false),
    ("trws", false),
    ("escruri", false),
    ("baddate", false),
    ("regbadct", false),
    ("badaspec", false),
    ("baddn", false),
    ("badvers", false),
    ("mismatch01", false),
    ("mismatch02", false),
    ("bigcode", false),
    // 3.1.3 transaction layer: parses
    ("badbranch", true),
    // 3.1.4 application layer: parse, then get a 4xx or are processed
    ("insuf", false), // missing required headers: 400
    ("unkscm", true),
    ("novelsc", true),
    ("unksm2", true),
    ("bext01", true),
    ("invut", true),
    ("regaut01", true),
    ("multi01", false), // several values in single-value headers: 400
    ("mcl01", false),   // two Content-Lengths: 400
    ("bcast", true),
    ("zeromf", true),
    ("cparam01", true),
    ("cparam02", true),
    ("regescrt", true),
    ("sdp01", true),
    // 3.2 backward compatibility
    ("inv2543", true),
    // Not from the RFC: no SIP version, a header line without a colon.
    ("test", false),
];

fn all_files() -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir())
        .expect("RFC 4475 messages in ../shared/conformance/rfc4475")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "dat"))
        .map(|p| {
            let name = p.file_stem().unwrap().to_string_lossy().to_string();
            (name, std::fs::read(&p).unwrap())
        })
        .collect();
    files.sort();
    files
}

#[test]
fn every_message_parses_or_fails_as_rfc_4475_says() {
    let files = all_files();
    assert_eq!(
        files.len(),
        EXPECTED.len(),
        "a .dat file without an expectation"
    );
    let mut wrong = Vec::new();
    for (name, bytes) in &files {
        let valid = EXPECTED
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("no expectation for {name}"))
            .1;
        let result = parse_message(bytes);
        if result.is_ok() != valid {
            wrong.push(format!(
                "{name}: expected {}, got {result:?}",
                if valid { "valid" } else { "an error" }
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn errors_name_what_is_wrong() {
    let read = |n: &str| std::fs::read(dir().join(format!("{n}.dat"))).unwrap();
    assert!(matches!(
        parse_message(&read("badvers")),
        Err(ParseError::UnsupportedVersion(_))
    ));
    assert!(matches!(
        parse_message(&read("clerr")),
        Err(ParseError::BodyTruncated { .. })
    ));
    assert!(matches!(
        parse_message(&read("mcl01")),
        Err(ParseError::DuplicateHeader("Content-Length"))
    ));
    assert!(matches!(
        parse_message(&read("insuf")),
        Err(ParseError::MissingHeader(_))
    ));
    assert!(matches!(
        parse_message(&read("mismatch01")),
        Err(ParseError::CSeqMethodMismatch { .. })
    ));
    let Err(ParseError::BadHeader { name, .. }) = parse_message(&read("badinv01")) else {
        panic!("badinv01 should have a bad header")
    };
    assert_eq!(name, "Via");
    let scalar = parse_message(&read("scalar02")).unwrap_err().to_string();
    assert!(scalar.contains("CSeq"), "{scalar}");
}

#[test]
fn valid_messages_keep_their_meaning() {
    let read =
        |n: &str| parse_message(&std::fs::read(dir().join(format!("{n}.dat"))).unwrap()).unwrap();
    // dblreq: the bytes after Content-Length (a second request) are ignored.
    let Message::Request(reg) = read("dblreq") else {
        panic!()
    };
    assert_eq!(reg.method.as_str(), "REGISTER");
    assert!(reg.body.is_empty());
    // wsinv: folded, spaced-out headers still read right.
    let Message::Request(ws) = read("wsinv") else {
        panic!()
    };
    assert_eq!(ws.core.cseq.seq, 9);
    assert_eq!(ws.core.to.tag(), Some("1918181833n"));
    assert_eq!(ws.core.from.tag(), Some("98asjd8"));
    assert_eq!(ws.core.via.len(), 3);
    assert_eq!(ws.body.len(), 150);
    // esc02: an unknown method with a % in it.
    let Message::Request(esc) = read("esc02") else {
        panic!()
    };
    assert_eq!(esc.method.as_str(), "RE%47IST%45R");
    // noreason: an empty reason phrase.
    let Message::Response(r) = read("noreason") else {
        panic!()
    };
    assert_eq!((r.status, r.reason.as_str()), (100, ""));
    // inv2543: no Content-Length, so the body runs to the end of the datagram.
    let Message::Request(old) = read("inv2543") else {
        panic!()
    };
    assert!(old.body.ends_with(b"RTP/AVP 0\r\n"));
}

/// Deterministic byte mutations: each position replaced by each of a few
/// characters that matter to the grammar.
fn mutations(bytes: &[u8]) -> impl Iterator<Item = Vec<u8>> + '_ {
    const PROBES: &[u8] = &[0, b' ', b'\r', b'\n', b':', b';', b'<', b'"', 0xff];
    let replaced = (0..bytes.len()).flat_map(move |i| {
        PROBES.iter().map(move |&p| {
            let mut m = bytes.to_vec();
            m[i] = p;
            m
        })
    });
    // A multi-byte character anywhere, to catch slicing inside one.
    let inserted = (0..bytes.len()).map(move |i| {
        let mut m = bytes.to_vec();
        m.splice(i..i, "€".bytes());
        m
    });
    replaced.chain(inserted)
}

#[test]
fn truncated_and_mutated_messages_never_panic() {
    let mut parsed = 0usize;
    let mut rejected = 0usize;
    for (name, bytes) in all_files() {
        let prefixes = (0..=bytes.len()).map(|n| bytes[..n].to_vec());
        for candidate in prefixes.chain(mutations(&bytes)) {
            let outcome = std::panic::catch_unwind(|| parse_message(&candidate).is_ok());
            match outcome {
                Ok(true) => parsed += 1,
                Ok(false) => rejected += 1,
                Err(_) => panic!(
                    "parser panicked on a variant of {name}: {:?}",
                    String::from_utf8_lossy(&candidate)
                ),
            }
            // What parses must write back to something that parses the same.
            if let Ok(msg) = parse_message(&candidate) {
                let again = parse_message(&msg.to_bytes()).unwrap_or_else(|e| {
                    panic!("re-serialised variant of {name} does not parse: {e}")
                });
                let without_length = |m: &Message| {
                    m.headers()
                        .iter()
                        .filter(|(n, _)| *n != "Content-Length")
                        .map(|(n, v)| (n.to_string(), v.to_string()))
                        .collect::<Vec<_>>()
                };
                assert_eq!(
                    without_length(&again),
                    without_length(&msg),
                    "variant of {name}"
                );
                assert_eq!(again.body(), msg.body(), "variant of {name}");
            }
        }
    }
    assert!(
        parsed > 0 && rejected > 0,
        "parsed {parsed}, rejected {rejected}"
    );
}
