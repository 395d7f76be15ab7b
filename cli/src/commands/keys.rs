//! `camctl keys create|list|revoke|rotate` and `camctl token`.

use camera_sdk::Client;

use super::cameras::to_value;
use super::role;
use crate::args::{KeysCmd, TokenArgs};
use crate::exit::CliError;
use crate::output::Output;
use crate::render;

pub async fn run(client: &Client, cmd: KeysCmd, out: Output) -> Result<(), CliError> {
    match cmd {
        KeysCmd::Create(a) => {
            let r = client
                .create_api_key(role(a.role), a.description, a.expires_in_days)
                .await?;
            out.emit(&r, |r| render::fields(out.style, &to_value(r)))
        }
        KeysCmd::List(a) => {
            let r = client.list_api_keys(Some(a.include_revoked), a.limit, a.offset).await?;
            out.emit(&r, |r| render::keys(out.style, r))
        }
        KeysCmd::Revoke(a) => {
            let r = client.revoke_api_key(a.key_id).await?;
            out.emit(&r, |r| {
                format!(
                    "{} revoked at {} ({} sessions closed)",
                    r.key_id, r.revoked_at, r.sessions_closed
                )
            })
        }
        KeysCmd::Rotate(a) => {
            let r = client
                .rotate_api_key(a.key_id, a.expires_in_days, a.grace_seconds)
                .await?;
            out.emit(&r, |r| render::fields(out.style, &to_value(r)))
        }
    }
}

/// `camctl token`: prints the JWT alone (for `$(camctl token)`), or the whole result with `--json`.
pub async fn token(client: &Client, a: TokenArgs, out: Output) -> Result<(), CliError> {
    let r = client.issue_token(a.ttl, a.role.map(role)).await?;
    out.emit(&r, |r| r.token.clone())
}
