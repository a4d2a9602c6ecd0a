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

// leeway is the clock skew allowed when checking a token's exp.
const leeway = 30 * time.Second

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

// IssueToken returns an HS256 token for userID, valid for ttl, signed with
// secret's raw bytes. It returns an error when userID is not a UUID.
func IssueToken(secret []byte, userID string, ttl time.Duration, now time.Time) (string, error) {
	if !isUUID(userID) {
		return "", fmt.Errorf("user id %q is not a uuid", userID)
	}
	claims := jwt.MapClaims{
		"user_id": strings.ToLower(userID),
		"iat":     now.Unix(),
		"exp":     now.Add(ttl).Unix(),
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(secret)
}

// parseToken verifies token at the time now and returns its user id
// (lower-case) and its expiry.
func parseToken(secret []byte, token string, now time.Time) (string, time.Time, error) {
	parsed, err := jwt.Parse(token, func(*jwt.Token) (any, error) { return secret, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithLeeway(leeway),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(func() time.Time { return now }),
	)
	if err != nil {
		return "", time.Time{}, err
	}
	claims, ok := parsed.Claims.(jwt.MapClaims)
	if !ok {
		return "", time.Time{}, errors.New("unexpected claims")
	}
	exp, err := claims.GetExpirationTime()
	if err != nil || exp == nil {
		return "", time.Time{}, errors.New("the token has no valid exp")
	}
	claim := "user_id"
	raw, ok := claims[claim]
	if !ok {
		claim = "sub"
		raw = claims[claim]
	}
	id, _ := raw.(string)
	if !isUUID(id) {
		return "", time.Time{}, fmt.Errorf("the token's %s is not a uuid", claim)
	}
	return strings.ToLower(id), exp.Time, nil
}

// maxCachedTokens bounds the verified-token cache; it is emptied when full.
const maxCachedTokens = 4096

// tokenCache remembers tokens that passed parseToken, so that a client's
// next requests with the same token skip the signature check and the
// decoding of its claims (pprof: ~5% of a GET's CPU). Only a token that
// verified is stored, under its exact text (signature included), and a hit
// is still refused once the token has expired (with the same leeway).
type tokenCache struct {
	mu sync.RWMutex
	m  map[string]verifiedToken
}

type verifiedToken struct {
	userID string
	exp    time.Time
}

// verify returns the user id of token, valid at now, from the cache or
// parseToken; parseToken's error when it is not valid.
func (tc *tokenCache) verify(secret []byte, token string, now time.Time) (string, error) {
	tc.mu.RLock()
	v, ok := tc.m[token]
	tc.mu.RUnlock()
	if ok && now.Before(v.exp.Add(leeway)) {
		return v.userID, nil
	}
	userID, exp, err := parseToken(secret, token, now)
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if err != nil {
		delete(tc.m, token)
		return "", err
	}
	if tc.m == nil || len(tc.m) >= maxCachedTokens {
		tc.m = make(map[string]verifiedToken)
	}
	tc.m[token] = verifiedToken{userID: userID, exp: exp}
	return userID, nil
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
		userID, err := s.tokens.verify(s.secret, token, time.Now())
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
	id, err := s.store.EnsureUser(ctx, userID)
	if err != nil {
		return "", fmt.Errorf("ensure user: %w", err)
	}
	s.users.Store(userID, id)
	return id, nil
}
