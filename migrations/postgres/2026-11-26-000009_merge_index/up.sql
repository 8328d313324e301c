-- Merge candidates are found by topic and a box around the new item's point, among open cases whose latest item is
-- recent. With longitude, time and status in the index, the box, the window and the status are checked on index
-- entries alone: only real candidates cost a read of their case row.
DROP INDEX cases_merge;
CREATE INDEX cases_merge ON cases (topic_code, lat, lon, last_item_at, status);
