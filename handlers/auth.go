package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
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

// parseToken verifies token and returns its user id (lower-case).
func parseToken(secret []byte, token string) (string, error) {
	parsed, err := jwt.Parse(token, func(*jwt.Token) (any, error) { return secret, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithLeeway(leeway),
		jwt.WithExpirationRequired(),
	)
	if err != nil {
		return "", err
	}
	claims, ok := parsed.Claims.(jwt.MapClaims)
	if !ok {
		return "", errors.New("unexpected claims")
	}
	claim := "user_id"
	raw, ok := claims[claim]
	if !ok {
		claim = "sub"
		raw = claims[claim]
	}
	id, _ := raw.(string)
	if !isUUID(id) {
		return "", fmt.Errorf("the token's %s is not a uuid", claim)
	}
	return strings.ToLower(id), nil
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
			token = req.URL.Query().Get("access_token")
		}
		if token == "" {
			c.Response().Header().Set("WWW-Authenticate", "Bearer")
			return &Error{Status: http.StatusUnauthorized, Detail: "a bearer token is required"}
		}
		userID, err := parseToken(s.secret, token)
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
