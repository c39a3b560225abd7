// Command benchreq writes the inputs of the netlink part of `make bench`
// (internal/lab/bench.sh): one table of services × destinations described
// twice, as the agent's apply request and as the ipvsadm-restore rules of
// the same table, plus one weight change described both ways.
//
//	go run ./internal/lab/cmd/benchreq -services 10000 -dests 10 -out DIR
//
// It writes into DIR:
//
//	apply.json   an apply for a netlink director: the director, every
//	             virtual server and every real server (one object each,
//	             as the provider sends them)
//	rules.txt    the same table for `ipvsadm -R` (render.IPVSRules)
//	weight.json  an apply putting the first real server with weight 2
//	weight.sh    the ipvsadm -e line that changes the same weight (to 3)
//
// Services are TCP on 10.200.0.0/16 port 80 (wlc, direct routing), real
// servers on 172.16.0.0/12 port 80: addresses no test network uses, never
// reached (no traffic is sent; the kernel only holds the table).
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
	"github.com/lvsops/terraform-provider-lvs/render"
)

func main() {
	services := flag.Int("services", 100, "virtual servers")
	dests := flag.Int("dests", 10, "real servers per virtual server")
	out := flag.String("out", ".", "directory to write into")
	flag.Parse()
	if err := write(*out, *services, *dests); err != nil {
		fmt.Fprintln(os.Stderr, "benchreq:", err)
		os.Exit(1)
	}
}

// table is the model of services × dests.
func table(services, dests int) *model.KeepalivedConfig {
	cfg := &model.KeepalivedConfig{Director: model.Director{Engine: "netlink"}}
	vip := netip.MustParseAddr("10.200.0.1")
	for i := range services {
		vs := model.VirtualServer{Address: vip, Port: 80, Scheduler: "wlc", ForwardingMethod: "dr"}
		vip = vip.Next()
		for j := range dests {
			n := i*dests + j + 1
			a := netip.AddrFrom4([4]byte{172, byte(16 + n>>16&0x0f), byte(n >> 8), byte(n)})
			w := 1
			vs.RealServers = append(vs.RealServers, model.RealServer{Address: a, Weight: &w})
		}
		cfg.VirtualServers = append(cfg.VirtualServers, vs)
	}
	return cfg
}

// applyRequest is the apply the provider would send for cfg: the director,
// then each virtual server and each of its real servers as objects.
func applyRequest(cfg *model.KeepalivedConfig) *wire.Request {
	req := &wire.Request{Version: wire.Version, Verb: wire.VerbApply, LockTimeoutSeconds: 600}
	d := cfg.Director
	req.Put = append(req.Put, wire.Object{Key: wire.DirectorKey, Director: &d})
	for i := range cfg.VirtualServers {
		vs := cfg.VirtualServers[i]
		reals := vs.RealServers
		vs.RealServers = nil
		req.Put = append(req.Put, wire.Object{Key: wire.VirtualServerKey(vs.Key()), VirtualServer: &vs})
		for j := range reals {
			rs := reals[j]
			req.Put = append(req.Put, wire.Object{Key: wire.RealServerKey(vs.Key(), rs.Key(&vs)), RealServer: &rs})
		}
	}
	return req
}

func write(dir string, services, dests int) error {
	if services < 1 || dests < 1 {
		return fmt.Errorf("-services and -dests must be at least 1")
	}
	if services > 65000 || services*dests > 1<<20-1 {
		return fmt.Errorf("at most 65000 services and %d destinations", 1<<20-1)
	}
	cfg := table(services, dests)
	rules, err := render.IPVSRules(cfg)
	if err != nil {
		return err
	}
	req := applyRequest(cfg)
	vs := cfg.VirtualServers[0]
	rs := vs.RealServers[0]
	w := 2
	rs.Weight = &w
	weight := &wire.Request{Version: wire.Version, Verb: wire.VerbApply, LockTimeoutSeconds: 600,
		Put: []wire.Object{{Key: wire.RealServerKey(vs.Key(), rs.Key(&vs)), RealServer: &rs}}}
	edit := fmt.Sprintf("ipvsadm -e -t %s -r %s -g -w 3\n",
		netip.AddrPortFrom(vs.Address, uint16(vs.Port)), netip.AddrPortFrom(rs.Address, uint16(vs.Port)))
	files := map[string][]byte{"rules.txt": []byte(rules), "weight.sh": []byte(edit)}
	for name, r := range map[string]*wire.Request{"apply.json": req, "weight.json": weight} {
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		files[name] = b
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			return err
		}
	}
	return nil
}
