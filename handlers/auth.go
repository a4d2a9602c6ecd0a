package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/labstack/echo/v4"
)

// leeway is the clock skew allowed when checking a token's times: exp,
// nbf, iat and how far ahead exp is (the maximum lifetime).
const leeway = 30 * time.Second

// DefaultMaxTokenTTL is the longest a token may be valid for when
// Config.MaxTokenTTL is not set.
const DefaultMaxTokenTTL = 30 * 24 * time.Hour

// caller is the authenticated user of a request.
type caller struct {
	UserID        string
	AccountListID string
}

type callerKey struct{}

// callerFrom returns the caller that authenticate stored in ctx.
func callerFrom(ctx context.Context) caller {
	c, _ := ctx.Value(callerKey{}).(caller)
	return c
}

// IssueToken returns an HS256 token for userID, issued at now (iat) and
// valid for ttl (exp), in whole seconds (ttl is rounded down to one), signed
// with secret's raw bytes. It returns an error when userID is not a UUID.
func IssueToken(secret []byte, userID string, ttl time.Duration, now time.Time) (string, error) {
	if !isUUID(userID) {
		return "", fmt.Errorf("user id %q is not a uuid", userID)
	}
	iat := now.Unix()
	claims := jwt.MapClaims{
		"user_id": strings.ToLower(userID),
		"iat":     iat,
		"exp":     iat + int64(ttl/time.Second),
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(secret)
}

// verifiedToken is what a valid token grants: its user id, for as long as
// now is in [from, until). Whether a token is valid depends on now only
// through that window, so a cached one needs no other check.
type verifiedToken struct {
	userID string
	from   time.Time // the latest of nbf, iat and exp - maxTTL, less the leeway
	until  time.Time // exp plus the leeway
}

// parseToken verifies token at the time now and returns its user id
// (lower-case) and the window in which it is valid. A token is valid when
// it is signed with HS256 and secret; has exp, not passed (more than the
// leeway ago) and at most maxTTL (plus the leeway) ahead of now; has no nbf
// or iat further ahead of now than the leeway; when it has iat, exp - iat
// is at most maxTTL; and its user_id (else sub) is a UUID.
func parseToken(secret []byte, token string, now time.Time, maxTTL time.Duration) (verifiedToken, error) {
	parsed, err := jwt.Parse(token, func(*jwt.Token) (any, error) { return secret, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithLeeway(leeway),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(func() time.Time { return now }),
	)
	if err != nil {
		return verifiedToken{}, err
	}
	claims, ok := parsed.Claims.(jwt.MapClaims)
	if !ok {
		return verifiedToken{}, errors.New("unexpected claims")
	}
	// jwt.Parse has checked the types of exp, nbf and iat.
	exp, err := claims.GetExpirationTime()
	if err != nil || exp == nil {
		return verifiedToken{}, errors.New("the token has no valid exp")
	}
	nbf, _ := claims.GetNotBefore()
	iat, _ := claims.GetIssuedAt()
	if exp.Sub(now)-leeway > maxTTL { // not maxTTL+leeway, which may overflow
		return verifiedToken{}, fmt.Errorf("its exp is more than %s ahead, the maximum token lifetime", maxTTL)
	}
	if iat != nil && exp.Sub(iat.Time) > maxTTL {
		return verifiedToken{}, fmt.Errorf("its exp is %s after its iat, more than the maximum token lifetime %s",
			exp.Sub(iat.Time), maxTTL)
	}
	claim := "user_id"
	raw, ok := claims[claim]
	if !ok {
		claim = "sub"
		raw = claims[claim]
	}
	id, _ := raw.(string)
	if !isUUID(id) {
		return verifiedToken{}, fmt.Errorf("the token's %s is not a uuid", claim)
	}
	v := verifiedToken{userID: strings.ToLower(id), from: exp.Add(-maxTTL), until: exp.Add(leeway)}
	for _, d := range []*jwt.NumericDate{nbf, iat} {
		if d != nil && d.After(v.from) {
			v.from = d.Time
		}
	}
	v.from = v.from.Add(-leeway)
	return v, nil
}

// maxCachedTokens bounds the verified-token cache; it is emptied when full.
const maxCachedTokens = 4096

// tokenCache remembers tokens that passed parseToken, so that a client's
// next requests with the same token skip the signature check and the
// decoding of its claims (pprof: ~5% of a GET's CPU). Only a token that
// verified is stored, under its exact text (signature included), with the
// window in which parseToken finds it valid (verifiedToken); a hit outside
// that window, such as after exp and the leeway, is verified again and
// refused. The window depends on the maximum lifetime: a cache serves one.
type tokenCache struct {
	mu sync.RWMutex
	m  map[string]verifiedToken
}

// verify returns the user id of token, valid at now with the maximum
// lifetime maxTTL, from the cache or parseToken; parseToken's error when it
// is not valid.
func (tc *tokenCache) verify(secret []byte, token string, now time.Time, maxTTL time.Duration) (string, error) {
	tc.mu.RLock()
	v, ok := tc.m[token]
	tc.mu.RUnlock()
	if ok && !now.Before(v.from) && now.Before(v.until) {
		return v.userID, nil
	}
	v, err := parseToken(secret, token, now, maxTTL)
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if err != nil {
		delete(tc.m, token)
		return "", err
	}
	if tc.m == nil || len(tc.m) >= maxCachedTokens {
		tc.m = make(map[string]verifiedToken)
	}
	tc.m[token] = v
	return v.userID, nil
}

// authenticate requires a valid bearer token (header or access_token query
// parameter), creates the user on first use and stores the caller in the
// request context. Failures are 401 with WWW-Authenticate: Bearer.
func (s *Server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		token := ""
		if h := req.Header.Get(echo.HeaderAuthorization); h != "" {
			scheme, rest, ok := strings.Cut(h, " ")
			if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(rest) == "" {
				return s.unauthorized(c, "the Authorization header must be 'Bearer <token>'")
			}
			token = strings.TrimSpace(rest)
		} else {
			token = c.QueryParams().Get("access_token")
		}
		if token == "" {
			c.Response().Header().Set("WWW-Authenticate", "Bearer")
			return &Error{Status: http.StatusUnauthorized, Detail: "a bearer token is required"}
		}
		userID, err := s.tokens.verify(s.secret, token, time.Now(), s.maxTokenTTL)
		if err != nil {
			return s.unauthorized(c, "the token is invalid: "+err.Error())
		}
		accountListID, err := s.accountList(req.Context(), userID)
		if err != nil {
			return err
		}
		ctx := context.WithValue(req.Context(), callerKey{}, caller{UserID: userID, AccountListID: accountListID})
		c.SetRequest(req.WithContext(ctx))
		return next(c)
	}
}

func (s *Server) unauthorized(c echo.Context, detail string) error {
	c.Response().Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	return &Error{Status: http.StatusUnauthorized, Detail: detail}
}

// accountList returns the user's account list, creating both on first use.
func (s *Server) accountList(ctx context.Context, userID string) (string, error) {
	if id, ok := s.users.Load(userID); ok {
		return id.(string), nil
	}
	gen := s.usersGen.Load()
	id, err := s.store.EnsureUser(ctx, userID)
	if err != nil {
		return "", fmt.Errorf("ensure user: %w", err)
	}
	s.users.Store(userID, id)
	if s.usersGen.Load() != gen {
		// A sandbox reset ran meanwhile: id may be gone (forgetUsers).
		s.users.Delete(userID)
	}
	return id, nil
}
