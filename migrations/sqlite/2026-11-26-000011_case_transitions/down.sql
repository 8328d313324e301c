DROP TABLE case_transitions;
