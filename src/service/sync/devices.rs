//! Phones: a signed-in grid member registers one and gets a device token (shown once, only its SHA-256 kept);
//! members list and revoke their own, admins everyone's. A device token stands for its member on every route, does
//! not expire (phones stay offline for days) and stops working the moment the device is revoked or the account is
//! disabled.

use crate::auth::token;
use crate::db::{Db, DbError};
use crate::domain::access::Principal;
use crate::domain::access::Role;
use crate::domain::access::{self, Permission};
use crate::error::{ErrorKind, InvalidField, ServiceError};
use crate::service::auth::{self, AuthError};
use crate::store::sync::{self as store, DeviceRow};
use chrono::{Duration, NaiveDateTime};
use diesel::Connection;

/// The most devices a member may have registered and not revoked.
pub const MAX_LIVE_DEVICES: usize = 20;
/// The longest device name.
pub const MAX_NAME_CHARS: usize = 100;
/// Devices listed at most.
pub const LIST_LIMIT: i64 = 1000;
/// `last_seen_at` is written at most this often per device (a pull must not cost a write each time).
const SEEN_EVERY: Duration = Duration::minutes(1);

/// Errors of device management and of device tokens.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeviceError {
    /// A field is missing or malformed.
    #[error(transparent)]
    Invalid(#[from] InvalidField),
    /// The role may not register phones (machine clients and roles that file no reports).
    #[error(
        "{} does not register phones; grid members, community secretaries and street handlers do",
        crate::domain::text::a(.0)
    )]
    Forbidden(&'static str),
    /// Too many live devices.
    #[error("at most {MAX_LIVE_DEVICES} devices may be registered at once; revoke one first")]
    TooMany,
    /// No such device, or not one the user may see.
    #[error("there is no device {0:?}")]
    NotFound(String),
    /// The device was revoked: its token no longer works.
    #[error("this device was revoked: sign in and register it again")]
    Revoked,
    /// The token is unknown or the account is disabled.
    #[error("the device token is not valid: sign in and register the device again")]
    InvalidToken,
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

crate::error::from_query_error!(DeviceError);

impl ServiceError for DeviceError {
    fn kind(&self) -> ErrorKind {
        match self {
            DeviceError::Invalid(_) => ErrorKind::Invalid("invalid_field"),
            DeviceError::Forbidden(_) => ErrorKind::Forbidden("forbidden"),
            DeviceError::TooMany => ErrorKind::Conflict("too_many_devices"),
            DeviceError::NotFound(_) => ErrorKind::NotFound("device_not_found"),
            DeviceError::Revoked => ErrorKind::Unauthorized("device_revoked"),
            DeviceError::InvalidToken => ErrorKind::Unauthorized("invalid_token"),
            DeviceError::Db(_) => ErrorKind::Internal,
        }
    }
}

impl From<AuthError> for DeviceError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Db(db) => DeviceError::Db(db),
            _ => DeviceError::InvalidToken,
        }
    }
}

/// A registered device and its token (shown once).
#[derive(Debug, Clone)]
pub struct NewDevice {
    /// The device.
    pub device: DeviceRow,
    /// Its token.
    pub token: String,
}

/// Registers a phone for `user`.
pub fn register(
    db: &Db,
    user: &Principal,
    name: &str,
    at: NaiveDateTime,
) -> Result<NewDevice, DeviceError> {
    if !access::allows(user.role, Permission::FileReports) || user.id.starts_with("key:") {
        return Err(DeviceError::Forbidden(user.role.as_str()));
    }
    let name = name.trim();
    let chars = name.chars().count();
    if chars == 0 || chars > MAX_NAME_CHARS {
        return Err(DeviceError::Invalid(InvalidField::new(
            "name",
            format!("1 to {MAX_NAME_CHARS} characters, e.g. the phone's model"),
        )));
    }
    let token = token::generate_with(token::DEVICE_PREFIX);
    let device = DeviceRow {
        id: uuid::Uuid::new_v4().to_string(),
        user_id: user.id.clone(),
        name: name.to_owned(),
        token_hash: token::hash(&token),
        created_at: at,
        last_seen_at: Some(at),
        revoked_at: None,
        revoked_by: None,
        next_seq: 1,
        last_result_seq: 0,
    };
    db.writer()?.transaction(|c| {
        if store::live_devices(c, &user.id)? >= MAX_LIVE_DEVICES as i64 {
            return Err(DeviceError::TooMany);
        }
        store::insert_device(c, &device)?;
        Ok(())
    })?;
    Ok(NewDevice { device, token })
}

/// The devices `user` may see: their own, or for an admin everyone's (or `of`'s).
pub fn list(db: &Db, user: &Principal, of: Option<&str>) -> Result<Vec<DeviceRow>, DeviceError> {
    let whose = if user.role == Role::Admin {
        of
    } else {
        Some(user.id.as_str())
    };
    Ok(store::devices(&mut *db.reader()?, whose, LIST_LIMIT)?)
}

/// Revokes a device (its owner or an admin); revoking twice is harmless.
pub fn revoke(
    db: &Db,
    user: &Principal,
    id: &str,
    at: NaiveDateTime,
) -> Result<DeviceRow, DeviceError> {
    let mut c = db.writer()?;
    let device = store::device(&mut c, id)?
        .filter(|d| user.role == Role::Admin || d.user_id == user.id)
        .ok_or_else(|| DeviceError::NotFound(id.to_owned()))?;
    store::revoke_device(&mut c, id, &user.id, at)?;
    Ok(store::device(&mut c, id)?.unwrap_or(device))
}

/// The member and device a device token stands for.
pub fn authenticate(
    db: &Db,
    bearer: &str,
    at: NaiveDateTime,
) -> Result<(Principal, DeviceRow), DeviceError> {
    if !token::well_formed(bearer, token::DEVICE_PREFIX) {
        return Err(DeviceError::InvalidToken);
    }
    let (user, device) = {
        let mut c = db.reader()?;
        let device = store::device_by_token(&mut c, &token::hash(bearer))?
            .ok_or(DeviceError::InvalidToken)?;
        if device.revoked_at.is_some() {
            return Err(DeviceError::Revoked);
        }
        let user =
            auth::principal_by_id(&mut c, &device.user_id)?.ok_or(DeviceError::InvalidToken)?;
        (user, device)
    };
    if device.last_seen_at.is_none_or(|t| at - t >= SEEN_EVERY) {
        store::touch_device(&mut *db.writer()?, &device.id, at)?;
    }
    Ok((user, device))
}
