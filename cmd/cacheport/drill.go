package main

import (
	"context"
	"fmt"
	"io"

	"github.com/cacheport/cacheport/shared/drill"
	"github.com/cacheport/cacheport/shared/rdb"
)

// drillReport is the restore drill's part of a verify report.
type drillReport struct {
	*drill.Result
	Error string `json:"error,omitempty"`
}

// runDrill loads a verified file into a compatible server on PATH.
func runDrill(ctx context.Context, file string, rep *rdb.Report) *drillReport {
	srv, err := drill.Choose(drill.Find(), rep.Dialect, rep.RDBVersion)
	if err != nil {
		return &drillReport{Result: &drill.Result{}, Error: err.Error()}
	}
	res, err := drill.Run(ctx, file, srv)
	if err != nil {
		return &drillReport{Result: &res, Error: err.Error()}
	}
	return &drillReport{Result: &res}
}

func (d *drillReport) print(w io.Writer) {
	switch {
	case d == nil:
	case d.Error != "":
		fmt.Fprintf(w, "DRILL    could not run: %s\n", d.Error)
	case d.OK:
		fmt.Fprintf(w, "DRILL    ok: %s (%.1fs)\n", d.Message, d.Seconds)
	default:
		fmt.Fprintf(w, "DRILL    MISMATCH: %s\n", d.Message)
	}
}
