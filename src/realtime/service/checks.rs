//! Checks on what staff write into an incident.

use crate::error::{AppError, AppResult};
use crate::realtime::model::{IncidentChanges, IncidentContent};

/// The longest incident title.
const MAX_TITLE: usize = 200;
/// The longest text field of an incident.
pub(super) const MAX_TEXT: usize = 10_000;
/// At most this many data categories, each at most 64 characters.
const MAX_CATEGORIES: usize = 32;

/// A text field of 1 to `max` characters, not only blanks.
pub(super) fn text(field: &str, value: &str, max: usize) -> AppResult<()> {
    let chars = value.trim().chars().count();
    if chars == 0 || value.chars().count() > max {
        return Err(AppError::bad_input(
            field,
            format!("`{field}` needs 1 to {max} characters"),
        ));
    }
    Ok(())
}

fn check_categories(categories: &[String]) -> AppResult<()> {
    if categories.is_empty() || categories.len() > MAX_CATEGORIES {
        return Err(AppError::bad_input(
            "dataCategories",
            format!("name 1 to {MAX_CATEGORIES} data categories"),
        ));
    }
    for c in categories {
        text("dataCategories", c, 64)?;
    }
    Ok(())
}

pub(super) fn check_content(c: &IncidentContent) -> AppResult<()> {
    text("title", &c.title, MAX_TITLE)?;
    check_categories(&c.data_categories)?;
    for (field, value) in [
        ("description", &c.description),
        ("cause", &c.cause),
        ("possibleHarm", &c.possible_harm),
        ("remedialMeasures", &c.remedial_measures),
        ("userActions", &c.user_actions),
        ("contact", &c.contact),
    ] {
        text(field, value, MAX_TEXT)?;
    }
    Ok(())
}

/// Checks the fields a change sets; returns their names.
pub(super) fn check_changes(c: &IncidentChanges) -> AppResult<Vec<&'static str>> {
    let mut changed = Vec::new();
    if let Some(title) = &c.title {
        text("title", title, MAX_TITLE)?;
        changed.push("title");
    }
    if c.severity.is_some() {
        changed.push("severity");
    }
    if let Some(categories) = &c.data_categories {
        check_categories(categories)?;
        changed.push("dataCategories");
    }
    for (field, value) in [
        ("description", &c.description),
        ("cause", &c.cause),
        ("possibleHarm", &c.possible_harm),
        ("remedialMeasures", &c.remedial_measures),
        ("userActions", &c.user_actions),
        ("contact", &c.contact),
    ] {
        if let Some(value) = value {
            text(field, value, MAX_TEXT)?;
            changed.push(field);
        }
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::realtime::model::Severity;

    fn content() -> IncidentContent {
        IncidentContent {
            title: "t".into(),
            description: "d".into(),
            severity: Severity::High,
            data_categories: vec!["phone".into()],
            cause: "c".into(),
            possible_harm: "h".into(),
            remedial_measures: "r".into(),
            user_actions: "u".into(),
            contact: "c".into(),
        }
    }

    #[test]
    fn refuses_blank_long_and_unknown_values() {
        // An unknown severity cannot be written: `Severity` has four variants, and a stored name it does not
        // know is refused when read (`db::text_enum`'s tests).
        assert!(check_content(&content()).is_ok());
        let mut blank = content();
        blank.contact = "  ".into();
        assert!(check_content(&blank).is_err());
        let mut long = content();
        long.title = "x".repeat(201);
        assert!(check_content(&long).is_err());
        let mut none = content();
        none.data_categories.clear();
        assert!(check_content(&none).is_err());
        let changes = IncidentChanges {
            cause: Some("new".into()),
            severity: Some(Severity::Low),
            ..Default::default()
        };
        assert_eq!(check_changes(&changes).unwrap(), ["severity", "cause"]);
    }
}
