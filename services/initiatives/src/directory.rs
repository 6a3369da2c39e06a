//! The organisation directory: asks the membership service whether the
//! organisations an initiative names exist. The only module besides `api/`
//! that sees generated types (it is a gRPC client).

use std::collections::HashSet;
use std::time::Duration;

use innolab_kit::balance::{Channel, Options};
use innolab_kit::{Error, Violations};
use innolab_proto::innolab::membership::v1::GetOrganizationRequest;
use innolab_proto::innolab::membership::v1::membership_service_client::MembershipServiceClient;
use tonic::Code;

/// How long one lookup may take.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);
/// Lookups of one request asked of membership at once.
const LOOKUPS_IN_FLIGHT: usize = 16;

/// A client of the membership service.
#[derive(Debug, Clone)]
pub struct Directory {
    client: MembershipServiceClient<Channel>,
}

impl Directory {
    /// A client of the membership service at `url` (one URL or several,
    /// comma-separated), balanced over every endpoint they resolve to.
    pub fn new(url: &str) -> anyhow::Result<Directory> {
        let options = Options {
            connect_timeout: Duration::from_secs(2),
            ..Options::default()
        };
        let channel = Channel::lazy(url, options)
            .map_err(|e| anyhow::anyhow!("INNOLAB_MEMBERSHIP_URL: {e}"))?;
        Ok(Directory {
            client: MembershipServiceClient::new(channel),
        })
    }

    /// INVALID_ARGUMENT naming each `(field, organization)` that does not
    /// exist; UNAVAILABLE when membership cannot answer. Names in `known`
    /// were checked before and are skipped; names found are added to it.
    pub async fn require(
        &self,
        references: &[(String, String)],
        known: &mut HashSet<String>,
    ) -> Result<(), Error> {
        use futures_util::StreamExt as _;
        // Each name once, asked concurrently (up to 16 at a time): an
        // initiative with 100 partners costs a few round trips, not 100.
        let mut unknown: Vec<String> = Vec::new();
        let mut asked = HashSet::new();
        for (_, name) in references {
            if !known.contains(name) && asked.insert(name.as_str()) {
                unknown.push(name.clone());
            }
        }
        let answers: Vec<(String, Result<bool, Error>)> = futures_util::stream::iter(unknown)
            .map(|name| {
                let directory = self.clone();
                async move {
                    let found = directory.exists(&name).await;
                    (name, found)
                }
            })
            .buffered(LOOKUPS_IN_FLIGHT)
            .collect()
            .await;
        let mut missing = HashSet::new();
        for (name, answer) in answers {
            if answer? {
                known.insert(name);
            } else {
                missing.insert(name);
            }
        }
        let mut v = Violations::new();
        for (field, name) in references {
            if missing.contains(name.as_str()) {
                v.add(field.clone(), format!("{name} does not exist"));
            }
        }
        v.finish()
    }

    async fn exists(&self, name: &str) -> Result<bool, Error> {
        // The trace context goes with the channel's CLIENT span.
        let request = tonic::Request::new(GetOrganizationRequest {
            name: name.to_string(),
        });
        let answer = tokio::time::timeout(LOOKUP_TIMEOUT, async {
            self.client.clone().get_organization(request).await
        })
        .await
        .unwrap_or_else(|_| Err(tonic::Status::deadline_exceeded("no answer in time")));
        match answer {
            Ok(_) => Ok(true),
            Err(status) if matches!(status.code(), Code::NotFound | Code::InvalidArgument) => {
                Ok(false)
            }
            // Anything else is the dependency failing, not the caller: retry later.
            Err(status) => Err(Error::Unavailable(format!(
                "the membership service did not answer whether {name} exists: {}",
                status.message()
            ))),
        }
    }
}
