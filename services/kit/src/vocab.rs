//! Closed vocabularies (enumerations) of the domain, stored and filtered by name.

/// Defines an enum whose variants have stable names, e.g. `GOVERNMENT`: the
/// name is what the database stores and what filters compare against. The API
/// layer maps it to the protobuf enum value `<PREFIX>_<NAME>`.
#[macro_export]
macro_rules! vocabulary {
    ($(#[$meta:meta])* $vis:vis enum $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        $vis enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The stable name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            /// The value with this stable name.
            pub fn parse(text: &str) -> Option<Self> {
                match text {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// Serialises vocabularies by their stable names (as the database stores
/// them), for JSON bodies and columns.
#[macro_export]
macro_rules! serde_by_name {
    ($($t:ty),+ $(,)?) => {$(
        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let name = String::deserialize(d)?;
                <$t>::parse(&name).ok_or_else(|| {
                    serde::de::Error::custom(format!("unknown {} {name:?}", stringify!($t)))
                })
            }
        }
    )+};
}

vocabulary! {
    /// Level of government (S.13 subsectors, plus international bodies), as
    /// organisations and initiatives both carry it.
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
    /// Functions of government, COFOG level I, as organisations and
    /// initiatives both carry them.
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
    /// The six stages of the OPSI innovation lifecycle, in order, as
    /// initiatives and guidance both carry them.
    pub enum LifecycleStage {
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

serde_by_name!(GovernmentLevel, GovernmentFunction, LifecycleStage);
