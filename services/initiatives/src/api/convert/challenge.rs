//! Challenges.

use innolab_kit::api::timestamp;
use innolab_proto::innolab::initiatives::v1 as pb;

use crate::domain::{self, ChallengeFields};

/// Fields UpdateChallenge may change.
pub(crate) const CHALLENGE_WRITABLE: &[&str] = &[
    "title",
    "description",
    "process",
    "raised_by",
    "country_code",
];

/// Copies the field `path` of `new` onto `merged` (an UpdateChallenge).
pub(crate) fn copy_challenge_field(merged: &mut pb::Challenge, new: &pb::Challenge, path: &str) {
    match path {
        "title" => merged.title = new.title.clone(),
        "description" => merged.description = new.description.clone(),
        "process" => merged.process = new.process.clone(),
        "raised_by" => merged.raised_by = new.raised_by.clone(),
        _ => merged.country_code = new.country_code.clone(),
    }
}

pub(crate) fn challenge_fields(c: pb::Challenge) -> ChallengeFields {
    ChallengeFields {
        title: c.title,
        description: c.description,
        process: c.process,
        raised_by: c.raised_by,
        country_code: c.country_code,
    }
}

pub(crate) fn challenge_pb(c: domain::Challenge) -> pb::Challenge {
    pb::Challenge {
        name: c.name(),
        etag: c.meta.etag(),
        title: c.fields.title,
        description: c.fields.description,
        process: c.fields.process,
        raised_by: c.fields.raised_by,
        country_code: c.fields.country_code,
        answered_by: c.answered_by,
        create_time: timestamp(c.meta.create_time),
        update_time: timestamp(c.meta.update_time),
        likely_duplicates: Vec::new(),
    }
}
