package handlers

// This file holds the security headers every response carries.

import (
	"strings"

	"github.com/labstack/echo/v4"
)

// securityHeaders sets the headers every response carries: nosniff
// everywhere, and no-store on the API (responses are per user and change with
// every write; clients revalidate with ETags). The docs routes set their own
// Cache-Control and the Content-Security-Policy of /docs.
func securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("X-Content-Type-Options", "nosniff")
		if p := c.Request().URL.Path; p == "/api" || strings.HasPrefix(p, "/api/") {
			h.Set("Cache-Control", "no-store")
		}
		return next(c)
	}
}
