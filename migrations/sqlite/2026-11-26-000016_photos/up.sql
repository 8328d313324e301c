-- Photo evidence: stored photos (content addressed by SHA-256; the files live in the photo store, not here) and
-- resumable uploads in progress (their bytes live in the photo directory's uploads/, only the offset here).

CREATE TABLE photos (
    sha256 TEXT PRIMARY KEY NOT NULL,
    size INTEGER NOT NULL,
    mime TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    exif_lon DOUBLE,
    exif_lat DOUBLE,
    exif_taken_at TIMESTAMP,
    uploaded_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE photo_uploads (
    id TEXT PRIMARY KEY NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    mime TEXT NOT NULL,
    received INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);

CREATE INDEX photo_uploads_sha256 ON photo_uploads (sha256, created_by);
CREATE INDEX photo_uploads_expires ON photo_uploads (expires_at);
