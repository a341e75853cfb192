DROP TABLE view_events;
DROP TABLE collections;
DROP INDEX accounts_search;
ALTER TABLE accounts DROP COLUMN search;
DROP TABLE articles;
DROP TABLE works;
DROP TABLE work_categories;
