package render

import (
	"fmt"
	"strconv"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
)

// lineLimit is what a daemon reads of one line of its configuration file.
type lineLimit struct {
	daemon string
	// maxLen is the longest line, in bytes without the newline.
	maxLen int
	// maxWords is the most space-separated words of a line; 0: no limit.
	maxWords int
	// why says what the daemon does with a longer line.
	why string
}

// lineLimits are the limits of each rendered file whose daemon has one
// (see model.KeepalivedMaxLine and model.HAProxyMaxLine for the source
// lines). The model's bounds on strings keep every line within these;
// checkLines is the second line of defence, so that a model rule missed
// or a template changed can never produce a file the daemon reads other
// than it was written.
var lineLimits = map[string]lineLimit{
	"keepalived.conf": {
		daemon: "keepalived", maxLen: model.KeepalivedMaxLine,
		why: "keepalived 2.2 reads 1023 bytes of a line, its newline included (fgets into MAXBUF 1024), and parses the rest as a line of its own",
	},
	"haproxy.cfg": {
		daemon: "haproxy", maxLen: model.HAProxyMaxLine, maxWords: model.HAProxyMaxWords,
		why: "haproxy 2.6 starts with a 2048-byte line buffer (LINESIZE) and stops at 64 words (MAX_LINE_ARGS: \"too many words\", fatal)",
	},
}

// LineError is a rendered line that its daemon would not read as written.
type LineError struct {
	// File is the rendered file: keepalived.conf, haproxy.cfg.
	File string
	// Line is the 1-based line number.
	Line int
	// Object is the header of the block or section the line is in
	// (vrrp_instance VI_1, backend be_web), shortened; empty before any.
	Object string
	// Len and Words measure the line; MaxLen and MaxWords are the limits.
	Len, MaxLen     int
	Words, MaxWords int
	why             string
}

func (e *LineError) Error() string {
	in := ""
	if e.Object != "" {
		in = " (in " + e.Object + ")"
	}
	if e.Len > e.MaxLen {
		return fmt.Sprintf("render: %s line %d%s is %d bytes long, more than the %d a line may have: %s", e.File, e.Line, in, e.Len, e.MaxLen, e.why)
	}
	return fmt.Sprintf("render: %s line %d%s has %d words, more than the %d a line may have: %s", e.File, e.Line, in, e.Words, e.MaxWords, e.why)
}

// checkLines checks every line of the rendered file name against its
// daemon's limits, in one pass and without allocating per line. Files
// without limits pass.
func checkLines(name, text string) error {
	lim, ok := lineLimits[name]
	if !ok {
		return nil
	}
	// header is the last line that starts a block or section: one that
	// starts at the margin and is not a comment.
	hdrStart, hdrEnd := -1, -1
	line, start := 1, 0
	words, inWord := 0, false
	for i := 0; i <= len(text); i++ {
		if i < len(text) && text[i] != '\n' {
			space := text[i] == ' ' || text[i] == '\t'
			if !space && !inWord {
				words++
			}
			inWord = !space
			continue
		}
		if i > start && !isIndentOrComment(text[start]) {
			hdrStart, hdrEnd = start, i
		}
		if n := i - start; n > lim.maxLen || (lim.maxWords > 0 && words > lim.maxWords) {
			e := &LineError{File: name, Line: line, Len: n, MaxLen: lim.maxLen, Words: words, MaxWords: lim.maxWords, why: lim.why}
			if hdrStart >= 0 {
				e.Object = objectName(text[hdrStart:hdrEnd])
			}
			return e
		}
		line, start, words, inWord = line+1, i+1, 0, false
	}
	return nil
}

// isIndentOrComment reports whether a line starting with b is inside a
// block (indented), a comment, or the end of a block.
func isIndentOrComment(b byte) bool { return b == ' ' || b == '\t' || b == '#' || b == '!' || b == '}' }

// objectName shortens a block header for a message: without its ` {`,
// at most 64 bytes, quoted when it had to be cut.
func objectName(h string) string {
	if len(h) >= 2 && h[len(h)-2:] == " {" {
		h = h[:len(h)-2]
	}
	if len(h) <= 64 {
		return h
	}
	return strconv.Quote(h[:64]) + "..."
}
