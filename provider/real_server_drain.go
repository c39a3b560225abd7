package provider

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/lvsops/terraform-provider-lvs/internal/cluster"
	"github.com/lvsops/terraform-provider-lvs/internal/transport"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

// drain sets the server's weight to 0 on every director, then waits until
// no director counts an active connection to it, or the drain timeout.
func (r *realServerResource) drain(ctx context.Context, data *realServerResourceModel, rid cluster.RealServerID, cfgs []transport.Config, diags *diag.Diagnostics) {
	timeout := defaultDrainTimeout
	if s := data.DrainTimeout.ValueString(); s != "" {
		if d, err := time.ParseDuration(s); err == nil {
			timeout = d
		}
	}
	poll := r.drainPoll
	if poll == 0 {
		poll = 2 * time.Second
	}
	rs := data.toModel()
	zero := 0
	rs.Weight = &zero
	obj := wire.Object{Key: rid.ObjectKey(), RealServer: &rs}
	var mu sync.Mutex
	for _, e := range eachHost(cfgs, func(cfg transport.Config) error {
		resp, err := r.client.fleet.Apply(ctx, cfg, []wire.Object{obj}, nil)
		mu.Lock()
		addHostWarnings(ctx, diags, "Real Server Drained With Warnings", "Real Server "+rid.ObjectID(), cfg.ID(), resp)
		mu.Unlock()
		return err
	}) {
		addHostError(diags, "Drain", "Real Server "+rid.ObjectID(), e.host, e.err)
	}
	if diags.HasError() {
		return
	}
	start := time.Now()
	deadline := start.Add(timeout)
	for {
		active := 0
		for _, cfg := range cfgs {
			view, err := r.client.freshView(ctx, cfg)
			if err != nil {
				addHostError(diags, "Drain", "Real Server "+rid.ObjectID(), cfg.Host, err)
				return
			}
			active += view.ActiveConns(rid)
		}
		tflog.Info(ctx, "draining real server", map[string]any{"object": rid.ObjectID(), "active_conns": active,
			"waited_s": int(time.Since(start).Seconds())})
		if active == 0 {
			return
		}
		if time.Now().After(deadline) {
			tflog.Warn(ctx, "drain timeout passed; removing the real server with connections left",
				map[string]any{"object": rid.ObjectID(), "active_conns": active, "timeout": timeout.String()})
			return
		}
		select {
		case <-ctx.Done():
			diags.AddError("Drain Interrupted", fmt.Sprintf("Draining real server %s was interrupted with %d active connections left: %s", rid.ObjectID(), active, ctx.Err()))
			return
		case <-time.After(poll):
		}
	}
}
