//go:build linux

package nftmark

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"slices"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
)

// Manager talks to the kernel's nftables over one netlink connection.
type Manager struct {
	conn *nftables.Conn
}

// Open connects to nftables (loading nf_tables on demand, as the kernel
// does for a netfilter netlink socket).
func Open() (*Manager, error) {
	c, err := nftables.New()
	if err != nil {
		return nil, fmt.Errorf("nftables: %w", err)
	}
	return &Manager{conn: c}, nil
}

// Close releases the connection.
func (m *Manager) Close() error { return nil }

func table() *nftables.Table {
	return &nftables.Table{Name: Table, Family: nftables.TableFamilyINet}
}

func chain(t *nftables.Table) *nftables.Chain {
	return &nftables.Chain{
		Name:     Chain,
		Table:    t,
		Type:     nftables.ChainTypeFilter,
		Hooknum:  nftables.ChainHookPrerouting,
		Priority: nftables.ChainPriorityMangle,
	}
}

// List reads the table back.
func (m *Manager) List() (State, error) {
	var st State
	t, err := m.conn.ListTableOfFamily(Table, nftables.TableFamilyINet)
	if isNotFound(err) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("nftables: list table inet %s: %w", Table, err)
	}
	c, err := m.conn.ListChain(t, Chain)
	if isNotFound(err) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("nftables: list chain inet %s %s: %w", Table, Chain, err)
	}
	st.Present = true
	if c.Hooknum == nil || *c.Hooknum != *nftables.ChainHookPrerouting {
		// Not our base chain (made by hand): none of its rules mark.
		st.Foreign++
	}
	rules, err := m.conn.GetRules(t, c)
	if err != nil {
		return st, fmt.Errorf("nftables: list rules of inet %s %s: %w", Table, Chain, err)
	}
	for _, r := range rules {
		if d, ok := Decode(r.Exprs); ok {
			st.Rules = append(st.Rules, d)
		} else {
			st.Foreign++
		}
	}
	return st, nil
}

// isNotFound reports a table or chain that does not exist (ENOENT).
func isNotFound(err error) bool {
	return err != nil && errors.Is(err, unix.ENOENT)
}

// Replace makes the chain hold exactly rules, in one atomic batch, and
// reports whether it changed anything; no rules delete the table. A table
// whose rules already are rules is left alone (its counters keep counting).
func (m *Manager) Replace(rules []model.FwmarkRule) (bool, error) {
	cur, err := m.List()
	if err != nil {
		return false, err
	}
	if len(rules) == 0 {
		if !cur.Present {
			if _, err := m.conn.ListTableOfFamily(Table, nftables.TableFamilyINet); isNotFound(err) {
				return false, nil
			}
		}
		m.conn.DelTable(table())
		if err := m.conn.Flush(); err != nil && !isNotFound(err) {
			return false, fmt.Errorf("nftables: delete table inet %s: %w", Table, err)
		}
		return true, nil
	}
	if cur.Present && cur.Foreign == 0 && sameRules(cur.Rules, rules) {
		return false, nil
	}
	t := m.conn.AddTable(table())
	if cur.Present && cur.Foreign > 0 {
		// A chain changed by hand (its hook too, perhaps): start afresh.
		m.conn.DelTable(t)
		t = m.conn.AddTable(table())
	}
	c := m.conn.AddChain(chain(t))
	if cur.Present {
		m.conn.FlushChain(c)
	}
	for _, r := range rules {
		exprs, err := Encode(r)
		if err != nil {
			return false, err
		}
		m.conn.AddRule(&nftables.Rule{Table: t, Chain: c, Exprs: exprs})
	}
	if err := m.conn.Flush(); err != nil {
		return false, fmt.Errorf("nftables: program inet %s %s (%d rules): %w", Table, Chain, len(rules), err)
	}
	return true, nil
}

func sameRules(have []Rule, want []model.FwmarkRule) bool {
	got := make([]model.FwmarkRule, len(have))
	for i, r := range have {
		got[i] = r.FwmarkRule
	}
	return len(got) == len(want) && model.SameFwmarkRules(got, want)
}

// Layer 4 protocol numbers.
var protoNumbers = map[string]byte{"tcp": unix.IPPROTO_TCP, "udp": unix.IPPROTO_UDP, "sctp": unix.IPPROTO_SCTP}

// Encode is the expressions of one rule.
func Encode(r model.FwmarkRule) ([]expr.Any, error) {
	d := r.Destination
	if !d.IsValid() {
		return nil, fmt.Errorf("nftables: rule %v has no destination", r)
	}
	fam, off, size := byte(unix.NFPROTO_IPV4), uint32(16), 4
	if d.Addr().Is6() {
		fam, off, size = unix.NFPROTO_IPV6, 24, 16
	}
	addr := d.Masked().Addr().AsSlice()
	exprs := []expr.Any{
		&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{fam}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: off, Len: uint32(size)},
	}
	if d.Bits() < size*8 {
		exprs = append(exprs, &expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: uint32(size),
			Mask: prefixMask(d.Bits(), size), Xor: make([]byte, size)})
	}
	exprs = append(exprs, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: addr})
	if r.Protocol != "" {
		n, ok := protoNumbers[r.Protocol]
		if !ok {
			return nil, fmt.Errorf("nftables: rule %v: protocol %q is not tcp, udp or sctp", r, r.Protocol)
		}
		exprs = append(exprs,
			&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{n}})
	}
	if r.Port != 0 {
		exprs = append(exprs,
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.BigEndian.PutUint16(uint16(r.Port))})
	}
	return append(exprs,
		&expr.Counter{},
		&expr.Immediate{Register: 1, Data: binaryutil.NativeEndian.PutUint32(r.Mark)},
		&expr.Meta{Key: expr.MetaKeyMARK, SourceRegister: true, Register: 1},
	), nil
}

func prefixMask(bits, size int) []byte {
	m := make([]byte, size)
	for i := range m {
		switch {
		case bits >= 8:
			m[i] = 0xff
			bits -= 8
		case bits > 0:
			m[i] = byte(0xff << (8 - bits))
			bits = 0
		}
	}
	return m
}

// Decode reads a rule of Encode's shape back; ok is false for any other.
func Decode(exprs []expr.Any) (r Rule, ok bool) {
	i := 0
	next := func() expr.Any {
		if i >= len(exprs) {
			return nil
		}
		e := exprs[i]
		i++
		return e
	}
	peek := func() expr.Any {
		if i >= len(exprs) {
			return nil
		}
		return exprs[i]
	}
	cmpData := func() ([]byte, bool) {
		c, ok := next().(*expr.Cmp)
		if !ok || c.Op != expr.CmpOpEq || c.Register != 1 {
			return nil, false
		}
		return c.Data, true
	}
	// meta nfproto
	if me, ok := next().(*expr.Meta); !ok || me.Key != expr.MetaKeyNFPROTO || me.SourceRegister || me.Register != 1 {
		return r, false
	}
	famData, ok := cmpData()
	if !ok || len(famData) != 1 {
		return r, false
	}
	off, size := uint32(16), 4
	switch famData[0] {
	case unix.NFPROTO_IPV4:
	case unix.NFPROTO_IPV6:
		off, size = 24, 16
	default:
		return r, false
	}
	// daddr, masked or not
	if p, ok := next().(*expr.Payload); !ok || p.Base != expr.PayloadBaseNetworkHeader || p.Offset != off || p.Len != uint32(size) || p.DestRegister != 1 {
		return r, false
	}
	bits := size * 8
	if b, ok := peek().(*expr.Bitwise); ok {
		next()
		if b.SourceRegister != 1 || b.DestRegister != 1 || b.Len != uint32(size) || len(b.Xor) != size || !bytes.Equal(b.Xor, make([]byte, size)) {
			return r, false
		}
		n, ok := maskBits(b.Mask, size)
		if !ok {
			return r, false
		}
		bits = n
	}
	addrData, ok := cmpData()
	if !ok || len(addrData) != size {
		return r, false
	}
	addr, _ := netip.AddrFromSlice(addrData)
	pfx := netip.PrefixFrom(addr, bits)
	if pfx.Masked() != pfx {
		return r, false
	}
	r.Destination = pfx
	// meta l4proto
	if me, ok := peek().(*expr.Meta); ok && me.Key == expr.MetaKeyL4PROTO {
		next()
		if me.SourceRegister || me.Register != 1 {
			return r, false
		}
		d, ok := cmpData()
		if !ok || len(d) != 1 {
			return r, false
		}
		for name, n := range protoNumbers {
			if n == d[0] {
				r.Protocol = name
			}
		}
		if r.Protocol == "" {
			return r, false
		}
		// th dport
		if p, ok := peek().(*expr.Payload); ok {
			next()
			if p.Base != expr.PayloadBaseTransportHeader || p.Offset != 2 || p.Len != 2 || p.DestRegister != 1 {
				return r, false
			}
			d, ok := cmpData()
			if !ok || len(d) != 2 {
				return r, false
			}
			r.Port = int(binary.BigEndian.Uint16(d))
			if r.Port == 0 {
				return r, false
			}
		}
	}
	if c, ok := peek().(*expr.Counter); ok {
		next()
		r.Packets = c.Packets
	}
	imm, ok := next().(*expr.Immediate)
	if !ok || imm.Register != 1 || len(imm.Data) != 4 {
		return r, false
	}
	r.Mark = binaryutil.NativeEndian.Uint32(imm.Data)
	if me, ok := next().(*expr.Meta); !ok || me.Key != expr.MetaKeyMARK || !me.SourceRegister || me.Register != 1 {
		return r, false
	}
	if i != len(exprs) || r.Mark == 0 {
		return r, false
	}
	return r, true
}

// maskBits is the prefix length of a contiguous mask of size bytes.
func maskBits(mask []byte, size int) (int, bool) {
	if len(mask) != size {
		return 0, false
	}
	n := 0
	for _, b := range mask {
		for bit := 7; bit >= 0; bit-- {
			if b&(1<<bit) != 0 {
				n++
			} else {
				if !slices.Equal(prefixMask(n, size), mask) {
					return 0, false
				}
				return n, true
			}
		}
	}
	return n, true
}
