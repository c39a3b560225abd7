package keepalivedconf

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/render"
)

// corpusDir is where Debian's keepalived package installs keepalived's own
// sample configurations.
const corpusDir = "/usr/share/doc/keepalived/samples"

// corpusHost is the host name @host conditional lines are evaluated for
// (conditional_conf's sample is written for "-i high" or "-i low").
const corpusHost = "high"

// corpusEquivalent are the samples that import equivalently: one of them
// that no longer does is a regression and fails TestSampleCorpus. A file
// that starts to import is added here.
var corpusEquivalent = []string{
	"HTTP_GET.port", "IPv6", "PING_CHECK", "SMTP_CHECK", "SSL_GET", "UDP_CHECK", "fwmark", "inhibit",
	"misc_check", "misc_check_arg", "quorum", "sample", "status_code", "virtual_server_group",
	"virtualhost", "vrrp", "vrrp.localcheck", "vrrp.lvs_syncd", "vrrp.scripts", "vrrp.sync",
	"track_interface", "vrrp.routes", "vrrp.rules", "vrrp.static_ipaddress",
}

// harmless are the warnings that leave what keepalived does unchanged:
// keepalived itself ignores what they leave out. Any other warning on an
// imported file is a silent change and fails TestSampleCorpus.
var harmless = []string{
	"keepalived ignores it",
	// A rule without a preference: the import writes the one keepalived sets.
	"keepalived sets it to",
}

// TestSampleCorpus imports every sample keepalived ships: parse, then
// render, keepalived -t on the rendering (in a network namespace with the
// interfaces named), and the rendering read back must be equivalent to what
// was imported (instances, addresses, services, real servers, checkers,
// global settings). A file is equivalent when it imports with no warning
// but harmless ones; one refused with an error naming file:line is allowed
// (and listed); one imported with a warning that changes behaviour, one the
// model refuses without file:line, or one keepalived -t rejects fails.
func TestSampleCorpus(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(corpusDir, "keepalived.conf.*"))
	if len(files) == 0 {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set but %s holds no keepalived.conf.* (install the keepalived package)", corpusDir)
		}
		t.Skipf("SKIPPED, NOT TESTED: %s holds no keepalived.conf.* (install the keepalived package and rerun; CI fails here)", corpusDir)
	}
	equivalent := 0
	var report []string
	for _, f := range files {
		base := filepath.Base(f)
		ok, reason := importSample(t, f)
		if ok {
			equivalent++
			report = append(report, base+": equivalent")
			if !slices.Contains(corpusEquivalent, strings.TrimPrefix(base, "keepalived.conf.")) {
				report[len(report)-1] += " (new: add it to corpusEquivalent)"
			}
		} else {
			report = append(report, base+": "+reason)
			if slices.Contains(corpusEquivalent, strings.TrimPrefix(base, "keepalived.conf.")) {
				t.Errorf("%s imported equivalently before and no longer does: %s", base, reason)
			}
		}
	}
	t.Logf("keepalived samples: %d of %d equivalent\n%s", equivalent, len(files), strings.Join(report, "\n"))
}

// importSample imports one file; false with the first reason when the
// import is not equivalent. It fails t for what must never happen.
func importSample(t *testing.T, path string) (bool, string) {
	t.Helper()
	base := filepath.Base(path)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg, warns, err := ParseWith(f, base, Options{Host: corpusHost})
	if err != nil {
		var pe *Error
		if !errors.As(err, &pe) || pe.Line == 0 || !strings.HasPrefix(err.Error(), base+":") {
			t.Errorf("%s: refused without naming file:line: %v", base, err)
		}
		return false, "refused: " + err.Error()
	}
	for _, w := range warns {
		if !slices.ContainsFunc(harmless, func(h string) bool { return strings.Contains(w.Message, h) }) {
			t.Errorf("%s: imported with a change to what keepalived does: %s", base, w)
			return false, "changed: " + w.String()
		}
	}
	if err := cfg.Validate(nil); err != nil {
		// Listed, not failed: the agent refuses it whole (nothing changes
		// silently), but its error names the attribute, not file:line.
		return false, "refused by the model's validation (no file:line yet): " + err.Error()
	}
	text, err := render.Keepalived(cfg)
	if err != nil {
		t.Errorf("%s: render: %v", base, err)
		return false, "render: " + err.Error()
	}
	if out, err := corpusKeepalivedTest(t, text, corpusInterfaces(cfg)); err != nil {
		t.Errorf("%s: keepalived -t refuses the rendering (%v):\n%s\n--- rendering ---\n%s", base, err, out, text)
		return false, "keepalived -t: " + err.Error()
	}
	again, rwarns, err := Parse(strings.NewReader(text), "rendered")
	if err != nil || len(rwarns) != 0 {
		t.Errorf("%s: reading the rendering: %v %v", base, err, rwarns)
		return false, "re-read"
	}
	if !Equivalent(cfg, again) {
		a, _ := json.MarshalIndent(Normalize(cfg), "", " ")
		b, _ := json.MarshalIndent(Normalize(again), "", " ")
		t.Errorf("%s: the rendering reads back differently:\n%s", base, diff(string(a), string(b)))
		return false, "not equivalent after rendering"
	}
	return true, ""
}

// corpusInterfaces lists the interfaces a configuration names, which must
// exist for keepalived -t.
func corpusInterfaces(cfg *model.KeepalivedConfig) []string {
	d := &cfg.Director
	var out []string
	add := func(name string) {
		if name != "" && !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	add(d.Interface)
	routes := func(rs []model.Route) {
		for _, r := range rs {
			add(r.Device)
			for _, nh := range r.Nexthops {
				add(nh.Device)
			}
		}
	}
	rules := func(rs []model.Rule) {
		for _, r := range rs {
			add(r.InputInterface)
			add(r.OutputInterface)
		}
	}
	routes(d.StaticRoutes)
	rules(d.StaticRules)
	for _, a := range d.StaticAddresses {
		add(a.Device)
	}
	for _, in := range d.Instances {
		routes(in.VirtualRoutes)
		rules(in.VirtualRules)
		add(in.Interface)
		for _, v := range in.VirtualIPs {
			add(v.Device)
		}
		for _, ti := range in.TrackIfaces {
			add(ti.Name)
		}
	}
	return out
}

// corpusKeepalivedTest runs keepalived -t on conf in a network namespace of
// its own holding the interfaces; it skips loudly (fails under CI) without
// root, ip or keepalived.
func corpusKeepalivedTest(t *testing.T, conf string, ifaces []string) (string, error) {
	t.Helper()
	need := func(reason string) {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set but %s", reason)
		}
		t.Skipf("SKIPPED, NOT TESTED: %s (CI fails here)", reason)
	}
	if os.Geteuid() != 0 {
		need("keepalived -t in a network namespace needs root")
	}
	keepalived, err := exec.LookPath("keepalived")
	if err != nil {
		need("keepalived is not installed")
	}
	ip, err := exec.LookPath("ip")
	if err != nil {
		need("ip is not installed")
	}
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	ns := "lvs-corpus-" + hex.EncodeToString(b)
	if out, err := exec.Command(ip, "netns", "add", ns).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v\n%s", ns, err, out)
	}
	defer func() {
		if out, err := exec.Command(ip, "netns", "del", ns).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v\n%s", ns, err, out)
		}
	}()
	for _, name := range ifaces {
		if _, err := exec.Command(ip, "-n", ns, "link", "add", name, "type", "dummy").CombinedOutput(); err != nil {
			if out, err := exec.Command(ip, "-n", ns, "link", "add", name, "type", "bridge").CombinedOutput(); err != nil {
				t.Fatalf("creating interface %s in %s: %v %s", name, ns, err, out)
			}
		}
	}
	file := filepath.Join(t.TempDir(), "keepalived.conf")
	if err := os.WriteFile(file, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(ip, "netns", "exec", ns, keepalived, "-t", "-f", file).CombinedOutput()
	return string(out), err
}
