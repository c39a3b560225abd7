package agent

import (
	"errors"
	"os"
	"path/filepath"
	"slices"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/internal/nftmark"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

// Marks is the agent's nftables table of firewall marks; *nftmark.Manager
// implements it (see there for the table's shape).
type Marks interface {
	List() (nftmark.State, error)
	// Replace makes the table hold exactly rules (none: no table) and
	// reports whether it changed anything.
	Replace(rules []model.FwmarkRule) (bool, error)
	Close() error
}

// fwmarksFile records that the agent programmed the table, so that it
// removes it when the last mark goes, and reads it back (to show its
// removal or a hand edit as drift) only on hosts it put it on.
const fwmarksFile = StateDir + "/fwmarks.json"

// fwmarkRules are the mark rules of every fwmark service of the director,
// whatever its engine (keepalived programs the IPVS fwmark service; the
// marks are always the agent's), sorted.
func fwmarkRules(cfg *model.KeepalivedConfig) []model.FwmarkRule {
	if cfg == nil {
		return nil
	}
	var out []model.FwmarkRule
	for i := range cfg.VirtualServers {
		out = append(out, cfg.VirtualServers[i].FwmarkRules()...)
	}
	slices.SortFunc(out, model.CompareFwmarkRules)
	return out
}

func (a *Agent) fwmarksProgrammed() (bool, error) {
	_, err := os.Stat(a.path(fwmarksFile))
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

// applyFwmarks makes the agent's nftables table hold exactly the host's
// mark rules: restored when removed or changed by hand, deleted with the
// last fwmark service that had a match. Undo puts back the rules the
// table held before.
func (a *Agent) applyFwmarks(hc *hostConfig, tx *txn, rep *wire.ApplyReport) *wire.Error {
	const step = "program firewall marks"
	fail := func(err error) *wire.Error {
		return &wire.Error{Code: wire.ExitFailed, Step: step, Object: "nftables table inet " + nftmark.Table, Message: err.Error()}
	}
	had, err := a.fwmarksProgrammed()
	if err != nil {
		return fail(err)
	}
	want := hc.fwmarks
	if len(want) == 0 && !had {
		return nil
	}
	if a.Marks == nil {
		return fail(errors.New("this agent cannot program nftables"))
	}
	m, err := a.Marks()
	if err != nil {
		return fail(err)
	}
	defer m.Close()
	before, err := m.List()
	if err != nil {
		return fail(err)
	}
	if len(want) > 0 && !had {
		if err := os.MkdirAll(filepath.Dir(a.path(fwmarksFile)), secretDirMode); err != nil {
			return fail(err)
		}
		if err := writeAtomic(a.path(fwmarksFile), []byte("{\"table\": \"inet "+nftmark.Table+"\"}\n"), secretFileMode); err != nil {
			return fail(err)
		}
		tx.add(func() error { return removeDurably(a.path(fwmarksFile)) })
	}
	changed, err := m.Replace(want)
	if err != nil {
		return fail(err)
	}
	if changed {
		rep.Netlink++
		prev := make([]model.FwmarkRule, len(before.Rules))
		for i, r := range before.Rules {
			prev[i] = r.FwmarkRule
		}
		tx.add(func() error {
			m, err := a.Marks()
			if err != nil {
				return err
			}
			defer m.Close()
			_, err = m.Replace(prev)
			return err
		})
	}
	if len(want) == 0 {
		if err := removeDurably(a.path(fwmarksFile)); err != nil {
			return fail(err)
		}
		if had {
			tx.add(func() error {
				return writeAtomic(a.path(fwmarksFile), []byte("{\"table\": \"inet "+nftmark.Table+"\"}\n"), secretFileMode)
			})
		}
	}
	return nil
}

// observeFwmarks reads the table back on a host whose objects mark
// packets, or where the agent programmed marks before; nil elsewhere.
func (a *Agent) observeFwmarks(hc *hostConfig) (*wire.FwmarkTable, error) {
	had, err := a.fwmarksProgrammed()
	if err != nil {
		return nil, err
	}
	if len(hc.fwmarks) == 0 && !had {
		return nil, nil
	}
	if a.Marks == nil {
		return nil, errors.New("this agent cannot read nftables")
	}
	m, err := a.Marks()
	if err != nil {
		return nil, err
	}
	defer m.Close()
	st, err := m.List()
	if err != nil {
		return nil, err
	}
	out := &wire.FwmarkTable{Present: st.Present, Foreign: st.Foreign}
	for _, r := range st.Rules {
		out.Rules = append(out.Rules, wire.FwmarkRuleState{FwmarkRule: r.FwmarkRule, Packets: r.Packets})
	}
	return out, nil
}
