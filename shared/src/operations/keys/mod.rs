//! The MEK and NEK runbooks (runbooks.md §4, §5) as plan-first automations against
//! OpenBao, reached through the Kubernetes API server proxy.

pub mod mek;
pub mod nek;
pub mod runbook;
pub mod stored;
