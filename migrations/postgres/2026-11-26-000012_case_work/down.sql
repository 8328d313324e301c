DROP TABLE ticket_callbacks;
DROP INDEX cases_returned;
DROP INDEX cases_received;
DROP TABLE whistle_calls;
DROP TABLE escalations;
DROP TABLE case_work;
