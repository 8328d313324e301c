-- Open311 (GeoReport v2): the photo link a citizen's app may send with a request, and the indexes behind the public
-- request list (newest first within a time window, optionally by service code).

CREATE TABLE ticket_media (
    ticket_id TEXT PRIMARY KEY NOT NULL REFERENCES tickets (id),
    url TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE INDEX tickets_received ON tickets (received_at, id);
CREATE INDEX tickets_topic_received ON tickets (topic_code, received_at);
