package model

import (
	"path"
	"slices"
	"strings"
)

// Rules for the file system paths that reach a generated configuration.
//
// A path the user sets decides which file a daemon reads, creates or
// replaces on the host: haproxy binds its stats socket under a temporary
// name and renames it over the path, so a stats socket at /etc/passwd
// replaces /etc/passwd, and haproxy -c does not object. Every such path is
// therefore absolute and already clean (path.Clean leaves it unchanged: no
// "..", ".", "//" or trailing "/"), and the paths haproxy creates or holds
// secrets at are confined to the directories the distributions' packages
// use for them. The directories are written once, here, and feed the
// checks, their messages and the schema descriptions.

// HAProxyStatsSocketDirs are the directories an admin socket may be
// created in (below them, never the directory itself). /run/haproxy is
// Debian's and Ubuntu's (their haproxy.cfg has stats socket
// /run/haproxy/admin.sock, and the package's tmpfiles.d creates the
// directory), /var/run/haproxy its old spelling (a symlink to /run on
// current systems), /var/lib/haproxy RHEL's and SUSE's (stats socket
// /var/lib/haproxy/stats, inside the chroot).
var HAProxyStatsSocketDirs = []string{"/run/haproxy", "/var/run/haproxy", "/var/lib/haproxy"}

// HAProxyChrootParents are the directories a chroot may be below (Debian
// and RHEL chroot into /var/lib/haproxy), and HAProxyChrootDirs the ones
// it may be itself (OpenBSD-style empty jail). "/" and /var/lib itself are
// refused: a chroot there confines nothing.
var (
	HAProxyChrootParents = []string{"/var/lib"}
	HAProxyChrootDirs    = []string{"/var/empty"}
)

// HAProxyCertDirs are the directories certificates, keys, CA and CRL files
// (crt, crt-list, ca-file, crl-file, ...) may be read from: haproxy's own
// and the system's TLS directory (which holds private/ for keys).
var HAProxyCertDirs = []string{"/etc/haproxy", "/etc/ssl"}

// DirList spells directories for messages and schema descriptions:
// `/run/haproxy/`, `/var/run/haproxy/` or `/var/lib/haproxy/`.
func DirList(dirs []string) string {
	quoted := make([]string, len(dirs))
	for i, d := range dirs {
		quoted[i] = "`" + d + "/`"
	}
	switch len(quoted) {
	case 0:
		return ""
	case 1:
		return quoted[0]
	}
	return strings.Join(quoted[:len(quoted)-1], ", ") + " or " + quoted[len(quoted)-1]
}

// HAProxyChrootRule describes the directories a chroot may be, for
// messages and schema descriptions.
func HAProxyChrootRule() string {
	exact := make([]string, len(HAProxyChrootDirs))
	for i, d := range HAProxyChrootDirs {
		exact[i] = "`" + d + "`"
	}
	return "a directory below " + DirList(HAProxyChrootParents) + " (such as `/var/lib/haproxy`) or " + strings.Join(exact, ", ")
}

// below reports whether clean absolute path p is strictly inside dir.
func below(p, dir string) bool {
	return strings.HasPrefix(p, dir+"/") && len(p) > len(dir)+1
}

// belowAny reports whether clean absolute path p is strictly inside one of dirs.
func belowAny(p string, dirs []string) bool {
	return slices.ContainsFunc(dirs, func(d string) bool { return below(p, d) })
}

// hasDotDot reports whether p has a ".." segment.
func hasDotDot(p string) bool {
	return slices.Contains(strings.Split(p, "/"), "..")
}

// checkCleanPath accepts an empty value or one word that is an absolute,
// clean path, and reports whether v passed (so that callers add the
// confinement rule only to paths that are well-formed).
func checkCleanPath(errs *Errors, p loc, v string) bool {
	if v == "" {
		return false
	}
	n := len(*errs)
	checkWord(errs, p, v)
	if len(*errs) > n {
		return false
	}
	switch clean := path.Clean(v); {
	case v[0] != '/':
		errs.add(p, "%q is a relative path; give an absolute path (starting with /)", v)
	case hasDotDot(v):
		errs.add(p, "%q contains a \"..\" segment, which leads out of the directory it names; give the path without it", v)
	case clean != v:
		errs.add(p, "%q is not a clean path (it has \".\" segments, \"//\" or a trailing \"/\"); give %q", v, clean)
	default:
		return true
	}
	return false
}

// checkPathBelow accepts an empty value or a clean absolute path strictly
// inside one of dirs; what names the file in the message ("the admin socket").
func checkPathBelow(errs *Errors, p loc, v, what string, dirs []string) {
	if !checkCleanPath(errs, p, v) {
		return
	}
	if !belowAny(v, dirs) {
		errs.add(p, "%q is outside the directories %s may be in; give a path below %s", v, what, DirList(dirs))
	}
}

// checkChroot accepts an empty value or a clean absolute directory allowed
// by HAProxyChrootParents and HAProxyChrootDirs.
func checkChroot(errs *Errors, p loc, v string) {
	if !checkCleanPath(errs, p, v) {
		return
	}
	if !belowAny(v, HAProxyChrootParents) && !slices.Contains(HAProxyChrootDirs, v) {
		errs.add(p, "%q is not a directory haproxy may chroot into; give %s", v, HAProxyChrootRule())
	}
}

// The free haproxy text (options lines, bind and server options, ACL
// criteria) is a second way to name a path. Directives that make haproxy
// create or replace a file, or that set what an attribute sets, are
// refused there; paths after the keywords that read certificates and keys
// must lie in HAProxyCertDirs; and no path-like word may have a ".."
// segment. The words are the ones haproxy reads (haproxyWords: after its
// quotes and escapes), and `$` inside double quotes is refused
// (checkHAProxyQuoted), so no environment variable can expand into a path
// either: haproxy expands them only inside double quotes. The keywords
// come from haproxy's configuration manual (2.6 and later).

// haproxyOwnedDirective is a directive the free options lines may not hold.
type haproxyOwnedDirective struct {
	words []string // its leading words
	what  string   // what it does, for the message
	use   string   // what to do instead
}

// haproxyOwnedDirectives are matched against the first words of a line.
var haproxyOwnedDirectives = []haproxyOwnedDirective{
	{[]string{"stats", "socket"}, "creates the admin socket, replacing whatever file is at its path",
		"set global.stats_socket instead, a path below " + DirList(HAProxyStatsSocketDirs)},
	{[]string{"pidfile"}, "makes haproxy write its pid over the file at that path",
		"remove the line: lvs-agent starts haproxy with a pid file of its own"},
	{[]string{"chroot"}, "sets the directory haproxy chroots into", "set global.chroot instead"},
	{[]string{"unix-bind"}, "moves and re-owns every unix socket haproxy creates",
		"remove the line: unix socket binds are not supported, and the admin socket is global.stats_socket"},
	{[]string{"user"}, "sets the user haproxy runs as", "set global.user instead"},
	{[]string{"uid"}, "sets the user haproxy runs as", "set global.user (or global.uid) instead"},
	{[]string{"group"}, "sets the group haproxy runs as", "set global.group instead"},
	{[]string{"gid"}, "sets the group haproxy runs as", "set global.group (or global.gid) instead"},
}

// haproxyIPBindPrefixes are the address prefixes of a bind that listens on
// an IP address; every other prefix (unix@, abns@, fd@, sockpair@ and any
// later one) and a path (/run/x.sock) is a socket that is not an IP one.
var haproxyIPBindPrefixes = []string{"ipv4@", "ipv6@", "tcp@", "tcp4@", "tcp6@", "udp@", "udp4@", "udp6@", "quic4@", "quic6@"}

// haproxyCertKeywords take a certificate, key, CA or CRL path (or, for the
// *-base and issuers-chain-path ones, a directory of them) as next word.
var haproxyCertKeywords = []string{
	"crt", "crt-list", "ca-file", "ca-verify-file", "ca-sign-file", "crl-file",
	"issuers-chain-path", "ssl-dh-param-file", "crt-base", "ca-base",
}

// haproxyCertDirKeywords are the haproxy cert keywords whose argument is a
// directory, which may be one of HAProxyCertDirs itself.
var haproxyCertDirKeywords = []string{"crt-base", "ca-base", "issuers-chain-path"}

// haproxyPathKeywords take a file or directory as next word (besides the
// cert keywords): maps and ACL files (-f), error files, Lua, state files,
// SPOE and tracing configs, device-detection data, scripts.
var haproxyPathKeywords = []string{
	"-f", "file", "lf-file", "config", "lua-load", "lua-load-per-thread", "lua-prepend-path",
	"server-state-file", "server-state-base", "server-state-file-name",
	"h1-case-adjust-file", "51degrees-data-file", "wurfl-data-file", "wurfl-patch-file",
	"deviceatlas-json-file", "ssl-provider-path", "backing-file",
}

// haproxyThirdWordPaths are the directives whose third word is a path:
// errorfile <code> <file>, external-check path|command <path>,
// default-path origin <path>.
var haproxyThirdWordPaths = []string{"errorfile", "external-check", "default-path"}

// hostTopDirs are the top-level directories of a Linux host: a word that
// starts with one of them is a file path, not a URL path of an ACL.
var hostTopDirs = []string{
	"bin", "boot", "dev", "etc", "home", "lib", "lib64", "media", "mnt", "opt",
	"proc", "root", "run", "sbin", "srv", "sys", "tmp", "usr", "var",
}

// checkHAProxyLine checks one free options line of a section: the text
// rules, then the owned directives, socket binds and path words.
func checkHAProxyLine(errs *Errors, p loc, line string) {
	words := haproxyWords(line)
	for _, d := range haproxyOwnedDirectives {
		if len(words) >= len(d.words) && slices.Equal(words[:len(d.words)], d.words) {
			errs.add(p, "%q: %q %s, and the provider owns it; %s", line, strings.Join(d.words, " "), d.what, d.use)
		}
	}
	if len(words) >= 2 && words[0] == "bind" {
		for _, a := range strings.Split(words[1], ",") {
			if !haproxyIPBind(a) {
				errs.add(p, "%q: %q is not an IP address; binds on unix sockets, abstract sockets and inherited descriptors are not supported "+
					"(haproxy would create or replace a file at a socket path); bind IP addresses with the bind block instead", line, a)
			}
		}
	}
	checkHAProxyPathWords(errs, p, words)
}

// haproxyIPBind reports whether a bind address listens on an IP address
// (":80", "10.0.0.1:80", "ipv6@:::443", "quic4@:443").
func haproxyIPBind(a string) bool {
	if strings.HasPrefix(a, "/") {
		return false
	}
	if i := strings.Index(a, "@"); i >= 0 {
		return slices.Contains(haproxyIPBindPrefixes, a[:i+1])
	}
	return true
}

// checkHAProxyParams checks the options of a bind or server line (ssl crt
// /etc/haproxy/site.pem): their path words.
func checkHAProxyParams(errs *Errors, p loc, s string) {
	checkHAProxyPathWords(errs, p, haproxyWords(s))
}

// checkHAProxyPathWords refuses a ".." segment in every path-like word and
// a certificate path outside HAProxyCertDirs.
func checkHAProxyPathWords(errs *Errors, p loc, words []string) {
	for i, w := range words {
		pathArg := i > 0 && (slices.Contains(haproxyPathKeywords, words[i-1]) || slices.Contains(haproxyCertKeywords, words[i-1])) ||
			i == 2 && slices.Contains(haproxyThirdWordPaths, words[0])
		for _, part := range strings.FieldsFunc(w, func(r rune) bool { return strings.ContainsRune("(),=", r) }) {
			if hasDotDot(part) && (pathArg || hostPath(part)) {
				errs.add(p, "%q contains a \"..\" segment, which leads out of the directory it names; give the path without it", part)
			}
		}
		if i > 0 && slices.Contains(haproxyCertKeywords, words[i-1]) {
			checkCertPath(errs, p, words[i-1], w)
		}
	}
}

// hostPath reports whether w is an absolute path into a top-level
// directory of the host (/etc/haproxy/x.map), as opposed to a URL path.
func hostPath(w string) bool {
	first, _, _ := strings.Cut(strings.TrimPrefix(w, "/"), "/")
	return strings.HasPrefix(w, "/") && slices.Contains(hostTopDirs, first)
}

// checkCertPath confines the argument v of a certificate keyword to
// HAProxyCertDirs. A relative path has no ".." (checked by the caller) and
// haproxy resolves it against crt-base or ca-base, which are confined too.
func checkCertPath(errs *Errors, p loc, keyword, v string) {
	if !strings.HasPrefix(v, "/") || hasDotDot(v) {
		return
	}
	isDir := slices.Contains(haproxyCertDirKeywords, keyword) || keyword == "crt"
	clean := path.Clean(v)
	if clean != v && (!isDir || clean+"/" != v) {
		errs.add(p, "%s %q is not a clean path (it has \".\" segments or \"//\"); give %q", keyword, v, clean)
		return
	}
	if belowAny(clean, HAProxyCertDirs) || (slices.Contains(haproxyCertDirKeywords, keyword) && slices.Contains(HAProxyCertDirs, clean)) {
		return
	}
	errs.add(p, "%s %q is outside the directories certificates and keys are read from; put the file below %s", keyword, v, DirList(HAProxyCertDirs))
}
