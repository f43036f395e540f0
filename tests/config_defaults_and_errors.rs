//! The engine config: no file means defaults, the shipped example is the
//! defaults spelled out (plus one documented login), relative paths follow
//! the file, and every mistake is an error that says where it is.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use ivr::auth::{Role, Users};
use ivr::config::{Config, ConfigError};

/// A fresh folder for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ivr-config-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("ivr.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn no_file_gives_defaults_resolved_against_the_current_folder() {
    let config = Config::load(None).unwrap();
    let cwd = std::env::current_dir().unwrap();
    assert_eq!(
        config.sip.udp,
        "127.0.0.1:5060".parse::<SocketAddr>().unwrap()
    );
    assert_eq!(
        config.sip.tcp,
        "127.0.0.1:5060".parse::<SocketAddr>().unwrap()
    );
    assert_eq!(config.sip.public_addr, None);
    assert_eq!((config.rtp.port_min, config.rtp.port_max), (20000, 29998));
    assert_eq!(config.rtp.playout_delay_ms, 60);
    assert_eq!(config.engine.dialplan, cwd.join("dialplans/hotline.toml"));
    assert_eq!(config.engine.models_dir, cwd.join("models"));
    assert_eq!(config.engine.language, None);
    assert_eq!(config.engine.no_input_ms, 6000);
    assert_eq!(config.engine.max_no_input, 2);
    assert!(config.engine.barge_in);
    assert!(config.engine.record_calls);
    assert_eq!(config.engine.max_calls, 1000);
    assert_eq!(config.storage.database, cwd.join("var/ivr.sqlite"));
    assert_eq!(config.storage.recordings, cwd.join("var/recordings"));
    assert_eq!(config.storage.prompt_cache, cwd.join("var/prompts"));
    assert_eq!(
        config.http.listen,
        "127.0.0.1:8080".parse::<SocketAddr>().unwrap()
    );
}

#[test]
fn shipped_example_matches_the_defaults() {
    // Tests run from the repository root, where the defaults resolve to
    // the same files the example names relative to config/.
    // Only its one login is not a default: the README's supervisor, whose
    // documented password must work.
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/ivr.toml");
    let mut example = Config::load(Some(&example)).unwrap();
    let users = Users::new(&example.users).unwrap();
    assert_eq!(
        users.verify("supervisor", "change-me").unwrap().role,
        Role::Supervisor
    );
    example.users.clear();
    assert_eq!(example, Config::load(None).unwrap());
}

#[test]
fn relative_paths_follow_the_config_file() {
    let dir = scratch("relative");
    let path = write(
        &dir,
        "[storage]\ndatabase = \"data/calls.sqlite\"\n[engine]\ndialplan = \"../plans/x.toml\"\n",
    );
    let config = Config::load(Some(&path)).unwrap();
    assert_eq!(config.storage.database, dir.join("data/calls.sqlite"));
    assert_eq!(
        config.engine.dialplan,
        dir.parent().unwrap().join("plans/x.toml")
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn unknown_keys_are_rejected_by_name() {
    let dir = scratch("unknown");
    for (text, name) in [
        ("[sip]\nudp_port = 5070\n", "udp_port"),
        ("[engin]\nbarge_in = false\n", "engin"),
        ("[engine]\nbargein = false\n", "bargein"),
    ] {
        let path = write(&dir, text);
        let err = Config::load(Some(&path)).unwrap_err();
        let message = err.to_string();
        assert!(matches!(err, ConfigError::Parse { .. }), "{message}");
        assert!(message.contains(name), "{message}");
        assert!(message.contains(&path.display().to_string()), "{message}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_values_say_which_key() {
    let dir = scratch("values");
    for (text, key) in [
        ("[sip]\nudp = \"localhost\"\n", "udp"),
        ("[http]\nlisten = \"127.0.0.1:99999\"\n", "listen"),
        ("[rtp]\nip = \"10.0.0\"\n", "ip"),
        ("[engine]\nbarge_in = \"yes\"\n", "barge_in"),
        ("[engine]\nmax_calls = -5\n", "max_calls"),
        ("[engine]\nlanguage = \"fr\"\n", "language"),
        ("[rtp]\nport_min = 30001\n", "rtp.port_min"),
        (
            "[rtp]\nport_min = 30000\nport_max = 20000\n",
            "rtp.port_max",
        ),
        ("sip = 5\n", "sip"),
        ("[sip\nudp = \"127.0.0.1:5060\"\n", "[sip"),
    ] {
        let path = write(&dir, text);
        let message = Config::load(Some(&path)).unwrap_err().to_string();
        assert!(message.contains(key), "{text:?}: {message}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_missing_file_is_named() {
    let path = std::env::temp_dir().join("ivr-config-no-such-file.toml");
    let err = Config::load(Some(&path)).unwrap_err();
    assert!(matches!(err, ConfigError::Read { .. }), "{err}");
    assert!(
        err.to_string().contains("ivr-config-no-such-file.toml"),
        "{err}"
    );
}

#[test]
fn a_partial_file_keeps_the_other_defaults() {
    let dir = scratch("partial");
    let path = write(
        &dir,
        "[sip]\nudp = \"0.0.0.0:5080\"\npublic_addr = \"192.0.2.10\"\n[engine]\nlanguage = \"zh\"\nbarge_in = false\n",
    );
    let config = Config::load(Some(&path)).unwrap();
    assert_eq!(
        config.sip.udp,
        "0.0.0.0:5080".parse::<SocketAddr>().unwrap()
    );
    assert_eq!(
        config.sip.public_addr,
        Some("192.0.2.10".parse::<IpAddr>().unwrap())
    );
    assert_eq!(config.engine.language, Some(ivr::brain::asr::Language::Zh));
    assert!(!config.engine.barge_in);
    let defaults = Config::default();
    assert_eq!(config.sip.tcp, defaults.sip.tcp);
    assert_eq!(config.rtp, defaults.rtp);
    assert_eq!(config.engine.max_calls, defaults.engine.max_calls);
    assert_eq!(config.storage.database, dir.join("var/ivr.sqlite"));
    std::fs::remove_dir_all(&dir).unwrap();
}
