package export

import "fmt"

// Stage is where an export is in its life (CONTRACTS.md, "Stages").
type Stage string

// The stages.
const (
	StageRequested    Stage = "requested"
	StageSnapshotting Stage = "snapshotting"
	StageExporting    Stage = "exporting"
	StageVerifying    Stage = "verifying"
	StageVerified     Stage = "verified"
	StageFailed       Stage = "failed"
	StageCleaned      Stage = "cleaned"
	StageAbandoned    Stage = "abandoned"
	StageCancelled    Stage = "cancelled"
)

// transitions lists, for each stage, the stages it may move to. It is the one place the state
// machine's shape is written down; Allowed and every transition method consult it.
var transitions = map[Stage][]Stage{
	StageRequested:    {StageSnapshotting, StageExporting, StageFailed, StageCancelled},
	StageSnapshotting: {StageExporting, StageFailed, StageCancelled},
	StageExporting:    {StageVerifying, StageFailed, StageCancelled},
	StageVerifying:    {StageVerified, StageFailed, StageCancelled},
	StageFailed:       {StageCleaned, StageCancelled},
	StageCleaned:      {StageRequested, StageAbandoned},
	StageVerified:     {},
	StageAbandoned:    {},
	StageCancelled:    {},
}

// Allowed reports whether an export may move from one stage to another.
func Allowed(from, to Stage) bool {
	for _, s := range transitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

// Valid reports whether s is a known stage.
func (s Stage) Valid() bool { _, ok := transitions[s]; return ok }

// Terminal reports whether no transition leaves s (verified, abandoned, cancelled).
func (s Stage) Terminal() bool { return s.Valid() && len(transitions[s]) == 0 }

// Active reports whether an attempt is under way in s: its objects may still be landing and
// nothing of it may be deleted.
func (s Stage) Active() bool {
	switch s {
	case StageRequested, StageSnapshotting, StageExporting, StageVerifying:
		return true
	}
	return false
}

// TransitionError reports a move the state machine does not allow.
type TransitionError struct {
	ExportID string
	From, To Stage
}

func (e *TransitionError) Error() string {
	return fmt.Sprintf("export %s: no transition from %s to %s", e.ExportID, e.From, e.To)
}
