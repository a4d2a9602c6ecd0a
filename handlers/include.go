package handlers

import (
	"context"
	"encoding/json"
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

// compound collects a document's included resources, each once.
type compound struct {
	on   bool // the request named include paths: included is present
	seen map[string]bool
	list []generated.IncludedResource
}

// add includes r, of the given type and id, unless it already is.
func (c *compound) add(typ, id string, r any) error {
	key := typ + "/" + id
	if c.seen[key] {
		return nil
	}
	if c.seen == nil {
		c.seen = map[string]bool{}
	}
	c.seen[key] = true
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode included %s: %w", key, err)
	}
	var inc generated.IncludedResource
	if err := inc.UnmarshalJSON(b); err != nil {
		return fmt.Errorf("encode included %s: %w", key, err)
	}
	c.list = append(c.list, inc)
	return nil
}

// included returns the document's included member: nil (absent) unless
// the request named include paths.
func (c *compound) included() *generated.Included {
	if !c.on {
		return nil
	}
	if c.list == nil {
		c.list = []generated.IncludedResource{}
	}
	return &c.list
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

// contactsDoc renders contacts as primary data, with the people and
// phones v includes.
func (s *Server) contactsDoc(ctx context.Context, cs []db.Contact, v view) ([]generated.ContactResource, *generated.Included, error) {
	inc := compound{on: len(v.include) > 0}
	var peopleOf map[string][]string
	if v.include["people"] {
		ids := make([]string, len(cs))
		for i, c := range cs {
			ids[i] = c.ID
		}
		people, err := s.store.PeopleOf(ctx, callerFrom(ctx).AccountListID, ids, maxIncluded+1)
		if err != nil {
			return nil, nil, err
		}
		if len(people) > maxIncluded {
			return nil, nil, errTooLarge(v.tooLarge)
		}
		peopleOf = map[string][]string{}
		for _, p := range people {
			peopleOf[p.ContactID] = append(peopleOf[p.ContactID], p.ID)
		}
		phones, phonesOf, err := s.phonesOfPeople(ctx, people, v.include["people.phone_numbers"], maxIncluded-len(people), v)
		if err != nil {
			return nil, nil, err
		}
		for _, p := range people {
			if err := inc.add("people", p.ID, personResource(p, v.people, linkage(phonesOf, p.ID, phones != nil))); err != nil {
				return nil, nil, err
			}
		}
		for _, ph := range phones {
			if err := inc.add("phone_numbers", ph.ID, phoneResource(ph, v.phones)); err != nil {
				return nil, nil, err
			}
		}
	}
	data := make([]generated.ContactResource, len(cs))
	for i, c := range cs {
		data[i] = contactResource(c, v.contacts, linkage(peopleOf, c.ID, v.include["people"]))
	}
	return data, inc.included(), nil
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

// peopleDoc renders people as primary data, with the contacts and phones
// v includes.
func (s *Server) peopleDoc(ctx context.Context, ps []db.Person, v view) ([]generated.PersonResource, *generated.Included, error) {
	inc := compound{on: len(v.include) > 0}
	if v.include["contact"] {
		contacts, err := s.store.ContactsByID(ctx, callerFrom(ctx).AccountListID, unique(ps, func(p db.Person) string { return p.ContactID }))
		if err != nil {
			return nil, nil, err
		}
		slices.SortFunc(contacts, func(a, b db.Contact) int { return strings.Compare(a.ID, b.ID) })
		for _, c := range contacts {
			if err := inc.add("contacts", c.ID, contactResource(c, v.contacts, nil)); err != nil {
				return nil, nil, err
			}
		}
	}
	phones, phonesOf, err := s.phonesOfPeople(ctx, ps, v.include["phone_numbers"], maxIncluded-len(inc.list), v)
	if err != nil {
		return nil, nil, err
	}
	for _, ph := range phones {
		if err := inc.add("phone_numbers", ph.ID, phoneResource(ph, v.phones)); err != nil {
			return nil, nil, err
		}
	}
	data := make([]generated.PersonResource, len(ps))
	for i, p := range ps {
		data[i] = personResource(p, v.people, linkage(phonesOf, p.ID, v.include["phone_numbers"]))
	}
	return data, inc.included(), nil
}

// phonesDoc renders phones as primary data, with the people and contacts
// v includes.
func (s *Server) phonesDoc(ctx context.Context, phs []db.Phone, v view) ([]generated.PhoneResource, *generated.Included, error) {
	inc := compound{on: len(v.include) > 0}
	if v.include["person"] {
		al := callerFrom(ctx).AccountListID
		people, err := s.store.PeopleByID(ctx, al, unique(phs, func(p db.Phone) string { return p.PersonID }))
		if err != nil {
			return nil, nil, err
		}
		slices.SortFunc(people, func(a, b db.Person) int { return strings.Compare(a.ID, b.ID) })
		for _, p := range people {
			if err := inc.add("people", p.ID, personResource(p, v.people, nil)); err != nil {
				return nil, nil, err
			}
		}
		if v.include["person.contact"] {
			contacts, err := s.store.ContactsByID(ctx, al, unique(people, func(p db.Person) string { return p.ContactID }))
			if err != nil {
				return nil, nil, err
			}
			slices.SortFunc(contacts, func(a, b db.Contact) int { return strings.Compare(a.ID, b.ID) })
			for _, c := range contacts {
				if err := inc.add("contacts", c.ID, contactResource(c, v.contacts, nil)); err != nil {
					return nil, nil, err
				}
			}
		}
	}
	data := make([]generated.PhoneResource, len(phs))
	for i, ph := range phs {
		data[i] = phoneResource(ph, v.phones)
	}
	return data, inc.included(), nil
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

// relatedLink is a relationship's links member.
func relatedLink(url string) generated.RelatedLinks { return generated.RelatedLinks{Related: url} }

// contactRelationships returns a contact's relationships (nil when the
// fieldset selects none); people are its people's ids when included.
func contactRelationships(c db.Contact, f fieldset, people []string) *generated.ContactRelationships {
	if !f.has("people") {
		return nil
	}
	rel := &generated.PeopleToMany{Links: relatedLink(contactPath(c.ID) + "/people")}
	if people != nil {
		data := make([]generated.PersonIdentifier, len(people))
		for i, id := range people {
			data[i] = generated.PersonIdentifier{Type: generated.PersonIdentifierTypePeople, Id: id}
		}
		rel.Data = &data
	}
	return &generated.ContactRelationships{People: rel}
}

// personRelationships returns a person's relationships (nil when the
// fieldset selects none); phones are its phones' ids when included.
func personRelationships(p db.Person, f fieldset, phones []string) *generated.PersonRelationships {
	var rel generated.PersonRelationships
	if f.has("contact") {
		rel.Contact = &generated.ContactToOne{
			Links: relatedLink(contactPath(p.ContactID)),
			Data:  generated.ContactIdentifier{Type: generated.ContactIdentifierTypeContacts, Id: p.ContactID},
		}
	}
	if f.has("phone_numbers") {
		rel.PhoneNumbers = &generated.PhonesToMany{Links: relatedLink(personPath(p.ContactID, p.ID) + "/phones")}
		if phones != nil {
			data := make([]generated.PhoneIdentifier, len(phones))
			for i, id := range phones {
				data[i] = generated.PhoneIdentifier{Type: generated.PhoneIdentifierTypePhoneNumbers, Id: id}
			}
			rel.PhoneNumbers.Data = &data
		}
	}
	if rel.Contact == nil && rel.PhoneNumbers == nil {
		return nil
	}
	return &rel
}

// phoneRelationships returns a phone's relationships (nil when the
// fieldset selects none). The person's related link is its contact-less
// URL: a phone row does not hold its contact.
func phoneRelationships(p db.Phone, f fieldset) *generated.PhoneRelationships {
	if !f.has("person") {
		return nil
	}
	return &generated.PhoneRelationships{Person: &generated.PersonToOne{
		Links: relatedLink(accountPersonPath(p.PersonID)),
		Data:  generated.PersonIdentifier{Type: generated.PersonIdentifierTypePeople, Id: p.PersonID},
	}}
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
