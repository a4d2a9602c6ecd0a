package handlers

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/phoneapi/phoneapi/db"
)

// seededUser returns a token for a new user whose account list holds
// contacts × people × phones rows written by db.Seed.
func seededUser(t *testing.T, a *api, contacts, people, phones int) string {
	t.Helper()
	ctx := context.Background()
	user := uuid.NewString()
	al, err := a.store.EnsureUser(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.store.Seed(ctx, db.SeedOptions{AccountListID: al, Contacts: contacts, PeoplePerContact: people, PhonesPerPerson: phones}); err != nil {
		t.Fatal(err)
	}
	tok, err := IssueToken(testSecret, user, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// countStatements makes every request through a.e count its SQL
// statements; the returned func gives the last request's count.
func countStatements(a *api) func() int64 {
	var last *db.StatementCount
	a.e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			ctx, n := db.CountStatements(c.Request().Context())
			c.SetRequest(c.Request().WithContext(ctx))
			last = n
			return next(c)
		}
	})
	return func() int64 { return last.N() }
}

// A list with include reads its included resources in a bounded number of
// statements whatever the page size: one per include path level, besides
// the page itself.
func TestIncludeStatementCount(t *testing.T) {
	a := newAPI(t)
	tok := seededUser(t, a, 250, 2, 3) // 500 people, 1,500 phones
	last := countStatements(a)
	mustGet(t, a, tok, "/api/v2/contacts?per_page=1") // the user is known from now on

	cases := []struct {
		path     string
		included int // at the largest page
		max      int64
	}{
		// The page, and its count when the page is not the last: 2. Each
		// include level: 1.
		{"/api/v2/contacts?include=people.phone_numbers", 500 + 1500, 4},
		{"/api/v2/contacts/people?include=phone_numbers,contact", 1500 + 250, 4},
		{"/api/v2/contacts/people?include=phone_numbers", 1500, 3},
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			var counts []int64
			for _, perPage := range []int{1, 25, 500} {
				r := forTest(a, t).do(req{Method: "GET", Path: fmt.Sprintf("%s&per_page=%d", tc.path, perPage), Token: tok})
				r.want(t, http.StatusOK, "")
				n := last()
				counts = append(counts, n)
				if n > tc.max {
					t.Errorf("per_page=%d: %d statements, want at most %d", perPage, n, tc.max)
				}
				inc, _ := includedObjects(r)
				if perPage == 500 && len(inc) != tc.included {
					t.Errorf("per_page=500: %d included, want %d", len(inc), tc.included)
				}
			}
			t.Logf("statements at per_page 1, 25, 500: %v", counts)
		})
	}
	// Without include, the page alone.
	mustGet(t, a, tok, "/api/v2/contacts/people?per_page=500&page=2")
	if n := last(); n > 2 {
		t.Errorf("plain list: %d statements, want at most 2", n)
	}
}

// A compound document holds at most maxIncluded included resources:
// beyond it the request is 400 asking for a smaller page, naming per_page
// on lists and include on single resources.
func TestIncludeTooLarge(t *testing.T) {
	a := newAPI(t)
	tok := seededUser(t, a, 500, 1, 20) // 500 people with 20 phones each
	// 250 people and 5,000 phones: fine.
	r := a.do(req{Method: "GET", Path: "/api/v2/contacts?per_page=250&include=people.phone_numbers", Token: tok})
	r.want(t, http.StatusOK, "")
	if inc, _ := includedObjects(r); len(inc) != 250+5000 {
		t.Errorf("%d included, want 5,250", len(inc))
	}
	// 500 people and 10,000 phones: over the bound.
	r = a.do(req{Method: "GET", Path: "/api/v2/contacts?per_page=500&include=people.phone_numbers", Token: tok})
	wantParam(t, r, "per_page", "")
	// 10,000 phones alone are at the bound.
	r = a.do(req{Method: "GET", Path: "/api/v2/contacts/people?per_page=500&include=phone_numbers", Token: tok})
	r.want(t, http.StatusOK, "")
	if inc, _ := includedObjects(r); len(inc) != maxIncluded {
		t.Errorf("%d included, want %d", len(inc), maxIncluded)
	}
	r = a.do(req{Method: "GET", Path: "/api/v2/contacts/people?per_page=500&include=phone_numbers,contact", Token: tok})
	wantParam(t, r, "per_page", "")
}
