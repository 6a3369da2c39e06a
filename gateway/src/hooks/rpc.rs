//! The subscription methods of `GatewayService`: protobuf <-> the
//! subscriptions' types, and who may see which (lab administrators every
//! subscription, any other client only those it created; another's, or one
//! that does not exist, is PERMISSION_DENIED alike, so a client cannot
//! probe for others' subscriptions).

use innolab_kit::api::{mask_paths, timestamp};
use innolab_kit::db::now_micros;
use innolab_kit::domain::parse_etag;
use innolab_kit::error::{Error, Violations};
use innolab_proto::innolab::gateway::v1 as pb;
use tonic::{Request, Status};

use super::store::Progress;
use super::{Filter, Hooks, SERVICES, State, Subscription};
use crate::security::Caller;

/// Who calls.
fn caller<T>(request: &Request<T>) -> Result<Caller, Status> {
    request
        .extensions()
        .get::<Caller>()
        .cloned()
        .ok_or_else(|| Status::permission_denied("no caller"))
}

/// The subscriptions of this gateway, or FAILED_PRECONDITION.
fn hooks(hooks: Option<&Hooks>) -> Result<&Hooks, Status> {
    hooks.ok_or_else(|| {
        Error::failed_precondition(
            "NO_SUBSCRIPTIONS",
            "this gateway keeps no subscriptions (INNOLAB_SUBSCRIPTIONS_DATABASE_URL is not set)",
        )
        .into()
    })
}

/// The subscription `name` names, if `caller` may see it.
async fn owned(
    hooks: &Hooks,
    caller: &Caller,
    field: &str,
    name: &str,
) -> Result<Subscription, Status> {
    let id = innolab_kit::api::id(field, name, "subscriptions")?;
    let denied =
        || Status::permission_denied(format!("{name} is not a subscription of this client"));
    match hooks.store.get(&id).await {
        Ok(s) if caller.admin || s.owner == caller.client_id => Ok(s),
        Ok(_) => Err(denied()),
        Err(Error::NotFound { .. }) if !caller.admin => Err(denied()),
        Err(e) => Err(e.into()),
    }
}

fn out(s: Subscription, secret: bool) -> pb::Subscription {
    pb::Subscription {
        name: format!("subscriptions/{}", s.id),
        endpoint: s.endpoint,
        filter: Some(pb::SubscriptionFilter {
            services: s.filter.services,
            resource_kinds: s.filter.resource_kinds,
            initiative_countries: s.filter.initiative_countries,
            initiative_organizations: s.filter.initiative_organizations,
        }),
        description: s.description,
        state: match s.state {
            State::Active => pb::SubscriptionState::Active,
            State::Disabled => pb::SubscriptionState::Disabled,
        } as i32,
        disabled_reason: s.disabled_reason,
        owner: s.owner,
        secret: if secret { s.secret } else { String::new() },
        previous_secret_expire_time: s
            .previous_expires
            .filter(|t| *t > now_micros())
            .and_then(timestamp),
        cursor: s.cursor,
        failing_since: s.failing_since.and_then(timestamp),
        create_time: timestamp(s.created),
        update_time: timestamp(s.updated),
        etag: format!("r{}", s.revision),
    }
}

/// The writable fields of a request's subscription, checked.
fn fields(hooks: &Hooks, s: &pb::Subscription, v: &mut Violations) -> (Filter, Option<State>) {
    if s.endpoint.is_empty() {
        v.add("subscription.endpoint", "is required");
    } else if let Err(why) = super::check_endpoint(&s.endpoint, hooks.settings.allow_private) {
        v.add("subscription.endpoint", why);
    }
    if s.description.chars().count() > 500 {
        v.add("subscription.description", "must be at most 500 characters");
    }
    let f = s.filter.clone().unwrap_or_default();
    for service in &f.services {
        if !SERVICES.contains(&service.as_str()) {
            v.add(
                "subscription.filter.services",
                format!("{service:?} is not one of {}", SERVICES.join(", ")),
            );
        }
    }
    for kind in &f.resource_kinds {
        if kind.is_empty()
            || kind.len() > 64
            || !kind
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == '_' || c == '-')
        {
            v.add(
                "subscription.filter.resource_kinds",
                format!("{kind:?} is not a collection name (lowercase letters)"),
            );
        }
    }
    for country in &f.initiative_countries {
        if let Err(why) = innolab_kit::check::country(country) {
            v.add("subscription.filter.initiative_countries", why);
        }
    }
    for organization in &f.initiative_organizations {
        if let Err(why) = innolab_kit::check::resource_id(organization, "organizations") {
            v.add("subscription.filter.initiative_organizations", why);
        }
    }
    let state = match pb::SubscriptionState::try_from(s.state) {
        Ok(pb::SubscriptionState::Unspecified) => None,
        Ok(pb::SubscriptionState::Active) => Some(State::Active),
        Ok(pb::SubscriptionState::Disabled) => Some(State::Disabled),
        Err(_) => {
            v.add("subscription.state", "is not a SubscriptionState");
            None
        }
    };
    (
        Filter {
            services: f.services,
            resource_kinds: f.resource_kinds,
            initiative_countries: f
                .initiative_countries
                .iter()
                .map(|c| c.trim().to_ascii_uppercase())
                .collect(),
            initiative_organizations: f.initiative_organizations,
        },
        state,
    )
}

/// A list's page size: 0 is `default`, more than `max` is capped, negative
/// is INVALID_ARGUMENT (the audit log's list uses it too).
pub(crate) fn page_size(size: i32, default: i64, max: i64) -> Result<i64, Status> {
    match size {
        n if n < 0 => Err(Error::invalid("page_size", "must not be negative").into()),
        0 => Ok(default),
        n => Ok(i64::from(n).min(max)),
    }
}

/// The position in a `after-<n>` page token (0 for none), or
/// INVALID_ARGUMENT naming `page_token`.
pub(crate) fn after_sequence(token: &str) -> Result<i64, Status> {
    if token.is_empty() {
        return Ok(0);
    }
    token
        .strip_prefix("after-")
        .and_then(|n| n.parse::<i64>().ok())
        .filter(|n| *n >= 0)
        .ok_or_else(|| Error::invalid("page_token", "is not a token this method returned").into())
}

/// CreateSubscription.
pub async fn create(
    h: Option<&Hooks>,
    request: Request<pb::CreateSubscriptionRequest>,
) -> Result<pb::Subscription, Status> {
    let h = hooks(h)?;
    let who = caller(&request)?;
    let r = request.into_inner();
    let mut v = Violations::new();
    let Some(s) = r.subscription else {
        return Err(Error::invalid("subscription", "is required").into());
    };
    let (filter, state) = fields(h, &s, &mut v);
    if r.request_id.len() > 100 {
        v.add("request_id", "must be at most 100 characters");
    }
    v.finish()?;
    let now = now_micros();
    let (cursor, skip_before) = if !r.cursor.is_empty() {
        (r.cursor.clone(), 0)
    } else if r.start_from_beginning {
        (String::new(), 0)
    } else {
        (String::new(), now)
    };
    let record = Subscription {
        id: uuid::Uuid::now_v7().to_string(),
        owner: who.client_id.clone(),
        endpoint: s.endpoint,
        filter,
        description: s.description,
        state: state.unwrap_or(State::Active),
        disabled_reason: String::new(),
        secret: super::new_secret(),
        previous_secret: None,
        previous_expires: None,
        cursor,
        cursor_epoch: 0,
        failing_since: None,
        attempts: 0,
        next_attempt: None,
        skip_before,
        created: now,
        updated: now,
        revision: 1,
    };
    let request_id = Some(r.request_id.as_str()).filter(|k| !k.is_empty());
    let (stored, fresh) = h.store.create(&record, request_id).await?;
    if !fresh && stored.owner != who.client_id {
        return Err(Error::AlreadyExists {
            resource: "request_id".into(),
            message: "request_id was used by another client".into(),
        }
        .into());
    }
    if fresh {
        h.ring();
    }
    // A retry by the same client is answered as the first call was, secret
    // included: the first answer may never have arrived.
    Ok(out(stored, true))
}

/// GetSubscription.
pub async fn get(
    h: Option<&Hooks>,
    request: Request<pb::GetSubscriptionRequest>,
) -> Result<pb::Subscription, Status> {
    let h = hooks(h)?;
    let who = caller(&request)?;
    Ok(out(
        owned(h, &who, "name", &request.get_ref().name).await?,
        false,
    ))
}

/// ListSubscriptions.
pub async fn list(
    h: Option<&Hooks>,
    request: Request<pb::ListSubscriptionsRequest>,
) -> Result<pb::ListSubscriptionsResponse, Status> {
    let h = hooks(h)?;
    let who = caller(&request)?;
    let r = request.into_inner();
    let size = page_size(r.page_size, 50, 500)?;
    let after = if r.page_token.is_empty() {
        String::new()
    } else {
        r.page_token
            .strip_prefix("after-")
            .filter(|id| uuid::Uuid::parse_str(id).is_ok())
            .map(str::to_string)
            .ok_or_else(|| Error::invalid("page_token", "is not a token this method returned"))?
    };
    let owner = (!who.admin).then_some(who.client_id.as_str());
    let mut page = h.store.list(owner, &after, size + 1).await?;
    let more = page.len() as i64 > size;
    page.truncate(usize::try_from(size).unwrap_or(0));
    let next_page_token = match (more, page.last()) {
        (true, Some(last)) => format!("after-{}", last.id),
        _ => String::new(),
    };
    Ok(pb::ListSubscriptionsResponse {
        subscriptions: page.into_iter().map(|s| out(s, false)).collect(),
        next_page_token,
    })
}

/// UpdateSubscription.
pub async fn update(
    h: Option<&Hooks>,
    request: Request<pb::UpdateSubscriptionRequest>,
) -> Result<pb::Subscription, Status> {
    let h = hooks(h)?;
    let who = caller(&request)?;
    let r = request.into_inner();
    let Some(new) = r.subscription else {
        return Err(Error::invalid("subscription", "is required").into());
    };
    let paths = mask_paths(
        r.update_mask,
        &["endpoint", "filter", "description", "state"],
        &[
            ("secret", "changes only by RotateSubscriptionSecret"),
            ("cursor", "changes only by ReplaySubscription"),
        ],
    )?;
    let mut current = owned(h, &who, "subscription.name", &new.name).await?;
    let read = current.revision;
    if let Some(etag) = parse_etag(&new.etag).map_err(|e| e.within("subscription"))?
        && etag != read
    {
        return Err(Error::Aborted {
            resource: new.name.clone(),
            etag: new.etag.clone(),
        }
        .into());
    }
    // Check the masked fields only: an unmasked empty endpoint is fine.
    let mut probe = out(current.clone(), false);
    for path in &paths {
        match path.as_str() {
            "endpoint" => probe.endpoint = new.endpoint.clone(),
            "filter" => probe.filter = new.filter.clone(),
            "description" => probe.description = new.description.clone(),
            _ => probe.state = new.state,
        }
    }
    let mut v = Violations::new();
    let (filter, state) = fields(h, &probe, &mut v);
    if paths.iter().any(|p| p == "state") && state.is_none() {
        v.add("subscription.state", "must be ACTIVE or DISABLED");
    }
    v.finish()?;
    // A new endpoint is tried at once.
    let mut progress = if current.endpoint == probe.endpoint {
        Progress::Keep
    } else {
        Progress::RetryNow
    };
    current.endpoint = probe.endpoint;
    current.filter = filter;
    current.description = probe.description;
    match state {
        Some(State::Active) if current.state == State::Disabled => {
            current.state = State::Active;
            current.disabled_reason = String::new();
            progress = Progress::ClearFailure;
        }
        Some(State::Disabled) if current.state == State::Active => {
            current.state = State::Disabled;
            current.disabled_reason = format!("disabled by {}", who.client_id);
        }
        _ => {}
    }
    let saved = h.store.save(&current, read, progress).await?;
    h.ring();
    Ok(out(saved, false))
}

/// DeleteSubscription.
pub async fn delete(
    h: Option<&Hooks>,
    request: Request<pb::DeleteSubscriptionRequest>,
) -> Result<pb::DeleteSubscriptionResponse, Status> {
    let h = hooks(h)?;
    let who = caller(&request)?;
    let s = owned(h, &who, "name", &request.get_ref().name).await?;
    h.store.delete(&s.id).await?;
    h.ring();
    Ok(pb::DeleteSubscriptionResponse {})
}

/// RotateSubscriptionSecret.
pub async fn rotate(
    h: Option<&Hooks>,
    request: Request<pb::RotateSubscriptionSecretRequest>,
) -> Result<pb::Subscription, Status> {
    let h = hooks(h)?;
    let who = caller(&request)?;
    let r = request.into_inner();
    let overlap = match r.overlap_seconds {
        n if n < 0 => return Err(Error::invalid("overlap_seconds", "must not be negative").into()),
        0 => 86_400,
        n if n > 604_800 => {
            return Err(
                Error::invalid("overlap_seconds", "must be at most 604800 (a week)").into(),
            );
        }
        n => n,
    };
    let mut s = owned(h, &who, "name", &r.name).await?;
    let read = s.revision;
    if let Some(etag) = parse_etag(&r.etag)?
        && etag != read
    {
        return Err(Error::Aborted {
            resource: r.name.clone(),
            etag: r.etag.clone(),
        }
        .into());
    }
    s.previous_secret = Some(std::mem::replace(&mut s.secret, super::new_secret()));
    s.previous_expires = Some(now_micros() + overlap * 1_000_000);
    let saved = h.store.save(&s, read, Progress::Keep).await?;
    h.ring();
    Ok(out(saved, true))
}

/// ListDeliveries.
pub async fn deliveries(
    h: Option<&Hooks>,
    request: Request<pb::ListDeliveriesRequest>,
) -> Result<pb::ListDeliveriesResponse, Status> {
    let h = hooks(h)?;
    let who = caller(&request)?;
    let r = request.into_inner();
    let size = page_size(r.page_size, 100, 1000)?;
    let after = after_sequence(&r.page_token)?;
    let s = owned(h, &who, "parent", &r.parent).await?;
    let mut page = h.store.deliveries(&s.id, after, size + 1).await?;
    let more = page.len() as i64 > size;
    page.truncate(usize::try_from(size).unwrap_or(0));
    let next_page_token = match (more, page.last()) {
        (true, Some(last)) => format!("after-{}", last.sequence),
        _ => String::new(),
    };
    Ok(pb::ListDeliveriesResponse {
        deliveries: page
            .into_iter()
            .map(|d| pb::Delivery {
                sequence: d.sequence,
                webhook_id: d.webhook_id,
                resource: d.resource,
                attempt: i32::try_from(d.attempt).unwrap_or(i32::MAX),
                time: timestamp(d.time),
                http_status: i32::try_from(d.http_status).unwrap_or(0),
                delivered: d.delivered,
                error: d.error,
                cursor: d.cursor,
            })
            .collect(),
        next_page_token,
    })
}

/// ReplaySubscription.
pub async fn replay(
    h: Option<&Hooks>,
    feed: &crate::feed::Feed,
    request: Request<pb::ReplaySubscriptionRequest>,
) -> Result<pb::Subscription, Status> {
    let h = hooks(h)?;
    let who = caller(&request)?;
    let r = request.into_inner();
    let mut s = owned(h, &who, "name", &r.name).await?;
    feed.check_cursor(&r.cursor)?;
    let read = s.revision;
    s.cursor = r.cursor;
    let saved = h.store.save(&s, read, Progress::Restart).await?;
    h.ring();
    Ok(out(saved, false))
}
