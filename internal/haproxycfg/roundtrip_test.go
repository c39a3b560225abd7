package haproxycfg

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/lvsops/terraform-provider-lvs/render"
)

// TestGoldenRoundTrip parses every haproxy.cfg the renderer's golden tests
// produce and renders the model again: the bytes must be equal.
func TestGoldenRoundTrip(t *testing.T) {
	files, err := filepath.Glob("../../render/testdata/haproxy/*.cfg")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			cfg, warns, err := Parse(strings.NewReader(string(src)), f)
			if err != nil {
				t.Fatal(err)
			}
			if len(warns) != 0 {
				t.Errorf("warnings on a rendered file: %v", warns)
			}
			got, err := render.HAProxy(cfg)
			if err != nil {
				t.Fatalf("re-render: %v", err)
			}
			if got != string(src) {
				t.Errorf("re-rendered differs:\n%s", diff(string(src), got))
			}
		})
	}
}

func diff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var a, b string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			b = g[i]
		}
		if a != b {
			return "line " + strconv.Itoa(i+1) + ":\nwant " + a + "\n got " + b
		}
	}
	return ""
}
