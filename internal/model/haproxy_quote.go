package model

import (
	"errors"
	"strings"
)

// haproxy.cfg quoting (configuration manual, 2.2 "Quoting and escaping",
// 2.3 "Environment variables"; haproxy 2.6): words are separated by
// blanks; a backslash escapes the next character (`\ `, `\#`, `\\`, `\'`,
// `\"`; `\r`, `\n`, `\t` stand for those characters); single quotes take
// everything up to the next single quote literally; double quotes take
// everything up to the next unescaped double quote, with backslash escapes
// and environment variables ($NAME, ${NAME}) expanded; `#` outside quotes
// starts a comment.
//
// The free haproxy text of the model (options lines, bind and server
// options, ACL criteria) may use that quoting, and is rendered as written:
// it is one line of printable ASCII (no line break can be in it, raw or
// otherwise, so no value can end its line and start a directive), and the
// rules about its words (no section keyword first, no owned directive, no
// path leading out of its directory) apply to the words haproxy reads
// from it, after quotes and escapes, which haproxyWords computes the way
// haproxy does. What haproxy would read differently from what the model
// checks is refused: a comment, an unterminated quote, a backslash ending
// the line, and environment variables (the value would then depend on
// haproxy's environment, which the model cannot check).

// errors of splitHAProxy, for messages.
var (
	errHAProxyComment     = errors.New("has a `#` outside quotes, which starts a comment in haproxy.cfg and hides the rest of the line; quote it or write `\\#`")
	errHAProxySingleQuote = errors.New("has an unterminated single quote")
	errHAProxyDoubleQuote = errors.New("has an unterminated double quote")
	errHAProxyBackslash   = errors.New("ends with a backslash, which escapes nothing (haproxy.cfg has no line continuation)")
	errHAProxyEnv         = errors.New("has a `$` inside double quotes, where haproxy expands environment variables; the value would depend on haproxy's environment: write `\\$`, or use single quotes")
)

// splitHAProxy splits one line of haproxy text into the words haproxy
// reads from it.
func splitHAProxy(s string) ([]string, error) {
	var words []string
	var w strings.Builder
	in := false
	flush := func() {
		if in {
			words = append(words, w.String())
			w.Reset()
			in = false
		}
	}
	escape := func(c byte) {
		switch c {
		case 'r':
			w.WriteByte('\r')
		case 'n':
			w.WriteByte('\n')
		case 't':
			w.WriteByte('\t')
		default:
			w.WriteByte(c)
		}
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '#':
			return nil, errHAProxyComment
		case ' ', '\t':
			flush()
		case '\\':
			if i+1 >= len(s) {
				return nil, errHAProxyBackslash
			}
			i++
			escape(s[i])
			in = true
		case '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, errHAProxySingleQuote
			}
			w.WriteString(s[i+1 : i+1+j])
			in = true
			i += j + 1
		case '"':
			in = true
			for i++; ; i++ {
				if i >= len(s) {
					return nil, errHAProxyDoubleQuote
				}
				if s[i] == '"' {
					break
				}
				switch s[i] {
				case '\\':
					if i+1 >= len(s) {
						return nil, errHAProxyDoubleQuote
					}
					i++
					escape(s[i])
				case '$':
					return nil, errHAProxyEnv
				default:
					w.WriteByte(s[i])
				}
			}
		default:
			w.WriteByte(c)
			in = true
		}
	}
	flush()
	return words, nil
}

// haproxyWords are the words haproxy reads from s; text that does not
// split (checkHAProxyQuoted refuses it) is split on blanks.
func haproxyWords(s string) []string {
	words, err := splitHAProxy(s)
	if err != nil {
		return strings.Fields(s)
	}
	return words
}

// checkHAProxyQuoted accepts one line of haproxy text that may use
// haproxy's quoting: printable ASCII of at most MaxTextLen bytes without
// leading or trailing blanks, that splitHAProxy splits, into at most
// MaxHAProxyTextWords words. Braces are allowed (anonymous ACLs, `if !{
// ssl_fc }`): they mean nothing to the structure of haproxy.cfg.
func checkHAProxyQuoted(errs *Errors, p loc, v string) {
	if v == "" {
		return
	}
	if !checkLen(errs, p, v) {
		return
	}
	for _, r := range v {
		if r > 0x7e || r < 0x20 {
			errs.add(p, "%s contains a line break, tab, control or non-ASCII character; give one line of printable ASCII (haproxy's escapes \\t, \\n, \\r stand for those characters)", quote(v))
			return
		}
	}
	if strings.TrimSpace(v) != v {
		errs.add(p, "%s has leading or trailing spaces", quote(v))
		return
	}
	words, err := splitHAProxy(v)
	if err != nil {
		errs.add(p, "%s %v", quote(v), err)
		return
	}
	if len(words) > MaxHAProxyTextWords {
		errs.add(p, "%s has %d words; at most %d are allowed, which keeps its line within the %d words haproxy parses", quote(v), len(words), MaxHAProxyTextWords, HAProxyMaxWords)
	}
}
