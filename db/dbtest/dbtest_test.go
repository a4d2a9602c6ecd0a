package dbtest

import (
	"sync/atomic"
	"testing"
	"time"
)

func TestClock(t *testing.T) {
	c := NewClock(Start)
	if got := c.Now(); !got.Equal(Start) {
		t.Fatalf("Now = %v, want %v", got, Start)
	}
	c.Add(time.Second)
	if got := c.Now(); !got.Equal(Start.Add(time.Second)) {
		t.Fatalf("after Add: %v", got)
	}
	later := Start.Add(time.Hour)
	c.Set(later)
	if got := c.Now(); !got.Equal(later) {
		t.Fatalf("after Set: %v", got)
	}
}

// Together runs f once per index and returns the results in index order.
func TestTogether(t *testing.T) {
	const n = 16
	var started atomic.Int32
	got := Together(n, func(i int) int32 {
		started.Add(1)
		return int32(i)
	})
	for i, v := range got {
		if v != int32(i) {
			t.Fatalf("result %d = %d, want %d", i, v, i)
		}
	}
	if started.Load() != n {
		t.Fatalf("f ran %d times, want %d", started.Load(), n)
	}
}
