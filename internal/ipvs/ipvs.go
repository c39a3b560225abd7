// Package ipvs drives the kernel's IPVS table through a small Client
// interface shaped after github.com/cloudflare/ipvs: the model's virtual
// and real servers convert to kernel services and destinations here, Plan
// computes the minimal list of netlink operations between a desired and an
// observed table, Apply runs them, and Observe reads the table back in the
// model's terms with live counters.
//
// Plan never flushes: it creates, updates and removes exactly what
// differs, and it never touches a service its caller does not own. Apply
// undoes what it did when a request fails.
//
// Health checks, sorry servers and virtual_server_groups are keepalived's:
// a service keepalived owns is never planned here, only observed.
package ipvs

import (
	"errors"

	"github.com/cloudflare/ipvs"
)

// Client is the part of the kernel's IPVS interface the agent uses. Open
// returns the real one (netlink); ipvstest.Fake records calls in memory.
type Client interface {
	Info() (ipvs.Info, error)
	Services() ([]ipvs.ServiceExtended, error)
	CreateService(ipvs.Service) error
	UpdateService(ipvs.Service) error
	RemoveService(ipvs.Service) error
	Destinations(ipvs.Service) ([]ipvs.DestinationExtended, error)
	CreateDestination(ipvs.Service, ipvs.Destination) error
	UpdateDestination(ipvs.Service, ipvs.Destination) error
	RemoveDestination(ipvs.Service, ipvs.Destination) error
	// Close releases the netlink socket.
	Close() error
}

// ErrNoIPVS says the host's kernel cannot do IPVS: the ip_vs module is
// neither loaded nor loadable, or the OS is not Linux. The agent maps it
// to wire.ExitUnsupported.
var ErrNoIPVS = errors.New("the kernel has no IPVS (ip_vs module not loaded or not built)")

// ErrForeign says a desired service already exists in the kernel but was
// not written by us; it must be imported before it is managed. The agent
// maps it to wire.ExitForeign.
var ErrForeign = errors.New("IPVS service exists and is not ours; import it first")
