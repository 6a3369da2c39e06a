//! Calls for Innovations, submissions and their screening.

use innolab_kit::api::{date_in, date_out, timestamp};
use innolab_kit::{Error, Violations};
use innolab_proto::innolab::initiatives::v1 as pb;

use super::{decision_in, decision_out, draft_in, initiative_pb, submission_state_out};
use crate::domain::{self, CallFields, InitiativeFields, Screening, Stage, Status, check};

/// Fields UpdateInnovationCall may change.
pub(crate) const CALL_WRITABLE: &[&str] = &["title", "description", "open_date", "close_date"];

/// Copies the field `path` of `new` onto `merged` (an UpdateInnovationCall).
pub(crate) fn copy_call_field(
    merged: &mut pb::InnovationCall,
    new: &pb::InnovationCall,
    path: &str,
) {
    match path {
        "title" => merged.title = new.title.clone(),
        "description" => merged.description = new.description.clone(),
        "open_date" => merged.open_date = new.open_date,
        _ => merged.close_date = new.close_date,
    }
}

/// Who submits and the initiative submitted, as a CreateSubmission gives
/// them, validated (violations named within `submission`).
pub(crate) fn submission_in(
    submission: pb::Submission,
) -> Result<(String, (InitiativeFields, Stage, Status)), Error> {
    let mut v = Violations::new();
    let submitted_by = check::actor(&submission.submitted_by, true).unwrap_or_else(|e| {
        v.add("submission.submitted_by", e);
        String::new()
    });
    let draft = draft_in(&mut v, "submission.initiative", submission.initiative);
    v.finish()?;
    let draft = draft.ok_or_else(|| Error::Internal("validated fields missing".into()))?;
    Ok((submitted_by, draft))
}

/// The screening a ScreenSubmission asks for, validated (violations named
/// within `screening`).
pub(crate) fn screening_in(s: pb::Screening) -> Result<Screening, Error> {
    let mut v = Violations::new();
    let decision = match v.merge(decision_in("screening.decision", s.decision)) {
        Some(Some(d)) => Some(d),
        Some(None) => {
            v.add("screening.decision", "is required: ACCEPT or REJECT");
            None
        }
        None => None,
    };
    let screening = decision.and_then(|decision| {
        v.merge(
            Screening {
                public_sector_involved: s.public_sector_involved,
                novel_to_organization: s.novel_to_organization,
                implemented_or_piloted: s.implemented_or_piloted,
                public_impact: s.public_impact,
                decision,
                decided_by: s.decided_by,
                note: s.note,
                time: 0,
            }
            .validate()
            .map_err(|e| e.within("screening")),
        )
    });
    v.finish()?;
    screening.ok_or_else(|| Error::Internal("validated fields missing".into()))
}

/// `(call id, submission id)` in `calls/{call}/submissions/{submission}`.
pub(crate) fn submission_id(field: &str, name: &str) -> Result<(String, String), Error> {
    let bad = || {
        Error::invalid(
            field,
            format!(
                "{name:?} is not a resource name of the form calls/{{call}}/submissions/{{submission}}"
            ),
        )
    };
    let (call, rest) = name
        .strip_prefix("calls/")
        .and_then(|r| r.split_once('/'))
        .ok_or_else(bad)?;
    let call_id = check::resource_id(&format!("calls/{call}"), "calls").map_err(|_| bad())?;
    let id = check::resource_id(rest, "submissions").map_err(|_| bad())?;
    Ok((call_id, id))
}

pub(crate) fn call_fields(c: pb::InnovationCall) -> Result<CallFields, Error> {
    let mut v = Violations::new();
    let open_date = v.merge(date_in("open_date", c.open_date)).flatten();
    let close_date = v.merge(date_in("close_date", c.close_date)).flatten();
    let fields = CallFields {
        title: c.title,
        description: c.description,
        open_date,
        close_date,
    };
    let validated = v.merge(fields.validate());
    v.finish()?;
    validated.ok_or_else(|| Error::Internal("validated fields missing".into()))
}

pub(crate) fn call_pb(c: domain::InnovationCall) -> pb::InnovationCall {
    pb::InnovationCall {
        name: c.name(),
        etag: c.meta.etag(),
        title: c.fields.title,
        description: c.fields.description,
        open_date: date_out(c.fields.open_date),
        close_date: date_out(c.fields.close_date),
        create_time: timestamp(c.meta.create_time),
        update_time: timestamp(c.meta.update_time),
    }
}

/// An accepted submission as open data: nobody named (who submitted it and
/// who screened it, when a person, and the screening's note).
pub(crate) fn public_submission(mut s: pb::Submission) -> pb::Submission {
    use innolab_kit::api;
    api::unname(&mut s.submitted_by);
    if let Some(screening) = s.screening.as_mut() {
        api::unname(&mut screening.decided_by);
        screening.note.clear();
    }
    s
}

pub(crate) fn submission_pb(s: domain::Submission) -> pb::Submission {
    let name = s.name();
    let etag = s.meta.etag();
    let draft = domain::Initiative {
        id: String::new(),
        fields: s.fields,
        stage: s.stage,
        status: s.status,
        timeline: Vec::new(),
        meta: domain::Meta {
            create_time: 0,
            update_time: 0,
            revision: 0,
        },
    };
    let mut initiative = initiative_pb(draft);
    initiative.name.clear();
    initiative.etag.clear();
    initiative.create_time = None;
    initiative.update_time = None;
    pb::Submission {
        name,
        etag,
        initiative: Some(initiative),
        submitted_by: s.submitted_by,
        state: submission_state_out(Some(s.state)),
        screening: s.screening.map(|x| pb::Screening {
            public_sector_involved: x.public_sector_involved,
            novel_to_organization: x.novel_to_organization,
            implemented_or_piloted: x.implemented_or_piloted,
            public_impact: x.public_impact,
            decision: decision_out(Some(x.decision)),
            decided_by: x.decided_by,
            note: x.note,
            decide_time: timestamp(x.time),
        }),
        accepted_initiative: s
            .initiative_id
            .map(|i| format!("initiatives/{i}"))
            .unwrap_or_default(),
        create_time: timestamp(s.meta.create_time),
        update_time: timestamp(s.meta.update_time),
        likely_duplicates: Vec::new(),
    }
}
