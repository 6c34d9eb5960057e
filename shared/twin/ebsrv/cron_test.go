package ebsrv

import (
	"strings"
	"testing"
	"time"
)

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestExpressionNext(t *testing.T) {
	origin := "2026-11-24T07:20:00Z"
	tests := []struct {
		expr, tz, after string
		want            []string // the next due times, in order
	}{
		{"cron(0 3 * * ? *)", "", "2026-11-24T02:59:59Z", []string{"2026-11-24T03:00:00Z", "2026-11-25T03:00:00Z"}},
		{"cron(0 3 * * ? *)", "", "2026-11-24T03:00:00Z", []string{"2026-11-25T03:00:00Z"}},
		{"cron(0/15 * * * ? *)", "", "2026-11-24T07:20:00Z", []string{"2026-11-24T07:30:00Z", "2026-11-24T07:45:00Z", "2026-11-24T08:00:00Z"}},
		{"cron(5,35 8-9 * * ? *)", "", "2026-11-24T08:40:00Z", []string{"2026-11-24T09:05:00Z", "2026-11-24T09:35:00Z", "2026-11-25T08:05:00Z"}},
		// Monday to Friday (2-6); 2026-11-28 is a Saturday.
		{"cron(0 12 ? * MON-FRI *)", "", "2026-11-27T13:00:00Z", []string{"2026-11-30T12:00:00Z"}},
		{"cron(0 12 ? * 2-6 *)", "", "2026-11-27T13:00:00Z", []string{"2026-11-30T12:00:00Z"}},
		{"cron(0 0 1 JAN,JUL ? *)", "", "2026-11-24T00:00:00Z", []string{"2027-01-01T00:00:00Z", "2027-07-01T00:00:00Z"}},
		{"cron(0 0 L * ? *)", "", "2027-02-01T00:00:00Z", []string{"2027-02-28T00:00:00Z", "2027-03-31T00:00:00Z"}},
		{"cron(0 0 ? * 6#3 *)", "", "2026-11-01T00:00:00Z", []string{"2026-11-20T00:00:00Z"}}, // third Friday
		{"cron(0 0 ? * 6L *)", "", "2026-11-01T00:00:00Z", []string{"2026-11-27T00:00:00Z"}},  // last Friday
		{"cron(0 0 1W * ? *)", "", "2026-10-31T00:00:00Z", []string{"2026-11-02T00:00:00Z"}},  // Nov 1 is a Sunday
		{"cron(0 0 * * ? 2027)", "", "2026-11-24T00:00:00Z", []string{"2027-01-01T00:00:00Z"}},
		{"cron(0 3 * * ? *)", "Europe/Berlin", "2026-11-24T00:00:00Z", []string{"2026-11-24T02:00:00Z"}},
		{"rate(5 minutes)", "", origin, []string{"2026-11-24T07:25:00Z", "2026-11-24T07:30:00Z"}},
		{"rate(5 minutes)", "", "2026-11-24T07:27:10Z", []string{"2026-11-24T07:30:00Z"}},
		{"rate(1 hour)", "", "2026-11-24T06:00:00Z", []string{"2026-11-24T08:20:00Z"}}, // before the origin
		{"rate(2 days)", "", origin, []string{"2026-11-26T07:20:00Z"}},
		{"at(2026-12-01T10:00:00)", "", origin, []string{"2026-12-01T10:00:00Z"}},
	}
	for _, tt := range tests {
		t.Run(tt.expr+" "+tt.after, func(t *testing.T) {
			e, err := ParseExpression(tt.expr, tt.tz)
			if err != nil {
				t.Fatal(err)
			}
			after := mustTime(t, tt.after)
			for _, w := range tt.want {
				got, ok := e.Next(after, mustTime(t, origin))
				if !ok || !got.Equal(mustTime(t, w)) {
					t.Fatalf("Next(%s) = %s, %v; want %s", after.Format(time.RFC3339), got.Format(time.RFC3339), ok, w)
				}
				after = got
			}
		})
	}
	at, _ := ParseExpression("at(2026-12-01T10:00:00)", "")
	if got, ok := at.Next(mustTime(t, "2026-12-01T10:00:00Z"), time.Time{}); ok {
		t.Errorf("at() is due again at %s after it fired", got)
	}
}

func TestExpressionInvalid(t *testing.T) {
	tests := []struct{ expr, wantErr string }{
		{"cron(0 3 * * * *)", "must be ?"},
		{"cron(0 3 ? * ? *)", "cannot both be ?"},
		{"cron(0 3 * * ?)", "6 fields"},
		{"cron(60 3 * * ? *)", "minutes"},
		{"cron(0 24 * * ? *)", "hours"},
		{"cron(0 3 32 * ? *)", "day-of-month"},
		{"cron(0 3 ? * 8 *)", "day-of-week"},
		{"cron(0 3 ? * MON-SUN *)", "backwards"},
		{"cron(0/0 3 * * ? *)", "step"},
		{"rate(5 minute)", "plural"},
		{"rate(1 hours)", "singular"},
		{"rate(0 minutes)", "positive"},
		{"rate(5 weeks)", "unit"},
		{"every 5 minutes", "want rate"},
		{"at(2026-12-01)", "cannot parse"},
	}
	for _, tt := range tests {
		_, err := ParseExpression(tt.expr, "")
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("ParseExpression(%q) = %v, want an error containing %q", tt.expr, err, tt.wantErr)
		}
	}
}
