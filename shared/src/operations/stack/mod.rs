//! What we do to the stack: render it and bundle it, read its status, dump it, take it
//! down, tear it down and upgrade it. What the stack is lives in `model::stack`.

pub mod bundle;
pub mod cluster_inputs;
pub mod down;
pub mod dump;
pub mod openbao;
pub mod render;
pub mod status;
pub mod teardown;
pub mod teardown_run;
pub mod upgrade;
