package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/labstack/echo/v4"
)

// route is one operation of the spec with what its request checks need.
type route struct {
	kin        *routers.Route
	check      *routers.Route // kin without the path parameters checkPathIDs already enforces
	idParam    string         // path parameter naming the resource itself, on PUT/PATCH
	body       *bodyShape
	query      *queryShape
	validation *openapi3filter.Options
}

// bodyShape is what the JSON:API structural check needs to know of a request
// body schema: the resource type and the attribute names, all from the spec.
type bodyShape struct {
	typ      string
	create   bool
	known    map[string]bool
	required []string
	spec     *openapi3.RequestBody // the request body, for the schema check
	schema   *openapi3.Schema
}

func newRoute(spec *openapi3.T, path string, item *openapi3.PathItem, method string, op *openapi3.Operation) (*route, error) {
	rt := &route{
		kin: &routers.Route{Spec: spec, Path: path, PathItem: item, Method: method, Operation: op},
		validation: &openapi3filter.Options{
			MultiError:         true,
			ExcludeRequestBody: true,                                  // validate checks the body it decoded itself
			AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, // authenticate already ran
		},
	}
	rt.check = withoutCheckedPath(rt.kin)
	qs, err := newQueryShape(spec, op)
	if err != nil {
		return nil, err
	}
	rt.query = qs
	if op.RequestBody == nil {
		return rt, nil
	}
	mt := op.RequestBody.Value.Content.Get(mediaType)
	if mt == nil || mt.Schema == nil {
		return nil, fmt.Errorf("handlers: %s has no %s request schema", op.OperationID, mediaType)
	}
	data := mt.Schema.Value.Properties["data"]
	if data == nil {
		return nil, fmt.Errorf("handlers: %s request schema has no data", op.OperationID)
	}
	typ := data.Value.Properties["type"]
	attrs := data.Value.Properties["attributes"]
	if typ == nil || len(typ.Value.Enum) != 1 || attrs == nil {
		return nil, fmt.Errorf("handlers: %s request schema needs data.type (one enum value) and data.attributes", op.OperationID)
	}
	shape := &bodyShape{
		typ:      fmt.Sprint(typ.Value.Enum[0]),
		create:   method == http.MethodPost,
		known:    map[string]bool{},
		required: attrs.Value.Required,
		spec:     op.RequestBody.Value,
		schema:   mt.Schema.Value,
	}
	for name := range attrs.Value.Properties {
		shape.known[name] = true
	}
	rt.body = shape
	if !shape.create {
		rt.idParam = lastPathParam(path)
	}
	return rt, nil
}

// withoutCheckedPath returns a copy of r for kin-openapi's parameter
// validation, without the path parameters that checkPathIDs (which runs
// first, answering 404) already holds to everything their schema asks
// (pathChecked), so that each request does not parse its ids twice. A path
// parameter whose schema asks more stays in.
func withoutCheckedPath(r *routers.Route) *routers.Route {
	keep := func(ps openapi3.Parameters) openapi3.Parameters {
		var out openapi3.Parameters
		for _, p := range ps {
			if p.Value == nil || !pathChecked(p.Value) {
				out = append(out, p)
			}
		}
		return out
	}
	item, op := *r.PathItem, *r.Operation
	item.Parameters, op.Parameters = keep(item.Parameters), keep(op.Parameters)
	c := *r
	c.PathItem, c.Operation = &item, &op
	return &c
}

// hasPathParam reports whether r declares a path parameter.
func hasPathParam(r *routers.Route) bool {
	for _, ps := range []openapi3.Parameters{r.PathItem.Parameters, r.Operation.Parameters} {
		for _, p := range ps {
			if p.Value != nil && p.Value.In == openapi3.ParameterInPath {
				return true
			}
		}
	}
	return false
}

// pathChecked reports whether p is a required path parameter whose schema
// asks no more than isUUID enforces: a string in the uuid format of at most
// 36 characters (isUUID accepts exactly 36).
func pathChecked(p *openapi3.Parameter) bool {
	if p.In != openapi3.ParameterInPath || !p.Required || p.Schema == nil || p.Schema.Value == nil || p.Content != nil {
		return false
	}
	s := p.Schema.Value
	return s.Type.Is(openapi3.TypeString) && s.Format == "uuid" && s.Pattern == "" && s.Enum == nil &&
		s.MinLength <= 36 && (s.MaxLength == nil || *s.MaxLength >= 36) &&
		s.Not == nil && s.AllOf == nil && s.AnyOf == nil && s.OneOf == nil
}

// lastPathParam returns the name of the last {param} in an OpenAPI path.
func lastPathParam(path string) string {
	i := strings.LastIndex(path, "{")
	j := strings.LastIndex(path, "}")
	if i < 0 || j < i {
		return ""
	}
	return path[i+1 : j]
}

// validate checks, in order: the length of each query parameter (before
// any parser quotes it), the query rules the spec cannot express
// (queryShape.check), the body's size, then its nesting depth, syntax,
// text and member names, and JSON:API structure (bodyShape.check), then
// the parameters against the spec (kin-openapi) and the body against its
// schema. The structural rules that the spec cannot express as 409
// (data.type, ids inside attributes, a body id that differs from the path
// id) run before schema validation.
//
// The query string is parsed by Echo (c.QueryParams), and that parse is
// what these checks, kin-openapi and the generated parameter binding read;
// checkQueryString, which ran before, has refused any query string of
// which that parse would drop a part. The body's bytes are decoded once, into the untyped value that the
// structural rules and the schema check both need; the generated handler
// binds its typed request body from that value (decodedBody) instead of
// the bytes. scanBody scans the bytes once before that decode without
// building anything, so that a deeply nested body is refused before it is
// built, and finds what the decode would hide (see bodyShape.check).
func (rt *route) validate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		query := c.QueryParams()
		if err := checkQueryLengths(rt.kin, query); err != nil {
			return err
		}
		if err := rt.query.check(query); err != nil {
			return err
		}
		var body any
		if rt.body != nil {
			raw, err := readBody(req)
			if err != nil {
				return err
			}
			if body, err = rt.body.check(raw, c.Param(rt.idParam)); err != nil {
				return err
			}
			req.Body = io.NopCloser(bytes.NewReader(raw))
		}
		var params map[string]string
		if hasPathParam(rt.check) {
			params = make(map[string]string, len(c.ParamNames()))
			for i, name := range c.ParamNames() {
				params[name] = c.ParamValues()[i]
			}
		}
		input := &openapi3filter.RequestValidationInput{
			Request:     req,
			PathParams:  params,
			QueryParams: query,
			Route:       rt.check,
			Options:     rt.validation,
		}
		var errs openapi3.MultiError
		if err := openapi3filter.ValidateRequest(req.Context(), input); err != nil {
			errs = append(errs, err)
		}
		if rt.body != nil {
			if err := rt.body.validate(input, body); err != nil {
				errs = append(errs, err)
			}
		}
		if len(errs) > 0 {
			return requestErrors(errs)
		}
		if rt.body != nil {
			// After ValidateRequest: its security step replaces the body
			// with a copy of the bytes.
			req.Body = decodedBody{ReadCloser: req.Body, value: body}
		}
		return next(c)
	}
}

// validate checks a decoded body against the operation's request schema,
// with the options kin-openapi's own body validation uses (as a request,
// every error, defaults filled in). Errors are kin-openapi's, for
// requestErrors.
func (b *bodyShape) validate(input *openapi3filter.RequestValidationInput, body any) error {
	err := b.schema.VisitJSON(body, openapi3.VisitAsRequest(), openapi3.MultiErrors(), openapi3.DefaultsSet(func() {}))
	if err == nil {
		return nil
	}
	return &openapi3filter.RequestError{Input: input, RequestBody: b.spec, Reason: "doesn't match schema", Err: err}
}

// decodedBody is a request body together with its decoded, checked value.
// The generated handlers bind their typed body from ValidatedValue (the
// hook kin-openapi's KeepValidatedValue also uses) rather than decoding the
// bytes again.
type decodedBody struct {
	io.ReadCloser
	value any
}

// ValidatedValue returns the decoded body.
func (b decodedBody) ValidatedValue() any { return b.value }

// readBody reads at most maxBodyBytes of the request body: 413 above that.
func readBody(req *http.Request) ([]byte, error) {
	if req.ContentLength > maxBodyBytes {
		return nil, echo.ErrStatusRequestEntityTooLarge
	}
	raw, err := io.ReadAll(io.LimitReader(req.Body, maxBodyBytes+1))
	if err != nil {
		return nil, errBadRequest("", "the request body could not be read")
	}
	if len(raw) > maxBodyBytes {
		return nil, echo.ErrStatusRequestEntityTooLarge
	}
	return raw, nil
}

// check decodes a request body and applies the JSON:API document rules to
// it, returning the decoded document. pathID is the resource id from the
// path on PUT/PATCH ("" on create).
//
// In order: an empty body; nesting deeper than maxJSONDepth (before the
// decode); then the first of a syntax error and what scanBody finds (U+0000,
// invalid UTF-8, a duplicate member name), by position in the body, so that
// a problem in a document broken further on is reported at its member;
// then the JSON:API rules. All are 400 but the type and id rules' 409.
func (b *bodyShape) check(raw []byte, pathID string) (any, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, errBadRequest("", "the request body is empty; send a JSON:API document with a data member")
	}
	scan := scanBody(raw, maxJSONDepth)
	if scan.tooDeep {
		return nil, errBadRequest("", "the request body nests arrays and objects deeper than %d levels", maxJSONDepth)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		if scan.problem != nil && scan.at < syntaxOffset(err, len(raw)) {
			return nil, scan.problem
		}
		return nil, errBadRequest("", "the request body is not valid JSON: %s", jsonProblem(err))
	}
	if scan.problem != nil && scan.at < int(dec.InputOffset()) {
		return nil, scan.problem
	}
	// Only JSON whitespace may follow the document. (dec.More is not the
	// test: it reports false before a stray '}' or ']'.)
	if len(bytes.TrimLeft(raw[dec.InputOffset():], " \t\r\n")) > 0 {
		return nil, errBadRequest("", "the request body is not valid JSON: unexpected data after the document")
	}
	top, ok := doc.(map[string]any)
	if !ok {
		return nil, errBadRequest("", "the request document must be a JSON object")
	}
	rawData, ok := top["data"]
	if !ok {
		return nil, errBadRequest("/data", "the request document must have a data member")
	}
	data, ok := rawData.(map[string]any)
	if !ok {
		return nil, errBadRequest("/data", "data must be a resource object")
	}
	switch t, ok := data["type"].(string); {
	case !ok:
		return nil, errConflict("/data/type", "data.type is required and must be %q", b.typ)
	case t != b.typ:
		return nil, errConflict("/data/type", "data.type %q does not match this endpoint's type %q", t, b.typ)
	}
	if id, present := data["id"]; present {
		s, isString := id.(string)
		switch {
		case b.create && (!isString || !isUUID(s)):
			return nil, errBadRequest("/data/id", "data.id must be a UUID")
		case !b.create && (!isString || !strings.EqualFold(s, pathID)):
			return nil, errConflict("/data/id", "data.id does not match the id in the path")
		}
	}
	attrs, ok := data["attributes"].(map[string]any)
	if !ok {
		if _, present := data["attributes"]; !present {
			return nil, errBadRequest("/data/attributes", "data.attributes is required")
		}
		return nil, errBadRequest("/data/attributes", "data.attributes must be an object")
	}
	names := make([]string, 0, len(attrs))
	for name := range attrs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if name == "id" || strings.HasSuffix(name, "_id") {
			return nil, errConflict(attrPointer(name), "%q may not be sent inside attributes; ids go in data.id and the path", name)
		}
	}
	var errs Errors
	for _, name := range names {
		if !b.known[name] {
			errs = append(errs, errBadRequest(attrPointer(name), "%q is not an attribute of %s", name, b.typ))
		}
	}
	for _, name := range b.required {
		if _, ok := attrs[name]; !ok {
			errs = append(errs, errBadRequest(attrPointer(name), "%q is required", name))
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return doc, nil
}

func attrPointer(name string) string {
	return "/data/attributes/" + escapePointer(name)
}

// escapePointer escapes one JSON pointer reference token (RFC 6901).
func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// jsonProblem describes a JSON syntax error without Go type names.
func jsonProblem(err error) string {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return fmt.Sprintf("%s (at byte %d)", syn.Error(), syn.Offset)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return "unexpected end of input"
	}
	return "malformed document"
}

// syntaxOffset returns the byte offset of a decode error: where a syntax
// error was found, else (the input ended early) the body's length n.
func syntaxOffset(err error, n int) int {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return int(syn.Offset)
	}
	return n
}

var quotedName = regexp.MustCompile(`property "([^"]+)"`)

// requestErrors rewrites kin-openapi validation errors into one JSON:API error
// per problem, each with a pointer (or parameter) and a short detail, never a
// dump of the schema.
func requestErrors(err error) error {
	var out Errors
	var walk func(error, string)
	walk = func(err error, param string) {
		// Look at each layer itself: errors.As would skip a RequestError
		// (and its parameter) to reach the MultiError inside it.
		switch e := err.(type) {
		case openapi3.MultiError:
			for _, inner := range e {
				walk(inner, param)
			}
		case *openapi3filter.RequestError:
			if e.Parameter != nil {
				param = e.Parameter.Name
			}
			if e.Err == nil {
				out = append(out, &Error{Status: http.StatusBadRequest, Parameter: param, Detail: e.Reason})
				return
			}
			walk(e.Err, param)
		case *openapi3.SchemaError:
			out = append(out, schemaError(e, param))
		default:
			if inner := errors.Unwrap(err); inner != nil {
				walk(inner, param)
				return
			}
			out = append(out, &Error{Status: http.StatusBadRequest, Parameter: param, Detail: "the request is invalid"})
		}
	}
	walk(err, "")
	if len(out) == 0 {
		return errBadRequest("", "the request is invalid")
	}
	return mergeByPointer(out)
}

func schemaError(e *openapi3.SchemaError, param string) *Error {
	path := e.JSONPointer()
	reason := e.Reason
	switch e.SchemaField {
	case "required", "additionalProperties":
		if m := quotedName.FindStringSubmatch(reason); m != nil {
			path = append(path, m[1])
		}
	case "format":
		reason = "value must be a valid " + e.Schema.Format
		if e.Schema.Format == "date-time" {
			reason = "value must be an RFC 3339 timestamp such as 2026-11-28T05:51:57.123Z"
		}
	}
	if strings.Contains(reason, "json.Number") || strings.Contains(reason, "float64") {
		reason = "value is not a representable number"
	}
	out := &Error{Status: http.StatusBadRequest, Detail: reason}
	if param != "" {
		out.Parameter = param
		return out
	}
	var sb strings.Builder
	for _, p := range path {
		sb.WriteString("/")
		sb.WriteString(escapePointer(p))
	}
	out.Pointer = sb.String()
	return out
}

// mergeByPointer keeps one error per pointer, prefixing the member's name.
// The branches of a oneOf fail together ("value must be a string", "value
// must be an integer"): they become one error listing the accepted types.
func mergeByPointer(errs Errors) Errors {
	var out Errors
	seen := map[string]*Error{}
	for _, e := range errs {
		key := e.Pointer + "\x00" + e.Parameter
		prev, ok := seen[key]
		if !ok {
			seen[key] = e
			out = append(out, e)
			continue
		}
		if t, ok := strings.CutPrefix(e.Detail, "value must be "); ok && strings.HasPrefix(prev.Detail, "value must be ") {
			prev.Detail += " or " + t
		}
	}
	for _, e := range out {
		switch {
		case e.Pointer != "":
			e.Detail = e.Pointer[strings.LastIndex(e.Pointer, "/")+1:] + ": " + e.Detail
		case e.Parameter != "":
			e.Detail = e.Parameter + ": " + e.Detail
		}
	}
	return out
}
