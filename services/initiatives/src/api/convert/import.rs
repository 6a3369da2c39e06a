//! ImportInitiatives: a message as an import row, the report as the answer.

use innolab_kit::{Error, FieldViolation, Violations};
use innolab_proto::innolab::initiatives::v1 as pb;

use super::draft_in;
use crate::import::Report;
use crate::store::ImportRow;

/// The import row of `message` at `position`, validated (but for whether its
/// organisations exist); `import_key` is the first message's request id.
pub(crate) fn import_row_in(
    position: i64,
    message: pb::ImportInitiativesRequest,
    import_key: Option<&str>,
) -> Result<ImportRow, Error> {
    let mut v = Violations::new();
    if !message.request_id.is_empty() && Some(message.request_id.as_str()) != import_key {
        v.add(
            "request_id",
            "differs from the first message's; one import has one request_id",
        );
    }
    let initiative = draft_in(&mut v, "initiative", message.initiative);
    v.finish()?;
    let (fields, stage, status) =
        initiative.ok_or_else(|| Error::Internal("validated fields missing".into()))?;
    Ok(ImportRow {
        position,
        fields,
        stage,
        status,
        key: import_key.map(|k| format!("{k}#{position}")),
    })
}

/// The answer to an import.
pub(crate) fn import_response(report: Report) -> pb::ImportInitiativesResponse {
    pb::ImportInitiativesResponse {
        received: report.received,
        imported: report.imported,
        already_imported: report.already_imported,
        errors: report
            .errors
            .into_iter()
            .map(|(position, violations)| row_error(position, violations))
            .collect(),
        rows: report
            .rows
            .into_iter()
            .map(|row| pb::ImportedRow {
                position: row.position,
                initiative: format!("initiatives/{}", row.id),
                already_imported: row.already_imported,
            })
            .collect(),
    }
}

fn row_error(position: i64, violations: Vec<FieldViolation>) -> pb::ImportRowError {
    let message = violations
        .iter()
        .map(|v| format!("{}: {}", v.field, v.description))
        .collect::<Vec<_>>()
        .join("; ");
    pb::ImportRowError {
        position,
        message,
        violations: violations
            .into_iter()
            .map(|v| pb::RowViolation {
                field: v.field,
                description: v.description,
            })
            .collect(),
    }
}
