DROP INDEX tickets_topic_received; DROP INDEX tickets_received; DROP TABLE ticket_media;
