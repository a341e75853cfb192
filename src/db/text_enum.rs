//! Rust enums stored in `TEXT` columns whose `CHECK` constraint lists the values: each variant has one stored
//! name, and a name the enum does not know is an error when the row is read, never a silent default.
//!
//! Written as a small macro because the crate for this (`diesel-derive-enum`) maps PostgreSQL `ENUM` types,
//! and these columns are `TEXT` with a `CHECK`, which migrate without rewriting tables.

/// Implements `as_str`, `from_stored` and diesel's `FromSql`/`ToSql` for `Text` on an enum that derives
/// `diesel::AsExpression` and `diesel::FromSqlRow` with `#[diesel(sql_type = diesel::sql_types::Text)]`.
#[macro_export]
macro_rules! text_enum {
    ($ty:ident { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $ty {
            /// The name stored in the database.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($ty::$variant => $name,)+
                }
            }

            /// The variant stored as `name`, if any.
            pub fn from_stored(name: &str) -> Option<$ty> {
                match name {
                    $($name => Some($ty::$variant),)+
                    _ => None,
                }
            }
        }

        impl diesel::deserialize::FromSql<diesel::sql_types::Text, diesel::pg::Pg> for $ty {
            fn from_sql(value: diesel::pg::PgValue<'_>) -> diesel::deserialize::Result<Self> {
                let name = <String as diesel::deserialize::FromSql<
                    diesel::sql_types::Text,
                    diesel::pg::Pg,
                >>::from_sql(value)?;
                $ty::from_stored(&name)
                    .ok_or_else(|| format!("unknown {} `{name}` in the database", stringify!($ty)).into())
            }
        }

        impl diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg> for $ty {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, diesel::pg::Pg>,
            ) -> diesel::serialize::Result {
                <str as diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg>>::to_sql(
                    self.as_str(),
                    out,
                )
            }
        }
    };
}

#[cfg(test)]
mod tests {
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Weather {
        Rain,
        Sun,
    }

    crate::text_enum!(Weather { Rain => "rain", Sun => "sun" });

    #[test]
    fn names_round_trip_and_unknown_ones_are_refused() {
        for w in [Weather::Rain, Weather::Sun] {
            assert_eq!(Weather::from_stored(w.as_str()), Some(w));
        }
        assert_eq!(Weather::from_stored("snow"), None);
        assert_eq!(
            crate::realtime::model::Severity::from_stored("apocalyptic"),
            None,
            "no silent default"
        );
        assert_eq!(crate::graphql::viewer::Role::from_stored("root"), None);
    }
}
