//! Documents and their Dublin Core metadata.

use innolab_kit::{Error, Violations, query};

use super::{Date, DocumentType, LifecycleStage, Meta, check, parse_names};

/// What a caller writes about a document.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DocumentFields {
    /// Kind; required.
    pub doc_type: Option<DocumentType>,
    /// dc:title; required.
    pub title: String,
    /// dc:description.
    pub description: String,
    /// dc:subject.
    pub topics: Vec<String>,
    /// dc:creator, `organizations/{id}`.
    pub creators: Vec<String>,
    /// dc:publisher, `organizations/{id}` or empty.
    pub publisher: String,
    /// SPDX licence id; required.
    pub license: String,
    /// dc:relation, `initiatives/{id}`.
    pub related_initiatives: Vec<String>,
    /// OPSI lifecycle stages.
    pub lifecycle_stages: Vec<LifecycleStage>,
    /// dc:date.issued.
    pub issue_date: Option<Date>,
    /// dc:date.modified.
    pub modify_date: Option<Date>,
}

/// A stored document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// Id within `documents/`.
    pub id: String,
    /// Its metadata.
    pub fields: DocumentFields,
    /// Number of the current published edition.
    pub current_edition: Option<i64>,
    /// Bookkeeping.
    pub meta: Meta,
}

impl Document {
    /// Resource name.
    pub fn name(&self) -> String {
        format!("documents/{}", self.id)
    }
}

/// Most entries a list field takes.
const MAX_ENTRIES: usize = 50;

fn names(v: &mut Violations, field: &str, values: &mut Vec<String>, collection: &str) {
    for (i, value) in values.iter().enumerate() {
        if let Err(e) = check::resource_id(value, collection) {
            v.add(format!("{field}[{i}]"), e);
        }
    }
    dedup(values);
}

fn dedup<T: std::hash::Hash + Eq + Clone>(values: &mut Vec<T>) {
    let mut seen = std::collections::HashSet::with_capacity(values.len());
    values.retain(|x| seen.insert(x.clone()));
}

impl DocumentFields {
    /// Checks and normalises every field.
    pub fn validate(mut self) -> Result<Self, Error> {
        Violations::lists_within(&[
            ("topics", self.topics.len(), MAX_ENTRIES),
            ("creators", self.creators.len(), MAX_ENTRIES),
            (
                "related_initiatives",
                self.related_initiatives.len(),
                MAX_ENTRIES,
            ),
            ("lifecycle_stages", self.lifecycle_stages.len(), MAX_ENTRIES),
        ])?;
        let mut v = Violations::new();
        if self.doc_type.is_none() {
            v.add("type", "is required");
        }
        match check::required_text(&self.title, check::MAX_TEXT) {
            Ok(t) => self.title = t,
            Err(e) => v.add("title", e),
        }
        match check::optional_text(&self.description, 10_000) {
            Ok(d) => self.description = d,
            Err(e) => v.add("description", e),
        }
        for (i, topic) in self.topics.iter_mut().enumerate() {
            match check::required_text(topic, 100) {
                Ok(t) => *topic = t.to_lowercase(),
                Err(e) => v.add(format!("topics[{i}]"), e),
            }
        }
        dedup(&mut self.topics);
        names(&mut v, "creators", &mut self.creators, "organizations");
        if !self.publisher.is_empty()
            && let Err(e) = check::resource_id(&self.publisher, "organizations")
        {
            v.add("publisher", e);
        }
        match check::license(&self.license) {
            Ok(l) => self.license = l,
            Err(e) => v.add("license", e),
        }
        names(
            &mut v,
            "related_initiatives",
            &mut self.related_initiatives,
            "initiatives",
        );
        dedup(&mut self.lifecycle_stages);
        if let (Some(issued), Some(modified)) = (self.issue_date, self.modify_date)
            && modified < issued
        {
            v.add(
                "modify_date",
                format!("{modified} is before the issue date {issued}"),
            );
        }
        v.finish()?;
        Ok(self)
    }
}

/// A parsed ListDocuments filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DocumentQuery {
    /// Any of these types.
    pub types: Vec<DocumentType>,
    /// Any of these licences.
    pub licenses: Vec<String>,
    /// Any of these topics.
    pub topics: Vec<String>,
    /// Any of these stages.
    pub stages: Vec<LifecycleStage>,
    /// Any of these publishers (resource names).
    pub publishers: Vec<String>,
    /// Related to any of these initiatives (resource names).
    pub initiatives: Vec<String>,
    /// Every term must occur in the title.
    pub text: Vec<String>,
}

impl DocumentQuery {
    /// Parses the `filter` of ListDocuments.
    pub fn from_filter(filter: &str) -> Result<Self, Error> {
        let mut r = query::restrictions(
            filter,
            &[
                "type",
                "license",
                "topic",
                "lifecycle_stage",
                "publisher",
                "related_initiative",
            ],
        )?;
        Ok(DocumentQuery {
            types: parse_names("type", r.take("type"), DocumentType::parse)?,
            licenses: r.take("license"),
            topics: r.take("topic").iter().map(|t| t.to_lowercase()).collect(),
            stages: parse_names(
                "lifecycle_stage",
                r.take("lifecycle_stage"),
                LifecycleStage::parse,
            )?,
            publishers: r.take("publisher"),
            initiatives: r.take("related_initiative"),
            text: r
                .text
                .iter()
                .map(|t| super::text::fold(t).to_lowercase())
                .collect(),
        })
    }
}
