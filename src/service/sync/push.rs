//! Pushes from phones: a batch of operations, each with the phone's UUID (`op_id`), its place in the device's order
//! (`device_seq`), a kind, the entity it acts on, the version it was made against and a payload. Each operation
//! is decided once, in its own transaction with its effect, and gets its own result:
//!
//! - `applied`; `conflict` when an edit was made against a stale version (both versions in the result, the
//!   phone's content kept there for the member and their supervisor to see); `rejected` with a code;
//! - `duplicate` when it was sent before with the same content (the original result again, nothing changes);
//!   `rejected` / `op_id_reused` when the id comes back with different content;
//! - `waiting` while an earlier operation of the device has not arrived: operations apply in device order, and a
//!   waiting one is applied as soon as its predecessor is decided.
//!
//! One bad operation never blocks the rest: a malformed or refused one is decided (rejected) at its turn and the
//! device's order moves on. Results are numbered per device as they are decided, so the phone can read them all
//! back later ([`results`]).

use crate::db::{Db, DbConnection, DbError};
use crate::domain::access::Principal;
use crate::domain::access::{self, Permission};
use crate::error::{ErrorKind, InvalidField, ServiceError};
use crate::service::cases::workflow::{self, TransitionInput, WorkflowError};
use crate::service::intake::{self, Geo, IntakeError, ReportInput, Rules};
use crate::store::cases as case_store;
use crate::store::sync::{self as store, DeviceRow, OpRow};
use chrono::NaiveDateTime;
use diesel::Connection;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The most operations in one push.
pub const MAX_OPS: usize = 500;
/// The largest payload of one operation (JSON bytes).
pub const MAX_PAYLOAD_BYTES: usize = 64 * 1024;
/// Results read back at most per page.
pub const MAX_RESULTS_PAGE: i64 = 500;

/// What an operation does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    /// File a patrol report (the entity is the report's UUID; the payload is the report).
    CreateReport,
    /// Change a report's text (payload `{"text": ...}`), against `base_version`.
    UpdateReport,
    /// Add a photo to a report's evidence (payload `{"sha256": ...}`); photos only accumulate, so never a conflict.
    AttachPhoto,
    /// A step on a case (the entity is the case, or a report of it: a case opened offline is known to the phone
    /// only by its report's UUID; the payload is the step as `POST /cases/{id}/transitions` takes it: accept,
    /// start, reply, self_resolve, verify, ...), against the case's `base_version` when given.
    Transition,
}

impl OpKind {
    /// Every kind.
    pub const ALL: [OpKind; 4] = [
        OpKind::CreateReport,
        OpKind::UpdateReport,
        OpKind::AttachPhoto,
        OpKind::Transition,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            OpKind::CreateReport => "create_report",
            OpKind::UpdateReport => "update_report",
            OpKind::AttachPhoto => "attach_photo",
            OpKind::Transition => "transition",
        }
    }

    /// The kind of a wire name.
    pub fn parse(s: &str) -> Option<OpKind> {
        OpKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Errors of a push as a whole (a single operation's problems are its own result, not these).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SyncError {
    /// A parameter is missing or malformed.
    #[error(transparent)]
    Invalid(#[from] InvalidField),
    /// The request did not come with a device token.
    #[error(
        "sync needs a device token: register the phone (POST /api/v1/devices) and send its token"
    )]
    DeviceRequired,
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

crate::error::from_query_error!(SyncError);

impl ServiceError for SyncError {
    fn kind(&self) -> ErrorKind {
        match self {
            SyncError::Invalid(_) => ErrorKind::Invalid("invalid_field"),
            SyncError::DeviceRequired => ErrorKind::Forbidden("device_required"),
            SyncError::Db(_) => ErrorKind::Internal,
        }
    }
}

/// One operation as the phone sends it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpInput {
    /// The phone's UUID for the operation.
    pub op_id: String,
    /// Its place in the device's order: 1, 2, 3, ...
    pub device_seq: i64,
    /// `create_report`, `update_report`, `attach_photo` or `transition`.
    pub kind: String,
    /// The report's or case's id.
    pub entity_id: String,
    /// The entity's version it was made against.
    #[serde(default)]
    pub base_version: Option<i32>,
    /// What to do.
    #[serde(default)]
    pub payload: Value,
}

/// The result of one operation (as the server sends it and the reference phone reads it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpResult {
    /// The operation (absent when it had no usable id).
    pub op_id: Option<String>,
    /// Its device sequence number, when it had one.
    pub device_seq: Option<i64>,
    /// `applied`, `duplicate`, `conflict`, `rejected` or `waiting`.
    pub status: String,
    /// For a duplicate: the original decision's status.
    pub original_status: Option<String>,
    /// For a rejection: a stable code.
    pub code: Option<String>,
    /// A message a person can act on.
    pub message: Option<String>,
    /// What came of it (JSON): the entity and its version; on a conflict `server` and `phone`.
    pub result: Option<Value>,
    /// The number of the decision among the device's results.
    pub result_seq: Option<i64>,
}

impl OpResult {
    fn refused(
        op_id: Option<String>,
        device_seq: Option<i64>,
        code: &str,
        message: String,
    ) -> OpResult {
        OpResult {
            op_id,
            device_seq,
            status: "rejected".into(),
            original_status: None,
            code: Some(code.to_owned()),
            message: Some(message),
            result: None,
            result_seq: None,
        }
    }

    /// The result of a stored operation.
    pub fn of(op: &OpRow) -> OpResult {
        OpResult {
            op_id: Some(op.op_id.clone()),
            device_seq: Some(op.device_seq),
            status: op.status.clone(),
            original_status: None,
            code: op.code.clone(),
            message: op.message.clone(),
            result: op
                .result
                .as_deref()
                .and_then(|r| serde_json::from_str(r).ok()),
            result_seq: op.result_seq,
        }
    }
}

/// How an operation was decided.
enum Decision {
    Applied(Value, Option<String>),
    Conflict(Value, Option<String>),
    Rejected(&'static str, String),
}

/// Applies a push from `device` (which belongs to `user`) at `at`; one result per operation, in the order sent.
pub fn push(
    db: &Db,
    geo: &Geo<'_>,
    user: &Principal,
    device: &DeviceRow,
    ops: Vec<Value>,
    at: NaiveDateTime,
) -> Result<Vec<OpResult>, SyncError> {
    if ops.len() > MAX_OPS {
        return Err(SyncError::Invalid(InvalidField::new(
            "ops",
            format!("at most {MAX_OPS} operations per push; send the rest in the next"),
        )));
    }
    let mut c = db.writer()?;
    let mut push = Push {
        geo,
        user,
        device_id: &device.id,
        rules: None,
        at,
    };
    let mut out = Vec::with_capacity(ops.len());
    for raw in ops {
        let result = match parse(raw) {
            Err(refused) => *refused,
            Ok((op, hash)) => {
                // Received and, when it is next in the device's order (the usual case), decided in one
                // transaction; operations that were waiting for it follow, one transaction each.
                let (received, decided) = c.transaction(|c| {
                    let (received, current) = receive(c, device, &op, &hash, at)?;
                    let decided = if received.status == "waiting" {
                        push.decide_next(c, current)?
                    } else {
                        None
                    };
                    Ok::<_, SyncError>((received, decided))
                })?;
                match decided {
                    None => received,
                    Some(first) => {
                        push.drain(&mut c)?;
                        if first.op_id == op.op_id {
                            OpResult::of(&first)
                        } else {
                            store::op(&mut c, &op.op_id)?.map_or(received, |now| OpResult::of(&now))
                        }
                    }
                }
            }
        };
        out.push(result);
    }
    Ok(out)
}

/// An operation checked for shape, with the SHA-256 of its content; or its rejection.
fn parse(raw: Value) -> Result<(OpInput, String), Box<OpResult>> {
    let op_id = raw.get("op_id").and_then(Value::as_str).map(str::to_owned);
    let seq = raw.get("device_seq").and_then(Value::as_i64);
    let malformed = |message: String| {
        Box::new(OpResult::refused(
            op_id.clone(),
            seq,
            "malformed_op",
            message,
        ))
    };
    let op: OpInput = serde_json::from_value(raw.clone()).map_err(|e| malformed(e.to_string()))?;
    if uuid::Uuid::parse_str(&op.op_id).is_err() {
        return Err(malformed("op_id: a UUID the phone generated".into()));
    }
    if op.device_seq < 1 {
        return Err(malformed(
            "device_seq: 1 for the device's first operation, then +1".into(),
        ));
    }
    let content = serde_json::to_vec(&op).unwrap_or_default();
    if content.len() > MAX_PAYLOAD_BYTES {
        return Err(malformed(format!(
            "payload: at most {MAX_PAYLOAD_BYTES} bytes"
        )));
    }
    // serde_json's maps are sorted, so equal content always hashes alike.
    let hash = crate::auth::token::hex(&Sha256::digest(&content));
    Ok((op, hash))
}

/// Stores a new operation as waiting for its turn, or answers a retry or a reused id; with the device's row as
/// this transaction locked and read it.
fn receive(
    c: &mut DbConnection,
    device: &DeviceRow,
    op: &OpInput,
    hash: &str,
    at: NaiveDateTime,
) -> Result<(OpResult, DeviceRow), SyncError> {
    // The device first: its lock orders concurrent pushes of one device (PostgreSQL).
    let current = store::device_locked(c, &device.id)?.unwrap_or_else(|| device.clone());
    let result = receive_locked(c, &current, op, hash, at)?;
    Ok((result, current))
}

fn receive_locked(
    c: &mut DbConnection,
    current: &DeviceRow,
    op: &OpInput,
    hash: &str,
    at: NaiveDateTime,
) -> Result<OpResult, SyncError> {
    if let Some(before) = store::op(c, &op.op_id)? {
        if before.content_sha256 != hash {
            return Ok(OpResult::refused(
                Some(op.op_id.clone()),
                Some(op.device_seq),
                "op_id_reused",
                "this op_id was sent before with different content: give a new operation a new UUID".into(),
            ));
        }
        if before.status == "waiting" {
            return Ok(OpResult::of(&before));
        }
        let mut again = OpResult::of(&before);
        again.original_status = Some(std::mem::replace(&mut again.status, "duplicate".into()));
        return Ok(again);
    }
    if op.device_seq < current.next_seq || store::op_at(c, &current.id, op.device_seq)?.is_some() {
        return Ok(OpResult::refused(
            Some(op.op_id.clone()),
            Some(op.device_seq),
            "seq_reused",
            format!(
                "device_seq {} was already used by another operation of this device (next expected: {})",
                op.device_seq, current.next_seq
            ),
        ));
    }
    let row = OpRow {
        op_id: op.op_id.clone(),
        device_id: current.id.clone(),
        device_seq: op.device_seq,
        kind: op.kind.clone(),
        entity_id: op.entity_id.clone(),
        base_version: op.base_version,
        payload: op.payload.to_string(),
        content_sha256: hash.to_owned(),
        status: "waiting".into(),
        code: None,
        message: Some(format!("waiting for device_seq {}", current.next_seq)),
        result: None,
        place_code: None,
        received_at: at,
        decided_at: None,
        result_seq: None,
    };
    store::insert_op(c, &row)?;
    Ok(OpResult::of(&row))
}

/// What every operation of one push shares: the places, the member, their device, the intake rules (read when
/// the first report needs them) and the time.
struct Push<'a, 'g> {
    geo: &'a Geo<'g>,
    user: &'a Principal,
    device_id: &'a str,
    rules: Option<Rules>,
    at: NaiveDateTime,
}

impl Push<'_, '_> {
    /// Decides the device's waiting operations that are next in its order, one transaction each.
    fn drain(&mut self, c: &mut DbConnection) -> Result<(), SyncError> {
        while c
            .transaction(|c| {
                let device = store::device_locked(c, self.device_id)?;
                match device {
                    Some(device) => self.decide_next(c, device),
                    None => Ok(None),
                }
            })?
            .is_some()
        {}
        Ok(())
    }

    /// Decides the operation that is next in the order of `device` (locked and read in this transaction), if it
    /// has arrived, and returns it.
    fn decide_next(
        &mut self,
        c: &mut DbConnection,
        device: DeviceRow,
    ) -> Result<Option<OpRow>, SyncError> {
        let Some(mut op) = store::op_at(c, &device.id, device.next_seq)? else {
            return Ok(None);
        };
        // The effect rolls back alone (a savepoint) when the operation is refused; its decision stays. A failing
        // database aborts the whole transaction instead: the operation stays waiting for a retry.
        let decision = match c.transaction(|c| match self.apply(c, &op) {
            Ok(d @ Decision::Rejected(..)) => Err(Undo::Refused(d)),
            Ok(d) => Ok(d),
            Err(e) => Err(Undo::Failed(e)),
        }) {
            Ok(d) | Err(Undo::Refused(d)) => d,
            Err(Undo::Failed(e)) => return Err(e),
        };
        let result_seq = device.last_result_seq + 1;
        let (status, code, message, result, place) = match decision {
            Decision::Applied(v, place) => ("applied", None, None, Some(v), place),
            Decision::Conflict(v, place) => (
                "conflict",
                None,
                Some("made against an older version: both versions are kept for review".to_owned()),
                Some(v),
                place,
            ),
            Decision::Rejected(code, message) => {
                ("rejected", Some(code.to_owned()), Some(message), None, None)
            }
        };
        op.status = status.into();
        op.code = code;
        op.message = message;
        op.result = result.map(|v| v.to_string());
        op.place_code = place;
        op.decided_at = Some(self.at);
        op.result_seq = Some(result_seq);
        store::decide_op(c, &op)?;
        store::set_device_counters(c, &device.id, device.next_seq + 1, result_seq)?;
        Ok(Some(op))
    }

    /// The effect of one operation.
    fn apply(&mut self, c: &mut DbConnection, op: &OpRow) -> Result<Decision, SyncError> {
        let Some(kind) = OpKind::parse(&op.kind) else {
            let kinds = OpKind::ALL.map(OpKind::as_str).join(", ");
            return Ok(Decision::Rejected(
                "malformed_op",
                format!("kind: one of {kinds}"),
            ));
        };
        let payload: Value = serde_json::from_str(&op.payload).unwrap_or(Value::Null);
        match kind {
            OpKind::CreateReport => create_report(
                c,
                self.geo,
                self.user,
                op,
                payload,
                &mut self.rules,
                self.at,
            ),
            OpKind::UpdateReport => update_report(c, self.user, op, payload),
            OpKind::AttachPhoto => attach_photo(c, self.user, op, payload, self.at),
            OpKind::Transition => transition(c, self.user, op, payload, self.at),
        }
    }
}

/// Why the savepoint of an operation's effect is rolled back.
enum Undo {
    /// The operation was refused: its decision is recorded.
    Refused(Decision),
    /// The database failed.
    Failed(SyncError),
}

impl From<diesel::result::Error> for Undo {
    fn from(e: diesel::result::Error) -> Self {
        Undo::Failed(e.into())
    }
}

fn create_report(
    c: &mut DbConnection,
    geo: &Geo<'_>,
    user: &Principal,
    op: &OpRow,
    payload: Value,
    rules: &mut Option<Rules>,
    at: NaiveDateTime,
) -> Result<Decision, SyncError> {
    if !access::allows(user.role, Permission::FileReports) {
        return Ok(Decision::Rejected(
            "forbidden",
            format!(
                "{} does not file reports",
                crate::domain::text::a(user.role.as_str())
            ),
        ));
    }
    let mut input: ReportInput = match serde_json::from_value(payload) {
        Ok(i) => i,
        Err(e) => return Ok(Decision::Rejected("malformed_op", format!("payload: {e}"))),
    };
    if input.id.as_ref().is_some_and(|id| *id != op.entity_id) {
        return Ok(Decision::Rejected(
            "malformed_op",
            "payload.id differs from entity_id".into(),
        ));
    }
    input.id = Some(op.entity_id.clone());
    let prepared = match intake::prepare_report(geo, &input, user, at) {
        Ok(p) => p,
        Err(e) => return intake_refusal(e),
    };
    if rules.is_none() {
        *rules = Some(Rules::load(c, at).map_err(intake_db)?);
    }
    let Some(rules) = rules.as_mut() else {
        return Ok(Decision::Rejected(
            "storage_failed",
            "no intake rules".into(),
        ));
    };
    match intake::store_report(c, &prepared, rules) {
        Ok(filed) => Ok(Decision::Applied(
            serde_json::json!({"report_id": filed.item.id, "case_id": filed.case.id, "version": filed.item.version}),
            Some(filed.item.place_code),
        )),
        Err(e) => intake_refusal(e),
    }
}

fn intake_db(e: IntakeError) -> SyncError {
    match e {
        IntakeError::Db(db) => SyncError::Db(db),
        other => SyncError::Invalid(InvalidField::new("rules", other.to_string())),
    }
}

fn intake_refusal(e: IntakeError) -> Result<Decision, SyncError> {
    match e.code() {
        Some(code) => Ok(Decision::Rejected(code, e.to_string())),
        None => Err(intake_db(e)),
    }
}

/// The report an edit acts on, if the user may edit it: its reporter, or someone whose jurisdiction holds it.
fn editable_report(
    c: &mut DbConnection,
    user: &Principal,
    id: &str,
) -> Result<Result<case_store::ReportRow, Decision>, SyncError> {
    let Some(r) = case_store::report(c, id)? else {
        return Ok(Err(Decision::Rejected(
            "report_not_found",
            format!("there is no report {id}"),
        )));
    };
    if r.reporter_id != user.id
        && !(access::allows(user.role, Permission::FileReports)
            && access::can_see_case(user, Some(&r.place_code), &r.topic_code))
    {
        return Ok(Err(Decision::Rejected(
            "out_of_scope",
            format!("report {id} is outside your jurisdiction"),
        )));
    }
    Ok(Ok(r))
}

fn report_state(r: &case_store::ReportRow) -> Value {
    serde_json::json!({
        "version": r.version,
        "text": r.body,
        "photos": serde_json::from_str::<Value>(&r.photos).unwrap_or(Value::Null),
    })
}

fn update_report(
    c: &mut DbConnection,
    user: &Principal,
    op: &OpRow,
    payload: Value,
) -> Result<Decision, SyncError> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Edit {
        text: String,
    }
    let edit: Edit = match serde_json::from_value(payload.clone()) {
        Ok(e) => e,
        Err(e) => {
            return Ok(Decision::Rejected(
                "malformed_op",
                format!("payload: {e} (an edit sends {{\"text\": ...}})"),
            ));
        }
    };
    let Some(base) = op.base_version else {
        return Ok(Decision::Rejected(
            "malformed_op",
            "base_version: the report's version the edit was made against".into(),
        ));
    };
    let text = match intake::text("text", &edit.text, intake::MAX_TEXT_CHARS, true) {
        Ok(t) => t,
        Err(e) => return Ok(Decision::Rejected("invalid_field", e.to_string())),
    };
    let r = match editable_report(c, user, &op.entity_id)? {
        Ok(r) => r,
        Err(refused) => return Ok(refused),
    };
    if base != r.version {
        return Ok(Decision::Conflict(
            serde_json::json!({"report_id": r.id, "server": report_state(&r),
                               "phone": {"base_version": base, "text": text}}),
            Some(r.place_code),
        ));
    }
    save_report(c, r, &text, None)
}

/// Stores a report's new text and photos (`None`: unchanged) as its next version.
fn save_report(
    c: &mut DbConnection,
    r: case_store::ReportRow,
    text: &str,
    photos: Option<&str>,
) -> Result<Decision, SyncError> {
    let version = r.version + 1;
    store::update_report(c, &r.id, text, photos.unwrap_or(&r.photos), version)?;
    Ok(report_applied(r, version))
}

fn report_applied(r: case_store::ReportRow, version: i32) -> Decision {
    Decision::Applied(
        serde_json::json!({"report_id": r.id, "version": version}),
        Some(r.place_code),
    )
}

fn attach_photo(
    c: &mut DbConnection,
    user: &Principal,
    op: &OpRow,
    payload: Value,
    at: NaiveDateTime,
) -> Result<Decision, SyncError> {
    let Some(sha) = payload
        .get("sha256")
        .and_then(Value::as_str)
        .and_then(intake::photo_hash)
    else {
        return Ok(Decision::Rejected(
            "malformed_op",
            "payload: {\"sha256\": the photo's SHA-256 in hex}".into(),
        ));
    };
    let r = match editable_report(c, user, &op.entity_id)? {
        Ok(r) => r,
        Err(refused) => return Ok(refused),
    };
    let mut photos: Vec<String> = serde_json::from_str(&r.photos).unwrap_or_default();
    if photos.contains(&sha) {
        let version = r.version;
        return Ok(report_applied(r, version));
    }
    if photos.len() >= intake::MAX_PHOTOS {
        return Ok(Decision::Rejected(
            "too_many_photos",
            format!("a report holds at most {} photos", intake::MAX_PHOTOS),
        ));
    }
    crate::store::photos::attach_to_report(
        c,
        &r.id,
        &r.reporter_id,
        std::slice::from_ref(&sha),
        at,
    )?;
    photos.push(sha);
    let photos = serde_json::to_string(&photos).unwrap_or_else(|_| "[]".into());
    let text = r.body.clone();
    save_report(c, r, &text, Some(&photos))
}

fn transition(
    c: &mut DbConnection,
    user: &Principal,
    op: &OpRow,
    payload: Value,
    at: NaiveDateTime,
) -> Result<Decision, SyncError> {
    let mut input: TransitionInput = match serde_json::from_value(payload.clone()) {
        Ok(i) => i,
        Err(e) => return Ok(Decision::Rejected("malformed_op", format!("payload: {e}"))),
    };
    if op.base_version.is_some() {
        input.version = op.base_version;
    }
    // A phone names the case, or (for a case opened offline, whose id only the server knows) the report it filed.
    let case_id = match case_store::case(c, &op.entity_id)? {
        Some(_) => op.entity_id.clone(),
        None => case_store::report(c, &op.entity_id)?
            .map_or_else(|| op.entity_id.clone(), |r| r.case_id),
    };
    match workflow::transition_on(c, user, &case_id, &input, at) {
        Ok((case, step)) => Ok(Decision::Applied(
            serde_json::json!({"case_id": case.id, "version": case.version, "status": case.status,
                               "transition_id": step.id}),
            case.place_code,
        )),
        Err(WorkflowError::VersionConflict { expected, current }) => {
            let case = case_store::case(c, &case_id)?;
            Ok(Decision::Conflict(
                serde_json::json!({
                    "case_id": case_id,
                    "server": {"version": current, "status": case.as_ref().map(|k| k.status.clone())},
                    "phone": {"base_version": expected, "step": payload},
                }),
                case.and_then(|k| k.place_code),
            ))
        }
        Err(WorkflowError::Db(db)) => Err(SyncError::Db(db)),
        // A case the phone may not see is outside its member's scope, whether or not it exists.
        Err(e @ WorkflowError::NotFound(_)) => {
            Ok(Decision::Rejected("out_of_scope", e.to_string()))
        }
        Err(e) => Ok(Decision::Rejected(
            e.code().unwrap_or("invalid_field"),
            e.to_string(),
        )),
    }
}

/// The device's results decided after `since` (a result number), in order, at most `limit`.
pub fn results(
    db: &Db,
    device: &DeviceRow,
    since: i64,
    limit: i64,
) -> Result<Vec<OpResult>, SyncError> {
    if !(1..=MAX_RESULTS_PAGE).contains(&limit) {
        return Err(SyncError::Invalid(InvalidField::new(
            "limit",
            format!("1 to {MAX_RESULTS_PAGE}"),
        )));
    }
    if since < 0 {
        return Err(SyncError::Invalid(InvalidField::new(
            "since",
            "a result number (result_seq) from an earlier answer, or 0",
        )));
    }
    Ok(
        store::results_after(&mut *db.reader()?, &device.id, since, limit)?
            .iter()
            .map(OpResult::of)
            .collect(),
    )
}

/// Conflicts in the user's jurisdiction, newest first (for members and their supervisors to review).
pub fn conflicts(db: &Db, user: &Principal, limit: i64) -> Result<Vec<OpResult>, SyncError> {
    let all = user
        .places
        .iter()
        .any(|p| p == crate::geo::place::CITY_CODE);
    let places = (!all).then_some(user.places.as_slice());
    Ok(store::conflicts(&mut *db.reader()?, places, limit)?
        .iter()
        .map(OpResult::of)
        .collect())
}
