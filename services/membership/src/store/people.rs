//! People, and the erasure of their personal data.

use innolab_kit::Error;
use innolab_kit::db::now_micros;
use innolab_kit::page::PageRequest;
use innolab_kit::sql::Sql;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::*;
use crate::domain::{Person, PersonFields, PersonQuery};

const COLUMNS: &str = "id, organization_id, display_name, email, phone, language_codes, \
    erase_time, revision, create_time, update_time";

impl Store {
    /// Stores a new person, or returns the one a retried request stored.
    pub async fn create_person(
        &self,
        fields: &PersonFields,
        request_id: Option<&str>,
    ) -> Result<Person, Error> {
        let id = retry_on_conflict(request_id, || self.insert_person(fields, request_id)).await?;
        self.get_person(&id).await
    }

    async fn insert_person(
        &self,
        fields: &PersonFields,
        request_id: Option<&str>,
    ) -> Result<String, Error> {
        let mut tx = self.begin().await?;
        if let Some(id) = existing_request(&mut tx, "people", request_id).await? {
            return Ok(id);
        }
        require_reference(
            &mut tx,
            "organizations",
            "person.organization",
            &fields.organization,
        )
        .await?;
        let id = new_id();
        let now = now_micros();
        sqlx::query(
            "INSERT INTO people (id, organization_id, display_name, email, phone, language_codes, \
             search_text, request_id, revision, create_time, update_time) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9, $9)",
        )
        .bind(&id)
        .bind(id_of(&fields.organization))
        .bind(&fields.display_name)
        .bind(opt(&fields.email))
        .bind(opt(&fields.phone))
        .bind(json(&fields.language_codes)?)
        .bind(fields.search_text())
        .bind(request_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        self.created(&mut tx, &format!("people/{id}"), now).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Reads one person.
    pub async fn get_person(&self, id: &str) -> Result<Person, Error> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM people WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.db.pool())
            .await?
            .ok_or_else(|| Error::not_found(format!("people/{id}")))?;
        person(&row)
    }

    /// Lists people matching `query`, in id order.
    pub async fn list_people(
        &self,
        query: &PersonQuery,
        page: &PageRequest,
    ) -> Result<Page<Person>, Error> {
        let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM people WHERE 1 = 1"));
        and_in(&mut sql, "organization_id", &query.organization_ids, |o| {
            o.as_str().into()
        });
        match query.erased {
            Some(true) => {
                sql.push(" AND erase_time IS NOT NULL");
            }
            Some(false) => {
                sql.push(" AND erase_time IS NULL");
            }
            None => {}
        }
        and_text(&mut sql, "search_text", &query.text);
        and_page(&mut sql, "id", page);
        let rows = sql.build().fetch_all(self.db.pool()).await?;
        let items = rows.iter().map(person).collect::<Result<Vec<_>, _>>()?;
        Ok(paginate(items, page, |p| p.id.as_str()))
    }

    /// Replaces a person's fields; an erased person cannot be changed.
    pub async fn update_person(
        &self,
        id: &str,
        expected_revision: Option<i64>,
        fields: &PersonFields,
    ) -> Result<Person, Error> {
        let name = format!("people/{id}");
        let mut tx = self.begin().await?;
        bump_checked(
            &self.db,
            &mut tx,
            "people",
            id,
            &name,
            expected_revision,
            now_micros(),
        )
        .await?;
        refuse_erased(&mut tx, id, &name).await?;
        require_reference(
            &mut tx,
            "organizations",
            "person.organization",
            &fields.organization,
        )
        .await?;
        sqlx::query(
            "UPDATE people SET organization_id = $1, display_name = $2, email = $3, phone = $4, \
             language_codes = $5, search_text = $6 WHERE id = $7",
        )
        .bind(id_of(&fields.organization))
        .bind(&fields.display_name)
        .bind(opt(&fields.email))
        .bind(opt(&fields.phone))
        .bind(json(&fields.language_codes)?)
        .bind(fields.search_text())
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.get_person(id).await
    }

    /// Clears a person's personal data, keeping the record and what points at it.
    /// Erasing twice is refused, so the first erasure's time and reason stay.
    pub async fn erase_person(&self, id: &str, reason: &str) -> Result<Person, Error> {
        let name = format!("people/{id}");
        let mut tx = self.begin().await?;
        let now = now_micros();
        bump_checked(&self.db, &mut tx, "people", id, &name, None, now).await?;
        refuse_erased(&mut tx, id, &name).await?;
        sqlx::query(
            "UPDATE people SET display_name = NULL, email = NULL, phone = NULL, \
             language_codes = '[]', search_text = '', erase_time = $1, erase_reason = $2 \
             WHERE id = $3",
        )
        .bind(now)
        .bind(reason)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.get_person(id).await
    }
}

async fn refuse_erased(tx: &mut innolab_kit::db::Tx, id: &str, name: &str) -> Result<(), Error> {
    let erased: Option<i64> = sqlx::query("SELECT erase_time FROM people WHERE id = $1")
        .bind(id)
        .fetch_one(&mut **tx)
        .await?
        .try_get("erase_time")?;
    if erased.is_some() {
        return Err(Error::failed_precondition(
            "PERSON_ERASED",
            format!("{name} has been erased; its personal data cannot be written again"),
        ));
    }
    Ok(())
}

/// Refuses a reference to a person who does not exist or has been erased.
pub(super) async fn require_person(
    tx: &mut innolab_kit::db::Tx,
    field: &str,
    name: &str,
) -> Result<(), Error> {
    let row = sqlx::query("SELECT erase_time FROM people WHERE id = $1")
        .bind(id_of(name))
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| Error::invalid(field, format!("{name} does not exist")))?;
    if row.try_get::<Option<i64>, _>("erase_time")?.is_some() {
        return Err(Error::failed_precondition(
            "PERSON_ERASED",
            format!("{name} has been erased and cannot take on new roles"),
        ));
    }
    Ok(())
}

fn person(row: &AnyRow) -> Result<Person, Error> {
    Ok(Person {
        id: row.try_get("id")?,
        fields: PersonFields {
            organization: format!("organizations/{}", text(row, "organization_id")?),
            display_name: text(row, "display_name")?,
            email: text(row, "email")?,
            phone: text(row, "phone")?,
            language_codes: from_json(&row.try_get::<String, _>("language_codes")?)?,
        },
        erase_time: row.try_get("erase_time")?,
        meta: meta(row)?,
    })
}
