//! Plain data and the rules on it: settings, profiles, which cluster a command targets,
//! and the stack (its catalog of releases, its config, and the values and support files rendered from it).
//! No network: the clients and operations above read and write these.

pub mod handoff;
pub mod profile;
pub mod settings;
pub mod stack;
pub mod target;
