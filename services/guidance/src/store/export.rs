//! Reads for the open-data export: every published document with its
//! current edition, in one snapshot (`innolab_kit::store::Snapshot`),
//! streamed one at a time in id order.

use std::future::Future;

use innolab_kit::Error;
use innolab_kit::domain::Meta;
use innolab_kit::sql::Sql;
use innolab_kit::store::Snapshot;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::documents::{COLUMNS, document};
use super::*;
use crate::domain::{Document, Edition, EditionFields, EditionState};

/// Every document whose current edition is published, with that edition,
/// in `snapshot`, handed to `sink` in id order.
pub async fn each_published<E, F, Fut>(snapshot: &mut Snapshot, sink: F) -> Result<u64, E>
where
    E: From<Error>,
    F: FnMut((Document, Edition)) -> Fut,
    Fut: Future<Output = Result<(), E>>,
{
    let document_columns: Vec<String> = COLUMNS
        .split(',')
        .map(|c| format!("d.{}", c.trim()))
        .collect();
    let sql = Sql::new(&format!(
        "SELECT {}, e.number AS e_number, e.state AS e_state, \
         e.translations AS e_translations, e.change_note AS e_change_note, \
         e.state_reason AS e_state_reason, e.publish_time AS e_publish_time, \
         e.revision AS e_revision, e.create_time AS e_create_time, \
         e.update_time AS e_update_time \
         FROM documents d JOIN editions e \
         ON e.document_id = d.id AND e.number = d.current_edition \
         WHERE e.state = 'PUBLISHED' ORDER BY d.id",
        document_columns.join(", ")
    ));
    snapshot.each(&sql, published, sink).await
}

fn published(row: &AnyRow) -> Result<(Document, Edition), Error> {
    let document = document(row)?;
    let edition = Edition {
        document_id: document.id.clone(),
        number: row.try_get("e_number")?,
        fields: EditionFields {
            translations: from_json(&text(row, "e_translations")?)?,
            change_note: text(row, "e_change_note")?,
        },
        state: vocab(&text(row, "e_state")?, EditionState::parse)?,
        state_reason: text(row, "e_state_reason")?,
        publish_time: row.try_get("e_publish_time")?,
        language_fallback: false,
        meta: Meta {
            create_time: row.try_get("e_create_time")?,
            update_time: row.try_get("e_update_time")?,
            revision: row.try_get("e_revision")?,
        },
    };
    Ok((document, edition))
}
