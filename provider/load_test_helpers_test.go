//go:build linux

package provider

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// pacedLoad sends GET requests to a URL at a fixed rate, each on a fresh
// TCP connection (so every request opens a new IPVS connection and is
// scheduled anew), and counts what came back. A request fails when it gets
// no 200 answer within the timeout, or an answer that is not one of the
// bodies the test expects. The timeout is longer than the first SYN
// retransmission (1 s), so a connection whose first SYN is lost and whose
// retry succeeds counts as answered (late, not failed); a refused
// connection (an RST) fails at once.
type pacedLoad struct {
	url   string
	valid func(body string) bool

	sent, ok, failed atomic.Int64
	mu               sync.Mutex
	errs             []string       // the first few failures
	bodies           map[string]int // answers by body
	slowest          time.Duration  // the longest successful request
	wg               sync.WaitGroup // requests in flight
	stop             chan struct{}
	done             chan struct{}
	began, ended     time.Time
	lastErrAt        time.Time
	vipLog           []string    // which directors held the VIP, at each change
	moves            []time.Time // when the VIP was seen on another director
	failures         []loadFailure
}

// loadFailure is one failed request: when it failed, and why.
type loadFailure struct {
	at  time.Time
	err string
}

// holders is the VIP's holders at each change during the load.
func (l *pacedLoad) holders() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.vipLog, ", ")
}

// loadTimeout is one request's deadline: connect (with SYN retries at 1 s
// and 3 s) and answer.
const loadTimeout = 8 * time.Second

// startPacedLoad sends rate requests per second to url until finish.
func startPacedLoad(url string, rate int, valid func(string) bool) *pacedLoad {
	l := &pacedLoad{url: url, valid: valid, bodies: map[string]int{}, stop: make(chan struct{}), done: make(chan struct{}), began: time.Now()}
	go func() {
		defer close(l.done)
		tick := time.NewTicker(time.Second / time.Duration(rate))
		defer tick.Stop()
		for {
			select {
			case <-l.stop:
				return
			case <-tick.C:
				l.sent.Add(1)
				l.wg.Add(1)
				go func() {
					defer l.wg.Done()
					l.one()
				}()
			}
		}
	}()
	return l
}

// one sends one request on its own connection.
func (l *pacedLoad) one() {
	start := time.Now()
	c := &http.Client{Timeout: loadTimeout, Transport: &http.Transport{
		DisableKeepAlives: true,
		DialContext:       (&net.Dialer{Timeout: loadTimeout}).DialContext,
	}}
	body, err := func() (string, error) {
		resp, err := c.Get(l.url)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return "", err
		}
		if resp.StatusCode != http.StatusOK {
			return "", fmt.Errorf("GET %s: %s", l.url, resp.Status)
		}
		s := strings.TrimSpace(string(b))
		if l.valid != nil && !l.valid(s) {
			return s, fmt.Errorf("GET %s: unexpected answer %q", l.url, s)
		}
		return s, nil
	}()
	took := time.Since(start)
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		l.failed.Add(1)
		l.lastErrAt = time.Now()
		if len(l.failures) < 1000 {
			l.failures = append(l.failures, loadFailure{at: l.lastErrAt, err: err.Error()})
		}
		if len(l.errs) < 5 {
			l.errs = append(l.errs, fmt.Sprintf("%s (+%v): %v", start.Format("15:04:05.000"), took.Round(time.Millisecond), err))
		}
		return
	}
	l.ok.Add(1)
	l.bodies[body]++
	l.slowest = max(l.slowest, took)
}

// finish stops sending and waits for the requests in flight.
func (l *pacedLoad) finish() {
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	<-l.done
	l.wg.Wait()
	l.ended = time.Now()
}

// seen is how many answers had body.
func (l *pacedLoad) seen(body string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.bodies[body]
}

// summary is one line: sent, answered, failed, by body, the slowest.
func (l *pacedLoad) summary() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return fmt.Sprintf("%d requests sent in %v, %d answered, %d failed; answers by server %v; slowest %v",
		l.sent.Load(), l.ended.Sub(l.began).Round(100*time.Millisecond), l.ok.Load(), l.failed.Load(), l.bodies,
		l.slowest.Round(time.Millisecond))
}

// errors are the first failures.
func (l *pacedLoad) errors() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.errs...)
}

// waitCtx sleeps d unless ctx ends first.
func waitCtx(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
