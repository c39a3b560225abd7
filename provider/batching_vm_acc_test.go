//go:build linux

package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"golang.org/x/crypto/ssh"

	"github.com/lvsops/terraform-provider-lvs/internal/agent"
	"github.com/lvsops/terraform-provider-lvs/internal/lab/vm"
)

// batchingParallelism is Terraform's default -parallelism, which
// terraform-plugin-testing runs apply with.
const batchingParallelism = 10

// TestAccBatching_vm is the first scenario of the cost issue on two
// keepalived directors with a real IPVS kernel: one apply creating both
// directors, 10 services on both and 100 real servers (10 per service)
// at the default parallelism. Writes to a director coalesce (group
// commit) and the real servers look their service up from what the run
// knows, so the agent applies per director stay at most
// 100/parallelism + 2 (the directors and the services are a level of
// the graph each), and every apply reloads keepalived at most once. The
// counts come from the agents' own counters (agent.StatsFile) on each VM;
// wall times are printed, never asserted.
func TestAccBatching_vm(t *testing.T) {
	d1 := startVMDirector(t, "lvsc1a")
	v2 := vm.Start(t, vm.Config{Name: "lvsc1b"})
	d2 := &vmDirector{t: t, vm: v2}
	var err error
	if d2.host, d2.port, err = net.SplitHostPort(v2.SSHAddr); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := v2.Run(ctx, "cat >> /etc/ssh/authorized_keys/root", strings.NewReader(string(ssh.MarshalAuthorizedKey(d1.vm.Signer.PublicKey())))); err != nil {
		t.Fatal(err)
	}
	config := fmt.Sprintf(`
provider "lvs" {
  user              = "root"
  private_key_path  = %q
  known_hosts_files = [%q, %q]
  connect_timeout   = "20s"
  command_timeout   = "5m"
}

resource "lvs_director" "d1" {
  ssh {
    host = %q
    port = %s
  }
}

resource "lvs_director" "d2" {
  ssh {
    host = %q
    port = %s
  }
}

resource "lvs_virtual_server" "svc" {
  count     = 10
  directors = [lvs_director.d1.id, lvs_director.d2.id]
  address   = "10.0.1.${count.index + 1}"
  port      = 80
  scheduler = "rr"
}

resource "lvs_real_server" "rs" {
  count             = 100
  virtual_server_id = lvs_virtual_server.svc[floor(count.index / 10)].id
  address           = "192.168.2.${count.index + 1}"
  weight            = 1
}
`, d1.vm.KeyFile, d1.vm.KnownHosts, v2.KnownHosts, d1.host, d1.port, d2.host, d2.port)

	dirs := []*vmDirector{d1, d2}
	before := make([]agent.Stats, len(dirs))
	var stepStart time.Time
	baseline := func() {
		for i, d := range dirs {
			before[i] = d.agentStats()
		}
		stepStart = time.Now()
	}
	const maxApplies = 100/batchingParallelism + 2
	costs := func(*terraform.State) error {
		t.Logf("plan + apply of 2 directors, 10 services, 100 real servers: %v", time.Since(stepStart).Round(100*time.Millisecond))
		// The batch sizes of the apply, from the provider's fleet (the
		// last Configure's client served the apply).
		if c := d1.provider.client; c != nil && c.fleet != nil {
			for id, s := range c.fleet.AllStats() {
				t.Logf("%s: batch sizes %v, %d observes", id, s.Batches, s.Observes)
			}
		}
		var errs []string
		for i, d := range dirs {
			after := d.agentStats()
			applies := after.Applies - before[i].Applies
			reloads := after.Reloads["keepalived"] - before[i].Reloads["keepalived"]
			t.Logf("director %d: %d agent applies, %d observes, %d keepalived reloads, %d SSH connections",
				i+1, applies, after.Observes-before[i].Observes, reloads, after.Connections-before[i].Connections)
			if applies > maxApplies {
				errs = append(errs, fmt.Sprintf("director %d: %d agent applies, want at most 100/%d + 2 = %d", i+1, applies, batchingParallelism, maxApplies))
			}
			if reloads > applies {
				errs = append(errs, fmt.Sprintf("director %d: %d keepalived reloads for %d applies, want at most one per apply", i+1, reloads, applies))
			}
			if n := strings.Count(d.run("ipvsadm-save -n"), "\n-a "); n != 100 {
				errs = append(errs, fmt.Sprintf("director %d: %d destinations in the IPVS table, want 100", i+1, n))
			}
		}
		if errs != nil {
			return fmt.Errorf("%s", strings.Join(errs, "\n"))
		}
		return nil
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: d1.factories(),
		CheckDestroy: func(*terraform.State) error {
			for i, d := range dirs {
				if rules := d.ipvsRules(); len(rules) != 0 {
					return fmt.Errorf("director %d: IPVS table after destroy: %q, want empty", i+1, rules)
				}
			}
			return nil
		},
		Steps: []resource.TestStep{
			{PreConfig: baseline, Config: config, Check: costs},
		},
	})
}

// agentStats reads the agent's counters on the director (all zero before
// its first call).
func (d *vmDirector) agentStats() agent.Stats {
	d.t.Helper()
	var s agent.Stats
	out := strings.TrimSpace(d.run("cat " + agent.StatsFile + " 2>/dev/null || true"))
	if out == "" {
		return s
	}
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		d.t.Fatalf("%s: %v\n%s", agent.StatsFile, err, out)
	}
	return s
}
