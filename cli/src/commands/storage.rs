//! `camctl storage info|retention|cleanup`.

use camera_sdk::Client;

use super::cameras::to_value;
use crate::args::{PolicyType, StorageCmd};
use crate::exit::CliError;
use crate::output::Output;
use crate::render;

pub async fn run(client: &Client, cmd: StorageCmd, out: Output) -> Result<(), CliError> {
    match cmd {
        StorageCmd::Info => {
            let r = client.get_storage_info().await?;
            out.emit(&r, |r| {
                format!(
                    "{}\nused {} of {} ({:.1}%), {} free",
                    render::fields(out.style, &to_value(r)),
                    render::bytes(r.used_space),
                    render::bytes(r.total_space),
                    r.usage_percentage,
                    render::bytes(r.available_space)
                )
            })
        }
        StorageCmd::Retention(a) => {
            let r = client
                .set_retention_policy(
                    policy_name(a.policy_type).to_owned(),
                    a.enabled,
                    a.max_age_days,
                    a.max_size_gb,
                    a.min_free_percent,
                )
                .await?;
            out.emit(&r, |r| render::fields(out.style, &to_value(r)))
        }
        StorageCmd::Cleanup(a) => {
            let r = client.cleanup_old_files(Some(a.force), Some(a.dry_run)).await?;
            out.emit(&r, |r| render::fields(out.style, &to_value(r)))
        }
    }
}

/// The wire name of a policy type.
pub fn policy_name(p: PolicyType) -> &'static str {
    match p {
        PolicyType::Age => "age",
        PolicyType::Size => "size",
        PolicyType::AgeAndSize => "age_and_size",
        PolicyType::Manual => "manual",
    }
}
