// Package render turns the declarative model into the files operators know:
// keepalived.conf, haproxy.cfg, ipvsadm-save rules, sysctl.d fragments and
// the real-server side of DR/TUN/NAT.
//
// Every renderer validates its input first (model.Errors with attribute
// paths) and lays out a precomputed view through a pongo2 template under
// templates/. Output is deterministic: the same model gives the same bytes.
package render

import (
	"embed"
	"fmt"
	"strings"

	"github.com/flosch/pongo2/v6"
)

//go:embed templates/*
var templateFS embed.FS

// newTemplateSet returns the project's own pongo2 set: no package-global
// state is touched. Each template starts with {% autoescape off %}: these
// are config files, not HTML, and the model's validation is what keeps
// values safe.
//
// execute makes a fresh set and parses the template on every call instead
// of caching it: pongo2 v6 applies TrimBlocks by editing the parsed
// template's tokens at each Execute, so a cached template drops one more
// newline after block tags every time it runs (a blank line that follows a
// tag is gone from the second rendering on), and concurrent renderings race.
func newTemplateSet() *pongo2.TemplateSet {
	set := pongo2.NewSet("render", pongo2.NewFSLoader(templateFS))
	set.Options.TrimBlocks = true
	set.Options.LStripBlocks = true
	return set
}

// execute renders the named template with ctx and tidies blank lines: at
// most one empty line in a row, none at the start, exactly one newline at
// the end. A file whose daemon would read a line other than it is written
// (too long, too many words: see checkLines) is an error, never output.
func execute(name string, ctx pongo2.Context) (string, error) {
	tpl, err := newTemplateSet().FromFile("templates/" + name)
	if err != nil {
		return "", fmt.Errorf("render: loading template %s: %w", name, err)
	}
	out, err := tpl.Execute(ctx)
	if err != nil {
		return "", fmt.Errorf("render: executing template %s: %w", name, err)
	}
	text := tidy(out)
	if err := checkLines(name, text); err != nil {
		return "", err
	}
	return text, nil
}

func tidy(s string) string {
	lines := strings.Split(s, "\n")
	out := make([]string, 0, len(lines))
	for _, l := range lines {
		l = strings.TrimRight(l, " \t")
		if l == "" && (len(out) == 0 || out[len(out)-1] == "") {
			continue
		}
		out = append(out, l)
	}
	for len(out) > 0 && out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	return strings.Join(out, "\n") + "\n"
}
