-- The work on a case once it is dispatched: who handles it (the street office; departments on a dual dispatch;
-- units copied), its clocks (response and completion deadlines from the time class plus extensions; when it was
-- accepted, replied, closed), returns (buck-passing flag), and where it stands on the escalation ladder
-- (next_rung_at: when the next rung falls due, NULL when none will). One row per dispatched case.
CREATE TABLE case_work (
    case_id TEXT PRIMARY KEY NOT NULL REFERENCES cases (id),
    district_code TEXT NOT NULL,
    street_code TEXT,
    handler_unit_id TEXT,
    departments TEXT NOT NULL,
    copied TEXT NOT NULL,
    time_class TEXT NOT NULL,
    dispatched_at TIMESTAMP NOT NULL,
    respond_due_at TIMESTAMP NOT NULL,
    complete_due_at TIMESTAMP NOT NULL,
    extension_days INTEGER NOT NULL,
    accepted_at TIMESTAMP,
    accepted_by TEXT,
    accepted_by_name TEXT,
    replied_at TIMESTAMP,
    closed_at TIMESTAMP,
    return_count INTEGER NOT NULL,
    buck_passing BOOLEAN NOT NULL,
    evidence_missing BOOLEAN NOT NULL,
    rung INTEGER NOT NULL,
    next_rung_at TIMESTAMP
);
CREATE INDEX case_work_next_rung ON case_work (next_rung_at) WHERE next_rung_at IS NOT NULL;
CREATE INDEX case_work_dispatched ON case_work (dispatched_at);
CREATE INDEX case_work_open_due ON case_work (complete_due_at) WHERE replied_at IS NULL AND closed_at IS NULL;

-- Every rung of the escalation ladder a case crossed (催办 remind, 督办 supervise, 查办 investigate): once per case
-- and rung (the key makes a repeat impossible), with the people and units of the chain it notified (JSON).
CREATE TABLE escalations (
    case_id TEXT NOT NULL REFERENCES cases (id),
    rung INTEGER NOT NULL,
    name TEXT NOT NULL,
    district_code TEXT NOT NULL,
    due_at TIMESTAMP NOT NULL,
    fired_at TIMESTAMP NOT NULL,
    notified TEXT NOT NULL,
    PRIMARY KEY (case_id, rung)
);
CREATE INDEX escalations_fired ON escalations (fired_at, case_id, rung);

-- 吹哨报到: each department a whistle summoned, when it must report in by, and when it did (and who).
CREATE TABLE whistle_calls (
    case_id TEXT NOT NULL REFERENCES cases (id),
    whistle_seq INTEGER NOT NULL,
    unit_id TEXT NOT NULL,
    unit_name TEXT NOT NULL,
    district_code TEXT NOT NULL,
    summoned_at TIMESTAMP NOT NULL,
    due_at TIMESTAMP NOT NULL,
    reported_at TIMESTAMP,
    reported_by TEXT,
    reported_by_name TEXT,
    PRIMARY KEY (case_id, whistle_seq, unit_id)
);
CREATE INDEX whistle_calls_unit ON whistle_calls (unit_id, summoned_at);

-- Cases waiting for the auto-dispatch pass or a dispatcher (received), and returned ones (objection review).
CREATE INDEX cases_received ON cases (opened_at, id) WHERE status = 'received';
CREATE INDEX cases_returned ON cases (opened_at, id) WHERE status = 'returned';

-- 回访: the hotline's callback of each ticket's caller, one row per ticket and round (round 1 the first callback,
-- +1 after each reopen): contact made, resolved (yes/partly/no) and satisfaction
-- (satisfied/basically_satisfied/dissatisfied) when reached. The assessment reads the latest round.
CREATE TABLE ticket_callbacks (
    ticket_id TEXT NOT NULL REFERENCES tickets (id),
    round INTEGER NOT NULL,
    case_id TEXT NOT NULL REFERENCES cases (id),
    district_code TEXT NOT NULL,
    at TIMESTAMP NOT NULL,
    actor_id TEXT NOT NULL,
    contacted BOOLEAN NOT NULL,
    resolved TEXT,
    satisfaction TEXT,
    note TEXT NOT NULL,
    PRIMARY KEY (ticket_id, round)
);
CREATE INDEX ticket_callbacks_case ON ticket_callbacks (case_id);
