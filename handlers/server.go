// Package handlers implements the generated strict server interface for the
// contacts, people and phones API and wires it into Echo with the checks the
// spec promises, in its order: the size of the header fields (431),
// routing, path ids (a non-UUID id is 404), the query string's syntax
// (checkQueryString: 400 unless it parses strictly, into clean text),
// authentication (the token's signature, times and maximum lifetime), the
// per-user rate limit, content negotiation, the Idempotency-Key header of
// creates (idempotency.go), then the request checks of validate (query
// lengths and parameters, body size, depth, syntax and JSON:API structure,
// schema), then the handlers' own semantic validation, and the store's
// path checks and preconditions in the write's transaction. Every request
// runs under its deadline (Config.RequestTimeout).
//
// Every error a handler or middleware returns becomes a JSON:API error
// document in one place, toErrors.
package handlers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel/trace"

	"github.com/phoneapi/phoneapi/db"
	"github.com/phoneapi/phoneapi/generated"
	"github.com/phoneapi/phoneapi/handlers/phonenum"
)

// mediaType is the JSON:API media type of every request and response body.
const mediaType = "application/vnd.api+json"

// maxBodyBytes is the largest request body accepted (413 above it).
const maxBodyBytes = 1 << 20

// Store is the store contract: what the handlers need from the database,
// declared here where it is used. *db.Store, on either engine, is its one
// implementation (cmd/phoneapi passes it to New).
type Store interface {
	EnsureUser(ctx context.Context, userID string) (accountListID string, err error)

	ListContacts(ctx context.Context, accountListID string, q db.ListQuery) ([]db.Contact, int, error)
	CreateContactOnce(ctx context.Context, c db.Contact, key *db.Key) (db.Contact, error)
	UpdateContact(ctx context.Context, accountListID, id string, u db.ContactUpdate, pre *db.Precondition) (db.Contact, error)
	DeleteContact(ctx context.Context, accountListID, id string, pre *db.Precondition) error

	// Every read and write of a nested resource names its path, a
	// db.Scope of the caller's account list, and checks it in the same
	// query or transaction as its work: when the path or the resource
	// does not lead to the caller's resource, the error is a
	// *db.ScopeError saying which (see scopeError).
	Contact(ctx context.Context, sc db.Scope) (db.Contact, error)
	CheckScope(ctx context.Context, sc db.Scope) error

	ListPeople(ctx context.Context, sc db.Scope, q db.ListQuery) ([]db.Person, int, error)
	Person(ctx context.Context, sc db.Scope, id string) (db.Person, error)
	CreatePersonOnce(ctx context.Context, sc db.Scope, p db.Person, key *db.Key) (db.Person, error)
	UpdatePerson(ctx context.Context, sc db.Scope, id string, u db.PersonUpdate, pre *db.Precondition) (db.Person, error)
	DeletePerson(ctx context.Context, sc db.Scope, id string, pre *db.Precondition) error

	ListPhones(ctx context.Context, sc db.Scope, q db.ListQuery) ([]db.Phone, int, error)
	Phone(ctx context.Context, sc db.Scope, id string) (db.Phone, error)
	CreatePhoneOnce(ctx context.Context, sc db.Scope, p db.NewPhone, key *db.Key) (db.Phone, error)
	UpdatePhone(ctx context.Context, sc db.Scope, id string, u db.PhoneUpdate, pre *db.Precondition) (db.Phone, error)
	DeletePhone(ctx context.Context, sc db.Scope, id string, pre *db.Precondition) error

	// The contact-less people collection: an account list's people,
	// whatever their contact, and the scope of one of them found by its
	// id alone (a *db.ScopeError of KindPerson when it is missing or
	// someone else's).
	ListAccountPeople(ctx context.Context, accountListID string, q db.ListQuery) ([]db.Person, int, error)
	PersonScope(ctx context.Context, accountListID, id string) (db.Scope, error)

	// Related resources for include, one statement each, restricted to
	// the account list: at most limit people or phones (see db.PeopleOf).
	PeopleOf(ctx context.Context, accountListID string, contactIDs []string, limit int) ([]db.Person, error)
	PhonesOf(ctx context.Context, accountListID string, personIDs []string, limit int) ([]db.Phone, error)
	ContactsByID(ctx context.Context, accountListID string, ids []string) ([]db.Contact, error)
	PeopleByID(ctx context.Context, accountListID string, ids []string) ([]db.Person, error)

	// RecordResponse records a create's response for the retries of its
	// idempotency key (creates take a *db.Key, nil when none; see
	// handlers/idempotency.go).
	RecordResponse(ctx context.Context, key *db.Key, r db.Response) error

	// Ready reports whether the database is reachable and migrated (/readyz).
	Ready(ctx context.Context) error

	ListDeleted(ctx context.Context, accountListID string, q db.DeletedQuery) ([]db.Deleted, int, error)
}

// Config holds what New needs besides the store.
type Config struct {
	// Secret signs and verifies the HS256 tokens (its raw bytes). Required.
	Secret []byte
	// DefaultRegion parses national numbers when no country_code applies;
	// phonenum.DefaultRegion when empty.
	DefaultRegion string
	// Logger receives errors and the access log; slog.Default() when nil.
	Logger *slog.Logger
	// Version is reported by the phoneapi_build_info metric; the module
	// version, else "dev", when empty.
	Version string
	// RateLimit is each user's sustained request rate (requests a second,
	// a token bucket of RateBurst); 0 disables the limit (limits.go).
	RateLimit float64
	// RateBurst is how many requests a user may send at once; at least 1.
	RateBurst int
	// RequestTimeout is every request's deadline: a request that has not
	// finished by then is answered 503 with Retry-After, and a write that
	// has not committed is rolled back. DefaultRequestTimeout when zero or
	// negative. Keep it below the HTTP server's write timeout, so that the
	// answer can still be written.
	RequestTimeout time.Duration
	// MaxTokenTTL is the longest a token may be valid for: a token whose
	// exp is further ahead of now (plus 30 s of leeway), or whose exp - iat
	// is longer, is refused (401). DefaultMaxTokenTTL when zero or
	// negative.
	MaxTokenTTL time.Duration
	// Reset, when set, makes this a sandbox (`phoneapi sandbox`): POST
	// /sandbox/reset runs it, then clears the caches that the restored
	// data makes wrong (sandbox.go). Never set by `phoneapi serve`.
	Reset ResetFunc
	// RequestIDs makes the X-Request-Id of a request that brings none;
	// nil means random UUIDs. `phoneapi sandbox --deterministic` gives
	// seeded generators, so that replayed requests get the same ids.
	RequestIDs func(*http.Request) string
	// TracerProvider traces every request (trace.go): one server span
	// each, a child of the client's W3C traceparent when it sends one.
	// Nil or a no-op provider turns tracing off. It does not reach the
	// store: give it to the store too (db.Store.SetTracerProvider) for
	// the database's child spans.
	TracerProvider trace.TracerProvider
}

// DefaultRequestTimeout is the request deadline when Config sets none.
const DefaultRequestTimeout = 10 * time.Second

// Server implements generated.StrictServerInterface.
type Server struct {
	store  Store
	secret []byte
	region string
	log    *slog.Logger
	users  sync.Map // user id → account list id, for users already ensured
	// usersGen counts the sandbox's resets, which empty users (sandbox.go).
	usersGen atomic.Int64
	tokens   tokenCache
	// limiter is the per-user rate limit; nil when disabled (limits.go).
	limiter *rateLimiter
	// timeout is every request's deadline (Config.RequestTimeout).
	timeout time.Duration
	// maxTokenTTL is the longest a token may be valid for (Config.MaxTokenTTL).
	maxTokenTTL time.Duration
	// tracer starts the request spans; nil when tracing is off (trace.go).
	tracer trace.Tracer
	// requestIDs makes the request ids the server generates (Config.RequestIDs).
	requestIDs func(*http.Request) string
}

var _ generated.StrictServerInterface = (*Server)(nil)

// New returns an Echo instance serving the API described by openapi.yaml,
// and the spec itself and its reference page (docs.go).
// It returns an error when the embedded spec cannot be loaded or cfg lacks a
// secret.
func New(store Store, cfg Config) (*echo.Echo, error) {
	if len(cfg.Secret) == 0 {
		return nil, errors.New("handlers: a jwt secret is required")
	}
	if cfg.DefaultRegion == "" {
		cfg.DefaultRegion = phonenum.DefaultRegion
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	if cfg.RequestIDs == nil {
		cfg.RequestIDs = func(*http.Request) string { return uuid.NewString() }
	}
	if cfg.MaxTokenTTL <= 0 {
		cfg.MaxTokenTTL = DefaultMaxTokenTTL
	}
	spec, err := generated.GetSpec()
	if err != nil {
		return nil, fmt.Errorf("handlers: load spec: %w", err)
	}
	spec.Servers = nil // validate paths as they are served, whatever the host

	s := &Server{store: store, secret: cfg.Secret, region: strings.ToUpper(cfg.DefaultRegion), log: cfg.Logger,
		timeout: cfg.RequestTimeout, maxTokenTTL: cfg.MaxTokenTTL, tracer: newTracer(cfg.TracerProvider),
		requestIDs: cfg.RequestIDs}

	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = s.errorHandler
	// Request id, access log and metrics, panic recovery; /healthz,
	// /readyz, /metrics (ops.go). First, so they see every request.
	s.useOps(e, cfg.Version)
	e.Use(limitHeaderBytes) // limits.go; before anything reads a header
	e.Use(withDeadline(cfg.RequestTimeout))
	e.Pre(securityHeaders) // headers.go
	s.limiter = newRateLimiter(cfg.RateLimit, cfg.RateBurst, nil)

	if err := registerDocs(e); err != nil {
		return nil, err
	}
	if cfg.Reset != nil {
		s.registerSandbox(e, cfg.Reset)
	}

	ops, err := s.operationMiddlewares(spec)
	if err != nil {
		return nil, err
	}
	generated.RegisterHandlersWithOptions(e, generated.NewStrictHandler(s, nil), generated.RegisterHandlersOptions{
		OperationMiddlewares: ops,
	})
	return e, nil
}

// takesHeader reports whether the operation declares the header parameter.
func takesHeader(item *openapi3.PathItem, op *openapi3.Operation, name string) bool {
	for _, ps := range []openapi3.Parameters{item.Parameters, op.Parameters} {
		for _, p := range ps {
			if p.Value != nil && p.Value.In == openapi3.ParameterInHeader && strings.EqualFold(p.Value.Name, name) {
				return true
			}
		}
	}
	return false
}

// operationMiddlewares returns, for every operation of the spec, the chain of
// checks that runs before its handler, in the documented order.
func (s *Server) operationMiddlewares(spec *openapi3.T) (map[string][]echo.MiddlewareFunc, error) {
	ops := map[string][]echo.MiddlewareFunc{}
	for path, item := range spec.Paths.Map() {
		for method, op := range item.Operations() {
			if op.OperationID == "" {
				return nil, fmt.Errorf("handlers: %s %s has no operationId", method, path)
			}
			rt, err := newRoute(spec, path, item, method, op)
			if err != nil {
				return nil, err
			}
			chain := []echo.MiddlewareFunc{
				checkPathIDs,
				checkQueryString,
				s.authenticate,
				s.rateLimit,
				negotiate(rt.body != nil),
			}
			if takesHeader(item, op, headerIdempotencyKey) {
				chain = append(chain, idempotencyKey)
			}
			ops[op.OperationID] = append(chain, rt.validate)
		}
	}
	return ops, nil
}
