//! MEK status, rotation and restore (runbooks.md §4): read, plan, back up (0600), write
//! with check-and-set, verify by reading back.

use super::stored::{self, Kid, MOUNT, PATH, StoredData, kid_of};
use crate::base::error::{Category, Error, Result};
use crate::base::output::{Report, column_table, key_value_table};
use crate::base::plan::{Plan, StepState};
use crate::clients::openbao::{KvEntry, OpenBao};
use serde::Serialize;
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use time::OffsetDateTime;

/// Why the key order is what it is: printed in `rotate-mek --help` and in its notes.
pub const ORDER_NOTE: &str = "the new key goes first: ESS's vault-agent template makes keys[0] the current masterKey and current_kid names it (the runbook agrees); ESS's getValidMek prefers the key listed before the current one, so the 48h grace may not hold for encryption: restart every ESS pod promptly after the write (or run one replica)";

async fn read(bao: &OpenBao) -> Result<(KvEntry, StoredData)> {
    let entry = bao.kv_get(MOUNT, PATH).await?.ok_or_else(|| {
        Error::new(Category::NotFound, format!("OpenBao has no {MOUNT}/{PATH}"))
            .hint("the openbao-server migrations Job creates it on install: kubectl get jobs -n vault-system")
    })?;
    let data = StoredData::parse(&entry.data)?;
    stored::register_secrets(&data);
    Ok((entry, data))
}

/// One key of `keys status`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyRow {
    pub kid: String,
    pub current: bool,
    pub uuid_version: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub age_seconds: Option<i64>,
}

/// `keys status`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyStatus {
    pub path: String,
    pub kv_version: u64,
    pub current_kid: String,
    pub count: usize,
    pub keys: Vec<KeyRow>,
    pub problems: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nek: Option<super::nek::NekPlan>,
}

pub fn age_text(seconds: i64) -> String {
    let (d, h, m) = (
        seconds / 86_400,
        seconds % 86_400 / 3600,
        seconds % 3600 / 60,
    );
    match (d, h) {
        (0, 0) => format!("{m}m"),
        (0, _) => format!("{h}h{m}m"),
        _ => format!("{d}d{h}h"),
    }
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

pub async fn status(bao: &OpenBao) -> Result<KeyStatus> {
    let (entry, data) = read(bao).await?;
    let now = OffsetDateTime::now_utc();
    let keys = data
        .keys
        .iter()
        .map(|k| {
            let kid = Kid::parse(kid_of(k));
            KeyRow {
                current: kid.kid == data.current_kid(),
                uuid_version: kid.version,
                created: kid.created.map(rfc3339),
                age_seconds: kid.created.map(|c| (now - c).whole_seconds()),
                kid: kid.kid,
            }
        })
        .collect();
    Ok(KeyStatus {
        path: format!("{MOUNT}/{PATH}"),
        kv_version: entry.version,
        current_kid: data.current_kid().to_owned(),
        count: data.keys.len(),
        keys,
        problems: data.problems(),
        nek: None,
    })
}

impl Report for KeyStatus {
    fn table(&self, _wide: bool) -> String {
        let mut out = key_value_table(&[
            ("PATH", self.path.clone()),
            ("KV VERSION", self.kv_version.to_string()),
            ("CURRENT KID", self.current_kid.clone()),
            ("KEYS", self.count.to_string()),
        ]);
        out.push('\n');
        let rows = self
            .keys
            .iter()
            .enumerate()
            .map(|(i, k)| {
                vec![
                    i.to_string(),
                    k.kid.clone(),
                    if k.current { "yes" } else { "" }.into(),
                    format!("v{}", k.uuid_version),
                    k.created.clone().unwrap_or_else(|| "-".into()),
                    k.age_seconds.map(age_text).unwrap_or_else(|| "-".into()),
                ]
            })
            .collect();
        out.push_str(&column_table(
            &["#", "KID", "CURRENT", "UUID", "CREATED", "AGE"],
            rows,
        ));
        for p in &self.problems {
            out.push_str(&format!("problem: {p}\n"));
        }
        if let Some(nek) = &self.nek {
            out.push('\n');
            out.push_str(&nek.table(false));
        }
        out
    }

    fn names(&self) -> Vec<String> {
        self.keys.iter().map(|k| format!("kid/{}", k.kid)).collect()
    }
}

/// Writes `entry` as `bao kv get -format=json` prints it, so the runbook's rollback
/// (`d['data']['data'][field]`) works on our backups too. Readable by the owner only, and
/// never over an existing file.
pub fn write_backup(path: &Path, entry: &KvEntry) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let doc = serde_json::json!({
        "request_id": "",
        "lease_id": "",
        "lease_duration": 0,
        "renewable": false,
        "data": {"data": entry.data, "metadata": entry.metadata},
        "warnings": null,
    });
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| {
            Error::io(format!("cannot create the backup {}: {e}", path.display()))
                .hint("pass --backup with a new file in a writable directory")
        })?;
    let text = serde_json::to_string_pretty(&doc).map_err(|e| Error::internal(e.to_string()))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| Error::io(format!("cannot write the backup {}: {e}", path.display())))
}

/// The data fields a backup file holds.
pub fn read_backup(path: &Path) -> Result<StoredData> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::invalid_input(format!("cannot read --from {}: {e}", path.display()))
            .hint("pass a backup written by rotate-mek (or `bao kv get -format=json`)")
    })?;
    let doc: Value = serde_json::from_str(&text).map_err(|e| {
        Error::invalid_input(format!("--from {} is not JSON: {e}", path.display()))
            .hint("pass a backup written by rotate-mek (or `bao kv get -format=json`)")
    })?;
    let data = doc.pointer("/data/data").ok_or_else(|| {
        Error::invalid_input(format!("--from {} has no data.data", path.display()))
            .hint("a backup is `bao kv get -format=json` output: its fields sit at .data.data")
    })?;
    let parsed = StoredData::parse(data)?;
    stored::register_secrets(&parsed);
    Ok(parsed)
}

pub fn default_backup_path(what: &str) -> PathBuf {
    let now = OffsetDateTime::now_utc();
    PathBuf::from(format!(
        "{what}-backup-{:04}{:02}{:02}T{:02}{:02}{:02}Z.json",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    ))
}

/// `keys rotate-mek`.
pub async fn rotate(bao: &OpenBao, backup: &Path, plan_only: bool) -> Result<Plan> {
    let (entry, before) = read(bao).await?;
    let old_kids: Vec<String> = before.kids().into_iter().map(str::to_owned).collect();
    let mut report = Plan::new(
        format!(
            "rotate the MEK at {MOUNT}/{PATH} (version {}, current kid {})",
            entry.version,
            before.current_kid()
        ),
        plan_only,
    );
    report.push(
        "read the current key set",
        StepState::Done,
        format!(
            "{} key(s), current {}",
            old_kids.len(),
            before.current_kid()
        ),
    );
    for p in before.problems() {
        report.note(format!("before the rotation: {p}"));
    }
    if !plan_only {
        write_backup(backup, &entry)?;
    }
    report.step(
        format!("back up to {}", backup.display()),
        "0600, `bao kv get -format=json` shape",
    );
    let new = if plan_only {
        None
    } else {
        Some(stored::new_jwk()?)
    };
    let new_kid = new.as_ref().map(|k| kid_of(k).to_owned());
    report.step(
        "generate the new MEK",
        match &new_kid {
            Some(k) => format!("kid {k} (UUID v1, made now), 32 random bytes"),
            None => {
                "a UUID v1 kid made at write time (the 48h grace counts from it), 32 random bytes"
                    .into()
            }
        },
    );
    let shown_kid = new_kid.clone().unwrap_or_else(|| "<new kid>".into());
    report.step(
        format!("write version {} with cas={}", entry.version + 1, entry.version),
        format!(
            "keys=[{shown_kid}, {}], current_kid and jwe_mapping.payload_jwe_kid={shown_kid}, private_jwks=keys",
            old_kids.join(", ")
        ),
    );
    report.note(ORDER_NOTE);
    let Some(new) = new else {
        report.step(
            "verify by reading back",
            "current_kid, key order, every old key kept",
        );
        return Ok(report);
    };
    let after = before.rotated(new);
    let version = bao
        .kv_put(MOUNT, PATH, &after.to_value(), entry.version)
        .await?;
    let (check_entry, check) = read(bao).await?;
    verify_rotation(&check, &after, &old_kids).map_err(|e| {
        e.hint(format!(
            "restore the previous state: {nvcf_cmd0} --from {}",
            backup.display(),
            nvcf_cmd0 = crate::base::plugin::nvcf("keys restore")
        ))
    })?;
    report.push(
        "verify by reading back",
        StepState::Verified,
        format!(
            "version {} (written {version}): current_kid {}, {} keys, old keys kept in order",
            check_entry.version,
            check.current_kid(),
            check.keys.len()
        ),
    );
    report.note(format!("ESS loads the new key on its next refresh (agent ~24h, property poll 600s); confirm each ESS pod reports rotation_mek_delta{{kid=\"NEW_KID\"}} on :9464/metrics, or restart ESS: {nvcf_cmd0}", nvcf_cmd0 = crate::base::plugin::nvcf("ops restart ess-api")));
    report.note(format!(
        "to undo: {nvcf_cmd0} --from {}",
        backup.display(),
        nvcf_cmd0 = crate::base::plugin::nvcf("keys restore")
    ));
    Ok(report)
}

fn verify_rotation(got: &StoredData, want: &StoredData, old_kids: &[String]) -> Result<()> {
    let mismatch = |what: String| {
        Err(Error::new(
            Category::ClusterState,
            format!("the write did not stick: {what}"),
        ))
    };
    if got.current_kid() != want.current_kid() {
        return mismatch(format!(
            "current_kid reads {} instead of {}",
            got.current_kid(),
            want.current_kid()
        ));
    }
    let kids = got.kids();
    if kids.first().copied() != Some(want.current_kid())
        || kids[1..] != old_kids.iter().map(String::as_str).collect::<Vec<_>>()[..]
    {
        return mismatch(format!("the key order reads {kids:?}"));
    }
    if got.keys != want.keys || got.fields.get("private_jwks") != got.fields.get("keys") {
        return mismatch("the stored key material differs from what was written".into());
    }
    if got.jwe_kid().as_deref() != Some(want.current_kid()) {
        return mismatch("jwe_mapping does not name the new kid".into());
    }
    Ok(())
}

/// `keys restore --from FILE`: puts a backup's fields back (runbooks.md §4.7), after backing
/// up what is there now.
pub async fn restore(bao: &OpenBao, from: &Path, backup: &Path, plan_only: bool) -> Result<Plan> {
    let wanted = read_backup(from)?;
    let (entry, now) = read(bao).await?;
    let mut report = Plan::new(
        format!(
            "restore {MOUNT}/{PATH} from {} (current kid {} -> {})",
            from.display(),
            now.current_kid(),
            wanted.current_kid()
        ),
        plan_only,
    );
    report.push(
        "read the backup and the current key set",
        StepState::Done,
        format!(
            "backup: {} key(s); now: {} key(s), version {}",
            wanted.keys.len(),
            now.keys.len(),
            entry.version
        ),
    );
    for p in wanted.problems() {
        report.note(format!("the backup itself: {p}"));
    }
    let dropped: Vec<&str> = now
        .kids()
        .into_iter()
        .filter(|k| !wanted.kids().contains(k))
        .collect();
    if !dropped.is_empty() {
        report.note(format!(
            "restoring drops key(s) {}: anything ESS wrapped with them since the backup can no longer be decrypted; the pre-restore backup keeps them",
            dropped.join(", ")
        ));
    }
    if !plan_only {
        write_backup(backup, &entry)?;
    }
    report.step(
        format!("back up the current state to {}", backup.display()),
        "0600",
    );
    if !plan_only {
        bao.kv_put(MOUNT, PATH, &wanted.to_value(), entry.version)
            .await?;
    }
    report.step(
        format!(
            "write version {} with cas={}",
            entry.version + 1,
            entry.version
        ),
        format!("the backup's fields, current_kid {}", wanted.current_kid()),
    );
    if plan_only {
        report.step("verify by reading back", "every field equals the backup");
        return Ok(report);
    }
    let (check_entry, check) = read(bao).await?;
    if check.fields != wanted.fields {
        return Err(Error::new(
            Category::ClusterState,
            "the restore did not stick: the stored fields differ from the backup",
        )
        .hint(format!(
            "inspect with {nvcf_cmd0}; the state before the restore is in {}",
            backup.display(),
            nvcf_cmd0 = crate::base::plugin::nvcf("keys status")
        )));
    }
    report.push(
        "verify by reading back",
        StepState::Verified,
        format!(
            "version {}: equals the backup, current_kid {}",
            check_entry.version,
            check.current_kid()
        ),
    );
    report.note(format!(
        "restart ESS so every pod loads the restored keys: {nvcf_cmd0}",
        nvcf_cmd0 = crate::base::plugin::nvcf("ops restart ess-api")
    ));
    Ok(report)
}
