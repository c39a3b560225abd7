package transport

import (
	"bytes"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// nastyArgs are words a shell would love to reinterpret.
var nastyArgs = []string{
	"", " ", "plain", "two words", "  leading and trailing  ",
	"'", "''", `"`, `\`, `\'`, `it's`, `a"b'c`, `'\''`,
	"$(id -u)", "`id -u`", "${HOME}", "$HOME", "$1", "$@", "$((1+1))", "$'\\n'",
	"*", "?", "[a-z]*", "/*", "~", "~root", "{a,b}", "a=b", "FOO=bar",
	"-n", "--", "-e", ";", "&&", "||", "|", "&", ">", ">>", "<", "<<EOF", "!", "!!", "#comment", "a #b",
	"new\nline", "trailing\n", "\n", "tab\there", "cr\r", "\x01\x1b[31m\x7f",
	"ü ñ 日本", "%s %d %%", "\\n", "back\\slash",
}

func TestQuote(t *testing.T) {
	for in, want := range map[string]string{
		"":          "''",
		"plain":     "plain",
		"/etc/a.b":  "/etc/a.b",
		"-x,y:z@1%": "-x,y:z@1%",
		"a b":       "'a b'",
		"it's":      `'it'\''s'`,
		"a=b":       "'a=b'",
		"~":         "'~'",
		"$x":        "'$x'",
	} {
		if got := Quote(in); got != want {
			t.Errorf("Quote(%q) = %s, want %s", in, got, want)
		}
	}
	if _, err := commandLine([]string{"echo", "a\x00b"}); err == nil {
		t.Error("an argument with NUL must be refused")
	}
	if _, err := commandLine(nil); err == nil {
		t.Error("an empty command must be refused")
	}
}

// printfArgs builds a command that prints each argument followed by NUL.
func printfArgs(args []string) []string {
	return append([]string{"printf", `%s\000`}, args...)
}

// splitNUL undoes printfArgs' output.
func splitNUL(out []byte) []string {
	parts := strings.Split(string(out), "\x00")
	return parts[:len(parts)-1]
}

// Every shell that may be a login shell must hand the arguments over unchanged.
func TestQuoteRoundTripThroughLocalShells(t *testing.T) {
	line, err := commandLine(printfArgs(nastyArgs))
	if err != nil {
		t.Fatal(err)
	}
	for _, shell := range [][]string{{"sh"}, {"bash"}, {"dash"}, {"busybox", "sh"}} {
		t.Run(strings.Join(shell, " "), func(t *testing.T) {
			path := requireTool(t, shell[0])
			var stderr bytes.Buffer
			cmd := exec.Command(path, append(shell[1:], "-c", line)...)
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("%v: %s", err, stderr.String())
			}
			if got := splitNUL(out); !slices.Equal(got, nastyArgs) {
				t.Fatalf("round trip through %s:\n got %q\nwant %q", shell[0], got, nastyArgs)
			}
		})
	}
}
