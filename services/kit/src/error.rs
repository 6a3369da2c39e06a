//! The closed set of error kinds every service returns, and their one mapping
//! to gRPC status codes with `google.rpc` details.

use std::collections::HashMap;

use tonic::{Code, Status};
use tonic_types::{BadRequest, ErrorDetail, ErrorInfo, StatusExt};

/// `ErrorInfo.domain` of every error the suite returns.
pub const ERROR_DOMAIN: &str = "innolab.eu";

/// One wrong field of a request, and why it is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    /// Path of the field, e.g. `organization.country_code`.
    pub field: String,
    /// Why the value is refused.
    pub description: String,
}

/// Everything that can go wrong in a service, by what the caller should do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The request is wrong; retrying it unchanged will fail again.
    #[error("invalid argument: {}", describe(.0))]
    InvalidArgument(Vec<FieldViolation>),
    /// The named resource does not exist.
    #[error("{resource} not found")]
    NotFound {
        /// Resource name that was looked up.
        resource: String,
    },
    /// A resource with the same unique key already exists.
    #[error("{message}")]
    AlreadyExists {
        /// The resource (or key) that clashes.
        resource: String,
        /// What clashes.
        message: String,
    },
    /// The caller's etag is stale: someone else changed the resource.
    #[error("{resource} has changed since etag {etag:?} was read")]
    Aborted {
        /// The resource that changed.
        resource: String,
        /// The stale etag the caller sent.
        etag: String,
    },
    /// The resource is not in a state that allows the operation.
    #[error("{message}")]
    FailedPrecondition {
        /// Machine-readable reason (`UPPER_SNAKE_CASE`), e.g. `ILLEGAL_TRANSITION`.
        reason: &'static str,
        /// What is wrong, for a human.
        message: String,
    },
    /// The caller used up a resource kept for it (a subscriber that stopped
    /// reading filled its buffer); it may retry as the message says.
    #[error("{message}")]
    ResourceExhausted {
        /// Machine-readable reason (`UPPER_SNAKE_CASE`).
        reason: &'static str,
        /// What was exhausted and what to do, for a human.
        message: String,
    },
    /// A dependency (the database) is unreachable; safe to retry.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// A bug or an unexpected state on our side.
    #[error("internal error: {0}")]
    Internal(String),
}

fn describe(violations: &[FieldViolation]) -> String {
    violations
        .iter()
        .map(|v| format!("{}: {}", v.field, v.description))
        .collect::<Vec<_>>()
        .join("; ")
}

impl Error {
    /// One invalid field.
    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
        Error::InvalidArgument(vec![FieldViolation {
            field: field.into(),
            description: description.into(),
        }])
    }

    /// The named resource does not exist.
    pub fn not_found(resource: impl Into<String>) -> Self {
        Error::NotFound {
            resource: resource.into(),
        }
    }

    /// The operation is not allowed in the resource's current state.
    pub fn failed_precondition(reason: &'static str, message: impl Into<String>) -> Self {
        Error::FailedPrecondition {
            reason,
            message: message.into(),
        }
    }

    /// Prefixes every field path, e.g. `country_code` -> `organization.country_code`.
    pub fn within(self, prefix: &str) -> Self {
        match self {
            Error::InvalidArgument(violations) => Error::InvalidArgument(
                violations
                    .into_iter()
                    .map(|v| FieldViolation {
                        field: format!("{prefix}.{}", v.field),
                        description: v.description,
                    })
                    .collect(),
            ),
            other => other,
        }
    }
}

/// Collects every wrong field of a request, so the caller learns them all at once.
#[derive(Debug, Default)]
pub struct Violations(Vec<FieldViolation>);

impl Violations {
    /// Checks the lengths of a request's lists before anything else is looked
    /// at: every `(field, length, maximum)` over its maximum is refused at
    /// once, so that a request with a huge list costs one comparison, never
    /// a pass over the list.
    pub fn lists_within(lists: &[(&str, usize, usize)]) -> Result<(), Error> {
        let mut v = Violations::new();
        for &(field, len, max) in lists {
            if len > max {
                v.add(field, format!("at most {max} entries, got {len}"));
            }
        }
        v.finish()
    }

    /// An empty collection.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that `field` is wrong.
    pub fn add(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.0.push(FieldViolation {
            field: field.into(),
            description: description.into(),
        });
    }

    /// Records the violations of a nested check, if it failed.
    pub fn merge<T>(&mut self, result: Result<T, Error>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(Error::InvalidArgument(violations)) => {
                self.0.extend(violations);
                None
            }
            Err(other) => {
                self.add("", other.to_string());
                None
            }
        }
    }

    /// `Ok` when nothing was recorded, otherwise INVALID_ARGUMENT with every violation.
    pub fn finish(self) -> Result<(), Error> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Error::InvalidArgument(self.0))
        }
    }
}

impl Error {
    fn code(&self) -> Code {
        match self {
            Error::InvalidArgument(_) => Code::InvalidArgument,
            Error::NotFound { .. } => Code::NotFound,
            Error::AlreadyExists { .. } => Code::AlreadyExists,
            Error::Aborted { .. } => Code::Aborted,
            Error::FailedPrecondition { .. } => Code::FailedPrecondition,
            Error::ResourceExhausted { .. } => Code::ResourceExhausted,
            Error::Unavailable(_) => Code::Unavailable,
            Error::Internal(_) => Code::Internal,
        }
    }

    fn info(&self) -> ErrorInfo {
        let (reason, metadata): (&str, HashMap<String, String>) = match self {
            Error::InvalidArgument(_) => ("INVALID_FIELD", HashMap::new()),
            Error::NotFound { resource } => ("NOT_FOUND", resource_meta(resource)),
            Error::AlreadyExists { resource, .. } => ("ALREADY_EXISTS", resource_meta(resource)),
            Error::Aborted { resource, .. } => ("ETAG_MISMATCH", resource_meta(resource)),
            Error::FailedPrecondition { reason, .. } => (reason, HashMap::new()),
            Error::ResourceExhausted { reason, .. } => (reason, HashMap::new()),
            Error::Unavailable(_) => ("UNAVAILABLE", HashMap::new()),
            Error::Internal(_) => ("INTERNAL", HashMap::new()),
        };
        ErrorInfo::new(reason, ERROR_DOMAIN, metadata)
    }
}

fn resource_meta(resource: &str) -> HashMap<String, String> {
    HashMap::from([("resource".to_string(), resource.to_string())])
}

/// Field violations sent in an error's details at most, and the bytes
/// they may take together; the message names how many more there were.
pub const MAX_VIOLATIONS: usize = 50;
const MAX_VIOLATION_BYTES: usize = 3000;
/// Longest field path in an error, in bytes (longer ones are cut).
const MAX_FIELD: usize = 100;
/// Longest description of a violation, in bytes.
const MAX_DESCRIPTION: usize = 160;
/// Longest message of an error, in bytes, and longest resource name echoed.
const MAX_MESSAGE: usize = 1000;
const MAX_RESOURCE: usize = 200;

/// `text` cut to at most `max` bytes at a character boundary, with `…` when
/// cut: an error echoes what the caller sent, and its trailers must fit the
/// 8 KiB of metadata that gRPC clients accept by default.
pub fn cut(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max.saturating_sub('…'.len_utf8());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

impl Error {
    /// The same error with every echoed text cut and at most
    /// [`MAX_VIOLATIONS`] violations, so that it fits in trailers.
    fn bounded(self) -> (Error, usize) {
        match self {
            Error::InvalidArgument(violations) => {
                let total = violations.len();
                let mut bytes = 0;
                let kept: Vec<FieldViolation> = violations
                    .into_iter()
                    .take(MAX_VIOLATIONS)
                    .map(|v| FieldViolation {
                        field: cut(&v.field, MAX_FIELD),
                        description: cut(&v.description, MAX_DESCRIPTION),
                    })
                    .take_while(|v| {
                        bytes += v.field.len() + v.description.len();
                        bytes <= MAX_VIOLATION_BYTES
                    })
                    .collect();
                let more = total - kept.len();
                (Error::InvalidArgument(kept), more)
            }
            Error::NotFound { resource } => (
                Error::NotFound {
                    resource: cut(&resource, MAX_RESOURCE),
                },
                0,
            ),
            Error::AlreadyExists { resource, message } => (
                Error::AlreadyExists {
                    resource: cut(&resource, MAX_RESOURCE),
                    message: cut(&message, MAX_MESSAGE),
                },
                0,
            ),
            Error::Aborted { resource, etag } => (
                Error::Aborted {
                    resource: cut(&resource, MAX_RESOURCE),
                    etag: cut(&etag, MAX_RESOURCE),
                },
                0,
            ),
            Error::FailedPrecondition { reason, message } => (
                Error::FailedPrecondition {
                    reason,
                    message: cut(&message, MAX_MESSAGE),
                },
                0,
            ),
            Error::ResourceExhausted { reason, message } => (
                Error::ResourceExhausted {
                    reason,
                    message: cut(&message, MAX_MESSAGE),
                },
                0,
            ),
            Error::Unavailable(message) => (Error::Unavailable(cut(&message, MAX_MESSAGE)), 0),
            internal @ Error::Internal(_) => (internal, 0),
        }
    }
}

impl From<Error> for Status {
    fn from(error: Error) -> Self {
        let (error, more) = error.bounded();
        let mut details: Vec<ErrorDetail> = vec![error.info().into()];
        if let Error::InvalidArgument(violations) = &error {
            let mut bad = BadRequest::new(Vec::new());
            for v in violations {
                bad.add_violation(v.field.clone(), v.description.clone());
            }
            details.push(bad.into());
        }
        if let Error::Internal(message) = &error {
            // Internal details stay in our logs; the caller gets an opaque message.
            tracing::error!(error = %message, "internal error");
            return Status::with_error_details_vec(
                Code::Internal,
                "internal error; it has been logged",
                details,
            );
        }
        let mut message = error.to_string();
        if more > 0 {
            message = format!(
                "{} (and {more} more wrong fields)",
                cut(&message, MAX_MESSAGE - 40)
            );
        }
        Status::with_error_details_vec(error.code(), cut(&message, MAX_MESSAGE), details)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn invalid_argument_carries_field_violations() {
        let status = Status::from(Error::invalid("organization.country_code", "unknown code"));
        assert_eq!(status.code(), Code::InvalidArgument);
        assert!(status.message().contains("organization.country_code"));
        let bad = status
            .get_details_bad_request()
            .expect("bad request detail");
        assert_eq!(bad.field_violations[0].field, "organization.country_code");
        let info = status.get_details_error_info().expect("error info");
        assert_eq!(info.reason, "INVALID_FIELD");
        assert_eq!(info.domain, ERROR_DOMAIN);
    }

    #[test]
    fn errors_fit_in_the_metadata_clients_accept() {
        let mut violations = Violations::new();
        for n in 0..5_000 {
            violations.add(
                format!("organization.identifiers[{n}].{}", "x".repeat(3_000)),
                format!("\"{}\" is not a valid identifier", "é".repeat(3_000)),
            );
        }
        let status = Status::from(violations.finish().unwrap_err());
        let bad = status.get_details_bad_request().unwrap();
        let kept = bad.field_violations.len();
        assert!(
            (1..MAX_VIOLATIONS).contains(&kept),
            "{kept} violations kept"
        );
        let more = format!("and {} more", 5_000 - kept);
        assert!(status.message().contains(&more), "{}", status.message());
        let mut headers = http::HeaderMap::new();
        status.add_header(&mut headers).unwrap();
        let size: usize = headers
            .iter()
            .map(|(k, v)| k.as_str().len() + v.len())
            .sum();
        assert!(size < 8 * 1024, "{size} bytes of trailers");
        let long = Status::from(Error::not_found(
            "organizations/".to_string() + &"a".repeat(5_000),
        ));
        assert!(long.message().len() < 300);
    }

    #[test]
    fn within_prefixes_fields() {
        let e = Error::invalid("name", "empty").within("group");
        assert_eq!(e, Error::invalid("group.name", "empty"));
    }

    #[test]
    fn internal_hides_detail() {
        let status = Status::from(Error::Internal("secret sql".into()));
        assert_eq!(status.code(), Code::Internal);
        assert!(!status.message().contains("secret"));
    }
}
