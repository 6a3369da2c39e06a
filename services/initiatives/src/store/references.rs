//! Where the initiatives service names a person: the timeline steps they
//! made (`actor`, also an accepted submission's screener), the submissions
//! they made and screened, the adoptions they confirmed or withdrew.

use innolab_kit::Error;
use innolab_kit::domain::PersonReference;
use sqlx::Row;

use super::calls::{SUBMISSION_COLUMNS, submission};
use super::{Store, opt, text};

impl Store {
    /// Every record naming `person` (`people/{id}`).
    pub async fn find_person_references(
        &self,
        person: &str,
    ) -> Result<Vec<PersonReference>, Error> {
        let pool = self.db.pool();
        let mut found = Vec::new();
        let steps = sqlx::query(
            "SELECT initiative_id, from_stage, to_stage, from_status, to_status, note, event_time \
             FROM initiative_events WHERE actor = $1",
        )
        .bind(person)
        .fetch_all(pool)
        .await?;
        for row in steps {
            let (from_stage, from_status) = (text(&row, "from_stage")?, text(&row, "from_status")?);
            let from = opt(&from_stage).map(|stage| format!("{stage} {from_status}"));
            let to = format!("{} {}", text(&row, "to_stage")?, text(&row, "to_status")?);
            found.push(PersonReference {
                resource: format!("initiatives/{}", text(&row, "initiative_id")?),
                field: "timeline.actor",
                time: Some(row.try_get("event_time")?),
                detail: PersonReference::step(from.as_deref(), &to, &text(&row, "note")?),
            });
        }
        // Submitted by the person, or screened by them (the screening is a
        // JSON document: found by its text, then matched exactly).
        let rows = sqlx::query(&format!(
            "SELECT {SUBMISSION_COLUMNS} FROM submissions \
             WHERE submitted_by = $1 OR screening LIKE '%' || $1 || '%'"
        ))
        .bind(person)
        .fetch_all(pool)
        .await?;
        for row in rows {
            let s = submission(&row)?;
            let resource = format!("calls/{}/submissions/{}", s.call_id, s.id);
            if s.submitted_by == person {
                found.push(PersonReference {
                    resource: resource.clone(),
                    field: "submitted_by",
                    time: Some(s.meta.create_time),
                    detail: format!("submitted ({})", s.state.as_str()),
                });
            }
            if let Some(screening) = s.screening.filter(|x| x.decided_by == person) {
                found.push(PersonReference {
                    resource,
                    field: "screening.decided_by",
                    time: Some(screening.time),
                    detail: PersonReference::step(
                        None,
                        screening.decision.as_str(),
                        &screening.note,
                    ),
                });
            }
        }
        // Adoptions they confirmed (for either side) or withdrew.
        let rows = sqlx::query(
            "SELECT id, source_confirmed_by, source_confirm_time, adopter_confirmed_by, \
             adopter_confirm_time, withdrawn_by, withdraw_reason, withdraw_time FROM adoptions \
             WHERE source_confirmed_by = $1 OR adopter_confirmed_by = $1 OR withdrawn_by = $1",
        )
        .bind(person)
        .fetch_all(pool)
        .await?;
        for row in rows {
            let resource = format!("adoptions/{}", text(&row, "id")?);
            for (who, time, field, what) in [
                (
                    "source_confirmed_by",
                    "source_confirm_time",
                    "source_confirmation.confirmed_by",
                    "confirmed for the source",
                ),
                (
                    "adopter_confirmed_by",
                    "adopter_confirm_time",
                    "adopter_confirmation.confirmed_by",
                    "confirmed for the adopter",
                ),
                (
                    "withdrawn_by",
                    "withdraw_time",
                    "withdrawal.withdrawn_by",
                    "withdrawn",
                ),
            ] {
                if text(&row, who)? == person {
                    let mut detail = what.to_string();
                    if who == "withdrawn_by" {
                        detail = PersonReference::step(None, what, &text(&row, "withdraw_reason")?);
                    }
                    found.push(PersonReference {
                        resource: resource.clone(),
                        field,
                        time: row.try_get(time)?,
                        detail,
                    });
                }
            }
        }
        Ok(found)
    }
}
