// Package fleet coordinates every agent call one provider process makes, so
// that cost grows with hosts, not with resources (DESIGN.md principle 5):
//
//   - one observation of a host serves every read until something writes
//     to that host (concurrent readers share one agent call); a read after
//     a write is served by the observation that write's apply returns, not
//     by an observe of its own;
//   - writes to one host are group-committed: while an apply to the host
//     runs, new writes queue, and when it returns everything queued goes
//     as the next apply, so the agent rebuilds the host's files and
//     reloads each daemon once per batch, however many resources
//     Terraform runs in parallel;
//   - what the host stores for a key is answered from this process's own
//     writes and the latest observation (Stored), never with an observe
//     per resource;
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
	// Window is how long a host must have been quiet — no write joined
	// its next batch, no apply returned — before that batch is sent;
	// default 50ms. It is not a wait per write: it lets the writers an
	// apply just released (Terraform starts the next resources the moment
	// the last ones finish) join the batch that follows instead of each
	// starting one of their own. A steady stream of writes is bounded by
	// MaxWait.
	Window time.Duration
	// MaxWait bounds how long a batch gathers, from its first write or
	// the return of the apply it queued behind, before it is sent whatever
	// still arrives; default 1s. Within it a batch waits for as many
	// writers as the last batch to the host had.
	MaxWait time.Duration
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
		opts.Window = 50 * time.Millisecond
	}
	if opts.MaxWait == 0 {
		opts.MaxWait = time.Second
	}
	if opts.MaxWait < opts.Window {
		opts.MaxWait = opts.Window
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
	// Batches are the sizes (writes) of the applies sent, in order.
	Batches []int
}

// host is the coordinator of one user@host:port.
//
// Writes are numbered (gen). The observation cached is the latest one
// made, with the number of the last write it reflects (obsGen): a read
// made when no later write was requested takes it; a read made after a
// write waits for the apply carrying that write and takes the observation
// the apply returns.
type host struct {
	id  string
	cfg transport.Config

	mu     sync.Mutex
	obs    *wire.Observed
	obsAt  time.Time
	obsGen int
	// obsCall is the observe in flight, for readers to share.
	obsCall *call
	gen     int // writes requested so far
	// pending gathers the writes of the next apply; sending is the batch
	// being applied. At most one apply per host runs at a time.
	pending, sending *batch
	// flushing is set while a goroutine gathers and sends this host's
	// batches.
	flushing bool
	// lastEvent is when a write joined pending or an apply returned: the
	// quiet window counts from it. freeAt is when the last apply returned.
	lastEvent, freeAt time.Time
	// expect is how many writers the last batch sent had: the next one
	// waits for as many (see flush).
	expect int
	// joined wakes flush when a write joins the pending batch.
	joined chan struct{}
	// written is this process's latest write of each key: the object put,
	// or nil for a delete, with the write's number.
	written map[wire.Key]writtenObject
	stats   Stats
}

type writtenObject struct {
	obj *wire.Object
	gen int
}

type call struct {
	done chan struct{}
	// sh ends the observe when every reader waiting for it gave up.
	sh *shared
	// gen is the last write the observation reflects: those requested
	// before the observe started.
	gen int
	obs *wire.Observed
	err error
}

// batch is the writes sent together as one apply.
type batch struct {
	put   []wire.Object
	del   []wire.Key
	adopt []wire.Key
	// writers share out put and del by Apply call (wire.Request.Writers),
	// and gens are their write numbers, index for index.
	writers []wire.Writer
	gens    []int
	// first and last are the numbers of its first and last write;
	// callers counts the Apply calls that joined it.
	first, last, callers int
	started              time.Time
	done                 chan struct{}
	resp                 *wire.Response
	err                  error
	// sent is set (under the host's lock) once the apply is on its way.
	sent bool
	// sh ends the apply (or keeps it from being sent) when every writer
	// that joined the batch gave up; its deadline bounds the agent's wait
	// for the host lock.
	sh *shared
}

func (f *Fleet) host(cfg transport.Config) *host {
	id := cfg.ID()
	f.mu.Lock()
	defer f.mu.Unlock()
	h, ok := f.hosts[id]
	if !ok {
		h = &host{id: id, cfg: cfg, stats: Stats{Reloads: map[string]int{}}, written: map[wire.Key]writtenObject{}, joined: make(chan struct{}, 1)}
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
	s.Batches = append([]int(nil), h.stats.Batches...)
	return s
}

// AllStats returns a copy of the counters of every host, by host id
// (user@host:port).
func (f *Fleet) AllStats() map[string]Stats {
	f.mu.Lock()
	hosts := make([]*host, 0, len(f.hosts))
	for _, h := range f.hosts {
		hosts = append(hosts, h)
	}
	f.mu.Unlock()
	out := make(map[string]Stats, len(hosts))
	for _, h := range hosts {
		out[h.id] = f.Stats(h.cfg)
	}
	return out
}

// Observe returns what the host really runs, as of this call: every write
// to the host requested before it is reflected. Concurrent callers share
// one agent call; a read after a write takes the observation the write's
// apply returned; the result is reused until the next write or MaxAge.
func (f *Fleet) Observe(ctx context.Context, cfg transport.Config) (*wire.Observed, error) {
	h := f.host(cfg)
	h.mu.Lock()
	h.stats.Reads++
	h.mu.Unlock()
	return f.observe(ctx, h, false)
}

// ObserveFresh is Observe without reuse of an observation made before the
// call, for a caller that waits for the host to change on its own
// (connections draining); concurrent callers still share one agent call.
func (f *Fleet) ObserveFresh(ctx context.Context, cfg transport.Config) (*wire.Observed, error) {
	h := f.host(cfg)
	h.mu.Lock()
	h.stats.Reads++
	h.mu.Unlock()
	return f.observe(ctx, h, true)
}

func (f *Fleet) observe(ctx context.Context, h *host, fresh bool) (*wire.Observed, error) {
	h.mu.Lock()
	want := h.gen // the writes this read must see
	if fresh {
		h.obs = nil
	}
	if h.obs != nil && h.obsGen >= want && f.opts.Now().Sub(h.obsAt) < f.opts.MaxAge {
		obs := h.obs
		h.mu.Unlock()
		return obs, nil
	}
	// A write is on its way: its apply returns the observation this read
	// needs. Wait for it rather than observe behind it (the agent's host
	// lock would make an observe wait for the apply anyway, and the
	// observation would be stale when the batch lands).
	if b := h.batchOf(want); b != nil {
		h.mu.Unlock()
		select {
		case <-b.done:
		case <-ctx.Done():
			return nil, &Error{Host: h.id, Step: StepApply, Err: context.Cause(ctx)}
		}
		h.mu.Lock()
		if b.err == nil && b.resp != nil && b.resp.Observed != nil && b.resp.Observed.Err() == nil {
			obs := b.resp.Observed
			h.mu.Unlock()
			return obs, nil
		}
		// The apply failed or its observation lacks a section: observe
		// on our own, to report what the host runs (or why it cannot).
	}
	if c := h.obsCall; c != nil && c.gen >= want && !c.sh.done() {
		stop := c.sh.join(ctx)
		h.mu.Unlock()
		return c.wait(ctx, h.id, stop)
	}
	c := &call{done: make(chan struct{}), gen: h.gen, sh: newShared(ctx)}
	h.obsCall = c
	stop := c.sh.join(ctx)
	h.mu.Unlock()
	// The observe runs for every reader that joins it: it ends when the
	// last of them gives up, not with the first one's context.
	go f.observeFor(h, c)
	return c.wait(ctx, h.id, stop)
}

// observeFor makes the observation c, for as long as a reader waits for it.
func (f *Fleet) observeFor(h *host, c *call) {
	resp, err := f.send(c.sh.ctx, h, &wire.Request{Verb: wire.VerbObserve})
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
		h.keep(c.obs, c.gen, f.opts.Now())
	}
	if h.obsCall == c {
		h.obsCall = nil
	}
	h.mu.Unlock()
	close(c.done)
	c.sh.cancel(nil)
}

// batchOf is the batch carrying write number gen when its apply has not
// returned yet, or nil. The caller holds h.mu.
func (h *host) batchOf(gen int) *batch {
	for _, b := range []*batch{h.sending, h.pending} {
		if b != nil && b.first <= gen && gen <= b.last {
			return b
		}
	}
	return nil
}

// keep caches obs as reflecting the writes up to gen, unless a newer one
// is cached. The caller holds h.mu.
func (h *host) keep(obs *wire.Observed, gen int, now time.Time) {
	if h.obs != nil && h.obsGen > gen {
		return
	}
	h.obs, h.obsGen, h.obsAt = obs, gen, now
}

// wait waits for c or for ctx to end. stop (the reader's join of c.sh) is
// called only when c is done: a reader that gives up must leave its join
// to run, so that the last one to go ends the observe.
func (c *call) wait(ctx context.Context, host string, stop func()) (*wire.Observed, error) {
	select {
	case <-c.done:
		stop()
		return c.obs, c.err
	case <-ctx.Done():
		return nil, &Error{Host: host, Step: StepObserve, Err: context.Cause(ctx)}
	}
}

// Stored is the object the host stores for key as far as this process
// knows, or nil when it stores none: this process's own latest write of
// key (queued, in flight or applied), else the object in the latest
// observation of the host — an observation that writes of this process
// made older still holds every key they did not write. Only a host never
// observed nor written to in this process is observed. Another Terraform
// run writing the same key meanwhile is not seen; the agent, which
// validates every apply against the whole store, is the judge then.
func (f *Fleet) Stored(ctx context.Context, cfg transport.Config, key wire.Key) (*wire.Object, error) {
	h := f.host(cfg)
	h.mu.Lock()
	h.stats.Reads++
	if w, ok := h.written[key]; ok {
		h.mu.Unlock()
		return w.obj, nil
	}
	obs := h.obs
	if obs != nil && f.opts.Now().Sub(h.obsAt) >= f.opts.MaxAge {
		obs = nil
	}
	h.mu.Unlock()
	if obs == nil {
		var err error
		if obs, err = f.observe(ctx, h, false); err != nil {
			return nil, err
		}
	}
	for i := range obs.Objects {
		if obs.Objects[i].Key == key {
			o := obs.Objects[i]
			return &o, nil
		}
	}
	return nil, nil
}

// Latest is the latest observation of the host this process has, however
// many writes of its own followed it (see Stored), observing only when it
// has none (or it is older than MaxAge).
func (f *Fleet) Latest(ctx context.Context, cfg transport.Config) (*wire.Observed, error) {
	h := f.host(cfg)
	h.mu.Lock()
	h.stats.Reads++
	obs := h.obs
	if obs != nil && f.opts.Now().Sub(h.obsAt) >= f.opts.MaxAge {
		obs = nil
	}
	h.mu.Unlock()
	if obs != nil {
		return obs, nil
	}
	return f.observe(ctx, h, false)
}

// Written is this process's latest write of key to the host: the object
// put (nil for a delete), and whether there was one.
func (f *Fleet) Written(cfg transport.Config, key wire.Key) (*wire.Object, bool) {
	h := f.host(cfg)
	h.mu.Lock()
	defer h.mu.Unlock()
	w, ok := h.written[key]
	return w.obj, ok
}

// Apply puts and deletes objects on the host. Writes that arrive while an
// apply to the host runs are sent together when it returns (and those that
// arrive together on an idle host, within the quiet Window); every caller
// receives its batch's response (or error). The observation the apply
// returns serves the reads that follow.
func (f *Fleet) Apply(ctx context.Context, cfg transport.Config, put []wire.Object, del []wire.Key) (*wire.Response, error) {
	return f.ApplyAdopting(ctx, cfg, put, del, nil)
}

// ApplyAdopting is Apply for objects the user imported: the agent may take
// over what already exists for the adopt keys (wire.Request.Adopt) instead
// of refusing it as foreign. Adoptions join the batch like the objects.
func (f *Fleet) ApplyAdopting(ctx context.Context, cfg transport.Config, put []wire.Object, del, adopt []wire.Key) (*wire.Response, error) {
	return f.Write(ctx, cfg, Write{Put: put, Delete: del, Adopt: adopt})
}

// Write is one resource step's writes to a host: what Apply and
// ApplyAdopting take, with what the agent needs to judge conflicts.
type Write struct {
	Put    []wire.Object
	Delete []wire.Key
	// Adopt lists keys the user imported (see ApplyAdopting).
	Adopt []wire.Key
	// Create lists keys of Put that the write creates on this host (a new
	// resource, or a resource's first object here): the agent refuses the
	// write if another resource stores one with other content
	// (wire.Writer.Create).
	Create []wire.Key
	// Owner names the writing resource ("lvs_virtual_server <id>"); it is
	// set on every object of Put that has none, so that a conflict names
	// both resources.
	Owner string
}

// RefusedError is a write the agent refused because it conflicts with
// what another resource stores on the host (wire.Refusal). Nothing of the
// write was applied; the other writes of its batch were.
type RefusedError struct {
	Host    string
	Refusal wire.Refusal
}

func (e *RefusedError) Error() string { return e.Host + ": " + e.Refusal.Error.Error() }

// Write sends one write to the host, group-committed with the others of
// the moment (see Apply). The agent judges the writes of a batch in order,
// each as if it were an apply of its own: a write it refuses
// (*RefusedError) is dropped whole and the others of the batch are
// applied; any other failure of the apply fails every write of the batch,
// since the apply is all or nothing.
func (f *Fleet) Write(ctx context.Context, cfg transport.Config, w Write) (*wire.Response, error) {
	put, del, adopt := w.Put, w.Delete, w.Adopt
	if w.Owner != "" {
		put = make([]wire.Object, len(w.Put))
		for i, o := range w.Put {
			if o.Owner == "" {
				o.Owner = w.Owner
			}
			put[i] = o
		}
	}
	h := f.host(cfg)
	h.mu.Lock()
	h.gen++
	now := f.opts.Now()
	h.stats.Writes += len(put) + len(del)
	b := h.pending
	if b != nil && b.sh.done() {
		// Every writer of the pending batch gave up: it is not sent, and
		// this write starts the next one.
		h.abandon(b)
		b = nil
	}
	if b == nil {
		b = &batch{done: make(chan struct{}), first: h.gen, started: now, sh: newShared(ctx)}
		h.pending = b
	}
	// Not stopped when ctx ends first: its end must count (see shared).
	stop := b.sh.join(ctx)
	b.last = h.gen
	b.callers++
	writer := len(b.writers)
	b.writers = append(b.writers, wire.Writer{Puts: len(put), Deletes: len(del), Create: w.Create})
	b.gens = append(b.gens, h.gen)
	b.put = append(b.put, put...)
	b.del = append(b.del, del...)
	b.adopt = append(b.adopt, adopt...)
	for _, k := range del {
		h.written[k] = writtenObject{gen: h.gen}
	}
	for i := range put {
		o := put[i]
		h.written[o.Key] = writtenObject{obj: &o, gen: h.gen}
	}
	h.lastEvent = now
	select {
	case h.joined <- struct{}{}:
	default:
	}
	if !h.flushing {
		h.flushing = true
		go f.flush(h)
	}
	h.mu.Unlock()

	select {
	case <-b.done:
		stop()
		if r := b.refusalOf(writer); r != nil {
			return b.resp, &RefusedError{Host: h.id, Refusal: *r}
		}
		return b.resp, b.err
	case <-ctx.Done():
		// The batch still runs for the others, if any; this caller stops
		// waiting. When it was the last, the batch's context ends too: an
		// apply under way is stopped (the agent's journal lets the next
		// apply complete it), one not sent yet is not sent.
		step := StepQueued
		h.mu.Lock()
		if b.sent {
			step = StepApply
		}
		h.mu.Unlock()
		return nil, &Error{Host: h.id, Step: step, Err: context.Cause(ctx)}
	}
}

// abandon fails b, a pending batch whose every writer gave up, without
// sending it, and forgets its writes that no later write replaced. The
// caller holds h.mu.
func (h *host) abandon(b *batch) {
	if h.pending == b {
		h.pending = nil
	}
	b.err = &Error{Host: h.id, Step: StepQueued, Err: fmt.Errorf("not sent, every caller gave up: %w", context.Cause(b.sh.ctx))}
	h.forget(b)
	close(b.done)
}

// forget drops the writes of b that no later write replaced: what failed
// is not stored. The caller holds h.mu.
func (h *host) forget(b *batch) {
	for k, w := range h.written {
		if b.first <= w.gen && w.gen <= b.last {
			delete(h.written, k)
		}
	}
}

// refusalOf is the agent's refusal of writer i of the batch, or nil.
func (b *batch) refusalOf(i int) *wire.Refusal {
	if b.resp == nil {
		return nil
	}
	for j := range b.resp.Refused {
		if b.resp.Refused[j].Writer == i {
			return &b.resp.Refused[j]
		}
	}
	return nil
}

// flush sends the host's batches one at a time, each once the host has
// been quiet for the Window (or the batch has gathered for MaxWait), until
// none is left.
func (f *Fleet) flush(h *host) {
	for {
		h.mu.Lock()
		b := h.pending
		if b == nil {
			h.flushing = false
			h.mu.Unlock()
			return
		}
		// The batch gathers from when it could first be sent: its first
		// write, or the return of the apply it queued behind.
		now := f.opts.Now()
		from := b.started
		if h.freeAt.After(from) {
			from = h.freeAt
		}
		wait := h.lastEvent.Add(f.opts.Window).Sub(now)
		// Terraform starts the successors of the resources an apply
		// released one by one (it records each completion first), so
		// they may come further apart than the Window: until as many
		// writers as the last batch had have come, the batch waits for
		// them (bounded by MaxWait), so that it stays as full as the
		// parallelism keeps it.
		if b.callers < h.expect {
			wait = max(wait, from.Add(f.opts.MaxWait).Sub(now))
		}
		if limit := from.Add(f.opts.MaxWait).Sub(now); limit < wait {
			wait = limit
		}
		if b.sh.done() {
			h.abandon(b)
			h.mu.Unlock()
			continue
		}
		if wait > 0 {
			h.mu.Unlock()
			// A write joining the batch wakes the wait: the batch may be
			// complete, or the quiet window starts over.
			select {
			case <-time.After(wait):
			case <-h.joined:
			case <-b.sh.ctx.Done():
			}
			continue
		}
		h.pending, h.sending = nil, b
		b.sent = true
		h.expect = b.callers
		h.stats.Batches = append(h.stats.Batches, len(b.put)+len(b.del))
		h.mu.Unlock()

		// The batch outlives any one caller's context: it ends when every
		// writer that joined it gave up (or by the command timeout of the
		// transport). Within the latest of their deadlines, the agent
		// waits for the host lock no longer than leaves time to say so.
		ctx := b.sh.ctx
		req := &wire.Request{Verb: wire.VerbApply, Put: b.put, Delete: b.del, Adopt: b.adopt, Writers: b.writers}
		deadline, bounded := b.sh.Deadline()
		req.LockTimeoutSeconds = lockWait(deadline, bounded, time.Now())
		b.resp, b.err = f.send(ctx, h, req)
		b.sh.cancel(nil)

		h.mu.Lock()
		h.sending = nil
		h.lastEvent = f.opts.Now()
		h.freeAt = h.lastEvent
		h.stats.Applies++
		if b.resp != nil && b.resp.Applied != nil {
			for d, n := range b.resp.Applied.Reloads {
				h.stats.Reloads[d] += n
			}
		}
		// The apply's observation reflects every write up to the batch's
		// last; one with a section that failed is not kept (the next read
		// observes again, and fails if the section still does).
		if b.err == nil && b.resp != nil && b.resp.Observed != nil && b.resp.Observed.Err() == nil {
			h.keep(b.resp.Observed, b.last, f.opts.Now())
		}
		// A refused write is not stored: forget it unless a later write
		// replaced it (a read then takes the apply's observation).
		for i, gen := range b.gens {
			if b.refusalOf(i) == nil {
				continue
			}
			for k, w := range h.written {
				if w.gen == gen {
					delete(h.written, k)
				}
			}
		}
		if b.err != nil {
			// What failed is not stored.
			h.forget(b)
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
