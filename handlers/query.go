package handlers

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/phoneapi/phoneapi/db"
)

// Paging defaults and limits.
const (
	defaultPerPage = 25
	maxPerPage     = 500
)

// The query parameters of the JSON:API families this server is strict about.
var strictFamilies = []string{"filter[", "fields[", "page["}

// queryShape is what an operation accepts in its query string, read from
// its parameters in the spec.
type queryShape struct {
	declared map[string]bool     // every declared query parameter
	sorts    map[string]bool     // sort values from the enum of "sort", if any
	fields   map[string]fieldset // "fields[type]" → the type's attribute and relationship names
	include  string              // the primary data's type, when "include" is declared
	list     bool                // paged list
	sort     string              // default sort: the first value of the sort enum
}

func newQueryShape(spec *openapi3.T, op *openapi3.Operation) (*queryShape, error) {
	q := &queryShape{declared: map[string]bool{}, fields: map[string]fieldset{}}
	for _, ref := range op.Parameters {
		p := ref.Value
		if p.In != openapi3.ParameterInQuery {
			continue
		}
		q.declared[p.Name] = true
		switch {
		case p.Name == "page":
			q.list = true
		case p.Name == "sort":
			q.sorts = map[string]bool{}
			for i, v := range p.Schema.Value.Enum {
				if i == 0 {
					q.sort = fmt.Sprint(v)
				}
				q.sorts[fmt.Sprint(v)] = true
			}
		case p.Name == "include":
			typ, err := primaryType(spec, op)
			if err != nil {
				return nil, fmt.Errorf("handlers: %s: %w", op.OperationID, err)
			}
			q.include = typ
		case strings.HasPrefix(p.Name, "fields["):
			typ := strings.TrimSuffix(strings.TrimPrefix(p.Name, "fields["), "]")
			names, err := attributeNames(spec, typ)
			if err != nil {
				return nil, fmt.Errorf("handlers: %s: %w", op.OperationID, err)
			}
			q.fields[p.Name] = names
		}
	}
	return q, nil
}

// primaryType returns the resource type of an operation's primary data:
// the data.type enum of its 200 (or 201) response's schema (data, or data's
// items for a list).
func primaryType(spec *openapi3.T, op *openapi3.Operation) (string, error) {
	r := op.Responses.Value("200")
	if r == nil {
		r = op.Responses.Value("201")
	}
	if r == nil || r.Value == nil {
		return "", fmt.Errorf("include declared without a 200 or 201 response")
	}
	for _, mt := range r.Value.Content {
		if mt.Schema == nil || mt.Schema.Value.Properties["data"] == nil {
			continue
		}
		data := mt.Schema.Value.Properties["data"].Value
		if data.Items != nil {
			data = data.Items.Value
		}
		if t := data.Properties["type"]; t != nil && len(t.Value.Enum) == 1 {
			return fmt.Sprint(t.Value.Enum[0]), nil
		}
	}
	return "", fmt.Errorf("include declared, but no data.type in the success response")
}

// attributeNames returns the attribute and relationship names of a
// resource type (what fields[TYPE] may select), from the response schema
// whose data.type enum names it.
func attributeNames(spec *openapi3.T, typ string) (fieldset, error) {
	for _, ref := range spec.Components.Schemas {
		s := ref.Value
		t, attrs := s.Properties["type"], s.Properties["attributes"]
		if t == nil || attrs == nil || s.Properties["id"] == nil || len(t.Value.Enum) != 1 || fmt.Sprint(t.Value.Enum[0]) != typ {
			continue
		}
		names := fieldset{}
		for name := range attrs.Value.Properties {
			names[name] = true
		}
		if rel := s.Properties["relationships"]; rel != nil {
			for name := range rel.Value.Properties {
				names[name] = true
			}
		}
		return names, nil
	}
	return nil, fmt.Errorf("no resource schema for type %q", typ)
}

// fieldset is a set of attribute names; nil means every attribute.
type fieldset map[string]bool

// has reports whether name is in the set (always true for a nil set).
func (f fieldset) has(name string) bool { return f == nil || f[name] }

// listQuery is a list request as the handler runs it: paging, sort and
// filters converted for the store, and what its meta and links echo.
type listQuery struct {
	page, perPage int
	sort          string            // as given, e.g. "-updated_at"
	filter        map[string]string // as given, keyed without "filter[...]"
	db            db.ListQuery
	since         *time.Time // deleted_records
	types         []string   // deleted_records
	path          string     // request path, for links
	rest          url.Values // query parameters other than paging, for links
}

func errParam(param, format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Parameter: param, Detail: fmt.Sprintf(format, args...)}
}

// timeForms describes the accepted forms of a range filter, for errors.
const timeForms = "use A..B (inclusive), A...B (end-exclusive), A.. or ..B, or a single value, where A and B are dates (YYYY-MM-DD) or RFC 3339 timestamps"

// check applies the rules of the query string that the spec cannot
// express, or whose wording the spec's validation would change, before
// that validation runs: the strict parameter families (an undeclared
// filter[…], fields[…] or page[…] is 400), each declared parameter at most
// once, page and its alias not both, the names in fields[TYPE], the
// bounds of page and per_page, the sort values (in the source system's
// words) and the filter values. values is the request's query, parsed
// once by Echo (echo.Context.QueryParams) for every reader. Errors are
// 400 with source.parameter naming the parameter. The handlers then take
// the same parameters, typed, from their generated request objects
// (newList, fieldsOf).
func (qs *queryShape) check(values url.Values) error {
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, fam := range strictFamilies {
			if strings.HasPrefix(k, fam) && !qs.declared[k] {
				return errParam(k, "%s is not a supported query parameter of this endpoint", k)
			}
		}
		if qs.declared[k] && len(values[k]) > 1 {
			return errParam(k, "%s may be given only once", k)
		}
	}
	// In the order of the keys and of the names in each value, so that the
	// error (of the first unknown name) is the same every time.
	for _, name := range keys {
		known, ok := qs.fields[name]
		if !ok {
			continue
		}
		for _, f := range strings.Split(values[name][0], ",") {
			if f = strings.TrimSpace(f); f != "" && !known[f] {
				return errParam(name, "%q is not an attribute or relationship of %s", f, strings.TrimSuffix(strings.TrimPrefix(name, "fields["), "]"))
			}
		}
	}
	if raw, ok := values["include"]; ok && qs.include != "" {
		if err := checkInclude(qs.include, raw[0]); err != nil {
			return err
		}
	}
	if !qs.list {
		return nil
	}
	page, err := pageParam(values, "page", "page[number]", 1, math.MaxInt32)
	if err != nil {
		return err
	}
	perPage, err := pageParam(values, "per_page", "page[size]", defaultPerPage, maxPerPage)
	if err != nil {
		return err
	}
	if raw, ok := values["sort"]; ok {
		s := raw[0]
		if strings.Contains(s, ",") {
			return errParam("sort", "This endpoint does not support multiple sorting parameters.")
		}
		if !qs.sorts[s] {
			return errParam("sort", "Sorting by %s is not supported for this endpoint.", strings.TrimPrefix(s, "-"))
		}
	}
	if page > math.MaxInt32/perPage {
		return errParam("page", "page is too large")
	}
	var l listQuery
	for _, k := range keys {
		if name, ok := filterName(k); ok {
			if err := l.setFilter(k, name, values[k][0]); err != nil {
				return err
			}
		}
	}
	return nil
}

// filterName returns NAME of a "filter[NAME]" parameter.
func filterName(param string) (string, bool) {
	rest, ok := strings.CutPrefix(param, "filter[")
	if !ok {
		return "", false
	}
	return strings.TrimSuffix(rest, "]"), true
}

// fieldsOf returns the sparse fieldset of a fields[TYPE] parameter: nil
// (every attribute) when it is absent.
func fieldsOf(raw *string) fieldset {
	if raw == nil {
		return nil
	}
	f := fieldset{}
	for _, name := range strings.Split(*raw, ",") {
		if name = strings.TrimSpace(name); name != "" {
			f[name] = true
		}
	}
	return f
}

// listParams is what a list operation's generated params hold, by the
// spec's names; check has already accepted every value.
type listParams struct {
	page, perPage *int               // page or page[number], per_page or page[size]
	sort          *string            // nil: the operation's default
	defaultSort   string             // the first value of the sort enum
	filter        map[string]*string // by NAME of filter[NAME]; nil values are absent
	keep          map[string]*string // other parameters the links repeat (fields[TYPE], include)
}

// either returns a, else b: a parameter or its alias (check allows one).
func either(a, b *int) *int {
	if a != nil {
		return a
	}
	return b
}

// newList converts a list operation's params into the store's query and
// what meta and links echo; path is the collection's path, for links.
// Errors are those of check (400), which has run before.
func newList(path string, p listParams) (*listQuery, error) {
	l := &listQuery{page: 1, perPage: defaultPerPage, sort: p.defaultSort, filter: map[string]string{}, path: path, rest: url.Values{}}
	if p.page != nil {
		l.page = *p.page
	}
	if p.perPage != nil {
		l.perPage = *p.perPage
	}
	if p.sort != nil {
		l.sort = *p.sort
		l.rest.Set("sort", l.sort)
	}
	l.db.Sort = strings.TrimPrefix(l.sort, "-")
	l.db.Desc = strings.HasPrefix(l.sort, "-")
	l.db.Limit = l.perPage
	l.db.Offset = (l.page - 1) * l.perPage
	for name, v := range p.filter {
		if v == nil {
			continue
		}
		param := "filter[" + name + "]"
		if err := l.setFilter(param, name, *v); err != nil {
			return nil, err
		}
		l.filter[name] = *v
		l.rest.Set(param, *v)
	}
	for param, v := range p.keep {
		if v != nil {
			l.rest.Set(param, *v)
		}
	}
	return l, nil
}

func (l *listQuery) setFilter(param, name, v string) error {
	switch name {
	case "updated_at", "updated_in_db_at":
		r, err := parseRange(v)
		if err != nil {
			return errParam(param, "%s: %q is not a valid range; %s", param, v, timeForms)
		}
		if name == "updated_at" {
			l.db.UpdatedAt = r
		} else {
			l.db.UpdatedInDBAt = r
		}
	case "primary", "historic":
		b, err := parseBool(v)
		if err != nil {
			return errParam(param, "%s must be true or false", param)
		}
		if name == "primary" {
			l.db.Primary = &b
		} else {
			l.db.Historic = &b
		}
	case "location":
		l.db.Location = &v
	case "since":
		from, _, err := parseInstant(v)
		if err != nil {
			return errParam(param, "%s: %q is not a date (YYYY-MM-DD) or an RFC 3339 timestamp", param, v)
		}
		from = ceilMilli(from) // deletions are stored to the millisecond
		l.since = &from
	case "types":
		for _, t := range strings.Split(v, ",") {
			t = strings.TrimSpace(t)
			switch t {
			case "contacts", "people", "phone_numbers":
				l.types = append(l.types, t)
			default:
				return errParam(param, "%s: %q is not one of contacts, people, phone_numbers", param, t)
			}
		}
	default:
		return errParam(param, "%s is not a supported filter", param)
	}
	return nil
}

func parseBool(v string) (bool, error) {
	switch v {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fmt.Errorf("not a boolean: %q", v)
}

// pageParam reads a positive integer parameter given by name or by its
// alias, at most max; def when neither is given.
func pageParam(values url.Values, name, alias string, def, max int) (int, error) {
	raw, byName := values[name]
	rawAlias, byAlias := values[alias]
	if byName && byAlias {
		return 0, errParam(alias, "give %s or %s, not both", name, alias)
	}
	param := name
	if byAlias {
		raw, param = rawAlias, alias
	} else if !byName {
		return def, nil
	}
	n, err := strconv.Atoi(raw[0])
	if err != nil || n < 1 {
		return 0, errParam(param, "%s must be a positive integer", param)
	}
	if n > max {
		return 0, errParam(param, "%s must be at most %d", param, max)
	}
	return n, nil
}

// parseInstant parses a UTC date or an RFC 3339 timestamp. For a date it
// returns its first instant and the first instant of the next day; for a
// timestamp, the instant twice.
func parseInstant(v string) (start, end time.Time, err error) {
	if len(v) == len("2006-01-02") {
		d, err := time.Parse("2006-01-02", v)
		if err != nil {
			return time.Time{}, time.Time{}, err
		}
		return d, d.AddDate(0, 0, 1), nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	t = t.UTC()
	return t, t, nil
}

// parseRange parses a range filter into inclusive millisecond bounds.
func parseRange(v string) (*db.Range, error) {
	lo, hi, exclusive := v, v, false
	switch {
	case strings.Contains(v, "..."):
		lo, hi, _ = strings.Cut(v, "...")
		exclusive = true
	case strings.Contains(v, ".."):
		lo, hi, _ = strings.Cut(v, "..")
	}
	if (lo == "" && hi == "") || (exclusive && (lo == "" || hi == "")) {
		return nil, fmt.Errorf("empty range")
	}
	r := &db.Range{}
	if lo != "" {
		start, _, err := parseInstant(lo)
		if err != nil {
			return nil, err
		}
		from := ceilMilli(start)
		r.From = &from
	}
	if hi != "" {
		start, end, err := parseInstant(hi)
		if err != nil {
			return nil, err
		}
		var to time.Time
		switch {
		case exclusive:
			to = ceilMilli(start).Add(-time.Millisecond)
		case end.After(start): // an inclusive date: up to its last instant
			to = end.Add(-time.Millisecond)
		default:
			to = start.Truncate(time.Millisecond)
		}
		r.To = &to
	}
	return r, nil // From after To is valid: it matches nothing
}

// ceilMilli rounds t up to the millisecond.
func ceilMilli(t time.Time) time.Time {
	if f := t.Truncate(time.Millisecond); !f.Equal(t) {
		return f.Add(time.Millisecond)
	}
	return t
}
