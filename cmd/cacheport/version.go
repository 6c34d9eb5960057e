package main

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
)

// runVersion prints cacheport's version (and Go's), as JSON with --json.
func runVersion(_ context.Context, e *env, args []string) int {
	fs := e.flagSet("version", "cacheport version [--json]")
	if _, err := parseArgs(fs, args); err != nil {
		return exitUsage
	}
	if e.global.json {
		b, _ := json.Marshal(map[string]string{"version": version, "go": runtime.Version()})
		fmt.Fprintf(e.stdout, "%s\n", b)
		return exitOK
	}
	fmt.Fprintf(e.stdout, "cacheport %s (%s)\n", version, runtime.Version())
	return exitOK
}
