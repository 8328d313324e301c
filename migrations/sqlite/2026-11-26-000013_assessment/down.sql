DROP INDEX whistle_calls_summoned;
DROP INDEX ticket_callbacks_later_rounds;
DROP INDEX ticket_callbacks_assessment;
DROP INDEX case_work_assessment;
