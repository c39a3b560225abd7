//go:build linux

package provider

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestAccFaults asserts convergence under faults, with the terraform CLI
// as a user runs it, on one director VM (real IPVS, keepalived engine)
// and the namespace hosts rs1 and rs2 as DR real servers (their side set
// up by host blocks), sharing the VM between subtests:
//
//   - parallelism: one configuration of two services with two real
//     servers each (all four real servers share rs1 and rs2) applied from
//     scratch with -parallelism=1 and, after a destroy, with
//     -parallelism=30 reaches the same host state;
//   - reboot_keepalived: after a reboot of the director the host state is
//     what it was, the plan is empty and the client reaches rs1 and rs2
//     through the VIP (the netlink engine's boot restore is covered by
//     TestAccStaticVIP_vm and TestAccFwmark_vm);
//   - two_applies: two working directories (two states) whose services
//     share the director and whose real servers share rs1 and rs2 apply
//     at once (A changes weights and removes a service while B creates
//     one), then B destroys while A changes: each converges, the plans
//     after the applies are empty, the director holds both;
//   - host_down: rs2 off the network during a plan, and during the apply
//     of a plan saved while it was up: each fails naming the host
//     and the step, the state keeps every resource and agrees with the
//     director, and once rs2 is back one apply converges.
func TestAccFaults(t *testing.T) {
	// Its own lab and VM: runs beside the other parallel lab tests.
	t.Parallel()
	f := startFaultLab(t)
	start := time.Now()
	defer func() { t.Logf("TestAccFaults after the VM boot: %v", time.Since(start).Round(time.Second)) }()
	url := "http://" + f.vip(100) + "/"
	dir := "[lvs_director.d1.id]"

	// State A: the director and its services on the VIP .100, each with
	// real servers on rs1 and rs2 (weights by service and host).
	stateA := func(weights map[int][2]int) string {
		s := f.directorConfig("keepalived")
		for _, port := range slices.Sorted(maps.Keys(weights)) {
			w := weights[port]
			s += f.service(fmt.Sprintf("s%d", port), dir, port, map[string]int{"rs1": w[0], "rs2": w[1]})
		}
		return s
	}
	full := map[int][2]int{80: {1, 2}, 81: {3, 4}}
	tfA := f.workdir(t, "a", stateA(full))
	var after string // the host state after the last parallelism apply

	t.Run("parallelism", func(t *testing.T) {
		tfA.t = t
		clean := f.hostState(t)
		var states []string
		for i, p := range []string{"-parallelism=1", "-parallelism=30"} {
			if i > 0 {
				tfA.run("destroy", "-auto-approve")
				if got := f.hostState(t); got != clean {
					t.Fatalf("host state after destroy differs from before the first apply:\n%s", lineDiff(clean, got))
				}
			}
			tfA.run("apply", "-auto-approve", p)
			states = append(states, f.hostState(t))
			tfA.noChanges()
		}
		if states[0] != states[1] {
			t.Fatalf("host state after -parallelism=1 and after -parallelism=30 differ:\n%s", lineDiff(states[0], states[1]))
		}
		f.expectWeights(t, map[string]int{"80/rs1": 1, "80/rs2": 2, "81/rs1": 3, "81/rs2": 4})
		if err := f.reaches(f.ctx, url, "rs1", "rs2"); err != nil {
			t.Fatal(err)
		}
		after = states[1]
	})

	t.Run("reboot_keepalived", func(t *testing.T) {
		tfA.t = t
		if after == "" {
			t.Skip("parallelism failed: nothing applied to reboot with")
		}
		if err := f.vm.Reboot(f.ctx); err != nil {
			t.Fatal(err)
		}
		t.Logf("reboot to SSH took %v", f.vm.BootTime.Round(100*time.Millisecond))
		if err := f.reaches(f.ctx, url, "rs1", "rs2"); err != nil {
			t.Fatalf("after the reboot, before any apply: %v\n%s", err, f.vmRun(t, "ipvsadm -Ln; ip -o addr show dev eth1; cat /run/lvs-agent-restore.json 2>&1 | head -c 600"))
		}
		if got := f.hostState(t); got != after {
			t.Fatalf("host state after the reboot differs from before:\n%s", lineDiff(after, got))
		}
		tfA.noChanges()
	})

	// State B: a service on port 83 of the same director (named by
	// address), whose real servers share rs1 and rs2 with A's.
	stateB := func(w1, w2 int) string {
		return f.service("b", fmt.Sprintf("[%q]", "root@"+f.director()+":22"), 83, map[string]int{"rs1": w1, "rs2": w2})
	}
	tfB := f.workdir(t, "b", stateB(5, 6))

	t.Run("two_applies", func(t *testing.T) {
		tfA.t, tfB.t = t, t
		if len(tfA.stateList()) != 7 {
			t.Skip("parallelism failed: state A does not hold the director and its services")
		}
		// at runs both working directories' commands at once; a run that
		// fails must say why, and its re-run must converge. Then both
		// plans are empty.
		at := func(what string, a, b []string) {
			t.Helper()
			var wg sync.WaitGroup
			outs, errs := make([]string, 2), make([]error, 2)
			tfs := []*tfCLI{tfA, tfB}
			for i, args := range [][]string{a, b} {
				wg.Go(func() { outs[i], errs[i] = tfs[i].try(args...) })
			}
			wg.Wait()
			for i, tf := range tfs {
				if errs[i] == nil {
					continue
				}
				if !exitErr(errs[i]) {
					t.Fatalf("%s: state %c: %v", what, 'A'+i, errs[i])
				}
				t.Errorf("%s: state %c failed while the other ran (re-running it):\n%s", what, 'A'+i, tail(outs[i], 30))
				tf.run([][]string{a, b}[i]...)
			}
			// The plans after the applies (a destroyed state's configuration
			// plans to create it again).
			applied := []bool{a[0] == "apply", b[0] == "apply"}
			for i := range tfs {
				if applied[i] {
					wg.Go(func() { outs[i], errs[i] = tfs[i].try("plan", "-detailed-exitcode") })
				}
			}
			wg.Wait()
			for i := range tfs {
				if applied[i] && errs[i] != nil {
					t.Fatalf("%s: the plan of state %c after it is not empty: %v", what, 'A'+i, errs[i])
				}
			}
		}
		// A takes its service on port 81 away (and the VIP on lo of its
		// real servers with it, on hosts where B's stay) and changes
		// weights while B adds its service.
		f.write(tfA, stateA(map[int][2]int{80: {7, 8}}))
		at("A changes and removes, B creates", []string{"apply", "-auto-approve"}, []string{"apply", "-auto-approve"})
		f.expectWeights(t, map[string]int{"80/rs1": 7, "80/rs2": 8, "83/rs1": 5, "83/rs2": 6})
		if err := f.reaches(f.ctx, url, "rs1", "rs2"); err != nil {
			t.Fatal(err)
		}

		// B goes while A changes: rs1 and rs2 keep the VIP on lo for A.
		f.write(tfA, stateA(map[int][2]int{80: {1, 2}}))
		at("A changes, B destroys", []string{"apply", "-auto-approve"}, []string{"destroy", "-auto-approve"})
		f.expectWeights(t, map[string]int{"80/rs1": 1, "80/rs2": 2})
		if got := tfB.stateList(); len(got) != 0 {
			t.Fatalf("state B after destroy: %v", got)
		}
		if err := f.reaches(f.ctx, url, "rs1", "rs2"); err != nil {
			t.Fatalf("after B's destroy: %v", err)
		}
	})

	t.Run("host_down", func(t *testing.T) {
		tfA.t = t
		list := tfA.stateList()
		if len(list) != 4 {
			t.Skipf("two_applies left state A with %v, not the director, a service and two real servers", list)
		}
		rs2 := f.addr("rs2")
		// failsOn runs a terraform command with rs2 off the network: it
		// fails naming rs2 and the step, the state keeps every resource,
		// and the weights in the state are those the director runs.
		failsOn := func(what string, args ...string) {
			t.Helper()
			f.link(t, "rs2", false)
			out, err := tfA.try(args...)
			f.link(t, "rs2", true)
			if err == nil || !exitErr(err) {
				t.Fatalf("%s with rs2 down: %v, want a failure", what, err)
			}
			for _, want := range []string{rs2, "Step:"} {
				if !strings.Contains(out, want) {
					t.Errorf("%s with rs2 down: the error does not name %q:\n%s", what, want, tail(out, 30))
				}
			}
			if got := tfA.stateList(); !slices.Equal(got, list) {
				t.Fatalf("%s with rs2 down: state %v, want %v", what, got, list)
			}
			got := f.weights(t)
			for _, h := range []string{"rs1", "rs2"} {
				state := fmt.Sprint(tfA.attr("lvs_real_server.s80_"+h, "weight"))
				if fmt.Sprint(got["80/"+h]) != state {
					t.Errorf("%s with rs2 down: the state says %s weight %s, the director runs %d", what, h, state, got["80/"+h])
				}
			}
		}
		f.write(tfA, stateA(map[int][2]int{80: {3, 4}}))
		failsOn("plan", "plan", "-detailed-exitcode")
		f.expectWeights(t, map[string]int{"80/rs1": 1, "80/rs2": 2})

		// Down between plan and apply: the saved plan's apply reaches rs2.
		tfA.run("plan", "-out=saved.tfplan")
		failsOn("apply of a saved plan", "apply", "saved.tfplan")
		tfA.run("apply", "-auto-approve")
		f.expectWeights(t, map[string]int{"80/rs1": 3, "80/rs2": 4})
		tfA.noChanges()
		if err := f.reaches(f.ctx, url, "rs1", "rs2"); err != nil {
			t.Fatal(err)
		}
	})
}

// weights is the director's IPVS weights by "port/host" of the real
// servers on the VIP .100.
func (f *faultLab) weights(t *testing.T) map[string]int {
	t.Helper()
	hostOf := map[string]string{f.addr("rs1"): "rs1", f.addr("rs2"): "rs2"}
	got := map[string]int{}
	for l := range strings.SplitSeq(f.vmRun(t, "ipvsadm-save -n"), "\n") {
		var proto, vs, rs, fwd, wflag string
		var w int
		if n, _ := fmt.Sscanf(l, "-a %s %s -r %s %s %s %d", &proto, &vs, &rs, &fwd, &wflag, &w); n != 6 {
			continue
		}
		_, port, _ := strings.Cut(vs, ":")
		host, _, _ := strings.Cut(rs, ":")
		got[port+"/"+hostOf[host]] = w
	}
	return got
}

// expectWeights fails unless the director runs exactly these real servers
// with these weights.
func (f *faultLab) expectWeights(t *testing.T, want map[string]int) {
	t.Helper()
	if got := f.weights(t); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("the director's real servers: %v, want %v\n%s", got, want, f.vmRun(t, "ipvsadm-save -n"))
	}
}

// lineDiff lists the lines only in a (-) and only in b (+).
func lineDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	var d []string
	for _, l := range al {
		if !slices.Contains(bl, l) {
			d = append(d, "- "+l)
		}
	}
	for _, l := range bl {
		if !slices.Contains(al, l) {
			d = append(d, "+ "+l)
		}
	}
	return strings.Join(d, "\n")
}
