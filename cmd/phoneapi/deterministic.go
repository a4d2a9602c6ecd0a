package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/phoneapi/phoneapi/db"
	"github.com/phoneapi/phoneapi/handlers"
)

// defaultClockStep is how far the deterministic clock advances per write.
const defaultClockStep = time.Second

// fallbackClockStart is where the deterministic clock starts when the
// fixture holds no timestamp.
var fallbackClockStart = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// detOptions are the sandbox's --deterministic settings (see
// db.Deterministic).
type detOptions struct {
	on    bool
	seed  uint64
	start time.Time // zero: the first whole minute after the fixture's latest time
	step  time.Duration

	envErr error // a refused environment value, reported by check
}

// addDeterministicFlags adds --deterministic, --seed, --clock-start and
// --clock-step to fs, with their PHONEAPI_* variables as defaults.
func addDeterministicFlags(fs *flag.FlagSet, getenv func(string) string) *detOptions {
	d := &detOptions{seed: 1, step: defaultClockStep}
	env := func(name, flagName string, set func(string) error) {
		if v := getenv(name); v != "" && d.envErr == nil {
			if err := set(v); err != nil {
				d.envErr = configError("sandbox", flagName, name, v, err.Error())
			}
		}
	}
	env("PHONEAPI_DETERMINISTIC", "deterministic", d.setOn)
	env("PHONEAPI_SEED", "seed", d.setSeed)
	env("PHONEAPI_CLOCK_START", "clock-start", d.setStart)
	env("PHONEAPI_CLOCK_STEP", "clock-step", d.setStep)
	fs.BoolFunc("deterministic", "reproducible responses: ids from a seeded generator, timestamps from a clock that advances one --clock-step per write; rewound by every reset (env PHONEAPI_DETERMINISTIC)", d.setOn)
	fs.Func("seed", "with --deterministic: the id generator's seed (env PHONEAPI_SEED; default 1)", d.setSeed)
	fs.Func("clock-start", "with --deterministic: the clock's first time, RFC 3339 (env PHONEAPI_CLOCK_START; default the first whole minute after the fixture's latest timestamp)", d.setStart)
	fs.Func("clock-step", fmt.Sprintf("with --deterministic: how far the clock advances per write, at least 1ms (env PHONEAPI_CLOCK_STEP; default %s)", defaultClockStep), d.setStep)
	return d
}

func (d *detOptions) setOn(v string) error {
	on, err := strconv.ParseBool(v)
	if err != nil {
		return fmt.Errorf("want true or false")
	}
	d.on = on
	return nil
}

func (d *detOptions) setSeed(v string) error {
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return fmt.Errorf("want a whole number from 0 to %d", uint64(1<<64-1))
	}
	d.seed = n
	return nil
}

func (d *detOptions) setStart(v string) error {
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return fmt.Errorf("want an RFC 3339 time such as 2025-01-01T00:00:00Z")
	}
	d.start = t.UTC()
	return nil
}

func (d *detOptions) setStep(v string) error {
	step, err := time.ParseDuration(v)
	if err != nil || step < time.Millisecond {
		return fmt.Errorf("want a duration of at least 1ms such as 1s")
	}
	d.step = step
	return nil
}

// check reports a refused environment value, or a --seed or --clock-*
// flag given without --deterministic, as a usage error; call it after fs
// is parsed.
func (d *detOptions) check(fs *flag.FlagSet) error {
	if d.envErr != nil {
		return d.envErr
	}
	var stray string
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "seed", "clock-start", "clock-step":
			if stray == "" {
				stray = f.Name
			}
		}
	})
	if stray != "" && !d.on {
		return &usageError{msg: fmt.Sprintf("sandbox: --%s needs --deterministic", stray), cmd: "sandbox"}
	}
	return nil
}

// apply makes store and cfg deterministic when d is on, returning what the
// sandbox's reset must also do (rewind the generators) and the attributes
// of the "listening" log line; it does nothing when d is off. The clock
// starts at d.start or, by default, at the first whole minute after the
// fixture's latest timestamp, so that every write's time is the clock's.
func (d *detOptions) apply(store *db.Store, cfg *handlers.Config, f *db.Fixture) (func(context.Context) error, []any) {
	if !d.on {
		return nil, nil
	}
	start := d.start
	if start.IsZero() {
		start = fallbackClockStart
		if latest := f.Latest(); !latest.IsZero() {
			start = latest.Truncate(time.Minute).Add(time.Minute)
		}
	}
	ids := db.NewDeterministic(d.seed, start, d.step)
	// Request ids come from streams of their own: one for the API, one
	// for the rest (/readyz, /metrics, the reset, ...), so that polling
	// /readyz before a run changes none of the API's answers.
	apiReqs := db.NewDeterministic(^d.seed, start, d.step)
	opsReqs := db.NewDeterministic(^d.seed-1, start, d.step)
	store.SetDeterministic(ids)
	cfg.RequestIDs = func(r *http.Request) string {
		if strings.HasPrefix(r.URL.Path, "/api/") {
			return apiReqs.NewID()
		}
		return opsReqs.NewID()
	}
	rewind := func(context.Context) error {
		ids.Reset()
		apiReqs.Reset()
		opsReqs.Reset()
		return nil
	}
	return rewind, []any{"deterministic", ids.String()}
}
