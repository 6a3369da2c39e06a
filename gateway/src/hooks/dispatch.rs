//! Delivery: one task per active subscription reads the merged feed from
//! the subscription's stored cursor and sends each matching change, one at
//! a time, retrying the same change until it is accepted (so changes
//! arrive in feed order, hence in order per resource) or the subscription
//! is disabled. The cursor, the failure and the next attempt's time are
//! stored after every step, so a restarted gateway carries on where the
//! last one was (a change whose answer was lost is sent again: at least
//! once, `webhook-id` for deduplication). One gateway replica dispatches at
//! a time: the holder of the `dispatch` lease in the subscriptions'
//! database, renewed every poll and taken over once expired.

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;
use innolab_kit::balance::Channel;
use innolab_kit::db::now_micros;
use innolab_kit::error::Error;
use innolab_proto::innolab::gateway::v1 as pb;
use innolab_proto::innolab::initiatives::v1 as ini;
use tokio::task::JoinSet;
use tokio_stream::StreamExt as _;

use super::client::Client;
use super::{Delivery, Hooks, State, Subscription};
use crate::feed::Feed;

/// Runs the dispatcher until dropped (it is part of the gateway's
/// background work, which stops at shutdown).
pub async fn run(hooks: Hooks, feed: Feed, initiatives: Option<Channel>) {
    let client = match Client::new(&hooks.settings) {
        Ok(client) => client,
        Err(e) => {
            tracing::error!("webhooks: no HTTPS client ({e}); nothing is delivered");
            return;
        }
    };
    let holder = uuid::Uuid::now_v7().to_string();
    let poll = hooks.settings.poll;
    let lease = micros(poll * 3).max(1_000_000);
    let mut tasks: JoinSet<()> = JoinSet::new();
    let mut running: HashMap<String, tokio::task::AbortHandle> = HashMap::new();
    let mut bell = hooks.bell.subscribe();
    let mut holding = false;
    let mut pruned: Option<std::time::Instant> = None;
    loop {
        while tasks.try_join_next().is_some() {}
        running.retain(|_, task| !task.is_finished());
        match hooks
            .store
            .lease("dispatch", &holder, now_micros() + lease)
            .await
        {
            Ok(true) => {
                if !holding {
                    tracing::info!("webhooks: this gateway dispatches");
                    holding = true;
                }
                // The delivery log keeps what is younger than the retention,
                // pruned hourly by the dispatching replica.
                if pruned.is_none_or(|at| at.elapsed() >= Duration::from_secs(3600)) {
                    pruned = Some(std::time::Instant::now());
                    let before = now_micros() - micros(hooks.settings.log_retention);
                    if let Err(e) = hooks.store.prune(before).await {
                        tracing::warn!("webhooks: cannot prune the delivery log: {e}");
                    }
                }
                match hooks.store.active().await {
                    Ok(ids) => {
                        for id in ids {
                            if let std::collections::hash_map::Entry::Vacant(slot) =
                                running.entry(id.clone())
                            {
                                slot.insert(tasks.spawn(deliver_all(
                                    hooks.clone(),
                                    feed.clone(),
                                    initiatives.clone(),
                                    client.clone(),
                                    id,
                                )));
                            }
                        }
                    }
                    Err(e) => tracing::warn!("webhooks: cannot list subscriptions: {e}"),
                }
            }
            Ok(false) => {
                if holding {
                    tracing::info!("webhooks: another gateway dispatches");
                    holding = false;
                }
                tasks.abort_all();
                running.clear();
            }
            Err(e) => tracing::warn!("webhooks: cannot renew the dispatch lease: {e}"),
        }
        tokio::select! {
            () = tokio::time::sleep(poll) => {}
            _ = bell.changed() => {}
        }
    }
}

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

/// What became of one change.
enum Step {
    /// Delivered; go on.
    Next,
    /// The subscription was replayed, or changed under us: read it again.
    Restart,
    /// Deleted or disabled: stop.
    Stop,
}

/// The subscription, as now stored; `None` when deleted or disabled.
async fn current(hooks: &Hooks, id: &str) -> Result<Option<Subscription>, Error> {
    match hooks.store.get(id).await {
        Ok(s) if s.state == State::Active => Ok(Some(s)),
        Ok(_) | Err(Error::NotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Delivers one subscription's changes until it is deleted or disabled.
async fn deliver_all(
    hooks: Hooks,
    feed: Feed,
    initiatives: Option<Channel>,
    client: Client,
    id: String,
) {
    let poll = hooks.settings.poll;
    loop {
        let sub = match current(&hooks, &id).await {
            Ok(Some(sub)) => sub,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(subscription = %id, "webhooks: {e}");
                tokio::time::sleep(poll).await;
                continue;
            }
        };
        let request = tonic::Request::new(pb::StreamChangesRequest {
            cursor: sub.cursor.clone(),
            follow: true,
        });
        let mut stream = match feed.stream(request).await {
            Ok(stream) => stream.into_inner(),
            Err(status) if status.code() == tonic::Code::InvalidArgument => {
                let mut s = sub.clone();
                s.state = State::Disabled;
                s.disabled_reason = format!("its cursor is not valid: {}", status.message());
                let _ = hooks.store.progress(&s).await;
                return;
            }
            Err(status) => {
                tracing::warn!(subscription = %id, "webhooks: feed: {}", status.message());
                tokio::time::sleep(poll).await;
                continue;
            }
        };
        // The cursor past changes skipped since the last save.
        let mut skipped: Option<String> = None;
        let mut bell = hooks.bell.subscribe();
        loop {
            let next = tokio::select! {
                next = stream.next() => next,
                // A call changed some subscription: if it was this one
                // (replayed, filtered anew, disabled, deleted), start over.
                _ = bell.changed() => {
                    match current(&hooks, &id).await {
                        Ok(Some(now))
                            if now.cursor_epoch == sub.cursor_epoch
                                && now.filter == sub.filter => continue,
                        Err(_) => continue,
                        _ => break,
                    }
                }
                () = tokio::time::sleep(Duration::from_secs(1)), if skipped.is_some() => {
                    if let Some(cursor) = skipped.take()
                        && !save_cursor(&hooks, &sub, cursor).await {
                        break;
                    }
                    continue;
                }
            };
            let response = match next {
                Some(Ok(response)) => response,
                Some(Err(status)) => {
                    tracing::warn!(subscription = %id, "webhooks: feed: {}", status.message());
                    tokio::time::sleep(poll).await;
                    break;
                }
                None => {
                    tokio::time::sleep(poll).await;
                    break;
                }
            };
            let Some(change) = &response.change else {
                continue;
            };
            let time = change
                .time
                .as_ref()
                .map_or(0, |t| t.seconds * 1_000_000 + i64::from(t.nanos) / 1_000);
            if time < sub.skip_before
                || !sub.filter.matches(&response.service, &change.resource)
                || !initiative_passes(&hooks, initiatives.as_ref(), &sub, &response).await
            {
                skipped = Some(response.cursor.clone());
                continue;
            }
            skipped = None;
            match deliver_one(&hooks, &client, &sub, &response).await {
                Step::Next => {}
                Step::Restart => break,
                Step::Stop => return,
            }
        }
        if let Some(cursor) = skipped.take() {
            save_cursor(&hooks, &sub, cursor).await;
        }
    }
}

/// Whether a change passes the filter's initiative lists: the initiative
/// is read as it stands now (retried while the initiatives service does
/// not answer, so a change is never skipped for want of an answer); one
/// that does not exist does not pass.
async fn initiative_passes(
    hooks: &Hooks,
    initiatives: Option<&Channel>,
    sub: &Subscription,
    response: &pb::StreamChangesResponse,
) -> bool {
    let Some(change) = &response.change else {
        return false;
    };
    if !sub
        .filter
        .reads_initiative(&response.service, &change.resource)
    {
        return true;
    }
    let Some(channel) = initiatives else {
        return false;
    };
    let mut client =
        ini::initiatives_service_client::InitiativesServiceClient::new(channel.clone());
    loop {
        let read = client
            .get_initiative(ini::GetInitiativeRequest {
                name: change.resource.clone(),
            })
            .await;
        match read {
            Ok(answer) => {
                let i = answer.into_inner();
                let mut organizations = vec![i.lead_organization.as_str()];
                organizations.extend(i.partners.iter().map(|p| p.organization.as_str()));
                return sub
                    .filter
                    .initiative_matches(&i.country_code, &organizations);
            }
            Err(status) if status.code() == tonic::Code::NotFound => return false,
            Err(status) => {
                tracing::warn!(subscription = %sub.id, "webhooks: reading {}: {}", change.resource, status.message());
                tokio::time::sleep(hooks.settings.poll).await;
            }
        }
    }
}

/// Stores the cursor reached past skipped changes; false when the
/// subscription changed under us (replayed, disabled, deleted).
async fn save_cursor(hooks: &Hooks, started: &Subscription, cursor: String) -> bool {
    match current(hooks, &started.id).await {
        Ok(Some(mut s)) if s.cursor_epoch == started.cursor_epoch => {
            s.cursor = cursor;
            hooks.store.progress(&s).await.unwrap_or(false)
        }
        _ => false,
    }
}

/// The JSON body of a change (the Standard Webhooks shape: `type`,
/// `timestamp`, `data`).
pub fn payload(response: &pb::StreamChangesResponse, id: &str) -> Bytes {
    let change = response.change.clone().unwrap_or_default();
    let kind = match change.r#type() {
        innolab_proto::innolab::common::v1::ChangeType::Created => "CREATED",
        innolab_proto::innolab::common::v1::ChangeType::Updated => "UPDATED",
        innolab_proto::innolab::common::v1::ChangeType::Deleted => "DELETED",
        innolab_proto::innolab::common::v1::ChangeType::Unspecified => "UNSPECIFIED",
    };
    let time = change.time.as_ref().map(rfc3339).unwrap_or_default();
    let body = serde_json::json!({
        "type": format!("innolab.change.{}", kind.to_ascii_lowercase()),
        "timestamp": time,
        "data": {
            "id": id,
            "service": response.service,
            "sequence": change.sequence.to_string(),
            "resource": change.resource,
            "resourceKind": super::kind(&change.resource),
            "changeType": kind,
            "revision": change.revision.to_string(),
            "time": time,
            "cursor": response.cursor,
        }
    });
    Bytes::from(body.to_string())
}

/// A change's time (kept in microseconds by every service) in RFC 3339.
fn rfc3339(t: &prost_types::Timestamp) -> String {
    innolab_kit::opendata::rfc3339(t.seconds * 1_000_000 + i64::from(t.nanos) / 1000)
}

/// The delay before attempt `attempt + 1`: the initial delay doubled per
/// attempt made, capped, with up to a fifth added at random so that many
/// subscriptions failing together do not retry in step.
fn backoff(hooks: &Hooks, attempt: i64) -> Duration {
    let s = &hooks.settings;
    let exponent = u32::try_from(attempt.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
    let base = s
        .backoff_initial
        .saturating_mul(2u32.saturating_pow(exponent))
        .min(s.backoff_max);
    let jitter = base.mul_f64(rand::random::<f64>() / 5.0);
    base + jitter
}

/// Sends one change until it is accepted, the subscription is disabled
/// (after `disable_after` of failure), or it changes under us.
async fn deliver_one(
    hooks: &Hooks,
    client: &Client,
    started: &Subscription,
    response: &pb::StreamChangesResponse,
) -> Step {
    let change = response.change.clone().unwrap_or_default();
    let webhook_id = format!("{}-{}", response.service, change.sequence);
    let body = payload(response, &webhook_id);
    let mut bell = hooks.bell.subscribe();
    loop {
        // Read again before every attempt: the endpoint, the secrets and
        // the state may have changed.
        let mut sub = match current(hooks, &started.id).await {
            Ok(Some(sub)) => sub,
            Ok(None) => return Step::Stop,
            Err(_) => {
                tokio::time::sleep(hooks.settings.poll).await;
                continue;
            }
        };
        if sub.cursor_epoch != started.cursor_epoch {
            return Step::Restart;
        }
        if sub.filter != started.filter {
            // Filtered anew from the same place.
            return Step::Restart;
        }
        let now = now_micros();
        if let Some(due) = sub.next_attempt
            && due > now
        {
            let wait = Duration::from_micros(u64::try_from(due - now).unwrap_or(0));
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                _ = bell.changed() => {}
            }
            continue;
        }
        let attempt = sub.attempts + 1;
        let timestamp = now / 1_000_000;
        let headers = [
            ("webhook-id", webhook_id.clone()),
            ("webhook-timestamp", timestamp.to_string()),
            (
                "webhook-signature",
                super::signature(&sub.signing_secrets(now), &webhook_id, timestamp, &body),
            ),
        ];
        let answer = client.post(&sub.endpoint, &headers, body.clone()).await;
        let (http_status, delivered, error) = match &answer {
            Ok(status) if (200..300).contains(status) => (i64::from(*status), true, String::new()),
            Ok(status) => (i64::from(*status), false, format!("HTTP {status}")),
            Err(e) => (0, false, e.clone()),
        };
        let record = Delivery {
            sequence: 0,
            webhook_id: webhook_id.clone(),
            resource: change.resource.clone(),
            attempt,
            time: now,
            http_status,
            delivered,
            error: error.clone(),
            cursor: response.cursor.clone(),
        };
        if let Err(e) = hooks.store.record(&sub.id, &record).await {
            tracing::warn!(subscription = %sub.id, "webhooks: cannot log a delivery: {e}");
        }
        if delivered {
            sub.cursor = response.cursor.clone();
            sub.failing_since = None;
            sub.attempts = 0;
            sub.next_attempt = None;
            return match hooks.store.progress(&sub).await {
                Ok(true) => Step::Next,
                _ => Step::Restart,
            };
        }
        let since = sub.failing_since.unwrap_or(now);
        sub.failing_since = Some(since);
        sub.attempts = attempt;
        let failing_for = Duration::from_micros(u64::try_from(now - since).unwrap_or(0));
        if failing_for >= hooks.settings.disable_after {
            sub.state = State::Disabled;
            sub.next_attempt = None;
            sub.disabled_reason = format!(
                "{webhook_id} was refused {attempt} times over {} s (last: {error}); \
                 set the state ACTIVE again to resume from the cursor",
                failing_for.as_secs()
            );
            tracing::warn!(subscription = %sub.id, "webhooks: disabled: {}", sub.disabled_reason);
            let _ = hooks.store.progress(&sub).await;
            return Step::Stop;
        }
        sub.next_attempt = Some(now + micros(backoff(hooks, attempt)));
        match hooks.store.progress(&sub).await {
            Ok(true) => {}
            Ok(false) => return Step::Restart,
            Err(_) => tokio::time::sleep(hooks.settings.poll).await,
        }
    }
}
