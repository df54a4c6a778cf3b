//! The NVCF API commands: each builds its request, calls the service, keeps the profile's
//! state (the current function and task, saved API keys) and returns the view to print.

pub mod admin;
pub mod api_key;
pub mod auth;
pub mod deploy;
pub mod function;
pub mod invoke;
pub mod registry;
pub mod task;
pub mod task_rows;
