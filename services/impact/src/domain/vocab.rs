//! Closed vocabularies of the impact domain, stored and filtered by name.

innolab_kit::vocabulary! {
    /// Workflow state of an assessment.
    pub enum AssessmentState {
        /// Planned.
        Planned => "PLANNED",
        /// Evaluation under way.
        InProgress => "IN_PROGRESS",
        /// Submitted to a reviewer.
        UnderReview => "UNDER_REVIEW",
        /// Signed off.
        Completed => "COMPLETED",
    }
}

innolab_kit::vocabulary! {
    /// Public-value outcomes (EU JRC Tech Watch).
    pub enum PublicValueOutcome {
        /// Improved public service.
        ImprovedPublicService => "IMPROVED_PUBLIC_SERVICE",
        /// Improved administration.
        ImprovedAdministration => "IMPROVED_ADMINISTRATION",
        /// Open government capabilities.
        OpenGovernmentCapabilities => "OPEN_GOVERNMENT_CAPABILITIES",
    }
}

innolab_kit::vocabulary! {
    /// A reviewer's decision.
    pub enum ReviewDecision {
        /// Signed off.
        Approved => "APPROVED",
        /// Sent back.
        ChangesRequested => "CHANGES_REQUESTED",
    }
}

innolab_kit::vocabulary! {
    /// IATI result types.
    pub enum ResultType {
        /// Output.
        Output => "OUTPUT",
        /// Outcome.
        Outcome => "OUTCOME",
        /// Impact.
        Impact => "IMPACT",
    }
}

innolab_kit::vocabulary! {
    /// Which way an indicator should move.
    pub enum Direction {
        /// Higher is better.
        HigherIsBetter => "HIGHER_IS_BETTER",
        /// Lower is better.
        LowerIsBetter => "LOWER_IS_BETTER",
    }
}

innolab_kit::vocabulary! {
    /// Progress of an indicator toward its target.
    pub enum ProgressStatus {
        /// No measurement yet.
        NoData => "NO_DATA",
        /// Behind.
        OffTrack => "OFF_TRACK",
        /// On or ahead of the line from baseline to target.
        OnTrack => "ON_TRACK",
        /// Target reached.
        Achieved => "ACHIEVED",
    }
}

innolab_kit::serde_by_name!(
    AssessmentState,
    PublicValueOutcome,
    ReviewDecision,
    ResultType,
    Direction
);
