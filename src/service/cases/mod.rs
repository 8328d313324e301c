//! Cases after intake: reading them (scoped, masked, audited) and the caller's own status lookup, merging (并单:
//! the automatic merge of new items, merging by hand, unmerging), the steps of the workflow, the work those steps carry (dispatch, deadlines, whistles, callbacks), the dispatcher's queue and the
//! scheduler. `step` holds what a step names and how it fails, so that `workflow` (which takes a step) and `work`
//! (which records its work) both depend on it rather than on each other.

pub mod dispatch;
pub mod merge;
pub mod public_status;
pub mod read;
pub mod scheduler;
pub mod step;
pub mod work;
pub mod workflow;
