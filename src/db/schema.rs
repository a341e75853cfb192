// @generated automatically by Diesel CLI.

diesel::table! {
    accounts (id) {
        id -> Int8,
        username -> Text,
        role -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    policy_purposes (policy_version_id, key) {
        policy_version_id -> Int8,
        key -> Text,
        position -> Int4,
        title -> Text,
        description -> Text,
        required -> Bool,
        data_categories -> Array<Nullable<Text>>,
        recipients -> Array<Nullable<Text>>,
    }
}

diesel::table! {
    policy_versions (id) {
        id -> Int8,
        version -> Text,
        body -> Text,
        published_at -> Timestamptz,
        published_by -> Nullable<Int8>,
    }
}

diesel::joinable!(policy_purposes -> policy_versions (policy_version_id));
diesel::joinable!(policy_versions -> accounts (published_by));

diesel::allow_tables_to_appear_in_same_query!(accounts, policy_purposes, policy_versions,);
