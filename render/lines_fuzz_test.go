package render

import (
	"errors"
	"strings"
	"testing"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
)

// FuzzHAProxyLines proves haproxy.cfg's line bound: long text (a fuzz
// string repeated up to 4 KB) in every group of FuzzHAProxy's fields, one
// group at a time and all at once, is either refused by the model or
// rendered with every line within what haproxy reads as one line: at most
// model.HAProxyMaxLine bytes and model.HAProxyMaxWords words. It reuses
// FuzzHAProxy's configuration and field groups.
func FuzzHAProxyLines(f *testing.F) {
	for _, s := range []string{"x", "w ", "!x ", "path_beg /", "ssl crt /etc/x.pem ", "a.b-"} {
		for _, rep := range []uint16{1, 40, 41, 50, 55, 60, 64, 100, 960, 961, 2048, 4096} {
			f.Add(s, rep, 80)
		}
	}
	f.Fuzz(func(t *testing.T, s string, rep uint16, n int) {
		v := kaLong(s, rep, 4096)
		in := fuzzInput{v, v, v, v, v, v, v, v, v, v, n}
		variants := [][]fuzzGroup{fuzzGroups}
		for _, g := range fuzzGroups {
			variants = append(variants, []fuzzGroup{g})
		}
		for _, groups := range variants {
			cfg := fuzzBase()
			for _, g := range groups {
				g.apply(cfg, &in)
			}
			out, err := HAProxy(cfg)
			if err != nil {
				var errs model.Errors
				if !errors.As(err, &errs) {
					t.Fatalf("fields %s: the model accepts %d bytes of text but rendering fails: %v", groupNames(groups), len(v), err)
				}
				continue
			}
			for i, l := range strings.Split(out, "\n") {
				if len(l) > model.HAProxyMaxLine || len(strings.Fields(l)) > model.HAProxyMaxWords {
					t.Fatalf("fields %s: line %d has %d bytes and %d words, more than haproxy reads as one line (%d, %d)\n%s",
						groupNames(groups), i+1, len(l), len(strings.Fields(l)), model.HAProxyMaxLine, model.HAProxyMaxWords, numbered(out))
				}
			}
		}
	})
}
