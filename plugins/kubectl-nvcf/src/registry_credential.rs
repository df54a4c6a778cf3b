//! `registry-credential`: credentials NVCF uses to pull images, charts, models and resources.

use crate::api::Api;
use clap::Subcommand;
use nvcf_shared::base::confirm::confirm;
use nvcf_shared::base::output::OutputArgs;
use nvcf_shared::base::secret::Secret;
use nvcf_shared::clients::nvcf::input::refuse_placeholders;
use nvcf_shared::clients::nvcf::registry::{Registries, RegistryCredential};
use nvcf_shared::clients::nvcf::view::View;
use nvcf_shared::{Error, Result};
use serde_json::{Value, json};

const ARTIFACT_TYPES: &[&str] = &["CONTAINER", "HELM", "MODEL", "RESOURCE"];

#[derive(Subcommand, Debug)]
pub enum RegistryCommand {
    /// List registry credentials
    List {
        /// CONTAINER, HELM, MODEL or RESOURCE (comma-separated)
        #[arg(long, value_delimiter = ',')]
        artifact_type: Vec<String>,
        /// SYSTEM or USER (comma-separated)
        #[arg(long, value_delimiter = ',')]
        provisioned_by: Vec<String>,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Add a credential for a registry host
    Add {
        /// Registry hostname, e.g. nvcr.io
        #[arg(long)]
        hostname: String,
        #[arg(long)]
        username: Option<String>,
        /// Password or token (prefer --password-stdin: flags show in `ps`)
        #[arg(long)]
        password: Option<String>,
        /// Read the password from stdin
        #[arg(long, conflicts_with = "password")]
        password_stdin: bool,
        /// `username:password` in one value, instead of --username/--password
        #[arg(long)]
        secret: Option<String>,
        /// CONTAINER, HELM, MODEL or RESOURCE (comma-separated, required)
        #[arg(long, value_delimiter = ',', required = true)]
        artifact_type: Vec<String>,
        #[arg(long)]
        description: Option<String>,
        /// Tags, comma-separated
        #[arg(long = "tag", value_delimiter = ',')]
        tags: Vec<String>,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Show one credential
    Get {
        id: String,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Replace the secret and/or add artifact types
    Update {
        id: String,
        #[arg(long)]
        username: Option<String>,
        #[arg(long)]
        password: Option<String>,
        #[arg(long, conflicts_with = "password")]
        password_stdin: bool,
        /// Artifact types to add (comma-separated)
        #[arg(long, value_delimiter = ',')]
        artifact_type: Vec<String>,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Delete a credential (asks unless --yes)
    Delete {
        id: String,
        /// Confirm without asking
        #[arg(short = 'y', long, alias = "force")]
        yes: bool,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Registries NVCF recognises
    ListRecognized(OutputArgs),
}

fn artifact_types(raw: &[String]) -> Result<Vec<String>> {
    raw.iter()
        .map(|t| {
            let up = t.trim().to_ascii_uppercase();
            if ARTIFACT_TYPES.contains(&up.as_str()) {
                Ok(up)
            } else {
                Err(
                    Error::usage(format!("--artifact-type {t:?} is not an artifact type"))
                        .hint(format!("use {}", ARTIFACT_TYPES.join(", "))),
                )
            }
        })
        .collect()
}

fn password(given: Option<String>, from_stdin: bool) -> Result<Option<String>> {
    if !from_stdin {
        return Ok(given);
    }
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    Ok(Some(line.trim_end_matches(['\r', '\n']).to_owned()))
}

/// `username:password`, the form the API takes (contracts/endpoints.md §3.4; upstream's CLI
/// base64-encodes it, which the server's `username:password` check refuses).
fn encoded_secret(user: Option<String>, pass: Option<String>) -> Result<Option<Secret>> {
    match (user, pass) {
        (Some(u), Some(p)) => {
            nvcf_shared::base::secret::register(&p);
            Ok(Some(Secret::new(format!("{u}:{p}"))))
        }
        (None, None) => Ok(None),
        _ => Err(Error::usage("--username and --password go together")
            .hint("pass both (or --password-stdin)")),
    }
}

fn rows(list: &[RegistryCredential]) -> Vec<Vec<String>> {
    list.iter()
        .map(|c| {
            vec![
                c.registry_credential_id.clone(),
                c.registry_hostname.clone(),
                c.artifact_types.join(","),
                c.provisioned_by.clone().unwrap_or_default(),
            ]
        })
        .collect()
}

fn view(data: Value, list: &[RegistryCredential], empty: &str) -> View {
    View::new(data)
        .columns(
            &["id", "hostname", "artifact types", "provisioned by"],
            rows(list),
            empty,
        )
        .names(
            list.iter()
                .map(|c| format!("registry-credential/{}", c.registry_credential_id))
                .collect(),
        )
}

pub async fn run(api: &Api<'_>, cmd: RegistryCommand) -> Result<()> {
    let session = api.session()?;
    let reg = Registries {
        client: &session.client,
    };
    match cmd {
        RegistryCommand::List {
            artifact_type,
            provisioned_by,
            output,
        } => {
            let types = artifact_types(&artifact_type)?;
            let by: Vec<String> = provisioned_by
                .iter()
                .map(|p| p.to_ascii_uppercase())
                .collect();
            let list = reg.list(&types, &by).await?;
            api.print(
                &view(
                    json!({"registryCredentials": list}),
                    &list,
                    "No registry credentials.",
                ),
                output.output,
            )
        }
        RegistryCommand::Add {
            hostname,
            username,
            password: pass,
            password_stdin,
            secret,
            artifact_type,
            description,
            tags,
            output,
        } => {
            let pass = password(pass, password_stdin)?;
            let value = match (secret, encoded_secret(username, pass)?) {
                (Some(s), None) => Secret::new(s),
                (None, Some(s)) => s,
                _ => {
                    return Err(
                        Error::usage("give either --secret or --username with --password")
                            .hint("--secret is the base64 of username:password"),
                    );
                }
            };
            let mut body = json!({
                "registryHostname": hostname,
                "secret": {"name": "credentials", "value": value.expose()},
                "artifactTypes": artifact_types(&artifact_type)?,
            });
            if let Some(d) = description {
                body["description"] = json!(d);
            }
            if !tags.is_empty() {
                body["tags"] = json!(tags);
            }
            refuse_placeholders(&body, &["secret"])?;
            api.note(&format!(
                "Plan: add a registry credential for {hostname} ({})",
                artifact_type.join(",").to_ascii_uppercase()
            ));
            let c = reg.add(&body).await?;
            let list = [c.clone()];
            api.print(&view(json!(c), &list, ""), output.output)
        }
        RegistryCommand::Get { id, output } => {
            let c = reg.get(&id).await?;
            let list = [c.clone()];
            api.print(&view(json!(c), &list, ""), output.output)
        }
        RegistryCommand::Update {
            id,
            username,
            password: pass,
            password_stdin,
            artifact_type,
            output,
        } => {
            let pass = password(pass, password_stdin)?;
            let mut body = serde_json::Map::new();
            if let Some(s) = encoded_secret(username, pass)? {
                body.insert(
                    "secret".into(),
                    json!({"name": "credentials", "value": s.expose()}),
                );
            }
            if !artifact_type.is_empty() {
                body.insert(
                    "artifactTypeEnums".into(),
                    json!(artifact_types(&artifact_type)?),
                );
            }
            if body.is_empty() {
                return Err(Error::usage("nothing to update")
                    .hint("pass --username with --password, or --artifact-type"));
            }
            let c = reg.update(&id, &Value::Object(body)).await?;
            let list = [c.clone()];
            api.print(&view(json!(c), &list, ""), output.output)
        }
        RegistryCommand::Delete { id, yes, output } => {
            let host = if yes {
                String::new()
            } else {
                format!(" for {}", reg.get(&id).await?.registry_hostname)
            };
            confirm(
                &format!("delete registry credential {id}{host}"),
                yes,
                &api.ctx.env,
            )?;
            reg.delete(&id).await?;
            let v = View::new(json!({"status": "deleted", "registryCredentialId": id}))
                .text(format!("registry credential {id} deleted"))
                .names(vec![format!("registry-credential/{id}")]);
            api.print(&v, output.output)
        }
        RegistryCommand::ListRecognized(output) => {
            let v = reg.recognized().await?;
            let mut rows = Vec::new();
            if let Some(map) = v["recognizedRegistries"].as_object() {
                for (kind, list) in map {
                    for r in list.as_array().into_iter().flatten() {
                        let desc = r
                            .as_object()
                            .map(|o| {
                                o.iter()
                                    .map(|(k, v)| {
                                        format!(
                                            "{k}={}",
                                            v.as_str().map_or(v.to_string(), str::to_owned)
                                        )
                                    })
                                    .collect::<Vec<_>>()
                                    .join(" ")
                            })
                            .unwrap_or_else(|| r.to_string());
                        rows.push(vec![kind.clone(), desc]);
                    }
                }
            }
            api.print(
                &View::new(&v).columns(
                    &["artifact type", "registry"],
                    rows,
                    "No recognised registries.",
                ),
                output.output,
            )
        }
    }
}
