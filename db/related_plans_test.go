package db

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestBatchedReadsPlans: the batched reads behind compound documents
// (related.go) cost what the page costs, one index lookup per id,
// whatever the size of the account list. Without the account-list
// condition hidden from SQLite's planner (dialect.unindexed), it drove
// PeopleOf and ContactsByID from 3 ids on, PeopleByID from 4, and PeopleOf
// with 1 id, through an account_list_id index, reading the whole account
// list (measured with Seed: PeopleOf of a 25-contact page ~0.33 ms with
// 1,000 contacts, ~18 ms with 50,000). It checks the statements the
// store runs.
func TestBatchedReadsPlans(t *testing.T) {
	s, _ := newStore(t)
	type read struct {
		name, table, column string
		sql                 func(in string) string
		limit               bool
	}
	all := []read{
		{"PeopleOf", "people", "contact_id", func(in string) string { return peopleOfSQL(s.d, in) }, true},
		{"PhonesOf", "phones", "person_id", func(in string) string { return phonesOfSQL(s.d, in) }, true},
		{"ContactsByID", "contacts", "id", func(in string) string { return contactsByIDSQL(s.d, in) }, false},
		{"PeopleByID", "people", "id", func(in string) string { return peopleByIDSQL(s.d, in) }, false},
	}
	for _, r := range all {
		search := regexp.MustCompile(`^SEARCH ` + r.table + ` USING (COVERING )?INDEX \w+ \(` + r.column + `=\?`)
		for _, n := range []int{1, 2, 3, 25, 500} {
			ids := make([]string, n)
			for i := range ids {
				ids[i] = letterID(i)
			}
			in, args := inList("00000000-0000-0000-0000-000000000001", ids)
			if r.limit {
				args = append(args, 10_001)
			}
			plan := queryPlan(t, s, r.sql(in), args...)
			label := fmt.Sprintf("%s of %d ids, plan:\n\t%s", r.name, n, strings.Join(plan, "\n\t"))
			if len(plan) == 0 || !search.MatchString(plan[0]) {
				t.Errorf("%s\ndoes not search %s by %s: it reads the whole account list", label, r.table, r.column)
			}
			if slices.ContainsFunc(plan, func(l string) bool { return strings.Contains(l, "TEMP B-TREE") }) {
				t.Errorf("%s\nsorts in a temporary B-tree", label)
			}
		}
	}
}
