//! What every NVCF API command gets: the run's context and a way to open a session.

use nvcf_shared::Result;
use nvcf_shared::base::output::{OutputFormat, render, render_revealing};
use nvcf_shared::base::secret::Secret;
use nvcf_shared::cli::runtime::{CommonArgs, Ctx};
use nvcf_shared::clients::nvcf::view::View;
use nvcf_shared::clients::nvcf::{ConnectArgs, Session};
use nvcf_shared::model::target::{KubeSelection, PlaneArgs};
use nvcf_shared::operations::reach::Reach;

pub struct Api<'a> {
    pub ctx: &'a Ctx,
    pub common: &'a CommonArgs,
    pub sel: &'a KubeSelection,
    pub connect: &'a ConnectArgs,
}

impl Api<'_> {
    pub fn session(&self) -> Result<Session> {
        Session::open(
            self.connect,
            &self.common.profile,
            self.sel,
            &self.ctx.env,
            self.ctx.plugin,
        )
    }

    pub fn print(&self, view: &View, format: OutputFormat) -> Result<()> {
        render(view, format, &mut self.ctx.stdout())
    }

    /// As [`Api::print`], with `revealed` printed in full: only for commands whose job is to
    /// print a secret.
    pub fn print_revealing(
        &self,
        view: &View,
        format: OutputFormat,
        revealed: &[Secret],
    ) -> Result<()> {
        let revealed: Vec<&Secret> = revealed.iter().collect();
        render_revealing(view, format, &mut self.ctx.stdout(), &revealed)
    }

    pub fn note(&self, text: &str) {
        nvcf_shared::base::output::note(text);
    }

    /// What the stack's operations reach, with `planes` naming each plane's context.
    pub fn reach<'a>(&'a self, planes: &'a PlaneArgs) -> Reach<'a> {
        Reach {
            sel: self.sel,
            planes,
            profile: &self.common.profile,
            connect: self.connect,
            env: &self.ctx.env,
            plugin: self.ctx.plugin,
            run: self.ctx,
        }
    }
}
