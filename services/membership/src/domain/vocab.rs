//! The network's closed vocabularies (DOMAIN.md), stored by name.

pub use innolab_kit::vocab::{GovernmentFunction, GovernmentLevel};
use innolab_kit::vocabulary;

vocabulary! {
    /// Kinds of organisation, after the IATI OrganisationType codelist.
    pub enum OrganizationKind {
        /// IATI 10.
        Government => "GOVERNMENT",
        /// IATI 11.
        LocalGovernment => "LOCAL_GOVERNMENT",
        /// IATI 15.
        OtherPublicSector => "OTHER_PUBLIC_SECTOR",
        /// IATI 21.
        InternationalNgo => "INTERNATIONAL_NGO",
        /// IATI 22.
        NationalNgo => "NATIONAL_NGO",
        /// IATI 23.
        RegionalNgo => "REGIONAL_NGO",
        /// IATI 30.
        PublicPrivatePartnership => "PUBLIC_PRIVATE_PARTNERSHIP",
        /// IATI 40.
        Multilateral => "MULTILATERAL",
        /// IATI 60.
        Foundation => "FOUNDATION",
        /// IATI 70.
        PrivateSector => "PRIVATE_SECTOR",
        /// IATI 80.
        AcademicTrainingResearch => "ACADEMIC_TRAINING_RESEARCH",
        /// IATI 90.
        Other => "OTHER",
    }
}

vocabulary! {
    /// Kinds of group in the network.
    pub enum GroupKind {
        /// The network itself.
        Network => "NETWORK",
        /// Task force / steering group.
        TaskForce => "TASK_FORCE",
        /// Associate group.
        AssociateGroup => "ASSOCIATE_GROUP",
        /// Advisory board.
        AdvisoryBoard => "ADVISORY_BOARD",
        /// Working group.
        WorkingGroup => "WORKING_GROUP",
        /// Community of practice.
        CommunityOfPractice => "COMMUNITY_OF_PRACTICE",
    }
}

vocabulary! {
    /// Roles in a group.
    pub enum Role {
        /// Ordinary member.
        Member => "MEMBER",
        /// National contact point (a post).
        NationalContactPoint => "NATIONAL_CONTACT_POINT",
        /// Task force member.
        TaskForceMember => "TASK_FORCE_MEMBER",
        /// Task force chair.
        TaskForceChair => "TASK_FORCE_CHAIR",
        /// Associate group member.
        AssociateGroupMember => "ASSOCIATE_GROUP_MEMBER",
        /// Advisory board member.
        AdvisoryBoardMember => "ADVISORY_BOARD_MEMBER",
        /// Coordinator.
        Coordinator => "COORDINATOR",
    }
}

impl Role {
    /// Roles held by one person at a time, as posts.
    pub fn is_post(self) -> bool {
        matches!(
            self,
            Role::NationalContactPoint | Role::TaskForceChair | Role::Coordinator
        )
    }
}

vocabulary! {
    /// Lifecycle states of a membership.
    pub enum MembershipState {
        /// Waiting for a decision.
        Applied => "APPLIED",
        /// Current.
        Active => "ACTIVE",
        /// Temporarily suspended.
        Suspended => "SUSPENDED",
        /// Ended (final).
        Left => "LEFT",
        /// Application refused (final).
        Rejected => "REJECTED",
    }
}
