package handlers

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/phoneapi/phoneapi/db"
	"github.com/phoneapi/phoneapi/generated"
)

// Relationships and compound documents (JSON:API "include"). Every
// resource object carries its relationships (contacts: people; people:
// contact, phone_numbers; phones: person), each with links.related; to-one
// relationships always carry their linkage, to-many ones when their path
// is included. A request's include paths are read in one statement per
// path level, whatever the page size (PeopleOf, PhonesOf, ContactsByID,
// PeopleByID), and a document holds at most maxIncluded included
// resources.

// includePaths are the relationship paths each primary type can include,
// in the order error details list them.
var includePaths = map[string][]string{
	"contacts":        {"people", "people.phone_numbers"},
	"people":          {"contact", "phone_numbers"},
	"phone_numbers":   {"person", "person.contact"},
	"deleted_records": nil,
}

// maxIncluded is the most resources a compound document includes; a
// larger one is 400 (errTooLarge).
const maxIncluded = 10_000

// includeSet is a request's include paths, each with its prefixes
// ("people.phone_numbers" includes "people" too): nil when it names none.
type includeSet map[string]bool

// includeOf parses an include parameter that queryShape.check accepted.
func includeOf(raw *string) includeSet {
	if raw == nil {
		return nil
	}
	var set includeSet
	for _, path := range strings.Split(*raw, ",") {
		if path = strings.TrimSpace(path); path == "" {
			continue
		}
		if set == nil {
			set = includeSet{}
		}
		for i := range path {
			if path[i] == '.' {
				set[path[:i]] = true
			}
		}
		set[path] = true
	}
	return set
}

// checkInclude returns a 400 at source.parameter "include" unless raw is
// empty (no path) or every comma-separated path of it (spaces around it
// ignored; an empty one is not a path) is one typ can include.
func checkInclude(typ, raw string) error {
	if raw == "" {
		return nil
	}
	allowed := includePaths[typ]
	for _, path := range strings.Split(raw, ",") {
		if path = strings.TrimSpace(path); slices.Contains(allowed, path) {
			continue
		}
		if len(allowed) == 0 {
			return errParam("include", "%s have no relationships to include (%q)", typ, path)
		}
		return errParam("include", "%q is not a relationship path of %s; the paths are %s",
			path, typ, strings.Join(allowed, ", "))
	}
	return nil
}

// view is how a request wants resources rendered: the sparse fieldset of
// each type (nil: everything) and the paths to include, for the primary
// data and included resources alike.
type view struct {
	contacts, people, phones fieldset
	include                  includeSet
	// tooLarge is the parameter a too-large document's 400 names:
	// "per_page" for lists, "include" for single resources.
	tooLarge string
}

// viewOf returns the view of a request's fields[…] and include
// parameters.
func viewOf(contacts, people, phones, include *string) view {
	return view{contacts: fieldsOf(contacts), people: fieldsOf(people), phones: fieldsOf(phones),
		include: includeOf(include), tooLarge: "include"}
}

// list returns v for a list's documents, whose size per_page bounds.
func (v view) list() view { v.tooLarge = "per_page"; return v }

// conditional reports whether a GET may answer 304 for If-None-Match: not
// when it includes resources, whose changes the primary resource's ETag
// does not show.
func (v view) conditional() bool { return len(v.include) == 0 }

// errTooLarge is the 400 of a compound document over maxIncluded.
func errTooLarge(param string) error {
	return &Error{Status: http.StatusBadRequest, Parameter: param,
		Detail: fmt.Sprintf("the response would include more than %d related resources: ask for a smaller per_page or fewer include paths", maxIncluded)}
}

// linkage returns the ids of id's related resources from byParent when
// the relationship is included (an empty, non-nil slice when it has
// none), else nil: no linkage.
func linkage(byParent map[string][]string, id string, included bool) []string {
	if !included {
		return nil
	}
	if ids := byParent[id]; ids != nil {
		return ids
	}
	return []string{}
}

// related is what a document's primary data includes, read from the
// store: each resource once, in the order the document lists them.
type related struct {
	people   []db.Person
	phones   []db.Phone
	contacts []db.Contact
	peopleOf map[string][]string // contact → its people's ids, when included
	phonesOf map[string][]string // person → its phones' ids, when included
}

// size is the number of resources rel includes.
func (rel related) size() int { return len(rel.people) + len(rel.phones) + len(rel.contacts) }

// relatedOfContacts reads the people and phones v includes for contacts.
func (s *Server) relatedOfContacts(ctx context.Context, cs []db.Contact, v view) (related, error) {
	var rel related
	if !v.include["people"] {
		return rel, nil
	}
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = c.ID
	}
	people, err := s.store.PeopleOf(ctx, callerFrom(ctx).AccountListID, ids, maxIncluded+1)
	if err != nil {
		return related{}, err
	}
	if len(people) > maxIncluded {
		return related{}, errTooLarge(v.tooLarge)
	}
	rel.people, rel.peopleOf = people, map[string][]string{}
	for _, p := range people {
		rel.peopleOf[p.ContactID] = append(rel.peopleOf[p.ContactID], p.ID)
	}
	rel.phones, rel.phonesOf, err = s.phonesOfPeople(ctx, people, v.include["people.phone_numbers"], maxIncluded-len(people), v)
	return rel, err
}

// relatedOfPeople reads the contacts and phones v includes for people.
func (s *Server) relatedOfPeople(ctx context.Context, ps []db.Person, v view) (related, error) {
	var rel related
	if v.include["contact"] {
		contacts, err := s.store.ContactsByID(ctx, callerFrom(ctx).AccountListID, unique(ps, func(p db.Person) string { return p.ContactID }))
		if err != nil {
			return related{}, err
		}
		rel.contacts = sortedByID(contacts, func(c db.Contact) string { return c.ID })
	}
	var err error
	rel.phones, rel.phonesOf, err = s.phonesOfPeople(ctx, ps, v.include["phone_numbers"], maxIncluded-len(rel.contacts), v)
	return rel, err
}

// relatedOfPhones reads the people and contacts v includes for phones.
func (s *Server) relatedOfPhones(ctx context.Context, phs []db.Phone, v view) (related, error) {
	var rel related
	if !v.include["person"] {
		return rel, nil
	}
	al := callerFrom(ctx).AccountListID
	people, err := s.store.PeopleByID(ctx, al, unique(phs, func(p db.Phone) string { return p.PersonID }))
	if err != nil {
		return related{}, err
	}
	rel.people = sortedByID(people, func(p db.Person) string { return p.ID })
	if v.include["person.contact"] {
		contacts, err := s.store.ContactsByID(ctx, al, unique(people, func(p db.Person) string { return p.ContactID }))
		if err != nil {
			return related{}, err
		}
		rel.contacts = sortedByID(contacts, func(c db.Contact) string { return c.ID })
	}
	return rel, nil
}

// phonesOfPeople reads the phones of people when on, at most limit of
// them (else errTooLarge), and groups their ids by person. It returns
// nil phones when off.
func (s *Server) phonesOfPeople(ctx context.Context, people []db.Person, on bool, limit int, v view) ([]db.Phone, map[string][]string, error) {
	if !on {
		return nil, nil, nil
	}
	ids := make([]string, len(people))
	for i, p := range people {
		ids[i] = p.ID
	}
	phones, err := s.store.PhonesOf(ctx, callerFrom(ctx).AccountListID, ids, limit+1)
	if err != nil {
		return nil, nil, err
	}
	if len(phones) > limit {
		return nil, nil, errTooLarge(v.tooLarge)
	}
	byPerson := map[string][]string{}
	for _, ph := range phones {
		byPerson[ph.PersonID] = append(byPerson[ph.PersonID], ph.ID)
	}
	return phones, byPerson, nil
}

// list is the tail of a list document: its links and meta.
type list struct {
	links generated.ListLinks
	meta  generated.ListMeta
}

// resourceBytes is about the size of one encoded resource object: the
// buffer of a document of n resources starts at n times it, so that a
// page of 500 people with their phones is not copied as it grows.
const resourceBytes = 640

// encodeDoc encodes a document of about n resource objects: data (one
// resource object when tail is nil, else an array) written by data,
// included written by included when on (the request named include
// paths), then a list's links and meta.
func encodeDoc(n int, tail *list, on bool, data, included func(*jsonBuf)) []byte {
	j := jsonBuf{b: docBuf(512 + n*resourceBytes)}
	j.b = append(j.b, `{"data":`...)
	if tail != nil {
		j.open('[')
	}
	data(&j)
	if tail != nil {
		j.close(']')
	}
	if on {
		j.b = append(j.b, `,"included":[`...)
		included(&j)
		j.close(']')
	}
	if tail != nil {
		j.listTail(tail.links, tail.meta)
	}
	j.b = append(j.b, '}', '\n')
	return j.b
}

// contactsBody encodes contacts as primary data with rel, what v
// includes; a list document when tail is not nil, else one contact's.
func contactsBody(cs []db.Contact, rel related, v view, tail *list) []byte {
	return encodeDoc(len(cs)+rel.size(), tail, len(v.include) > 0, func(j *jsonBuf) {
		for _, c := range cs {
			j.contact(c, v.contacts, linkage(rel.peopleOf, c.ID, v.include["people"]))
		}
	}, func(j *jsonBuf) {
		for _, p := range rel.people {
			j.person(p, v.people, linkage(rel.phonesOf, p.ID, v.include["people.phone_numbers"]))
		}
		for _, ph := range rel.phones {
			j.phone(ph, v.phones)
		}
	})
}

// peopleBody encodes people as primary data with rel, what v includes;
// a list document when tail is not nil, else one person's.
func peopleBody(ps []db.Person, rel related, v view, tail *list) []byte {
	return encodeDoc(len(ps)+rel.size(), tail, len(v.include) > 0, func(j *jsonBuf) {
		for _, p := range ps {
			j.person(p, v.people, linkage(rel.phonesOf, p.ID, v.include["phone_numbers"]))
		}
	}, func(j *jsonBuf) {
		for _, c := range rel.contacts {
			j.contact(c, v.contacts, nil)
		}
		for _, ph := range rel.phones {
			j.phone(ph, v.phones)
		}
	})
}

// phonesBody encodes phones as primary data with rel, what v includes;
// a list document when tail is not nil, else one phone's.
func phonesBody(phs []db.Phone, rel related, v view, tail *list) []byte {
	return encodeDoc(len(phs)+rel.size(), tail, len(v.include) > 0, func(j *jsonBuf) {
		for _, ph := range phs {
			j.phone(ph, v.phones)
		}
	}, func(j *jsonBuf) {
		for _, p := range rel.people {
			j.person(p, v.people, nil)
		}
		for _, c := range rel.contacts {
			j.contact(c, v.contacts, nil)
		}
	})
}

// sortedByID sorts rows read in no particular order by their ids (the
// order included resources of one type are listed in) and returns them.
func sortedByID[T any](rows []T, id func(T) string) []T {
	slices.SortFunc(rows, func(a, b T) int { return strings.Compare(id(a), id(b)) })
	return rows
}

// unique returns the distinct keys of items, in first-seen order.
func unique[T any](items []T, key func(T) string) []string {
	seen := make(map[string]bool, len(items))
	var out []string
	for _, it := range items {
		if k := key(it); !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}

// accountPersonPath is the contact-less URL of a person.
func accountPersonPath(id string) string { return "/api/v2/contacts/people/" + id }

// sameIDs reports whether sent holds exactly the ids of current, in any
// order and letter case, each once.
func sameIDs[T any](sent []string, current []T, id func(T) string) bool {
	if len(sent) != len(current) {
		return false
	}
	want := make(map[string]bool, len(current))
	for _, c := range current {
		want[id(c)] = true
	}
	for _, s := range sent {
		s = strings.ToLower(s)
		if !want[s] {
			return false
		}
		delete(want, s)
	}
	return len(want) == 0
}

// keepView returns the fields[…] and include parameters a list's links
// repeat.
func keepView(contacts, people, phones, include *string) map[string]*string {
	return map[string]*string{"fields[contacts]": contacts, "fields[people]": people, "fields[phone_numbers]": phones, "include": include}
}

// contactsPage returns listOf's encode for contacts with what v includes.
func (s *Server) contactsPage(ctx context.Context, v view) func([]db.Contact, *list) ([]byte, error) {
	return func(cs []db.Contact, tail *list) ([]byte, error) {
		rel, err := s.relatedOfContacts(ctx, cs, v)
		if err != nil {
			return nil, err
		}
		return contactsBody(cs, rel, v, tail), nil
	}
}

// peoplePage returns listOf's encode for people with what v includes.
func (s *Server) peoplePage(ctx context.Context, v view) func([]db.Person, *list) ([]byte, error) {
	return func(ps []db.Person, tail *list) ([]byte, error) {
		rel, err := s.relatedOfPeople(ctx, ps, v)
		if err != nil {
			return nil, err
		}
		return peopleBody(ps, rel, v, tail), nil
	}
}

// phonesPage returns listOf's encode for phones with what v includes.
func (s *Server) phonesPage(ctx context.Context, v view) func([]db.Phone, *list) ([]byte, error) {
	return func(phs []db.Phone, tail *list) ([]byte, error) {
		rel, err := s.relatedOfPhones(ctx, phs, v)
		if err != nil {
			return nil, err
		}
		return phonesBody(phs, rel, v, tail), nil
	}
}

// contactDoc is the document of one contact, with what v includes.
func (s *Server) contactDoc(ctx context.Context, c db.Contact, v view) ([]byte, error) {
	return s.contactsPage(ctx, v)([]db.Contact{c}, nil)
}

// personDoc is the document of one person, with what v includes.
func (s *Server) personDoc(ctx context.Context, p db.Person, v view) ([]byte, error) {
	return s.peoplePage(ctx, v)([]db.Person{p}, nil)
}

// phoneDoc is the document of one phone, with what v includes.
func (s *Server) phoneDoc(ctx context.Context, p db.Phone, v view) ([]byte, error) {
	return s.phonesPage(ctx, v)([]db.Phone{p}, nil)
}
