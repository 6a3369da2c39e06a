//! Memberships and their recorded transitions.

use innolab_kit::Error;
use innolab_kit::db::now_micros;
use innolab_kit::page::PageRequest;
use innolab_kit::sql::{Sql, Value};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::people::require_person;
use super::*;
use crate::domain::{
    Decision, Membership, MembershipEvent, MembershipFields, MembershipQuery, MembershipState,
    Role, Transition, today,
};

const COLUMNS: &str = "id, group_id, member, role, state, start_date, end_date, revision, \
    create_time, update_time";

impl Store {
    /// Records an application (state APPLIED), or returns the one a retried
    /// request stored.
    pub async fn create_membership(
        &self,
        fields: &MembershipFields,
        decision: &Decision,
        request_id: Option<&str>,
    ) -> Result<Membership, Error> {
        let id = retry_on_conflict(request_id, || {
            self.insert_membership(fields, decision, request_id)
        })
        .await?;
        self.get_membership(&id).await
    }

    async fn insert_membership(
        &self,
        fields: &MembershipFields,
        decision: &Decision,
        request_id: Option<&str>,
    ) -> Result<String, Error> {
        let mut tx = self.begin().await?;
        if let Some(id) = existing_request(&mut tx, "memberships", request_id).await? {
            return Ok(id);
        }
        require_reference(&mut tx, "network_groups", "membership.group", &fields.group).await?;
        if fields.member.starts_with("people/") {
            require_person(&mut tx, "membership.member", &fields.member).await?;
        } else {
            require_reference(
                &mut tx,
                "organizations",
                "membership.member",
                &fields.member,
            )
            .await?;
        }
        let id = new_id();
        let now = now_micros();
        sqlx::query(
            "INSERT INTO memberships (id, group_id, member, role, state, start_date, request_id, \
             revision, create_time, update_time) VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $8)",
        )
        .bind(&id)
        .bind(id_of(&fields.group))
        .bind(&fields.member)
        .bind(fields.role.map(Role::as_str))
        .bind(MembershipState::Applied.as_str())
        .bind(date_text(fields.start_date))
        .bind(request_id)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            conflict(
                e,
                &fields.member,
                &format!(
                    "{} already has an open membership in {} with this role",
                    fields.member, fields.group
                ),
            )
        })?;
        record_event(&mut tx, &id, None, MembershipState::Applied, decision, now).await?;
        self.created(&mut tx, &format!("memberships/{id}"), now)
            .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Reads one membership with its history.
    pub async fn get_membership(&self, id: &str) -> Result<Membership, Error> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM memberships WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.db.pool())
            .await?
            .ok_or_else(|| Error::not_found(format!("memberships/{id}")))?;
        let mut list =
            Self::hydrate_memberships(&mut *self.db.pool().acquire().await?, vec![row]).await?;
        list.pop()
            .ok_or_else(|| Error::Internal("membership vanished".into()))
    }

    /// Lists memberships matching `query`, in id order.
    pub async fn list_memberships(
        &self,
        query: &MembershipQuery,
        page: &PageRequest,
    ) -> Result<Page<Membership>, Error> {
        Self::memberships_in(&mut *self.db.pool().acquire().await?, query, page).await
    }

    /// [`Store::list_memberships`] on `conn` (a snapshot's, for an export).
    pub(super) async fn memberships_in(
        conn: &mut sqlx::AnyConnection,
        query: &MembershipQuery,
        page: &PageRequest,
    ) -> Result<Page<Membership>, Error> {
        let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM memberships WHERE 1 = 1"));
        and_in(&mut sql, "group_id", &query.group_ids, |g| {
            g.as_str().into()
        });
        and_in(&mut sql, "member", &query.members, |m| m.as_str().into());
        and_in(&mut sql, "role", &query.roles, |r| r.as_str().into());
        and_in(&mut sql, "state", &query.states, |s| s.as_str().into());
        and_page(&mut sql, "id", page);
        let rows = sql.build().fetch_all(&mut *conn).await?;
        let items = Self::hydrate_memberships(conn, rows).await?;
        Ok(paginate(items, page, |m| m.id.as_str()))
    }

    /// Applies a lifecycle transition and records it, atomically.
    pub async fn transition_membership(
        &self,
        id: &str,
        transition: &Transition,
    ) -> Result<Membership, Error> {
        let current = self.get_membership(id).await?;
        check_etag(
            &current.name(),
            current.meta.revision,
            transition.expected_revision,
        )?;
        let outcome = current.transition(transition, today())?;
        let mut tx = self.begin().await?;
        let now = now_micros();
        // The guard on the revision read above refuses a concurrent transition.
        bump_revision(
            &self.db,
            &mut tx,
            "memberships",
            id,
            &current.name(),
            current.meta.revision,
            now,
        )
        .await?;
        sqlx::query(
            "UPDATE memberships SET state = $1, start_date = $2, end_date = $3 WHERE id = $4",
        )
        .bind(outcome.state.as_str())
        .bind(date_text(outcome.start_date))
        .bind(date_text(outcome.end_date))
        .bind(id)
        .execute(&mut *tx)
        .await?;
        record_event(
            &mut tx,
            id,
            Some(current.state),
            outcome.state,
            &transition.decision,
            now,
        )
        .await?;
        tx.commit().await?;
        self.get_membership(id).await
    }

    async fn hydrate_memberships(
        conn: &mut sqlx::AnyConnection,
        rows: Vec<AnyRow>,
    ) -> Result<Vec<Membership>, Error> {
        let mut list = rows.iter().map(membership).collect::<Result<Vec<_>, _>>()?;
        if list.is_empty() {
            return Ok(list);
        }
        let mut sql = Sql::new(
            "SELECT membership_id, from_state, to_state, decided_by, reason, time \
             FROM membership_events WHERE membership_id IN ",
        );
        sql.bind_list(list.iter().map(|m| Value::from(m.id.as_str())));
        sql.push(" ORDER BY membership_id, seq");
        for row in sql.build().fetch_all(conn).await? {
            let membership_id: String = row.try_get("membership_id")?;
            if let Some(m) = list.iter_mut().find(|m| m.id == membership_id) {
                m.history.push(MembershipEvent {
                    from_state: opt(&text(&row, "from_state")?)
                        .map(|s| vocab(s, MembershipState::parse))
                        .transpose()?,
                    to_state: vocab(&text(&row, "to_state")?, MembershipState::parse)?,
                    decision: Decision {
                        decided_by: row.try_get("decided_by")?,
                        reason: row.try_get("reason")?,
                    },
                    time: row.try_get("time")?,
                });
            }
        }
        Ok(list)
    }
}

async fn record_event(
    tx: &mut innolab_kit::db::Tx,
    id: &str,
    from: Option<MembershipState>,
    to: MembershipState,
    decision: &Decision,
    now: i64,
) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO membership_events (membership_id, seq, from_state, to_state, decided_by, \
         reason, time) SELECT $1, COALESCE(MAX(seq), 0) + 1, $2, $3, $4, $5, $6 \
         FROM membership_events WHERE membership_id = $1",
    )
    .bind(id)
    .bind(from.map(MembershipState::as_str))
    .bind(to.as_str())
    .bind(&decision.decided_by)
    .bind(&decision.reason)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn membership(row: &AnyRow) -> Result<Membership, Error> {
    Ok(Membership {
        id: row.try_get("id")?,
        fields: MembershipFields {
            group: format!("groups/{}", text(row, "group_id")?),
            member: row.try_get("member")?,
            role: Some(vocab(&text(row, "role")?, Role::parse)?),
            start_date: date(row.try_get("start_date")?)?,
        },
        state: vocab(&text(row, "state")?, MembershipState::parse)?,
        end_date: date(row.try_get("end_date")?)?,
        history: Vec::new(),
        meta: meta(row)?,
    })
}
