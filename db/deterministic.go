package db

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Deterministic makes what a Store generates reproducible: ids come from a
// generator seeded with a fixed seed, and timestamps from a clock that
// starts at a fixed instant and advances by a fixed step at each reading.
// The store reads its clock once per write transaction, and reads never,
// so the clock advances by one step per write. The same sequence of
// requests, one at a time, from the same data then yields the same ids and
// timestamps, and so byte-identical responses (`phoneapi sandbox
// --deterministic`). Concurrent writes still commit in whatever order they
// arrive.
//
// Reset rewinds both to their start. A Deterministic is safe for
// concurrent use.
type Deterministic struct {
	seed  uint64
	start time.Time
	step  time.Duration

	mu    sync.Mutex
	rng   *rand.Rand // ids
	ticks int64      // clock readings so far
}

// NewDeterministic returns generators seeded with seed, with a clock that
// starts at start (truncated to the millisecond) and advances by step
// (at least 1 ms) per reading.
func NewDeterministic(seed uint64, start time.Time, step time.Duration) *Deterministic {
	d := &Deterministic{seed: seed, start: normTime(start), step: max(step, time.Millisecond).Truncate(time.Millisecond)}
	d.Reset()
	return d
}

// Reset rewinds the id generator and the clock to their start.
func (d *Deterministic) Reset() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.rng = rand.New(rand.NewPCG(d.seed, 0x70686f6e65617069)) // "phoneapi"
	d.ticks = 0
}

// NewID returns the next id: a lower-case version 4 UUID drawn from the
// seeded generator.
func (d *Deterministic) NewID() string {
	d.mu.Lock()
	hi, lo := d.rng.Uint64(), d.rng.Uint64()
	d.mu.Unlock()
	var u uuid.UUID
	for i := range 8 {
		u[i] = byte(hi >> (56 - 8*i))
		u[8+i] = byte(lo >> (56 - 8*i))
	}
	u[6] = u[6]&0x0f | 0x40 // version 4
	u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
	return u.String()
}

// Now returns the clock's time, start + step × the readings before this
// one, and advances it.
func (d *Deterministic) Now() time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	t := d.start.Add(time.Duration(d.ticks) * d.step)
	d.ticks++
	return t
}

// String describes the generators, e.g. for a start-up line.
func (d *Deterministic) String() string {
	return fmt.Sprintf("seed %d, clock from %s by %s per write", d.seed, d.start.Format(time.RFC3339Nano), d.step)
}

// SetDeterministic makes the Store take its new ids and its clock from d
// (see Deterministic). Call it before the Store is in use; nil restores
// random ids and the real clock.
func (s *Store) SetDeterministic(d *Deterministic) {
	if d == nil {
		s.ids, s.now = nil, time.Now
		return
	}
	s.ids, s.now = d.NewID, d.Now
}

// newID returns a new id: a random version 4 UUID, or the next of the
// Store's deterministic ids.
func (s *Store) newID() string {
	if s.ids != nil {
		return s.ids()
	}
	return uuid.NewString()
}
