DROP TRIGGER images_queue_orphan ON images;
DROP FUNCTION queue_media_orphan();
DROP TABLE media_orphans;
DROP TABLE images;
