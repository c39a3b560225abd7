// Command ipvsprobe opens the kernel's IPVS generic-netlink family with
// github.com/cloudflare/ipvs and prints the IPVS version and every service
// and destination, one per line:
//
//	version 1.2.1
//	service TCP 10.0.0.1:80 rr
//	dest 10.0.0.2:80 DirectRoute weight=3
//
// The VM tests build it statically (CGO_ENABLED=0) and run it in the VM.
package main

import (
	"fmt"
	"net/netip"
	"os"

	"github.com/cloudflare/ipvs"
)

func main() {
	if err := probe(); err != nil {
		fmt.Fprintln(os.Stderr, "ipvsprobe:", err)
		os.Exit(1)
	}
}

func probe() error {
	c, err := ipvs.New()
	if err != nil {
		return fmt.Errorf("open IPVS netlink family: %w", err)
	}
	info, err := c.Info()
	if err != nil {
		return fmt.Errorf("read IPVS info: %w", err)
	}
	fmt.Printf("version %d.%d.%d\n", info.Version[0], info.Version[1], info.Version[2])
	services, err := c.Services()
	if err != nil {
		return fmt.Errorf("list services: %w", err)
	}
	for _, s := range services {
		fmt.Printf("service %v %v %s\n", s.Protocol, netip.AddrPortFrom(s.Address, s.Port), s.Scheduler)
		dests, err := c.Destinations(s.Service)
		if err != nil {
			return fmt.Errorf("list destinations of %v: %w", s.Address, err)
		}
		for _, d := range dests {
			fmt.Printf("dest %v %v weight=%d\n", netip.AddrPortFrom(d.Address, d.Port), d.FwdMethod, d.Weight)
		}
	}
	return nil
}
