use super::*;
use crate::privacy::model::ConsentPartner;

fn partner(purposes: &[&str], suspended: bool) -> ConsentPartner {
    ConsentPartner {
        id: 7,
        name: "Jobs Co".into(),
        purposes: purposes.iter().map(|p| Some(p.to_string())).collect(),
        suspended_at: suspended.then(Utc::now),
    }
}

fn field_of(r: AppResult<()>) -> Option<String> {
    match r {
        Err(AppError::BadUserInput { field, .. }) => field,
        _ => None,
    }
}

#[test]
fn purposes_are_listed_once_and_never_empty() {
    let given = [
        "analytics".to_string(),
        " analytics ".into(),
        "profile".into(),
    ];
    assert_eq!(listed(&given).unwrap(), ["analytics", "profile"]);
    assert!(matches!(
        listed(&[]),
        Err(AppError::BadUserInput { field: Some(f), .. }) if f == "purposes"
    ));
}

#[test]
fn partner_purposes_name_a_fitting_partner() {
    let jobs = partner(&["partner-business"], false);
    assert!(check_grant_partner("partner-business", Some(&jobs)).is_ok());
    assert!(check_grant_partner("analytics", None).is_ok());
    assert!(check_grant_partner("partner-advertising", None).is_ok());
    for (purpose, p) in [
        ("partner-business", None),
        ("partner-payment", Some(&jobs)),
        (
            "partner-business",
            Some(&partner(&["partner-business"], true)),
        ),
        ("partner-advertising", Some(&jobs)),
        ("analytics", Some(&jobs)),
    ] {
        assert_eq!(
            field_of(check_grant_partner(purpose, p)).as_deref(),
            Some("partner"),
            "{purpose}"
        );
    }
}
