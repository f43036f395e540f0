//! `ivr passwd`: print the argon2 hash of a password for a `[[users]]`
//! entry of the config (`password_hash = "..."`).

use std::io::BufRead;

use super::CliResult;
use crate::auth::hash_password;

#[derive(clap::Args)]
pub struct Args {
    /// The password; left out, the first line of standard input is read
    /// (keeps it out of the shell history and the process list).
    #[arg(long)]
    pub password: Option<String>,
}

pub fn run(args: Args) -> CliResult {
    let password = match args.password {
        Some(password) => password,
        None => {
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line)?;
            line.trim_end_matches(['\n', '\r']).to_string()
        }
    };
    if password.is_empty() {
        return Err("the password is empty: give one with --password or on standard input".into());
    }
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| format!("no random bytes for the salt: {e}"))?;
    println!("{}", hash_password(&password, &salt)?);
    Ok(())
}
