package handlers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/phoneapi/phoneapi/db"
	"github.com/phoneapi/phoneapi/generated"
)

// The hand encoding (encode.go) gives exactly the bytes of the generated
// types through encoding/json (reference_test.go), on randomised
// resources: every sparse fieldset shape, null and escaped values,
// included resources, list links and meta.

// encodeRef encodes v as the generated response types do.
func encodeRef(t *testing.T, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// gen makes random rows and request shapes.
type gen struct{ r *rand.Rand }

// text returns a string that is plain most of the time, and otherwise
// holds what JSON escapes: quotes, backslashes, control characters, HTML
// characters, non-ASCII, U+2028, invalid UTF-8.
func (g gen) text() string {
	if g.r.IntN(3) > 0 {
		return fmt.Sprintf("Name %d", g.r.IntN(1000))
	}
	parts := []string{"a", `"`, `\`, "\n", "\t", "\x01", "<b>", "&", "é", "日本", "\u2028", "\xff", "🙂", " "}
	var b strings.Builder
	for range 1 + g.r.IntN(6) {
		b.WriteString(parts[g.r.IntN(len(parts))])
	}
	return b.String()
}

func (g gen) optText() *string {
	if g.r.IntN(3) == 0 {
		return nil
	}
	s := g.text()
	return &s
}

func (g gen) time() time.Time {
	return time.UnixMilli(g.r.Int64N(4102444800000)).UTC() // 1970 to 2100, to the millisecond
}

func (g gen) id() string { return uuid.NewString() }

// fields returns nil (everything) or a random subset of names.
func (g gen) fields(names ...string) fieldset {
	if g.r.IntN(3) == 0 {
		return nil
	}
	f := fieldset{}
	for _, n := range names {
		if g.r.IntN(2) == 0 {
			f[n] = true
		}
	}
	return f
}

func (g gen) contact() db.Contact {
	return db.Contact{ID: g.id(), Name: g.text(), CreatedAt: g.time(), UpdatedAt: g.time(), UpdatedInDBAt: g.time()}
}

func (g gen) person(contactID string) db.Person {
	return db.Person{ID: g.id(), ContactID: contactID, FirstName: g.text(), LastName: g.optText(),
		CreatedAt: g.time(), UpdatedAt: g.time(), UpdatedInDBAt: g.time()}
}

func (g gen) phone(personID string) db.Phone {
	return db.Phone{ID: g.id(), PersonID: personID, Number: "+1617555" + fmt.Sprintf("%04d", g.r.IntN(10000)),
		CountryCode: g.optText(), Location: g.optText(), Primary: g.r.IntN(2) == 0, Historic: g.r.IntN(2) == 0,
		Source: g.text(), ValidValues: g.r.IntN(2) == 0, CreatedAt: g.time(), UpdatedAt: g.time(), UpdatedInDBAt: g.time()}
}

func (g gen) view() view {
	v := view{
		contacts: g.fields("name", "created_at", "updated_at", "updated_in_db_at", "people"),
		people:   g.fields("first_name", "last_name", "created_at", "updated_at", "updated_in_db_at", "contact", "phone_numbers"),
		phones: g.fields("country_code", "created_at", "historic", "location", "number", "primary", "source",
			"updated_at", "updated_in_db_at", "valid_values", "person"),
	}
	return v
}

func (g gen) tail() *list {
	if g.r.IntN(3) == 0 {
		return nil
	}
	l := &list{
		links: generated.ListLinks{Self: "/api/v2/x?page=2&per_page=1", First: "/a?b=<c>&d", Last: g.text()},
		meta: generated.ListMeta{Sort: g.text(), Filter: map[string]string{},
			Pagination: generated.Pagination{Page: g.r.IntN(100), PerPage: g.r.IntN(501), TotalCount: g.r.IntN(1 << 30), TotalPages: g.r.IntN(1000)}},
	}
	for range g.r.IntN(3) {
		l.meta.Filter[g.text()] = g.text()
	}
	if g.r.IntN(2) == 0 {
		s := g.text()
		l.links.Next = &s
	}
	if g.r.IntN(2) == 0 {
		s := "/prev"
		l.links.Prev = &s
	}
	if g.r.IntN(10) == 0 {
		l.meta.Filter = nil
	}
	return l
}

// refIncluded encodes resources as a document's included member, as the
// generated union type does.
func refIncluded(t *testing.T, on bool, resources ...any) *generated.Included {
	t.Helper()
	if !on {
		return nil
	}
	out := generated.Included{}
	for _, r := range resources {
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		var inc generated.IncludedResource
		if err := inc.UnmarshalJSON(b); err != nil {
			t.Fatal(err)
		}
		out = append(out, inc)
	}
	return &out
}

func TestEncodeMatchesGeneratedTypes(t *testing.T) {
	g := gen{r: rand.New(rand.NewPCG(1, 2))}
	same := func(t *testing.T, what string, got, want []byte) {
		t.Helper()
		if !bytes.Equal(got, want) {
			t.Fatalf("%s:\nhand      %s\ngenerated %s", what, got, want)
		}
	}
	for i := range 2000 {
		v := g.view()
		tail := g.tail()
		n := 1
		if tail != nil {
			n = g.r.IntN(4)
		}
		// A page of contacts with their people and those people's phones.
		contacts := make([]db.Contact, n)
		rel := related{peopleOf: map[string][]string{}, phonesOf: map[string][]string{}}
		withPeople, withPhones := g.r.IntN(2) == 0, g.r.IntN(2) == 0
		if withPeople {
			v.include = includeSet{"people": true}
			if withPhones {
				v.include["people.phone_numbers"] = true
			}
		}
		var incRef []any
		for k := range contacts {
			contacts[k] = g.contact()
			for range g.r.IntN(3) {
				p := g.person(contacts[k].ID)
				rel.people = append(rel.people, p)
				rel.peopleOf[p.ContactID] = append(rel.peopleOf[p.ContactID], p.ID)
				for range g.r.IntN(3) {
					ph := g.phone(p.ID)
					rel.phones = append(rel.phones, ph)
					rel.phonesOf[p.ID] = append(rel.phonesOf[p.ID], ph.ID)
				}
			}
		}
		if !withPeople {
			rel.people, rel.phones = nil, nil
		} else if !withPhones {
			rel.phones = nil
		}
		for _, p := range rel.people {
			incRef = append(incRef, personResource(p, v.people, linkage(rel.phonesOf, p.ID, v.include["people.phone_numbers"])))
		}
		for _, ph := range rel.phones {
			incRef = append(incRef, phoneResource(ph, v.phones))
		}
		data := make([]generated.ContactResource, len(contacts))
		for k, c := range contacts {
			data[k] = contactResource(c, v.contacts, linkage(rel.peopleOf, c.ID, v.include["people"]))
		}
		got := contactsBody(contacts, rel, v, tail)
		if tail == nil {
			same(t, fmt.Sprint("contact ", i), got, encodeRef(t, generated.ContactDocument{Data: data[0], Included: refIncluded(t, withPeople, incRef...)}))
		} else {
			same(t, fmt.Sprint("contacts ", i), got, encodeRef(t, generated.ContactListDocument{Data: data, Included: refIncluded(t, withPeople, incRef...), Links: tail.links, Meta: tail.meta}))
		}

		// People with their contacts and phones.
		prel := related{phonesOf: map[string][]string{}}
		on := g.r.IntN(2) == 0 // include=contact, and maybe phone_numbers
		v.include = nil
		if on {
			v.include = includeSet{"contact": true}
			if g.r.IntN(2) == 0 {
				v.include["phone_numbers"] = true
			}
		}
		people := make([]db.Person, n)
		incRef = nil
		for k := range people {
			c := g.contact()
			people[k] = g.person(c.ID)
			if g.r.IntN(2) == 0 {
				prel.contacts = append(prel.contacts, c)
			}
			for range g.r.IntN(3) {
				ph := g.phone(people[k].ID)
				prel.phones = append(prel.phones, ph)
				prel.phonesOf[people[k].ID] = append(prel.phonesOf[people[k].ID], ph.ID)
			}
		}
		if !on {
			prel.contacts = nil
		}
		if !v.include["phone_numbers"] {
			prel.phones = nil
		}
		for _, c := range prel.contacts {
			incRef = append(incRef, contactResource(c, v.contacts, nil))
		}
		for _, ph := range prel.phones {
			incRef = append(incRef, phoneResource(ph, v.phones))
		}
		pdata := make([]generated.PersonResource, n)
		for k, p := range people {
			pdata[k] = personResource(p, v.people, linkage(prel.phonesOf, p.ID, v.include["phone_numbers"]))
		}
		got = peopleBody(people, prel, v, tail)
		if tail == nil {
			same(t, fmt.Sprint("person ", i), got, encodeRef(t, generated.PersonDocument{Data: pdata[0], Included: refIncluded(t, on, incRef...)}))
		} else {
			same(t, fmt.Sprint("people ", i), got, encodeRef(t, generated.PersonListDocument{Data: pdata, Included: refIncluded(t, on, incRef...), Links: tail.links, Meta: tail.meta}))
		}

		// Phones with their people and contacts; tombstones.
		var phrel related
		on = g.r.IntN(2) == 0 // include=person, and maybe person.contact
		v.include = nil
		if on {
			v.include = includeSet{"person": true}
			if g.r.IntN(2) == 0 {
				v.include["person.contact"] = true
			}
		}
		phones := make([]db.Phone, n)
		incRef = nil
		for k := range phones {
			p := g.person(g.id())
			phones[k] = g.phone(p.ID)
			if on {
				phrel.people = append(phrel.people, p)
				if v.include["person.contact"] && g.r.IntN(2) == 0 {
					phrel.contacts = append(phrel.contacts, g.contact())
				}
			}
		}
		for _, p := range phrel.people {
			incRef = append(incRef, personResource(p, v.people, nil))
		}
		for _, c := range phrel.contacts {
			incRef = append(incRef, contactResource(c, v.contacts, nil))
		}
		phdata := make([]generated.PhoneResource, n)
		for k, ph := range phones {
			phdata[k] = phoneResource(ph, v.phones)
		}
		got = phonesBody(phones, phrel, v, tail)
		if tail == nil {
			same(t, fmt.Sprint("phone ", i), got, encodeRef(t, generated.PhoneDocument{Data: phdata[0], Included: refIncluded(t, on, incRef...)}))
			continue
		}
		same(t, fmt.Sprint("phones ", i), got, encodeRef(t, generated.PhoneListDocument{Data: phdata, Included: refIncluded(t, on, incRef...), Links: tail.links, Meta: tail.meta}))
		tombs := make([]db.Deleted, n)
		tdata := make([]generated.DeletedRecordResource, n)
		f := g.fields("deleted_at", "deletable_type", "deletable_id", "contact_id", "person_id")
		for k := range tombs {
			tombs[k] = db.Deleted{ID: g.id(), Type: []string{"contacts", "people", "phone_numbers"}[g.r.IntN(3)], DeletableID: g.id(),
				ContactID: g.optText(), PersonID: g.optText(), DeletedAt: g.time()}
			tdata[k] = deletedResource(tombs[k], f)
		}
		got = encodeDoc(len(tombs), tail, false, func(j *jsonBuf) {
			for _, d := range tombs {
				j.deleted(d, f)
			}
		}, nil)
		same(t, fmt.Sprint("tombstones ", i), got, encodeRef(t, generated.DeletedRecordListDocument{Data: tdata, Links: tail.links, Meta: tail.meta}))
	}
}
