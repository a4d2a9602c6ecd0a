package db

import (
	"context"
	"database/sql"
	"errors"
)

// queryer is implemented by conn.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (resultRows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *row
}

// scanner is implemented by *row and *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

// exists reports whether query, which selects one row or none, finds a row.
func exists(ctx context.Context, q queryer, query string, args ...any) (bool, error) {
	var one int
	err := q.QueryRowContext(ctx, query, args...).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, nil
}
