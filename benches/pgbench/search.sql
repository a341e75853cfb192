-- One request of the search query (benches/load/mod.rs SEARCH): the statements Portico issues, as PostgreSQL
-- logged them, in the same order. `cargo bench --bench compare` runs it with pgbench -n -M prepared and sets the
-- variables from the page it checked:
--   -D tsquery='bru':* -D page_limit=21 -D active=active -D purposes={profile}
--   -D work_ids={..} -D article_ids={..} -D user_ids={..}   the hits of each kind
--   -D author_ids={..}   the authors of the works and articles hit
--   -D consent_ids={..}  the members hit with a public avatar

-- The ranked page of hits, 21 rows (src/content/search.rs hits).
SELECT kind, id, rank FROM ( SELECT 3::smallint AS kind, w.id, ts_rank_cd(w.search, q) AS rank FROM works w, to_tsquery('simple', :tsquery) q WHERE w.search @@ q AND w.published_at IS NOT NULL AND w.deleted_at IS NULL UNION ALL SELECT 2::smallint, a.id, ts_rank_cd(a.search, q) FROM articles a, to_tsquery('simple', :tsquery) q WHERE a.search @@ q AND a.published_at IS NOT NULL AND a.deleted_at IS NULL UNION ALL SELECT 1::smallint, u.id, ts_rank_cd(u.search, q) FROM accounts u, to_tsquery('simple', :tsquery) q WHERE u.search @@ q AND u.status = 'active' ) hits ORDER BY rank DESC, kind DESC, id DESC LIMIT :page_limit;

-- The hits, one statement per kind (src/content/loaders.rs, src/accounts/loaders.rs).
SELECT "works"."id", "works"."author_id", "works"."title", "works"."description", "works"."category", "works"."images", "works"."tags", "works"."draft", "works"."published_at", "works"."created_at", "works"."updated_at", "works"."deleted_at", "works"."view_count", "works"."collection_count" FROM "works" WHERE ("works"."id" = ANY(:work_ids));

SELECT "articles"."id", "articles"."author_id", "articles"."title", "articles"."summary", "articles"."body_markdown", "articles"."body_html", "articles"."tags", "articles"."draft", "articles"."published_at", "articles"."created_at", "articles"."updated_at", "articles"."deleted_at", "articles"."view_count" FROM "articles" WHERE ("articles"."id" = ANY(:article_ids));

SELECT "accounts"."id", "accounts"."username", "accounts"."role", "accounts"."created_at", "accounts"."phone_ciphertext", "accounts"."email_ciphertext", "accounts"."email_verified_at", "accounts"."password_hash", "accounts"."gender", "accounts"."occupation", "accounts"."city", "accounts"."status", "profiles"."account_id", "profiles"."avatar_url", "profiles"."hometown", "profiles"."signature", "profiles"."bio", "profiles"."education", "profiles"."contact_ciphertext", "profiles"."link", "profiles"."equipment", "profiles"."labels", "profiles"."private_fields" FROM ("accounts" LEFT OUTER JOIN "profiles" ON ("profiles"."account_id" = "accounts"."id")) WHERE (("accounts"."id" = ANY(:user_ids)) AND ("accounts"."status" = :active));

-- The authors of the works and articles hit.
SELECT "accounts"."id", "accounts"."username", "accounts"."role", "accounts"."created_at", "accounts"."phone_ciphertext", "accounts"."email_ciphertext", "accounts"."email_verified_at", "accounts"."password_hash", "accounts"."gender", "accounts"."occupation", "accounts"."city", "accounts"."status", "profiles"."account_id", "profiles"."avatar_url", "profiles"."hometown", "profiles"."signature", "profiles"."bio", "profiles"."education", "profiles"."contact_ciphertext", "profiles"."link", "profiles"."equipment", "profiles"."labels", "profiles"."private_fields" FROM ("accounts" LEFT OUTER JOIN "profiles" ON ("profiles"."account_id" = "accounts"."id")) WHERE (("accounts"."id" = ANY(:author_ids)) AND ("accounts"."status" = :active));

-- Whether the members hit show their profile (src/privacy/store.rs latest_answers).
SELECT DISTINCT ON ("consent_records"."account_id", "consent_records"."purpose") "consent_records"."account_id", "consent_records"."purpose", "consent_records"."granted" FROM "consent_records" WHERE ((("consent_records"."account_id" = ANY(:consent_ids)) AND ("consent_records"."purpose" = ANY(:purposes))) AND ("consent_records"."partner_id" IS NULL)) ORDER BY "consent_records"."account_id" ASC, "consent_records"."purpose" ASC, "consent_records"."id" DESC;
