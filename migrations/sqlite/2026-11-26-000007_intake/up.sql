-- Intake: the topic taxonomy (with its merge policy), policy values, cases, hotline tickets, patrol reports, the
-- merge decisions that put items into cases (with their reasons, undoable), and the audit log of unmasked reads of
-- callers' personal data. district_code is on every large table ('' while a ticket is not yet placed).

CREATE TABLE topics (
    code TEXT PRIMARY KEY NOT NULL,
    parent_code TEXT,
    name_zh TEXT NOT NULL,
    name_en TEXT NOT NULL,
    time_class TEXT NOT NULL,
    grid_class TEXT NOT NULL,
    department TEXT NOT NULL,
    merge_radius_m INTEGER NOT NULL,
    merge_window_hours INTEGER NOT NULL,
    merge_same_building BOOLEAN NOT NULL,
    active BOOLEAN NOT NULL
);

CREATE TABLE policy (
    key TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);

CREATE TABLE cases (
    id TEXT PRIMARY KEY NOT NULL,
    district_code TEXT NOT NULL,
    place_code TEXT,
    lon DOUBLE,
    lat DOUBLE,
    building_code TEXT,
    topic_code TEXT NOT NULL,
    status TEXT NOT NULL,
    source TEXT NOT NULL,
    priority INTEGER NOT NULL,
    group_request BOOLEAN NOT NULL,
    repeat_request BOOLEAN NOT NULL,
    ticket_count INTEGER NOT NULL,
    caller_count INTEGER NOT NULL,
    report_count INTEGER NOT NULL,
    opened_at TIMESTAMP NOT NULL,
    last_item_at TIMESTAMP NOT NULL,
    chain TEXT NOT NULL,
    version INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX cases_opened ON cases (opened_at, id);
CREATE INDEX cases_district_opened ON cases (district_code, opened_at, id);
CREATE INDEX cases_merge ON cases (topic_code, lat);
CREATE INDEX cases_building ON cases (building_code, topic_code);

CREATE TABLE tickets (
    id TEXT PRIMARY KEY NOT NULL,
    ticket_no TEXT NOT NULL,
    content_sha256 TEXT NOT NULL,
    case_id TEXT NOT NULL REFERENCES cases (id),
    district_code TEXT NOT NULL,
    received_at TIMESTAMP NOT NULL,
    channel TEXT NOT NULL,
    request_type TEXT NOT NULL,
    topic_code TEXT NOT NULL,
    body TEXT NOT NULL,
    caller_name TEXT NOT NULL,
    caller_phone TEXT NOT NULL,
    caller_confidential BOOLEAN NOT NULL,
    address_text TEXT NOT NULL,
    lon DOUBLE,
    lat DOUBLE,
    location_precision TEXT NOT NULL,
    place_code TEXT,
    building_code TEXT,
    chain TEXT NOT NULL,
    repeat_of TEXT,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX tickets_ticket_no ON tickets (ticket_no);
CREATE INDEX tickets_case ON tickets (case_id);
CREATE INDEX tickets_caller ON tickets (caller_phone, topic_code, received_at);

CREATE TABLE reports (
    id TEXT PRIMARY KEY NOT NULL,
    content_sha256 TEXT NOT NULL,
    case_id TEXT NOT NULL REFERENCES cases (id),
    district_code TEXT NOT NULL,
    reporter_id TEXT NOT NULL,
    reported_at TIMESTAMP NOT NULL,
    topic_code TEXT NOT NULL,
    body TEXT NOT NULL,
    lon DOUBLE NOT NULL,
    lat DOUBLE NOT NULL,
    place_code TEXT NOT NULL,
    building_code TEXT,
    photos TEXT NOT NULL,
    fixed_on_the_spot BOOLEAN NOT NULL,
    outside_scope BOOLEAN NOT NULL,
    chain TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX reports_case ON reports (case_id);

CREATE TABLE merge_decisions (
    id TEXT PRIMARY KEY NOT NULL,
    case_id TEXT NOT NULL REFERENCES cases (id),
    item_kind TEXT NOT NULL,
    item_id TEXT NOT NULL,
    outcome TEXT NOT NULL,
    candidate_case_id TEXT,
    distance_m DOUBLE,
    age_hours DOUBLE,
    score DOUBLE,
    reason TEXT NOT NULL,
    actor TEXT NOT NULL,
    decided_at TIMESTAMP NOT NULL,
    undone_at TIMESTAMP
);
CREATE INDEX merge_decisions_case ON merge_decisions (case_id, decided_at);
CREATE INDEX merge_decisions_item ON merge_decisions (item_id);

CREATE TABLE pii_reads (
    id TEXT PRIMARY KEY NOT NULL,
    read_at TIMESTAMP NOT NULL,
    user_id TEXT NOT NULL,
    username TEXT NOT NULL,
    role TEXT NOT NULL,
    ticket_id TEXT NOT NULL,
    case_id TEXT NOT NULL,
    district_code TEXT NOT NULL,
    reason TEXT NOT NULL
);
CREATE INDEX pii_reads_at ON pii_reads (read_at, id);
CREATE INDEX pii_reads_ticket ON pii_reads (ticket_id);
