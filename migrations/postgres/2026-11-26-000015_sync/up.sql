-- Phones that sync (devices) and the operations they push (sync_ops), each with its own result.
--
-- A device belongs to the grid member who registered it; only the SHA-256 of its token is kept. `next_seq` is the
-- device sequence number it must send next: operations apply in device order, a later one waits (status
-- `waiting`) until its predecessors arrive. `last_result_seq` numbers the decided results per device, so the phone
-- can read them back in order (`GET /api/v1/sync/ops?since=`).
CREATE TABLE devices (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP,
    revoked_at TIMESTAMP,
    revoked_by TEXT,
    next_seq BIGINT NOT NULL,
    last_result_seq BIGINT NOT NULL
);
CREATE INDEX devices_user ON devices (user_id, created_at);

-- One row per operation id (the phone's UUID): what was sent (its SHA-256 tells a retry from a reused id), and
-- once decided its status (`applied`, `conflict`, `rejected` with a code; `waiting` until its turn) and result
-- (JSON: the entity's version, both versions on a conflict). `place_code` is where the entity was, for the
-- supervisors who review conflicts.
CREATE TABLE sync_ops (
    op_id TEXT PRIMARY KEY NOT NULL,
    device_id TEXT NOT NULL REFERENCES devices (id),
    device_seq BIGINT NOT NULL,
    kind TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    base_version INTEGER,
    payload TEXT NOT NULL,
    content_sha256 TEXT NOT NULL,
    status TEXT NOT NULL,
    code TEXT,
    message TEXT,
    result TEXT,
    place_code TEXT,
    received_at TIMESTAMP NOT NULL,
    decided_at TIMESTAMP,
    result_seq BIGINT,
    UNIQUE (device_id, device_seq)
);
CREATE INDEX sync_ops_results ON sync_ops (device_id, result_seq) WHERE result_seq IS NOT NULL;
CREATE INDEX sync_ops_conflicts ON sync_ops (place_code, decided_at) WHERE status = 'conflict';

-- Reports can be edited from the phone: each edit names the version it was made against.
ALTER TABLE reports ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
