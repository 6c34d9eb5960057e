package main

import (
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"time"
)

// isTerminal reports whether w is a character device (a terminal): progress is drawn only
// there, never into a pipe or a log.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// progressReader counts the bytes read through it and, while running, redraws one status line
// on a terminal: what, bytes so far, total and rate.
type progressReader struct {
	r     io.Reader
	n     atomic.Int64
	done  chan struct{}
	ended chan struct{}
}

// withProgress wraps r with a progress line on w when w is a terminal; stop ends and clears it.
func withProgress(r io.Reader, w io.Writer, what string, total int64) (io.Reader, func()) {
	if !isTerminal(w) {
		return r, func() {}
	}
	p := &progressReader{r: r, done: make(chan struct{}), ended: make(chan struct{})}
	start := time.Now()
	go func() {
		defer close(p.ended)
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-p.done:
				fmt.Fprint(w, "\r\033[K")
				return
			case <-t.C:
				fmt.Fprintf(w, "\r\033[K%s", progressLine(what, p.n.Load(), total, time.Since(start)))
			}
		}
	}()
	return p, func() { close(p.done); <-p.ended }
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.n.Add(int64(n))
	return n, err
}

// progressLine formats one status line.
func progressLine(what string, n, total int64, elapsed time.Duration) string {
	rate := float64(n) / (1 << 20) / max(elapsed.Seconds(), 0.001)
	if total > 0 {
		return fmt.Sprintf("%s  %.1f / %.1f MiB  %3.0f%%  %.0f MiB/s", what, float64(n)/(1<<20), float64(total)/(1<<20), 100*float64(n)/float64(total), rate)
	}
	return fmt.Sprintf("%s  %.1f MiB  %.0f MiB/s", what, float64(n)/(1<<20), rate)
}
