package provider

import (
	"context"
	"fmt"
	"io/fs"
	"reflect"
	"sync"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/lvsops/terraform-provider-lvs/internal/agentbin"
	"github.com/lvsops/terraform-provider-lvs/internal/cluster"
	"github.com/lvsops/terraform-provider-lvs/internal/fleet"
	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/internal/transport"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

// client is the ProviderData every resource and data source receives in
// Configure: the provider's SSH defaults, and the one transport pool, agent
// deployer and fleet that all of them share, so that a host costs one SSH
// connection, one agent upload per version, one observation per read walk
// and one coalesced apply per write walk (DESIGN.md principle 5).
type client struct {
	version string
	// defaults are the provider-level SSH settings (Host empty).
	defaults transport.Config
	// defaultsErr holds problems of the provider configuration, reported
	// when a resource needs a host (the render-only data sources need none).
	defaultsErr diag.Diagnostics

	pool   *transport.Pool
	agent  *agentbin.Deployer
	fleet  *fleet.Fleet
	logger tflogAdapter

	viewsOnce sync.Once
	views     *cluster.Views
}

// view is the indexed view of the host's observation (internal/cluster):
// one observation per host per run, one index per observation.
func (c *client) view(ctx context.Context, cfg transport.Config) (*cluster.View, error) {
	c.viewsOnce.Do(func() { c.views = cluster.NewViews(fleetObserver{c}) })
	return c.views.View(ctx, cfg)
}

// freshView is view of a new observation (waiting for the host to change).
func (c *client) freshView(ctx context.Context, cfg transport.Config) (*cluster.View, error) {
	c.viewsOnce.Do(func() { c.views = cluster.NewViews(fleetObserver{c}) })
	return c.views.Fresh(ctx, cfg)
}

// fleetObserver observes through the client's current fleet.
type fleetObserver struct{ c *client }

func (o fleetObserver) Observe(ctx context.Context, cfg transport.Config) (*wire.Observed, error) {
	return o.c.fleet.Observe(ctx, cfg)
}

func (o fleetObserver) ObserveFresh(ctx context.Context, cfg transport.Config) (*wire.Observed, error) {
	return o.c.fleet.ObserveFresh(ctx, cfg)
}

func (o fleetObserver) Latest(ctx context.Context, cfg transport.Config) (*wire.Observed, error) {
	return o.c.fleet.Latest(ctx, cfg)
}

func (o fleetObserver) Written(cfg transport.Config, key wire.Key) (*wire.Object, bool) {
	return o.c.fleet.Written(cfg, key)
}

// storedService is the service of key as the director cfg stores it (or
// runs it, built by hand), from what this run knows: its own writes and
// the director's latest observation (cluster.Views.StoredService), so that
// a real server's create looks its service up without an observe.
func (c *client) storedService(ctx context.Context, cfg transport.Config, key string) (*model.VirtualServer, error) {
	c.viewsOnce.Do(func() { c.views = cluster.NewViews(fleetObserver{c}) })
	return c.views.StoredService(ctx, cfg, key)
}

// storedInlineRealServers is the real servers stored inside the service of
// key on cfg's host, from what the run knows (see cluster.Views).
func (c *client) storedInlineRealServers(ctx context.Context, cfg transport.Config, key string) ([]model.RealServer, error) {
	c.viewsOnce.Do(func() { c.views = cluster.NewViews(fleetObserver{c}) })
	return c.views.StoredInlineRealServers(ctx, cfg, key)
}

// newClient builds the shared machinery. A previous client (an earlier
// Configure of the same provider instance, as in debug mode or in tests)
// lends its pool and deployer when the defaults are the same, so
// connections and the agent installed on each host are reused; the fleet
// is always new, so that no observation outlives one Terraform command.
func newClient(ctx context.Context, version string, bins fs.FS, defaults transport.Config, defaultsErr diag.Diagnostics, prev *client) (*client, error) {
	c := &client{version: version, defaults: defaults, defaultsErr: defaultsErr, logger: tflogAdapter{base: ctx}}
	if prev != nil && reflect.DeepEqual(prev.defaults, defaults) {
		c.pool, c.agent = prev.pool, prev.agent
	} else {
		if prev != nil {
			_ = prev.pool.Close()
		}
		if bins == nil {
			bins = agentbin.Embedded()
		}
		d, err := agentbin.New(agentVersion(version), bins)
		if err != nil {
			return nil, err
		}
		c.pool, c.agent = transport.NewPool(c.logger), d
	}
	c.fleet = fleet.New(fleet.PoolDialer{Pool: c.pool}, deployerCaller{c.agent}, fleet.Options{Logger: c.logger})
	return c, nil
}

// agentVersion is the version the agent is installed under on hosts: the
// provider's, made safe for a file name.
func agentVersion(v string) string {
	out := []byte(v)
	for i, ch := range out {
		ok := ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' ||
			(i > 0 && (ch == '.' || ch == '_' || ch == '+' || ch == '-'))
		if !ok {
			out[i] = '_'
		}
	}
	if len(out) == 0 || out[0] == '_' {
		return "v" + string(out)
	}
	return string(out)
}

// deployerCaller adapts the agent deployer to the fleet's Caller.
type deployerCaller struct{ d *agentbin.Deployer }

func (c deployerCaller) Call(ctx context.Context, r fleet.Runner, req *wire.Request) (*wire.Response, error) {
	return c.d.Call(ctx, r, req)
}

// tflogAdapter sends the debug events of transport and fleet to tflog.
// Events raised outside any request (a coalesced apply runs on its own)
// carry a context without Terraform's logger; they go to the logger of
// the Configure call instead.
type tflogAdapter struct{ base context.Context }

func (a tflogAdapter) Debug(ctx context.Context, msg string, fields map[string]any) {
	if ctx == nil || ctx == context.Background() || ctx == context.TODO() {
		ctx = a.base
	}
	if ctx == nil {
		return
	}
	tflog.Debug(ctx, msg, fields)
}

// clientFrom is the Configure step of every host-bound resource: it takes
// the provider's client, or reports a bug when the data is of another type.
// A nil client (ProviderData not set yet, during validation) is not an error.
func clientFrom(providerData any, diags *diag.Diagnostics) *client {
	if providerData == nil {
		return nil
	}
	c, ok := providerData.(*client)
	if !ok {
		diags.AddError("Unexpected Provider Data",
			fmt.Sprintf("Expected *provider.client, got %T. This is a bug in the provider; please report it.", providerData))
		return nil
	}
	return c
}

// logStats logs what the host has cost this command so far.
func (c *client) logStats(ctx context.Context, cfg transport.Config, resource string) {
	s := c.fleet.Stats(cfg)
	tflog.Debug(ctx, "host cost", map[string]any{
		"host": cfg.ID(), "resource": resource, "agent_calls": s.AgentCalls, "observes": s.Observes,
		"reads": s.Reads, "applies": s.Applies, "writes": s.Writes, "reloads": fmt.Sprint(s.Reloads),
	})
}
