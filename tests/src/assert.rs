//! What the tests assert about answers, once for every test file: a call's
//! outcome with a message naming the call, INVALID_ARGUMENT naming a field,
//! a status code, and the small values requests are built from.

use std::fmt::Debug;

use prost_types::FieldMask;
use tonic::{Code, Response, Status};
use tonic_types::StatusExt as _;

/// Unwraps a call's outcome with a message that says which call failed.
pub trait Outcome<T> {
    /// The response, or a panic naming the call and the status.
    fn accepted(self, call: &str) -> T;
    /// The status, or a panic naming the call and the unexpected success.
    fn refused(self, call: &str) -> Status;
}

impl<T: Debug> Outcome<T> for Result<Response<T>, Status> {
    #[track_caller]
    fn accepted(self, call: &str) -> T {
        match self {
            Ok(r) => r.into_inner(),
            Err(s) => panic!(
                "{call}: expected success, got {:?}: {}",
                s.code(),
                s.message()
            ),
        }
    }

    #[track_caller]
    fn refused(self, call: &str) -> Status {
        match self {
            Ok(r) => panic!("{call}: expected an error, got {:?}", r.into_inner()),
            Err(s) => s,
        }
    }
}

/// The fields a BadRequest detail names.
pub fn violated_fields(status: &Status) -> Vec<String> {
    status
        .get_details_bad_request()
        .map(|b| b.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default()
}

/// INVALID_ARGUMENT with a field violation naming `field`.
#[track_caller]
pub fn assert_invalid(status: &Status, field: &str) {
    assert_eq!(
        status.code(),
        Code::InvalidArgument,
        "expected INVALID_ARGUMENT naming {field:?}, got {:?}: {}",
        status.code(),
        status.message()
    );
    let fields = violated_fields(status);
    assert!(
        fields.iter().any(|f| f == field),
        "expected a violation of {field:?}, got {fields:?} ({})",
        status.message()
    );
}

/// The status has `code`.
#[track_caller]
pub fn assert_code(status: &Status, code: Code) {
    assert_eq!(
        status.code(),
        code,
        "expected {code:?}, got {:?}: {}",
        status.code(),
        status.message()
    );
}

/// The status has `code` and an ErrorInfo detail carrying `reason`.
#[track_caller]
pub fn assert_reason(status: &Status, code: Code, reason: &str) {
    assert_eq!(
        status.code(),
        code,
        "expected {code:?} ({reason}), got {:?}: {}",
        status.code(),
        status.message()
    );
    let info = status
        .get_details_error_info()
        .unwrap_or_else(|| panic!("{code:?} without ErrorInfo: {}", status.message()));
    assert_eq!(
        info.reason,
        reason,
        "ErrorInfo.reason of {}",
        status.message()
    );
}

/// A calendar date of the contract.
pub fn date(year: i32, month: i32, day: i32) -> innolab_proto::google::r#type::Date {
    innolab_proto::google::r#type::Date { year, month, day }
}

/// An update mask of `paths`.
pub fn mask(paths: &[&str]) -> Option<FieldMask> {
    Some(FieldMask {
        paths: paths.iter().map(|p| p.to_string()).collect(),
    })
}
