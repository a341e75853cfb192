-- One signed-in request of the nested feed query (benches/load/mod.rs NESTED): the statements Portico issues,
-- as PostgreSQL logged them (log_statement = all), in the same order. `cargo bench --bench compare` runs it with
-- pgbench -n -M prepared and sets the variables from the page it checked:
--   -D session_id=.. -D account_id=.. -D page_limit=21 -D active=active
--   -D work_ids={..}   the 20 works of the page
--   -D author_ids={..} their authors

-- The session behind the bearer token (src/accounts/sessions.rs authenticate).
WITH touched AS (UPDATE sessions SET last_seen_at = now() WHERE id = :session_id AND revoked_at IS NULL AND last_seen_at < now() - interval '60 seconds') SELECT a.role FROM sessions s JOIN accounts a ON a.id = s.account_id WHERE s.id = :session_id AND s.account_id = :account_id AND s.revoked_at IS NULL AND a.status <> 'erased';

-- The page: 21 rows, to know whether there is a next page (src/content/store.rs list_works).
SELECT "works"."id", "works"."author_id", "works"."title", "works"."description", "works"."category", "works"."images", "works"."tags", "works"."draft", "works"."published_at", "works"."created_at", "works"."updated_at", "works"."deleted_at", "works"."view_count", "works"."collection_count" FROM "works" WHERE (("works"."published_at" IS NOT NULL) AND ("works"."deleted_at" IS NULL)) ORDER BY "works"."published_at" DESC, "works"."id" DESC LIMIT :page_limit;

-- viewerHasCollected for the page (src/content/loaders.rs CollectedLoader).
SELECT "collections"."work_id" FROM "collections" WHERE (("collections"."account_id" = :account_id) AND ("collections"."work_id" = ANY(:work_ids)));

-- The authors, each with their current answer for `profile` (src/accounts/loaders.rs UserLoader).
SELECT "accounts"."id", "accounts"."username", "accounts"."role", "accounts"."created_at", "accounts"."phone_ciphertext", "accounts"."email_ciphertext", "accounts"."email_verified_at", "accounts"."password_hash", "accounts"."gender", "accounts"."occupation", "accounts"."city", "accounts"."status", "profiles"."account_id", "profiles"."avatar_url", "profiles"."hometown", "profiles"."signature", "profiles"."bio", "profiles"."education", "profiles"."contact_ciphertext", "profiles"."link", "profiles"."equipment", "profiles"."labels", "profiles"."private_fields", coalesce((SELECT c.granted FROM consent_records c WHERE c.account_id = accounts.id AND c.purpose = 'profile' AND c.partner_id IS NULL ORDER BY c.id DESC LIMIT 1), false) FROM ("accounts" LEFT OUTER JOIN "profiles" ON ("profiles"."account_id" = "accounts"."id")) WHERE (("accounts"."id" = ANY(:author_ids)) AND ("accounts"."status" = :active));
