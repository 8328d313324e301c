//! Phones and offline sync: registering devices, pushes of queued operations, the pull feed of what changed in a
//! member's jurisdiction, and the resumable photo uploads both carry.

pub mod devices;
pub mod photos;
pub mod pull;
pub mod push;
