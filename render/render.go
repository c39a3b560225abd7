// Package render turns the declarative model into the files operators know:
// keepalived.conf, haproxy.cfg, ipvsadm-save rules, sysctl.d fragments and
// the real-server side of DR/TUN/NAT.
//
// Every renderer validates its input first (model.Errors with attribute
// paths) and lays out a precomputed view through a pongo2 template under
// templates/. Output is deterministic: the same model gives the same bytes.
package render

import (
	"bytes"
	"embed"
	"fmt"
	"io"
	"sync"
	"unsafe"

	"github.com/flosch/pongo2/v6"
)

//go:embed templates/*
var templateFS embed.FS

// newTemplateSet returns the project's own pongo2 set: no package-global
// state is touched. Each template starts with {% autoescape off %}: these
// are config files, not HTML, and the model's validation is what keeps
// values safe.
func newTemplateSet() *pongo2.TemplateSet {
	set := pongo2.NewSet("render", pongo2.NewFSLoader(templateFS))
	set.Options.TrimBlocks = true
	set.Options.LStripBlocks = true
	return set
}

// templates holds every template of templates/, parsed once per process on
// first use.
//
// pongo2 v6 applies TrimBlocks and LStripBlocks by editing the parsed
// template's tokens at the start of each Execute, so a template executed
// twice with them on drops one more newline after block tags every time
// (a blank line that follows a tag is gone from the second rendering on),
// and concurrent executions race on the tokens. So each template is
// executed once here, into nothing, which trims its tokens as the options
// say (pongo2 does that before it looks at the context, so the empty
// context's error is of no interest), and then has both options turned
// off: every later Execute only reads the template, and concurrent
// renderings share it (TestConcurrentRenders runs them under -race).
var templates struct {
	once   sync.Once
	byName map[string]*pongo2.Template
	err    error
}

func loadTemplates() (map[string]*pongo2.Template, error) {
	templates.once.Do(func() {
		entries, err := templateFS.ReadDir("templates")
		if err != nil {
			templates.err = fmt.Errorf("render: listing templates: %w", err)
			return
		}
		set := newTemplateSet()
		byName := make(map[string]*pongo2.Template, len(entries))
		for _, e := range entries {
			tpl, err := set.FromFile("templates/" + e.Name())
			if err != nil {
				templates.err = fmt.Errorf("render: loading template %s: %w", e.Name(), err)
				return
			}
			_ = tpl.ExecuteWriterUnbuffered(nil, io.Discard) // trims the tokens once (see above)
			tpl.Options.TrimBlocks = false
			tpl.Options.LStripBlocks = false
			byName[e.Name()] = tpl
		}
		templates.byName = byName
	})
	return templates.byName, templates.err
}

// execute renders the named template with ctx and tidies blank lines: at
// most one empty line in a row, none at the start, exactly one newline at
// the end. A file whose daemon would read a line other than it is written
// (too long, too many words: see checkLines) is an error, never output.
func execute(name string, ctx pongo2.Context) (string, error) {
	byName, err := loadTemplates()
	if err != nil {
		return "", err
	}
	tpl, ok := byName[name]
	if !ok {
		return "", fmt.Errorf("render: no template %s", name)
	}
	out, err := tpl.ExecuteBytes(ctx)
	if err != nil {
		return "", fmt.Errorf("render: executing template %s: %w", name, err)
	}
	text := tidy(out)
	if err := checkLines(name, text); err != nil {
		return "", err
	}
	return text, nil
}

// tidy trims the blanks at the end of each line and drops empty lines at
// the start, after another empty line and at the end; the text ends with
// exactly one newline. It compacts s in place, in one pass (the text only
// shrinks, so what is written never overtakes what is still to read), and
// hands the bytes over as the string without a copy: s is the buffer
// pongo2 rendered into, which nothing else holds or touches again.
func tidy(s []byte) string {
	w := 0       // bytes of s written so far
	gap := false // an empty line came after the last line written
	for rest, more := s, true; more; {
		var line []byte
		line, rest, more = bytes.Cut(rest, []byte{'\n'})
		line = bytes.TrimRight(line, " \t")
		switch {
		case len(line) == 0:
			gap = w > 0
			continue
		case gap:
			w += copy(s[w:], "\n\n")
		case w > 0:
			s[w] = '\n'
			w++
		}
		w += copy(s[w:], line)
		gap = false
	}
	if w == len(s) { // only when s held no newline to reuse
		s = append(s, '\n')
	} else {
		s[w] = '\n'
	}
	s = s[:w+1]
	return unsafe.String(unsafe.SliceData(s), len(s))
}
