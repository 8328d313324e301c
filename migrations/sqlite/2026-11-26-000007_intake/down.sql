DROP TABLE pii_reads; DROP TABLE merge_decisions; DROP TABLE reports; DROP TABLE tickets; DROP TABLE cases; DROP TABLE policy; DROP TABLE topics;
