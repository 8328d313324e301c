-- Who may read a photo: the people who sent its bytes (photo_holders, one row per photo and sender, so a second
-- upload of the same bytes is recorded without touching the first sender's rights) and the items it is attached
-- to (photo_uses: a report, or a case through the evidence of one of its steps). Unfinished uploads remember the
-- device they came from, for the per-device bound.

CREATE TABLE photo_holders (
    sha256 TEXT NOT NULL,
    user_id TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (sha256, user_id)
);

CREATE TABLE photo_uses (
    sha256 TEXT NOT NULL,
    kind TEXT NOT NULL,
    item_id TEXT NOT NULL,
    attached_by TEXT NOT NULL,
    vouched BOOLEAN NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (sha256, kind, item_id)
);

INSERT OR IGNORE INTO photo_holders (sha256, user_id, created_at)
SELECT sha256, uploaded_by, created_at FROM photos;

INSERT OR IGNORE INTO photo_uses (sha256, kind, item_id, attached_by, vouched, created_at)
SELECT j.value, 'report', r.id, r.reporter_id, 0, r.created_at
FROM reports r, json_each(r.photos) j
WHERE json_valid(r.photos) AND j.type = 'text';

INSERT OR IGNORE INTO photo_uses (sha256, kind, item_id, attached_by, vouched, created_at)
SELECT j.value, 'case', t.case_id, t.actor_id, 0, t.at
FROM case_transitions t, json_each(t.evidence) j
WHERE json_valid(t.evidence) AND j.type = 'text';

ALTER TABLE photo_uploads ADD COLUMN device_id TEXT;
CREATE INDEX photo_uploads_created_by ON photo_uploads (created_by, expires_at);
CREATE INDEX photo_uploads_device ON photo_uploads (device_id, expires_at);
