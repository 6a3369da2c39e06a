//! People (contacts) of member organisations. Personal data is minimal and
//! erasable: erasure clears it but keeps the resource, so history that points
//! at the person stays consistent.

use innolab_kit::{Error, Violations, query};

use super::check;
use super::{Meta, parse_ids, search_key};

/// What a caller writes about a person.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PersonFields {
    /// `organizations/{id}`; required.
    pub organization: String,
    /// Full name; required.
    pub display_name: String,
    /// Work e-mail, or empty.
    pub email: String,
    /// Work phone, or empty.
    pub phone: String,
    /// Working languages, BCP 47.
    pub language_codes: Vec<String>,
}

/// A stored person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// Id within `people/`.
    pub id: String,
    /// Fields (empty personal fields once erased).
    pub fields: PersonFields,
    /// When the personal data was erased.
    pub erase_time: Option<i64>,
    /// Bookkeeping.
    pub meta: Meta,
}

impl Person {
    /// Resource name.
    pub fn name(&self) -> String {
        format!("people/{}", self.id)
    }
}

impl Person {
    /// FAILED_PRECONDITION once the person's personal data has been erased:
    /// it is never written again.
    pub fn ensure_not_erased(&self) -> Result<(), Error> {
        if self.erase_time.is_some() {
            return Err(Error::failed_precondition(
                "PERSON_ERASED",
                format!(
                    "{} has been erased; its personal data cannot be written again",
                    self.name()
                ),
            ));
        }
        Ok(())
    }
}

/// Most languages a person lists.
pub const MAX_LANGUAGES: usize = 50;

impl PersonFields {
    /// Checks and normalises every field.
    pub fn validate(mut self) -> Result<Self, Error> {
        Violations::lists_within(&[("language_codes", self.language_codes.len(), MAX_LANGUAGES)])?;
        let mut v = Violations::new();
        if self.organization.is_empty() {
            v.add("organization", "is required");
        } else if let Err(e) = check::resource_id(&self.organization, "organizations") {
            v.add("organization", e);
        }
        match check::required_text(&self.display_name, 200) {
            Ok(n) => self.display_name = n,
            Err(e) => v.add("display_name", e),
        }
        if !self.email.trim().is_empty() {
            match check::email(&self.email) {
                Ok(e) => self.email = e,
                Err(e) => v.add("email", e),
            }
        } else {
            self.email.clear();
        }
        if !self.phone.trim().is_empty() {
            match check::phone(&self.phone) {
                Ok(p) => self.phone = p,
                Err(e) => v.add("phone", e),
            }
        } else {
            self.phone.clear();
        }
        for (i, tag) in self.language_codes.iter_mut().enumerate() {
            match check::language_tag(tag) {
                Ok(t) => *tag = t,
                Err(e) => v.add(format!("language_codes[{i}]"), e),
            }
        }
        let mut seen = std::collections::HashSet::new();
        self.language_codes.retain(|tag| seen.insert(tag.clone()));
        v.finish()?;
        Ok(self)
    }

    /// What free-text search matches.
    pub fn search_text(&self) -> String {
        search_key(&self.display_name)
    }
}

/// A parsed ListPeople filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PersonQuery {
    /// Works for any of these organisations (ids).
    pub organization_ids: Vec<String>,
    /// Only erased (`Some(true)`) or only not erased (`Some(false)`).
    pub erased: Option<bool>,
    /// Every term must occur in the name.
    pub text: Vec<String>,
}

impl PersonQuery {
    /// Parses the `filter` of ListPeople.
    pub fn from_filter(filter: &str) -> Result<Self, Error> {
        let mut r = query::restrictions(filter, &["organization", "erased"])?;
        let erased = match r.take("erased").as_slice() {
            [] => None,
            [one] if one == "true" => Some(true),
            [one] if one == "false" => Some(false),
            _ => {
                return Err(Error::invalid(
                    "filter",
                    "`erased` takes one value, true or false",
                ));
            }
        };
        Ok(PersonQuery {
            organization_ids: parse_ids("organization", r.take("organization"), "organizations")?,
            erased,
            text: r.text.iter().map(|t| search_key(t)).collect(),
        })
    }
}
