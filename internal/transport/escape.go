package transport

import (
	"errors"
	"strings"
)

// Quote returns s as one word for a POSIX shell: the shell hands the
// command exactly s, with nothing expanded. Words made only of characters
// that mean nothing to the shell are returned as they are; anything else is
// put in single quotes, where nothing is special but the single quote
// itself, which is written as: close quote, backslash-quote, reopen quote.
// A NUL byte cannot be passed through a command line; Run refuses arguments
// that hold one.
func Quote(s string) string {
	if s == "" {
		return "''"
	}
	if strings.IndexFunc(s, unsafeInShell) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// unsafeInShell reports runes that need quoting. "=" is unsafe because a
// leading NAME=value word is an assignment; "~" because of tilde expansion.
func unsafeInShell(r rune) bool {
	switch {
	case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9':
		return false
	}
	return !strings.ContainsRune("_-./:,+@%", r)
}

// commandLine joins args into one shell command line, each quoted.
func commandLine(args []string) (string, error) {
	if len(args) == 0 {
		return "", errors.New("empty command")
	}
	quoted := make([]string, len(args))
	for i, a := range args {
		if strings.IndexByte(a, 0) >= 0 {
			return "", errors.New("argument " + Quote(strings.ReplaceAll(a, "\x00", `\0`)) + " contains a NUL byte")
		}
		quoted[i] = Quote(a)
	}
	return strings.Join(quoted, " "), nil
}
