package provider

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/lvsops/terraform-provider-lvs/internal/cluster"
	"github.com/lvsops/terraform-provider-lvs/internal/fleet"
	"github.com/lvsops/terraform-provider-lvs/internal/transport"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

// drain sets the server's weight to 0 on every director, then waits until
// no director counts an active connection to it, or the drain timeout.
func (r *realServerResource) drain(ctx context.Context, data *realServerResourceModel, rid cluster.RealServerID, cfgs []transport.Config, diags *diag.Diagnostics) {
	rs := data.toModel()
	zero := 0
	rs.Weight = &zero
	obj := wire.Object{Key: rid.ObjectKey(), RealServer: &rs}
	drainRealServers(ctx, r.client, r.drainPoll, drainTimeoutOf(data.DrainTimeout), []wire.Object{obj},
		[]cluster.RealServerID{rid}, cfgs, diags)
}

// drainTimeoutOf is the drain_timeout attribute's duration, or the default.
func drainTimeoutOf(s types.String) time.Duration {
	if d, err := time.ParseDuration(s.ValueString()); err == nil && s.ValueString() != "" {
		return d
	}
	return defaultDrainTimeout
}

// drainRealServers puts objs (what sets the servers' weights to 0: their
// own objects, or their service with them inline at weight 0) on every
// director, then waits until no director counts an active connection to
// any of rids, or timeout passes. poll 0 means every 2 s.
func drainRealServers(ctx context.Context, c *client, poll, timeout time.Duration, objs []wire.Object, rids []cluster.RealServerID, cfgs []transport.Config, diags *diag.Diagnostics) {
	if poll == 0 {
		poll = 2 * time.Second
	}
	names := make([]string, len(rids))
	for i, rid := range rids {
		names[i] = rid.ObjectID()
	}
	what := "Real Server " + strings.Join(names, ", ")
	var mu sync.Mutex
	for _, e := range eachHost(cfgs, func(cfg transport.Config) error {
		resp, err := c.fleet.Apply(ctx, cfg, objs, nil)
		mu.Lock()
		addHostWarnings(ctx, diags, "Real Server Drained With Warnings", what, cfg.ID(), resp)
		mu.Unlock()
		return err
	}) {
		addHostError(diags, "Drain", what, e.host, e.err)
	}
	if diags.HasError() {
		return
	}
	start := time.Now()
	deadline := start.Add(timeout)
	for {
		active := 0
		for _, cfg := range cfgs {
			view, err := c.freshView(ctx, cfg)
			if err != nil {
				addHostError(diags, "Drain", what, cfg.Host, err)
				return
			}
			for _, rid := range rids {
				active += view.ActiveConns(rid)
			}
		}
		tflog.Info(ctx, "draining real servers", map[string]any{"object": names, "active_conns": active,
			"waited_s": int(time.Since(start).Seconds())})
		if active == 0 {
			return
		}
		if time.Now().After(deadline) {
			tflog.Warn(ctx, "drain timeout passed; removing the real servers with connections left",
				map[string]any{"object": names, "active_conns": active, "timeout": timeout.String()})
			return
		}
		select {
		case <-ctx.Done():
			// The delete's timeout (or a cancel): the servers stay at
			// weight 0 on every director, and in the state.
			hosts := make([]string, len(cfgs))
			for i, cfg := range cfgs {
				hosts[i] = cfg.ID()
			}
			addHostError(diags, "Drain", what, strings.Join(hosts, ", "), &fleet.Error{
				Host: strings.Join(hosts, ", "), Step: fmt.Sprintf("drain: wait for %d active connections to end", active),
				Err: context.Cause(ctx)})
			return
		case <-time.After(poll):
		}
	}
}
