package handlers

import (
	"context"
	_ "embed"
	"encoding/json"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// The sandbox's own endpoints (`phoneapi sandbox`), registered only when
// Config.Reset is set; see sandbox.yaml, their contract, for why they are
// not in openapi.yaml. Without Reset (`phoneapi serve`) these paths are a
// JSON:API 404 like any unknown path.
//
//	POST /sandbox/reset         Config.Reset, then the caches are cleared
//	GET  /sandbox/openapi.yaml  sandbox.yaml
//
// Neither needs a token nor passes the rate limit: the sandbox is a local
// test server.

// SandboxSpec is the OpenAPI document of the sandbox's endpoints.
//
//go:embed sandbox.yaml
var SandboxSpec []byte

// ResetFunc restores the sandbox's data and returns the rows restored per
// table (account_lists, users, contacts, people, phones,
// deleted_records). It runs whatever else a reset needs, e.g. rewinding
// generators; if it fails, the data must be unchanged.
type ResetFunc func(ctx context.Context) (restored map[string]int, err error)

// registerSandbox adds the sandbox's routes to e.
func (s *Server) registerSandbox(e *echo.Echo, reset ResetFunc) {
	e.POST("/sandbox/reset", func(c echo.Context) error {
		start := time.Now()
		restored, err := reset(c.Request().Context())
		if err != nil {
			return err
		}
		s.forgetUsers()
		s.limiter.reset()
		var doc struct {
			Meta struct {
				Restored map[string]int `json:"restored"`
			} `json:"meta"`
		}
		doc.Meta.Restored = restored
		body, err := json.Marshal(doc)
		if err != nil {
			return err
		}
		s.log.Info("sandbox reset", "restored", restored, "duration_ms",
			float64(time.Since(start).Microseconds())/1000)
		return c.Blob(http.StatusOK, mediaType, append(body, '\n'))
	})
	e.GET("/sandbox/openapi.yaml", func(c echo.Context) error {
		return c.Blob(http.StatusOK, "application/yaml", SandboxSpec)
	})
}

// forgetUsers empties the cache of ensured users: after a reset, users
// created since the fixture are gone, and theirs with them. A request that
// ensured its user before the reset and caches it after sees the
// generation change and drops its entry (see accountList).
func (s *Server) forgetUsers() {
	s.usersGen.Add(1)
	s.users.Clear()
}
