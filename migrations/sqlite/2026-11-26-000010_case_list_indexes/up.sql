-- The case list is newest first, at most a page: with these indexes a filtered list reads its page, not the table.
-- By topic; group requests (rare, so a scan in time order would read most of the table to fill a page); and the
-- district index carries the place code, so a street's or community's cases are picked from index entries alone.
CREATE INDEX cases_topic_opened ON cases (topic_code, opened_at, id);
CREATE INDEX cases_group_opened ON cases (group_request, opened_at, id);
DROP INDEX cases_district_opened;
CREATE INDEX cases_district_opened ON cases (district_code, opened_at, id, place_code);
