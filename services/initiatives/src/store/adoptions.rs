//! Adoptions between initiatives, their confirmations and withdrawal, and
//! the reuse counts of the portfolio summary.

use innolab_kit::db::now_micros;
use innolab_kit::page::PageRequest;
use innolab_kit::sql::Sql;
use innolab_kit::{Error, Violations};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::*;
use crate::domain::{
    Adoption, AdoptionFields, AdoptionKind, AdoptionQuery, AdoptionSide, AdoptionState,
    InitiativeQuery, PortfolioSummary, Step,
};

const COLUMNS: &str = "id, initiative_id, source_id, kind, state, adopting_organization, \
     adoption_date, adaptations, rationale, outcome, source_confirmed_by, source_confirm_time, \
     adopter_confirmed_by, adopter_confirm_time, withdrawn_by, withdraw_reason, withdraw_time, \
     revision, create_time, update_time";

impl Store {
    /// Stores a new (PROPOSED) adoption, or returns the one a retried
    /// request stored. The adopting organisation defaults to the adopter's
    /// lead organisation.
    pub async fn create_adoption(
        &self,
        fields: &AdoptionFields,
        request_id: Option<&str>,
    ) -> Result<Adoption, Error> {
        let id = retry_on_conflict(request_id, || async {
            let mut tx = self.begin().await?;
            if let Some(id) = existing_request(&mut tx, "adoptions", request_id).await? {
                return Ok(id);
            }
            let lead = require_pair(&mut tx, fields).await?;
            refuse_duplicate(&mut tx, fields).await?;
            if fields.kind.carries_solution() {
                refuse_cycle(&mut tx, fields).await?;
            }
            let adopting = if fields.adopting_organization.is_empty() {
                lead
            } else {
                fields.adopting_organization.clone()
            };
            let id = new_id();
            let now = now_micros();
            created(&self.db, &mut tx, &format!("adoptions/{id}"), now).await?;
            sqlx::query(
                "INSERT INTO adoptions (id, initiative_id, source_id, kind, state, \
                 adopting_organization, adoption_date, adaptations, rationale, outcome, \
                 request_id, revision, create_time, update_time) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 1, $12, $12)",
            )
            .bind(&id)
            .bind(&fields.initiative)
            .bind(&fields.source)
            .bind(fields.kind.as_str())
            .bind(AdoptionState::Proposed.as_str())
            .bind(&adopting)
            .bind(date_text(fields.adoption_date))
            .bind(&fields.adaptations)
            .bind(&fields.rationale)
            .bind(&fields.outcome)
            .bind(request_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(id)
        })
        .await?;
        self.get_adoption(&id).await
    }

    /// Reads one adoption.
    pub async fn get_adoption(&self, id: &str) -> Result<Adoption, Error> {
        let row = self
            .row("adoptions", COLUMNS, id, format!("adoptions/{id}"))
            .await?;
        adoption(&row)
    }

    /// Lists adoptions matching `query`, in id (creation) order.
    pub async fn list_adoptions(
        &self,
        query: &AdoptionQuery,
        page: &PageRequest,
    ) -> Result<Page<Adoption>, Error> {
        let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM adoptions WHERE 1 = 1"));
        and_in(&mut sql, "initiative_id", &query.initiatives);
        and_in(&mut sql, "source_id", &query.sources);
        and_in(&mut sql, "state", &query.states);
        and_in(&mut sql, "kind", &query.kinds);
        and_page(&mut sql, "id", page);
        let rows = sql.build().fetch_all(self.db.pool()).await?;
        let items = rows.iter().map(adoption).collect::<Result<Vec<_>, _>>()?;
        Ok(paginate(items, page, |a| a.id.as_str()))
    }

    /// Replaces an adoption's texts and date, guarded by `expected_revision`.
    pub async fn update_adoption(
        &self,
        id: &str,
        expected_revision: Option<i64>,
        fields: &AdoptionFields,
    ) -> Result<Adoption, Error> {
        let (mut tx, stored) = self.begin_adoption_step(id, expected_revision).await?;
        stored.check_update()?;
        sqlx::query(
            "UPDATE adoptions SET adoption_date = $1, adaptations = $2, rationale = $3, \
             outcome = $4 WHERE id = $5",
        )
        .bind(date_text(fields.adoption_date))
        .bind(&fields.adaptations)
        .bind(&fields.rationale)
        .bind(&fields.outcome)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.get_adoption(id).await
    }

    /// Records `side`'s confirmation by `by` (`people/{id}`).
    pub async fn confirm_adoption(
        &self,
        id: &str,
        expected_revision: Option<i64>,
        side: AdoptionSide,
        by: &str,
    ) -> Result<Adoption, Error> {
        let (mut tx, stored) = self.begin_adoption_step(id, expected_revision).await?;
        let step = stored.confirm(side)?;
        let now = now_micros();
        for (confirms, who, when) in [
            (step.source, "source_confirmed_by", "source_confirm_time"),
            (step.adopter, "adopter_confirmed_by", "adopter_confirm_time"),
        ] {
            if confirms {
                sqlx::query(&format!(
                    "UPDATE adoptions SET {who} = $1, {when} = $2 WHERE id = $3"
                ))
                .bind(by)
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            }
        }
        set_state(&mut tx, id, step.to).await?;
        tx.commit().await?;
        self.get_adoption(id).await
    }

    /// Withdraws an adoption, recording who, why and when.
    pub async fn withdraw_adoption(
        &self,
        id: &str,
        expected_revision: Option<i64>,
        by: &str,
        reason: &str,
    ) -> Result<Adoption, Error> {
        let (mut tx, stored) = self.begin_adoption_step(id, expected_revision).await?;
        stored.check_withdraw()?;
        sqlx::query(
            "UPDATE adoptions SET withdrawn_by = $1, withdraw_reason = $2, withdraw_time = $3 \
             WHERE id = $4",
        )
        .bind(by)
        .bind(reason)
        .bind(now_micros())
        .bind(id)
        .execute(&mut *tx)
        .await?;
        set_state(&mut tx, id, AdoptionState::Withdrawn).await?;
        tx.commit().await?;
        self.get_adoption(id).await
    }

    /// Starts a write of adoption `id` (etag checked, revision bumped and
    /// logged) and reads it as it stands inside the transaction.
    async fn begin_adoption_step(
        &self,
        id: &str,
        expected_revision: Option<i64>,
    ) -> Result<(innolab_kit::db::Tx, Adoption), Error> {
        let resource = format!("adoptions/{id}");
        let mut tx = self
            .begin_update("adoptions", id, &resource, expected_revision)
            .await?;
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM adoptions WHERE id = $1"))
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| Error::not_found(resource))?;
        let stored = adoption(&row)?;
        Ok((tx, stored))
    }

    /// `summary` with its reused and original counts: the initiatives
    /// matching `query` that adopted, adapted or scaled a case through a
    /// confirmed adoption, by country and facet (one GROUP BY each, over
    /// the confirmed adoptions' adopters, never every initiative).
    pub(super) async fn with_reuse(
        &self,
        mut summary: PortfolioSummary,
        query: &InitiativeQuery,
    ) -> Result<PortfolioSummary, Error> {
        let pool = self.db.pool();
        let by = |expr: &str| {
            let mut sql = Sql::new(&format!(
                "SELECT {expr} AS value, COUNT(*) AS n FROM initiatives WHERE id IN \
                 (SELECT initiative_id FROM adoptions WHERE state = "
            ));
            sql.bind(AdoptionState::Confirmed.as_str());
            sql.push(" AND kind IN ");
            sql.bind_list(AdoptionKind::solution_kinds().into_iter().map(Into::into));
            sql.push(")");
            super::initiatives::and_query(&mut sql, query, None);
            sql.push(" GROUP BY ").push(expr).push(" ORDER BY 1");
            sql
        };
        let counts = |sql: Sql| async move {
            let rows = sql.build().fetch_all(pool).await?;
            rows.iter()
                .map(|r| Ok((r.try_get::<String, _>("value")?, r.try_get::<i64, _>("n")?)))
                .collect::<Result<Vec<(String, i64)>, Error>>()
        };
        let by_country = counts(by("country_code")).await?;
        let by_facet = counts(by("COALESCE(facet, 'UNSPECIFIED')")).await?;
        summary.set_reuse(by_country, by_facet);
        Ok(summary)
    }
}

async fn set_state(
    tx: &mut innolab_kit::db::Tx,
    id: &str,
    state: AdoptionState,
) -> Result<(), Error> {
    sqlx::query("UPDATE adoptions SET state = $1 WHERE id = $2")
        .bind(state.as_str())
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// INVALID_ARGUMENT naming `initiative` or `source` when either does not
/// exist; the adopter's lead organisation otherwise.
async fn require_pair(
    tx: &mut innolab_kit::db::Tx,
    fields: &AdoptionFields,
) -> Result<String, Error> {
    let mut v = Violations::new();
    let mut lead = String::new();
    for (field, id) in [
        ("initiative", &fields.initiative),
        ("source", &fields.source),
    ] {
        let row = sqlx::query("SELECT lead_organization FROM initiatives WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?;
        match row {
            Some(row) if field == "initiative" => lead = row.try_get("lead_organization")?,
            Some(_) => {}
            None => v.add(field, format!("initiatives/{id} does not exist")),
        }
    }
    v.finish().map_err(|e| e.within("adoption"))?;
    Ok(lead)
}

/// ALREADY_EXISTS when the adopter already has an adoption of this source
/// that is not withdrawn.
async fn refuse_duplicate(
    tx: &mut innolab_kit::db::Tx,
    fields: &AdoptionFields,
) -> Result<(), Error> {
    let row = sqlx::query(
        "SELECT id FROM adoptions WHERE initiative_id = $1 AND source_id = $2 AND state <> $3",
    )
    .bind(&fields.initiative)
    .bind(&fields.source)
    .bind(AdoptionState::Withdrawn.as_str())
    .fetch_optional(&mut **tx)
    .await?;
    match row {
        Some(row) => {
            let id: String = row.try_get("id")?;
            Err(Error::AlreadyExists {
                resource: format!("adoptions/{id}"),
                message: format!(
                    "initiatives/{} already records an adoption of initiatives/{}: adoptions/{id}",
                    fields.initiative, fields.source
                ),
            })
        }
        None => Ok(()),
    }
}

/// FAILED_PRECONDITION (ADOPTION_CYCLE) when the source already descends
/// from the adopter through adoptions that carry a solution on (proposed or
/// confirmed): the new one would close a cycle.
async fn refuse_cycle(tx: &mut innolab_kit::db::Tx, fields: &AdoptionFields) -> Result<(), Error> {
    let kinds = || AdoptionKind::solution_kinds().into_iter().map(Into::into);
    let live = AdoptionState::Withdrawn.as_str();
    let mut sql = Sql::new(
        "WITH RECURSIVE below (id) AS (SELECT initiative_id FROM adoptions WHERE source_id = ",
    );
    sql.bind(fields.initiative.as_str())
        .push(" AND state <> ")
        .bind(live)
        .push(" AND kind IN ");
    sql.bind_list(kinds());
    sql.push(
        " UNION SELECT a.initiative_id FROM adoptions a JOIN below b ON a.source_id = b.id \
         WHERE a.state <> ",
    )
    .bind(live)
    .push(" AND a.kind IN ");
    sql.bind_list(kinds());
    sql.push(") SELECT 1 AS one FROM below WHERE id = ")
        .bind(fields.source.as_str());
    if sql.build().fetch_optional(&mut **tx).await?.is_some() {
        return Err(Error::failed_precondition(
            "ADOPTION_CYCLE",
            format!(
                "adoption.source: initiatives/{} already descends from initiatives/{} \
                 (it adopted, adapted or scaled it, directly or through others), \
                 so this adoption would close a cycle",
                fields.source, fields.initiative
            ),
        ));
    }
    Ok(())
}

fn step(row: &AnyRow, by: &str, time: &str, reason: Option<&str>) -> Result<Option<Step>, Error> {
    let Some(by) = row.try_get::<Option<String>, _>(by)? else {
        return Ok(None);
    };
    Ok(Some(Step {
        by,
        reason: match reason {
            Some(column) => text(row, column)?,
            None => String::new(),
        },
        time: row.try_get::<Option<i64>, _>(time)?.unwrap_or_default(),
    }))
}

fn adoption(row: &AnyRow) -> Result<Adoption, Error> {
    Ok(Adoption {
        id: row.try_get("id")?,
        fields: AdoptionFields {
            initiative: row.try_get("initiative_id")?,
            source: row.try_get("source_id")?,
            kind: vocab(&text(row, "kind")?, AdoptionKind::parse)?,
            adopting_organization: row.try_get("adopting_organization")?,
            adoption_date: date(row.try_get("adoption_date")?)?,
            adaptations: row.try_get("adaptations")?,
            rationale: row.try_get("rationale")?,
            outcome: row.try_get("outcome")?,
        },
        state: vocab(&text(row, "state")?, AdoptionState::parse)?,
        source_confirmation: step(row, "source_confirmed_by", "source_confirm_time", None)?,
        adopter_confirmation: step(row, "adopter_confirmed_by", "adopter_confirm_time", None)?,
        withdrawal: step(
            row,
            "withdrawn_by",
            "withdraw_time",
            Some("withdraw_reason"),
        )?,
        meta: meta(row)?,
    })
}
