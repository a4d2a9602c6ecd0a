package db

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// ListQuery selects, orders and pages a list. The zero value lists
// everything by created_at, ascending.
//
// Sort names a column from the list's whitelist (see ListContacts,
// ListPeople, ListPhones); ties are always broken by id in the same
// direction, so paging is stable. Text columns sort by their bytes
// (SQLite's BINARY collation: case-sensitive, "Z" before "a").
type ListQuery struct {
	Sort   string // "" means "created_at"
	Desc   bool
	Limit  int // rows per page, >= 0; 0 means no limit
	Offset int // rows to skip, >= 0

	// Filters; nil means no filter.
	UpdatedAt, UpdatedInDBAt *Range
	Primary, Historic        *bool   // phones only
	Location                 *string // phones only; exact match
}

// Range is an inclusive interval of instants at millisecond precision:
// both bounds are truncated to the millisecond and a stored value equal
// to either matches. A nil bound is open. A From after To matches nothing.
type Range struct {
	From, To *time.Time
}

// listSpec describes one kind of list. Every identifier in it is a
// constant of this package; user input only ever reaches SQL as a bound
// parameter or as a key looked up in sorts.
type listSpec struct {
	what         string            // for error messages: "contacts"
	table        string            // table listed
	columns      string            // columns selected
	parent       string            // column holding the parent's id
	parentTable  string            // table of the parent, keyed by id
	parentNoun   string            // for error messages: "person"
	sorts        map[string]string // sort name → column
	nullable     map[string]bool   // sortable columns that may be NULL
	phoneFilters bool              // Primary, Historic and Location apply
	// counter is the account_lists column counting every row of the list
	// (migration 0006), "" when there is none: an unfiltered list reads
	// its total there instead of counting.
	counter string
}

var contactList = listSpec{
	what: "contacts", table: "contacts", columns: contactColumns,
	parent: "account_list_id", parentTable: "account_lists", counter: "contacts_count",
	sorts: map[string]string{
		"created_at": "created_at", "updated_at": "updated_at", "updated_in_db_at": "updated_in_db_at",
		"name": "name",
	},
}

var personList = listSpec{
	what: "people", table: "people", columns: personColumns,
	parent: "contact_id", parentTable: "contacts", parentNoun: "contact",
	sorts: map[string]string{
		"created_at": "created_at", "updated_at": "updated_at", "updated_in_db_at": "updated_in_db_at",
		"first_name": "first_name", "last_name": "last_name",
	},
	nullable: map[string]bool{"last_name": true},
}

var phoneList = listSpec{
	what: "phones", table: "phones", columns: phoneColumns,
	parent: "person_id", parentTable: "people", parentNoun: "person",
	sorts: map[string]string{
		"created_at": "created_at", "updated_at": "updated_at", "updated_in_db_at": "updated_in_db_at",
	},
	phoneFilters: true,
}

// listSQL is a page query and the matching count query.
type listSQL struct {
	page     string
	pageArgs []any
	// counted is page with one more column, the number of rows matching
	// the filters (COUNT(*) OVER ()): a page and its total in one
	// statement, for lists whose rows are few (listIn).
	counted   string
	count     string
	countArgs []any
}

// build returns the queries listing the children of parentID in dialect
// d, or an error wrapping ErrInvalidQuery.
func (ls listSpec) build(d *dialect, parentID string, q ListQuery) (listSQL, error) {
	return ls.buildWhere(d, parentID, q, "", nil)
}

// buildWhere is build with one more condition, extra with its arguments,
// when extra is not empty.
func (ls listSpec) buildWhere(d *dialect, parentID string, q ListQuery, extra string, extraArgs []any) (listSQL, error) {
	sort := q.Sort
	if sort == "" {
		sort = "created_at"
	}
	col, ok := ls.sorts[sort]
	if !ok {
		return listSQL{}, fmt.Errorf("%w: %s cannot be sorted by %q", ErrInvalidQuery, ls.what, q.Sort)
	}
	if q.Limit < 0 || q.Offset < 0 {
		return listSQL{}, fmt.Errorf("%w: negative limit or offset", ErrInvalidQuery)
	}
	if !ls.phoneFilters && (q.Primary != nil || q.Historic != nil || q.Location != nil) {
		return listSQL{}, fmt.Errorf("%w: %s cannot be filtered by primary, historic or location", ErrInvalidQuery, ls.what)
	}

	var w where
	w.add(ls.parent+" = "+d.textArg, parentID)
	w.addRange("updated_at", q.UpdatedAt)
	w.addRange("updated_in_db_at", q.UpdatedInDBAt)
	if q.Primary != nil {
		w.add(`"primary" = ?`, *q.Primary)
	}
	if q.Historic != nil {
		w.add("historic = ?", *q.Historic)
	}
	if q.Location != nil {
		w.add("location = ?", *q.Location)
	}
	if extra != "" {
		w.add(extra, extraArgs...)
	}
	cond := w.String()

	order := orderBy(q.Desc, col, "id")
	if d.explicitNulls && ls.nullable[col] {
		order = orderByNulls(q.Desc, col) + ", " + orderBy(q.Desc, "id")
	}
	st := listSQL{
		page: `SELECT ` + ls.columns + ` FROM ` + ls.table + ` WHERE ` + cond +
			` ORDER BY ` + order + d.limitOffset(),
		counted: `SELECT ` + ls.columns + `, COUNT(*) OVER () FROM ` + ls.table + ` WHERE ` + cond +
			` ORDER BY ` + order + d.limitOffset(),
		pageArgs:  append(w.args[:len(w.args):len(w.args)], d.limitArg(q.Limit), q.Offset),
		count:     `SELECT COUNT(*) FROM ` + ls.table + ` WHERE ` + cond,
		countArgs: w.args,
	}
	if ls.counter != "" && len(w.conds) == 1 { // no filter: the parent's counter (0 when there is no parent)
		st.count = `SELECT COALESCE((SELECT ` + ls.counter + ` FROM account_lists WHERE id = ` + d.textArg + `), 0)`
		st.countArgs = []any{parentID}
	}
	return st, nil
}

// where builds a conjunction of conditions with their arguments.
type where struct {
	conds []string
	args  []any
}

func (w *where) add(cond string, args ...any) {
	w.conds = append(w.conds, cond)
	w.args = append(w.args, args...)
}

// addRange adds the bounds of r, if any, on col.
func (w *where) addRange(col string, r *Range) {
	if r == nil {
		return
	}
	if r.From != nil {
		w.add(col+" >= ?", normTime(*r.From).UnixMilli())
	}
	if r.To != nil {
		w.add(col+" <= ?", normTime(*r.To).UnixMilli())
	}
}

func (w *where) String() string {
	return strings.Join(w.conds, " AND ")
}

// orderBy returns an ORDER BY list of cols, all in one direction.
func orderBy(desc bool, cols ...string) string {
	dir := " ASC"
	if desc {
		dir = " DESC"
	}
	return strings.Join(cols, dir+", ") + dir
}

// orderByNulls returns the ORDER BY term of a nullable column with NULLs
// first ascending and last descending, as SQLite sorts them.
func orderByNulls(desc bool, col string) string {
	if desc {
		return col + " DESC NULLS LAST"
	}
	return col + " ASC NULLS FIRST"
}

// limitArg converts a limit where 0 means none to the dialect's LIMIT
// argument.
func (d *dialect) limitArg(limit int) any {
	if limit == 0 {
		return d.noLimit
	}
	return limit
}

// list runs ls for parentID; see runList.
func list[T any](ctx context.Context, s *Store, ls listSpec, parentID string, q ListQuery, scan func(scanner) (T, error)) ([]T, int, error) {
	st, err := ls.build(s.d, parentID, q)
	if err != nil {
		return nil, 0, err
	}
	return runList(ctx, s, st, q.Limit, q.Offset, ls.parentTable, parentID, scan)
}

// runList runs st in one read snapshot and returns the page and the number
// of rows matching the filters. It returns ErrNotFound if no row matches
// and there is no row parentID in parentTable.
func runList[T any](ctx context.Context, s *Store, st listSQL, limit, offset int, parentTable, parentID string, scan func(scanner) (T, error)) ([]T, int, error) {
	var items []T
	var total int
	err := s.readTx(ctx, func(tx conn) error {
		var err error
		items, total, err = pageAndCount(ctx, tx, st, limit, offset, scan)
		if err != nil || total > 0 {
			return err
		}
		ok, err := exists(ctx, tx, `SELECT 1 FROM `+parentTable+` WHERE id = ?`, parentID)
		if err != nil {
			return err
		}
		if !ok {
			return ErrNotFound
		}
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	return items, total, nil
}

// pageAndCount runs the page query and, unless the page shows the total,
// the count query. The page shows it when it is the last one: shorter than
// the limit (or unlimited), and not past the end (it has rows, or it is
// the first page).
func pageAndCount[T any](ctx context.Context, q queryer, st listSQL, limit, offset int, scan func(scanner) (T, error)) ([]T, int, error) {
	items, err := queryAll(ctx, q, scan, st.page, st.pageArgs...)
	if err != nil {
		return nil, 0, err
	}
	if (limit == 0 || len(items) < limit) && (offset == 0 || len(items) > 0) {
		return items, offset + len(items), nil
	}
	var total int
	if err := q.QueryRowContext(ctx, st.count, st.countArgs...).Scan(&total); err != nil {
		return nil, 0, err
	}
	return items, total, nil
}

// queryAll runs query and scans every row; the slice is non-nil.
func queryAll[T any](ctx context.Context, q queryer, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	items := []T{}
	for rows.Next() {
		item, err := scan(rows)
		if err != nil {
			return nil, classify(ctx, err)
		}
		items = append(items, item)
	}
	if err := rows.Err(); err != nil {
		return nil, classify(ctx, err)
	}
	return items, nil
}
