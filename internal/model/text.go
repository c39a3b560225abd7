package model

import (
	"net/netip"
	"regexp"
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

// NamePattern describes what checkName accepts, for schema descriptions.
const NamePattern = "1 to 64 characters: letters, digits, `_`, `.`, `:` and `-`, not starting with `.`, `:` or `-`"

func checkName(errs *Errors, p Path, v string) {
	switch {
	case v == "":
		errs.add(p, "must be set")
	case !nameRE.MatchString(v):
		errs.add(p, "%q is not a valid name; use %s", v, NamePattern)
	}
}

func checkInterface(errs *Errors, p Path, v string) {
	switch {
	case v == "":
		errs.add(p, "must be set")
	case !ifaceRE.MatchString(v):
		errs.add(p, "%q is not a valid interface name; use 1 to 15 letters, digits, `_`, `.`, `@` or `-`", v)
	}
}

// labelRE is an address label: an interface name with an optional
// ":suffix" (eth0:1), at most 15 characters like the name (IFNAMSIZ).
// checkInterface refused the colon, and with it every documented label.
var labelRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.@-]{0,14}(:[A-Za-z0-9_.@-]+)?$`)

func checkLabel(errs *Errors, p Path, v string) {
	if len(v) > 15 || !labelRE.MatchString(v) {
		errs.add(p, "%q is not a valid address label; use an interface name and an optional `:` suffix, such as eth0:1, at most 15 characters", v)
	}
}

// checkNoZone refuses an IPv6 zone (fe80::1%eth0) on an address rendered
// into a configuration file: netip keeps any text after the `%`, line
// breaks and braces included, and none of these settings takes a zone.
func checkNoZone(errs *Errors, p Path, a netip.Addr) {
	if a.Zone() != "" {
		errs.add(p, "%q has a zone; give a plain address", a.String())
	}
}

func checkHostname(errs *Errors, p Path, v string) {
	if v != "" && !hostnameRE.MatchString(v) {
		errs.add(p, "%q is not a valid host name; use letters, digits, `_`, `.` and `-`", v)
	}
}

// badTextRunes are the characters no configuration text may contain: each
// of them can end a value, open or close a block, or start a comment in
// keepalived.conf or haproxy.cfg.
const badTextRunes = "\"'\\{}#!`"

// checkText accepts one line of printable text without the characters that
// can escape a quoted value or start a comment; used for commands and scripts
// (rendered quoted). Empty is allowed: required fields are checked apart.
func checkText(errs *Errors, p Path, v string) {
	if v == "" {
		return
	}
	for _, r := range v {
		if r > unicode.MaxASCII || !unicode.IsPrint(r) {
			errs.add(p, "%q contains a line break, control or non-ASCII character; give one line of printable ASCII", v)
			return
		}
	}
	if i := strings.IndexAny(v, badTextRunes); i >= 0 {
		errs.add(p, "%q contains %q; quotes, backslashes, backticks, braces, `#` and `!` are not allowed", v, v[i:i+1])
		return
	}
	if strings.TrimSpace(v) != v {
		errs.add(p, "%q has leading or trailing spaces", v)
	}
}

// checkWord accepts one token of printable text: checkText without spaces.
// Used for URL paths, ACL words and similar values rendered unquoted.
func checkWord(errs *Errors, p Path, v string) {
	n := len(*errs)
	checkText(errs, p, v)
	if len(*errs) == n && strings.ContainsAny(v, " \t") {
		errs.add(p, "%q contains a space; give a single word", v)
	}
}

// checkHAProxyText accepts one line for haproxy (ACL criteria, option
// arguments): like checkText, but `!` is allowed since haproxy uses it to
// negate ACLs and gives it no other meaning.
func checkHAProxyText(errs *Errors, p Path, v string) {
	checkText(errs, p, strings.ReplaceAll(v, "!", ""))
	if v == "!" || strings.HasSuffix(v, "!") {
		errs.add(p, "%q ends with `!`, which negates nothing", v)
	}
}
