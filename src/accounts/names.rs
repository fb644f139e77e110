//! Usernames and emails: what is allowed, and the keys that make look-alikes collide.

use unicode_normalization::UnicodeNormalization;

pub const USERNAME_MIN_CHARS: usize = 3;
pub const USERNAME_MAX_CHARS: usize = 20;
pub const EMAIL_MAX_CHARS: usize = 254;

/// Returns the username to display (NFKC) and its uniqueness key, or why it is not allowed.
/// Letters and digits of any script plus `_`, `-` and `.`, starting with a letter or digit.
pub fn normalize_username(input: &str) -> Result<(String, String), String> {
    let name: String = input.trim().nfkc().collect();
    let chars = name.chars().count();
    if chars == 0 {
        return Err("Choose a username.".into());
    }
    if !(USERNAME_MIN_CHARS..=USERNAME_MAX_CHARS).contains(&chars) {
        return Err(format!(
            "Usernames are {USERNAME_MIN_CHARS} to {USERNAME_MAX_CHARS} characters long."
        ));
    }
    if !name
        .chars()
        .all(|c| c.is_alphanumeric() || "_-.".contains(c))
    {
        return Err("Use only letters, digits, '_', '-' and '.' in usernames.".into());
    }
    if !name.chars().next().is_some_and(char::is_alphanumeric) {
        return Err("Usernames start with a letter or a digit.".into());
    }
    let key = username_key(&name);
    Ok((name, key))
}

/// NFKC, then case folding, then the Unicode confusables skeleton (UTS #39), so that
/// "Admin", "ＡＤＭＩＮ", "admin" and "аdmin" (Cyrillic а) all map to one key.
pub fn username_key(name: &str) -> String {
    let folded: String = name.nfkc().collect::<String>().to_lowercase();
    let skeleton: String = unicode_security::skeleton(&folded).collect();
    skeleton.nfkc().collect::<String>().to_lowercase()
}

/// Returns the email as given (trimmed) and its uniqueness key, or why it is not valid.
pub fn normalize_email(input: &str) -> Result<(String, String), String> {
    let email = input.trim();
    if email.is_empty() {
        return Err("Enter your email address.".into());
    }
    if email.chars().count() > EMAIL_MAX_CHARS {
        return Err(format!(
            "Email addresses are at most {EMAIL_MAX_CHARS} characters."
        ));
    }
    if !email_address::EmailAddress::is_valid(email) || !email.contains('.') {
        return Err("That does not look like an email address (name@example.com).".into());
    }
    Ok((email.to_string(), email.to_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn look_alike_usernames_share_a_key() {
        let key = username_key("admin");
        assert_eq!(username_key("Admin"), key);
        assert_eq!(username_key("ＡＤＭＩＮ"), key);
        assert_eq!(username_key("\u{0430}dmin"), key); // Cyrillic a
        assert_ne!(username_key("admins"), key);
    }

    #[test]
    fn usernames_are_checked() {
        assert!(normalize_username("ab").is_err());
        assert!(normalize_username("a b c").is_err());
        assert!(normalize_username("_lead").is_err());
        assert!(normalize_username("<script>").is_err());
        assert_eq!(normalize_username(" Zoë_1 ").unwrap().0, "Zoë_1");
    }

    #[test]
    fn emails_are_checked() {
        assert!(normalize_email("not-an-email").is_err());
        assert!(normalize_email("a@b").is_err());
        assert_eq!(
            normalize_email(" Ann@Example.com ").unwrap().1,
            "ann@example.com"
        );
    }
}
