//! The case library's closed vocabularies (DOMAIN.md), stored by name.

use innolab_kit::vocabulary;

/// Serialises a vocabulary by its stable name, as the database stores it.
macro_rules! serde_by_name {
    ($($name:ident),+) => {$(
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                $name::parse(&text).ok_or_else(|| {
                    serde::de::Error::custom(format!("unknown {} {text:?}", stringify!($name)))
                })
            }
        }
    )+};
}

vocabulary! {
    /// The six stages of the OPSI innovation lifecycle, in order.
    pub enum Stage {
        /// 1.
        IdentifyingProblems => "IDENTIFYING_PROBLEMS",
        /// 2.
        GeneratingIdeas => "GENERATING_IDEAS",
        /// 3.
        DevelopingProposals => "DEVELOPING_PROPOSALS",
        /// 4.
        ImplementingProjects => "IMPLEMENTING_PROJECTS",
        /// 5.
        EvaluatingProjects => "EVALUATING_PROJECTS",
        /// 6.
        DiffusingLessons => "DIFFUSING_LESSONS",
    }
}

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
    /// Level of government (S.13 subsectors, plus international bodies).
    pub enum GovernmentLevel {
        /// S.1311.
        Central => "CENTRAL",
        /// S.1312.
        State => "STATE",
        /// Regional.
        Regional => "REGIONAL",
        /// S.1313.
        Local => "LOCAL",
        /// S.1314.
        SocialSecurity => "SOCIAL_SECURITY",
        /// EU, OECD and the like.
        International => "INTERNATIONAL",
    }
}

vocabulary! {
    /// Functions of government, COFOG level I.
    pub enum GovernmentFunction {
        /// 01.
        GeneralPublicServices => "GENERAL_PUBLIC_SERVICES",
        /// 02.
        Defence => "DEFENCE",
        /// 03.
        PublicOrderAndSafety => "PUBLIC_ORDER_AND_SAFETY",
        /// 04.
        EconomicAffairs => "ECONOMIC_AFFAIRS",
        /// 05.
        EnvironmentalProtection => "ENVIRONMENTAL_PROTECTION",
        /// 06.
        HousingAndCommunityAmenities => "HOUSING_AND_COMMUNITY_AMENITIES",
        /// 07.
        Health => "HEALTH",
        /// 08.
        RecreationCultureAndReligion => "RECREATION_CULTURE_AND_RELIGION",
        /// 09.
        Education => "EDUCATION",
        /// 10.
        SocialProtection => "SOCIAL_PROTECTION",
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

serde_by_name!(
    ScreeningDecision,
    Stage,
    Status,
    Facet,
    Principle,
    PartnerRole,
    GovernmentLevel,
    GovernmentFunction
);
