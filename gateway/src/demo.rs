//! The demo dataset (`innolab --demo`): a few records drawn from the seed
//! documents, loaded through the gateway with real calls, so a newcomer's
//! first call returns something real. Steps are JSON requests; `${id}` refers
//! to the resource name an earlier step created. Creates carry fixed request
//! ids, and transitions that were already made are skipped, so loading twice
//! is harmless.

use std::collections::BTreeMap;

use serde::Deserialize;
use tonic::Code;
use tonic::transport::Channel;

/// The dataset, compiled into the binary (nothing reads outside the project).
pub const DATASET: &str = include_str!("../demo/dataset.json");

#[derive(Deserialize)]
struct Dataset {
    steps: Vec<Step>,
}

#[derive(Deserialize)]
struct Step {
    id: Option<String>,
    call: String,
    body: serde_json::Value,
}

/// Loads the dataset through `gateway`; returns how many steps it applied.
pub async fn load(gateway: Channel) -> anyhow::Result<usize> {
    let dataset: Dataset = serde_json::from_str(DATASET)?;
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    let mut applied = 0;
    for step in dataset.steps {
        let mut body = step.body.to_string();
        for (id, name) in &names {
            body = body.replace(&format!("${{{id}}}"), name);
        }
        let path = format!("/{}", step.call);
        match crate::json::invoke(
            gateway.clone(),
            &path,
            body.as_bytes(),
            &http::HeaderMap::new(),
        )
        .await
        {
            Ok(answer) => {
                applied += 1;
                if let Some(id) = step.id {
                    let answer: serde_json::Value = serde_json::from_slice(&answer)?;
                    let name = answer["name"]
                        .as_str()
                        .ok_or_else(|| anyhow::anyhow!("{}: no name in the answer", step.call))?;
                    names.insert(id, name.to_string());
                }
            }
            // A transition made by an earlier load.
            Err(status) if step.id.is_none() && status.code() == Code::FailedPrecondition => {}
            Err(status) => anyhow::bail!("demo step {}: {}", step.call, status.message()),
        }
    }
    Ok(applied)
}
