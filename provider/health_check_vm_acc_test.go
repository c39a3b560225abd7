//go:build linux

package provider

import (
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
)

// TestAccHealthChecks_vm proves newer checkers on a VM director with a
// real IPVS kernel, keepalived running the checks: a failing real server
// leaves the IPVS table and comes back when it passes again, and neither
// shows as drift. One VM serves the subtests.
//
//   - file_check: weight 0, so a non-zero number in the file is a failure.
//   - ping_check: the real server's address lives on the VM's lo; removing
//     it makes the echo go unanswered.
func TestAccHealthChecks_vm(t *testing.T) {
	// Its own lab and VMs: runs beside the other parallel lab tests (make
	// test runs the acceptance tests with -parallel 3).
	t.Parallel()
	d := startVMDirector(t, "lvsk1chk")
	const file = "/run/lvsk1-rs61"
	config := d.configEngine("keepalived", `
resource "lvs_virtual_server" "chk" {
  directors         = [lvs_director.d1.id]
  address           = "10.0.0.60"
  port              = 80
  scheduler         = "wrr"
  forwarding_method = "dr"
  delay_loop        = 1
}

resource "lvs_real_server" "file" {
  virtual_server_id = lvs_virtual_server.chk.id
  address           = "192.168.1.61"
  weight            = 3
  file_check {
    file   = "`+file+`"
    weight = 0
  }
}

resource "lvs_real_server" "ping" {
  virtual_server_id = lvs_virtual_server.chk.id
  address           = "192.168.1.62"
  weight            = 4
  ping_check {
    connect_timeout    = 1
    retry              = 1
    delay_before_retry = 1
  }
}
`)
	fileRS, pingRS := "192.168.1.61:80", "192.168.1.62:80"
	in := func(rs string) func() { return d.waitFor("ipvsadm-save -n", rs) }
	out := func(rs string) func() { return d.waitForGone("ipvsadm-save -n", rs) }
	t.Run("fail_and_recover", func(t *testing.T) {
		d.t = t
		resource.Test(t, resource.TestCase{
			ProtoV6ProviderFactories: d.factories(),
			Steps: []resource.TestStep{
				{
					PreConfig: func() { d.run("echo 0 > " + file + " && ip addr add 192.168.1.62/32 dev lo") },
					Config:    config,
					Check: func(*terraform.State) error {
						in(fileRS)()
						in(pingRS)()
						return nil
					},
				},
				{
					// The file says failure, the address is gone: keepalived
					// takes both out of the table; that is status, not drift.
					PreConfig: func() {
						d.run("echo 1 > " + file + " && ip addr del 192.168.1.62/32 dev lo")
						out(fileRS)()
						out(pingRS)()
					},
					Config:           config,
					ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				},
				{
					// Both pass again and come back at their weights.
					PreConfig: func() {
						d.run("echo 0 > " + file + " && ip addr add 192.168.1.62/32 dev lo")
						in(fileRS)()
						in(pingRS)()
					},
					Config:           config,
					ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
					Check:            d.expectRulesContain("-a -t 10.0.0.60:80 -r 192.168.1.61:80 -g -w 3", "-a -t 10.0.0.60:80 -r 192.168.1.62:80 -g -w 4"),
				},
			},
		})
	})
}

// waitForGone polls cmd on the VM until its output no longer contains
// what, or fails the test after a minute.
func (d *vmDirector) waitForGone(cmd, what string) func() {
	return func() {
		start := time.Now()
		for {
			got := d.run(cmd)
			if !strings.Contains(got, what) {
				d.t.Logf("%s left %s after %v", what, cmd, time.Since(start).Round(100*time.Millisecond))
				return
			}
			if time.Since(start) > time.Minute {
				d.t.Fatalf("%s: %q still there after a minute:\n%s", cmd, what, got)
			}
			time.Sleep(time.Second)
		}
	}
}
