package e2e

// The API's main flows against the server under test (see harness_test.go):
// phones, contacts and people through their whole life, authentication
// and validation errors.

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/oapi-codegen/nullable"

	"github.com/phoneapi/phoneapi/generated/client"
)

// TestPhoneLifecycle is the main flow: create a contact, a person and two
// phones, list them, update with the updated_in_db_at precondition, get 409
// for a stale precondition and 412 for a stale If-Match, delete, and get 404.
func TestPhoneLifecycle(t *testing.T) {
	ctx := context.Background()
	c := newClient(t, target.token)

	// Contact.
	var contactID string
	{
		body := client.ContactCreateDocument{}
		body.Data.Type = "contacts"
		body.Data.Attributes.Name = "Jane and John Doe"
		r, err := c.CreateContactWithApplicationVndAPIPlusJSONBodyWithResponse(ctx, nil, body)
		wantStatus(t, "create contact", r, err, http.StatusCreated)
		doc := r.ApplicationvndApiJSON201
		if doc == nil || doc.Data.Type != "contacts" || deref(doc.Data.Attributes.Name) != "Jane and John Doe" {
			t.Fatalf("create contact: body %s", r.Body)
		}
		contactID = doc.Data.Id
		if _, err := uuid.Parse(contactID); err != nil || contactID != strings.ToLower(contactID) {
			t.Errorf("create contact: id %q is not a lower-case UUID", contactID)
		}
		if got, want := r.Headers201.Location, "/api/v2/contacts/"+contactID; got != want {
			t.Errorf("create contact: Location %q, want %q", got, want)
		}
		if r.Headers201.ETag == "" {
			t.Error("create contact: no ETag")
		}
	}
	cid := uuid.MustParse(contactID)

	// Person.
	var personID string
	{
		body := client.PersonCreateDocument{}
		body.Data.Type = "people"
		body.Data.Attributes.FirstName = "Jane"
		body.Data.Attributes.LastName = nullable.NewNullableWithValue("Doe")
		r, err := c.CreatePersonWithApplicationVndAPIPlusJSONBodyWithResponse(ctx, cid, nil, body)
		wantStatus(t, "create person", r, err, http.StatusCreated)
		doc := r.ApplicationvndApiJSON201
		if doc == nil || doc.Data.Type != "people" || deref(doc.Data.Attributes.FirstName) != "Jane" ||
			doc.Data.Attributes.LastName.MustGet() != "Doe" {
			t.Fatalf("create person: body %s", r.Body)
		}
		personID = doc.Data.Id
	}
	pid := uuid.MustParse(personID)

	// Two phones: the first becomes primary, the second is parsed from
	// national UK form with a country code hint.
	createPhone := func(what string, attrs client.PhoneCreateAttributes) client.PhoneResource {
		t.Helper()
		body := client.PhoneCreateDocument{}
		body.Data.Type = "phone_numbers"
		body.Data.Attributes = attrs
		r, err := c.CreatePhoneWithApplicationVndAPIPlusJSONBodyWithResponse(ctx, cid, pid, nil, body)
		wantStatus(t, what, r, err, http.StatusCreated)
		if r.ApplicationvndApiJSON201 == nil || r.ApplicationvndApiJSON201.Data.Type != "phone_numbers" {
			t.Fatalf("%s: body %s", what, r.Body)
		}
		if got, want := r.Headers201.Location, "/api/v2/contacts/"+contactID+"/people/"+personID+"/phones/"+r.ApplicationvndApiJSON201.Data.Id; got != want {
			t.Errorf("%s: Location %q, want %q", what, got, want)
		}
		return r.ApplicationvndApiJSON201.Data
	}
	mobile := createPhone("create mobile phone", client.PhoneCreateAttributes{
		Number:   rawString("(617) 555-1212"),
		Location: nullable.NewNullableWithValue("mobile"),
	})
	work := createPhone("create work phone", client.PhoneCreateAttributes{
		Number:      rawString("020 7946 0958 ext. 12"),
		CountryCode: nullable.NewNullableWithValue(json.RawMessage(`"44"`)),
		Location:    nullable.NewNullableWithValue("work"),
		Source:      ptr("import"),
	})
	if a := mobile.Attributes; deref(a.Number) != "+16175551212" || deref(a.CountryCode) != "1" ||
		!deref(a.Primary) || deref(a.Historic) || a.Location.MustGet() != "mobile" || deref(a.Source) != "MPDX" || !deref(a.ValidValues) {
		t.Errorf("mobile phone attributes: %+v", a)
	}
	if a := work.Attributes; deref(a.Number) != "+442079460958;ext=12" || deref(a.CountryCode) != "44" ||
		deref(a.Primary) || deref(a.Source) != "import" {
		t.Errorf("work phone attributes: %+v", a)
	}
	mobileID, workID := uuid.MustParse(mobile.Id), uuid.MustParse(work.Id)

	// List: both phones, in created_at order; then only the primary one.
	{
		r, err := c.ListPhonesWithResponse(ctx, cid, pid, &client.ListPhonesParams{PerPage: ptr(10)})
		wantStatus(t, "list phones", r, err, http.StatusOK)
		doc := r.ApplicationvndApiJSON200
		if doc == nil || len(doc.Data) != 2 || doc.Data[0].Id != mobile.Id || doc.Data[1].Id != work.Id {
			t.Fatalf("list phones: body %s", r.Body)
		}
		if p := doc.Meta.Pagination; p.Page != 1 || p.PerPage != 10 || p.TotalCount != 2 || p.TotalPages != 1 {
			t.Errorf("list phones: pagination %+v", p)
		}
		if doc.Meta.Sort != "created_at" || doc.Links.Self == "" || doc.Links.Next != nil {
			t.Errorf("list phones: meta %+v links %+v", doc.Meta, doc.Links)
		}

		primary := client.ListPhonesParamsFilterPrimary("true")
		r, err = c.ListPhonesWithResponse(ctx, cid, pid, &client.ListPhonesParams{FilterPrimary: &primary})
		wantStatus(t, "list primary phones", r, err, http.StatusOK)
		if doc := r.ApplicationvndApiJSON200; doc == nil || len(doc.Data) != 1 || doc.Data[0].Id != mobile.Id ||
			doc.Meta.Filter["primary"] != "true" {
			t.Errorf("list primary phones: body %s", r.Body)
		}

		rc, err := c.ListContactsWithResponse(ctx, nil)
		wantStatus(t, "list contacts", rc, err, http.StatusOK)
		if doc := rc.ApplicationvndApiJSON200; doc == nil || len(doc.Data) != 1 || doc.Data[0].Id != contactID {
			t.Errorf("list contacts: body %s", rc.Body)
		}
		rp, err := c.ListPeopleWithResponse(ctx, cid, nil)
		wantStatus(t, "list people", rp, err, http.StatusOK)
		if doc := rp.ApplicationvndApiJSON200; doc == nil || len(doc.Data) != 1 || doc.Data[0].Id != personID {
			t.Errorf("list people: body %s", rp.Body)
		}
	}

	// Update with the precondition: make the work phone primary.
	staleStamp := deref(work.Attributes.UpdatedInDbAt)
	var staleETag, currentETag string
	{
		g, err := c.GetPhoneWithResponse(ctx, cid, pid, workID, nil)
		wantStatus(t, "get work phone", g, err, http.StatusOK)
		staleETag = g.Headers200.ETag

		body := client.PhoneUpdateDocument{}
		body.Data.Type = "phone_numbers"
		body.Data.Attributes.Primary = ptr(true)
		body.Data.Attributes.UpdatedInDbAt = ptr(staleStamp)
		r, err := c.PatchPhoneWithApplicationVndAPIPlusJSONBodyWithResponse(ctx, cid, pid, workID, nil, body)
		wantStatus(t, "update work phone with precondition", r, err, http.StatusOK)
		a := r.ApplicationvndApiJSON200.Data.Attributes
		if !deref(a.Primary) || deref(a.UpdatedInDbAt) <= staleStamp || deref(a.Number) != "+442079460958;ext=12" {
			t.Errorf("update work phone: attributes %+v", a)
		}
		currentETag = r.Headers200.ETag
		if currentETag == "" || currentETag == staleETag {
			t.Errorf("update work phone: ETag %q (was %q)", currentETag, staleETag)
		}

		m, err := c.GetPhoneWithResponse(ctx, cid, pid, mobileID, nil)
		wantStatus(t, "get mobile phone", m, err, http.StatusOK)
		if deref(m.ApplicationvndApiJSON200.Data.Attributes.Primary) {
			t.Error("mobile phone is still primary after the work phone became primary")
		}
	}
	currentStamp := ""
	{
		g, err := c.GetPhoneWithResponse(ctx, cid, pid, workID, &client.GetPhoneParams{IfNoneMatch: &currentETag})
		wantStatus(t, "get work phone with If-None-Match", g, err, http.StatusNotModified)
		g, err = c.GetPhoneWithResponse(ctx, cid, pid, workID, nil)
		wantStatus(t, "get work phone", g, err, http.StatusOK)
		currentStamp = deref(g.ApplicationvndApiJSON200.Data.Attributes.UpdatedInDbAt)
	}

	// A stale updated_in_db_at: 409 naming the stored value; nothing saved.
	{
		body := locationUpdate("home")
		body.Data.Attributes.UpdatedInDbAt = ptr(staleStamp)
		r, err := c.PutPhoneWithApplicationVndAPIPlusJSONBodyWithResponse(ctx, cid, pid, workID, nil, body)
		wantStatus(t, "update with a stale updated_in_db_at", r, err, http.StatusConflict)
		e := wantError(t, "stale updated_in_db_at", r.ApplicationvndApiJSON409, http.StatusConflict, "/data/attributes/updated_in_db_at")
		if e.Meta == nil || (*e.Meta)["updated_in_db_at"] != currentStamp {
			t.Errorf("stale updated_in_db_at: meta %v, want updated_in_db_at %q", deref(e.Meta), currentStamp)
		}
	}

	// A stale If-Match: 412; nothing saved.
	{
		body := locationUpdate("home")
		r, err := c.PatchPhoneWithApplicationVndAPIPlusJSONBodyWithResponse(ctx, cid, pid, workID,
			&client.PatchPhoneParams{IfMatch: &staleETag}, body)
		wantStatus(t, "update with a stale If-Match", r, err, http.StatusPreconditionFailed)
		wantError(t, "stale If-Match", r.ApplicationvndApiJSON412, http.StatusPreconditionFailed, "")

		g, err := c.GetPhoneWithResponse(ctx, cid, pid, workID, nil)
		wantStatus(t, "get work phone after the failed updates", g, err, http.StatusOK)
		if a := g.ApplicationvndApiJSON200.Data.Attributes; a.Location.MustGet() != "work" || deref(a.UpdatedInDbAt) != currentStamp {
			t.Errorf("a failed precondition changed the phone: %+v", a)
		}
	}

	// The current If-Match works as the precondition (no updated_in_db_at).
	{
		body := locationUpdate("office")
		r, err := c.PutPhoneWithApplicationVndAPIPlusJSONBodyWithResponse(ctx, cid, pid, workID,
			&client.PutPhoneParams{IfMatch: &currentETag}, body)
		wantStatus(t, "update with the current If-Match", r, err, http.StatusOK)
		if a := r.ApplicationvndApiJSON200.Data.Attributes; a.Location.MustGet() != "office" {
			t.Errorf("update with If-Match: attributes %+v", a)
		}
		currentETag = r.Headers200.ETag
	}

	// Delete: a stale If-Match is refused, the current one deletes; then 404.
	{
		r, err := c.DeletePhoneWithResponse(ctx, cid, pid, workID, &client.DeletePhoneParams{IfMatch: &staleETag})
		wantStatus(t, "delete work phone with a stale If-Match", r, err, http.StatusPreconditionFailed)
		r, err = c.DeletePhoneWithResponse(ctx, cid, pid, workID, &client.DeletePhoneParams{IfMatch: &currentETag})
		wantStatus(t, "delete work phone", r, err, http.StatusNoContent)
		g, err := c.GetPhoneWithResponse(ctx, cid, pid, workID, nil)
		wantStatus(t, "get deleted phone", g, err, http.StatusNotFound)
		wantError(t, "get deleted phone", g.ApplicationvndApiJSON404, http.StatusNotFound, "")

		// Deleting the primary promoted the remaining phone.
		m, err := c.GetPhoneWithResponse(ctx, cid, pid, mobileID, nil)
		wantStatus(t, "get mobile phone", m, err, http.StatusOK)
		if !deref(m.ApplicationvndApiJSON200.Data.Attributes.Primary) {
			t.Error("the remaining phone was not promoted to primary")
		}
	}

	// Deleting the contact cascades; the tombstones name every deleted row.
	since := time.Now().UTC().Add(-time.Minute).Format(time.RFC3339)
	{
		r, err := c.DeleteContactWithResponse(ctx, cid, nil)
		wantStatus(t, "delete contact", r, err, http.StatusNoContent)
		for what, get := range map[string]func() (response, error){
			"get deleted contact": func() (response, error) { return c.GetContactWithResponse(ctx, cid, nil) },
			"get deleted person":  func() (response, error) { return c.GetPersonWithResponse(ctx, cid, pid, nil) },
			"get cascaded phone":  func() (response, error) { return c.GetPhoneWithResponse(ctx, cid, pid, mobileID, nil) },
		} {
			g, err := get()
			wantStatus(t, what, g, err, http.StatusNotFound)
		}

		dr, err := c.ListDeletedRecordsWithResponse(ctx, &client.ListDeletedRecordsParams{FilterSince: &since, PerPage: ptr(500)})
		wantStatus(t, "list deleted records", dr, err, http.StatusOK)
		got := map[string]string{}
		for _, rec := range dr.ApplicationvndApiJSON200.Data {
			got[deref(rec.Attributes.DeletableId)] = string(deref(rec.Attributes.DeletableType))
		}
		for id, typ := range map[string]string{contactID: "contacts", personID: "people", mobile.Id: "phone_numbers", work.Id: "phone_numbers"} {
			if got[id] != typ {
				t.Errorf("deleted records: %s %s missing (got %v)", typ, id, got)
			}
		}
	}
}

// TestContactAndPersonUpdates covers the contact and person update and delete
// operations, PUT and PATCH, with both kinds of precondition.
func TestContactAndPersonUpdates(t *testing.T) {
	ctx := context.Background()
	c := newClient(t, target.token)

	cb := client.ContactCreateDocument{}
	cb.Data.Type = "contacts"
	cb.Data.Id = ptr(strings.ToUpper(uuid.NewString()))
	cb.Data.Attributes.Name = "Acme Ltd"
	rc, err := c.CreateContactWithApplicationVndAPIPlusJSONBodyWithResponse(ctx, nil, cb)
	wantStatus(t, "create contact with a client id", rc, err, http.StatusCreated)
	contact := rc.ApplicationvndApiJSON201.Data
	if contact.Id != strings.ToLower(*cb.Data.Id) {
		t.Errorf("client-supplied id: got %q, want %q", contact.Id, strings.ToLower(*cb.Data.Id))
	}
	cid := uuid.MustParse(contact.Id)

	rc2, err := c.CreateContactWithApplicationVndAPIPlusJSONBodyWithResponse(ctx, nil, cb)
	wantStatus(t, "create contact with an existing id", rc2, err, http.StatusConflict)
	wantError(t, "existing id", rc2.ApplicationvndApiJSON409, http.StatusConflict, "")

	// PUT the contact with updated_in_db_at; then PATCH it with If-Match.
	{
		body := client.ContactUpdateDocument{}
		body.Data.Type = "contacts"
		body.Data.Id = ptr(contact.Id)
		body.Data.Attributes.Name = ptr("Acme Limited")
		body.Data.Attributes.UpdatedInDbAt = contact.Attributes.UpdatedInDbAt
		r, err := c.PutContactWithApplicationVndAPIPlusJSONBodyWithResponse(ctx, cid, nil, body)
		wantStatus(t, "put contact", r, err, http.StatusOK)
		if deref(r.ApplicationvndApiJSON200.Data.Attributes.Name) != "Acme Limited" {
			t.Errorf("put contact: body %s", r.Body)
		}

		// The same (now stale) precondition again: 409.
		r, err = c.PutContactWithApplicationVndAPIPlusJSONBodyWithResponse(ctx, cid, nil, body)
		wantStatus(t, "put contact with a stale updated_in_db_at", r, err, http.StatusConflict)
		wantError(t, "stale contact precondition", r.ApplicationvndApiJSON409, http.StatusConflict, "/data/attributes/updated_in_db_at")

		etag := r.HTTPResponse.Header.Get("ETag") // none on errors; fetch it
		params := &client.GetContactParams{FieldsContacts: ptr("name")}
		if sparseUnchecked(t, "get contact with a sparse fieldset") {
			params = nil
		}
		g, err := c.GetContactWithResponse(ctx, cid, params)
		wantStatus(t, "get contact with a sparse fieldset", g, err, http.StatusOK)
		if a := g.ApplicationvndApiJSON200.Data.Attributes; (params != nil) != (a.UpdatedInDbAt == nil) || deref(a.Name) != "Acme Limited" {
			t.Errorf("sparse fieldset %v: attributes %+v", params != nil, a)
		}
		etag = g.Headers200.ETag

		pb := client.ContactUpdateDocument{}
		pb.Data.Type = "contacts"
		pb.Data.Attributes.Name = ptr("Acme plc")
		p, err := c.PatchContactWithApplicationVndAPIPlusJSONBodyWithResponse(ctx, cid, &client.PatchContactParams{IfMatch: &etag}, pb)
		wantStatus(t, "patch contact with If-Match", p, err, http.StatusOK)
		p, err = c.PatchContactWithApplicationVndAPIPlusJSONBodyWithResponse(ctx, cid, &client.PatchContactParams{IfMatch: &etag}, pb)
		wantStatus(t, "patch contact with a stale If-Match", p, err, http.StatusPreconditionFailed)

		// overwrite: true needs no precondition.
		ob := client.ContactUpdateDocument{}
		ob.Data.Type = "contacts"
		ob.Data.Attributes.Name = ptr("Acme Group")
		ob.Data.Attributes.Overwrite = ptr(true)
		p, err = c.PatchContactWithApplicationVndAPIPlusJSONBodyWithResponse(ctx, cid, nil, ob)
		wantStatus(t, "patch contact with overwrite", p, err, http.StatusOK)

		// A wrong data.type: 409.
		if !specInvalid(t, "patch contact with the wrong type") {
			wb := client.ContactUpdateDocument{}
			wb.Data.Type = "people"
			wb.Data.Attributes.Overwrite = ptr(true)
			p, err = c.PatchContactWithApplicationVndAPIPlusJSONBodyWithResponse(ctx, cid, nil, wb)
			wantStatus(t, "patch contact with the wrong type", p, err, http.StatusConflict)
			wantError(t, "wrong type", p.ApplicationvndApiJSON409, http.StatusConflict, "/data/type")
		}
	}

	// A person: PATCH with updated_in_db_at, PUT with If-Match, delete.
	{
		body := client.PersonCreateDocument{}
		body.Data.Type = "people"
		body.Data.Attributes.FirstName = "Wile"
		r, err := c.CreatePersonWithApplicationVndAPIPlusJSONBodyWithResponse(ctx, cid, nil, body)
		wantStatus(t, "create person", r, err, http.StatusCreated)
		person := r.ApplicationvndApiJSON201.Data
		if !person.Attributes.LastName.IsNull() {
			t.Errorf("create person without last_name: last_name %v, want null", person.Attributes.LastName)
		}
		pid := uuid.MustParse(person.Id)

		ub := client.PersonUpdateDocument{}
		ub.Data.Type = "people"
		ub.Data.Attributes.LastName = nullable.NewNullableWithValue("Coyote")
		ub.Data.Attributes.UpdatedInDbAt = person.Attributes.UpdatedInDbAt
		p, err := c.PatchPersonWithApplicationVndAPIPlusJSONBodyWithResponse(ctx, cid, pid, nil, ub)
		wantStatus(t, "patch person", p, err, http.StatusOK)
		if a := p.ApplicationvndApiJSON200.Data.Attributes; a.LastName.MustGet() != "Coyote" || deref(a.FirstName) != "Wile" {
			t.Errorf("patch person: attributes %+v", a)
		}
		etag := p.Headers200.ETag

		ub2 := client.PersonUpdateDocument{}
		ub2.Data.Type = "people"
		ub2.Data.Attributes.LastName = nullable.NewNullNullable[string]()
		u, err := c.PutPersonWithApplicationVndAPIPlusJSONBodyWithResponse(ctx, cid, pid, &client.PutPersonParams{IfMatch: &etag}, ub2)
		wantStatus(t, "put person with If-Match", u, err, http.StatusOK)
		if !u.ApplicationvndApiJSON200.Data.Attributes.LastName.IsNull() {
			t.Errorf("put person last_name null: body %s", u.Body)
		}
		u, err = c.PutPersonWithApplicationVndAPIPlusJSONBodyWithResponse(ctx, cid, pid, nil, ub2)
		wantStatus(t, "put person without a precondition", u, err, http.StatusConflict)

		d, err := c.DeletePersonWithResponse(ctx, cid, pid, &client.DeletePersonParams{IfMatch: &etag})
		wantStatus(t, "delete person with a stale If-Match", d, err, http.StatusPreconditionFailed)
		d, err = c.DeletePersonWithResponse(ctx, cid, pid, nil)
		wantStatus(t, "delete person", d, err, http.StatusNoContent)
		g, err := c.GetPersonWithResponse(ctx, cid, pid, nil)
		wantStatus(t, "get deleted person", g, err, http.StatusNotFound)
	}

	deleteContact(t, "delete contact", c, cid, http.StatusNoContent)
	deleteContact(t, "delete the contact again", c, cid, http.StatusNotFound)
}

// TestAuthErrors: no token gives 401 with WWW-Authenticate; another user's
// contact gives 403.
func TestAuthErrors(t *testing.T) {
	ctx := context.Background()
	if !specInvalid(t, "list contacts without a token") {
		anon := newClient(t, "")
		r, err := anon.ListContactsWithResponse(ctx, nil)
		wantStatus(t, "list contacts without a token", r, err, http.StatusUnauthorized)
		wantError(t, "no token", r.ApplicationvndApiJSON401, http.StatusUnauthorized, "")
		if r.Headers401 == nil || !strings.HasPrefix(r.Headers401.WWWAuthenticate, "Bearer") {
			t.Errorf("no token: WWW-Authenticate %+v, want Bearer", r.Headers401)
		}
	}

	if target.tokenB == "" {
		t.Skip("PHONEAPI_E2E_TOKEN_B not set: skipping the 403 checks")
	}
	a, b := newClient(t, target.token), newClient(t, target.tokenB)
	cid := newContact(t, a, "Private")

	g, err := b.GetContactWithResponse(ctx, cid, nil)
	wantStatus(t, "get A's contact as B", g, err, http.StatusForbidden)
	wantError(t, "A's contact as B", g.ApplicationvndApiJSON403, http.StatusForbidden, "")
	lb, err := b.ListContactsWithResponse(ctx, nil)
	wantStatus(t, "list contacts as B", lb, err, http.StatusOK)
	for _, ct := range lb.ApplicationvndApiJSON200.Data {
		if ct.Id == cid.String() {
			t.Error("B's contact list shows A's contact")
		}
	}
	deleteContact(t, "delete A's contact as B", b, cid, http.StatusForbidden)
	deleteContact(t, "delete contact as A", a, cid, http.StatusNoContent)
}

// TestValidationErrors: a phone number that does not parse gives 400 naming
// the attribute, and an unknown sparse-fieldset name gives 400 naming the
// parameter.
func TestValidationErrors(t *testing.T) {
	ctx := context.Background()
	c := newClient(t, target.token)
	cid := newContact(t, c, "Validation")
	defer deleteContact(t, "delete contact", c, cid, http.StatusNoContent)
	pid := newPerson(t, c, cid, "Road")

	ph := client.PhoneCreateDocument{}
	ph.Data.Type = "phone_numbers"
	ph.Data.Attributes.Number = rawString("555-1212") // dialable only locally
	r, err := c.CreatePhoneWithApplicationVndAPIPlusJSONBodyWithResponse(ctx, cid, pid, nil, ph)
	wantStatus(t, "create phone with a local-only number", r, err, http.StatusBadRequest)
	wantError(t, "local-only number", r.ApplicationvndApiJSON400, http.StatusBadRequest, "/data/attributes/number")

	l, err := c.ListPhonesWithResponse(ctx, cid, pid, &client.ListPhonesParams{FieldsPhoneNumbers: ptr("number,colour")})
	wantStatus(t, "list phones with an unknown field", l, err, http.StatusBadRequest)
	e := wantError(t, "unknown field", l.ApplicationvndApiJSON400, http.StatusBadRequest, "")
	if e.Source == nil || deref(e.Source.Parameter) != "fields[phone_numbers]" {
		t.Errorf("unknown field: source %+v, want parameter fields[phone_numbers]", e.Source)
	}

	g, err := c.GetPersonWithResponse(ctx, cid, uuid.New(), nil)
	wantStatus(t, "get a person that does not exist", g, err, http.StatusNotFound)
}

// deleteContact sends the DELETE of contact cid through c and requires the
// status want.
func deleteContact(t *testing.T, what string, c *client.ClientWithResponses, cid uuid.UUID, want int) {
	t.Helper()
	d, err := c.DeleteContactWithResponse(context.Background(), cid, nil)
	wantStatus(t, what, d, err, want)
}
