//! Organisations and their register identifiers.

use innolab_kit::Error;
use innolab_kit::db::now_micros;
use innolab_kit::page::PageRequest;
use innolab_kit::sql::{Sql, Value};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::*;
use crate::domain::{
    GovernmentFunction, GovernmentLevel, Identifier, LocalizedText, Organization,
    OrganizationFields, OrganizationKind, OrganizationQuery,
};

#[derive(Serialize, Deserialize)]
struct NameJson {
    language_code: String,
    text: String,
}

const COLUMNS: &str = "id, display_names, kind, government_level, country_code, \
    subdivision_code, nuts_code, sector, homepage_uri, parent_id, revision, create_time, update_time";

const GET_ORGANIZATION: &str = "SELECT o.id, o.display_names, o.kind, o.government_level, \
    o.country_code, o.subdivision_code, o.nuts_code, o.sector, o.homepage_uri, o.parent_id, \
    o.revision, o.create_time, o.update_time, i.scheme, i.value \
    FROM organizations o LEFT JOIN organization_identifiers i ON i.organization_id = o.id \
    WHERE o.id = $1 ORDER BY i.position";

impl Store {
    /// Stores a new organisation, or returns the one a retried request stored.
    pub async fn create_organization(
        &self,
        fields: &OrganizationFields,
        request_id: Option<&str>,
    ) -> Result<Organization, Error> {
        let id =
            retry_on_conflict(request_id, || self.insert_organization(fields, request_id)).await?;
        self.get_organization(&id).await
    }

    async fn insert_organization(
        &self,
        fields: &OrganizationFields,
        request_id: Option<&str>,
    ) -> Result<String, Error> {
        let mut tx = self.begin().await?;
        if let Some(id) = existing_request(&mut tx, "organizations", request_id).await? {
            return Ok(id);
        }
        if !fields.parent.is_empty() {
            require_reference(
                &mut tx,
                "organizations",
                "organization.parent",
                &fields.parent,
            )
            .await?;
        }
        let id = new_id();
        let now = now_micros();
        sqlx::query(
            "INSERT INTO organizations (id, display_names, kind, government_level, country_code, \
             subdivision_code, nuts_code, sector, homepage_uri, parent_id, search_text, request_id, \
             revision, create_time, update_time) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 1, $13, $13)",
        )
        .bind(&id)
        .bind(names_json(fields)?)
        .bind(fields.kind.map(OrganizationKind::as_str))
        .bind(fields.government_level.map(GovernmentLevel::as_str))
        .bind(&fields.country_code)
        .bind(opt(&fields.subdivision_code))
        .bind(opt(&fields.nuts_code))
        .bind(fields.sector.map(GovernmentFunction::as_str))
        .bind(opt(&fields.homepage_uri))
        .bind(opt(&fields.parent).map(id_of))
        .bind(fields.search_text())
        .bind(request_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        self.created(&mut tx, &format!("organizations/{id}"), now)
            .await?;
        write_identifiers(&mut tx, &id, &fields.identifiers).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Reads one organisation.
    ///
    /// One statement, the most read path of the suite: the organisation's
    /// columns repeat on a row per identifier (none: one row, identifier
    /// NULL), so the row and its identifiers come in one round trip and are
    /// one snapshot.
    pub async fn get_organization(&self, id: &str) -> Result<Organization, Error> {
        let rows = sqlx::query(GET_ORGANIZATION)
            .bind(id)
            .fetch_all(self.db.pool())
            .await?;
        let first = rows
            .first()
            .ok_or_else(|| Error::not_found(format!("organizations/{id}")))?;
        let mut org = organization(first)?;
        for row in &rows {
            if let Some(scheme) = row.try_get::<Option<String>, _>("scheme")? {
                org.fields.identifiers.push(Identifier {
                    scheme,
                    value: row.try_get("value")?,
                });
            }
        }
        Ok(org)
    }

    /// Lists organisations matching `query`, in id order.
    pub async fn list_organizations(
        &self,
        query: &OrganizationQuery,
        page: &PageRequest,
    ) -> Result<Page<Organization>, Error> {
        Self::organizations_in(&mut *self.db.pool().acquire().await?, query, page).await
    }

    /// [`Store::list_organizations`] on `conn` (a snapshot's, for an export).
    pub(super) async fn organizations_in(
        conn: &mut sqlx::AnyConnection,
        query: &OrganizationQuery,
        page: &PageRequest,
    ) -> Result<Page<Organization>, Error> {
        let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM organizations WHERE 1 = 1"));
        and_in(&mut sql, "kind", &query.kinds, |k| k.as_str().into());
        and_in(&mut sql, "country_code", &query.countries, |c| {
            c.as_str().into()
        });
        and_in(&mut sql, "government_level", &query.levels, |l| {
            l.as_str().into()
        });
        and_in(&mut sql, "sector", &query.sectors, |s| s.as_str().into());
        and_in(&mut sql, "parent_id", &query.parent_ids, |p| {
            p.as_str().into()
        });
        if !query.group_ids.is_empty() || !query.roles.is_empty() || !query.states.is_empty() {
            sql.push(
                " AND EXISTS (SELECT 1 FROM memberships m \
                 WHERE m.member = 'organizations/' || organizations.id",
            );
            and_in(&mut sql, "m.group_id", &query.group_ids, |g| {
                g.as_str().into()
            });
            and_in(&mut sql, "m.role", &query.roles, |r| r.as_str().into());
            and_in(&mut sql, "m.state", &query.states, |s| s.as_str().into());
            sql.push(")");
        }
        and_text(&mut sql, "search_text", &query.text);
        and_page(&mut sql, "id", page);
        let rows = sql.build().fetch_all(&mut *conn).await?;
        let items = Self::hydrate(conn, rows).await?;
        Ok(paginate(items, page, |o| o.id.as_str()))
    }

    /// Replaces an organisation's fields if `expected_revision` (when given) is current.
    pub async fn update_organization(
        &self,
        id: &str,
        expected_revision: Option<i64>,
        fields: &OrganizationFields,
    ) -> Result<Organization, Error> {
        let name = format!("organizations/{id}");
        let mut tx = self.begin().await?;
        let now = now_micros();
        bump_checked(
            &self.db,
            &mut tx,
            "organizations",
            id,
            &name,
            expected_revision,
            now,
        )
        .await?;
        if !fields.parent.is_empty() {
            require_reference(
                &mut tx,
                "organizations",
                "organization.parent",
                &fields.parent,
            )
            .await?;
            check_no_cycle(
                &mut tx,
                "organizations",
                "organization.parent",
                id,
                id_of(&fields.parent),
            )
            .await?;
        }
        sqlx::query(
            "UPDATE organizations SET display_names = $1, kind = $2, government_level = $3, \
             country_code = $4, subdivision_code = $5, nuts_code = $6, sector = $7, \
             homepage_uri = $8, parent_id = $9, search_text = $10 WHERE id = $11",
        )
        .bind(names_json(fields)?)
        .bind(fields.kind.map(OrganizationKind::as_str))
        .bind(fields.government_level.map(GovernmentLevel::as_str))
        .bind(&fields.country_code)
        .bind(opt(&fields.subdivision_code))
        .bind(opt(&fields.nuts_code))
        .bind(fields.sector.map(GovernmentFunction::as_str))
        .bind(opt(&fields.homepage_uri))
        .bind(opt(&fields.parent).map(id_of))
        .bind(fields.search_text())
        .bind(id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM organization_identifiers WHERE organization_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        write_identifiers(&mut tx, id, &fields.identifiers).await?;
        tx.commit().await?;
        self.get_organization(id).await
    }

    /// Turns rows into organisations, loading their identifiers in one query.
    async fn hydrate(
        conn: &mut sqlx::AnyConnection,
        rows: Vec<AnyRow>,
    ) -> Result<Vec<Organization>, Error> {
        let mut orgs = rows
            .iter()
            .map(organization)
            .collect::<Result<Vec<_>, _>>()?;
        if orgs.is_empty() {
            return Ok(orgs);
        }
        let mut sql = Sql::new(
            "SELECT organization_id, scheme, value FROM organization_identifiers \
             WHERE organization_id IN ",
        );
        sql.bind_list(orgs.iter().map(|o| Value::from(o.id.as_str())));
        sql.push(" ORDER BY organization_id, position");
        for row in sql.build().fetch_all(conn).await? {
            let org_id: String = row.try_get("organization_id")?;
            if let Some(org) = orgs.iter_mut().find(|o| o.id == org_id) {
                org.fields.identifiers.push(Identifier {
                    scheme: row.try_get("scheme")?,
                    value: row.try_get("value")?,
                });
            }
        }
        Ok(orgs)
    }
}

fn names_json(fields: &OrganizationFields) -> Result<String, Error> {
    let names: Vec<NameJson> = fields
        .display_names
        .iter()
        .map(|n| NameJson {
            language_code: n.language_code.clone(),
            text: n.text.clone(),
        })
        .collect();
    json(&names)
}

fn organization(row: &AnyRow) -> Result<Organization, Error> {
    let names: Vec<NameJson> = from_json(&row.try_get::<String, _>("display_names")?)?;
    let parent = text(row, "parent_id")?;
    Ok(Organization {
        id: row.try_get("id")?,
        fields: OrganizationFields {
            display_names: names
                .into_iter()
                .map(|n| LocalizedText {
                    language_code: n.language_code,
                    text: n.text,
                })
                .collect(),
            identifiers: Vec::new(),
            kind: Some(vocab(&text(row, "kind")?, OrganizationKind::parse)?),
            government_level: opt(&text(row, "government_level")?)
                .map(|l| vocab(l, GovernmentLevel::parse))
                .transpose()?,
            country_code: row.try_get("country_code")?,
            subdivision_code: text(row, "subdivision_code")?,
            nuts_code: text(row, "nuts_code")?,
            sector: opt(&text(row, "sector")?)
                .map(|s| vocab(s, GovernmentFunction::parse))
                .transpose()?,
            homepage_uri: text(row, "homepage_uri")?,
            parent: if parent.is_empty() {
                parent
            } else {
                format!("organizations/{parent}")
            },
        },
        meta: meta(row)?,
    })
}

async fn write_identifiers(
    tx: &mut innolab_kit::db::Tx,
    id: &str,
    identifiers: &[Identifier],
) -> Result<(), Error> {
    for (position, identifier) in identifiers.iter().enumerate() {
        sqlx::query(
            "INSERT INTO organization_identifiers (scheme, value, organization_id, position) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(&identifier.scheme)
        .bind(&identifier.value)
        .bind(id)
        .bind(i64::try_from(position).unwrap_or(i64::MAX))
        .execute(&mut **tx)
        .await
        .map_err(|e| {
            conflict(
                e,
                &format!("{}:{}", identifier.scheme, identifier.value),
                &format!(
                    "identifier {} {} already belongs to another organisation",
                    identifier.scheme, identifier.value
                ),
            )
        })?;
    }
    Ok(())
}
