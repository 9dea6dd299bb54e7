//! Encryption of state at rest with age (`project { state_recipients }`), so
//! a team can commit its state: the file is the ASCII-armored age encryption
//! of the JSON document to every recipient, and an identity from
//! `FACS_AGE_IDENTITY` (the key itself, or a file of keys as `age-keygen`
//! writes them) decrypts it. Plaintext stays the default.
//!
//! The file name does not change (`state.json`), so the store's locking,
//! atomic replace and backup work the same; a file is recognised as
//! encrypted by its armor line.

use std::io::{Read, Write};
use std::str::FromStr;

/// The first line of an armored age file.
const ARMOR_BEGIN: &[u8] = b"-----BEGIN AGE ENCRYPTED FILE-----";

/// The variable that holds (or names the file of) the identities.
pub const IDENTITY_VAR: &str = "FACS_AGE_IDENTITY";

/// True when `bytes` is an age file (armored or binary).
pub fn is_encrypted(bytes: &[u8]) -> bool {
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(bytes.len());
    let rest = bytes.get(start..).unwrap_or_default();
    rest.starts_with(ARMOR_BEGIN) || rest.starts_with(b"age-encryption.org/")
}

/// Checks a recipient as written in `state_recipients`.
pub fn parse_recipient(text: &str) -> Result<age::x25519::Recipient, String> {
    age::x25519::Recipient::from_str(text.trim()).map_err(|e| e.to_string())
}

/// Encrypts `plaintext` to every recipient, armored.
pub fn encrypt(recipients: &[String], plaintext: &[u8]) -> Result<Vec<u8>, String> {
    let parsed: Vec<age::x25519::Recipient> =
        recipients.iter().map(|r| parse_recipient(r)).collect::<Result<_, _>>()?;
    let encryptor = age::Encryptor::with_recipients(parsed.iter().map(|r| r as &dyn age::Recipient))
        .map_err(|e| format!("cannot encrypt state: {e}"))?;
    let mut out = Vec::with_capacity(plaintext.len() * 2);
    let armor =
        age::armor::ArmoredWriter::wrap_output(&mut out, age::armor::Format::AsciiArmor).map_err(|e| e.to_string())?;
    let mut writer = encryptor.wrap_output(armor).map_err(|e| e.to_string())?;
    writer.write_all(plaintext).map_err(|e| e.to_string())?;
    writer.finish().and_then(|armor| armor.finish()).map_err(|e| e.to_string())?;
    Ok(out)
}

/// The identities of `FACS_AGE_IDENTITY`: the value itself when it is a key
/// (`AGE-SECRET-KEY-1...`), else the file it names (one key per line,
/// `#` comments allowed).
fn identities() -> Result<Vec<age::x25519::Identity>, String> {
    let Some(value) = std::env::var_os(IDENTITY_VAR) else {
        return Err(format!(
            "the state is encrypted (`project.state_recipients`) and {IDENTITY_VAR} is not set: set it to your age \
             identity (`AGE-SECRET-KEY-1...`) or to the file that holds it (as `age-keygen -o` writes)"
        ));
    };
    let value = value.to_string_lossy().into_owned();
    let text = if value.trim_start().starts_with("AGE-SECRET-KEY-") {
        value
    } else {
        std::fs::read_to_string(&value).map_err(|e| format!("cannot read {IDENTITY_VAR} file {value}: {e}"))?
    };
    let keys: Vec<age::x25519::Identity> = text
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("AGE-SECRET-KEY-"))
        .map(|l| age::x25519::Identity::from_str(l).map_err(|e| format!("{IDENTITY_VAR}: not an age identity: {e}")))
        .collect::<Result<_, _>>()?;
    if keys.is_empty() {
        return Err(format!("{IDENTITY_VAR} holds no age identity (a line `AGE-SECRET-KEY-1...`)"));
    }
    Ok(keys)
}

/// Decrypts an age file with the identities of `FACS_AGE_IDENTITY`.
pub fn decrypt(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let keys = identities()?;
    let decryptor = age::Decryptor::new_buffered(age::armor::ArmoredReader::new(bytes))
        .map_err(|e| format!("not a readable age file: {e}"))?;
    let mut reader = decryptor.decrypt(keys.iter().map(|k| k as &dyn age::Identity)).map_err(|e| match e {
        age::DecryptError::NoMatchingKeys => {
            format!("none of the identities in {IDENTITY_VAR} is a recipient of this state")
        }
        other => format!("cannot decrypt: {other}"),
    })?;
    let mut plain = Vec::new();
    reader.read_to_end(&mut plain).map_err(|e| format!("cannot decrypt: {e}"))?;
    Ok(plain)
}

#[cfg(test)]
mod tests {
    use super::*;
    use age::secrecy::ExposeSecret;

    #[test]
    fn a_state_encrypted_to_a_recipient_decrypts_with_its_identity() {
        let key = age::x25519::Identity::generate();
        let other = age::x25519::Identity::generate();
        let recipients = vec![key.to_public().to_string(), other.to_public().to_string()];
        let plain = br#"{"passwd": {"www": "p"}}"#;
        let sealed = encrypt(&recipients, plain).expect("encrypt");
        assert!(is_encrypted(&sealed) && !is_encrypted(plain));
        assert!(!sealed.windows(1 + 1).any(|w| w == b"\"p"), "plaintext visible");
        // Both recipients can open it. (The variable is process-wide; this
        // is the only test of the crate that sets it.)
        for identity in [&key, &other] {
            std::env::set_var(IDENTITY_VAR, identity.to_string().expose_secret());
            assert_eq!(decrypt(&sealed).expect("decrypt"), plain);
        }
        std::env::set_var(IDENTITY_VAR, age::x25519::Identity::generate().to_string().expose_secret());
        assert!(decrypt(&sealed).expect_err("stranger").contains("none of the identities"));
        std::env::remove_var(IDENTITY_VAR);
        assert!(decrypt(&sealed).expect_err("unset").contains("is not set"));
        assert!(parse_recipient("age1notakey").is_err());
    }
}
