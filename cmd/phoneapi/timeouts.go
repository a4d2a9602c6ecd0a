package main

import (
	"errors"
	"flag"
	"fmt"
	"net/http"
	"time"

	"github.com/phoneapi/phoneapi/handlers"
)

// serverTimeouts are serve's request deadline, HTTP server timeouts and
// shutdown grace period.
type serverTimeouts struct {
	request, readHeader, read, write, idle, grace time.Duration

	envErr  error  // a bad PHONEAPI_*_TIMEOUT or PHONEAPI_SHUTDOWN_GRACE value
	envFlag string // the flag that overrides it
}

// addTimeoutFlags registers --request-timeout, --read-header-timeout,
// --read-timeout, --write-timeout, --idle-timeout and --shutdown-grace on
// fs, defaulted from their PHONEAPI_* variables.
func addTimeoutFlags(fs *flag.FlagSet, getenv func(string) string) *serverTimeouts {
	t := &serverTimeouts{}
	for _, d := range []struct {
		flag, env string
		def       time.Duration
		dst       *time.Duration
		help      string
	}{
		{"request-timeout", "PHONEAPI_REQUEST_TIMEOUT", handlers.DefaultRequestTimeout, &t.request, "every request's deadline: past it the request gets 503 with Retry-After and a write not yet committed is rolled back; must be below --write-timeout"},
		{"read-header-timeout", "PHONEAPI_READ_HEADER_TIMEOUT", 10 * time.Second, &t.readHeader, "time to read a request's headers; cuts slow clients"},
		{"read-timeout", "PHONEAPI_READ_TIMEOUT", 30 * time.Second, &t.read, "time to read a whole request, body included"},
		{"write-timeout", "PHONEAPI_WRITE_TIMEOUT", 30 * time.Second, &t.write, "time to handle a request and write its response"},
		{"idle-timeout", "PHONEAPI_IDLE_TIMEOUT", 120 * time.Second, &t.idle, "time a keep-alive connection may wait for its next request"},
		{"shutdown-grace", "PHONEAPI_SHUTDOWN_GRACE", 15 * time.Second, &t.grace, "time in-flight requests get to finish on SIGINT/SIGTERM"},
	} {
		*d.dst = d.def
		if v := getenv(d.env); v != "" {
			if err := setPositiveDuration(d.dst, v); err != nil {
				t.envErr, t.envFlag = fmt.Errorf("%s=%q: %w", d.env, v, err), d.flag
			}
		}
		fs.Func(d.flag, fmt.Sprintf("%s (env %s; default %s)", d.help, d.env, d.def), func(v string) error {
			return setPositiveDuration(d.dst, v)
		})
	}
	return t
}

func setPositiveDuration(dst *time.Duration, v string) error {
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return errors.New("want a positive duration such as 30s")
	}
	*dst = d
	return nil
}

// check reports a bad environment value that no flag overrode, or a
// request deadline not below the write timeout, as a usage error; call it
// after fs is parsed.
func (t *serverTimeouts) check(fs *flag.FlagSet) error {
	if t.envErr != nil {
		overridden := false
		fs.Visit(func(f *flag.Flag) { overridden = overridden || f.Name == t.envFlag })
		if !overridden {
			return &usageError{msg: fs.Name() + ": " + t.envErr.Error()}
		}
	}
	if t.request >= t.write {
		return &usageError{msg: fmt.Sprintf("%s: --request-timeout (%s) must be below --write-timeout (%s): "+
			"a request that reaches its deadline must still get its 503 before the server cuts the connection",
			fs.Name(), t.request, t.write)}
	}
	return nil
}

// apply sets srv's timeouts.
func (t *serverTimeouts) apply(srv *http.Server) {
	srv.ReadHeaderTimeout = t.readHeader
	srv.ReadTimeout = t.read
	srv.WriteTimeout = t.write
	srv.IdleTimeout = t.idle
}
