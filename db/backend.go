package db

import (
	"context"
	"strings"
)

// Backend is the store contract: what the server and the command line
// need from a database. Both engines implement it with *Store; Open picks
// the engine from the DSN.
type Backend interface {
	Migrate(ctx context.Context) error
	Close() error
	// Ready reports whether the database is reachable and migrated (ready.go).
	Ready(ctx context.Context) error

	Setting(ctx context.Context, key string) (string, error)
	InitSetting(ctx context.Context, key, value string) (string, error)
	EnsureUser(ctx context.Context, userID string) (accountListID string, err error)
	Seed(ctx context.Context, o SeedOptions) (SeedResult, error)

	ListContacts(ctx context.Context, accountListID string, q ListQuery) ([]Contact, int, error)
	Contact(ctx context.Context, id string) (Contact, error)
	CreateContact(ctx context.Context, c Contact) (Contact, error)
	UpdateContact(ctx context.Context, accountListID, id string, u ContactUpdate, pre *Precondition) (Contact, error)
	DeleteContact(ctx context.Context, accountListID, id string, pre *Precondition) error

	ListPeople(ctx context.Context, contactID string, q ListQuery) ([]Person, int, error)
	Person(ctx context.Context, contactID, id string) (Person, error)
	CreatePerson(ctx context.Context, sc Scope, p Person) (Person, error)
	UpdatePerson(ctx context.Context, sc Scope, id string, u PersonUpdate, pre *Precondition) (Person, error)
	DeletePerson(ctx context.Context, sc Scope, id string, pre *Precondition) error

	ListPhones(ctx context.Context, personID string, q ListQuery) ([]Phone, int, error)
	Phone(ctx context.Context, personID, id string) (Phone, error)
	// CheckScope, ListPhonesIn and PhoneIn check the path to a person in
	// the same query or snapshot as their work (scope.go).
	CheckScope(ctx context.Context, sc Scope) error
	ListPhonesIn(ctx context.Context, sc Scope, q ListQuery) ([]Phone, int, error)
	PhoneIn(ctx context.Context, sc Scope, id string) (Phone, error)
	CreatePhone(ctx context.Context, sc Scope, p NewPhone) (Phone, error)
	UpdatePhone(ctx context.Context, sc Scope, id string, u PhoneUpdate, pre *Precondition) (Phone, error)
	DeletePhone(ctx context.Context, sc Scope, id string, pre *Precondition) error

	ListDeleted(ctx context.Context, accountListID string, q DeletedQuery) ([]Deleted, int, error)
}

var _ Backend = (*Store)(nil)

// Open opens the database dsn names with default options: a postgres:// or
// postgresql:// URL opens PostgreSQL (see OpenPostgres); anything else is
// a SQLite file path, optionally prefixed "sqlite:" (see OpenSQLite). It
// does not migrate; call Migrate.
func Open(ctx context.Context, dsn string) (*Store, error) {
	return OpenWith(ctx, dsn, PGOptions{}, SQLiteOptions{})
}

// OpenWith is Open with options: pg for PostgreSQL, sq for SQLite; the
// other engine's are ignored.
func OpenWith(ctx context.Context, dsn string, pg PGOptions, sq SQLiteOptions) (*Store, error) {
	if IsPostgresURL(dsn) {
		return OpenPostgres(ctx, dsn, pg)
	}
	return OpenSQLiteWith(ctx, strings.TrimPrefix(dsn, "sqlite:"), sq)
}

// Engine returns "sqlite" or "postgres".
func (s *Store) Engine() string { return s.d.name }
