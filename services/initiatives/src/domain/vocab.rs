//! The case library's closed vocabularies (DOMAIN.md), stored by name; the
//! government level and function (shared with membership) and the OPSI
//! lifecycle stage (shared with guidance) are the kit's.

use innolab_kit::{serde_by_name, vocabulary};

pub use innolab_kit::vocab::{GovernmentFunction, GovernmentLevel, LifecycleStage as Stage};

vocabulary! {
    /// Status as the EU Public Sector Tech Watch reports it, plus paused and discontinued.
    pub enum Status {
        /// Being developed.
        InDevelopment => "IN_DEVELOPMENT",
        /// Being piloted.
        Pilot => "PILOT",
        /// In use.
        Implemented => "IMPLEMENTED",
        /// Paused; may resume.
        Paused => "PAUSED",
        /// Stopped before use (final).
        Discontinued => "DISCONTINUED",
        /// No longer in use (final).
        NotInUseAnymore => "NOT_IN_USE_ANYMORE",
    }
}

impl Status {
    /// Whether no change leads out of this status.
    pub fn is_final(self) -> bool {
        matches!(self, Status::Discontinued | Status::NotInUseAnymore)
    }
}

vocabulary! {
    /// The four OPSI innovation facets.
    pub enum Facet {
        /// "How might we do X better?"
        EnhancementOriented => "ENHANCEMENT_ORIENTED",
        /// "How might we achieve X?"
        MissionOriented => "MISSION_ORIENTED",
        /// Adaptive.
        Adaptive => "ADAPTIVE",
        /// Anticipatory.
        Anticipatory => "ANTICIPATORY",
    }
}

vocabulary! {
    /// OECD Declaration on Public Sector Innovation (2019) principles, in order.
    pub enum Principle {
        /// (1)
        EmbraceInnovation => "EMBRACE_INNOVATION",
        /// (2)
        EquipPublicServants => "EQUIP_PUBLIC_SERVANTS",
        /// (3)
        CultivatePartnerships => "CULTIVATE_PARTNERSHIPS",
        /// (4)
        SupportExploration => "SUPPORT_EXPLORATION",
        /// (5)
        DiffuseLessons => "DIFFUSE_LESSONS",
    }
}

vocabulary! {
    /// IATI organisation roles in an initiative.
    pub enum PartnerRole {
        /// IATI 1.
        Funding => "FUNDING",
        /// IATI 2.
        Accountable => "ACCOUNTABLE",
        /// IATI 3.
        Extending => "EXTENDING",
        /// IATI 4.
        Implementing => "IMPLEMENTING",
    }
}

vocabulary! {
    /// Where a submission to a Call for Innovations stands.
    pub enum SubmissionState {
        /// Waiting for screening.
        Submitted => "SUBMITTED",
        /// Accepted into the case library (final).
        Accepted => "ACCEPTED",
        /// Not accepted (final).
        Rejected => "REJECTED",
    }
}

vocabulary! {
    /// The decision of a screening.
    pub enum ScreeningDecision {
        /// Into the case library.
        Accept => "ACCEPT",
        /// Not accepted.
        Reject => "REJECT",
    }
}

serde_by_name!(ScreeningDecision, Status, Facet, Principle, PartnerRole);
