package model

import (
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

// Rules for the strings that end up inside generated files. Every string a
// user can set passes one of these checks, which is what makes it impossible
// for input to add a directive the model did not ask for: none of them
// admits a line break, a brace, a quote or a comment character.

var (
	nameRE      = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,63}$`)
	ifaceRE     = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.@-]{0,14}$`)
	hostnameRE  = regexp.MustCompile(`^[A-Za-z0-9_]([A-Za-z0-9_.-]{0,252})$`)
	sysctlKeyRE = regexp.MustCompile(`^[a-z0-9_]+(\.[A-Za-z0-9_@:-]+)+$`)
	sysctlValRE = regexp.MustCompile(`^[A-Za-z0-9_.:-]+( [A-Za-z0-9_.:-]+)*$`)
	digestRE    = regexp.MustCompile(`^[0-9a-f]{32}$`)
	statusRE    = regexp.MustCompile(`^[1-5][0-9][0-9](-[1-5][0-9][0-9])?$`)
)

// Line limits of the daemons that read the rendered files, as their
// sources (the versions Debian 12 ships) read them. The renderer checks
// every line of a file against these (render/lines.go); the bounds on the
// model's strings below keep every line within them, so that a value too
// long is refused at plan, with its path, and never reaches a file.
const (
	// KeepalivedMaxLine is the longest line, in bytes without its newline,
	// that keepalived 2.2 reads as one line. lib/parser.h: `#define MAXBUF
	// 1024`; lib/parser.c read_line: `fgets(buf, (int)size,
	// file->stream)` with size MAXBUF, so one read takes at most 1023
	// bytes, the newline included. The rest of a longer line comes back
	// from the next fgets and is parsed as a line of its own, its first
	// word a keyword: the split falls inside a quoted string as readily as
	// anywhere, and decomment and alloc_strvec_r then report an unmatched
	// quote on each side and keep the words (keepalived -t exits non-zero
	// on that; keepalived itself runs the directive). A chunk may also
	// start with what read_line treats specially at the start of a line
	// only: `$NAME=` (a definition), `@id` (a config id), `~SEQ`. There is
	// no line continuation in 2.2: a trailing `\` joins lines only inside
	// a multi-line `$NAME=` definition (read_line, "Handle multi-line
	// definitions"), and this model refuses `\` in every value anyway.
	// 1022 bytes and the newline fit one read.
	KeepalivedMaxLine = 1022
	// HAProxyMaxLine is the longest haproxy.cfg line, without its newline,
	// that fits haproxy 2.6's first line buffer (include/haproxy/defaults.h:
	// `#define LINESIZE 2048`). haproxy itself grows the buffer: in
	// src/cfgparse.c readcfgfile, a line that fills it without a newline
	// makes it realloc to twice the size and read on, so haproxy splits no
	// line; the bound only keeps the rendered file independent of that
	// path (haproxy 1.5 refused a longer line: "line too long, limit: %d").
	HAProxyMaxLine = 2047
	// HAProxyMaxWords is the most words haproxy 2.6 parses on a line
	// (defaults.h: `#define MAX_LINE_ARGS 64`); readcfgfile answers more
	// with "too many words, truncating after word 64" and a fatal error.
	HAProxyMaxWords = 64

	// MaxTextLen is the longest free text (a script command, a URL path,
	// an haproxy criterion, condition or option) that checkText and
	// checkWord accept. The longest keepalived.conf line around such a
	// value is a MISC_CHECK's `            misc_path "..."` (12 spaces of
	// indent, the keyword, a space and two quotes: 24 bytes), so a value
	// of MaxTextLen makes a line of at most 984 bytes, below
	// KeepalivedMaxLine with room for a deeper indent. Each haproxy.cfg
	// line carries at most one free text; the longest fixed part around it
	// (a server line with name, address and every tuning keyword, or an
	// http-check send line with its 253-byte Host) is under 450 bytes, so
	// its lines stay under HAProxyMaxLine.
	MaxTextLen = 960
	// MaxHAProxyTextWords is the most words checkHAProxyText accepts: a
	// server line puts at most 15 words of its own (server, name, address,
	// check and the inter/fall/rise/weight/maxconn pairs, backup) before
	// its options, and 15 + 40 stays within HAProxyMaxWords.
	MaxHAProxyTextWords = 40
)

// quotePrefix is how many bytes of a value an error message quotes: a
// name (at most 64 bytes), an address with its port, a service key are
// shown whole.
const quotePrefix = 64

// quote renders a user's value for an error message: quoted like %q when
// it is short, else its first bytes quoted, an ellipsis and its length,
// so that a 70,000-character value makes a message of one line, not of
// 140 KB. Every message of this package that shows a value the user
// wrote goes through quote (passwords are never shown at all).
func quote(v string) string {
	if len(v) <= quotePrefix {
		return strconv.Quote(v)
	}
	return fmt.Sprintf("%s (%d bytes)", head(v), len(v))
}

// head is the start of v, quoted, with an ellipsis when v goes on.
func head(v string) string {
	if len(v) <= quotePrefix {
		return strconv.Quote(v)
	}
	cut := quotePrefix
	for cut > 0 && !utf8RuneStart(v[cut]) {
		cut-- // never split a UTF-8 sequence
	}
	return strconv.Quote(v[:cut]) + "..."
}

// utf8RuneStart reports whether b can start a UTF-8 sequence.
func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }

// short is s as it is when it is short (a key or an address the message
// shows unquoted), else quoted and shortened by quote.
func short(s string) string {
	if len(s) <= quotePrefix {
		return s
	}
	return quote(s)
}

// quoteAddr renders an address for a message: a zone (which netip keeps
// whole, whatever its length) is shortened like any other value.
func quoteAddr(a netip.Addr) string { return short(a.String()) }

// quoteAddrPort is quoteAddr for an address and port.
func quoteAddrPort(a netip.AddrPort) string { return short(a.String()) }

// checkLen records an error at p when v is longer than MaxTextLen bytes,
// naming the limit, the length and the start of the value.
func checkLen(errs *Errors, p loc, v string) bool {
	if len(v) <= MaxTextLen {
		return true
	}
	errs.add(p, "%s is %d bytes long; at most %d are allowed, which keeps every line of the rendered file within what its daemon reads as one line", head(v), len(v), MaxTextLen)
	return false
}

// NamePattern describes what checkName accepts, for schema descriptions.
const NamePattern = "1 to 64 characters: letters, digits, `_`, `.`, `:` and `-`, not starting with `.`, `:` or `-`"

func checkName(errs *Errors, p loc, v string) {
	switch {
	case v == "":
		errs.add(p, "must be set")
	case !nameRE.MatchString(v):
		errs.add(p, "%s is not a valid name; use %s", quote(v), NamePattern)
	}
}

func checkInterface(errs *Errors, p loc, v string) {
	switch {
	case v == "":
		errs.add(p, "must be set")
	case !ifaceRE.MatchString(v):
		errs.add(p, "%s is not a valid interface name; use 1 to 15 letters, digits, `_`, `.`, `@` or `-`", quote(v))
	}
}

// labelRE is an address label: an interface name with an optional
// ":suffix" (eth0:1), at most 15 characters like the name (IFNAMSIZ).
// checkInterface refused the colon, and with it every documented label.
var labelRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.@-]{0,14}(:[A-Za-z0-9_.@-]+)?$`)

func checkLabel(errs *Errors, p loc, v string) {
	if len(v) > 15 || !labelRE.MatchString(v) {
		errs.add(p, "%s is not a valid address label; use an interface name and an optional `:` suffix, such as eth0:1, at most 15 characters", quote(v))
	}
}

// checkNoZone refuses an IPv6 zone (fe80::1%eth0) on an address rendered
// into a configuration file: netip keeps any text after the `%`, line
// breaks and braces included, and none of these settings takes a zone.
func checkNoZone(errs *Errors, p loc, a netip.Addr) {
	if a.Zone() != "" {
		errs.add(p, "%s has a zone; give a plain address", quote(a.String()))
	}
}

func checkHostname(errs *Errors, p loc, v string) {
	if v != "" && !hostnameRE.MatchString(v) {
		errs.add(p, "%s is not a valid host name; use at most 253 letters, digits, `_`, `.` and `-`", quote(v))
	}
}

// badTextRunes are the characters no configuration text may contain: each
// of them can end a value, open or close a block, or start a comment in
// keepalived.conf or haproxy.cfg.
const badTextRunes = "\"'\\{}#!`"

// checkText accepts one line of printable text of at most MaxTextLen
// bytes without the characters that can escape a quoted value or start a
// comment; used for commands and scripts (rendered quoted). Empty is
// allowed: required fields are checked apart.
func checkText(errs *Errors, p loc, v string) {
	if v == "" {
		return
	}
	checkLen(errs, p, v)
	checkTextChars(errs, p, v)
}

// checkTextChars is checkText without the length bound.
func checkTextChars(errs *Errors, p loc, v string) {
	for _, r := range v {
		if r > unicode.MaxASCII || !unicode.IsPrint(r) {
			errs.add(p, "%s contains a line break, control or non-ASCII character; give one line of printable ASCII", quote(v))
			return
		}
	}
	if i := strings.IndexAny(v, badTextRunes); i >= 0 {
		errs.add(p, "%s contains %q; quotes, backslashes, backticks, braces, `#` and `!` are not allowed", quote(v), v[i:i+1])
		return
	}
	if strings.TrimSpace(v) != v {
		errs.add(p, "%s has leading or trailing spaces", quote(v))
	}
}

// checkWord accepts one token of printable text: checkText without spaces.
// Used for URL paths, ACL words and similar values rendered unquoted.
func checkWord(errs *Errors, p loc, v string) {
	n := len(*errs)
	checkText(errs, p, v)
	if len(*errs) == n && strings.ContainsAny(v, " \t") {
		errs.add(p, "%s contains a space; give a single word", quote(v))
	}
}

// checkHAProxyText accepts one line for haproxy (ACL criteria, option
// arguments): like checkText, but `!` is allowed since haproxy uses it to
// negate ACLs and gives it no other meaning, and at most
// MaxHAProxyTextWords words, so that the line it ends stays within the
// words haproxy parses.
func checkHAProxyText(errs *Errors, p loc, v string) {
	if v == "" {
		return
	}
	// The bound applies to what is rendered, `!` included.
	checkLen(errs, p, v)
	checkTextChars(errs, p, strings.ReplaceAll(v, "!", ""))
	if v == "!" || strings.HasSuffix(v, "!") {
		errs.add(p, "%s ends with `!`, which negates nothing", quote(v))
	}
	if words := len(strings.Fields(v)); words > MaxHAProxyTextWords {
		errs.add(p, "%s has %d words; at most %d are allowed, which keeps its line within the %d words haproxy parses", quote(v), words, MaxHAProxyTextWords, HAProxyMaxWords)
	}
}
