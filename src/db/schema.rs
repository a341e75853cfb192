// @generated automatically by Diesel CLI.

pub mod sql_types {
    #[derive(diesel::query_builder::QueryId, Clone, diesel::sql_types::SqlType)]
    #[diesel(postgres_type(name = "tsvector", schema = "pg_catalog"))]
    pub struct Tsvector;
}

diesel::table! {
    account_cancellations (id) {
        id -> Int8,
        account_id -> Int8,
        content -> Text,
        requested_at -> Timestamptz,
        scheduled_for -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
        erased_at -> Nullable<Timestamptz>,
        attempts -> Int4,
        last_error -> Nullable<Text>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::Tsvector;

    accounts (id) {
        id -> Int8,
        username -> Text,
        role -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        phone_ciphertext -> Nullable<Bytea>,
        phone_index -> Nullable<Bytea>,
        email_ciphertext -> Nullable<Bytea>,
        email_index -> Nullable<Bytea>,
        email_verified_at -> Nullable<Timestamptz>,
        password_hash -> Nullable<Text>,
        password_changed_at -> Nullable<Timestamptz>,
        gender -> Text,
        occupation -> Text,
        city -> Text,
        adult_confirmed_at -> Nullable<Timestamptz>,
        status -> Text,
        search -> Tsvector,
        username_changed_at -> Nullable<Timestamptz>,
        suspended_at -> Nullable<Timestamptz>,
        suspension_reason -> Nullable<Text>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::Tsvector;

    articles (id) {
        id -> Int8,
        author_id -> Int8,
        title -> Text,
        summary -> Nullable<Text>,
        body_markdown -> Text,
        body_html -> Text,
        tags -> Array<Nullable<Text>>,
        draft -> Bool,
        published_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        deleted_at -> Nullable<Timestamptz>,
        view_count -> Int8,
        click_count -> Int8,
        search -> Tsvector,
    }
}

diesel::table! {
    collections (account_id, work_id) {
        account_id -> Int8,
        work_id -> Int8,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    consent_records (id) {
        id -> Int8,
        account_id -> Nullable<Int8>,
        purpose -> Text,
        partner_id -> Nullable<Int8>,
        policy_version_id -> Int8,
        granted -> Bool,
        method -> Text,
        client_addr_hash -> Nullable<Bytea>,
        user_agent_hash -> Nullable<Bytea>,
        created_at -> Timestamptz,
        subject_pseudonym -> Nullable<Bytea>,
    }
}

diesel::table! {
    data_exports (id) {
        id -> Int8,
        account_id -> Int8,
        status -> Text,
        archive_ciphertext -> Nullable<Bytea>,
        attempts -> Int4,
        last_error -> Nullable<Text>,
        requested_at -> Timestamptz,
        ready_at -> Nullable<Timestamptz>,
        expires_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    disclosures (id) {
        id -> Int8,
        account_id -> Int8,
        partner_id -> Int8,
        token_id -> Nullable<Int8>,
        purpose -> Text,
        data_categories -> Array<Nullable<Text>>,
        disclosed_at -> Timestamptz,
    }
}

diesel::table! {
    images (id) {
        id -> Int8,
        owner_id -> Int8,
        key -> Text,
        content_type -> Text,
        width -> Int4,
        height -> Int4,
        bytes -> Int8,
        thumbnails -> Jsonb,
        work_id -> Nullable<Int8>,
        position -> Nullable<Int4>,
        avatar -> Bool,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    media_orphans (key) {
        key -> Text,
        objects -> Array<Text>,
        queued_at -> Timestamptz,
    }
}

diesel::table! {
    incident_dispatches (update_id) {
        update_id -> Int8,
        after_account -> Int8,
        created_at -> Timestamptz,
        done_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    incident_updates (id) {
        id -> Int8,
        incident_id -> Int8,
        event -> Text,
        note -> Text,
        changes -> Jsonb,
        by_account -> Nullable<Int8>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    incidents (id) {
        id -> Int8,
        title -> Text,
        description -> Text,
        severity -> Text,
        status -> Text,
        data_categories -> Array<Nullable<Text>>,
        cause -> Text,
        possible_harm -> Text,
        remedial_measures -> Text,
        user_actions -> Text,
        contact -> Text,
        scope -> Jsonb,
        announced -> Bool,
        declared_by -> Nullable<Int8>,
        declared_at -> Timestamptz,
        updated_at -> Timestamptz,
        resolved_at -> Nullable<Timestamptz>,
        resolution_note -> Nullable<Text>,
        affected_count -> Int8,
    }
}

diesel::table! {
    login_failures (id) {
        id -> Int8,
        subject -> Bytea,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    notifications (id) {
        id -> Int8,
        account_id -> Int8,
        kind -> Text,
        title -> Text,
        body -> Text,
        incident_id -> Nullable<Int8>,
        incident_update_id -> Nullable<Int8>,
        refs -> Jsonb,
        created_at -> Timestamptz,
        delivered_at -> Nullable<Timestamptz>,
        acknowledged_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    oauth_states (state_hash) {
        state_hash -> Bytea,
        provider -> Text,
        purpose -> Text,
        account_id -> Nullable<Int8>,
        redirect_uri -> Text,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
        consents -> Array<Nullable<Text>>,
        policy_version -> Nullable<Text>,
        adult_confirmed -> Bool,
    }
}

diesel::table! {
    outbox_messages (id) {
        id -> Int8,
        channel -> Text,
        payload_ciphertext -> Bytea,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        last_error -> Nullable<Text>,
        created_at -> Timestamptz,
        sent_at -> Nullable<Timestamptz>,
        destination_index -> Nullable<Bytea>,
        notification_id -> Nullable<Int8>,
    }
}

diesel::table! {
    partner_tokens (id) {
        id -> Int8,
        partner_id -> Int8,
        token_hash -> Bytea,
        label -> Text,
        scopes -> Array<Nullable<Text>>,
        issued_by -> Nullable<Int8>,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
        last_used_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    partners (id) {
        id -> Int8,
        name -> Text,
        kind -> Text,
        contact -> Text,
        purposes -> Array<Nullable<Text>>,
        data_categories -> Array<Nullable<Text>>,
        registered_by -> Nullable<Int8>,
        created_at -> Timestamptz,
        suspended_at -> Nullable<Timestamptz>,
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
        since_version_id -> Int8,
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

diesel::table! {
    profiles (account_id) {
        account_id -> Int8,
        avatar_url -> Nullable<Text>,
        hometown -> Nullable<Text>,
        signature -> Nullable<Text>,
        bio -> Nullable<Text>,
        education -> Nullable<Text>,
        contact_ciphertext -> Nullable<Bytea>,
        link -> Nullable<Text>,
        equipment -> Nullable<Text>,
        labels -> Array<Nullable<Text>>,
        private_fields -> Array<Nullable<Text>>,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    push_deliveries (id) {
        id -> Int8,
        device_id -> Int8,
        notification_id -> Int8,
        urgency -> Text,
        expires_at -> Timestamptz,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        last_error -> Nullable<Text>,
        created_at -> Timestamptz,
        done_at -> Nullable<Timestamptz>,
        outcome -> Nullable<Text>,
    }
}

diesel::table! {
    push_devices (id) {
        id -> Int8,
        account_id -> Int8,
        kind -> Text,
        label -> Text,
        target_ciphertext -> Bytea,
        target_index -> Bytea,
        created_at -> Timestamptz,
        last_delivered_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> Int8,
        session_id -> Int8,
        token_hash -> Bytea,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    security_events (id) {
        id -> Int8,
        account_id -> Int8,
        kind -> Text,
        detail -> Jsonb,
        client_addr_hash -> Nullable<Bytea>,
        user_agent -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    sessions (id) {
        id -> Int8,
        account_id -> Int8,
        device -> Text,
        user_agent -> Text,
        client_addr_hash -> Nullable<Bytea>,
        method -> Text,
        created_at -> Timestamptz,
        last_seen_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
        revoked_reason -> Nullable<Text>,
    }
}

diesel::table! {
    staff_access_log (id) {
        id -> Int8,
        staff_id -> Nullable<Int8>,
        account_id -> Int8,
        reason -> Text,
        fields -> Array<Nullable<Text>>,
        accessed_at -> Timestamptz,
    }
}

diesel::table! {
    third_party_bindings (account_id, provider) {
        account_id -> Int8,
        provider -> Text,
        subject -> Text,
        union_id -> Nullable<Text>,
        nickname -> Nullable<Text>,
        avatar_url -> Nullable<Text>,
        gender -> Nullable<Text>,
        bound_at -> Timestamptz,
    }
}

diesel::table! {
    username_holds (username_lower) {
        username_lower -> Text,
        account_id -> Int8,
        held_until -> Timestamptz,
    }
}

diesel::table! {
    verification_codes (id) {
        id -> Int8,
        channel -> Text,
        destination_index -> Bytea,
        purpose -> Text,
        code_hash -> Bytea,
        client_addr_hash -> Nullable<Bytea>,
        attempts -> Int4,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        consumed_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    view_events (id) {
        id -> Int8,
        target_kind -> Text,
        target_id -> Int8,
        kind -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    work_categories (key) {
        key -> Text,
        title -> Text,
        position -> Int4,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::Tsvector;

    works (id) {
        id -> Int8,
        author_id -> Int8,
        title -> Text,
        description -> Nullable<Text>,
        category -> Text,
        images -> Jsonb,
        tags -> Array<Nullable<Text>>,
        draft -> Bool,
        published_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        deleted_at -> Nullable<Timestamptz>,
        view_count -> Int8,
        click_count -> Int8,
        collection_count -> Int8,
        search -> Tsvector,
    }
}

diesel::joinable!(articles -> accounts (author_id));
diesel::joinable!(collections -> accounts (account_id));
diesel::joinable!(collections -> works (work_id));
diesel::joinable!(account_cancellations -> accounts (account_id));
diesel::joinable!(consent_records -> accounts (account_id));
diesel::joinable!(consent_records -> partners (partner_id));
diesel::joinable!(consent_records -> policy_versions (policy_version_id));
diesel::joinable!(data_exports -> accounts (account_id));
diesel::joinable!(disclosures -> accounts (account_id));
diesel::joinable!(disclosures -> partner_tokens (token_id));
diesel::joinable!(disclosures -> partners (partner_id));
diesel::joinable!(incident_updates -> accounts (by_account));
diesel::joinable!(incident_updates -> incidents (incident_id));
diesel::joinable!(incidents -> accounts (declared_by));
diesel::joinable!(incident_dispatches -> incident_updates (update_id));
diesel::joinable!(notifications -> accounts (account_id));
diesel::joinable!(notifications -> incident_updates (incident_update_id));
diesel::joinable!(notifications -> incidents (incident_id));
diesel::joinable!(oauth_states -> accounts (account_id));
diesel::joinable!(partner_tokens -> accounts (issued_by));
diesel::joinable!(partner_tokens -> partners (partner_id));
diesel::joinable!(partners -> accounts (registered_by));
diesel::joinable!(policy_purposes -> policy_versions (policy_version_id));
diesel::joinable!(policy_versions -> accounts (published_by));
diesel::joinable!(images -> accounts (owner_id));
diesel::joinable!(images -> works (work_id));
diesel::joinable!(profiles -> accounts (account_id));
diesel::joinable!(push_deliveries -> notifications (notification_id));
diesel::joinable!(push_deliveries -> push_devices (device_id));
diesel::joinable!(push_devices -> accounts (account_id));
diesel::joinable!(refresh_tokens -> sessions (session_id));
diesel::joinable!(security_events -> accounts (account_id));
diesel::joinable!(sessions -> accounts (account_id));
diesel::joinable!(third_party_bindings -> accounts (account_id));
diesel::joinable!(username_holds -> accounts (account_id));
diesel::joinable!(works -> accounts (author_id));
diesel::joinable!(works -> work_categories (category));

diesel::allow_tables_to_appear_in_same_query!(
    account_cancellations,
    accounts,
    articles,
    collections,
    consent_records,
    data_exports,
    disclosures,
    images,
    incident_dispatches,
    incident_updates,
    incidents,
    login_failures,
    media_orphans,
    notifications,
    oauth_states,
    outbox_messages,
    partner_tokens,
    partners,
    policy_purposes,
    policy_versions,
    profiles,
    push_deliveries,
    push_devices,
    refresh_tokens,
    security_events,
    sessions,
    staff_access_log,
    third_party_bindings,
    username_holds,
    verification_codes,
    view_events,
    work_categories,
    works,
);
