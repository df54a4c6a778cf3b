//! What an operation is given from the command line, as plain values: which clusters and
//! which NVCF API it reaches, the process environment, and the run's event stream.

use crate::base::error::Result;
use crate::base::events::RunEvents;
use crate::base::plugin::Plugin;
use crate::clients::nvcf::{ConnectArgs, Session};
use crate::model::profile::ProfileArgs;
use crate::model::settings::{EnvLookup, ProcessEnv};
use crate::model::target::{KubeSelection, PlaneArgs};

pub struct Reach<'a> {
    pub sel: &'a KubeSelection,
    pub planes: &'a PlaneArgs,
    pub profile: &'a ProfileArgs,
    pub connect: &'a ConnectArgs,
    pub env: &'a ProcessEnv,
    pub plugin: Plugin,
    pub run: &'a dyn RunEvents,
}

impl Reach<'_> {
    pub fn user_agent(&self) -> String {
        self.plugin.user_agent()
    }

    /// The profile's NVCF session, with settings read from `env`.
    pub fn session_in(&self, env: &dyn EnvLookup) -> Result<Session> {
        Session::open(self.connect, self.profile, self.sel, env, self.plugin)
    }

    pub fn session(&self) -> Result<Session> {
        self.session_in(self.env)
    }

    /// An admin token came with the command (`--token`).
    pub fn token_given(&self) -> bool {
        self.connect.token.as_deref().is_some_and(|t| !t.is_empty())
    }
}
