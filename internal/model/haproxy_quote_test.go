package model

import (
	"slices"
	"strings"
	"testing"
)

func TestSplitHAProxy(t *testing.T) {
	for in, want := range map[string][]string{
		`stats realm HAProxy\ Statistics`:                            {"stats", "realm", "HAProxy Statistics"},
		`http-after-response set-header X "max-age=31536000"`:        {"http-after-response", "set-header", "X", "max-age=31536000"},
		`log-format "%{+Q}o %t"' %s'\ %{-Q}r`:                        {"log-format", "%{+Q}o %t %s %{-Q}r"},
		`x '\n "$a' "\$b \"q\"" \#`:                                  {"x", `\n "$a`, `$b "q"`, "#"},
		`http-request redirect scheme https code 301 if !{ ssl_fc }`: {"http-request", "redirect", "scheme", "https", "code", "301", "if", "!{", "ssl_fc", "}"},
		`a  ''  b`: {"a", "", "b"},
	} {
		got, err := splitHAProxy(in)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("splitHAProxy(%s) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{`x # y`, `x 'a`, `x "a`, `x \`, `x "$HOME"`, `x "${HOME}"`} {
		if _, err := splitHAProxy(in); err == nil {
			t.Errorf("splitHAProxy(%s) accepted", in)
		}
	}
}

// The rules on option lines hold for the words haproxy reads: quoting a
// section keyword or an owned directive does not pass it.
func TestHAProxyQuotedOptions(t *testing.T) {
	for line, want := range map[string]string{
		`"global"`:                            "opens a new section",
		`'frontend' evil`:                     "opens a new section",
		`\frontend evil`:                      "opens a new section",
		`".if" 0`:                             "opens a new section",
		`"stats" socket /etc/passwd`:          "the provider owns it",
		`errorfile 503 '/etc/../shadow'`:      `".." segment`,
		`x "$HOME"`:                           "environment variables",
		`x # comment`:                         "starts a comment",
		"x\ty":                                "tab",
		`x "a`:                                "unterminated double quote",
		`http-request set-header X "a\nb"`:    "",
		`stats realm HAProxy\ Statistics`:     "",
		`http-request deny if !{ ssl_fc }`:    "",
		`http-request set-header X '{"a":1}'`: "",
	} {
		cfg := HAProxyConfig{Backends: []HAProxyBackend{{Name: "b", Options: []string{line}}}}
		err := cfg.Validate(nil)
		switch {
		case want == "" && err != nil:
			t.Errorf("%s: refused: %v", line, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%s: error %v, want one saying %q", line, err, want)
		}
	}
	// Bind options: the certificate path haproxy reads, quoted or not.
	cfg := HAProxyConfig{
		Frontends: []HAProxyFrontend{{Name: "f", DefaultBackend: "b", Binds: []HAProxyBind{{Port: 443, Options: `ssl crt '/root/key.pem'`}}}},
		Backends:  []HAProxyBackend{{Name: "b"}},
	}
	if err := cfg.Validate(nil); err == nil || !strings.Contains(err.Error(), "/root/key.pem") {
		t.Errorf("a quoted certificate path outside the certificate directories: %v", err)
	}
}
