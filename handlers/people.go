package handlers

import (
	"context"
	"net/http"
	"strings"

	"github.com/phoneapi/phoneapi/db"
	"github.com/phoneapi/phoneapi/generated"
)

func personPath(contactID, id string) string { return contactPath(contactID) + "/people/" + id }

// ListPeople lists a contact's people.
func (s *Server) ListPeople(ctx context.Context, req generated.ListPeopleRequestObject) (generated.ListPeopleResponseObject, error) {
	contactID, p := req.ContactId.String(), req.Params
	sc := contactScope(ctx, contactID)
	v := viewOf(p.FieldsContacts, p.FieldsPeople, p.FieldsPhoneNumbers, p.Include).list()
	return listOf(contactPath(contactID)+"/people", listParams{
		page: either(p.Page, p.PageNumber), perPage: either(p.PerPage, p.PageSize),
		sort: (*string)(p.Sort), defaultSort: string(generated.ListPeopleParamsSortCreatedAt),
		filter: map[string]*string{"updated_at": p.FilterUpdatedAt, "updated_in_db_at": p.FilterUpdatedInDbAt},
		keep:   keepView(p.FieldsContacts, p.FieldsPeople, p.FieldsPhoneNumbers, p.Include),
	}, func(l *listQuery) ([]db.Person, int, error) { return s.store.ListPeople(ctx, sc, l.db) }, s.peoplePage(ctx, v))
}

// CreatePerson creates a person under a contact.
func (s *Server) CreatePerson(ctx context.Context, req generated.CreatePersonRequestObject) (generated.CreatePersonResponseObject, error) {
	contactID := req.ContactId.String()
	data := req.Body.Data
	p := db.Person{ContactID: contactID, FirstName: data.Attributes.FirstName}
	if data.Id != nil {
		p.ID = *data.Id
	}
	if v, err := data.Attributes.LastName.Get(); err == nil {
		p.LastName = &v
	}
	err := setCreateTimes(&p.CreatedAt, &p.UpdatedAt, data.Attributes.CreatedAt, data.Attributes.UpdatedAt)
	if err == nil {
		err = newPersonRelationships(contactID, data.Relationships)
	}
	if err != nil {
		// The store checks the contact in the write's transaction; it is
		// read first only now, for its 404 or 403 to come before the 400.
		return nil, lookupFirst(err, func() error { return s.store.CheckScope(ctx, contactScope(ctx, contactID)) })
	}
	sc := contactScope(ctx, contactID)
	q := req.Params
	v := viewOf(q.FieldsContacts, q.FieldsPeople, q.FieldsPhoneNumbers, q.Include)
	created := func(p db.Person, err error) (rawDoc, error) {
		if err != nil {
			return rawDoc{}, err
		}
		body, err := s.personDoc(ctx, p, v)
		if err != nil {
			return rawDoc{}, err
		}
		return rawDoc{status: http.StatusCreated, location: personPath(contactID, p.ID), etag: etag(p.ID, p.UpdatedInDBAt), body: body}, nil
	}
	return s.create(ctx,
		func(key *db.Key) (rawDoc, error) { return created(s.store.CreatePersonOnce(ctx, sc, p, key)) },
		func(id string) (rawDoc, error) { return created(s.store.Person(ctx, sc, id)) })
}

// GetPerson returns one person.
func (s *Server) GetPerson(ctx context.Context, req generated.GetPersonRequestObject) (generated.GetPersonResponseObject, error) {
	p := req.Params
	doc, err := s.getPerson(ctx, contactScope(ctx, req.ContactId.String()), req.PersonId.String(), p.IfNoneMatch,
		viewOf(p.FieldsContacts, p.FieldsPeople, p.FieldsPhoneNumbers, p.Include))
	switch {
	case err != nil:
		return nil, err
	case doc.body == nil:
		return generated.GetPerson304Response{Headers: generated.NotModifiedResponseHeaders{ETag: doc.etag}}, nil
	}
	return doc, nil
}

// getPerson reads the person with the given id of sc's contact and
// returns its 200 response (v applied), or one without a body, only its
// ETag, when ifNoneMatch matches (304).
func (s *Server) getPerson(ctx context.Context, sc db.Scope, id string, ifNoneMatch *string, v view) (rawDoc, error) {
	p, err := s.store.Person(ctx, sc, id)
	if err != nil {
		return rawDoc{}, err
	}
	tag := etag(p.ID, p.UpdatedInDBAt)
	if ifNoneMatch != nil && v.conditional() && etagMatches(*ifNoneMatch, tag, true) {
		return rawDoc{etag: tag}, nil
	}
	body, err := s.personDoc(ctx, p, v)
	if err != nil {
		return rawDoc{}, err
	}
	return rawDoc{status: http.StatusOK, etag: tag, body: body}, nil
}

// PutPerson and PatchPerson are the spec's two operations for the same
// partial update; each wraps updatePerson's result in its own generated
// response type (see PutContact).
func (s *Server) PutPerson(ctx context.Context, req generated.PutPersonRequestObject) (generated.PutPersonResponseObject, error) {
	p := req.Params
	return s.updatePerson(ctx, contactScope(ctx, req.ContactId.String()), req.PersonId.String(), p.IfMatch,
		viewOf(p.FieldsContacts, p.FieldsPeople, p.FieldsPhoneNumbers, p.Include), req.Body)
}

// PatchPerson updates a person (partial update); see PutPerson.
func (s *Server) PatchPerson(ctx context.Context, req generated.PatchPersonRequestObject) (generated.PatchPersonResponseObject, error) {
	p := req.Params
	return s.updatePerson(ctx, contactScope(ctx, req.ContactId.String()), req.PersonId.String(), p.IfMatch,
		viewOf(p.FieldsContacts, p.FieldsPeople, p.FieldsPhoneNumbers, p.Include), req.Body)
}

// updatePerson checks the body, then writes: the store checks the path
// (404, 403) and the precondition (409, 412) in the write's transaction.
// When the body fails, the path is read first, so that its 404 or 403
// comes before the body's 400. Relationships in the body must not move
// anything (see checkPersonRelationships). It returns the stored person's
// document (v applied) and its ETag, as a 200 response.
func (s *Server) updatePerson(ctx context.Context, sc db.Scope, id string, ifMatch *string, v view, body *generated.PersonUpdateDocument) (rawDoc, error) {
	a := body.Data.Attributes
	u := db.PersonUpdate{FirstName: a.FirstName, LastName: patch(a.LastName)}
	g, err := func() (writeGuard, error) {
		var err error
		if u.CreatedAt, err = optTime(a.CreatedAt, "created_at"); err != nil {
			return writeGuard{}, err
		}
		if u.UpdatedAt, err = optTime(a.UpdatedAt, "updated_at"); err != nil {
			return writeGuard{}, err
		}
		return guard(ifMatch, id, func() (*db.Precondition, error) { return precondition(a.UpdatedInDbAt, a.Overwrite) })
	}()
	if err == nil {
		err = s.checkPersonRelationships(ctx, sc.ContactID, id, body.Data.Relationships)
	}
	if err != nil {
		return rawDoc{}, lookupFirst(err, func() error { _, err := s.store.Person(ctx, sc, id); return err })
	}
	p, err := s.store.UpdatePerson(ctx, sc, id, u, g.pre)
	if err := g.check(err); err != nil {
		return rawDoc{}, err
	}
	out, err := s.personDoc(ctx, p, v)
	if err != nil {
		return rawDoc{}, err
	}
	return rawDoc{status: http.StatusOK, etag: etag(p.ID, p.UpdatedInDBAt), body: out}, nil
}

// newPersonRelationships returns a 400 unless the relationships of a new
// person of the given contact move nothing: contact, when sent, names it,
// and phone_numbers, when sent, is empty.
func newPersonRelationships(contactID string, r *generated.PersonWriteRelationships) error {
	if r == nil {
		return nil
	}
	if err := sameParent("/data/relationships/contact", "contact", r.Contact, contactID); err != nil {
		return err
	}
	if r.PhoneNumbers != nil && len(r.PhoneNumbers.Data) > 0 {
		return errBadRequest("/data/relationships/phone_numbers", "a new person has no phones: create them at its phones collection")
	}
	return nil
}

// checkPersonRelationships returns a 400 unless the relationships sent
// with an update of person id of the given contact move nothing: contact,
// when sent, names that contact, and phone_numbers, when sent, lists
// exactly the person's phones (read in one statement).
func (s *Server) checkPersonRelationships(ctx context.Context, contactID, id string, r *generated.PersonWriteRelationships) error {
	if r == nil {
		return nil
	}
	if err := sameParent("/data/relationships/contact", "contact", r.Contact, contactID); err != nil {
		return err
	}
	if r.PhoneNumbers == nil {
		return nil
	}
	phones, err := s.store.PhonesOf(ctx, callerFrom(ctx).AccountListID, []string{id}, maxIncluded+1)
	if err != nil {
		return err
	}
	ids := make([]string, len(r.PhoneNumbers.Data))
	for i, ref := range r.PhoneNumbers.Data {
		ids[i] = ref.Id
	}
	if !sameIDs(ids, phones, func(p db.Phone) string { return p.ID }) {
		return errBadRequest("/data/relationships/phone_numbers",
			"phones cannot be moved to or from a person: the phone_numbers relationship, when sent, must list exactly the person's %d phones", len(phones))
	}
	return nil
}

// sameParent returns a 400 at pointer unless the to-one relationship
// sent (a *generated.ContactLinkage or *generated.PersonLinkage, nil when
// absent) names want: a resource never moves to another parent.
func sameParent[L *generated.ContactLinkage | *generated.PersonLinkage](pointer, name string, sent L, want string) error {
	if sent == nil {
		return nil
	}
	var id string
	switch l := any(sent).(type) {
	case *generated.ContactLinkage:
		id = l.Data.Id
	case *generated.PersonLinkage:
		id = l.Data.Id
	}
	if !strings.EqualFold(id, want) {
		return errBadRequest(pointer+"/data/id", "%s %q is not this resource's %s %s: a resource cannot be moved to another %s",
			name, id, name, want, name)
	}
	return nil
}

// DeletePerson deletes a person and its phones.
func (s *Server) DeletePerson(ctx context.Context, req generated.DeletePersonRequestObject) (generated.DeletePersonResponseObject, error) {
	if err := s.deletePerson(ctx, contactScope(ctx, req.ContactId.String()), req.PersonId.String(), req.Params.IfMatch); err != nil {
		return nil, err
	}
	return generated.DeletePerson204Response{}, nil
}

// deletePerson deletes the person with the given id of sc's contact,
// under the If-Match precondition when sent.
func (s *Server) deletePerson(ctx context.Context, sc db.Scope, id string, ifMatch *string) error {
	g, err := guard(ifMatch, id, nil)
	if err != nil {
		return err
	}
	return g.check(s.store.DeletePerson(ctx, sc, id, g.pre))
}
