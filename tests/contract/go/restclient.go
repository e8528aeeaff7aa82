package contract

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"sort"
	"sync"
	"time"
)

// The controller's production defaults (internal/client, cmd/main.go).
const (
	DefaultTimeout     = 30 * time.Second
	DefaultMaxRetries  = 3
	DefaultBaseBackoff = 1 * time.Second
	DefaultMaxBackoff  = 30 * time.Second
)

// Attempt is one HTTP attempt as the client saw it: the status (0 when
// no answer came) or the network error.
type Attempt struct {
	Status int
	Err    error
	Took   time.Duration
}

// ClientStats counts what one client did. Latency is per Send: from the
// first attempt to the final outcome, retries and backoff included.
type ClientStats struct {
	Sends     int // payloads Send was asked to deliver and did not skip
	Skipped   int // empty payloads: no request
	Attempts  int // HTTP requests made
	Retries   int // attempts after the first
	Delivered int // payloads answered < 400
	Refused   int // payloads answered 4xx (final, never retried)
	Dropped   int // payloads given up on after the last retry (the controller drops them)
	Statuses  map[int]int
	NetErrors map[string]int // network error texts, e.g. "broken pipe"
	Latencies []time.Duration
}

// PermanentError is a 4xx: the controller never retries it.
type PermanentError struct{ Status int }

func (e *PermanentError) Error() string {
	return fmt.Sprintf("server answered %d (not retried)", e.Status)
}

// RESTClient behaves like the controller's: JSON from the structs above,
// Content-Type application/json, a timeout per attempt, MaxRetries
// retries with exponential backoff (Base doubling to Max, jitter 75-100%),
// Retry-After ignored, no retry on 4xx, any status < 400 is success,
// empty payloads skipped, one request at a time. It reads no body and
// keeps no connection open between requests (the controller opens a new
// connection for nearly every request).
type RESTClient struct {
	Endpoint    string
	MaxRetries  int
	BaseBackoff time.Duration
	MaxBackoff  time.Duration
	// OnAttempt, when set, is called after every attempt.
	OnAttempt func(Attempt)
	// Chunked sends the body without a Content-Length (the controller never
	// does; the oversize test uses it for the chunked path).
	Chunked bool

	http *http.Client
	send sync.Mutex // one request at a time, like the controller's single sender

	mu    sync.Mutex // guards stats and rng
	stats ClientStats
	rng   *rand.Rand
}

// NewRESTClient makes a client with the controller's production defaults.
func NewRESTClient(endpoint string, seed int64) *RESTClient {
	return &RESTClient{
		Endpoint:    endpoint,
		MaxRetries:  DefaultMaxRetries,
		BaseBackoff: DefaultBaseBackoff,
		MaxBackoff:  DefaultMaxBackoff,
		http: &http.Client{
			Timeout:   DefaultTimeout,
			Transport: &http.Transport{DisableKeepAlives: true},
		},
		rng: rand.New(rand.NewSource(seed)),
	}
}

// WithRetry sets the retry policy (the controller's WithRetry option).
func (c *RESTClient) WithRetry(maxRetries int, base, max time.Duration) *RESTClient {
	c.MaxRetries, c.BaseBackoff, c.MaxBackoff = maxRetries, base, max
	return c
}

// WithTimeout sets the per-attempt timeout.
func (c *RESTClient) WithTimeout(d time.Duration) *RESTClient {
	c.http.Timeout = d
	return c
}

func (c *RESTClient) backoff(retry int) time.Duration {
	d := c.BaseBackoff
	for i := 1; i < retry && d < c.MaxBackoff; i++ {
		d *= 2
	}
	if d > c.MaxBackoff {
		d = c.MaxBackoff
	}
	c.mu.Lock()
	jitter := 0.75 + 0.25*c.rng.Float64()
	c.mu.Unlock()
	return time.Duration(float64(d) * jitter)
}

// Send delivers one payload: nil when it was answered < 400 (or skipped),
// a *PermanentError on a 4xx, else the last error after MaxRetries
// retries (the caller then drops the batch and counts it).
func (c *RESTClient) Send(ctx context.Context, p *SyncPayload) error {
	if p.IsEmpty() {
		c.mu.Lock()
		c.stats.Skipped++
		c.mu.Unlock()
		return nil
	}
	body, err := json.Marshal(p)
	if err != nil {
		return err
	}
	return c.SendRaw(ctx, body)
}

// SendRaw is Send for a body already marshalled.
func (c *RESTClient) SendRaw(ctx context.Context, body []byte) error {
	c.send.Lock()
	defer c.send.Unlock()
	start := time.Now()
	var last error
	attempts := 0
	outcome := func(err error, kind string) error {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.stats.Sends++
		c.stats.Attempts += attempts
		c.stats.Retries += attempts - 1
		c.stats.Latencies = append(c.stats.Latencies, time.Since(start))
		switch kind {
		case "ok":
			c.stats.Delivered++
		case "refused":
			c.stats.Refused++
		default:
			c.stats.Dropped++
		}
		return err
	}
	for try := 0; try <= c.MaxRetries; try++ {
		if try > 0 {
			select {
			case <-ctx.Done():
				return outcome(ctx.Err(), "dropped")
			case <-time.After(c.backoff(try)):
			}
		}
		attempts++
		status, err, took := c.once(ctx, body)
		c.record(status, err)
		if c.OnAttempt != nil {
			c.OnAttempt(Attempt{Status: status, Err: err, Took: took})
		}
		if err == nil && status < 400 {
			return outcome(nil, "ok")
		}
		if err == nil && status < 500 {
			return outcome(&PermanentError{Status: status}, "refused")
		}
		if err == nil {
			last = fmt.Errorf("server answered %d", status)
		} else {
			last = err
		}
		if ctx.Err() != nil {
			return outcome(ctx.Err(), "dropped")
		}
	}
	return outcome(fmt.Errorf("after %d attempts: %w", attempts, last), "dropped")
}

func (c *RESTClient) once(ctx context.Context, body []byte) (int, error, time.Duration) {
	t0 := time.Now()
	var rd io.Reader = bytes.NewReader(body)
	if c.Chunked {
		rd = io.MultiReader(bytes.NewReader(body)) // no Len(): net/http sends it chunked
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.Endpoint, rd)
	if err != nil {
		return 0, err, 0
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, err, time.Since(t0)
	}
	resp.Body.Close() // the controller reads no body
	return resp.StatusCode, nil, time.Since(t0)
}

func (c *RESTClient) record(status int, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stats.Statuses == nil {
		c.stats.Statuses = map[int]int{}
		c.stats.NetErrors = map[string]int{}
	}
	if err != nil {
		c.stats.NetErrors[netErrorKind(err)]++
		return
	}
	c.stats.Statuses[status]++
}

// netErrorKind names a network error by its cause ("broken pipe",
// "connection reset by peer", "connection refused", "timeout", "EOF").
func netErrorKind(err error) string {
	var te interface{ Timeout() bool }
	if errors.As(err, &te) && te.Timeout() {
		return "timeout"
	}
	for _, k := range []string{"broken pipe", "connection reset by peer", "connection refused", "EOF"} {
		if bytes.Contains([]byte(err.Error()), []byte(k)) {
			return k
		}
	}
	return err.Error()
}

// Stats is a copy of the counters.
func (c *RESTClient) Stats() ClientStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stats
	s.Statuses = map[int]int{}
	s.NetErrors = map[string]int{}
	for k, v := range c.stats.Statuses {
		s.Statuses[k] = v
	}
	for k, v := range c.stats.NetErrors {
		s.NetErrors[k] = v
	}
	s.Latencies = append([]time.Duration(nil), c.stats.Latencies...)
	return s
}

// Merge adds the counters of several clients.
func Merge(all ...ClientStats) ClientStats {
	out := ClientStats{Statuses: map[int]int{}, NetErrors: map[string]int{}}
	for _, s := range all {
		out.Sends += s.Sends
		out.Skipped += s.Skipped
		out.Attempts += s.Attempts
		out.Retries += s.Retries
		out.Delivered += s.Delivered
		out.Refused += s.Refused
		out.Dropped += s.Dropped
		for k, v := range s.Statuses {
			out.Statuses[k] += v
		}
		for k, v := range s.NetErrors {
			out.NetErrors[k] += v
		}
		out.Latencies = append(out.Latencies, s.Latencies...)
	}
	return out
}

// Percentile of the latencies (q in 0..1), 0 when there are none.
func (s ClientStats) Percentile(q float64) time.Duration {
	if len(s.Latencies) == 0 {
		return 0
	}
	l := append([]time.Duration(nil), s.Latencies...)
	sort.Slice(l, func(i, j int) bool { return l[i] < l[j] })
	i := int(q*float64(len(l))+0.5) - 1
	if i < 0 {
		i = 0
	}
	if i >= len(l) {
		i = len(l) - 1
	}
	return l[i]
}

// Figures is the one-line summary the tests print.
func (s ClientStats) Figures() string {
	return fmt.Sprintf("batches sent %d (delivered %d, refused %d, dropped %d), attempts %d, retries %d, "+
		"statuses %v, network errors %v, p50 %.1f ms, p99 %.1f ms, max %.1f ms",
		s.Sends, s.Delivered, s.Refused, s.Dropped, s.Attempts, s.Retries, s.Statuses, s.NetErrors,
		ms(s.Percentile(0.50)), ms(s.Percentile(0.99)), ms(s.Percentile(1)))
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
