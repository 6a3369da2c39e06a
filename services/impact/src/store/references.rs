//! Where the impact service names a person: the workflow steps of
//! assessments they decided or reviewed, the assessments they evaluate and
//! the capacity rounds they assessed. All of these live in JSON documents:
//! found by their text, then matched exactly on the parsed record.

use innolab_kit::Error;
use innolab_kit::domain::PersonReference;

use super::{assessments, capacity};
use crate::store::Store;

impl Store {
    /// Every record naming `person` (`people/{id}`).
    pub async fn find_person_references(
        &self,
        person: &str,
    ) -> Result<Vec<PersonReference>, Error> {
        let pool = self.db.pool();
        // The name as it appears in the JSON text (a whole string).
        let quoted = format!("\"{person}\"");
        let mut found = Vec::new();
        let rows = sqlx::query(&format!(
            "SELECT {} FROM {} WHERE d.history LIKE '%' || $1 || '%' \
             OR d.body LIKE '%' || $1 || '%'",
            assessments::COLUMNS,
            assessments::FROM
        ))
        .bind(&quoted)
        .fetch_all(pool)
        .await?;
        for row in rows {
            let a = assessments::assessment(&row)?;
            for step in a.history.iter().filter(|e| e.decision.decided_by == person) {
                let to = match step.review {
                    Some(review) => format!("{} ({})", step.to_state.as_str(), review.as_str()),
                    None => step.to_state.as_str().to_string(),
                };
                found.push(PersonReference {
                    resource: format!("assessments/{}", a.id),
                    field: "history.decided_by",
                    time: Some(step.time),
                    detail: PersonReference::step(
                        Some(step.from_state.as_str()),
                        &to,
                        &step.decision.reason,
                    ),
                });
            }
            if a.fields.evaluators.iter().any(|e| e == person) {
                found.push(PersonReference {
                    resource: format!("assessments/{}", a.id),
                    field: "evaluators",
                    time: Some(a.meta.create_time),
                    detail: format!("evaluates {}", a.fields.initiative),
                });
            }
        }
        let rows = sqlx::query(&format!(
            "SELECT {} FROM capacity_assessments WHERE body LIKE '%' || $1 || '%'",
            capacity::COLUMNS
        ))
        .bind(&quoted)
        .fetch_all(pool)
        .await?;
        for row in rows {
            let c = capacity::capacity(&row)?;
            if c.fields.assessors.iter().any(|a| a == person) {
                found.push(PersonReference {
                    resource: c.name(),
                    field: "assessors",
                    time: Some(c.meta.create_time),
                    detail: format!("assessed {} in round {}", c.fields.subject, c.fields.round),
                });
            }
        }
        Ok(found)
    }
}
