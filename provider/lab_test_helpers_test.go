//go:build linux

package provider

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"

	"github.com/lvsops/terraform-provider-lvs/internal/agentbin"
	"github.com/lvsops/terraform-provider-lvs/internal/fleet"
	"github.com/lvsops/terraform-provider-lvs/internal/lab/netns"
)

// Acceptance tests against the network-namespace lab: each test starts a
// lab (real sshd per host, private /etc/keepalived, /etc/sysctl.d, ...) and
// a provider of its own pointed at it. They run only with TF_ACC set, as
// root; without the lab's tools they skip loudly (and fail under $CI).

// accLabName and accLabSubnet keep the provider's acceptance labs apart
// from the labs of other packages' tests, which may run at the same time.
const accLabName = "lvsprov"

var accLabSubnet = netip.MustParsePrefix("10.81.0.0/24")

// accLab is a running lab and a provider configured for it.
type accLab struct {
	*netns.Lab
	t        *testing.T
	provider *lvsProvider

	mu      sync.Mutex
	clients []*client // every client the provider built, in order
}

// startAccLab skips unless TF_ACC is set, makes sure an agent binary is
// available, and starts a lab with the given hosts (addresses .11, .12,
// ... of 10.81.0.0/24; .100 and above are free for VIPs).
func startAccLab(t *testing.T, hosts ...string) *accLab {
	t.Helper()
	return startAccLabOn(t, netns.Config{Name: accLabName, Subnet: accLabSubnet, Hosts: hosts})
}

// startAccLabOn is startAccLab for a lab of its own (a name and subnet no
// other test uses), for tests that attach VMs to its bridge.
func startAccLabOn(t *testing.T, cfg netns.Config) *accLab {
	t.Helper()
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: set TF_ACC=1 to run it (make testacc)")
	}
	bins := accAgentBins(t)
	l := netns.Start(t, cfg)
	a := &accLab{Lab: l, t: t}
	a.provider = &lvsProvider{version: "acctest", agentBins: bins}
	a.provider.configured = func(c *client) {
		a.mu.Lock()
		a.clients = append(a.clients, c)
		a.mu.Unlock()
	}
	return a
}

// factories serves this lab's provider to the terraform binary. The one
// provider instance lives for the whole test, as a long-lived provider
// process would, so its connections and installed agents are reused.
func (a *accLab) factories() map[string]func() (tfprotov6.ProviderServer, error) {
	return map[string]func() (tfprotov6.ProviderServer, error){
		"lvs": providerserver.NewProtocol6WithError(a.provider),
	}
}

// providerConfig is the provider block pointing at the lab: its client key
// and known_hosts, root login.
func (a *accLab) providerConfig() string {
	return fmt.Sprintf(`
provider "lvs" {
  user              = %q
  private_key_path  = %q
  known_hosts_files = [%q]
  connect_timeout   = "5s"
  command_timeout   = "2m"
}
`, netns.User, a.ClientKeyPath, a.KnownHostsPath)
}

// addr is the lab address of a host.
func (a *accLab) addr(host string) string {
	h, err := a.Host(host)
	if err != nil {
		a.t.Fatal(err)
	}
	return h.Addr.String()
}

// vip is the lab address .n, for VIPs (n >= 100).
func (a *accLab) vip(n int) string {
	b := a.Subnet.Addr().As4()
	b[3] = byte(n)
	return netip.AddrFrom4(b).String()
}

// exec runs a command on a lab host, failing the test on error.
func (a *accLab) exec(host string, args ...string) string {
	a.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := a.Exec(ctx, host, args...)
	if err != nil {
		a.t.Fatalf("%s: %v", host, err)
	}
	return string(out)
}

// stats sums a host's fleet counters over the clients built since the
// first of index from (each Terraform command configures the provider once).
func (a *accLab) stats(host string, from int) fleet.Stats {
	a.mu.Lock()
	clients := append([]*client(nil), a.clients[min(from, len(a.clients)):]...)
	a.mu.Unlock()
	sum := fleet.Stats{Reloads: map[string]int{}}
	for _, c := range clients {
		cfg, diags := c.hostConfig(connectionModel{Host: types.StringValue(a.addr(host))})
		if diags.HasError() {
			a.t.Fatalf("host config: %v", diags)
		}
		s := c.fleet.Stats(cfg)
		sum.AgentCalls += s.AgentCalls
		sum.Observes += s.Observes
		sum.Reads += s.Reads
		sum.Applies += s.Applies
		sum.Writes += s.Writes
		for k, v := range s.Reloads {
			sum.Reloads[k] += v
		}
	}
	return sum
}

// configures is how many times the provider has been configured so far.
func (a *accLab) configures() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.clients)
}

var (
	agentBuildOnce sync.Once
	agentBuildFS   fs.FS
	agentBuildErr  error
)

// accAgentBins returns the agent binaries the test provider uploads: the
// embedded ones when the provider was built after `make agent`; otherwise
// the helper builds the agent for this machine's architecture the way
// `make agent` does (static, stripped, gzip -9) into internal/agentbin/bin,
// where the next build embeds it too, and the test uses that file.
func accAgentBins(t *testing.T) fs.FS {
	t.Helper()
	if _, err := agentbin.Binary(runtime.GOARCH); err == nil {
		return nil // embedded
	} else if !errors.Is(err, agentbin.ErrNotBuilt) {
		t.Fatalf("embedded agent: %v (rebuild it with `make agent`)", err)
	}
	agentBuildOnce.Do(func() {
		dir, err := filepath.Abs(filepath.Join("..", "internal", "agentbin", "bin"))
		if err != nil {
			agentBuildErr = err
			return
		}
		agentBuildErr = buildAgentInto(dir, runtime.GOARCH)
		agentBuildFS = os.DirFS(dir)
	})
	if agentBuildErr != nil {
		t.Fatalf("the provider carries no agent and building one failed: %v\n"+
			"Run `make agent` (from the repository root) and rerun the tests.", agentBuildErr)
	}
	t.Logf("the provider was built without the agent: built it for linux/%s into internal/agentbin/bin "+
		"(as `make agent` does)", runtime.GOARCH)
	return agentBuildFS
}

// buildAgentInto builds lvs-agent for linux/arch and writes it gzip
// compressed as dir/lvs-agent-linux-<arch>.gz.
func buildAgentInto(dir, arch string) error {
	raw := filepath.Join(dir, ".lvs-agent-linux-"+arch+".build")
	defer os.Remove(raw)
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w -X main.version=acctest", "-o", raw,
		"github.com/lvsops/terraform-provider-lvs/internal/agent/cmd/lvs-agent")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build lvs-agent: %w\n%s", err, out)
	}
	out := filepath.Join(dir, "lvs-agent-linux-"+arch+".gz")
	sh := exec.Command("sh", "-c", `gzip -9 -n -c "$1" > "$2.tmp" && mv -f "$2.tmp" "$2"`, "sh", raw, out)
	if b, err := sh.CombinedOutput(); err != nil {
		return fmt.Errorf("gzip: %w: %s", err, strings.TrimSpace(string(b)))
	}
	return nil
}
