// Package keepalivedconf reads a hand-written keepalived.conf into the
// model, so that a director built by hand can be imported and then taken
// over (adopted) by lvs-agent without disturbing traffic.
//
// The reader follows keepalived's own syntax: words separated by blanks,
// comments from `#` or `!` to the end of the line (outside double quotes),
// double-quoted strings, blocks in braces whose `{` is on the line of the
// keyword or alone on the next one, `}` anywhere, and lines continued with
// a trailing backslash.
//
// What it refuses, with an error naming file:line: `include` (the model is
// one file; resolve the includes into one file first, or adopt the
// director without importing its files), `$NAME=value` parameters,
// `@host` / `@^host` conditional lines unless ParseWith is told the host
// they are read for (Options.Host), every global_defs keyword the model
// does not hold, and unbalanced braces or quotes.
//
// Keywords the model cannot hold become Warnings (with file:line) and the
// import goes on without them, except where leaving them out would change
// what the director does to traffic (virtual_ipaddress_excluded,
// virtual_routes, use_vmac, a checker type the model has no place for,
// several checkers on one real server, ...): those are errors that name
// file:line and the keyword.
package keepalivedconf

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

type tokKind int

const (
	tWord tokKind = iota
	tOpen
	tClose
	tEOL
)

type token struct {
	kind tokKind
	text string
	line int
}

// lex splits the file into words, braces and line ends.
func lex(src, file, host string) ([]token, error) {
	var out []token
	lines := strings.Split(strings.ReplaceAll(src, "\r\n", "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		lineNo := i + 1
		l := lines[i]
		// A trailing backslash continues the line (keepalived 2.x).
		for strings.HasSuffix(l, "\\") && i+1 < len(lines) {
			i++
			l = l[:len(l)-1] + " " + lines[i]
		}
		trimmed := strings.TrimLeft(l, " \t")
		if strings.HasPrefix(trimmed, "@") {
			if host == "" {
				return nil, &Error{File: file, Line: lineNo, Message: "conditional configuration lines (@host) need the host they are read for: import on the host itself, or write the lines for this host without the prefix"}
			}
			rest, keep := conditional(trimmed, host)
			if !keep {
				out = append(out, token{kind: tEOL, line: lineNo})
				continue
			}
			l, trimmed = rest, strings.TrimLeft(rest, " \t")
		}
		if strings.HasPrefix(trimmed, "~") {
			return nil, &Error{File: file, Line: lineNo, Message: "sequence expansions (~SEQ) are not supported: expand them into the file first"}
		}
		if strings.HasPrefix(trimmed, "$") {
			// Without definitions, keepalived substitutes nothing: a `$`
			// elsewhere is itself.
			return nil, &Error{File: file, Line: lineNo, Message: "parameter definitions ($NAME=...) are not supported: substitute them into the file first"}
		}
		var word strings.Builder
		inWord := false
		flush := func() {
			if inWord {
				out = append(out, token{kind: tWord, text: word.String(), line: lineNo})
				word.Reset()
				inWord = false
			}
		}
	scan:
		for j := 0; j < len(l); j++ {
			c := l[j]
			switch {
			case c == '"':
				end := strings.IndexByte(l[j+1:], '"')
				if end < 0 {
					return nil, &Error{File: file, Line: lineNo, Message: "unterminated quoted string"}
				}
				word.WriteString(l[j+1 : j+1+end])
				inWord = true
				j += end + 1
			case c == '\\' && j+1 < len(l) && (l[j+1] == '#' || l[j+1] == '!'):
				// keepalived's escape of a comment character.
				word.WriteByte(l[j+1])
				inWord = true
				j++
			case c == '#' || c == '!':
				break scan
			case c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v':
				flush()
			case c == '{':
				flush()
				out = append(out, token{kind: tOpen, text: "{", line: lineNo})
			case c == '}':
				flush()
				out = append(out, token{kind: tClose, text: "}", line: lineNo})
			default:
				word.WriteByte(c)
				inWord = true
			}
		}
		flush()
		out = append(out, token{kind: tEOL, line: lineNo})
	}
	return out, nil
}

// conditional reads an `@id rest` or `@^id rest` line: the rest, and
// whether keepalived running as host reads it.
func conditional(line, host string) (string, bool) {
	id, rest, _ := strings.Cut(line[1:], " ")
	if i := strings.IndexByte(id, '\t'); i >= 0 {
		id, rest = id[:i], id[i+1:]+" "+rest
	}
	if neg, ok := strings.CutPrefix(id, "^"); ok {
		return rest, neg != host
	}
	return rest, id == host
}

// node is one statement: its words, and its block when it has one.
type node struct {
	words []string
	line  int
	block []*node
	// hasBlock is true when braces followed the words (even empty ones).
	hasBlock bool
}

func (n *node) key() string { return n.words[0] }

// args are the words after the keyword.
func (n *node) args() []string { return n.words[1:] }

// parseTree builds the statement tree from the tokens.
func parseTree(toks []token, file string) ([]*node, error) {
	p := &treeParser{toks: toks, file: file}
	nodes, err := p.block(0)
	if err != nil {
		return nil, err
	}
	if p.i < len(p.toks) {
		return nil, &Error{File: file, Line: p.toks[p.i].line, Message: "unexpected `}`: no block is open"}
	}
	return nodes, nil
}

type treeParser struct {
	toks []token
	i    int
	file string
}

// block reads statements until the `}` that closes the block (depth > 0)
// or the end of the file (depth 0); the closing brace is left unread.
func (p *treeParser) block(depth int) ([]*node, error) {
	var out []*node
	var cur *node
	end := func() {
		if cur != nil {
			out = append(out, cur)
			cur = nil
		}
	}
	for p.i < len(p.toks) {
		t := p.toks[p.i]
		switch t.kind {
		case tWord:
			if cur == nil {
				cur = &node{line: t.line}
			}
			cur.words = append(cur.words, t.text)
			p.i++
		case tEOL:
			p.i++
			// A `{` opening the next line belongs to this statement.
			if cur != nil && p.nextIsOpen() {
				continue
			}
			end()
		case tOpen:
			p.i++
			if cur == nil {
				return nil, &Error{File: p.file, Line: t.line, Message: "`{` without a keyword before it"}
			}
			kids, err := p.block(depth + 1)
			if err != nil {
				return nil, err
			}
			if p.i >= len(p.toks) {
				return nil, &Error{File: p.file, Line: cur.line, Keyword: cur.key(), Message: "block is not closed: `}` missing"}
			}
			p.i++ // the `}`
			cur.block = append(cur.block, kids...)
			cur.hasBlock = true
			end()
		case tClose:
			end()
			if depth == 0 {
				return out, nil
			}
			return out, nil
		}
	}
	end()
	return out, nil
}

func (p *treeParser) nextIsOpen() bool {
	for j := p.i; j < len(p.toks); j++ {
		switch p.toks[j].kind {
		case tEOL:
			continue
		case tOpen:
			return true
		default:
			return false
		}
	}
	return false
}
