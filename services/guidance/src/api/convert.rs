//! Protobuf <-> domain: the enum mappings and every resource's conversion
//! both ways. Every wrong field of a request is reported at once.

use innolab_kit::api::{date_in, date_out, timestamp};
use innolab_kit::{Error, Violations};
use innolab_proto::innolab::guidance::v1 as pb;

use crate::domain::{
    self, AttachmentFields, DocumentFields, DocumentType, EditionFields, EditionState,
    LifecycleStage, Translation,
};
use crate::store::SearchHit;

// ---- enums: the protobuf value `<PREFIX>_<NAME>` carries the domain name ----

innolab_kit::enum_mapping!(
    type_in,
    type_out,
    pb::DocumentType,
    "DOCUMENT_TYPE_",
    DocumentType
);
innolab_kit::enum_mapping!(
    stage_in,
    stage_out,
    pb::LifecycleStage,
    "LIFECYCLE_STAGE_",
    LifecycleStage
);
innolab_kit::enum_mapping!(
    state_in,
    state_out,
    pb::EditionState,
    "EDITION_STATE_",
    EditionState
);

// ---- resources ----

/// The validated fields of a document: every wrong field, whether its
/// protobuf value or its content is wrong, is reported at once.
pub(super) fn valid_document(d: pb::Document) -> Result<DocumentFields, Error> {
    let mut v = Violations::new();
    let doc_type = v.merge(type_in("type", d.r#type)).flatten();
    let mut stages = Vec::new();
    for (i, n) in d.lifecycle_stages.iter().enumerate() {
        let field = format!("lifecycle_stages[{i}]");
        match v.merge(stage_in(&field, *n)) {
            Some(Some(s)) => stages.push(s),
            Some(None) => v.add(field, "must not be UNSPECIFIED"),
            None => {}
        }
    }
    let issue_date = v.merge(date_in("issue_date", d.issue_date)).flatten();
    let modify_date = v.merge(date_in("modify_date", d.modify_date)).flatten();
    let known_type = d.r#type == 0 || doc_type.is_some();
    let fields = DocumentFields {
        doc_type,
        title: d.title,
        description: d.description,
        topics: d.topics,
        creators: d.creators,
        publisher: d.publisher,
        license: d.license,
        related_initiatives: d.related_initiatives,
        lifecycle_stages: stages,
        issue_date,
        modify_date,
    };
    let fields = match fields.validate() {
        Ok(f) => Some(f),
        Err(Error::InvalidArgument(list)) => {
            for f in list {
                // An unknown type number was reported above already.
                if known_type || f.field != "type" {
                    v.add(f.field, f.description);
                }
            }
            None
        }
        Err(other) => return Err(other),
    };
    v.finish()?;
    fields.ok_or_else(|| Error::Internal("document validation".into()))
}

pub(super) fn document_pb(d: domain::Document) -> pb::Document {
    let name = d.name();
    pb::Document {
        current_edition: d
            .current_edition
            .map(|n| format!("{name}/editions/{n}"))
            .unwrap_or_default(),
        name,
        r#type: type_out(d.fields.doc_type),
        title: d.fields.title,
        description: d.fields.description,
        topics: d.fields.topics,
        creators: d.fields.creators,
        publisher: d.fields.publisher,
        license: d.fields.license,
        related_initiatives: d.fields.related_initiatives,
        lifecycle_stages: d
            .fields
            .lifecycle_stages
            .into_iter()
            .map(|s| stage_out(Some(s)))
            .collect(),
        issue_date: date_out(d.fields.issue_date),
        modify_date: date_out(d.fields.modify_date),
        create_time: timestamp(d.meta.create_time),
        update_time: timestamp(d.meta.update_time),
        etag: d.meta.etag(),
    }
}

pub(super) fn edition_fields(e: pb::Edition) -> EditionFields {
    EditionFields {
        translations: e
            .translations
            .into_iter()
            .map(|t| Translation {
                language_code: t.language_code,
                title: t.title,
                summary: t.summary,
                body: t.body,
                original: t.original,
            })
            .collect(),
        change_note: e.change_note,
    }
}

pub(super) fn edition_pb(e: domain::Edition) -> pb::Edition {
    pb::Edition {
        name: e.name(),
        state: state_out(Some(e.state)),
        translations: e
            .fields
            .translations
            .into_iter()
            .map(|t| pb::Translation {
                language_code: t.language_code,
                title: t.title,
                summary: t.summary,
                body: t.body,
                original: t.original,
            })
            .collect(),
        change_note: e.fields.change_note,
        state_reason: e.state_reason,
        language_fallback: e.language_fallback,
        publish_time: e.publish_time.and_then(timestamp),
        create_time: timestamp(e.meta.create_time),
        update_time: timestamp(e.meta.update_time),
        etag: e.meta.etag(),
    }
}

pub(super) fn hit_pb(h: SearchHit) -> pb::SearchResult {
    pb::SearchResult {
        document: format!("documents/{}", h.document_id),
        edition: format!("documents/{}/editions/{}", h.document_id, h.edition),
        language_code: h.language_code,
        title: h.title,
        snippet: h.snippet,
        score: h.score,
        r#type: type_out(Some(h.doc_type)),
    }
}

pub(super) fn attachment_pb(a: domain::Attachment) -> pb::Attachment {
    pb::Attachment {
        name: a.name(),
        filename: a.fields.filename,
        content_type: a.fields.content_type,
        size_bytes: a.size_bytes,
        sha256: a.fields.sha256,
        create_time: timestamp(a.create_time),
    }
}

pub(super) fn attachment_fields(a: pb::Attachment) -> AttachmentFields {
    AttachmentFields {
        filename: a.filename,
        content_type: a.content_type,
        sha256: a.sha256,
    }
}
