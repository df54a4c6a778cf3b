//! The top layer: the command-line runtime every plugin binary runs in, and the commands
//! all plugins share (context, completion, docs, version, upstream's command lines).

pub mod base_commands;
pub mod completion;
pub mod context;
pub mod docs;
pub mod runtime;
pub mod upstream_cli;
pub mod version;
