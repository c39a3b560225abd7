package render

import (
	"errors"
	"strings"
	"testing"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
)

// TestCheckLines: a line at each daemon's limit passes, one byte (or one
// word) more is an error naming the file, the line number and the block
// it is in.
func TestCheckLines(t *testing.T) {
	kaFile := func(line string) string {
		return ManagedMarker + "\n\nglobal_defs {\n    router_id x\n}\n\nvrrp_instance VI_1 {\n    state MASTER\n" + line + "\n}\n"
	}
	notify := func(n int) string {
		pre := `    notify_master "`
		return pre + strings.Repeat("x", n-len(pre)-1) + `"`
	}
	haFile := func(line string) string {
		return ManagedMarker + "\n\nglobal\n    maxconn 10\n\nbackend be_web\n    balance roundrobin\n" + line + "\n"
	}
	words := func(n int) string { return "    server" + strings.Repeat(" w", n-1) }
	cases := []struct {
		name, file, text string
		line             int
		object           string
	}{
		{"keepalived at the limit", "keepalived.conf", kaFile(notify(model.KeepalivedMaxLine)), 0, ""},
		{"keepalived one byte over", "keepalived.conf", kaFile(notify(model.KeepalivedMaxLine + 1)), 9, "vrrp_instance VI_1"},
		{"keepalived header over", "keepalived.conf", kaFile("}\n\nvrrp_script " + strings.Repeat("s", 1100) + " {"), 11, `"vrrp_script ` + strings.Repeat("s", 52) + `"...`},
		{"haproxy at the limit", "haproxy.cfg", haFile("    server " + strings.Repeat("o", model.HAProxyMaxLine-11)), 0, ""},
		{"haproxy one byte over", "haproxy.cfg", haFile("    server " + strings.Repeat("o", model.HAProxyMaxLine-10)), 8, "backend be_web"},
		{"haproxy words at the limit", "haproxy.cfg", haFile(words(model.HAProxyMaxWords)), 0, ""},
		{"haproxy one word over", "haproxy.cfg", haFile(words(model.HAProxyMaxWords + 1)), 8, "backend be_web"},
		{"a file without limits", "realserver.sh", "#!/bin/sh\n" + strings.Repeat("x", 5000) + "\n", 0, ""},
		{"the last line without newline", "keepalived.conf", "vrrp_instance A {\n    " + strings.Repeat("y", 1019), 2, "vrrp_instance A"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := checkLines(tc.file, tc.text)
			if tc.line == 0 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var le *LineError
			if !errors.As(err, &le) {
				t.Fatalf("err = %v, want a *LineError at line %d", err, tc.line)
			}
			if le.File != tc.file || le.Line != tc.line || le.Object != tc.object {
				t.Errorf("got %s line %d in %q, want %s line %d in %q", le.File, le.Line, le.Object, tc.file, tc.line, tc.object)
			}
			msg := err.Error()
			if len(msg) > 400 || !strings.Contains(msg, tc.file) {
				t.Errorf("message of %d bytes: %.400s", len(msg), msg)
			}
		})
	}
}

// issueNotify is the issue's notify_master: about 2,000 characters with
// `garp_master_delay` after byte 1023 of its rendered line (`    notify_master "`
// takes 19). delay is the directive's value.
func issueNotify(delay string) string {
	v := "/usr/bin/logger " + strings.Repeat("x", 1023-19-len("/usr/bin/logger ")) + " garp_master_delay " + delay + " "
	return v + strings.Repeat("y", 2000-len(v))
}

// smuggleDirector is a VRRP-only director whose first instance runs a
// notify_master: the shape of the issue.
func smuggleDirector(notify string) *model.KeepalivedConfig {
	d := scriptDirector(drDirector("lvs", "MASTER", 100))
	d.Instances[0].Notify.Master = notify
	return &model.KeepalivedConfig{Director: d}
}

// TestKeepalivedSmugglingRefusedAtPlan: the issue's value never reaches a
// file: Keepalived (and the data source through it) returns the model's
// error at the attribute path.
func TestKeepalivedSmugglingRefusedAtPlan(t *testing.T) {
	out, err := Keepalived(smuggleDirector(issueNotify("77")))
	if err == nil {
		t.Fatalf("rendered:\n%s", kaNumbered(out))
	}
	errs := model.AsErrors(err)
	if len(errs) != 1 || errs[0].Path.String() != "vrrp_instance[0].notify_master" || !strings.Contains(errs[0].Msg, "2000 bytes long") {
		t.Fatalf("want one error at vrrp_instance[0].notify_master naming the length, got: %v", err)
	}
}

// TestKeepalivedSplitsLongLines shows, with the real keepalived, what the
// bound prevents and that it costs nothing: the issue's line, written into
// a rendered file by hand, is read by keepalived as two lines, the second
// a garp_master_delay of the instance (99999 here, out of range, so that
// keepalived -t names it; the issue's 77 it takes without a word), and
// checkLines refuses that file at the line; a line of KeepalivedMaxLine
// bytes keepalived reads whole.
func TestKeepalivedSplitsLongLines(t *testing.T) {
	const placeholder = "/usr/bin/logger PLACEHOLDER"
	cfg := smuggleDirector(placeholder)
	base, err := Keepalived(cfg)
	if err != nil {
		t.Fatal(err)
	}
	lineOf := func(text string) int {
		for i, l := range strings.Split(text, "\n") {
			if strings.Contains(l, "notify_master") {
				return i + 1
			}
		}
		t.Fatalf("no notify_master line:\n%s", kaNumbered(text))
		return 0
	}

	smuggled := strings.Replace(base, placeholder, issueNotify("99999"), 1)
	var le *LineError
	if err := checkLines("keepalived.conf", smuggled); !errors.As(err, &le) || le.Line != lineOf(smuggled) || le.Object != "vrrp_instance VI_1" {
		t.Errorf("checkLines(smuggled) = %v, want a LineError at line %d in vrrp_instance VI_1", err, lineOf(smuggled))
	}

	// The longest line the limit admits: `    notify_master "` + value + `"`.
	edge := strings.Replace(base, placeholder, "/usr/bin/logger "+strings.Repeat("x", model.KeepalivedMaxLine-20-len("/usr/bin/logger ")), 1)
	if n := len(strings.Split(edge, "\n")[lineOf(edge)-1]); n != model.KeepalivedMaxLine {
		t.Fatalf("edge line is %d bytes, want %d", n, model.KeepalivedMaxLine)
	}
	if err := checkLines("keepalived.conf", edge); err != nil {
		t.Errorf("checkLines refuses a line at the limit: %v", err)
	}

	out, err := runKeepalivedTest(t, smuggled, kaInterfaces(cfg))
	if err == nil || !strings.Contains(out, "garp_master_delay '99999' invalid") || !strings.Contains(out, "Unmatched quote") {
		t.Errorf("keepalived did not read the tail of the long line as a garp_master_delay (err %v):\n%.3000s", err, out)
	}
	if out, err := runKeepalivedTest(t, edge, kaInterfaces(cfg)); err != nil || strings.Contains(out, "quote") {
		t.Errorf("keepalived -t on a line of %d bytes: %v\n%.3000s", model.KeepalivedMaxLine, err, out)
	}
}
