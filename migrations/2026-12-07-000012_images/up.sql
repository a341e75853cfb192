-- Uploaded images (works and avatars). Each row is one member's upload; the objects in storage are content
-- addressed (`key` is the SHA-256 of the processed bytes plus the extension), so the same picture uploaded twice
-- is stored once and shared by both rows. `thumbnails` lists the smaller renditions: [{width, height, key, bytes}].
CREATE TABLE images (
    id           BIGSERIAL PRIMARY KEY,
    owner_id     BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    key          TEXT NOT NULL,
    content_type TEXT NOT NULL,
    width        INTEGER NOT NULL CHECK (width > 0),
    height       INTEGER NOT NULL CHECK (height > 0),
    bytes        BIGINT NOT NULL CHECK (bytes > 0),
    thumbnails   JSONB NOT NULL DEFAULT '[]',
    -- At most one of: the work it illustrates, or the owner's avatar. Neither means not attached yet; such an
    -- upload is removed 24 hours after `created_at`.
    work_id      BIGINT REFERENCES works (id) ON DELETE CASCADE,
    position     INTEGER,
    avatar       BOOLEAN NOT NULL DEFAULT false,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (NOT (avatar AND work_id IS NOT NULL))
);
CREATE INDEX images_owner ON images (owner_id);
CREATE INDEX images_key ON images (key);
CREATE INDEX images_work ON images (work_id) WHERE work_id IS NOT NULL;
CREATE INDEX images_unattached ON images (created_at) WHERE work_id IS NULL AND NOT avatar;

-- Objects whose last row may be gone: every deletion of an image row queues its objects here in the same
-- transaction (the trigger), and the media job deletes them from storage once no row holds the key any more.
-- So no path that removes rows (a deleted work, an erased account, an expired upload) can leave objects behind.
CREATE TABLE media_orphans (
    key       TEXT PRIMARY KEY,
    objects   TEXT[] NOT NULL,
    queued_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE FUNCTION queue_media_orphan() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO media_orphans (key, objects)
    VALUES (OLD.key, ARRAY[OLD.key] || ARRAY(SELECT t->>'key' FROM jsonb_array_elements(OLD.thumbnails) t))
    ON CONFLICT (key) DO NOTHING;
    -- One payload for every row: PostgreSQL sends a transaction's identical notifications once.
    PERFORM pg_notify('portico', 'media:0');
    RETURN OLD;
END $$;

CREATE TRIGGER images_queue_orphan AFTER DELETE ON images
    FOR EACH ROW EXECUTE FUNCTION queue_media_orphan();
