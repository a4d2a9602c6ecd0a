package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/nyaruka/phonenumbers"

	"github.com/phoneapi/phoneapi/db"
)

// commandSummaries are the one-line descriptions shown in a command's help.
var commandSummaries = map[string]string{
	"serve":   "serve the API over HTTP",
	"token":   "print a bearer token for a user",
	"migrate": "create or upgrade the database schema",
	"seed":    "fill the database with generated contacts",
	"export":  "write every row of the database as JSON Lines",
	"import":  "read an export into a new database",
	"sandbox": "serve the API on a temporary database loaded with a fixture, resettable by POST /sandbox/reset",
}

// printUsage writes the help of the command fs to w: each flag in --flag
// spelling with a typed placeholder, and its description (which names the
// environment variable).
func printUsage(fs *flag.FlagSet, w io.Writer) {
	fmt.Fprintf(w, "Usage: phoneapi %s [FLAGS]\n\n%s.\n", fs.Name(), commandSummaries[fs.Name()])
	var b strings.Builder
	fs.VisitAll(func(f *flag.Flag) {
		if b.Len() == 0 {
			b.WriteString("\nFlags:\n")
		}
		placeholder, help := flagPlaceholder(f)
		fmt.Fprintf(&b, "  --%s\n", strings.TrimSpace(f.Name+" "+placeholder))
		fmt.Fprintf(&b, "        %s\n", help)
	})
	fmt.Fprint(w, b.String())
	fmt.Fprintln(w, "\n  -h, --help  show this help")
	if note := commandNotes[fs.Name()]; note != "" {
		fmt.Fprint(w, "\n"+note)
	}
}

// commandNotes are what a command's help says after its flags.
var commandNotes = map[string]string{
	"serve": "Tracing (OpenTelemetry) is off unless OTEL_TRACES_EXPORTER is console or otlp\n" +
		"(with OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME, ...; see README \"Tracing\").\n",
	"sandbox": "Tracing (OpenTelemetry) is off unless OTEL_TRACES_EXPORTER is console or otlp,\n" +
		"as for serve (README \"Tracing\").\n",
}

// placeholders name a flag's value by what it holds, not by its Go type.
var placeholders = map[string]string{
	"addr": "ADDR", "pprof-addr": "ADDR", "db": "DB", "jwt-secret": "SECRET", "default-region": "REGION",
	"user": "UUID", "out": "FILE", "in": "FILE", "pg-max-conns": "N", "rate-limit": "N", "rate-burst": "N",
	"contacts": "N", "people-per-contact": "N", "phones-per-person": "N", "sqlite-synchronous": "full|normal",
	"log-level": "debug|info|warn|error", "log-format": "json|text",
	"fixtures": "FILE", "seed": "N", "clock-start": "TIME", "clock-step": "DURATION", "deterministic": "",
}

func flagPlaceholder(f *flag.Flag) (string, string) {
	name, help := flag.UnquoteUsage(f)
	if p, ok := placeholders[f.Name]; ok {
		return p, help
	}
	if name == "" || name == "value" {
		if strings.Contains(f.Name, "timeout") || strings.HasSuffix(f.Name, "ttl") || strings.HasSuffix(f.Name, "grace") {
			return "DURATION", help
		}
		return "VALUE", help
	}
	return strings.ToUpper(name), help
}

// hint is the one line that follows a usage error.
func hint(cmd string) string {
	if cmd == "" {
		return "run 'phoneapi --help' for usage"
	}
	return fmt.Sprintf("run 'phoneapi %s --help' for usage", cmd)
}

// configError is a setting refused before anything is touched; it names
// the flag and its environment variable.
func configError(cmd, flagName, env, value, problem string) error {
	return &usageError{msg: fmt.Sprintf("%s: --%s / %s: %q %s", cmd, flagName, env, value, problem), cmd: cmd}
}

// checkAddr reports whether addr is host:port with a numeric port 0..65535.
func checkAddr(addr string) bool {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	n, err := strconv.Atoi(port)
	return err == nil && n >= 0 && n <= 65535
}

// checkRegion reports whether region is one the phone number library knows.
func checkRegion(region string) bool {
	return phonenumbers.GetSupportedRegions()[strings.ToUpper(region)]
}

// checkDB reports what is wrong with dsn, or "" when it is usable: an
// empty path, another URL scheme, or a PostgreSQL URL that does not parse.
func checkDB(dsn string) string {
	if strings.TrimPrefix(dsn, "sqlite:") == "" {
		return "is empty"
	}
	if !db.IsPostgresURL(dsn) {
		if strings.Contains(dsn, "://") {
			return "is neither a SQLite file path nor a postgres:// URL"
		}
		return ""
	}
	if _, err := url.Parse(dsn); err != nil {
		return "is not a valid PostgreSQL URL"
	}
	return ""
}

// logOptions are serve's log settings.
type logOptions struct {
	level, format string
}

// addLogFlags registers --log-level and --log-format on fs, defaulted
// from PHONEAPI_LOG_LEVEL and PHONEAPI_LOG_FORMAT.
func addLogFlags(fs *flag.FlagSet, getenv func(string) string) *logOptions {
	l := &logOptions{level: "info", format: "json"}
	if v := getenv("PHONEAPI_LOG_LEVEL"); v != "" {
		l.level = v
	}
	if v := getenv("PHONEAPI_LOG_FORMAT"); v != "" {
		l.format = v
	}
	fs.StringVar(&l.level, "log-level", l.level, "least severe log level written: debug, info, warn or error (env PHONEAPI_LOG_LEVEL; default info)")
	fs.StringVar(&l.format, "log-format", l.format, "log line format: json or text (env PHONEAPI_LOG_FORMAT; default json)")
	return l
}

// check refuses an unknown level or format, naming flag and variable.
func (l *logOptions) check(cmd string) error {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(l.level)); err != nil || strings.ContainsAny(l.level, "+-") {
		return configError(cmd, "log-level", "PHONEAPI_LOG_LEVEL", l.level, "is not debug, info, warn or error")
	}
	if l.format != "json" && l.format != "text" {
		return configError(cmd, "log-format", "PHONEAPI_LOG_FORMAT", l.format, "is not json or text")
	}
	return nil
}

// logger returns a logger writing to w in the configured format and level;
// call check first.
func (l *logOptions) logger(w io.Writer) *slog.Logger {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(l.level))
	opts := &slog.HandlerOptions{Level: lv}
	if l.format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// loggedError is a start-up error already written to the log: exitCode
// exits 1 without printing it again.
type loggedError struct{ err error }

func (e *loggedError) Error() string { return e.err.Error() }
func (e *loggedError) Unwrap() error { return e.err }

// logged writes err to log as a start-up error and returns it marked as
// logged; nil stays nil.
func logged(log *slog.Logger, err error) error {
	if err == nil {
		return nil
	}
	log.Error("start-up failed", "err", err.Error())
	return &loggedError{err: err}
}
