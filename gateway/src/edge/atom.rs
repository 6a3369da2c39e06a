//! Atom feeds (RFC 4287) for the public and for portals, as plain routes
//! beside `/changes`: newly published guidance editions, cases accepted
//! from calls for innovation, and call openings, newest first, per
//! language (`lang`) and per filter (`filter`, the list method's AIP-160
//! filter). Each feed is made of the list and get calls it stands for,
//! sent through the same stack as every other call (guard, limits,
//! deadlines), so a feed shows exactly what its caller may read.
//!
//! | route | made of |
//! |---|---|
//! | `GET /feeds/guidance.atom?lang=&filter=` | `ListDocuments(filter)`, `GetEdition` of each current edition |
//! | `GET /feeds/cases.atom?lang=&filter=` | `ListInnovationCalls(filter)`, `ListSubmissions(state = ACCEPTED)` of each |
//! | `GET /feeds/calls.atom?filter=` | `ListInnovationCalls(filter)`, those open by today |
//!
//! With `lang`, an entry is the translation (or title) in that language,
//! and records without one are left out; without it, the original.
//! A feed reads at most [`SCAN`] records and shows the [`ENTRIES`] newest.

use atom_syndication::{Category, Content, Entry, Feed, Link, Person, Text};
use bytes::Bytes;
use chrono::{DateTime, FixedOffset};
use http::{HeaderValue, Request, Response};
use http_body_util::BodyExt as _;
use innolab_kit::server::LocalService;
use innolab_proto::innolab::guidance::v1 as gd;
use innolab_proto::innolab::initiatives::v1 as ini;
use prost::Message;
use tonic::Status;
use tonic::body::Body;

/// Entries in a feed at most.
pub const ENTRIES: usize = 50;
/// Records a feed reads at most to find its newest entries.
pub const SCAN: usize = 10_000;
/// Page size of the list calls.
const PAGE: i32 = 500;

/// Which feed.
#[derive(Debug, Clone, Copy)]
pub(super) enum Kind {
    /// Newly published guidance editions.
    Guidance,
    /// Cases accepted from calls for innovation.
    Cases,
    /// Calls for innovation that opened.
    Calls,
}

/// The feed a path names.
pub(super) fn kind(path: &str) -> Option<Kind> {
    match path {
        "/feeds/guidance.atom" => Some(Kind::Guidance),
        "/feeds/cases.atom" => Some(Kind::Cases),
        "/feeds/calls.atom" => Some(Kind::Calls),
        _ => None,
    }
}

/// One unary call through the stack with the caller's headers and
/// identity.
async fn unary<Q: Message, R: Message + Default>(
    inner: &LocalService,
    parts: &http::request::Parts,
    path: &str,
    message: &Q,
) -> Result<R, Status> {
    let mut request = Request::new(());
    *request.headers_mut() = parts.headers.clone();
    *request.extensions_mut() = parts.extensions.clone();
    *request.method_mut() = http::Method::POST;
    let (copy, ()) = request.into_parts();
    let body = Body::new(http_body_util::Full::new(super::grpc_frame(
        &message.encode_to_vec(),
    )));
    let response = super::plain::call(inner.clone(), copy, path, body).await?;
    let (head, body) = response.into_parts();
    if let Some(status) = Status::from_header_map(&head.headers)
        && status.code() != tonic::Code::Ok
    {
        return Err(status);
    }
    let collected = body
        .collect()
        .await
        .map_err(|e| Status::unavailable(format!("{path}: {e}")))?;
    if let Some(trailers) = collected.trailers()
        && let Some(status) = Status::from_header_map(trailers)
        && status.code() != tonic::Code::Ok
    {
        return Err(status);
    }
    let bytes: Bytes = collected.to_bytes();
    if bytes.len() < 5 || bytes[0] != 0 {
        return Err(Status::internal(format!(
            "{path}: an answer that is not one message"
        )));
    }
    R::decode(&bytes[5..]).map_err(|e| Status::internal(format!("{path}: {e}")))
}

fn time(t: Option<&prost_types::Timestamp>) -> Option<DateTime<FixedOffset>> {
    let t = t?;
    DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).unwrap_or(0))
        .map(|d| d.fixed_offset())
}

fn date(d: Option<&innolab_proto::google::r#type::Date>) -> Option<DateTime<FixedOffset>> {
    let d = d?;
    let day = chrono::NaiveDate::from_ymd_opt(
        d.year,
        u32::try_from(d.month).ok()?,
        u32::try_from(d.day).ok()?,
    )?;
    Some(day.and_hms_opt(0, 0, 0)?.and_utc().fixed_offset())
}

/// `urn:uuid:` of the last id of a resource name (ids are UUIDs).
fn entry_id(name: &str) -> String {
    let last = name.rsplit('/').next().unwrap_or(name);
    match uuid::Uuid::parse_str(last) {
        Ok(id) => format!("urn:uuid:{id}"),
        Err(_) => format!("urn:innolab:{name}"),
    }
}

fn entry(
    name: &str,
    title: &str,
    summary: &str,
    updated: DateTime<FixedOffset>,
    lang: Option<&str>,
    categories: Vec<String>,
) -> Entry {
    let mut text = Text::plain(title);
    text.lang = lang.map(str::to_string);
    Entry {
        id: entry_id(name),
        title: text,
        updated,
        published: Some(updated),
        summary: (!summary.is_empty()).then(|| Text::plain(summary)),
        content: Some(Content {
            value: Some(name.to_string()),
            content_type: Some("text".into()),
            ..Default::default()
        }),
        categories: categories
            .into_iter()
            .map(|term| Category {
                term,
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

/// The feed for `request`, as `application/atom+xml`.
pub(super) async fn serve(
    inner: LocalService,
    request: Request<Body>,
    kind: Kind,
    lang: Option<String>,
    filter: Option<String>,
) -> Result<Response<Body>, Status> {
    let (parts, _) = request.into_parts();
    if let Some(l) = &lang
        && (l.is_empty()
            || l.len() > 35
            || !l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
    {
        return Err(Status::invalid_argument(format!(
            "lang: {l:?} is not a BCP 47 language tag"
        )));
    }
    let filter = filter.unwrap_or_default();
    let lang = lang.as_deref();
    let (title, mut entries) = match kind {
        Kind::Guidance => (
            "innolab: newly published guidance",
            guidance(&inner, &parts, &filter, lang).await?,
        ),
        Kind::Cases => (
            "innolab: cases accepted from calls for innovation",
            cases(&inner, &parts, &filter, lang).await?,
        ),
        Kind::Calls => (
            "innolab: calls for innovation opening",
            calls(&inner, &parts, &filter, lang).await?,
        ),
    };
    // Newest first; the same order for the same data.
    entries.sort_by(|a, b| b.updated.cmp(&a.updated).then_with(|| a.id.cmp(&b.id)));
    entries.truncate(ENTRIES);
    let self_href = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path().to_string(), |p| p.as_str().to_string());
    let updated = entries
        .first()
        .map(|e| e.updated)
        .or_else(|| DateTime::from_timestamp(0, 0).map(|d| d.fixed_offset()))
        .ok_or_else(|| Status::internal("no epoch"))?;
    let feed = Feed {
        title: Text::plain(title),
        id: format!("urn:innolab:feeds:{}", self_href.trim_start_matches('/')),
        updated,
        authors: vec![Person {
            name: "innolab".into(),
            ..Default::default()
        }],
        links: vec![Link {
            href: self_href,
            rel: "self".into(),
            mime_type: Some("application/atom+xml".into()),
            ..Default::default()
        }],
        lang: lang.map(str::to_string),
        entries,
        ..Default::default()
    };
    let mut answer = Response::new(Body::new(http_body_util::Full::new(Bytes::from(
        feed.to_string(),
    ))));
    answer.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/atom+xml; charset=utf-8"),
    );
    Ok(answer)
}

/// Every page of a list call, at most [`SCAN`] records.
async fn pages<Q, R, T>(
    inner: &LocalService,
    parts: &http::request::Parts,
    path: &str,
    mut request: impl FnMut(String) -> Q,
    split: impl Fn(R) -> (Vec<T>, String),
) -> Result<Vec<T>, Status>
where
    Q: Message,
    R: Message + Default,
{
    let mut out = Vec::new();
    let mut token = String::new();
    loop {
        let (items, next) = split(unary(inner, parts, path, &request(token)).await?);
        out.extend(items);
        if next.is_empty() || out.len() >= SCAN {
            out.truncate(SCAN);
            return Ok(out);
        }
        token = next;
    }
}

async fn guidance(
    inner: &LocalService,
    parts: &http::request::Parts,
    filter: &str,
    lang: Option<&str>,
) -> Result<Vec<Entry>, Status> {
    let documents = pages(
        inner,
        parts,
        "/innolab.guidance.v1.GuidanceService/ListDocuments",
        |page_token| gd::ListDocumentsRequest {
            page_size: PAGE,
            page_token,
            filter: filter.to_string(),
        },
        |r: gd::ListDocumentsResponse| (r.documents, r.next_page_token),
    )
    .await?;
    // The newest documents first: an edition is published after its
    // document last changed, so the documents changed last hold the
    // editions published last.
    let mut current: Vec<gd::Document> = documents
        .into_iter()
        .filter(|d| !d.current_edition.is_empty())
        .collect();
    current.sort_by(|a, b| {
        let key = |d: &gd::Document| d.update_time.as_ref().map(|t| (t.seconds, t.nanos));
        key(b).cmp(&key(a))
    });
    let mut entries = Vec::new();
    for document in current.into_iter().take(ENTRIES * 2) {
        let edition: gd::Edition = unary(
            inner,
            parts,
            "/innolab.guidance.v1.GuidanceService/GetEdition",
            &gd::GetEditionRequest {
                name: document.current_edition.clone(),
                language_code: String::new(),
            },
        )
        .await?;
        let Some(published) = time(edition.publish_time.as_ref()) else {
            continue;
        };
        let translation = match lang {
            Some(l) => edition.translations.iter().find(|t| t.language_code == l),
            None => edition
                .translations
                .iter()
                .find(|t| t.original)
                .or_else(|| edition.translations.first()),
        };
        let Some(t) = translation else {
            continue;
        };
        let mut e = entry(
            &edition.name,
            &t.title,
            &t.summary,
            published,
            Some(t.language_code.as_str()),
            document.topics.clone(),
        );
        e.title.lang = Some(t.language_code.clone());
        entries.push(e);
    }
    Ok(entries)
}

async fn open_calls(
    inner: &LocalService,
    parts: &http::request::Parts,
    filter: &str,
) -> Result<Vec<ini::InnovationCall>, Status> {
    pages(
        inner,
        parts,
        "/innolab.initiatives.v1.InitiativesService/ListInnovationCalls",
        |page_token| ini::ListInnovationCallsRequest {
            page_size: PAGE,
            page_token,
            filter: filter.to_string(),
        },
        |r: ini::ListInnovationCallsResponse| (r.calls, r.next_page_token),
    )
    .await
}

async fn calls(
    inner: &LocalService,
    parts: &http::request::Parts,
    filter: &str,
    lang: Option<&str>,
) -> Result<Vec<Entry>, Status> {
    let now = chrono::Utc::now().fixed_offset();
    Ok(open_calls(inner, parts, filter)
        .await?
        .into_iter()
        .filter_map(|call| {
            let opened = date(call.open_date.as_ref()).filter(|d| *d <= now)?;
            Some(entry(
                &call.name,
                &call.title,
                &call.description,
                opened,
                lang,
                vec!["call".into()],
            ))
        })
        .collect())
}

async fn cases(
    inner: &LocalService,
    parts: &http::request::Parts,
    filter: &str,
    lang: Option<&str>,
) -> Result<Vec<Entry>, Status> {
    let mut entries = Vec::new();
    let mut scanned = 0;
    for call in open_calls(inner, parts, filter).await? {
        if scanned >= SCAN {
            break;
        }
        let accepted = pages(
            inner,
            parts,
            "/innolab.initiatives.v1.InitiativesService/ListSubmissions",
            |page_token| ini::ListSubmissionsRequest {
                parent: call.name.clone(),
                page_size: PAGE,
                page_token,
                filter: "state = ACCEPTED".into(),
            },
            |r: ini::ListSubmissionsResponse| (r.submissions, r.next_page_token),
        )
        .await?;
        scanned += accepted.len();
        for submission in accepted {
            let Some(updated) = time(submission.update_time.as_ref()) else {
                continue;
            };
            let initiative = submission.initiative.unwrap_or_default();
            let pick = |texts: &[innolab_proto::innolab::common::v1::LocalizedText]| match lang {
                Some(l) => texts.iter().find(|t| t.language_code == l).cloned(),
                None => texts.first().cloned(),
            };
            let Some(title) = pick(&initiative.titles) else {
                continue;
            };
            let summary = pick(&initiative.summaries)
                .map(|t| t.text)
                .unwrap_or_default();
            let name = if submission.accepted_initiative.is_empty() {
                submission.name.clone()
            } else {
                submission.accepted_initiative.clone()
            };
            let mut e = entry(
                &name,
                &title.text,
                &summary,
                updated,
                Some(title.language_code.as_str()),
                vec![initiative.country_code.clone()],
            );
            e.links.push(Link {
                href: call.name.clone(),
                rel: "related".into(),
                title: Some(call.title.clone()),
                ..Default::default()
            });
            entries.push(e);
        }
    }
    Ok(entries)
}
