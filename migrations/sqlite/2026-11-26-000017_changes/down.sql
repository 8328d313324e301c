DROP TRIGGER changes_report_update;
DROP TRIGGER changes_report_insert;
DROP TRIGGER changes_case_transition;
DROP TRIGGER changes_case_update;
DROP TRIGGER changes_case_insert;
DROP TABLE changes;
DROP TABLE change_counter;
