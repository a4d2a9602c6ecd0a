package main

import (
	"flag"
	"fmt"
	"time"

	"github.com/phoneapi/phoneapi/handlers"
)

// tokenTTL is the maximum token lifetime of serve (which refuses longer
// tokens) and token (which does not mint them).
type tokenTTL struct {
	max time.Duration

	envErr error // a bad PHONEAPI_MAX_TOKEN_TTL
}

// addMaxTokenTTLFlag registers --max-token-ttl on fs, defaulted from
// PHONEAPI_MAX_TOKEN_TTL, else handlers.DefaultMaxTokenTTL.
func addMaxTokenTTLFlag(fs *flag.FlagSet, getenv func(string) string) *tokenTTL {
	t := &tokenTTL{max: handlers.DefaultMaxTokenTTL}
	if v := getenv("PHONEAPI_MAX_TOKEN_TTL"); v != "" {
		if err := setPositiveDuration(&t.max, v); err != nil {
			t.envErr = fmt.Errorf("PHONEAPI_MAX_TOKEN_TTL=%q: %w", v, err)
		}
	}
	fs.Func("max-token-ttl", fmt.Sprintf("longest a token may be valid for: serve refuses (401) a token whose exp is further ahead or whose exp - iat is longer, and token refuses a longer --ttl (env PHONEAPI_MAX_TOKEN_TTL; default %s)", handlers.DefaultMaxTokenTTL), func(v string) error {
		return setPositiveDuration(&t.max, v)
	})
	return t
}

// check reports a bad PHONEAPI_MAX_TOKEN_TTL that the flag did not
// override, as a usage error; call it after fs is parsed.
func (t *tokenTTL) check(fs *flag.FlagSet) error {
	if t.envErr == nil {
		return nil
	}
	overridden := false
	fs.Visit(func(f *flag.Flag) { overridden = overridden || f.Name == "max-token-ttl" })
	if overridden {
		return nil
	}
	return &usageError{msg: fs.Name() + ": " + t.envErr.Error()}
}
