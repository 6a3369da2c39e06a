//! Adoptions.

use innolab_kit::api::{date_in, date_out, timestamp};
use innolab_kit::{Error, Violations};
use innolab_proto::innolab::initiatives::v1 as pb;

use super::id;
use crate::domain::{self, AdoptionFields, AdoptionKind, AdoptionSide, AdoptionState, Step};

innolab_kit::enum_mapping!(
    pub(crate) kind_in,
    kind_out,
    pb::AdoptionKind,
    "ADOPTION_KIND_",
    AdoptionKind
);
innolab_kit::enum_mapping!(
    pub(crate) adoption_state_in,
    adoption_state_out,
    pb::AdoptionState,
    "ADOPTION_STATE_",
    AdoptionState
);
innolab_kit::enum_mapping!(
    pub(crate) side_in,
    side_out,
    pb::AdoptionSide,
    "ADOPTION_SIDE_",
    AdoptionSide
);

/// Fields UpdateAdoption may change.
pub(crate) const ADOPTION_WRITABLE: &[&str] =
    &["adoption_date", "adaptations", "rationale", "outcome"];

/// Copies the field `path` of `new` onto `merged` (an UpdateAdoption).
pub(crate) fn copy_adoption_field(merged: &mut pb::Adoption, new: &pb::Adoption, path: &str) {
    match path {
        "adoption_date" => merged.adoption_date = new.adoption_date,
        "adaptations" => merged.adaptations = new.adaptations.clone(),
        "rationale" => merged.rationale = new.rationale.clone(),
        _ => merged.outcome = new.outcome.clone(),
    }
}

/// The fields of an adoption as a request gives them, validated; violations
/// are named within the adoption (the caller prefixes `adoption`).
pub(crate) fn adoption_fields(a: pb::Adoption) -> Result<AdoptionFields, Error> {
    let mut v = Violations::new();
    let initiative = v.merge(id("initiative", &a.initiative, "initiatives"));
    let source = v.merge(id("source", &a.source, "initiatives"));
    let kind = match v.merge(kind_in("kind", a.kind)) {
        Some(Some(kind)) => Some(kind),
        Some(None) => {
            v.add(
                "kind",
                "is required: ADOPTS, ADAPTS, SCALES, INSPIRED_BY or PART_OF",
            );
            None
        }
        None => None,
    };
    let adoption_date = v.merge(date_in("adoption_date", a.adoption_date)).flatten();
    let fields = v.merge(
        AdoptionFields {
            initiative: initiative.unwrap_or_default(),
            source: source.unwrap_or_default(),
            kind: kind.unwrap_or(AdoptionKind::Adopts),
            adopting_organization: a.adopting_organization,
            adoption_date,
            adaptations: a.adaptations,
            rationale: a.rationale,
            outcome: a.outcome,
        }
        .validate(),
    );
    v.finish()?;
    fields.ok_or_else(|| Error::Internal("validated fields missing".into()))
}

fn confirmation(step: Option<Step>) -> Option<pb::AdoptionConfirmation> {
    step.map(|s| pb::AdoptionConfirmation {
        confirmed_by: s.by,
        confirm_time: timestamp(s.time),
    })
}

pub(crate) fn adoption_pb(a: domain::Adoption) -> pb::Adoption {
    pb::Adoption {
        name: a.name(),
        etag: a.meta.etag(),
        initiative: format!("initiatives/{}", a.fields.initiative),
        source: format!("initiatives/{}", a.fields.source),
        kind: kind_out(Some(a.fields.kind)),
        adopting_organization: a.fields.adopting_organization,
        adoption_date: date_out(a.fields.adoption_date),
        adaptations: a.fields.adaptations,
        rationale: a.fields.rationale,
        outcome: a.fields.outcome,
        state: adoption_state_out(Some(a.state)),
        source_confirmation: confirmation(a.source_confirmation),
        adopter_confirmation: confirmation(a.adopter_confirmation),
        withdrawal: a.withdrawal.map(|w| pb::AdoptionWithdrawal {
            withdrawn_by: w.by,
            reason: w.reason,
            withdraw_time: timestamp(w.time),
        }),
        create_time: timestamp(a.meta.create_time),
        update_time: timestamp(a.meta.update_time),
    }
}
