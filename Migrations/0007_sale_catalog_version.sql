-- A sale's catalog version: bumped by every seed that adds, changes or removes an item. The service
-- keeps items in memory keyed by it, so an item is loaded once per version instead of refreshed
-- every few seconds (a million-SKU sale made one query per SKU read every two seconds), and a re-seed
-- shows up as soon as the sale itself is read again.
ALTER TABLE sales ADD COLUMN catalog_version bigint NOT NULL DEFAULT 1;
