//! `camctl events watch [--topic T]… [--device D] [--count N]`: subscribe and print notifications as they
//! arrive until Ctrl-C (exit 0) or `--count` events. Topic prefixes (`recording`) expand to the canonical
//! topics under them. Reconnects are reported on stderr; events sent while disconnected are lost.

use camera_sdk::api::topics::{LEGACY_TOPICS, TOPICS, canonical_topic};
use camera_sdk::{Client, ConnectionState};

use crate::args::{EventsCmd, WatchArgs};
use crate::exit::CliError;
use crate::output::Output;
use crate::render;

pub async fn run(client: &Client, cmd: EventsCmd, out: Output) -> Result<(), CliError> {
    match cmd {
        EventsCmd::Watch(a) => watch(client, a, out).await,
    }
}

/// The topics to subscribe to: every canonical topic when none is given; exact names (and aliases) as
/// named; a prefix expands to the topics under it; anything else is passed on for the server to judge.
pub fn expand_topics(requested: &[String]) -> Vec<String> {
    if requested.is_empty() {
        return TOPICS.iter().map(|t| (*t).to_owned()).collect();
    }
    let mut topics: Vec<String> = Vec::new();
    for r in requested {
        let expanded: Vec<String> = match canonical_topic(r) {
            Some(t) => vec![t.to_owned()],
            None => {
                let prefix = format!("{}.", r.trim_end_matches('.'));
                let under: Vec<String> = TOPICS
                    .iter()
                    .chain(LEGACY_TOPICS)
                    .filter(|t| t.starts_with(&prefix))
                    .map(|t| (*t).to_owned())
                    .collect();
                if under.is_empty() { vec![r.clone()] } else { under }
            }
        };
        for t in expanded {
            if !topics.contains(&t) {
                topics.push(t);
            }
        }
    }
    topics
}

async fn watch(client: &Client, a: WatchArgs, out: Output) -> Result<(), CliError> {
    let topics = expand_topics(&a.topics);
    let names: Vec<&str> = topics.iter().map(String::as_str).collect();
    let mut events = client.subscribe(&names, a.device.as_deref()).await?;
    out.note(&format!("watching {} (Ctrl-C to stop)", topics.join(", ")));
    let mut states = client.state_changes();
    let mut seen: u64 = 0;
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        if a.count.is_some_and(|n| seen >= n) {
            return Ok(());
        }
        tokio::select! {
            event = events.next() => {
                let Some(event) = event else {
                    return Err(CliError::Sdk(camera_sdk::SdkError::Closed(None)));
                };
                seen += 1;
                let notification = serde_json::json!({"method": event.method, "params": event.params});
                out.emit(&notification, |_| render::event_line(&event))?;
            }
            state = states.changed() => match state {
                Some(ConnectionState::Reconnecting { attempt, error }) => {
                    out.note(&format!("connection lost ({error}); reconnecting (attempt {attempt})"));
                }
                Some(ConnectionState::Connected { .. }) => out.note("reconnected; events sent meanwhile are lost"),
                Some(ConnectionState::Closed { reason }) => {
                    return Err(CliError::Sdk(camera_sdk::SdkError::Closed(Some(reason))));
                }
                Some(_) => {}
                None => return Err(CliError::Sdk(camera_sdk::SdkError::Closed(None))),
            },
            _ = &mut ctrl_c => return Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|t| (*t).to_owned()).collect()
    }

    #[test]
    fn topics_expand_from_prefixes_and_aliases() {
        assert_eq!(expand_topics(&[]).len(), TOPICS.len());
        let rec = expand_topics(&s(&["recording"]));
        assert!(rec.contains(&"recording.stop".to_owned()) && rec.contains(&"recording.progress".to_owned()));
        assert!(rec.iter().all(|t| t.starts_with("recording.")));
        assert_eq!(
            expand_topics(&s(&["recording.stopped", "recording.stop"])),
            s(&["recording.stop"])
        );
        assert_eq!(
            expand_topics(&s(&["camera_status_update"])),
            s(&["camera_status_update"])
        );
        assert_eq!(expand_topics(&s(&["bogus"])), s(&["bogus"]));
    }
}
