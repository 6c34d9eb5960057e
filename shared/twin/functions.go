package twin

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/cacheport/cacheport/shared/awsconf"
	"github.com/cacheport/cacheport/shared/config"
	"github.com/cacheport/cacheport/shared/handler/audit"
	"github.com/cacheport/cacheport/shared/handler/cleanupexport"
	"github.com/cacheport/cacheport/shared/handler/memcachedexport"
	"github.com/cacheport/cacheport/shared/handler/startexport"
	"github.com/cacheport/cacheport/shared/handler/verifyexport"
	"github.com/cacheport/cacheport/shared/telemetry"
)

// handlerFunc is a function's Lambda handler as the twin invokes it.
type handlerFunc func(ctx context.Context, payload json.RawMessage) error

// wiring builds one function's handler from its settings and clients, exactly as its main.go
// does (each handler package's Wire). Functions of the template without an entry here are not
// run (the router records their deliveries as "no subscriber").
type wiring func(t *Twin, cfg config.Config, c *awsconf.Clients, m *telemetry.Metrics, name string) handlerFunc

var wirings = map[string]wiring{
	"StartExportFunction": func(t *Twin, cfg config.Config, c *awsconf.Clients, m *telemetry.Metrics, name string) handlerFunc {
		h := startexport.Wire(cfg, c, t.opts.Log.With("function", name), m, t.Clock.Now)
		return func(ctx context.Context, p json.RawMessage) error { _, err := h.Handle(ctx, p); return err }
	},
	"VerifyExportFunction": func(t *Twin, cfg config.Config, c *awsconf.Clients, m *telemetry.Metrics, name string) handlerFunc {
		h := verifyexport.Wire(cfg, c, t.version(), t.opts.Log.With("function", name), m, t.Clock.Now)
		return func(ctx context.Context, p json.RawMessage) error { _, err := h.Handle(ctx, p); return err }
	},
	"AuditFunction": func(t *Twin, cfg config.Config, c *awsconf.Clients, m *telemetry.Metrics, name string) handlerFunc {
		h := audit.Wire(cfg, c, t.opts.Log.With("function", name), m, t.Clock.Now)
		return func(ctx context.Context, p json.RawMessage) error { _, err := h.Handle(ctx, p); return err }
	},
	"MemcachedExportFunction": func(t *Twin, cfg config.Config, c *awsconf.Clients, m *telemetry.Metrics, name string) handlerFunc {
		h := memcachedexport.Wire(cfg, c, t.opts.Log.With("function", name), m, t.Clock.Now)
		return func(ctx context.Context, p json.RawMessage) error { _, err := h.Handle(ctx, p); return err }
	},
	"CleanupExportFunction": func(t *Twin, cfg config.Config, c *awsconf.Clients, m *telemetry.Metrics, name string) handlerFunc {
		h := cleanupexport.Wire(cfg, c, t.opts.Log.With("function", name), m, t.Clock.Now)
		return func(ctx context.Context, p json.RawMessage) error { _, err := h.Handle(ctx, p); return err }
	},
}

func (t *Twin) version() string {
	if t.opts.Version == "" {
		return "twin"
	}
	return t.opts.Version
}

// startFunctions subscribes every wired function of the template to the router, with the
// environment the template gives it and its own credentials (its logical id is its access key,
// so the call log tells the functions apart).
func (t *Twin) startFunctions() error {
	for _, id := range sortedKeys(t.Template.Env) {
		wire, ok := wirings[id]
		if !ok {
			continue
		}
		cfg, err := config.Load(envOf(t.Template.Env[id]))
		if err != nil {
			return fmt.Errorf("twin: %s's environment from the template: %w", id, err)
		}
		h := wire(t, cfg, t.Clients(id), nil, id)
		t.Router.Subscribe(id, func(ctx context.Context, payload []byte) error { return h(ctx, payload) })
		t.funcs = append(t.funcs, id)
	}
	if len(t.funcs) == 0 {
		return fmt.Errorf("twin: the template has none of the functions the twin can run")
	}
	return nil
}
