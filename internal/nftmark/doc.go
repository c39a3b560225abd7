// Package nftmark programs the firewall marks of fwmark services in an
// nftables table of the agent's own, over netlink (github.com/google/nftables:
// hosts need no nft binary), and reads them back.
//
// The table is `inet lvs_agent` with one base chain, `prerouting` (type
// filter, hook prerouting, priority mangle, as iptables' mangle PREROUTING).
// Each model.FwmarkRule is one rule of the shape
//
//	meta nfproto ipv4 ip daddr 10.0.0.10/32 meta l4proto tcp th dport 80 counter meta mark set 7
//
// and List decodes exactly that shape back; a rule of any other shape (one
// changed or added by hand) is counted as Foreign. Replace swaps the
// chain's rules in one netlink batch, which the kernel applies atomically.
// Nothing outside the table is touched; Replace with no rules deletes it.
package nftmark

import (
	"errors"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
)

// Names of what the package owns.
const (
	Table = "lvs_agent"
	Chain = "prerouting"
	// GuardTable holds, only while an apply changes a service's
	// scheduler, the rules that drop connections IPVS passes to the local
	// stack in the kernel's edit window (Manager.Guard).
	GuardTable = "lvs_agent_guard"
	GuardChain = "input"
)

// ErrUnsupported is returned where the platform has no nftables.
var ErrUnsupported = errors.New("nftables needs Linux")

// State is the table as read back.
type State struct {
	// Present is true when the table and its chain exist.
	Present bool
	// Rules are the rules of the agent's shape, in chain order, with the
	// packets each matched.
	Rules []Rule
	// Foreign counts the rules of the chain that are not of that shape.
	Foreign int
}

// Rule is a model.FwmarkRule with its packet counter.
type Rule struct {
	model.FwmarkRule
	Packets uint64
}
