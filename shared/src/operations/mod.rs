//! What the commands do, built from the model and the clients: read-only operations return
//! a report, mutating ones a plan that is shown, confirmed and then run.

pub mod api;
pub mod checks;
pub mod handoff;
pub mod keys;
pub mod nvca;
pub mod ops;
pub mod planes;
pub mod reach;
pub mod stack;
