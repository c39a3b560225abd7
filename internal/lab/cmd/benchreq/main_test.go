package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

// The two descriptions of the table agree: one -A line per virtual server
// object and one -a line per real server object, every destination
// distinct, and the weight change names a real server of the table.
func TestWriteDescribesOneTable(t *testing.T) {
	dir := t.TempDir()
	const services, dests = 7, 300 // past 256: addresses must not wrap
	if err := write(dir, services, dests); err != nil {
		t.Fatal(err)
	}
	rules, err := os.ReadFile(filepath.Join(dir, "rules.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var adds, dsts int
	seen := map[string]bool{}
	for _, l := range strings.Split(strings.TrimSpace(string(rules)), "\n") {
		f := strings.Fields(l)
		switch f[0] {
		case "-A":
			adds++
		case "-a":
			dsts++
			seen[f[4]] = true
		}
	}
	if adds != services || dsts != services*dests || len(seen) != services*dests {
		t.Errorf("rules: %d services, %d destinations (%d distinct); want %d, %d", adds, dsts, len(seen), services, services*dests)
	}
	var req wire.Request
	b, err := os.ReadFile(filepath.Join(dir, "apply.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &req); err != nil {
		t.Fatal(err)
	}
	kinds := map[wire.Kind]int{}
	for _, o := range req.Put {
		kinds[o.Kind]++
	}
	if kinds[wire.KindDirector] != 1 || kinds[wire.KindVirtualServer] != services || kinds[wire.KindRealServer] != services*dests {
		t.Errorf("apply puts %v, want 1 director, %d virtual servers, %d real servers", kinds, services, services*dests)
	}
	var weight wire.Request
	if b, err = os.ReadFile(filepath.Join(dir, "weight.json")); err == nil {
		err = json.Unmarshal(b, &weight)
	}
	if err != nil || len(weight.Put) != 1 || weight.Put[0].Key != req.Put[2].Key || *weight.Put[0].RealServer.Weight != 2 {
		t.Errorf("weight change %+v (%v), want real server %v at weight 2", weight.Put, err, req.Put[2].Key)
	}
	if err := write(dir, 0, 1); err == nil {
		t.Error("no services accepted")
	}
}
