//! Documents brought over already published: a guidance library moved over
//! whole, or a benchmark's corpus.

use innolab_kit::Error;
use innolab_kit::changes::record_all;
use innolab_kit::db::now_micros;

use super::*;
use crate::domain::{DocumentFields, Translation, today};

impl Store {
    /// Stores `documents` as published, in one transaction: each a new
    /// document whose current edition is its first, PUBLISHED at once with
    /// `translations` and indexed for search. The rows are what creating,
    /// submitting and publishing through the API leaves (but revision 1
    /// throughout, the creation being the only change recorded), in a
    /// fraction of the statements and one transaction instead of four per
    /// document. The fields are taken as the API layer validates them;
    /// there is no request id to retry by: a failed batch stores nothing
    /// and can be sent again. The batch holds the service's write lock
    /// until it commits (500 documents: about a second on PostgreSQL, two on
    /// SQLite, in the benchmark), so other writers wait for it. Returns the
    /// new documents' ids, in order.
    pub async fn import_published(
        &self,
        documents: &[(DocumentFields, Vec<Translation>)],
    ) -> Result<Vec<String>, Error> {
        let ids: Vec<String> = documents.iter().map(|_| new_id()).collect();
        let now = now_micros();
        let today = today().to_string();
        let mut tx = self.begin().await?;
        let names: Vec<String> = ids
            .iter()
            .flat_map(|id| {
                [
                    format!("documents/{id}"),
                    format!("documents/{id}/editions/1"),
                ]
            })
            .collect();
        record_all(&self.db, &mut tx, &names, ChangeType::Created, 1, now).await?;
        for (id, (fields, translations)) in ids.iter().zip(documents) {
            let taken = Error::Internal(format!("new document id {id} is taken"));
            super::documents::insert(&mut tx, id, fields, None, Some(&today), now, taken).await?;
            super::documents::write_facets(&mut tx, id, fields).await?;
            sqlx::query(
                "INSERT INTO editions (document_id, number, state, translations, change_note, \
                 state_reason, publish_time, revision, create_time, update_time) \
                 VALUES ($1, 1, 'PUBLISHED', $2, '', '', $3, 1, $3, $3)",
            )
            .bind(id)
            .bind(json(translations)?)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            for t in translations {
                self.index_translation(&mut tx, id, 1, t).await?;
            }
        }
        tx.commit().await?;
        Ok(ids)
    }
}
