package testenv

import (
	"bufio"
	"strings"
	"testing"
)

func TestReadReply(t *testing.T) {
	cases := []struct {
		in, want string
		err      bool
	}{
		{"+OK\r\n", "OK", false},
		{":42\r\n", "42", false},
		{"$5\r\nhello\r\n", "hello", false},
		{"*2\r\n$1\r\na\r\n:3\r\n", "a\n3", false},
		{"-ERR nope\r\n", "", true},
		{"?\r\n", "", true},
	}
	for _, c := range cases {
		got, err := readReply(bufio.NewReader(strings.NewReader(c.in)))
		if (err != nil) != c.err || got != c.want {
			t.Errorf("readReply(%q) = %q, %v; want %q, error %v", c.in, got, err, c.want, c.err)
		}
	}
}

func TestStartRedis(t *testing.T) {
	r := StartRedis(t)
	r.MustDo(t, "SET", "k", "v")
	if got := r.MustDo(t, "GET", "k"); got != "v" {
		t.Fatalf("GET k = %q, want v", got)
	}
	if got := r.MustDo(t, "DBSIZE"); got != "1" {
		t.Fatalf("DBSIZE = %q, want 1", got)
	}
}
