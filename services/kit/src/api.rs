//! Helpers every service's API layer shares: the reply type, AIP-134 update
//! masks, list pages and their tokens, the mapping between protobuf enums
//! (`<PREFIX>_<NAME>`) and domain vocabularies, and the conversions of the
//! types every service's contract uses (`google.type.Date`, timestamps, the
//! change feed of `innolab.common.v1`).

use innolab_proto::google::r#type::Date as PbDate;
use innolab_proto::innolab::common::v1::{
    Change as PbChange, ChangeType as PbChangeType, FindPersonReferencesRequest,
    FindPersonReferencesResponse, PersonReference as PbPersonReference,
};
use prost_types::{FieldMask, Timestamp};
use tokio_stream::StreamExt as _;
use tonic::{Response, Status};

use crate::changes::{Change, ChangeType};
use crate::domain::PersonReference;
use crate::page::{Page, PageRequest, PageTokens};
use crate::{Error, Violations};

/// What a unary handler returns.
pub type Reply<T> = Result<Response<T>, Status>;

/// A handler's outcome as a gRPC reply.
pub fn reply<T>(result: Result<T, Error>) -> Reply<T> {
    result.map(Response::new).map_err(Status::from)
}

/// What a page token is bound to: the method and its filter.
pub fn fingerprint(method: &str, filter: &str) -> String {
    format!("{method}\n{filter}")
}

/// The pages of a service's list methods: what a request asks for
/// (`page_size`, `page_token`), and the token of the page after a result,
/// each token bound to its method and filter and signed.
#[derive(Debug, Clone)]
pub struct Pages(PageTokens);

impl Pages {
    /// Pages whose tokens `tokens` signs.
    pub fn new(tokens: PageTokens) -> Self {
        Pages(tokens)
    }

    /// The page `method` is asked for, INVALID_ARGUMENT naming `page_size`
    /// or `page_token` when they are wrong.
    pub fn request(
        &self,
        method: &str,
        page_size: i32,
        page_token: &str,
        filter: &str,
    ) -> Result<PageRequest, Error> {
        crate::query::page(&self.0, page_size, page_token, &fingerprint(method, filter))
    }

    /// The token of the page after `page` (empty on the last one).
    pub fn next_token<T>(&self, method: &str, filter: &str, page: &Page<T>) -> String {
        page.next
            .as_deref()
            .map(|cursor| self.0.encode(cursor, &fingerprint(method, filter)))
            .unwrap_or_default()
    }
}

/// The id in resource name `name` (`{collection}/{id}`), INVALID_ARGUMENT
/// naming `field` when it is not one.
pub fn id(field: &str, name: &str, collection: &str) -> Result<String, Error> {
    crate::check::resource_id(name, collection).map_err(|e| Error::invalid(field, e))
}

/// A calendar date of the contract (`google.type.Date`), INVALID_ARGUMENT
/// naming `field` unless it is a whole, real date.
pub fn date_in(field: &str, date: Option<PbDate>) -> Result<Option<time::Date>, Error> {
    let Some(d) = date else {
        return Ok(None);
    };
    let month = u8::try_from(d.month)
        .ok()
        .and_then(|m| time::Month::try_from(m).ok());
    let day = u8::try_from(d.day).ok();
    match (month, day) {
        (Some(month), Some(day)) if (1..=9999).contains(&d.year) => {
            time::Date::from_calendar_date(d.year, month, day)
                .map(Some)
                .map_err(|e| Error::invalid(field, format!("not a calendar date: {e}")))
        }
        _ => Err(Error::invalid(
            field,
            "must be a full date: year 1-9999, month 1-12, day 1-31",
        )),
    }
}

/// A date in the contract's form.
pub fn date_out(date: Option<time::Date>) -> Option<PbDate> {
    date.map(|d| PbDate {
        year: d.year(),
        month: i32::from(u8::from(d.month())),
        day: i32::from(d.day()),
    })
}

/// A time stored as microseconds since the Unix epoch, as a timestamp.
pub fn timestamp(micros: i64) -> Option<Timestamp> {
    Some(Timestamp {
        seconds: micros.div_euclid(1_000_000),
        nanos: i32::try_from(micros.rem_euclid(1_000_000) * 1000).unwrap_or(0),
    })
}

/// A change of the log in the contract's form.
pub fn change_out(c: Change) -> PbChange {
    PbChange {
        sequence: c.sequence,
        resource: c.resource,
        r#type: match c.change_type {
            ChangeType::Created => PbChangeType::Created,
            ChangeType::Updated => PbChangeType::Updated,
            ChangeType::Deleted => PbChangeType::Deleted,
        } as i32,
        revision: c.revision,
        time: timestamp(c.time),
    }
}

/// The stream every service's `StreamChanges` answers.
pub type ChangeStream =
    std::pin::Pin<Box<dyn tokio_stream::Stream<Item = Result<PbChange, Status>> + Send>>;

/// `StreamChanges`: the log after `after_sequence` (INVALID_ARGUMENT when
/// negative), from the stream `open` gives for it.
fn stream_changes<S>(after_sequence: i64, open: impl FnOnce(i64) -> S) -> Reply<ChangeStream>
where
    S: tokio_stream::Stream<Item = Result<Change, Error>> + Send + 'static,
{
    if after_sequence < 0 {
        return Err(Error::invalid("after_sequence", "must not be negative").into());
    }
    let stream = open(after_sequence).map(|item| item.map(change_out).map_err(Status::from));
    Ok(Response::new(Box::pin(stream)))
}

/// A service's whole `StreamChanges` handler: `store`'s change log as the
/// request asks for it.
pub fn changes(
    store: &impl crate::store::ChangeLog,
    request: tonic::Request<innolab_proto::innolab::common::v1::StreamChangesRequest>,
) -> Reply<ChangeStream> {
    let r = request.into_inner();
    stream_changes(r.after_sequence, |after| store.changes(after, r.follow))
}

/// A server stream's answer.
pub type ServerStream<M> =
    std::pin::Pin<Box<dyn tokio_stream::Stream<Item = Result<M, Status>> + Send>>;

/// An open-data `Export*` handler's answer: the records of an export
/// ([`crate::store::export`], one snapshot), each made its message by
/// `message`; the error that ended the export, if any, ends the stream.
pub fn export<T, M>(
    records: crate::subscriber::Subscription<T, Error>,
    message: impl Fn(T) -> M + Send + 'static,
) -> Reply<ServerStream<M>>
where
    T: Send + 'static,
    M: Send + 'static,
{
    let stream = records.map(move |item| item.map(&message).map_err(Status::from));
    Ok(Response::new(Box::pin(stream)))
}

/// Whether a "who" field names a person (`people/{id}`) rather than a body
/// (`organizations/`, `groups/`, `posts/`).
pub fn names_person(reference: &str) -> bool {
    reference.starts_with("people/")
}

/// A "who" field as open data: emptied when it names a person; a body's
/// name stays.
pub fn unname(reference: &mut String) {
    if names_person(reference) {
        reference.clear();
    }
}

/// The writable fields an update mask names (`*` for all of them). The mask
/// is required and every path must be writable; `moved_apart` gives, for
/// fields that change only by other methods, why they are refused.
pub fn mask_paths(
    mask: Option<FieldMask>,
    writable: &[&str],
    moved_apart: &[(&str, &str)],
) -> Result<Vec<String>, Error> {
    let paths = mask.map(|m| m.paths).unwrap_or_default();
    if paths.is_empty() {
        return Err(Error::invalid(
            "update_mask",
            format!(
                "is required: list the fields to change ({}), or `*` for all",
                writable.join(", ")
            ),
        ));
    }
    let mut v = Violations::new();
    let mut out = Vec::new();
    for path in paths {
        if path == "*" {
            out.extend(writable.iter().map(|w| w.to_string()));
        } else if writable.contains(&path.as_str()) {
            out.push(path);
        } else if let Some((_, why)) = moved_apart.iter().find(|(p, _)| *p == path) {
            v.add("update_mask", format!("{path:?} {why}"));
        } else {
            v.add(
                "update_mask",
                format!(
                    "{path:?} is not a writable field; writable: {}",
                    writable.join(", ")
                ),
            );
        }
    }
    v.finish()?;
    Ok(out)
}

/// Applies an AIP-134 update: copies the masked fields of `new` onto
/// `current`. The mask is required; `*` means every writable field.
pub fn merge<T>(
    mut current: T,
    new: T,
    mask: Option<FieldMask>,
    writable: &[&str],
    copy: impl Fn(&mut T, &T, &str),
) -> Result<T, Error> {
    for path in mask_paths(mask, writable, &[])? {
        copy(&mut current, &new, &path);
    }
    Ok(current)
}

/// The domain value of a protobuf enum; `None` for UNSPECIFIED, an error
/// naming `field` for a number the contract does not define.
pub fn enum_in<D>(
    field: &str,
    number: i32,
    proto_name: Option<&'static str>,
    prefix: &str,
    parse: fn(&str) -> Option<D>,
) -> Result<Option<D>, Error> {
    let unknown = || Error::invalid(field, format!("{number} is not a known value"));
    let name = proto_name.ok_or_else(unknown)?;
    let short = name.strip_prefix(prefix).ok_or_else(unknown)?;
    if short == "UNSPECIFIED" {
        return Ok(None);
    }
    parse(short).map(Some).ok_or_else(unknown)
}

/// The protobuf number of a domain value named `name`.
pub fn enum_out(prefix: &str, name: &str, from_name: fn(&str) -> Option<i32>) -> i32 {
    from_name(&format!("{prefix}{name}")).unwrap_or(0)
}

/// Defines, for one vocabulary, `$in(field, number)` (the domain value of a
/// protobuf number: `None` for UNSPECIFIED, INVALID_ARGUMENT naming `field`
/// for a number the contract does not define) and `$out(value)` (the
/// protobuf number, 0 for `None`). The protobuf value `<PREFIX><NAME>`
/// carries the vocabulary's stable name `<NAME>`.
///
/// ```ignore
/// innolab_kit::enum_mapping!(level_in, level_out, pb::GovernmentLevel, "GOVERNMENT_LEVEL_", GovernmentLevel);
/// ```
#[macro_export]
macro_rules! enum_mapping {
    ($vis:vis $in:ident, $out:ident, $pb:ty, $prefix:literal, $domain:ty) => {
        #[allow(dead_code)]
        $vis fn $in(field: &str, n: i32) -> Result<Option<$domain>, $crate::Error> {
            let name = <$pb>::try_from(n).ok().map(|e| e.as_str_name());
            $crate::api::enum_in(field, n, name, $prefix, <$domain>::parse)
        }
        #[allow(dead_code)]
        $vis fn $out(v: Option<$domain>) -> i32 {
            v.map_or(0, |v| {
                $crate::api::enum_out($prefix, v.as_str(), |s| {
                    <$pb>::from_str_name(s).map(|e| e as i32)
                })
            })
        }
    };
}

/// A service's FindPersonReferences: validates the person (`people/{id}`,
/// INVALID_ARGUMENT naming `person`), asks the store what names them and
/// answers oldest first (records without a time of their own last, by name).
pub async fn person_references<F, Fut>(
    service: &str,
    request: FindPersonReferencesRequest,
    find: F,
) -> Reply<FindPersonReferencesResponse>
where
    F: FnOnce(String) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<PersonReference>, Error>>,
{
    crate::check::resource_id(&request.person, "people")
        .map_err(|e| Status::from(Error::invalid("person", e)))?;
    let mut found = find(request.person).await.map_err(Status::from)?;
    found.sort_by(|a, b| {
        (a.time.is_none(), a.time, &a.resource, a.field).cmp(&(
            b.time.is_none(),
            b.time,
            &b.resource,
            b.field,
        ))
    });
    let references = found
        .into_iter()
        .map(|r| PbPersonReference {
            service: service.to_string(),
            resource: r.resource,
            field: r.field.to_string(),
            time: r.time.and_then(timestamp),
            detail: r.detail,
        })
        .collect();
    Ok(Response::new(FindPersonReferencesResponse { references }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn mask(paths: &[&str]) -> Option<FieldMask> {
        Some(FieldMask {
            paths: paths.iter().map(|p| p.to_string()).collect(),
        })
    }

    #[test]
    fn masks_are_required_and_checked() {
        let writable = ["title", "body"];
        assert!(mask_paths(None, &writable, &[]).is_err());
        assert_eq!(
            mask_paths(mask(&["*"]), &writable, &[]).unwrap(),
            ["title", "body"]
        );
        let e = mask_paths(mask(&["stage"]), &writable, &[("stage", "moves apart")]).unwrap_err();
        assert!(e.to_string().contains("\"stage\" moves apart"), "{e}");
        let e = mask_paths(mask(&["nope"]), &writable, &[]).unwrap_err();
        assert!(e.to_string().contains("not a writable field"), "{e}");
    }

    #[test]
    fn dates_must_be_whole_and_real() {
        let date = |year, month, day| Some(PbDate { year, month, day });
        let d = date_in("start", date(2024, 2, 29)).unwrap();
        assert_eq!(date_out(d), date(2024, 2, 29));
        assert_eq!(date_in("start", None).unwrap(), None);
        for bad in [
            date(2023, 2, 29),
            date(2024, 0, 1),
            date(0, 1, 1),
            date(2024, 1, 0),
        ] {
            let e = date_in("start", bad).unwrap_err();
            assert!(e.to_string().contains("start"), "{e}");
        }
        assert_eq!(
            timestamp(-1),
            Some(Timestamp {
                seconds: -1,
                nanos: 999_999_000
            })
        );
    }

    #[test]
    fn enums_map_by_name() {
        let parse = |s: &str| (s == "GUIDE").then_some(1);
        assert_eq!(
            enum_in("type", 1, Some("TYPE_GUIDE"), "TYPE_", parse).unwrap(),
            Some(1)
        );
        assert_eq!(
            enum_in("type", 0, Some("TYPE_UNSPECIFIED"), "TYPE_", parse).unwrap(),
            None
        );
        assert!(enum_in("type", 9, None, "TYPE_", parse).is_err());
        assert_eq!(
            enum_out("TYPE_", "GUIDE", |s| (s == "TYPE_GUIDE").then_some(1)),
            1
        );
    }
}
