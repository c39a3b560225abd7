package agent

import (
	"bufio"
	"bytes"
	"crypto/md5" //nolint:gosec // dpkg records conffiles by MD5; this only compares with it
	"encoding/hex"
	"os"
	"strings"
)

// dpkgStatus is where dpkg records each installed package, with the MD5
// of every configuration file as the package shipped it.
const dpkgStatus = "/var/lib/dpkg/status"

// packageDefault reports whether data, the content of the configuration
// file confPath (a host path), is that file exactly as an installed Debian
// package shipped it (haproxy's /etc/haproxy/haproxy.cfg after `apt install
// haproxy`), and names the package. Nobody wrote such a file: replacing
// it, kept aside, loses no one's work. No dpkg database, an unlisted file
// or one changed since it was installed: false.
func (a *Agent) packageDefault(confPath string, data []byte) (string, bool) {
	f, err := os.Open(a.path(dpkgStatus))
	if err != nil {
		return "", false
	}
	defer f.Close()
	sum := md5.Sum(data) //nolint:gosec // see the import
	want := hex.EncodeToString(sum[:])
	pkg, inConffiles := "", false
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Bytes()
		switch {
		case len(line) == 0:
			pkg, inConffiles = "", false
		case bytes.HasPrefix(line, []byte("Package: ")):
			pkg = strings.TrimSpace(string(line[len("Package: "):]))
		case bytes.Equal(line, []byte("Conffiles:")):
			inConffiles = true
		case line[0] == ' ' && inConffiles:
			// " /etc/haproxy/haproxy.cfg <md5>[ obsolete]"
			fields := strings.Fields(string(line))
			if len(fields) >= 2 && fields[0] == confPath {
				obsolete := len(fields) > 2 && fields[2] == "obsolete"
				return pkg, fields[1] == want && !obsolete
			}
		default:
			inConffiles = false
		}
	}
	return "", false
}
