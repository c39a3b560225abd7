//go:build linux

package nftmark

import (
	"net/netip"
	"os"
	"reflect"
	"runtime"
	"testing"

	"github.com/google/nftables"
	"github.com/vishvananda/netns"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
)

func TestEncodeDecode(t *testing.T) {
	for _, r := range []model.FwmarkRule{
		{Mark: 7, Destination: netip.MustParsePrefix("10.0.0.10/32"), Protocol: "tcp", Port: 80},
		{Mark: 1, Destination: netip.MustParsePrefix("10.1.0.0/16")},
		{Mark: 0xffffffff, Destination: netip.MustParsePrefix("2001:db8::/61"), Protocol: "sctp"},
		{Mark: 9, Destination: netip.MustParsePrefix("2001:db8::1/128"), Protocol: "udp", Port: 53},
	} {
		exprs, err := Encode(r)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := Decode(exprs)
		if !ok || got.FwmarkRule != r {
			t.Errorf("%v: decoded %v, %v", r, got, ok)
		}
		if _, ok := Decode(exprs[:len(exprs)-1]); ok {
			t.Errorf("%v: a rule without its mark statement decoded", r)
		}
	}
}

// newNetNS is a fresh network namespace's nftables connection; it needs
// root (CAP_SYS_ADMIN) and a kernel with nf_tables.
func newNetNS(t *testing.T) (*Manager, *nftables.Conn) {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("needs root")
		}
		t.Skip("needs root (a network namespace of its own)")
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	defer orig.Close()
	ns, err := netns.New()
	if err != nil {
		t.Fatal(err)
	}
	if err := netns.Set(orig); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Close() })
	c, err := nftables.New(nftables.WithNetNSFd(int(ns)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListTables(); err != nil {
		t.Fatalf("this kernel has no nf_tables: %v", err)
	}
	return &Manager{conn: c}, c
}

// TestReplaceListInNetNS programs, reads back, notices a hand-made rule
// and deletes, in a network namespace of the test's own.
func TestReplaceListInNetNS(t *testing.T) {
	m, c := newNetNS(t)
	want := []model.FwmarkRule{
		{Mark: 7, Destination: netip.MustParsePrefix("10.0.0.10/32"), Protocol: "tcp", Port: 80},
		{Mark: 7, Destination: netip.MustParsePrefix("10.0.0.10/32"), Protocol: "tcp", Port: 443},
		{Mark: 8, Destination: netip.MustParsePrefix("2001:db8::/64"), Protocol: "udp"},
	}
	st, err := m.List()
	if err != nil || st.Present {
		t.Fatalf("before: %+v, %v", st, err)
	}
	if changed, err := m.Replace(want); err != nil || !changed {
		t.Fatalf("replace: %v, %v", changed, err)
	}
	st, err = m.List()
	if err != nil {
		t.Fatal(err)
	}
	if !st.Present || st.Foreign != 0 || !sameRules(st.Rules, want) {
		t.Fatalf("read back %+v", st)
	}
	if changed, err := m.Replace(want); err != nil || changed {
		t.Fatalf("a second replace changed %v, %v", changed, err)
	}
	// A rule added by hand: foreign, and the next replace removes it.
	tbl := &nftables.Table{Name: Table, Family: nftables.TableFamilyINet}
	c.AddRule(&nftables.Rule{Table: tbl, Chain: &nftables.Chain{Name: Chain, Table: tbl}, Exprs: nil})
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	if st, _ = m.List(); st.Foreign != 1 {
		t.Fatalf("a hand-made rule is not foreign: %+v", st)
	}
	if changed, err := m.Replace(want[:1]); err != nil || !changed {
		t.Fatalf("replace: %v, %v", changed, err)
	}
	if st, _ = m.List(); st.Foreign != 0 || len(st.Rules) != 1 || !reflect.DeepEqual(st.Rules[0].FwmarkRule, want[0]) {
		t.Fatalf("after the repair: %+v", st)
	}
	if changed, err := m.Replace(nil); err != nil || !changed {
		t.Fatalf("delete: %v, %v", changed, err)
	}
	if st, err = m.List(); err != nil || st.Present {
		t.Fatalf("after delete: %+v, %v", st, err)
	}
	if changed, err := m.Replace(nil); err != nil || changed {
		t.Fatalf("a second delete: %v, %v", changed, err)
	}
}
