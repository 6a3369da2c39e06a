//! Posts: positions held by one person at a time, such as a country's
//! national contact point. Assigning a new holder ends the previous holding.

use innolab_kit::{Error, Violations, query};

use super::check;
use super::{Date, Decision, Meta, Role, parse_ids, parse_names};

/// What a caller writes about a post.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PostFields {
    /// `groups/{id}`; required.
    pub group: String,
    /// A post role; required.
    pub role: Option<Role>,
    /// Country the post is for; required for national contact points.
    pub country_code: String,
}

/// One person's tenure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostHolding {
    /// `people/{id}`.
    pub person: String,
    /// First day.
    pub start_date: Date,
    /// Last day, once ended.
    pub end_date: Option<Date>,
    /// Who decided and why.
    pub decision: Decision,
}

/// A stored post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Post {
    /// Id within `posts/`.
    pub id: String,
    /// Its fields.
    pub fields: PostFields,
    /// Every holding, oldest first.
    pub holdings: Vec<PostHolding>,
    /// Bookkeeping.
    pub meta: Meta,
}

impl Post {
    /// Resource name.
    pub fn name(&self) -> String {
        format!("posts/{}", self.id)
    }

    /// The current holding, if the post is filled.
    pub fn current(&self) -> Option<&PostHolding> {
        self.holdings.last().filter(|h| h.end_date.is_none())
    }

    /// Checks a new assignment against the current holding.
    pub fn check_assignment(&self, a: &Assignment) -> Result<(), Error> {
        if let Some(current) = self.current() {
            if current.person == a.person {
                return Err(Error::failed_precondition(
                    "ALREADY_HOLDER",
                    format!("{} already holds {}", a.person, self.name()),
                ));
            }
            if a.start_date < current.start_date {
                return Err(Error::invalid(
                    "start_date",
                    format!(
                        "{} is before the current holding's start {}",
                        a.start_date, current.start_date
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// A request to make someone the holder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    /// `people/{id}`.
    pub person: String,
    /// First day of the new holding.
    pub start_date: Date,
    /// Who and why.
    pub decision: Decision,
    /// Revision named by the caller's etag.
    pub expected_revision: Option<i64>,
}

impl PostFields {
    /// Checks and normalises every field.
    pub fn validate(mut self) -> Result<Self, Error> {
        let mut v = Violations::new();
        if self.group.is_empty() {
            v.add("group", "is required");
        } else if let Err(e) = check::resource_id(&self.group, "groups") {
            v.add("group", e);
        }
        match self.role {
            None => v.add("role", "is required"),
            Some(r) if !r.is_post() => v.add(
                "role",
                format!(
                    "{r} is not held by one person at a time; posts are NATIONAL_CONTACT_POINT, TASK_FORCE_CHAIR or COORDINATOR"
                ),
            ),
            Some(_) => {}
        }
        if !self.country_code.trim().is_empty() {
            match check::country(&self.country_code) {
                Ok(c) => self.country_code = c,
                Err(e) => v.add("country_code", e),
            }
        } else {
            self.country_code.clear();
            if self.role == Some(Role::NationalContactPoint) {
                v.add("country_code", "is required for a national contact point");
            }
        }
        v.finish()?;
        Ok(self)
    }
}

/// A parsed ListPosts filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PostQuery {
    /// In any of these groups (ids).
    pub group_ids: Vec<String>,
    /// With any of these roles.
    pub roles: Vec<Role>,
    /// For any of these countries.
    pub countries: Vec<String>,
    /// Currently held by any of these people (ids).
    pub holder_ids: Vec<String>,
}

impl PostQuery {
    /// Parses the `filter` of ListPosts.
    pub fn from_filter(filter: &str) -> Result<Self, Error> {
        let mut r = query::restrictions(filter, &["group", "role", "country_code", "holder"])?;
        if !r.text.is_empty() {
            return Err(Error::invalid(
                "filter",
                "posts have no free text; filter by group, role, country_code or holder",
            ));
        }
        Ok(PostQuery {
            group_ids: parse_ids("group", r.take("group"), "groups")?,
            roles: parse_names("role", r.take("role"), Role::parse)?,
            countries: r
                .take("country_code")
                .iter()
                .map(|c| check::country(c).map_err(|e| Error::invalid("filter", e)))
                .collect::<Result<_, _>>()?,
            holder_ids: parse_ids("holder", r.take("holder"), "people")?,
        })
    }
}
