-- A user's jurisdiction: place codes (everything inside them is visible) and, for department handlers, topics.
CREATE TABLE user_scopes (
    user_id TEXT NOT NULL REFERENCES users (id),
    scope_kind TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (user_id, scope_kind, value)
);
