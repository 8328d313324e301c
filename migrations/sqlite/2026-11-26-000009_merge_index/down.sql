DROP INDEX cases_merge;
CREATE INDEX cases_merge ON cases (topic_code, lat);
