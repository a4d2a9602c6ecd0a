package main

import (
	"flag"
	"fmt"
	"math"
	"strconv"

	"github.com/phoneapi/phoneapi/handlers"
)

// limitOptions are serve's per-user rate limit settings.
type limitOptions struct {
	rate  float64 // requests a second per user; 0 disables
	burst int

	envErr  error  // a bad PHONEAPI_RATE_* value
	envFlag string // the flag that overrides it
}

// addLimitFlags registers --rate-limit and --rate-burst on fs, defaulted
// from PHONEAPI_RATE_LIMIT and PHONEAPI_RATE_BURST, else defRate (serve:
// handlers.DefaultRateLimit; the sandbox: 0, off) and
// handlers.DefaultRateBurst.
func addLimitFlags(fs *flag.FlagSet, getenv func(string) string, defRate float64) *limitOptions {
	l := &limitOptions{rate: defRate, burst: handlers.DefaultRateBurst}
	if v := getenv("PHONEAPI_RATE_LIMIT"); v != "" {
		if err := l.setRate(v); err != nil {
			l.envErr, l.envFlag = fmt.Errorf("PHONEAPI_RATE_LIMIT=%q: %w", v, err), "rate-limit"
		}
	}
	if v := getenv("PHONEAPI_RATE_BURST"); v != "" {
		if err := l.setBurst(v); err != nil {
			l.envErr, l.envFlag = fmt.Errorf("PHONEAPI_RATE_BURST=%q: %w", v, err), "rate-burst"
		}
	}
	fs.Func("rate-limit", fmt.Sprintf("requests a second per user (token bucket); 0 disables (env PHONEAPI_RATE_LIMIT; default %g)", defRate), l.setRate)
	fs.Func("rate-burst", fmt.Sprintf("requests a user may send at once (env PHONEAPI_RATE_BURST; default %d)", handlers.DefaultRateBurst), l.setBurst)
	return l
}

func (l *limitOptions) setRate(v string) error {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) {
		return fmt.Errorf("want a number of requests a second, 0 or more")
	}
	l.rate = f
	return nil
}

func (l *limitOptions) setBurst(v string) error {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return fmt.Errorf("want a positive integer")
	}
	l.burst = n
	return nil
}

// check reports a bad environment value that no flag overrode, as a usage
// error; call it after fs is parsed.
func (l *limitOptions) check(fs *flag.FlagSet) error {
	if l.envErr == nil {
		return nil
	}
	overridden := false
	fs.Visit(func(f *flag.Flag) { overridden = overridden || f.Name == l.envFlag })
	if overridden {
		return nil
	}
	return &usageError{msg: fs.Name() + ": " + l.envErr.Error()}
}
