//! The OPSI lifecycle and the status of an initiative: which moves are legal,
//! and why (the same rules are written in the proto's comments).

use innolab_kit::Error;

use super::{Stage, Status};

/// Every legal stage move, `(from, to)`. Forward by exactly one stage (the
/// lifecycle is a sequence; skipping a stage leaves a gap in the record of
/// how the work was done), or back to any earlier stage (innovation iterates:
/// Declaration principle 4, "support exploration, iteration and testing").
pub const STAGE_MOVES: &[(Stage, Stage)] = {
    use Stage::*;
    &[
        // forward, one step
        (IdentifyingProblems, GeneratingIdeas),
        (GeneratingIdeas, DevelopingProposals),
        (DevelopingProposals, ImplementingProjects),
        (ImplementingProjects, EvaluatingProjects),
        (EvaluatingProjects, DiffusingLessons),
        // back, any distance
        (GeneratingIdeas, IdentifyingProblems),
        (DevelopingProposals, IdentifyingProblems),
        (DevelopingProposals, GeneratingIdeas),
        (ImplementingProjects, IdentifyingProblems),
        (ImplementingProjects, GeneratingIdeas),
        (ImplementingProjects, DevelopingProposals),
        (EvaluatingProjects, IdentifyingProblems),
        (EvaluatingProjects, GeneratingIdeas),
        (EvaluatingProjects, DevelopingProposals),
        (EvaluatingProjects, ImplementingProjects),
        (DiffusingLessons, IdentifyingProblems),
        (DiffusingLessons, GeneratingIdeas),
        (DiffusingLessons, DevelopingProposals),
        (DiffusingLessons, ImplementingProjects),
        (DiffusingLessons, EvaluatingProjects),
    ]
};

/// Every legal status change, `(from, to)`. DISCONTINUED and
/// NOT_IN_USE_ANYMORE are final: a stopped initiative's record stays as it
/// ended, and a revival is a new initiative.
pub const STATUS_CHANGES: &[(Status, Status)] = {
    use Status::*;
    &[
        (InDevelopment, Pilot),
        (InDevelopment, Implemented),
        (InDevelopment, Paused),
        (InDevelopment, Discontinued),
        // a pilot may send the team back to redesign
        (Pilot, Implemented),
        (Pilot, InDevelopment),
        (Pilot, Paused),
        (Pilot, Discontinued),
        (Implemented, NotInUseAnymore),
        (Implemented, Paused),
        // a pause resumes where the work stands, or ends it
        (Paused, InDevelopment),
        (Paused, Pilot),
        (Paused, Implemented),
        (Paused, Discontinued),
    ]
};

/// A requested move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Move {
    /// To another lifecycle stage.
    Stage(Stage),
    /// To another status.
    Status(Status),
}

impl Move {
    /// The stage and status after this move from `(stage, status)`, or
    /// FAILED_PRECONDITION when the move is not in the tables.
    pub fn apply(self, stage: Stage, status: Status) -> Result<(Stage, Status), Error> {
        match self {
            Move::Stage(to) => {
                // A stopped initiative does not restart; its lessons may
                // still be diffused, from whatever stage it stopped at.
                if status.is_final() {
                    if to == Stage::DiffusingLessons && stage != to {
                        return Ok((to, status));
                    }
                    return Err(illegal(format!(
                        "the initiative is {status}; it can only move on to DIFFUSING_LESSONS"
                    )));
                }
                if !STAGE_MOVES.contains(&(stage, to)) {
                    return Err(illegal(format!(
                        "cannot move an initiative from stage {stage} to {to}: \
                         stages move forward one at a time, or back to any earlier stage"
                    )));
                }
                Ok((to, status))
            }
            Move::Status(to) => {
                if !STATUS_CHANGES.contains(&(status, to)) {
                    let why = if status.is_final() {
                        format!("{status} is final")
                    } else {
                        "see the legal changes in the API documentation".to_string()
                    };
                    return Err(illegal(format!(
                        "cannot change the status from {status} to {to}: {why}"
                    )));
                }
                Ok((stage, to))
            }
        }
    }
}

fn illegal(message: String) -> Error {
    Error::failed_precondition("ILLEGAL_TRANSITION", message)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn stages_move_one_forward_or_any_back() {
        for from in Stage::ALL {
            for to in Stage::ALL {
                let (f, t) = (
                    Stage::ALL.iter().position(|s| s == from).unwrap(),
                    Stage::ALL.iter().position(|s| s == to).unwrap(),
                );
                let legal = t + 1 == f + 2 || t < f;
                assert_eq!(
                    Move::Stage(*to).apply(*from, Status::Pilot).is_ok(),
                    legal,
                    "{from} -> {to}"
                );
            }
        }
    }

    /// Every stage x status x target stage against the rules the proto
    /// states: a live initiative moves one stage forward or any back; a
    /// stopped one only on to DIFFUSING_LESSONS, from any other stage.
    #[test]
    fn every_stage_move_from_every_stage_and_status() {
        let index = |s: &Stage| Stage::ALL.iter().position(|x| x == s).unwrap();
        for status in Status::ALL {
            for from in Stage::ALL {
                for to in Stage::ALL {
                    let legal = if status.is_final() {
                        *to == Stage::DiffusingLessons && from != to
                    } else {
                        index(to) == index(from) + 1 || index(to) < index(from)
                    };
                    let moved = Move::Stage(*to).apply(*from, *status);
                    assert_eq!(moved.is_ok(), legal, "{status}: {from} -> {to}");
                    if let Ok((stage, kept)) = moved {
                        assert_eq!((stage, kept), (*to, *status));
                    }
                }
            }
        }
        // The case an acceptance run found.
        assert!(
            Move::Stage(Stage::DiffusingLessons)
                .apply(Stage::ImplementingProjects, Status::Discontinued)
                .is_ok()
        );
    }

    #[test]
    fn final_statuses_stay() {
        for to in Status::ALL {
            assert!(
                Move::Status(*to)
                    .apply(Stage::GeneratingIdeas, Status::Discontinued)
                    .is_err()
            );
        }
        assert!(
            Move::Stage(Stage::DiffusingLessons)
                .apply(Stage::EvaluatingProjects, Status::NotInUseAnymore)
                .is_ok()
        );
        assert!(
            Move::Stage(Stage::GeneratingIdeas)
                .apply(Stage::EvaluatingProjects, Status::NotInUseAnymore)
                .is_err()
        );
    }
}
