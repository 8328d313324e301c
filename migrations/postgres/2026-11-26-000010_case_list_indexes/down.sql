DROP INDEX cases_topic_opened;
DROP INDEX cases_group_opened;
DROP INDEX cases_district_opened;
CREATE INDEX cases_district_opened ON cases (district_code, opened_at, id);
