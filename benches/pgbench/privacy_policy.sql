-- One request of the privacyPolicy query (benches/load/mod.rs POLICY): the statements Portico issues, as
-- PostgreSQL logged them, in the same order (src/privacy/store.rs current_version, purposes_of). The version's id
-- flows from the first statement to the second through \gset, as it does in the gateway.

SELECT "policy_versions"."id", "policy_versions"."version", "policy_versions"."body", "policy_versions"."published_at" FROM "policy_versions" ORDER BY "policy_versions"."published_at" DESC, "policy_versions"."id" DESC LIMIT :one \gset

SELECT "policy_purposes"."policy_version_id", "policy_purposes"."key", "policy_purposes"."position", "policy_purposes"."title", "policy_purposes"."description", "policy_purposes"."required", "policy_purposes"."data_categories", "policy_purposes"."recipients" FROM "policy_purposes" WHERE ("policy_purposes"."policy_version_id" = :id) ORDER BY "policy_purposes"."position" ASC;
