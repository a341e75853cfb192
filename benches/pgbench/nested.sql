-- One signed-in request of the nested feed query (benches/load/mod.rs NESTED): the statements Portico issues,
-- as PostgreSQL logged them (log_statement = all), in the same order. `cargo bench --bench compare` runs it with
-- pgbench -n -M prepared and sets the variables from the page it checked:
--   -D session_id=.. -D account_id=.. -D page_limit=21 -D active=active -D purposes={profile}
--   -D work_ids={..}   the 20 works of the page
--   -D author_ids={..} their authors
--   -D consent_ids={..} the authors with a public avatar (whose consent to `profile` decides whether it shows)

-- The session behind the bearer token (src/accounts/sessions.rs authenticate).
WITH touched AS (UPDATE sessions SET last_seen_at = now() WHERE id = :session_id AND revoked_at IS NULL AND last_seen_at < now() - interval '60 seconds') SELECT a.role FROM sessions s JOIN accounts a ON a.id = s.account_id WHERE s.id = :session_id AND s.account_id = :account_id AND s.revoked_at IS NULL AND a.status <> 'erased';

-- The page: 21 rows, to know whether there is a next page (src/content/store.rs list_works).
SELECT "works"."id", "works"."author_id", "works"."title", "works"."description", "works"."category", "works"."images", "works"."tags", "works"."draft", "works"."published_at", "works"."created_at", "works"."updated_at", "works"."deleted_at", "works"."view_count", "works"."collection_count" FROM "works" WHERE (("works"."published_at" IS NOT NULL) AND ("works"."deleted_at" IS NULL)) ORDER BY "works"."published_at" DESC, "works"."id" DESC LIMIT :page_limit;

-- viewerHasCollected for the page (src/content/loaders.rs CollectedLoader).
SELECT "collections"."work_id" FROM "collections" WHERE (("collections"."account_id" = :account_id) AND ("collections"."work_id" = ANY(:work_ids)));

-- The authors (src/accounts/loaders.rs UserLoader).
SELECT "accounts"."id", "accounts"."username", "accounts"."role", "accounts"."created_at", "accounts"."phone_ciphertext", "accounts"."email_ciphertext", "accounts"."email_verified_at", "accounts"."password_hash", "accounts"."gender", "accounts"."occupation", "accounts"."city", "accounts"."status", "profiles"."account_id", "profiles"."avatar_url", "profiles"."hometown", "profiles"."signature", "profiles"."bio", "profiles"."education", "profiles"."contact_ciphertext", "profiles"."link", "profiles"."equipment", "profiles"."labels", "profiles"."private_fields" FROM ("accounts" LEFT OUTER JOIN "profiles" ON ("profiles"."account_id" = "accounts"."id")) WHERE (("accounts"."id" = ANY(:author_ids)) AND ("accounts"."status" = :active));

-- Whether each author shows their profile (src/privacy/store.rs latest_answers).
SELECT DISTINCT ON ("consent_records"."account_id", "consent_records"."purpose") "consent_records"."account_id", "consent_records"."purpose", "consent_records"."granted" FROM "consent_records" WHERE ((("consent_records"."account_id" = ANY(:consent_ids)) AND ("consent_records"."purpose" = ANY(:purposes))) AND ("consent_records"."partner_id" IS NULL)) ORDER BY "consent_records"."account_id" ASC, "consent_records"."purpose" ASC, "consent_records"."id" DESC;
