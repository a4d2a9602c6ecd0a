package db

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Text the Store writes must be valid UTF-8 without U+0000: PostgreSQL
// refuses NUL in text and invalid UTF-8 in a UTF8 database, SQLite would
// store both, and an export of such a row could not be imported into the
// other engine. Both engines refuse it alike, before any statement runs:
// the writes of resources name the column (textCheck), multi-row inserts
// (seed, import) name column and row, and every statement run with
// conn.ExecContext, as every INSERT and UPDATE of text is, has its text
// arguments checked besides (checkArgs), so no path, present or future,
// stores on SQLite what PostgreSQL refuses.

// TextError is returned for a text value the Store refuses to write;
// errors.Is(err, ErrInvalidText) is true.
type TextError struct {
	Table  string // the table the value was for; "" if not known
	Column string // its column; "" if not known
	ID     string // the key of its row, if known
	Reason string // what is wrong: "contains U+0000 (NUL), ..." or "is not valid UTF-8"
}

func (e *TextError) Error() string {
	var b strings.Builder
	if e.Table != "" {
		b.WriteString(e.Table)
		if e.Column != "" {
			b.WriteString("." + e.Column)
		}
		if e.ID != "" {
			b.WriteString(" of " + strconv.Quote(strings.ToValidUTF8(e.ID, "\uFFFD")))
		}
		b.WriteString(": ")
	}
	b.WriteString("text " + e.Reason)
	return b.String()
}

// Is reports whether target is ErrInvalidText.
func (e *TextError) Is(target error) bool { return target == ErrInvalidText }

// textProblem returns what is wrong with s as stored text, or "".
func textProblem(s string) string {
	if strings.IndexByte(s, 0) >= 0 {
		return "contains U+0000 (NUL), which PostgreSQL cannot store"
	}
	if !utf8.ValidString(s) {
		return "is not valid UTF-8"
	}
	return ""
}

// textCheck checks the text columns of one row before it is written; err
// is a *TextError for the first bad value.
type textCheck struct {
	table, id string
	err       error
}

// text checks the value of a column.
func (c *textCheck) text(column, s string) {
	if c.err != nil {
		return
	}
	if why := textProblem(s); why != "" {
		c.err = &TextError{Table: c.table, Column: column, ID: c.id, Reason: why}
	}
}

// opt checks the value of a nullable column, if set.
func (c *textCheck) opt(column string, s *string) {
	if s != nil {
		c.text(column, *s)
	}
}

// checkArgs returns a *TextError for the first string argument of a
// statement that is not valid text. columns, the statement's column list
// ("a, b, ..."), may name them by position modulo width (multi-row
// inserts); else the column is not known.
func checkArgs(args []any, columns string, width int) *TextError {
	for i, a := range args {
		s, ok := a.(string)
		if !ok {
			continue
		}
		why := textProblem(s)
		if why == "" {
			continue
		}
		e := &TextError{Reason: why}
		if columns != "" && width > 0 {
			names := strings.Split(columns, ",")
			if len(names) == width {
				e.Column = strings.Trim(strings.TrimSpace(names[i%width]), `"`)
				if id, ok := args[i-i%width].(string); ok && i%width != 0 {
					e.ID = id
				}
			}
		}
		return e
	}
	return nil
}
