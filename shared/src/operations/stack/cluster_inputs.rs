//! The stack's inputs completed from the cluster: the passwords a stack config keeps in
//! Kubernetes Secrets (`secretRef`). The inputs themselves are model (`model::stack::inputs`);
//! reading Secrets needs a client, so it lives here.

use crate::base::error::Result;
use crate::model::profile::ProfileArgs;
use crate::model::settings::EnvLookup;
use crate::model::stack::config::SecretData;
use crate::model::stack::inputs::{Inputs, StackArgs};
use crate::model::target::{KubeSelection, Target};

/// Reads the passwords kept in Kubernetes Secrets (`secretRef`), each Secret once.
/// A missing Secret or key names the password and the fix.
pub async fn read_password_secrets(
    inputs: &mut Inputs,
    client: &kube::Client,
    env: &dyn EnvLookup,
) -> Result<()> {
    let mut data = SecretData::new();
    for (_, r) in inputs.config.passwords.secret_refs() {
        let id = (r.namespace.clone(), r.name.clone());
        if data.contains_key(&id) {
            continue;
        }
        if let Some(found) =
            crate::clients::kube::objects::secret_data(client, &r.namespace, &r.name)
                .await
                .map_err(|e| {
                    e.hint(format!(
                        "passwords come from {}; the current identity must be able to read it",
                        r.display()
                    ))
                })?
        {
            data.insert(id, found.into_iter().map(|(k, v)| (k, v.0)).collect());
        }
    }
    inputs.passwords = inputs.config.passwords.read_secrets(env, &data)?;
    Ok(())
}

/// As [`StackArgs::load_registered`], with the passwords kept in Kubernetes Secrets
/// (`secretRef`) read from the selected cluster, which is dialled only when some are.
pub async fn load_for_cluster(
    args: &StackArgs,
    env: &dyn EnvLookup,
    profile: &ProfileArgs,
    sel: &KubeSelection,
    user_agent: &str,
) -> Result<Inputs> {
    let mut inputs = args.load_registered(env, profile, sel, true)?;
    if inputs.needs_password_secrets() {
        let client = Target::resolve(sel, env)
            .map_err(|e| {
                e.hint("the stack config reads passwords from Kubernetes Secrets (secretRef), so this command needs the cluster")
            })?
            .client(user_agent)
            .await?;
        read_password_secrets(&mut inputs, &client, env).await?;
    }
    Ok(inputs)
}
