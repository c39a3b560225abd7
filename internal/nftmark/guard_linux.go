//go:build linux

package nftmark

import (
	"fmt"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
)

// guardPriority runs the guard chain after IPVS's own LOCAL_IN hook
// (NF_IP_PRI_NAT_SRC - 2 = 98): the only packets for a VIP:port it sees are
// those IPVS did not take, which the local stack would answer with a reset.
const guardPriority = 99

// TCP header flag bits (byte 13).
const (
	tcpSYN = 0x02
	tcpACK = 0x10
)

func guardTable() *nftables.Table {
	return &nftables.Table{Name: GuardTable, Family: nftables.TableFamilyINet}
}

// Guard makes the guard table hold one rule per service in services:
// drop a TCP SYN (or a UDP datagram) for the service's address and port
// that IPVS passed to the local stack. A scheduler change is an edit in
// which the kernel unbinds the old scheduler before it binds the new one,
// and a connection arriving in between gets no real server: the director
// itself answers it with a reset ("connection refused"). Dropped, the
// client retries its SYN a second later and reaches a real server.
// Guard with no services deletes the table (Unguard).
func (m *Manager) Guard(services []model.FwmarkRule) error {
	if len(services) == 0 {
		return m.Unguard()
	}
	t := guardTable()
	if _, err := m.conn.ListTableOfFamily(GuardTable, nftables.TableFamilyINet); err == nil {
		m.conn.DelTable(t)
	}
	t = m.conn.AddTable(t)
	prio := nftables.ChainPriority(guardPriority)
	c := m.conn.AddChain(&nftables.Chain{
		Name: GuardChain, Table: t, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookInput, Priority: &prio,
	})
	for _, s := range services {
		exprs, err := guardExprs(s)
		if err != nil {
			return err
		}
		m.conn.AddRule(&nftables.Rule{Table: t, Chain: c, Exprs: exprs})
	}
	if err := m.conn.Flush(); err != nil {
		return fmt.Errorf("nftables: program inet %s (%d rules): %w", GuardTable, len(services), err)
	}
	return nil
}

// Unguard deletes the guard table; a missing one is nothing to do.
func (m *Manager) Unguard() error {
	if _, err := m.conn.ListTableOfFamily(GuardTable, nftables.TableFamilyINet); isNotFound(err) {
		return nil
	}
	m.conn.DelTable(guardTable())
	if err := m.conn.Flush(); err != nil && !isNotFound(err) {
		return fmt.Errorf("nftables: delete table inet %s: %w", GuardTable, err)
	}
	return nil
}

// Guarded lists the guard table's rules (for tests and diagnosis): nil
// when it does not exist.
func (m *Manager) Guarded() (int, error) {
	t, err := m.conn.ListTableOfFamily(GuardTable, nftables.TableFamilyINet)
	if isNotFound(err) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	rules, err := m.conn.GetRules(t, &nftables.Chain{Name: GuardChain, Table: t})
	if err != nil {
		return 0, err
	}
	return len(rules), nil
}

// guardExprs is daddr, protocol and port as Encode matches them, then
// (TCP) the SYN flag without ACK, and drop.
func guardExprs(s model.FwmarkRule) ([]expr.Any, error) {
	if s.Protocol == "" || s.Port == 0 {
		return nil, fmt.Errorf("nftables: guard %v needs a protocol and a port", s)
	}
	exprs, err := Encode(s)
	if err != nil {
		return nil, err
	}
	// Encode ends with counter, immediate mark and meta mark set: keep the
	// matches and the counter.
	exprs = exprs[:len(exprs)-2]
	if s.Protocol == "tcp" {
		exprs = append(exprs,
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 13, Len: 1},
			&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 1, Mask: []byte{tcpSYN | tcpACK}, Xor: []byte{0}},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{tcpSYN}})
	}
	return append(exprs, &expr.Verdict{Kind: expr.VerdictDrop}), nil
}
