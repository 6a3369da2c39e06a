//! Posts and their holders over time.

use innolab_kit::Error;
use innolab_kit::db::now_micros;
use innolab_kit::page::PageRequest;
use innolab_kit::sql::{Sql, Value};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::people::require_person;
use super::*;
use crate::domain::{Assignment, Decision, Post, PostFields, PostHolding, PostQuery, Role};

const COLUMNS: &str = "id, group_id, role, country_code, revision, create_time, update_time";

impl Store {
    /// Stores a new, vacant post, or returns the one a retried request stored.
    pub async fn create_post(
        &self,
        fields: &PostFields,
        request_id: Option<&str>,
    ) -> Result<Post, Error> {
        let id = retry_on_conflict(request_id, || self.insert_post(fields, request_id)).await?;
        self.get_post(&id).await
    }

    async fn insert_post(
        &self,
        fields: &PostFields,
        request_id: Option<&str>,
    ) -> Result<String, Error> {
        let mut tx = self.begin().await?;
        if let Some(id) = existing_request(&mut tx, "posts", request_id).await? {
            return Ok(id);
        }
        require_reference(&mut tx, "network_groups", "post.group", &fields.group).await?;
        let id = new_id();
        let now = now_micros();
        let role = fields.role.map(Role::as_str).unwrap_or_default();
        sqlx::query(
            "INSERT INTO posts (id, group_id, role, country_code, request_id, revision, \
             create_time, update_time) VALUES ($1, $2, $3, $4, $5, 1, $6, $6)",
        )
        .bind(&id)
        .bind(id_of(&fields.group))
        .bind(role)
        .bind(&fields.country_code)
        .bind(request_id)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            conflict(
                e,
                &fields.group,
                &format!(
                    "{} already has a {role} post{}",
                    fields.group,
                    if fields.country_code.is_empty() {
                        String::new()
                    } else {
                        format!(" for {}", fields.country_code)
                    }
                ),
            )
        })?;
        self.created(&mut tx, &format!("posts/{id}"), now).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Reads one post with its holdings.
    pub async fn get_post(&self, id: &str) -> Result<Post, Error> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM posts WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.db.pool())
            .await?
            .ok_or_else(|| Error::not_found(format!("posts/{id}")))?;
        let mut list =
            Self::hydrate_posts(&mut *self.db.pool().acquire().await?, vec![row]).await?;
        list.pop()
            .ok_or_else(|| Error::Internal("post vanished".into()))
    }

    /// Lists posts matching `query`, in id order.
    pub async fn list_posts(
        &self,
        query: &PostQuery,
        page: &PageRequest,
    ) -> Result<Page<Post>, Error> {
        Self::posts_in(&mut *self.db.pool().acquire().await?, query, page).await
    }

    /// [`Store::list_posts`] on `conn` (a snapshot's, for an export).
    pub(super) async fn posts_in(
        conn: &mut sqlx::AnyConnection,
        query: &PostQuery,
        page: &PageRequest,
    ) -> Result<Page<Post>, Error> {
        let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM posts WHERE 1 = 1"));
        and_in(&mut sql, "group_id", &query.group_ids, |g| {
            g.as_str().into()
        });
        and_in(&mut sql, "role", &query.roles, |r| r.as_str().into());
        and_in(&mut sql, "country_code", &query.countries, |c| {
            c.as_str().into()
        });
        and_in(&mut sql, "holder_id", &query.holder_ids, |h| {
            h.as_str().into()
        });
        and_page(&mut sql, "id", page);
        let rows = sql.build().fetch_all(&mut *conn).await?;
        let items = Self::hydrate_posts(conn, rows).await?;
        Ok(paginate(items, page, |p| p.id.as_str()))
    }

    /// Makes `assignment.person` the holder, ending the current holding the
    /// day the new one starts, in one transaction.
    pub async fn assign_post_holder(
        &self,
        id: &str,
        assignment: &Assignment,
    ) -> Result<Post, Error> {
        let current = self.get_post(id).await?;
        check_etag(
            &current.name(),
            current.meta.revision,
            assignment.expected_revision,
        )?;
        current.check_assignment(assignment)?;
        let mut tx = self.begin().await?;
        bump_revision(
            &self.db,
            &mut tx,
            "posts",
            id,
            &current.name(),
            current.meta.revision,
            now_micros(),
        )
        .await?;
        require_person(&mut tx, "person", &assignment.person).await?;
        let start = assignment.start_date.to_string();
        sqlx::query(
            "UPDATE post_holdings SET end_date = $1 WHERE post_id = $2 AND end_date IS NULL",
        )
        .bind(&start)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO post_holdings (post_id, seq, person_id, start_date, decided_by, reason) \
             SELECT $1, COALESCE(MAX(seq), 0) + 1, $2, $3, $4, $5 FROM post_holdings WHERE post_id = $1",
        )
        .bind(id)
        .bind(id_of(&assignment.person))
        .bind(&start)
        .bind(&assignment.decision.decided_by)
        .bind(&assignment.decision.reason)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE posts SET holder_id = $1 WHERE id = $2")
            .bind(id_of(&assignment.person))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.get_post(id).await
    }

    async fn hydrate_posts(
        conn: &mut sqlx::AnyConnection,
        rows: Vec<AnyRow>,
    ) -> Result<Vec<Post>, Error> {
        let mut list = rows.iter().map(post).collect::<Result<Vec<_>, _>>()?;
        if list.is_empty() {
            return Ok(list);
        }
        let mut sql = Sql::new(
            "SELECT post_id, person_id, start_date, end_date, decided_by, reason \
             FROM post_holdings WHERE post_id IN ",
        );
        sql.bind_list(list.iter().map(|p| Value::from(p.id.as_str())));
        sql.push(" ORDER BY post_id, seq");
        for row in sql.build().fetch_all(conn).await? {
            let post_id: String = row.try_get("post_id")?;
            if let Some(p) = list.iter_mut().find(|p| p.id == post_id) {
                p.holdings.push(PostHolding {
                    person: format!("people/{}", text(&row, "person_id")?),
                    start_date: date(row.try_get("start_date")?)?
                        .ok_or_else(|| Error::Internal("holding without start".into()))?,
                    end_date: date(row.try_get("end_date")?)?,
                    decision: Decision {
                        decided_by: row.try_get("decided_by")?,
                        reason: row.try_get("reason")?,
                    },
                });
            }
        }
        Ok(list)
    }
}

fn post(row: &AnyRow) -> Result<Post, Error> {
    Ok(Post {
        id: row.try_get("id")?,
        fields: PostFields {
            group: format!("groups/{}", text(row, "group_id")?),
            role: Some(vocab(&text(row, "role")?, Role::parse)?),
            country_code: text(row, "country_code")?,
        },
        holdings: Vec::new(),
        meta: meta(row)?,
    })
}
