//! Where the membership service names a person: the steps of memberships
//! they decided, and the post holdings they hold or decided.

use innolab_kit::Error;
use innolab_kit::domain::PersonReference;
use sqlx::Row;

use super::{Store, id_of, opt, text};

impl Store {
    /// Every record naming `person` (`people/{id}`).
    pub async fn find_person_references(
        &self,
        person: &str,
    ) -> Result<Vec<PersonReference>, Error> {
        let pool = self.db.pool();
        let mut found = Vec::new();
        let steps = sqlx::query(
            "SELECT membership_id, from_state, to_state, reason, time FROM membership_events \
             WHERE decided_by = $1",
        )
        .bind(person)
        .fetch_all(pool)
        .await?;
        for row in steps {
            let from = opt(&text(&row, "from_state")?).map(str::to_string);
            found.push(PersonReference {
                resource: format!("memberships/{}", text(&row, "membership_id")?),
                field: "history.decided_by",
                time: Some(row.try_get("time")?),
                detail: PersonReference::step(
                    from.as_deref(),
                    &text(&row, "to_state")?,
                    &text(&row, "reason")?,
                ),
            });
        }
        let holdings = sqlx::query(
            "SELECT post_id, person_id, decided_by, start_date, end_date, reason \
             FROM post_holdings WHERE person_id = $1 OR decided_by = $2",
        )
        .bind(id_of(person))
        .bind(person)
        .fetch_all(pool)
        .await?;
        for row in holdings {
            let end: Option<String> = row.try_get("end_date")?;
            let mut detail = format!(
                "held from {} to {}",
                text(&row, "start_date")?,
                end.as_deref().unwrap_or("now")
            );
            let reason = text(&row, "reason")?;
            if !reason.is_empty() {
                detail = format!("{detail}: {reason}");
            }
            let post = format!("posts/{}", text(&row, "post_id")?);
            if text(&row, "person_id")? == id_of(person) {
                found.push(PersonReference {
                    resource: post.clone(),
                    field: "holdings.person",
                    time: None,
                    detail: detail.clone(),
                });
            }
            if text(&row, "decided_by")? == person {
                found.push(PersonReference {
                    resource: post,
                    field: "holdings.decided_by",
                    time: None,
                    detail,
                });
            }
        }
        Ok(found)
    }
}
