//! Agents' phones register on fake time: a REGISTER without credentials is
//! challenged (401 Digest, qop=auth), a wrong password is challenged again,
//! an unknown user or someone else's address is refused (403), the right
//! password binds the phone (200 listing the Contact with its expiry,
//! `Registered`), refreshes move the expiry, an old nonce is answered
//! `stale=true`, the binding runs out into `Unregistered`, and Expires: 0
//! or `Contact: *` remove it at once.

#[path = "sip_harness/agent.rs"]
mod agent;
mod sip_harness;

use agent::{AgentPhone, REGISTRAR, challenge_of, registrar};
use ivr::sip::digest::NONCE_LIFETIME_MS;
use ivr::sip::registrar::{DEFAULT_EXPIRES_S, MAX_EXPIRES_S, MIN_EXPIRES_S};
use ivr::sip::{Endpoint, Registration, SipEvent};
use sip_harness::{Drained, endpoint, feed, run_until};

const AGENTS: &[(&str, &str)] = &[("1001", "s3cret"), ("1002", "other")];

fn registered(out: &Drained) -> Vec<(String, String, u64)> {
    out.events
        .iter()
        .filter_map(|e| match e {
            SipEvent::Registered {
                user,
                contact,
                expires_ms,
                ..
            } => Some((user.clone(), contact.clone(), *expires_ms)),
            _ => None,
        })
        .collect()
}

fn unregistered(out: &Drained) -> Vec<String> {
    out.events
        .iter()
        .filter_map(|e| match e {
            SipEvent::Unregistered { user } => Some(user.clone()),
            _ => None,
        })
        .collect()
}

/// Challenge, then the right answer; returns the 200's Contacts.
fn register(ep: &mut Endpoint, phone: &mut AgentPhone, now: u64, expires: Option<u32>) -> String {
    let first = feed(ep, now, phone.peer, &phone.register(""));
    let challenge = challenge_of(first.response(401));
    let out = feed(
        ep,
        now,
        phone.peer,
        &phone.register_with(&challenge, expires),
    );
    let ok = out.response(200);
    ok.headers.list("Contact").collect::<Vec<_>>().join(", ")
}

#[test]
fn challenge_then_the_right_password_binds_the_phone() {
    let mut ep = registrar(1, AGENTS);
    let mut phone = AgentPhone::new("1001", "s3cret", "127.0.0.1:5071");
    let contact = format!("<{}>", phone.contact());
    let out = feed(
        &mut ep,
        1_000,
        phone.peer,
        &phone.register(&format!("Contact: {contact}\r\n")),
    );
    assert_eq!(out.statuses(), vec![401]);
    assert!(out.events.is_empty());
    let challenge = challenge_of(out.response(401));
    assert_eq!(challenge.realm, "ivr");
    assert_eq!(challenge.qop.as_deref(), Some("auth"));
    assert!(!challenge.stale);
    assert!(out.response(401).core.to.tag().is_some());
    assert_eq!(ep.registration("1001"), None);

    let out = feed(
        &mut ep,
        1_200,
        phone.peer,
        &phone.register_with(&challenge, None),
    );
    let ok = out.response(200);
    let expires_ms = 1_200 + DEFAULT_EXPIRES_S * 1000;
    assert_eq!(
        ok.headers.get("Contact"),
        Some(format!("<{}>;expires={DEFAULT_EXPIRES_S}", phone.contact()).as_str())
    );
    assert_eq!(
        out.events,
        vec![SipEvent::Registered {
            user: "1001".into(),
            contact: phone.contact(),
            peer: phone.peer,
            expires_ms,
        }]
    );
    assert_eq!(ep.registration("1001"), Some((phone.contact(), phone.peer)));
    assert_eq!(
        ep.registrations(1_200),
        vec![Registration {
            user: "1001".into(),
            contact: phone.contact(),
            peer: phone.peer,
            expires_ms,
        }]
    );
    assert_eq!(ep.registration("1002"), None);
    // The same answer again is a replay: challenged, binding untouched.
    phone.nc -= 1;
    let replay = feed(
        &mut ep,
        1_300,
        phone.peer,
        &phone.register_with(&challenge, None),
    );
    assert_eq!(replay.statuses(), vec![401]);
    assert!(replay.events.is_empty());
}

#[test]
fn wrong_password_unknown_user_and_someone_elses_address_are_refused() {
    let mut ep = registrar(2, AGENTS);
    let mut wrong = AgentPhone::new("1001", "guess", "127.0.0.1:5072");
    let ch = challenge_of(feed(&mut ep, 0, wrong.peer, &wrong.register("")).response(401));
    let out = feed(&mut ep, 10, wrong.peer, &wrong.register_with(&ch, None));
    assert_eq!(
        out.statuses(),
        vec![401],
        "wrong password is challenged again"
    );
    assert!(!challenge_of(out.response(401)).stale);
    assert!(out.events.is_empty());

    let mut stranger = AgentPhone::new("2000", "any", "127.0.0.1:5073");
    let ch = challenge_of(feed(&mut ep, 20, stranger.peer, &stranger.register("")).response(401));
    let out = feed(
        &mut ep,
        30,
        stranger.peer,
        &stranger.register_with(&ch, None),
    );
    assert_eq!(out.statuses(), vec![403]);
    assert!(
        out.response(403).reason.contains("unknown user"),
        "{}",
        out.response(403).reason
    );

    // 1002's credentials may not bind 1001's address of record.
    let mut other = AgentPhone::new("1002", "other", "127.0.0.1:5074");
    let ch = challenge_of(feed(&mut ep, 40, other.peer, &other.register("")).response(401));
    let auth = other.authorization(&ch, &format!("sip:{REGISTRAR}"));
    let out = feed(
        &mut ep,
        50,
        other.peer,
        &other.register_as(
            "1001",
            &format!("Contact: <sip:1002@127.0.0.1:5074>\r\nAuthorization: {auth}\r\n"),
        ),
    );
    assert_eq!(out.statuses(), vec![403]);
    // Credentials in a scheme we do not know (RFC 4475 regaut01): challenge.
    let out = feed(
        &mut ep,
        60,
        other.peer,
        &other.register("Authorization: NoOneKnowsThisScheme opaque-data=here\r\n"),
    );
    assert_eq!(out.statuses(), vec![401]);
    assert_eq!(ep.registration("1001"), None);
    assert!(ep.registrations(60).is_empty());
}

#[test]
fn no_agents_configured_means_no_registrations() {
    let mut ep = endpoint(REGISTRAR, 3);
    let mut phone = AgentPhone::new("1001", "s3cret", "127.0.0.1:5075");
    let out = feed(&mut ep, 0, phone.peer, &phone.register(""));
    assert_eq!(out.statuses(), vec![403]);
    assert!(out.response(403).reason.contains("no agents"));
}

#[test]
fn refresh_moves_the_expiry_and_the_binding_runs_out() {
    let mut ep = registrar(4, AGENTS);
    let mut phone = AgentPhone::new("1001", "s3cret", "127.0.0.1:5076");
    let first = feed(&mut ep, 0, phone.peer, &phone.register(""));
    let ch = challenge_of(first.response(401));
    let out = feed(&mut ep, 0, phone.peer, &phone.register_with(&ch, Some(120)));
    assert_eq!(
        registered(&out),
        vec![("1001".into(), phone.contact(), 120_000)]
    );

    // Refreshed at 60 s on the same nonce (next nonce count): 180 s.
    let out = feed(
        &mut ep,
        60_000,
        phone.peer,
        &phone.register_with(&ch, Some(120)),
    );
    assert_eq!(
        out.response(200).headers.get("Contact"),
        Some(format!("<{}>;expires=120", phone.contact()).as_str())
    );
    assert_eq!(
        registered(&out),
        vec![("1001".into(), phone.contact(), 180_000)]
    );

    // Past the nonce's lifetime the right answer is only stale.
    let late = 60_000 + NONCE_LIFETIME_MS;
    let out = feed(
        &mut ep,
        late,
        phone.peer,
        &phone.register_with(&ch, Some(7200)),
    );
    assert!(challenge_of(out.response(401)).stale, "stale=true");
    let fresh = challenge_of(out.response(401));
    let out = feed(
        &mut ep,
        late,
        phone.peer,
        &phone.register_with(&fresh, Some(7200)),
    );
    let expiry = late + MAX_EXPIRES_S * 1000;
    assert_eq!(
        registered(&out),
        vec![("1001".into(), phone.contact(), expiry)],
        "7200 s is cut to the maximum"
    );

    // Nothing else is due before the binding runs out (transactions aside).
    let before: Vec<_> = run_until(&mut ep, expiry - 1)
        .into_iter()
        .flat_map(|(_, d)| d.events)
        .collect();
    assert!(before.is_empty(), "{before:?}");
    assert_eq!(ep.poll_timeout(), Some(expiry));
    let fired = run_until(&mut ep, expiry);
    let gone: Vec<String> = fired.iter().flat_map(|(_, d)| unregistered(d)).collect();
    assert_eq!(gone, vec!["1001".to_string()]);
    assert_eq!(ep.registration("1001"), None);
    assert_eq!(ep.poll_timeout(), None);
}

#[test]
fn expires_zero_and_star_remove_bindings_at_once() {
    let mut ep = registrar(5, AGENTS);
    let mut phone = AgentPhone::new("1001", "s3cret", "127.0.0.1:5077");
    register(&mut ep, &mut phone, 0, Some(600));
    assert!(ep.registration("1001").is_some());

    let ch = challenge_of(feed(&mut ep, 1_000, phone.peer, &phone.register("")).response(401));
    let out = feed(
        &mut ep,
        1_000,
        phone.peer,
        &phone.register_with(&ch, Some(0)),
    );
    assert_eq!(out.response(200).headers.get("Contact"), None);
    assert_eq!(unregistered(&out), vec!["1001".to_string()]);
    assert_eq!(ep.registration("1001"), None);

    // Two phones for one agent; `*` removes both.
    let mut desk = AgentPhone::new("1001", "s3cret", "127.0.0.1:5078");
    register(&mut ep, &mut phone, 2_000, None);
    let contacts = register(&mut ep, &mut desk, 3_000, None);
    assert_eq!(contacts.matches("expires=").count(), 2, "{contacts}");
    assert_eq!(
        ep.registration("1001"),
        Some((desk.contact(), desk.peer)),
        "the latest phone"
    );
    let ch = challenge_of(feed(&mut ep, 4_000, desk.peer, &desk.register("")).response(401));
    let auth = desk.authorization(&ch, &format!("sip:{REGISTRAR}"));
    let bad_star = desk.register(&format!("Contact: *\r\nAuthorization: {auth}\r\n"));
    assert_eq!(
        feed(&mut ep, 4_000, desk.peer, &bad_star).statuses(),
        vec![400]
    );
    let auth = desk.authorization(&ch, &format!("sip:{REGISTRAR}"));
    let star = desk.register(&format!(
        "Contact: *\r\nExpires: 0\r\nAuthorization: {auth}\r\n"
    ));
    let out = feed(&mut ep, 4_000, desk.peer, &star);
    assert_eq!(out.statuses(), vec![200]);
    assert_eq!(unregistered(&out), vec!["1001".to_string()]);
    assert!(ep.registrations(4_000).is_empty());
}

#[test]
fn too_brief_and_out_of_order_registrations_are_refused() {
    let mut ep = registrar(6, AGENTS);
    let mut phone = AgentPhone::new("1002", "other", "127.0.0.1:5079");
    let ch = challenge_of(feed(&mut ep, 0, phone.peer, &phone.register("")).response(401));
    let out = feed(&mut ep, 0, phone.peer, &phone.register_with(&ch, Some(30)));
    let brief = out.response(423);
    assert_eq!(
        brief.headers.get("Min-Expires"),
        Some(MIN_EXPIRES_S.to_string().as_str())
    );
    assert!(out.events.is_empty());

    let out = feed(
        &mut ep,
        10,
        phone.peer,
        &phone.register_with(&ch, Some(300)),
    );
    assert_eq!(out.statuses(), vec![200]);
    // An older CSeq of the same Call-ID arriving late is refused.
    phone.cseq -= 2;
    let out = feed(
        &mut ep,
        20,
        phone.peer,
        &phone.register_with(&ch, Some(600)),
    );
    assert_eq!(out.statuses(), vec![500]);
    assert!(out.events.is_empty());
    assert_eq!(
        ep.registrations(20)[0].expires_ms,
        10 + 300_000,
        "binding unchanged"
    );
}
