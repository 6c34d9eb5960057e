package export

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Export is a record as read from the store, with the ETag that conditions its next write and the
// key it lives at. Transitions update it in place when they win.
type Export struct {
	Key  string
	ETag string
	Record
}

// Layout returns the export's key layout.
func (e *Export) Layout() Layout {
	l, err := NewLayout(e.Prefix, e.Cache.ID, e.ExportID)
	if err != nil {
		// A record is only ever written with a valid layout (Begin checks it): this is damage.
		panic(fmt.Sprintf("record %s has an invalid layout: %v", e.Key, err))
	}
	return l
}

// PublishError reports that a transition was recorded but its event could not be published.
// The export did move: the sweeps (advance, reconcile, stale) pick it up without the event.
type PublishError struct {
	ExportID   string
	DetailType string
	Err        error
}

func (e *PublishError) Error() string {
	return fmt.Sprintf("export %s moved, but %s was not published: %v", e.ExportID, e.DetailType, e.Err)
}

func (e *PublishError) Unwrap() error { return e.Err }

// Machine moves exports through their stages. It is the only writer of records: every function
// and CLI verb asks it for the next transition. A Machine is safe for concurrent use; two
// invocations racing on one export are decided by the store's conditional writes.
type Machine struct {
	store *Store
	pub   *Publisher
	now   func() time.Time
}

// Option configures a Machine.
type Option func(*Machine)

// WithClock sets the clock (tests, the twin's fast clock).
func WithClock(now func() time.Time) Option { return func(m *Machine) { m.now = now } }

// NewMachine returns a state machine over store that publishes to pub.
func NewMachine(store *Store, pub *Publisher, opts ...Option) *Machine {
	m := &Machine{store: store, pub: pub, now: time.Now}
	for _, o := range opts {
		o(m)
	}
	return m
}

// Store returns the record store.
func (m *Machine) Store() *Store { return m.store }

// Now returns the machine's clock reading, in UTC.
func (m *Machine) Now() time.Time { return m.now().UTC() }

// NewExport is what Begin needs to create a record.
type NewExport struct {
	Prefix      string
	ExportID    string
	Window      string
	Cache       Cache
	MaxAttempts int
}

// Begin creates the record of a new export in stage requested, attempt 1. It fails with
// ErrExists when the export already has a record: one export per cache per window.
func (m *Machine) Begin(ctx context.Context, n NewExport) (*Export, error) {
	l, err := NewLayout(n.Prefix, n.Cache.ID, n.ExportID)
	if err != nil {
		return nil, err
	}
	if n.MaxAttempts < 1 {
		return nil, fmt.Errorf("export %s: max attempts %d must be at least 1", n.ExportID, n.MaxAttempts)
	}
	now := m.Now()
	rec := Record{
		Format: Format, ExportID: n.ExportID, Cache: n.Cache, Bucket: m.store.Bucket(), Prefix: l.Prefix,
		Window: n.Window, Attempt: 1, MaxAttempts: n.MaxAttempts, Stage: StageRequested,
		Objects: []Object{}, Removed: []Removal{},
		History:   []HistoryEntry{{Stage: StageRequested, At: now}},
		CreatedAt: now, UpdatedAt: now,
	}
	key := l.RecordKey()
	etag, err := m.store.Create(ctx, key, &rec)
	if err != nil {
		return nil, err
	}
	return &Export{Key: key, ETag: etag, Record: rec}, nil
}

// Load reads the export whose record is at key.
func (m *Machine) Load(ctx context.Context, key string) (*Export, error) {
	rec, etag, err := m.store.Load(ctx, key)
	if err != nil {
		return nil, err
	}
	return &Export{Key: key, ETag: etag, Record: *rec}, nil
}

// Move moves e to stage to, applying change to the record first (change may be nil), appending
// the history and writing with If-Match. It returns a *TransitionError when the move is not
// allowed and an error wrapping ErrConflict when another writer got there first (e is then
// stale: Load it again). When the new stage has an event, Move publishes it after the write;
// a failed publish is a *PublishError (the move stands).
func (m *Machine) Move(ctx context.Context, e *Export, to Stage, reason string, change func(*Record)) error {
	if !Allowed(e.Stage, to) {
		return &TransitionError{ExportID: e.ExportID, From: e.Stage, To: to}
	}
	next := cloneRecord(e.Record)
	if change != nil {
		change(&next)
	}
	now := m.Now()
	next.Stage = to
	next.UpdatedAt = now
	next.History = append(next.History, HistoryEntry{Stage: to, At: now, Reason: reason})
	etag, err := m.store.Update(ctx, e.Key, e.ETag, &next)
	if err != nil {
		return err
	}
	e.Record, e.ETag = next, etag
	if dt, ok := stageEvents[to]; ok {
		return m.publish(ctx, e, dt, nil)
	}
	return nil
}

// Save writes a change to e that keeps its stage (a checkpoint, objects observed), conditioned
// on its ETag like Move. Terminal records are never rewritten.
func (m *Machine) Save(ctx context.Context, e *Export, change func(*Record)) error {
	if e.Stage.Terminal() {
		return fmt.Errorf("export %s is %s: its record is final", e.ExportID, e.Stage)
	}
	next := cloneRecord(e.Record)
	change(&next)
	next.Stage = e.Stage
	next.UpdatedAt = m.Now()
	etag, err := m.store.Update(ctx, e.Key, e.ETag, &next)
	if err != nil {
		return err
	}
	e.Record, e.ETag = next, etag
	return nil
}

// NoteRemoved appends what cleanup removed to e's record without changing its stage. It is the
// one write allowed on a final record (cancelled, abandoned, verified: late objects of a dead
// attempt, retention), so that the record keeps saying what became of every object.
func (m *Machine) NoteRemoved(ctx context.Context, e *Export, removed []Removal) error {
	if len(removed) == 0 {
		return nil
	}
	next := cloneRecord(e.Record)
	next.Removed = append(next.Removed, removed...)
	next.UpdatedAt = m.Now()
	etag, err := m.store.Update(ctx, e.Key, e.ETag, &next)
	if err != nil {
		return err
	}
	e.Record, e.ETag = next, etag
	return nil
}

// Publish publishes an event about e that no transition implies (Export Requested for a fresh
// record fanned out by the window tick, Export Verifying for a checkpointed verification).
func (m *Machine) Publish(ctx context.Context, e *Export, detailType string) error {
	return m.publish(ctx, e, detailType, nil)
}

// Snapshotting records that the snapshot src is being made and moves e to snapshotting.
func (m *Machine) Snapshotting(ctx context.Context, e *Export, src Source, reason string) error {
	return m.Move(ctx, e, StageSnapshotting, reason, func(r *Record) { r.Source = src })
}

// Exporting records the source and target and moves e to exporting, publishing Export Started
// with what verify-export should expect.
func (m *Machine) Exporting(ctx context.Context, e *Export, src Source, target string, expect Expect, reason string) error {
	if !Allowed(e.Stage, StageExporting) {
		return &TransitionError{ExportID: e.ExportID, From: e.Stage, To: StageExporting}
	}
	next := cloneRecord(e.Record)
	now := m.Now()
	next.Source, next.Target, next.Stage, next.UpdatedAt = src, target, StageExporting, now
	next.History = append(next.History, HistoryEntry{Stage: StageExporting, At: now, Reason: reason})
	etag, err := m.store.Update(ctx, e.Key, e.ETag, &next)
	if err != nil {
		return err
	}
	e.Record, e.ETag = next, etag
	return m.publish(ctx, e, DetailStarted, &expect)
}

// Fail moves e to failed with why, publishing Export Failed for cleanup-export.
func (m *Machine) Fail(ctx context.Context, e *Export, why Error) error {
	return m.Move(ctx, e, StageFailed, why.Code, func(r *Record) { w := why; r.Error = &w })
}

// Cancel moves e to cancelled on request, from any stage before verified.
func (m *Machine) Cancel(ctx context.Context, e *Export, reason string) error {
	return m.Move(ctx, e, StageCancelled, reason, nil)
}

// Cleaned records what cleanup removed and moves e from failed to cleaned.
func (m *Machine) Cleaned(ctx context.Context, e *Export, removed []Removal) error {
	return m.Move(ctx, e, StageCleaned, "cleaned", func(r *Record) { r.Removed = append(r.Removed, removed...) })
}

// ErrBudgetSpent is the reason NextAttempt gives when it abandons an export.
var ErrBudgetSpent = errors.New("no attempts left")

// NextAttempt is the retry-or-final decision, made once for every caller: a cleaned export with
// attempts left goes back to requested as attempt N+1 (not before notBefore) and Export Requested
// is published; one without goes to abandoned (Export Abandoned, the alert). It reports whether
// another attempt was asked for.
func (m *Machine) NextAttempt(ctx context.Context, e *Export, notBefore time.Time) (bool, error) {
	if e.Stage != StageCleaned {
		return false, &TransitionError{ExportID: e.ExportID, From: e.Stage, To: StageRequested}
	}
	if e.Attempt >= e.MaxAttempts {
		return false, m.Move(ctx, e, StageAbandoned, ErrBudgetSpent.Error(), nil)
	}
	err := m.Move(ctx, e, StageRequested, fmt.Sprintf("attempt %d of %d", e.Attempt+1, e.MaxAttempts), func(r *Record) {
		r.Attempt++
		r.Source, r.Target, r.Objects, r.Checkpoint = Source{}, "", []Object{}, nil
		r.NotBefore = notBefore.UTC()
	})
	return err == nil || isPublishError(err), err
}

func (m *Machine) publish(ctx context.Context, e *Export, detailType string, expect *Expect) error {
	if m.pub == nil {
		return nil
	}
	d := DetailOf(&e.Record, e.Key)
	d.Expect = expect
	if err := m.pub.Publish(ctx, detailType, d); err != nil {
		return &PublishError{ExportID: e.ExportID, DetailType: detailType, Err: err}
	}
	return nil
}

func isPublishError(err error) bool {
	var pe *PublishError
	return errors.As(err, &pe)
}

// cloneRecord copies the slices and maps of a record so that a failed write leaves the caller's
// copy as it was.
func cloneRecord(r Record) Record {
	r.Objects = slices.Clone(r.Objects)
	r.Removed = slices.Clone(r.Removed)
	r.History = slices.Clone(r.History)
	if r.Error != nil {
		e := *r.Error
		r.Error = &e
	}
	if r.Checkpoint != nil {
		c := make(map[string]string, len(r.Checkpoint))
		for k, v := range r.Checkpoint {
			c[k] = v
		}
		r.Checkpoint = c
	}
	return r
}
