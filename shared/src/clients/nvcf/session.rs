//! One run's connection to NVCF: the profile, the effective settings, and the client built
//! from them.

use super::client::{Client, TlsOptions};
use super::credentials::{Credentials, TokenSource};
use super::endpoints::{Endpoints, Gateway};
use crate::base::error::{Error, Result};
use crate::base::plugin::Plugin;
use crate::base::secret::Secret;
use crate::model::profile::view::current;
use crate::model::profile::{Profile, ProfileArgs, State};
use crate::model::settings::{EnvLookup, Origin, Settings};
use crate::model::target::KubeSelection;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// How to reach the NVCF services; every flag also reads an environment variable.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ConnectArgs {
    /// One gateway address for every service, routed by Host header (needs --domain); setting gateway_url, NVCF_GATEWAY_URL
    #[arg(
        long,
        global = true,
        value_name = "URL",
        help_heading = "NVCF connection"
    )]
    pub gateway: Option<String>,
    /// The gateway's domain: services answer on api.DOMAIN, api-keys.DOMAIN, sis.DOMAIN, tasks.DOMAIN, …; setting domain, NVCF_DOMAIN
    #[arg(
        long,
        global = true,
        value_name = "DOMAIN",
        help_heading = "NVCF connection"
    )]
    pub domain: Option<String>,
    /// Extra CA certificates (PEM) to trust, for gateways with private certificates
    #[arg(
        long,
        global = true,
        env = "NVCF_CA_BUNDLE",
        value_name = "FILE",
        help_heading = "NVCF connection"
    )]
    pub ca_bundle: Option<PathBuf>,
    /// Do not verify the gateway's TLS certificate (lab use only)
    #[arg(long, global = true, help_heading = "NVCF connection")]
    pub insecure_skip_tls_verify: bool,
    /// Admin token to use for this run: never re-minted; `init --token` saves it in the profile
    #[arg(
        long,
        global = true,
        value_name = "JWT",
        help_heading = "NVCF connection"
    )]
    pub token: Option<String>,
    /// Seconds before an HTTP request to NVCF gives up
    #[arg(
        long,
        global = true,
        env = "NVCF_HTTP_TIMEOUT",
        default_value_t = 300,
        value_name = "SECONDS",
        help_heading = "NVCF connection"
    )]
    pub http_timeout: u64,
}

pub struct Session {
    pub profile: Profile,
    pub settings: Settings,
    pub client: Client,
    /// Where each endpoint came from, for `status`.
    pub gateway: Option<Gateway>,
}

impl Session {
    pub fn open(
        connect: &ConnectArgs,
        profile: &ProfileArgs,
        sel: &KubeSelection,
        env: &dyn EnvLookup,
        plugin: Plugin,
    ) -> Result<Session> {
        let profile = current(profile, sel, env)?;
        let config = profile.read_config()?;
        let mut flags = BTreeMap::new();
        for (key, value) in [
            ("token", &connect.token),
            ("gateway_url", &connect.gateway),
            ("domain", &connect.domain),
        ] {
            if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
                flags.insert(key.to_owned(), v.to_owned());
            }
        }
        let settings = Settings::resolve(&flags, env, &config.settings);
        let state = profile.read_state()?;
        let creds = credentials(&settings, &state);
        let gateway = gateway(&settings)?;
        let endpoints = match &gateway {
            Some(gw) => Endpoints::from_gateway(gw),
            None => Endpoints::from_settings(&settings)?,
        };
        let tls = TlsOptions {
            ca_bundle: connect.ca_bundle.clone(),
            insecure: connect.insecure_skip_tls_verify,
            no_tls: !endpoints.uses_tls(),
        };
        let saver = profile.clone();
        let client = Client::new(
            endpoints,
            creds,
            &tls,
            Duration::from_secs(connect.http_timeout.max(1)),
            &plugin.user_agent(),
        )?
        .on_mint(Box::new(move |m| {
            saver.update_state(|s| {
                s.token = Some(m.token.clone());
                s.token_expiration = m.expires_at.clone();
                Ok(())
            })
        }));
        Ok(Session {
            profile,
            settings,
            client,
            gateway,
        })
    }
}

impl Session {
    /// Where gRPC invocations go: `grpc_url` when it was set anywhere; behind a gateway,
    /// grpc-proxy's TCP listener (:10081, no Host routing) on the gateway's address.
    pub fn grpc_target(&self) -> String {
        let configured = self
            .settings
            .iter()
            .find(|(k, _)| *k == "grpc_url")
            .is_some_and(|(_, s)| s.origin != Origin::Default);
        match &self.gateway {
            Some(gw) if !configured => format!(
                "{}://{}:10081",
                gw.url.scheme(),
                gw.url.host_str().unwrap_or("localhost")
            ),
            _ => self.settings.get("grpc_url").to_owned(),
        }
    }
}

/// The gateway mode: `gateway_url` and `domain`, from flags, environment or the profile
/// (`kubectl nvcf profile set gateway_url URL`), so a site's gateway is configured once.
fn gateway(settings: &Settings) -> Result<Option<Gateway>> {
    let raw = settings.get("gateway_url");
    if raw.is_empty() {
        return Ok(None);
    }
    let url = url::Url::parse(raw).map_err(|e| {
        Error::usage(format!("gateway_url {raw:?} is not a URL: {e}")).hint(
            format!("pass the gateway's address, e.g. --gateway http://10.0.0.5, or fix it with `{nvcf_cmd0} gateway_url URL`", nvcf_cmd0 = crate::base::plugin::nvcf("profile set")),
        )
    })?;
    let domain = settings.get("domain");
    if domain.is_empty() {
        return Err(
            Error::usage("gateway_url needs a domain (the domain the gateway routes on)").hint(
                format!("pass --domain, e.g. --domain nvcf.example.com, set NVCF_DOMAIN, or `{nvcf_cmd0}.example.com`", nvcf_cmd0 = crate::base::plugin::nvcf("profile set domain nvcf")),
            ),
        );
    }
    Ok(Some(Gateway {
        url,
        domain: domain.to_owned(),
    }))
}

/// A setting wins over saved state; a token from settings is the user's (never re-minted).
fn credentials(settings: &Settings, state: &State) -> Credentials {
    let from_settings = |k: &str| {
        settings
            .iter()
            .find(|(name, s)| *name == k && !s.value.is_empty() && s.origin != Origin::Default)
            .map(|(_, s)| Secret::new(s.value.clone()))
    };
    let (token, token_source) = match (from_settings("token"), &state.token) {
        (Some(t), _) => (Some(t), TokenSource::Given),
        (None, Some(t)) if !t.is_empty() => (Some(t.clone()), TokenSource::State),
        _ => (None, TokenSource::None),
    };
    let saved = |s: &Option<Secret>| s.clone().filter(|v| !v.is_empty());
    Credentials {
        token,
        token_source,
        api_key: from_settings("api_key").or_else(|| saved(&state.api_key)),
        nvct_api_key: from_settings("nvct_api_key").or_else(|| saved(&state.nvct_api_key)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::settings::MapEnv;

    #[test]
    fn settings_tokens_are_given_state_tokens_are_ours() {
        let state = State {
            token: Some(Secret::new("eyJstate.token.value")),
            api_key: Some(Secret::new("nvapi-state-key-1")),
            ..State::default()
        };
        let none = Settings::resolve(&BTreeMap::new(), &MapEnv::default(), &BTreeMap::new());
        let c = credentials(&none, &state);
        assert_eq!(c.token_source, TokenSource::State);
        assert_eq!(c.api_key.unwrap().expose(), "nvapi-state-key-1");
        let env = MapEnv::new([("NVCF_TOKEN", "eyJenv.token.value")]);
        let s = Settings::resolve(&BTreeMap::new(), &env, &BTreeMap::new());
        let c = credentials(&s, &state);
        assert_eq!(c.token_source, TokenSource::Given);
        assert_eq!(c.token.unwrap().expose(), "eyJenv.token.value");
    }

    #[test]
    fn gateway_comes_from_flags_env_or_profile_and_needs_a_domain() {
        let flags = BTreeMap::from([("gateway_url".to_owned(), "http://10.0.0.1".to_owned())]);
        let none = MapEnv::new([]);
        let s = Settings::resolve(&flags, &none, &BTreeMap::new());
        assert!(gateway(&s).unwrap_err().message().contains("domain"));
        let env = MapEnv::new([("NVCF_DOMAIN", "nvcf.example.com")]);
        let s = Settings::resolve(&flags, &env, &BTreeMap::new());
        assert_eq!(gateway(&s).unwrap().unwrap().domain, "nvcf.example.com");
        let profile = BTreeMap::from([
            (
                "gateway_url".to_owned(),
                "https://gw.example.com".to_owned(),
            ),
            ("domain".to_owned(), "example.com".to_owned()),
        ]);
        let s = Settings::resolve(&BTreeMap::new(), &none, &profile);
        let gw = gateway(&s).unwrap().unwrap();
        assert_eq!(gw.url.as_str(), "https://gw.example.com/");
        assert_eq!(gw.domain, "example.com");
        let s = Settings::resolve(&BTreeMap::new(), &none, &BTreeMap::new());
        assert!(gateway(&s).unwrap().is_none());
    }
}
