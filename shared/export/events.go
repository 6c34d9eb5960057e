package export

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
)

// EventSource is the source of every event cacheport publishes.
const EventSource = "cacheport"

// The detail-types of cacheport's events (CONTRACTS.md, "Events").
const (
	DetailRequested = "Export Requested"
	DetailStarted   = "Export Started"
	DetailVerifying = "Export Verifying"
	DetailVerified  = "Export Verified"
	DetailFailed    = "Export Failed"
	DetailCleaned   = "Export Cleaned"
	DetailAbandoned = "Export Abandoned"
	DetailCancelled = "Export Cancelled"
	DetailAudit     = "Audit Finding"
)

// stageEvents maps a stage to the event whoever moves an export into it publishes.
// Stages missing here publish nothing when entered.
var stageEvents = map[Stage]string{
	StageRequested: DetailRequested, // entered again from cleaned: the next attempt
	StageExporting: DetailStarted,
	StageVerified:  DetailVerified,
	StageFailed:    DetailFailed,
	StageCleaned:   DetailCleaned,
	StageAbandoned: DetailAbandoned,
	StageCancelled: DetailCancelled,
}

// Expect tells verify-export what an export will write (in Export Started).
type Expect struct {
	Target    string   `json:"target"`
	Shards    int      `json:"shards,omitempty"`
	KeyPrefix string   `json:"key_prefix"`
	Keys      []string `json:"keys,omitempty"`
}

// Detail is the detail of every cacheport event.
type Detail struct {
	ExportID  string  `json:"export_id"`
	Cache     string  `json:"cache"`
	Kind      Kind    `json:"kind"`
	Engine    string  `json:"engine"`
	Bucket    string  `json:"bucket"`
	Prefix    string  `json:"prefix"`
	Attempt   int     `json:"attempt"`
	Stage     Stage   `json:"stage"`
	RecordKey string  `json:"record_key"`
	Reason    string  `json:"reason,omitempty"`
	Expect    *Expect `json:"expect,omitempty"`
}

// DetailOf builds the event detail of a record stored at key.
func DetailOf(rec *Record, key string) Detail {
	d := Detail{
		ExportID: rec.ExportID, Cache: rec.Cache.ID, Kind: rec.Cache.Kind, Engine: rec.Cache.Engine,
		Bucket: rec.Bucket, Prefix: rec.Prefix, Attempt: rec.Attempt, Stage: rec.Stage, RecordKey: key,
	}
	if rec.Error != nil {
		d.Reason = rec.Error.Code
	}
	return d
}

// EventsAPI is the part of the EventBridge client the publisher calls.
type EventsAPI interface {
	PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, opts ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

var _ EventsAPI = (*eventbridge.Client)(nil)

// Publisher puts cacheport's events on the cacheport bus. Its zero value is not usable.
type Publisher struct {
	api EventsAPI
	bus string
}

// NewPublisher returns a publisher to the named event bus.
func NewPublisher(api EventsAPI, bus string) *Publisher { return &Publisher{api: api, bus: bus} }

// Publish puts one event. A partial failure (FailedEntryCount > 0) is an error.
func (p *Publisher) Publish(ctx context.Context, detailType string, d Detail) error {
	body, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("encode %s event: %w", detailType, err)
	}
	out, err := p.api.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
		EventBusName: aws.String(p.bus),
		Source:       aws.String(EventSource),
		DetailType:   aws.String(detailType),
		Detail:       aws.String(string(body)),
		Resources:    []string{},
	}}})
	if err != nil {
		return fmt.Errorf("publish %s for %s: %w", detailType, d.ExportID, err)
	}
	if out.FailedEntryCount > 0 {
		code, msg := "", ""
		if len(out.Entries) > 0 {
			code, msg = aws.ToString(out.Entries[0].ErrorCode), aws.ToString(out.Entries[0].ErrorMessage)
		}
		return fmt.Errorf("publish %s for %s: entry rejected: %s %s", detailType, d.ExportID, code, msg)
	}
	return nil
}
