package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Setting returns the value stored under key, or ErrNotFound if it is
// unset.
func (s *Store) Setting(ctx context.Context, key string) (string, error) {
	var value string
	err := s.reader().QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&value)
	if err != nil {
		return "", fmt.Errorf("setting %q: %w", key, mapError(err))
	}
	return value, nil
}

// InitSetting stores value under key unless key is already set, and returns
// the stored value either way. Concurrent calls all return the same value.
func (s *Store) InitSetting(ctx context.Context, key, value string) (string, error) {
	var stored string
	err := s.inTx(ctx, func(tx conn) error {
		_, err := tx.ExecContext(ctx,
			`INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`, key, value)
		if err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&stored)
	})
	if err != nil {
		return "", fmt.Errorf("init setting %q: %w", key, mapError(err))
	}
	return stored, nil
}

// EnsureUser returns the account list of the user, creating the user and an
// account list of its own on first use. Concurrent first calls for one
// user return the same account list.
func (s *Store) EnsureUser(ctx context.Context, userID string) (accountListID string, err error) {
	ctx, sp := s.tr.start(ctx, "EnsureUser")
	defer sp.end(&err)
	userID = normID(userID)
	if userID == "" {
		return "", errors.New("ensure user: empty user id")
	}
	const q = `SELECT account_list_id FROM users WHERE id = ?`

	// Fast path without the write lock: the user usually exists.
	err = s.reader().QueryRowContext(ctx, q, userID).Scan(&accountListID)
	if err == nil {
		return accountListID, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("ensure user %s: %w", userID, err)
	}

	// Look again in a write transaction, and create the user unless it
	// exists. Two first calls at once on PostgreSQL both insert; the
	// second insert waits for the first to commit and then inserts
	// nothing: that caller takes the first one's account list and rolls
	// back its own.
	err = s.inTx(ctx, func(tx conn) error {
		err := tx.QueryRowContext(ctx, q, userID).Scan(&accountListID)
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		now := s.clock().UnixMilli()
		created := s.newID()
		_, err = tx.ExecContext(ctx,
			`INSERT INTO account_lists (id, created_at) VALUES (?, ?)`, created, now)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx,
			`INSERT INTO users (id, account_list_id, created_at) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING`,
			userID, created, now)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			accountListID = created
			return err
		}
		if err := tx.QueryRowContext(ctx, q, userID).Scan(&accountListID); err != nil {
			return err
		}
		return errRollback
	})
	if errors.Is(err, errRollback) {
		return accountListID, nil
	}
	if err != nil {
		return "", fmt.Errorf("ensure user %s: %w", userID, mapError(err))
	}
	return accountListID, nil
}
