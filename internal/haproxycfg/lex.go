// Package haproxycfg reads a hand-written haproxy.cfg into the model, so
// that an haproxy host built by hand can be imported and then taken over
// (adopted) by lvs-agent without disturbing traffic.
//
// The reader follows haproxy's syntax: one directive per line, words
// separated by blanks, `#` comments outside quotes, single quotes (taken
// literally), double quotes and backslash escapes (`\ `, `\#`, `\r`,
// `\n`, `\t`). A section starts with a section keyword (global, defaults,
// frontend, backend, listen, and the ones the model has no place for,
// such as peers or userlist, which are left out with a Warning).
//
// Directives the model has fields for are read into them; the others
// become the section's Options lines where the model has them (global,
// frontend, backend, listen), and Warnings elsewhere (defaults, which
// holds only "option" names). Errors name file:line: conditional blocks
// (.if), environment variables ("${VAR}"), server and bind addresses the
// model cannot hold (host names, port ranges, UNIX sockets), and quotes or
// backslashes in a line that would have to be kept as an option (the model
// refuses them, so that a value can never add a directive).
package haproxycfg

import (
	"fmt"
	"strings"
)

// Warning is something of the file that the model could not hold and the
// import left out.
type Warning struct {
	File    string
	Line    int
	Message string
}

func (w Warning) String() string { return fmt.Sprintf("%s:%d: %s", w.File, w.Line, w.Message) }

// Error is a parse error at file:line.
type Error struct {
	File    string
	Line    int
	Keyword string
	Message string
}

func (e *Error) Error() string {
	if e.Keyword != "" {
		return fmt.Sprintf("%s:%d: %s: %s", e.File, e.Line, e.Keyword, e.Message)
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Message)
}

// line is one directive: its words (quotes and escapes resolved), its text
// as written (without the comment, blanks trimmed) and whether quotes or
// escapes were used, which the model cannot carry in free text.
type line struct {
	no    int
	words []string
	// spelled are the words as written, quotes and escapes kept.
	spelled []string
	raw     string
	quoted  bool
}

func (l *line) key() string { return l.words[0] }

// spelledText is the directive as written, its words (quotes and escapes
// as they are, which haproxy reads as it read the file) separated by
// single spaces: how a free directive line is kept.
func (l *line) spelledText() string { return strings.Join(l.spelled, " ") }

// splitLine tokenizes one line of haproxy.cfg.
func splitLine(s string, no int, file string) (*line, error) {
	l := &line{no: no}
	var w strings.Builder
	in := false
	start := 0
	flush := func(end int) {
		if in {
			l.words = append(l.words, w.String())
			l.spelled = append(l.spelled, s[start:end])
			w.Reset()
			in = false
		}
	}
	end := len(s)
loop:
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !in && c != ' ' && c != '\t' && c != '\r' && c != '#' {
			start = i
		}
		switch c {
		case '#':
			end = i
			break loop
		case ' ', '\t', '\r':
			flush(i)
		case '\\':
			l.quoted = true
			if i+1 >= len(s) {
				return nil, &Error{File: file, Line: no, Message: "a backslash ends the line; haproxy.cfg has no line continuation"}
			}
			i++
			switch s[i] {
			case 'r':
				w.WriteByte('\r')
			case 'n':
				w.WriteByte('\n')
			case 't':
				w.WriteByte('\t')
			default:
				w.WriteByte(s[i])
			}
			in = true
		case '\'':
			l.quoted = true
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, &Error{File: file, Line: no, Message: "unterminated single quote"}
			}
			w.WriteString(s[i+1 : i+1+j])
			in = true
			i += j + 1
		case '"':
			l.quoted = true
			in = true
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				switch {
				case s[i] == '\\' && i+1 < len(s):
					i++
					switch s[i] {
					case 'r':
						w.WriteByte('\r')
					case 'n':
						w.WriteByte('\n')
					case 't':
						w.WriteByte('\t')
					default:
						w.WriteByte(s[i])
					}
				case s[i] == '$' && i+1 < len(s) && s[i+1] == '{':
					return nil, &Error{File: file, Line: no, Message: "environment variables (${NAME}) are not supported: the configuration would depend on haproxy's environment; substitute them first"}
				default:
					w.WriteByte(s[i])
				}
			}
			if i >= len(s) {
				return nil, &Error{File: file, Line: no, Message: "unterminated double quote"}
			}
		default:
			w.WriteByte(c)
			in = true
		}
	}
	flush(end)
	l.raw = strings.TrimSpace(s[:end])
	return l, nil
}
