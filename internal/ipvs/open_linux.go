package ipvs

import (
	"errors"
	"fmt"
	"os"

	"github.com/cloudflare/ipvs"
)

// Open connects to the kernel's IPVS over generic netlink. Asking for the
// IPVS family makes the kernel load ip_vs when it can; when the family
// still does not exist the error wraps ErrNoIPVS.
func Open() (Client, error) {
	c, err := ipvs.New()
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("ipvs: opening netlink: %w", ErrNoIPVS)
	case err != nil:
		return nil, fmt.Errorf("ipvs: opening netlink: %w", err)
	}
	closer, ok := c.(interface{ Close() error })
	if !ok {
		return nil, errors.New("ipvs: the netlink client cannot be closed")
	}
	return netlinkClient{Client: c, close: closer.Close}, nil
}

// netlinkClient adds Close to cloudflare/ipvs's client, whose interface
// lacks it.
type netlinkClient struct {
	ipvs.Client
	close func() error
}

func (c netlinkClient) Close() error { return c.close() }
