//! Container registries as a pull sees them: the credentials a `.dockerconfigjson` pull
//! secret holds, and a real login with them (the OCI distribution auth flow).

pub mod docker_config;
pub mod judge;
pub mod login;
