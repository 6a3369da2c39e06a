//! Groups of the network.

use innolab_kit::Error;
use innolab_kit::db::now_micros;
use innolab_kit::page::PageRequest;
use innolab_kit::sql::Sql;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::*;
use crate::domain::{Group, GroupFields, GroupKind, GroupQuery};

const COLUMNS: &str =
    "id, display_name, description, kind, parent_id, revision, create_time, update_time";

impl Store {
    /// Stores a new group, or returns the one a retried request stored.
    pub async fn create_group(
        &self,
        fields: &GroupFields,
        request_id: Option<&str>,
    ) -> Result<Group, Error> {
        let id = retry_on_conflict(request_id, || self.insert_group(fields, request_id)).await?;
        self.get_group(&id).await
    }

    async fn insert_group(
        &self,
        fields: &GroupFields,
        request_id: Option<&str>,
    ) -> Result<String, Error> {
        let mut tx = self.begin().await?;
        if let Some(id) = existing_request(&mut tx, "network_groups", request_id).await? {
            return Ok(id);
        }
        if !fields.parent.is_empty() {
            require_reference(&mut tx, "network_groups", "group.parent", &fields.parent).await?;
        }
        let id = new_id();
        let now = now_micros();
        sqlx::query(
            "INSERT INTO network_groups (id, display_name, description, kind, parent_id, \
             search_text, request_id, revision, create_time, update_time) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $8)",
        )
        .bind(&id)
        .bind(&fields.display_name)
        .bind(&fields.description)
        .bind(fields.kind.map(GroupKind::as_str))
        .bind(opt(&fields.parent).map(id_of))
        .bind(fields.search_text())
        .bind(request_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        self.created(&mut tx, &format!("groups/{id}"), now).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Reads one group.
    pub async fn get_group(&self, id: &str) -> Result<Group, Error> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM network_groups WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(self.db.pool())
        .await?
        .ok_or_else(|| Error::not_found(format!("groups/{id}")))?;
        group(&row)
    }

    /// Lists groups matching `query`, in id order.
    pub async fn list_groups(
        &self,
        query: &GroupQuery,
        page: &PageRequest,
    ) -> Result<Page<Group>, Error> {
        Self::groups_in(&mut *self.db.pool().acquire().await?, query, page).await
    }

    /// [`Store::list_groups`] on `conn` (a snapshot's, for an export).
    pub(super) async fn groups_in(
        conn: &mut sqlx::AnyConnection,
        query: &GroupQuery,
        page: &PageRequest,
    ) -> Result<Page<Group>, Error> {
        let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM network_groups WHERE 1 = 1"));
        and_in(&mut sql, "kind", &query.kinds, |k| k.as_str().into());
        and_in(&mut sql, "parent_id", &query.parent_ids, |p| {
            p.as_str().into()
        });
        and_text(&mut sql, "search_text", &query.text);
        and_page(&mut sql, "id", page);
        let rows = sql.build().fetch_all(conn).await?;
        let items = rows.iter().map(group).collect::<Result<Vec<_>, _>>()?;
        Ok(paginate(items, page, |g| g.id.as_str()))
    }

    /// Replaces a group's fields.
    pub async fn update_group(
        &self,
        id: &str,
        expected_revision: Option<i64>,
        fields: &GroupFields,
    ) -> Result<Group, Error> {
        let name = format!("groups/{id}");
        let mut tx = self.begin().await?;
        bump_checked(
            &self.db,
            &mut tx,
            "network_groups",
            id,
            &name,
            expected_revision,
            now_micros(),
        )
        .await?;
        if !fields.parent.is_empty() {
            require_reference(&mut tx, "network_groups", "group.parent", &fields.parent).await?;
            check_no_cycle(
                &mut tx,
                "network_groups",
                "group.parent",
                id,
                id_of(&fields.parent),
            )
            .await?;
        }
        sqlx::query(
            "UPDATE network_groups SET display_name = $1, description = $2, kind = $3, \
             parent_id = $4, search_text = $5 WHERE id = $6",
        )
        .bind(&fields.display_name)
        .bind(&fields.description)
        .bind(fields.kind.map(GroupKind::as_str))
        .bind(opt(&fields.parent).map(id_of))
        .bind(fields.search_text())
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.get_group(id).await
    }
}

fn group(row: &AnyRow) -> Result<Group, Error> {
    let parent = text(row, "parent_id")?;
    Ok(Group {
        id: row.try_get("id")?,
        fields: GroupFields {
            display_name: row.try_get("display_name")?,
            description: text(row, "description")?,
            kind: Some(vocab(&text(row, "kind")?, GroupKind::parse)?),
            parent: if parent.is_empty() {
                parent
            } else {
                format!("groups/{parent}")
            },
        },
        meta: meta(row)?,
    })
}
