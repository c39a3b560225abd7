// Package fleet coordinates every agent call one provider process makes, so
// that cost grows with hosts, not with resources (DESIGN.md principle 5):
//
//   - one observation of a host serves every read until something writes
//     to that host (concurrent readers share one agent call);
//   - writes to one host that arrive together — Terraform creates
//     independent resources in parallel — are coalesced into one apply,
//     so the agent rebuilds the host's files and reloads each daemon at
//     most once for all of them;
//   - the SSH connection per host is the transport pool's.
//
// Per-host counters (agent calls, applies, reloads) are logged at debug
// level after every call, so a run's cost per host can be read off the log.
package fleet

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/lvsops/terraform-provider-lvs/internal/transport"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

// Runner runs commands on one host; *transport.Host is one.
type Runner interface {
	Run(ctx context.Context, cmd transport.Command) (*transport.Result, error)
	String() string
}

// Caller runs one agent request on a host; *agentbin.Deployer is one.
type Caller interface {
	Call(ctx context.Context, r Runner, req *wire.Request) (*wire.Response, error)
}

// Dialer hands out the shared runner of a host; *transport.Pool adapted by
// PoolDialer is one.
type Dialer interface {
	Host(cfg transport.Config) (Runner, error)
}

// PoolDialer adapts a transport pool to Dialer.
type PoolDialer struct{ Pool *transport.Pool }

// Host returns the pool's shared connection for cfg.
func (d PoolDialer) Host(cfg transport.Config) (Runner, error) { return d.Pool.Host(cfg) }

// Logger receives debug events; the provider adapts it to tflog.
type Logger = transport.Logger

// Options tune a Fleet. Zero values take the defaults.
type Options struct {
	// Window is how long a write waits for others to the same host before
	// the batch is sent. Default 150ms: Terraform starts independent
	// resources within a few milliseconds of each other.
	Window time.Duration
	// MaxAge bounds how long an observation is reused without a write;
	// default 30s. A plan is one walk; a long-lived process (debug mode)
	// must still see hand changes.
	MaxAge time.Duration
	Logger Logger
	// Now is the clock; tests replace it.
	Now func() time.Time
}

// Fleet is shared by every resource of one provider process.
type Fleet struct {
	dial  Dialer
	agent Caller
	opts  Options
	mu    sync.Mutex
	hosts map[string]*host
}

// New returns a Fleet over dial and agent.
func New(dial Dialer, agent Caller, opts Options) *Fleet {
	if opts.Window == 0 {
		opts.Window = 150 * time.Millisecond
	}
	if opts.MaxAge == 0 {
		opts.MaxAge = 30 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = nopLogger{}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Fleet{dial: dial, agent: agent, opts: opts, hosts: map[string]*host{}}
}

type nopLogger struct{}

func (nopLogger) Debug(context.Context, string, map[string]any) {}

// Stats counts what one host cost this process.
type Stats struct {
	AgentCalls int            // every agent process started
	Observes   int            // observations made (each served many reads)
	Reads      int            // reads answered
	Applies    int            // applies sent
	Writes     int            // writes requested (puts + deletes, before coalescing)
	Reloads    map[string]int // daemon -> reloads the agent reported
}

// host is the coordinator of one user@host:port.
type host struct {
	id  string
	cfg transport.Config

	mu sync.Mutex
	// observation cache and the call in flight that fills it
	obs      *wire.Observed
	obsAt    time.Time
	obsCall  *call
	gen      int // bumped by every write; an observation older than a write is stale
	pending  *batch
	applying bool
	stats    Stats
}

type call struct {
	done chan struct{}
	obs  *wire.Observed
	err  error
}

// batch is the writes waiting to be sent together.
type batch struct {
	put   []wire.Object
	del   []wire.Key
	adopt []wire.Key
	done  chan struct{}
	resp  *wire.Response
	err   error
}

func (f *Fleet) host(cfg transport.Config) *host {
	id := cfg.ID()
	f.mu.Lock()
	defer f.mu.Unlock()
	h, ok := f.hosts[id]
	if !ok {
		h = &host{id: id, cfg: cfg, stats: Stats{Reloads: map[string]int{}}}
		f.hosts[id] = h
	}
	return h
}

// Stats returns a copy of the counters of the host cfg names.
func (f *Fleet) Stats(cfg transport.Config) Stats {
	h := f.host(cfg)
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.stats
	s.Reloads = make(map[string]int, len(h.stats.Reloads))
	for k, v := range h.stats.Reloads {
		s.Reloads[k] = v
	}
	return s
}

// Observe returns what the host really runs. Concurrent callers share one
// agent call; the result is reused until a write to the host or MaxAge.
func (f *Fleet) Observe(ctx context.Context, cfg transport.Config) (*wire.Observed, error) {
	h := f.host(cfg)
	h.mu.Lock()
	h.stats.Reads++
	if h.obs != nil && f.opts.Now().Sub(h.obsAt) < f.opts.MaxAge {
		obs := h.obs
		h.mu.Unlock()
		return obs, nil
	}
	if c := h.obsCall; c != nil {
		h.mu.Unlock()
		return c.wait(ctx)
	}
	c := &call{done: make(chan struct{})}
	h.obsCall = c
	gen := h.gen
	h.mu.Unlock()

	resp, err := f.send(ctx, h, &wire.Request{Verb: wire.VerbObserve})
	if err == nil && (resp == nil || resp.Observed == nil) {
		err = fmt.Errorf("%s: observe: the agent returned no observation", h.id)
	}
	// A section the agent could not read is unknown: every read of the
	// host fails with it rather than take what it lacks as removed.
	if err == nil {
		if oerr := resp.Observed.Err(); oerr != nil {
			err = fmt.Errorf("%s: %w", h.id, oerr)
		}
	}
	h.mu.Lock()
	h.stats.Observes++
	c.err = err
	if err == nil {
		c.obs = resp.Observed
		if h.gen == gen { // no write happened meanwhile: the observation is current
			h.obs, h.obsAt = c.obs, f.opts.Now()
		}
	}
	h.obsCall = nil
	h.mu.Unlock()
	close(c.done)
	return c.obs, c.err
}

// ObserveFresh is Observe without reuse of an earlier observation, for a
// caller that waits for the host to change on its own (connections
// draining); concurrent callers still share one agent call.
func (f *Fleet) ObserveFresh(ctx context.Context, cfg transport.Config) (*wire.Observed, error) {
	h := f.host(cfg)
	h.mu.Lock()
	h.obs = nil
	h.mu.Unlock()
	return f.Observe(ctx, cfg)
}

func (c *call) wait(ctx context.Context) (*wire.Observed, error) {
	select {
	case <-c.done:
		return c.obs, c.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Apply puts and deletes objects on the host. Writes arriving within the
// window are sent as one agent apply; every caller receives that apply's
// response (or error). The host's observation is replaced by the one the
// apply returns.
func (f *Fleet) Apply(ctx context.Context, cfg transport.Config, put []wire.Object, del []wire.Key) (*wire.Response, error) {
	return f.ApplyAdopting(ctx, cfg, put, del, nil)
}

// ApplyAdopting is Apply for objects the user imported: the agent may take
// over what already exists for the adopt keys (wire.Request.Adopt) instead
// of refusing it as foreign. Adoptions join the batch like the objects.
func (f *Fleet) ApplyAdopting(ctx context.Context, cfg transport.Config, put []wire.Object, del, adopt []wire.Key) (*wire.Response, error) {
	h := f.host(cfg)
	h.mu.Lock()
	h.gen++
	h.obs = nil
	h.stats.Writes += len(put) + len(del)
	b := h.pending
	if b == nil {
		b = &batch{done: make(chan struct{})}
		h.pending = b
		if !h.applying {
			go f.flushAfter(h, f.opts.Window)
		}
	}
	b.put = append(b.put, put...)
	b.del = append(b.del, del...)
	b.adopt = append(b.adopt, adopt...)
	h.mu.Unlock()

	select {
	case <-b.done:
		return b.resp, b.err
	case <-ctx.Done():
		// The batch still runs for the others; this caller stops waiting.
		return nil, ctx.Err()
	}
}

// flushAfter sends the host's pending batch after the window, then any
// batch that gathered while it was in flight, one at a time.
func (f *Fleet) flushAfter(h *host, window time.Duration) {
	time.Sleep(window)
	for {
		h.mu.Lock()
		b := h.pending
		if b == nil {
			h.applying = false
			h.mu.Unlock()
			return
		}
		h.pending = nil
		h.applying = true
		h.mu.Unlock()

		// The batch outlives any one caller's context: it is cancelled only
		// by the command timeout of the transport.
		ctx := context.Background()
		b.resp, b.err = f.send(ctx, h, &wire.Request{Verb: wire.VerbApply, Put: b.put, Delete: b.del, Adopt: b.adopt})

		h.mu.Lock()
		h.stats.Applies++
		if b.resp != nil && b.resp.Applied != nil {
			for d, n := range b.resp.Applied.Reloads {
				h.stats.Reloads[d] += n
			}
		}
		// An observation with a section that failed is not kept: the next
		// read observes again, and fails if the section still does.
		if b.err == nil && b.resp != nil && b.resp.Observed != nil && b.resp.Observed.Err() == nil && h.pending == nil {
			h.obs, h.obsAt = b.resp.Observed, f.opts.Now()
		}
		stats := h.stats
		h.mu.Unlock()
		f.opts.Logger.Debug(ctx, "agent apply", map[string]any{
			"host": h.id, "objects": len(b.put) + len(b.del), "applies": stats.Applies,
			"agent_calls": stats.AgentCalls, "reloads": fmt.Sprint(stats.Reloads),
		})
		close(b.done)
	}
}

// send runs one agent request and counts it.
func (f *Fleet) send(ctx context.Context, h *host, req *wire.Request) (*wire.Response, error) {
	r, err := f.dial.Host(h.cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: connecting: %w", h.id, req.Verb, err)
	}
	start := f.opts.Now()
	resp, err := f.agent.Call(ctx, r, req)
	h.mu.Lock()
	h.stats.AgentCalls++
	n := h.stats.AgentCalls
	h.mu.Unlock()
	f.opts.Logger.Debug(ctx, "agent call", map[string]any{
		"host": h.id, "verb": string(req.Verb), "agent_calls": n,
		"duration_ms": f.opts.Now().Sub(start).Milliseconds(),
	})
	return resp, err
}
