DROP TABLE ticket_callbacks;
DROP INDEX cases_waiting;
DROP TABLE whistle_calls;
DROP TABLE escalations;
DROP TABLE case_work;
