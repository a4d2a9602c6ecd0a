// Package dbtest holds the few test helpers that the tests of several
// packages share: the one fake clock for db.Store.SetClock, the one way
// to release goroutines at the same moment, and a log sink safe for
// concurrent use. It imports nothing of phoneapi,
// so db's own tests may use it too.
package dbtest

import (
	"bytes"
	"sync"
	"time"
)

// Start is a fake clock's usual first reading; its sub-millisecond part
// checks that the store truncates timestamps to milliseconds.
var Start = time.Date(2024, 3, 4, 5, 6, 7, 890_123_456, time.UTC)

// Clock is a settable clock, safe for concurrent use. Its zero value reads
// the zero time; pass its Now to db.Store.SetClock.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock that reads t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's reading.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Set makes the clock read t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// Add moves the clock by d.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Together runs f(0) … f(n-1) on n goroutines released at the same moment
// and returns their results in index order once all have returned. f must
// not call t.Fatal (it runs off the test's goroutine); assert on the
// results instead.
func Together[T any](n int, f func(i int) T) []T {
	out := make([]T, n)
	var ready, done sync.WaitGroup
	gate := make(chan struct{})
	for i := range n {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			ready.Done()
			<-gate
			out[i] = f(i)
		}()
	}
	ready.Wait()
	close(gate)
	done.Wait()
	return out
}

// Buffer is a bytes.Buffer safe for concurrent use: a log sink that a
// server's goroutines write to while the test reads it.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what was written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
