//! Phone numbers: parsed and normalised to E.164, mainland China the default region; masked for display.

use crate::error::AppError;

/// Parses a phone number (a bare national number is read as mainland China) into E.164 (`+8613800138000`).
pub fn normalize(input: &str, field: &str) -> Result<String, AppError> {
    let trimmed = input.trim();
    if trimmed.is_empty() || trimmed.len() > 32 {
        return Err(AppError::bad_input(field, "enter a mobile phone number"));
    }
    let parsed = phonenumber::parse(Some(phonenumber::country::Id::CN), trimmed)
        .map_err(|_| AppError::bad_input(field, "this is not a phone number"))?;
    if !phonenumber::is_valid(&parsed) {
        return Err(AppError::bad_input(
            field,
            "this is not a valid phone number",
        ));
    }
    Ok(parsed.format().mode(phonenumber::Mode::E164).to_string())
}

/// Masks an E.164 number for display to its owner: `+86 138****8000`.
pub fn mask(e164: &str) -> String {
    let Ok(parsed) = phonenumber::parse(None, e164) else {
        return "****".into();
    };
    let national = parsed.national().value().to_string();
    if national.len() < 8 {
        return "****".into();
    }
    format!(
        "+{} {}****{}",
        parsed.code().value(),
        &national[..3],
        &national[national.len() - 4..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_to_e164() {
        assert_eq!(normalize("13800138000", "phone").unwrap(), "+8613800138000");
        assert_eq!(
            normalize("+86 138 0013 8000", "phone").unwrap(),
            "+8613800138000"
        );
        assert_eq!(
            normalize("+1 650-253-0000", "phone").unwrap(),
            "+16502530000"
        );
        for bad in ["", "abc", "123", "+86 1"] {
            assert!(normalize(bad, "phone").is_err(), "{bad}");
        }
    }

    #[test]
    fn masks() {
        assert_eq!(mask("+8613800138000"), "+86 138****8000");
        assert!(mask("+16502530000").ends_with("****0000"));
    }
}
