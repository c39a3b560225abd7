package transport

import (
	"bytes"
	"testing"
)

func TestPIDWriter(t *testing.T) {
	for _, tc := range []struct {
		name   string
		writes []string
		pid    int
		out    string
	}{
		{"one write", []string{"123\nhello\n"}, 123, "hello\n"},
		{"split header", []string{"1", "23", "\nhel", "lo"}, 123, "hello"},
		{"no output", []string{"77\n"}, 77, ""},
		{"noisy profile", []string{"welcome!\n42\nout"}, 0, "welcome!\n42\nout"},
		{"long first line", []string{string(bytes.Repeat([]byte("x"), 40)) + "\n"}, 0, string(bytes.Repeat([]byte("x"), 40)) + "\n"},
		{"unterminated", []string{"partial"}, 0, "partial"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			w := &pidWriter{dst: &out}
			for _, s := range tc.writes {
				if n, err := w.Write([]byte(s)); err != nil || n != len(s) {
					t.Fatalf("Write(%q) = %d, %v", s, n, err)
				}
			}
			if err := w.flush(); err != nil {
				t.Fatal(err)
			}
			if w.get() != tc.pid || out.String() != tc.out {
				t.Errorf("pid %d, out %q; want %d, %q", w.get(), out.String(), tc.pid, tc.out)
			}
		})
	}
}
