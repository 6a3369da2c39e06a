//! The closed vocabularies of guidance, stored by name; the OPSI lifecycle
//! stage is the kit's, shared with initiatives.

pub use innolab_kit::vocab::LifecycleStage;

innolab_kit::vocabulary! {
    /// Kinds of guidance document.
    pub enum DocumentType {
        /// A guide.
        Guide => "GUIDE",
        /// A toolkit.
        Toolkit => "TOOLKIT",
        /// A method card.
        MethodCard => "METHOD_CARD",
        /// A playbook.
        Playbook => "PLAYBOOK",
        /// A case study.
        CaseStudy => "CASE_STUDY",
        /// A policy brief.
        PolicyBrief => "POLICY_BRIEF",
        /// Training material.
        TrainingMaterial => "TRAINING_MATERIAL",
        /// A report.
        Report => "REPORT",
    }
}

innolab_kit::vocabulary! {
    /// States of an edition.
    pub enum EditionState {
        /// Being written.
        Draft => "DRAFT",
        /// Waiting for review.
        Submitted => "SUBMITTED",
        /// Published and current.
        Published => "PUBLISHED",
        /// Refused at review.
        Rejected => "REJECTED",
        /// Replaced by a newer published edition.
        Superseded => "SUPERSEDED",
        /// Taken down with a public reason.
        Withdrawn => "WITHDRAWN",
    }
}

impl EditionState {
    /// Whether the edition is still being worked on (at most one per document).
    pub fn is_unpublished(self) -> bool {
        matches!(self, EditionState::Draft | EditionState::Submitted)
    }
}
