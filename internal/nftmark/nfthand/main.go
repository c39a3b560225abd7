//go:build linux

// Command nfthand changes the agent's nftables table by hand, as an
// operator with nft would, for the VM tests (the VMs have no nft binary):
//
//	nfthand list              the chain's rules, one per line, with packet counts
//	nfthand delete-port PORT  delete the rules that match destination port PORT
//	nfthand delete-table      delete the whole table
package main

import (
	"fmt"
	"os"
	"strconv"

	"github.com/google/nftables"

	"github.com/lvsops/terraform-provider-lvs/internal/nftmark"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "nfthand:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: nfthand list | delete-port PORT | delete-table")
	}
	c, err := nftables.New()
	if err != nil {
		return err
	}
	t := &nftables.Table{Name: nftmark.Table, Family: nftables.TableFamilyINet}
	switch args[0] {
	case "list":
		m, err := nftmark.Open()
		if err != nil {
			return err
		}
		st, err := m.List()
		if err != nil {
			return err
		}
		if !st.Present {
			fmt.Println("no table")
			return nil
		}
		for _, r := range st.Rules {
			fmt.Printf("%s packets %d\n", r.FwmarkRule, r.Packets)
		}
		if st.Foreign > 0 {
			fmt.Printf("foreign %d\n", st.Foreign)
		}
		return nil
	case "delete-port":
		if len(args) != 2 {
			return fmt.Errorf("delete-port needs a port")
		}
		port, err := strconv.Atoi(args[1])
		if err != nil {
			return err
		}
		rules, err := c.GetRules(t, &nftables.Chain{Name: nftmark.Chain, Table: t})
		if err != nil {
			return err
		}
		n := 0
		for _, r := range rules {
			if d, ok := nftmark.Decode(r.Exprs); ok && d.Port == port {
				if err := c.DelRule(r); err != nil {
					return err
				}
				n++
			}
		}
		if n == 0 {
			return fmt.Errorf("no rule matches port %d", port)
		}
		return c.Flush()
	case "delete-table":
		c.DelTable(t)
		return c.Flush()
	}
	return fmt.Errorf("unknown command %q", args[0])
}
