//! Helpers every service's API layer shares: the reply type, AIP-134 update
//! masks, and the mapping between protobuf enums (`<PREFIX>_<NAME>`) and
//! domain vocabularies. Generic: no generated type appears here.

use prost_types::FieldMask;
use tonic::{Response, Status};

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
