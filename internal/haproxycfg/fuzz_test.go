package haproxycfg

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lvsops/terraform-provider-lvs/render"
)

// FuzzParse: Parse never panics; errors and warnings name the file.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("../../render/testdata/haproxy/*.cfg")
	more, _ := filepath.Glob("testdata/*.cfg")
	for _, p := range append(files, more...) {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(string(b))
		}
	}
	f.Add("backend b\n option httpchk GET / HTTP/1.1\\r\\nHost:\\ x\n http-check send meth\n server s [::1]:1 weight\n")
	f.Fuzz(func(t *testing.T, src string) {
		cfg, warns, err := Parse(strings.NewReader(src), "f.cfg")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.cfg:") {
				t.Errorf("error without file name: %v", err)
			}
			return
		}
		if cfg == nil {
			t.Fatal("nil configuration without error")
		}
		for _, w := range warns {
			if w.File != "f.cfg" || w.Line <= 0 {
				t.Errorf("warning without file:line: %+v", w)
			}
		}
		if cfg.Validate(nil) != nil {
			return
		}
		// What validates renders, and the rendering reads back as the same
		// configuration.
		text, err := render.HAProxy(cfg)
		if err != nil {
			t.Fatalf("render of a valid configuration: %v", err)
		}
		again, _, err := Parse(strings.NewReader(text), "rendered")
		if err != nil {
			t.Fatalf("parsing the rendering: %v\n%s", err, text)
		}
		if !Equivalent(cfg, again) {
			t.Fatalf("the rendering reads back differently:\n%s", text)
		}
	})
}
