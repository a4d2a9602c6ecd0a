package e2e

// Relationships and compound documents through the generated client: what
// a Go client of openapi.yaml gets from `include` (see harness_test.go for
// the server under test).

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/oapi-codegen/nullable"

	"github.com/phoneapi/phoneapi/generated/client"
)

// TestIncludeThroughClient writes a person and its phones with
// relationships that move nothing, then reads them with include through
// the generated client: Relationships from the typed documents, and each
// Included item decoded with the union helpers (ValueByDiscriminator,
// Discriminator and As…Resource), for a person (phone_numbers,contact), a
// phone (person.contact), a person by its id alone (contact) and the
// contact-less people list (phone_numbers,contact).
func TestIncludeThroughClient(t *testing.T) {
	ctx := context.Background()
	c := newClient(t, target.token)

	cid := newContact(t, c, "The Include family")
	defer deleteContact(t, "delete contact", c, cid, http.StatusNoContent)
	contactID := cid.String()
	var since string // the contact's updated_in_db_at: the list below starts there
	{
		r, err := c.GetContactWithResponse(ctx, cid, nil)
		wantStatus(t, "get contact", r, err, http.StatusOK)
		since = deref(r.ApplicationvndApiJSON200.Data.Attributes.UpdatedInDbAt)
	}

	// A person whose contact relationship names the path's contact (in
	// upper case), with include=contact.
	createPerson := func(first string) string {
		t.Helper()
		body := client.PersonCreateDocument{}
		body.Data.Type = "people"
		body.Data.Attributes.FirstName = first
		body.Data.Attributes.LastName = nullable.NewNullableWithValue("Include")
		body.Data.Relationships = &client.PersonWriteRelationships{
			Contact:      &client.ContactLinkage{Data: client.ContactRef{Type: "contacts", Id: strings.ToUpper(contactID)}},
			PhoneNumbers: &client.PhonesLinkage{Data: []client.PhoneRef{}},
		}
		r, err := c.CreatePersonWithApplicationVndAPIPlusJSONBodyWithResponse(ctx, cid, &client.CreatePersonParams{Include: ptr("contact")}, body)
		wantStatus(t, "create person "+first, r, err, http.StatusCreated)
		doc := r.ApplicationvndApiJSON201
		if rel := doc.Data.Relationships; rel == nil || rel.Contact == nil || rel.Contact.Data.Id != contactID {
			t.Errorf("create person %s: relationships %s", first, r.Body)
		}
		inc := included(t, "create person "+first, doc.Included)
		if ct, ok := inc["contacts/"+contactID].(client.ContactResource); !ok || len(inc) != 1 || deref(ct.Attributes.Name) != "The Include family" {
			t.Errorf("create person %s with include=contact: included %s", first, r.Body)
		}
		return doc.Data.Id
	}
	// A phone whose person relationship names the path's person.
	createPhone := func(personID, number string) client.PhoneResource {
		t.Helper()
		body := client.PhoneCreateDocument{}
		body.Data.Type = "phone_numbers"
		body.Data.Attributes.Number = rawString(number)
		body.Data.Relationships = &client.PhoneWriteRelationships{
			Person: &client.PersonLinkage{Data: client.PersonRef{Type: "people", Id: personID}},
		}
		r, err := c.CreatePhoneWithApplicationVndAPIPlusJSONBodyWithResponse(ctx, cid, uuid.MustParse(personID), nil, body)
		wantStatus(t, "create phone "+number, r, err, http.StatusCreated)
		return r.ApplicationvndApiJSON201.Data
	}

	ada := createPerson("Ada")
	pid := uuid.MustParse(ada)
	mobile := createPhone(ada, "+1 617 555 0111")
	work := createPhone(ada, "+44 20 7946 0111")
	bob := createPerson("Bob")
	bobPhone := createPhone(bob, "+1 617 555 0112")
	wantPhones := map[string]string{mobile.Id: "+16175550111", work.Id: "+442079460111", bobPhone.Id: "+16175550112"}
	phonesOf := map[string][]string{ada: {mobile.Id, work.Id}, bob: {bobPhone.Id}}

	// The person with phone_numbers,contact: full linkage in created_at
	// order, and exactly its contact and phones in included.
	{
		what := "get person with include=phone_numbers,contact"
		r, err := c.GetPersonWithResponse(ctx, cid, pid, &client.GetPersonParams{Include: ptr("phone_numbers,contact")})
		wantStatus(t, what, r, err, http.StatusOK)
		doc := r.ApplicationvndApiJSON200
		checkPersonLinks(t, what, doc.Data, contactID, phonesOf[ada], true)
		inc := included(t, what, doc.Included)
		if len(inc) != 3 {
			t.Errorf("%s: %d included resources, want 3 (the contact and 2 phones): %s", what, len(inc), r.Body)
		}
		if ct, ok := inc["contacts/"+contactID].(client.ContactResource); !ok || deref(ct.Attributes.Name) != "The Include family" {
			t.Errorf("%s: included contact %+v", what, inc["contacts/"+contactID])
		}
		for _, id := range phonesOf[ada] {
			ph, ok := inc["phone_numbers/"+id].(client.PhoneResource)
			if !ok {
				t.Errorf("%s: phone %s not included", what, id)
				continue
			}
			if deref(ph.Attributes.Number) != wantPhones[id] {
				t.Errorf("%s: included phone %s number %q, want %q", what, id, deref(ph.Attributes.Number), wantPhones[id])
			}
			if ph.Relationships == nil || ph.Relationships.Person == nil || ph.Relationships.Person.Data.Id != ada {
				t.Errorf("%s: included phone %s relationships %+v, want person %s", what, id, ph.Relationships, ada)
			}
		}

		// Without include: the to-one linkage, no to-many linkage, no included.
		r, err = c.GetPersonWithResponse(ctx, cid, pid, nil)
		wantStatus(t, "get person", r, err, http.StatusOK)
		if r.ApplicationvndApiJSON200.Included != nil {
			t.Errorf("get person without include: included %s", r.Body)
		}
		checkPersonLinks(t, "get person without include", r.ApplicationvndApiJSON200.Data, contactID, nil, false)

		// A phone write advanced the person's updated_in_db_at.
		if got, min := deref(r.ApplicationvndApiJSON200.Data.Attributes.UpdatedInDbAt), deref(work.Attributes.UpdatedInDbAt); got < min {
			t.Errorf("person updated_in_db_at %s is before its last phone write's %s", got, min)
		}
	}

	// The phone with person.contact, decoded with Discriminator and As….
	{
		what := "get phone with include=person.contact"
		r, err := c.GetPhoneWithResponse(ctx, cid, pid, uuid.MustParse(mobile.Id), &client.GetPhoneParams{Include: ptr("person.contact")})
		wantStatus(t, what, r, err, http.StatusOK)
		doc := r.ApplicationvndApiJSON200
		rel := doc.Data.Relationships
		if rel == nil || rel.Person == nil || rel.Person.Data.Id != ada || rel.Person.Data.Type != "people" ||
			!strings.HasPrefix(rel.Person.Links.Related, "/api/v2/contacts/") || !strings.HasSuffix(rel.Person.Links.Related, "/people/"+ada) {
			t.Errorf("%s: relationships %+v", what, rel)
		}
		if doc.Included == nil || len(*doc.Included) != 2 {
			t.Fatalf("%s: want 2 included resources (person, contact): %s", what, r.Body)
		}
		var sawPerson, sawContact bool
		for i, item := range *doc.Included {
			typ, err := item.Discriminator()
			if err != nil {
				t.Fatalf("%s: included[%d]: %v", what, i, err)
			}
			switch typ {
			case "people":
				p, err := item.AsPersonResource()
				if err != nil || p.Id != ada || deref(p.Attributes.FirstName) != "Ada" || p.Attributes.LastName.MustGet() != "Include" {
					t.Errorf("%s: included person %+v (%v)", what, p, err)
				}
				if p.Relationships == nil || p.Relationships.Contact == nil || p.Relationships.Contact.Data.Id != contactID {
					t.Errorf("%s: included person's relationships %+v, want contact %s", what, p.Relationships, contactID)
				}
				sawPerson = true
			case "contacts":
				ct, err := item.AsContactResource()
				if err != nil || ct.Id != contactID || deref(ct.Attributes.Name) != "The Include family" {
					t.Errorf("%s: included contact %+v (%v)", what, ct, err)
				}
				sawContact = true
			default:
				t.Errorf("%s: included[%d] has type %q", what, i, typ)
			}
		}
		if !sawPerson || !sawContact {
			t.Errorf("%s: included person %v, contact %v; body %s", what, sawPerson, sawContact, r.Body)
		}
	}

	// The person by its id alone (getAccountPerson), with include=contact.
	{
		what := "get account person with include=contact"
		r, err := c.GetAccountPersonWithResponse(ctx, pid, &client.GetAccountPersonParams{Include: ptr("contact")})
		wantStatus(t, what, r, err, http.StatusOK)
		doc := r.ApplicationvndApiJSON200
		checkPersonLinks(t, what, doc.Data, contactID, nil, false)
		inc := included(t, what, doc.Included)
		if _, ok := inc["contacts/"+contactID].(client.ContactResource); !ok || len(inc) != 1 {
			t.Errorf("%s: included %s", what, r.Body)
		}
	}

	// The contact-less list since the contact was created: both people,
	// each linked to its own phones, every linked resource included once.
	{
		what := "list account people with include=phone_numbers,contact"
		r, err := c.ListAccountPeopleWithResponse(ctx, &client.ListAccountPeopleParams{
			Include:             ptr("phone_numbers,contact"),
			FilterUpdatedInDbAt: ptr(since + ".."),
			Sort:                ptr(client.ListAccountPeopleParamsSortFirstName),
			PerPage:             ptr(500),
		})
		wantStatus(t, what, r, err, http.StatusOK)
		doc := r.ApplicationvndApiJSON200
		if !strings.Contains(doc.Links.Self, "include=") {
			t.Errorf("%s: links.self %q does not keep include", what, doc.Links.Self)
		}
		inc := included(t, what, doc.Included)
		linked := map[string]bool{}
		var ours []string
		for _, p := range doc.Data {
			rel := p.Relationships
			if rel == nil || rel.Contact == nil || rel.PhoneNumbers == nil || rel.PhoneNumbers.Data == nil {
				t.Errorf("%s: person %s relationships %+v, want contact and phone_numbers linkage", what, p.Id, rel)
				continue
			}
			linked["contacts/"+rel.Contact.Data.Id] = true
			for _, ph := range *rel.PhoneNumbers.Data {
				key := "phone_numbers/" + ph.Id
				linked[key] = true
				v, ok := inc[key].(client.PhoneResource)
				if !ok || v.Relationships == nil || v.Relationships.Person == nil || v.Relationships.Person.Data.Id != p.Id {
					t.Errorf("%s: person %s links phone %s, included as %+v", what, p.Id, ph.Id, inc[key])
				}
			}
			if want, ok := phonesOf[p.Id]; ok {
				ours = append(ours, p.Id)
				checkPersonLinks(t, what+": person "+p.Id, p, contactID, want, true)
			}
		}
		if !slices.Equal(ours, []string{ada, bob}) {
			t.Errorf("%s: our people in the list %v, want %v (sorted by first_name): %s", what, ours, []string{ada, bob}, r.Body)
		}
		for key := range inc {
			if !linked[key] {
				t.Errorf("%s: included %s is linked from no person", what, key)
			}
		}
		for key := range linked {
			if inc[key] == nil {
				t.Errorf("%s: %s is linked but not included", what, key)
			}
		}
		for id, number := range wantPhones {
			if ph, ok := inc["phone_numbers/"+id].(client.PhoneResource); !ok || deref(ph.Attributes.Number) != number {
				t.Errorf("%s: phone %s included as %+v, want number %s", what, id, inc["phone_numbers/"+id], number)
			}
		}
	}
}

// included decodes each resource of a compound document's included member
// with ValueByDiscriminator and returns them by "type/id", failing the test
// on an undecodable item, a key whose type differs from the resource's, or
// a resource included twice. A nil member is an empty map.
func included(t *testing.T, what string, inc *client.Included) map[string]any {
	t.Helper()
	out := map[string]any{}
	if inc == nil {
		return out
	}
	for i, item := range *inc {
		v, err := item.ValueByDiscriminator()
		if err != nil {
			t.Fatalf("%s: included[%d]: %v", what, i, err)
		}
		var key string
		switch r := v.(type) {
		case client.ContactResource:
			key = fmt.Sprintf("%s/%s", r.Type, r.Id)
		case client.PersonResource:
			key = fmt.Sprintf("%s/%s", r.Type, r.Id)
		case client.PhoneResource:
			key = fmt.Sprintf("%s/%s", r.Type, r.Id)
		default:
			t.Fatalf("%s: included[%d] decoded as %T", what, i, v)
		}
		if typ, _ := item.Discriminator(); !strings.HasPrefix(key, typ+"/") {
			t.Errorf("%s: included[%d] has type %q but decoded as %s", what, i, typ, key)
		}
		if _, dup := out[key]; dup {
			t.Errorf("%s: %s is included twice", what, key)
		}
		out[key] = v
	}
	return out
}

// checkPersonLinks checks a person's relationships: contact linkage to
// contactID with its related link, phone_numbers' related link and, when
// withPhones, linkage to exactly phones in that order (else none).
func checkPersonLinks(t *testing.T, what string, p client.PersonResource, contactID string, phones []string, withPhones bool) {
	t.Helper()
	rel := p.Relationships
	if rel == nil || rel.Contact == nil || rel.PhoneNumbers == nil {
		t.Errorf("%s: person %s relationships %+v, want contact and phone_numbers", what, p.Id, rel)
		return
	}
	if rel.Contact.Data.Type != "contacts" || rel.Contact.Data.Id != contactID || rel.Contact.Links.Related != "/api/v2/contacts/"+contactID {
		t.Errorf("%s: person %s contact relationship %+v, want contact %s", what, p.Id, *rel.Contact, contactID)
	}
	if want := "/api/v2/contacts/" + contactID + "/people/" + p.Id + "/phones"; rel.PhoneNumbers.Links.Related != want {
		t.Errorf("%s: person %s phone_numbers related link %q, want %q", what, p.Id, rel.PhoneNumbers.Links.Related, want)
	}
	if !withPhones {
		if rel.PhoneNumbers.Data != nil {
			t.Errorf("%s: person %s phone_numbers linkage %+v without include", what, p.Id, *rel.PhoneNumbers.Data)
		}
		return
	}
	if rel.PhoneNumbers.Data == nil {
		t.Errorf("%s: person %s has no phone_numbers linkage", what, p.Id)
		return
	}
	var got []string
	for _, ph := range *rel.PhoneNumbers.Data {
		if ph.Type != "phone_numbers" {
			t.Errorf("%s: person %s links a %q as a phone", what, p.Id, ph.Type)
		}
		got = append(got, ph.Id)
	}
	if !slices.Equal(got, phones) {
		t.Errorf("%s: person %s phone_numbers linkage %v, want %v (created_at order)", what, p.Id, got, phones)
	}
}
