// Package generated holds the code oapi-codegen generates from openapi.yaml:
// models, the Echo strict-server interface and the embedded spec. Never edit
// *.gen.go by hand: change openapi.yaml and run `make generate`.
package generated

//go:generate go tool oapi-codegen -config config.yaml ../openapi.yaml
