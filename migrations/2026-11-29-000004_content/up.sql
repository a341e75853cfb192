-- Works, articles, collections, view counting and search.

-- Categories a work can belong to.
CREATE TABLE work_categories (
    key      TEXT PRIMARY KEY CHECK (key ~ '^[a-z0-9][a-z0-9-]{1,31}$'),
    title    TEXT NOT NULL,
    position INT NOT NULL
);
INSERT INTO work_categories (key, title, position) VALUES
    ('illustration', 'Illustration', 1), ('photography', 'Photography', 2), ('painting', 'Painting', 3),
    ('graphic-design', 'Graphic design', 4), ('3d', '3D', 5), ('animation', 'Animation', 6),
    ('calligraphy', 'Calligraphy', 7), ('craft', 'Craft', 8), ('architecture', 'Architecture', 9),
    ('other', 'Other', 10);

-- `search` holds words of Latin scripts and overlapping bigrams of CJK text (built by the gateway), so that
-- full-text search finds Chinese titles as well as English ones.
CREATE TABLE works (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    author_id        BIGINT NOT NULL REFERENCES accounts (id),
    title            TEXT NOT NULL CHECK (char_length(title) BETWEEN 1 AND 100),
    description      TEXT,
    category         TEXT NOT NULL REFERENCES work_categories (key),
    images           JSONB NOT NULL DEFAULT '[]',
    tags             TEXT[] NOT NULL DEFAULT '{}',
    draft            BOOLEAN NOT NULL DEFAULT false,
    published_at     TIMESTAMPTZ,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    deleted_at       TIMESTAMPTZ,
    view_count       BIGINT NOT NULL DEFAULT 0,
    click_count      BIGINT NOT NULL DEFAULT 0,
    collection_count BIGINT NOT NULL DEFAULT 0,
    search           TSVECTOR NOT NULL DEFAULT ''::tsvector
);
CREATE INDEX works_newest ON works (published_at DESC, id DESC) WHERE published_at IS NOT NULL AND deleted_at IS NULL;
CREATE INDEX works_most_collected ON works (collection_count DESC, id DESC) WHERE published_at IS NOT NULL AND deleted_at IS NULL;
CREATE INDEX works_most_viewed ON works (view_count DESC, id DESC) WHERE published_at IS NOT NULL AND deleted_at IS NULL;
CREATE INDEX works_author ON works (author_id, published_at DESC, id DESC);
CREATE INDEX works_tags ON works USING GIN (tags);
CREATE INDEX works_search ON works USING GIN (search);

CREATE TABLE articles (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    author_id     BIGINT NOT NULL REFERENCES accounts (id),
    title         TEXT NOT NULL CHECK (char_length(title) BETWEEN 1 AND 120),
    summary       TEXT,
    body_markdown TEXT NOT NULL,
    body_html     TEXT NOT NULL,
    tags          TEXT[] NOT NULL DEFAULT '{}',
    draft         BOOLEAN NOT NULL DEFAULT false,
    published_at  TIMESTAMPTZ,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    deleted_at    TIMESTAMPTZ,
    view_count    BIGINT NOT NULL DEFAULT 0,
    click_count   BIGINT NOT NULL DEFAULT 0,
    search        TSVECTOR NOT NULL DEFAULT ''::tsvector
);
CREATE INDEX articles_newest ON articles (published_at DESC, id DESC) WHERE published_at IS NOT NULL AND deleted_at IS NULL;
CREATE INDEX articles_author ON articles (author_id, published_at DESC, id DESC);
CREATE INDEX articles_tags ON articles USING GIN (tags);
CREATE INDEX articles_search ON articles USING GIN (search);

-- Search over members by username (words and CJK bigrams, as above).
ALTER TABLE accounts ADD COLUMN search TSVECTOR NOT NULL DEFAULT ''::tsvector;
CREATE INDEX accounts_search ON accounts USING GIN (search);

CREATE TABLE collections (
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    work_id    BIGINT NOT NULL REFERENCES works (id),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, work_id)
);
CREATE INDEX collections_work ON collections (work_id);
CREATE INDEX collections_recent ON collections (account_id, created_at DESC, work_id DESC);

-- Page views and clicks, counted only with consent and stored without any identity; rolled up into the
-- counters above and then removed.
CREATE TABLE view_events (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    target_kind TEXT NOT NULL CHECK (target_kind IN ('work', 'article')),
    target_id   BIGINT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('view', 'click')),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
