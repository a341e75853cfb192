-- What PostGraphile 4 needs to answer the benchmark's three queries the way Portico does, on the bench database
-- only (benches/compare.rs applies it before starting PostGraphile; by hand:
-- psql postgres://postgres@127.0.0.1:5432/portico_bench -f benches/postgraphile/functions.sql).
--
-- Everything lives in the schema `postgraphile_bench`, the only schema PostGraphile is given: Portico's own
-- schema is left untouched, and PostGraphile's API holds only these views and functions (the usual way to
-- expose a curated schema). The views apply the same visibility rules as Portico's resolvers (published and not
-- deleted works and articles, active members, avatars their owners made private hidden), and smart comments
-- give them the keys and relations PostGraphile needs. Simple views are inlined by the planner, so the
-- statements PostGraphile compiles read the same tables and indexes as Portico's.
--
-- Running it again replaces everything it created.

BEGIN;

DROP SCHEMA IF EXISTS postgraphile_bench CASCADE;
CREATE SCHEMA postgraphile_bench;

-- Members as everyone sees them (Portico's `User`): active accounts; the avatar only while its owner consents to
-- `profile` (their latest general answer) and has not made it private.
CREATE VIEW postgraphile_bench.users AS
SELECT a.id,
       a.username,
       CASE WHEN NOT coalesce('avatar_url' = ANY (p.private_fields), false)
             AND (SELECT c.granted FROM public.consent_records c
                   WHERE c.account_id = a.id AND c.purpose = 'profile' AND c.partner_id IS NULL
                   ORDER BY c.id DESC LIMIT 1)
            THEN p.avatar_url END AS avatar_url
  FROM public.accounts a
  LEFT JOIN public.profiles p ON p.account_id = a.id
 WHERE a.status = 'active';
COMMENT ON VIEW postgraphile_bench.users IS E'@primaryKey id\nA member, as everyone sees them.';

-- Published, non-deleted works (Portico's `works` list).
CREATE VIEW postgraphile_bench.works AS
SELECT id, author_id, title, description, category, images, tags, published_at, created_at, updated_at,
       view_count, collection_count
  FROM public.works
 WHERE published_at IS NOT NULL AND deleted_at IS NULL;
COMMENT ON VIEW postgraphile_bench.works IS
    E'@primaryKey id\n@foreignKey (author_id) references postgraphile_bench.users (id)|@fieldName author|@foreignFieldName works\nA published work.';

-- The first image's URL (Portico's `Work.coverUrl`).
CREATE FUNCTION postgraphile_bench.works_cover_url(w postgraphile_bench.works) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT w.images -> 0 ->> 'url'
$$;

-- Whether the signed-in member collected the work (Portico's `Work.viewerHasCollected`). The member is the
-- `account_id` claim of the JWT PostGraphile verified, which it sets as `jwt.claims.account_id`; false for
-- visitors.
CREATE FUNCTION postgraphile_bench.works_viewer_has_collected(w postgraphile_bench.works) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (
        SELECT 1 FROM public.collections c
         WHERE c.work_id = w.id
           AND c.account_id = nullif(current_setting('jwt.claims.account_id', true), '')::bigint
    )
$$;

-- Published, non-deleted articles (for search hits).
CREATE VIEW postgraphile_bench.articles AS
SELECT id, author_id, title, summary, tags, published_at, created_at, updated_at, view_count
  FROM public.articles
 WHERE published_at IS NOT NULL AND deleted_at IS NULL;
COMMENT ON VIEW postgraphile_bench.articles IS
    E'@primaryKey id\n@foreignKey (author_id) references postgraphile_bench.users (id)|@fieldName author|@foreignFieldName articles\nA published article.';

-- Policy versions and their purposes (Portico's `privacyPolicy`).
CREATE VIEW postgraphile_bench.policy_versions AS
SELECT id, version, published_at FROM public.policy_versions;
COMMENT ON VIEW postgraphile_bench.policy_versions IS E'@primaryKey id\nA published policy version.';

CREATE VIEW postgraphile_bench.policy_purposes AS
SELECT policy_version_id, key, position, title, description, required, data_categories, recipients
  FROM public.policy_purposes;
COMMENT ON VIEW postgraphile_bench.policy_purposes IS
    E'@primaryKey policy_version_id,key\n@foreignKey (policy_version_id) references postgraphile_bench.policy_versions (id)|@fieldName policyVersion|@foreignFieldName purposes\nA purpose of a policy version.';

-- The current policy: the latest published version.
CREATE FUNCTION postgraphile_bench.privacy_policy() RETURNS postgraphile_bench.policy_versions
LANGUAGE sql STABLE AS $$
    SELECT * FROM postgraphile_bench.policy_versions ORDER BY published_at DESC, id DESC LIMIT 1
$$;

-- A search hit: what it is (3 work, 2 article, 1 member, as in Portico), its rank, and a relation to the row.
-- The view never has rows; it only gives `search` a row type with relations.
CREATE VIEW postgraphile_bench.search_hits AS
SELECT NULL::smallint AS kind, NULL::bigint AS id, NULL::real AS rank,
       NULL::bigint AS work_id, NULL::bigint AS article_id, NULL::bigint AS user_id
 WHERE false;
COMMENT ON VIEW postgraphile_bench.search_hits IS
    E'@foreignKey (work_id) references postgraphile_bench.works (id)|@fieldName work|@foreignFieldName searchHits\n@foreignKey (article_id) references postgraphile_bench.articles (id)|@fieldName article|@foreignFieldName searchHits\n@foreignKey (user_id) references postgraphile_bench.users (id)|@fieldName user|@foreignFieldName searchHits\nA search hit.';

-- The query text as Portico prepares it for Latin-script words: lower-cased words of letters and digits joined
-- with `&`, the last one also as a prefix (Portico also splits CJK text into bigrams; the bench searches a
-- Latin word).
CREATE FUNCTION postgraphile_bench.search_query(q text) RETURNS tsquery
LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT to_tsquery('simple', string_agg(quote_literal(t.term) || CASE WHEN t.last THEN ':*' ELSE '' END,
                                           ' & ' ORDER BY t.n))
      FROM (SELECT term, n, n = max(n) OVER () AS last
              FROM regexp_split_to_table(lower(q), '[^[:alnum:]]+') WITH ORDINALITY AS x(term, n)
             WHERE term <> '') t
$$;
COMMENT ON FUNCTION postgraphile_bench.search_query(text) IS E'@omit';

-- Published works, published articles and active members matching `q`, best first: the ranked statement
-- Portico's `search` runs (src/content/search.rs), with the same order.
CREATE FUNCTION postgraphile_bench.search(q text) RETURNS SETOF postgraphile_bench.search_hits
LANGUAGE sql STABLE AS $$
    SELECT kind, id, rank,
           CASE WHEN kind = 3 THEN id END, CASE WHEN kind = 2 THEN id END, CASE WHEN kind = 1 THEN id END
      FROM (
        SELECT 3::smallint AS kind, w.id, ts_rank_cd(w.search, tq) AS rank
          FROM public.works w, postgraphile_bench.search_query(q) tq
         WHERE w.search @@ tq AND w.published_at IS NOT NULL AND w.deleted_at IS NULL
        UNION ALL
        SELECT 2::smallint, a.id, ts_rank_cd(a.search, tq)
          FROM public.articles a, postgraphile_bench.search_query(q) tq
         WHERE a.search @@ tq AND a.published_at IS NOT NULL AND a.deleted_at IS NULL
        UNION ALL
        SELECT 1::smallint, u.id, ts_rank_cd(u.search, tq)
          FROM public.accounts u, postgraphile_bench.search_query(q) tq
         WHERE u.search @@ tq AND u.status = 'active'
      ) hits
     ORDER BY rank DESC, kind DESC, id DESC
$$;

COMMIT;
