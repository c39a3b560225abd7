package agent

import (
	"crypto/md5" //nolint:gosec // dpkg's checksum
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

// debianHAProxyCfg stands for the haproxy.cfg the haproxy package ships.
const debianHAProxyCfg = "global\n\tlog /dev/log local0\n\tchroot /var/lib/haproxy\n\nfrontend x\n\tbind :80\n"

// writeDpkgStatus writes a dpkg status database listing haproxy's
// haproxy.cfg with the MD5 of shipped (obsolete adds dpkg's marker).
func writeDpkgStatus(t *testing.T, root, shipped string, obsolete bool) {
	t.Helper()
	sum := md5.Sum([]byte(shipped)) //nolint:gosec // dpkg's checksum
	mark := ""
	if obsolete {
		mark = " obsolete"
	}
	status := "Package: keepalived\nStatus: install ok installed\nConffiles:\n /etc/default/keepalived 0123456789abcdef0123456789abcdef\n\n" +
		"Package: haproxy\nStatus: install ok installed\nConffiles:\n /etc/default/haproxy fe5c1890fce351cde863fb7f9814beff\n" +
		" /etc/haproxy/haproxy.cfg " + hex.EncodeToString(sum[:]) + mark + "\nDescription: fast and reliable load balancing reverse proxy\n\n"
	p := filepath.Join(root, dpkgStatus)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(status), 0o644); err != nil {
		t.Fatal(err)
	}
}

func writeHostFile(t *testing.T, root, path, data string) {
	t.Helper()
	p := filepath.Join(root, path)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestPackageDefaultHAProxyConfigIsReplacedAndKept: haproxy's haproxy.cfg
// as `apt install haproxy` left it is nobody's work: the apply replaces it
// and keeps it aside, with a warning saying so. Edited, it is refused.
func TestPackageDefaultHAProxyConfigIsReplacedAndKept(t *testing.T) {
	t.Run("untouched", func(t *testing.T) {
		f, a := newFakeHost(t)
		writeDpkgStatus(t, f.root, debianHAProxyCfg, false)
		writeHostFile(t, f.root, HAProxyConf, debianHAProxyCfg)
		resp := mustApply(t, a, haproxyObjs(8080))
		if !isOurs([]byte(f.read(HAProxyConf))) {
			t.Fatalf("haproxy.cfg not replaced by the rendered config:\n%s", f.read(HAProxyConf))
		}
		kept, _ := filepath.Glob(filepath.Join(f.root, HAProxyConf+".lvs-foreign-*"))
		if len(kept) != 1 {
			t.Fatalf("package default kept as %v, want one file", kept)
		}
		if b, _ := os.ReadFile(kept[0]); string(b) != debianHAProxyCfg {
			t.Errorf("the kept file is not the package's default:\n%s", b)
		}
		warned := strings.Join(resp.Warnings, "\n")
		if !strings.Contains(warned, "haproxy package's default") || !strings.Contains(warned, strings.TrimPrefix(kept[0], f.root)) {
			t.Errorf("warnings %q do not say the package default was kept and where", warned)
		}
	})
	for name, tc := range map[string]struct {
		installed string
		obsolete  bool
		dpkg      bool
	}{
		"edited after install":      {installed: debianHAProxyCfg + "\tmaxconn 4096\n", dpkg: true},
		"obsolete conffile":         {installed: debianHAProxyCfg, obsolete: true, dpkg: true},
		"no dpkg database (an rpm)": {installed: debianHAProxyCfg},
	} {
		t.Run(name, func(t *testing.T) {
			f, a := newFakeHost(t)
			if tc.dpkg {
				writeDpkgStatus(t, f.root, debianHAProxyCfg, tc.obsolete)
			}
			writeHostFile(t, f.root, HAProxyConf, tc.installed)
			resp, code := apply(t, a, haproxyObjs(8080))
			if code != wire.ExitForeign {
				t.Fatalf("exit %d, error %+v; want ExitForeign", code, resp.Error)
			}
			if f.read(HAProxyConf) != tc.installed {
				t.Error("the refused haproxy.cfg was changed")
			}
		})
	}
}

// TestPackageDefaultHAProxyConfigIsPutBackOnRemove: when the last haproxy
// object goes, the package's default kept aside at the takeover goes back
// in place (mode 0644, as dpkg installed it) instead of leaving no
// haproxy.cfg: dpkg takes a missing conffile for one the admin deleted and
// never ships it again. A kept copy someone edited since stays aside.
func TestPackageDefaultHAProxyConfigIsPutBackOnRemove(t *testing.T) {
	objs := haproxyObjs(8080)
	keys := []wire.Key{objs[0].Key, objs[1].Key}
	take := func(t *testing.T) (*fakeHost, *Agent) {
		f, a := newFakeHost(t)
		writeDpkgStatus(t, f.root, debianHAProxyCfg, false)
		writeHostFile(t, f.root, HAProxyConf, debianHAProxyCfg)
		mustApply(t, a, objs)
		return f, a
	}
	t.Run("removed", func(t *testing.T) {
		f, a := take(t)
		resp := mustApply(t, a, nil, keys...)
		if got := f.read(HAProxyConf); got != debianHAProxyCfg {
			t.Fatalf("haproxy.cfg after the last haproxy object went:\n%s\nwant the package's default back", got)
		}
		if st, err := os.Stat(filepath.Join(f.root, HAProxyConf)); err != nil || st.Mode().Perm() != 0o644 {
			t.Errorf("restored haproxy.cfg: %v, mode %v; want 0644", err, st.Mode().Perm())
		}
		if kept, _ := filepath.Glob(filepath.Join(f.root, HAProxyConf+".lvs-foreign-*")); len(kept) != 0 {
			t.Errorf("the kept copy %v is still there after going back in place", kept)
		}
		if w := strings.Join(resp.Warnings, "\n"); !strings.Contains(w, "put back") {
			t.Errorf("warnings %q do not say the package default was put back", w)
		}
	})
	t.Run("edited copy is not put back", func(t *testing.T) {
		f, a := take(t)
		kept, _ := filepath.Glob(filepath.Join(f.root, HAProxyConf+".lvs-foreign-*"))
		if len(kept) != 1 {
			t.Fatalf("kept %v", kept)
		}
		if err := os.WriteFile(kept[0], []byte(debianHAProxyCfg+"# mine\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		mustApply(t, a, nil, keys...)
		if _, err := os.Stat(filepath.Join(f.root, HAProxyConf)); err == nil {
			t.Errorf("haproxy.cfg exists after the removal, from a kept copy that is not the package's default:\n%s", f.read(HAProxyConf))
		}
		if _, err := os.Stat(kept[0]); err != nil {
			t.Errorf("the kept copy someone edited is gone: %v", err)
		}
	})
}
