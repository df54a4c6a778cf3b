//! The lowest layer: what every other layer speaks. Nothing here imports from above.

pub mod checks;
pub mod confirm;
pub mod env;
pub mod error;
pub mod events;
pub mod files;
pub mod logging;
pub mod on_cancel;
pub mod output;
pub mod plan;
pub mod plugin;
pub mod secret;
