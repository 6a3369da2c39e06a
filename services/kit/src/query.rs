//! Turning a List request's `filter`, `page_size` and `page_token` into what a
//! store needs, with errors that name the request field.

use std::collections::BTreeMap;

use crate::error::Error;
use crate::filter::{self, Op};
use crate::page::{self, PageRequest, PageTokens};

/// The equality restrictions and free-text terms of a filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Restrictions {
    /// Field name -> accepted values (any of them matches).
    pub fields: BTreeMap<String, Vec<String>>,
    /// Free-text terms; each must match.
    pub text: Vec<String>,
}

impl Restrictions {
    /// Takes the values given for `field`, if any.
    pub fn take(&mut self, field: &str) -> Vec<String> {
        self.fields.remove(field).unwrap_or_default()
    }
}

/// Parses an AIP-160 filter restricted to `field = value` comparisons (and
/// parenthesised ORs of them) on `allowed` fields, plus free text.
pub fn restrictions(filter_text: &str, allowed: &[&str]) -> Result<Restrictions, Error> {
    let parsed = filter::parse(filter_text).map_err(|e| Error::invalid("filter", e.0))?;
    let mut out = Restrictions {
        text: parsed.text,
        ..Restrictions::default()
    };
    for condition in parsed.conditions {
        if !allowed.contains(&condition.field.as_str()) {
            return Err(Error::invalid(
                "filter",
                format!(
                    "unknown field `{}`; filterable fields are: {}",
                    condition.field,
                    allowed.join(", ")
                ),
            ));
        }
        if condition.op != Op::Eq {
            return Err(Error::invalid(
                "filter",
                format!("field `{}` supports only `=`", condition.field),
            ));
        }
        if out.fields.contains_key(&condition.field) {
            return Err(Error::invalid(
                "filter",
                format!(
                    "field `{}` appears twice; use (a = x OR a = y) for alternatives",
                    condition.field
                ),
            ));
        }
        out.fields.insert(condition.field, condition.values);
    }
    Ok(out)
}

/// Validates paging fields; `fingerprint` identifies the query (method and
/// filter) so that a token cannot be replayed against another query.
pub fn page(
    tokens: &PageTokens,
    page_size: i32,
    page_token: &str,
    fingerprint: &str,
) -> Result<PageRequest, Error> {
    page::page_request(tokens, page_size, page_token, fingerprint)
        .map_err(|e| Error::invalid(e.field, e.reason))
}
