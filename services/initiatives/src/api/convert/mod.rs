//! Protobuf <-> domain, per resource: the resource names and fields of the
//! requests, the records of the answers, and the mapping of the contract's
//! enums to the domain's vocabularies (the protobuf value `<PREFIX>_<NAME>`
//! carries the domain name).

mod adoption;
mod call;
mod challenge;
mod import;
mod initiative;
mod similar;

pub(crate) use adoption::*;
pub(crate) use call::*;
pub(crate) use challenge::*;
pub(crate) use import::*;
pub(crate) use initiative::*;
pub(crate) use similar::*;

use innolab_kit::domain::DecisionFields;
use innolab_proto::innolab::initiatives::v1 as pb;

use crate::domain::{
    self, Facet, GovernmentFunction, GovernmentLevel, PartnerRole, Principle, ScreeningDecision,
    Stage, SubmissionState,
};

pub(crate) use innolab_kit::api::id;

/// Who made a move and why (optional), as the requests name them.
pub(crate) fn actor_note(actor_required: bool) -> DecisionFields {
    DecisionFields {
        who: "actor",
        who_required: actor_required,
        reason: "note",
        reason_required: false,
    }
}

innolab_kit::enum_mapping!(
    pub(crate) decision_in,
    decision_out,
    pb::ScreeningDecision,
    "SCREENING_DECISION_",
    ScreeningDecision
);
innolab_kit::enum_mapping!(
    pub(crate) submission_state_in,
    submission_state_out,
    pb::SubmissionState,
    "SUBMISSION_STATE_",
    SubmissionState
);
innolab_kit::enum_mapping!(
    pub(crate) stage_in,
    stage_out,
    pb::InitiativeStage,
    "INITIATIVE_STAGE_",
    Stage
);
innolab_kit::enum_mapping!(
    pub(crate) status_in,
    status_out,
    pb::InitiativeStatus,
    "INITIATIVE_STATUS_",
    domain::Status
);
innolab_kit::enum_mapping!(
    pub(crate) facet_in,
    facet_out,
    pb::InnovationFacet,
    "INNOVATION_FACET_",
    Facet
);
innolab_kit::enum_mapping!(
    pub(crate) principle_in,
    principle_out,
    pb::DeclarationPrinciple,
    "DECLARATION_PRINCIPLE_",
    Principle
);
innolab_kit::enum_mapping!(
    pub(crate) role_in,
    role_out,
    pb::PartnerRole,
    "PARTNER_ROLE_",
    PartnerRole
);
innolab_kit::enum_mapping!(
    pub(crate) level_in,
    level_out,
    pb::GovernmentLevel,
    "GOVERNMENT_LEVEL_",
    GovernmentLevel
);
innolab_kit::enum_mapping!(
    pub(crate) sector_in,
    sector_out,
    pb::GovernmentFunction,
    "GOVERNMENT_FUNCTION_",
    GovernmentFunction
);
