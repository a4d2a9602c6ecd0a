package handlers

import (
	"context"
	"net/http"

	"github.com/phoneapi/phoneapi/db"
	"github.com/phoneapi/phoneapi/generated"
)

func contactPath(id string) string { return "/api/v2/contacts/" + id }

// contactScope is the path to a contact of the caller's.
func contactScope(ctx context.Context, contactID string) db.Scope {
	return db.Scope{AccountListID: callerFrom(ctx).AccountListID, ContactID: contactID}
}

// ListContacts lists the caller's contacts.
func (s *Server) ListContacts(ctx context.Context, req generated.ListContactsRequestObject) (generated.ListContactsResponseObject, error) {
	p := req.Params
	v := viewOf(p.FieldsContacts, p.FieldsPeople, p.FieldsPhoneNumbers, p.Include).list()
	return listOf("/api/v2/contacts", listParams{
		page: either(p.Page, p.PageNumber), perPage: either(p.PerPage, p.PageSize),
		sort: (*string)(p.Sort), defaultSort: string(generated.ListContactsParamsSortCreatedAt),
		filter: map[string]*string{"updated_at": p.FilterUpdatedAt, "updated_in_db_at": p.FilterUpdatedInDbAt},
		keep:   keepView(p.FieldsContacts, p.FieldsPeople, p.FieldsPhoneNumbers, p.Include),
	}, func(l *listQuery) ([]db.Contact, int, error) {
		return s.store.ListContacts(ctx, callerFrom(ctx).AccountListID, l.db)
	}, s.contactsPage(ctx, v))
}

// CreateContact creates a contact in the caller's account list.
func (s *Server) CreateContact(ctx context.Context, req generated.CreateContactRequestObject) (generated.CreateContactResponseObject, error) {
	data := req.Body.Data
	c := db.Contact{AccountListID: callerFrom(ctx).AccountListID, Name: data.Attributes.Name}
	if data.Id != nil {
		c.ID = *data.Id
	}
	if err := setCreateTimes(&c.CreatedAt, &c.UpdatedAt, data.Attributes.CreatedAt, data.Attributes.UpdatedAt); err != nil {
		return nil, err
	}
	if r := data.Relationships; r != nil && r.People != nil && len(r.People.Data) > 0 {
		return nil, errBadRequest("/data/relationships/people", "a new contact has no people: create them at its people collection")
	}
	p := req.Params
	v := viewOf(p.FieldsContacts, p.FieldsPeople, p.FieldsPhoneNumbers, p.Include)
	created := func(saved db.Contact, err error) (rawDoc, error) {
		if err != nil {
			return rawDoc{}, err
		}
		body, err := s.contactDoc(ctx, saved, v)
		if err != nil {
			return rawDoc{}, err
		}
		return rawDoc{status: http.StatusCreated, location: contactPath(saved.ID), etag: etag(saved.ID, saved.UpdatedInDBAt), body: body}, nil
	}
	return s.create(ctx,
		func(key *db.Key) (rawDoc, error) { return created(s.store.CreateContactOnce(ctx, c, key)) },
		func(id string) (rawDoc, error) { return created(s.store.Contact(ctx, contactScope(ctx, id))) })
}

// GetContact returns one of the caller's contacts.
func (s *Server) GetContact(ctx context.Context, req generated.GetContactRequestObject) (generated.GetContactResponseObject, error) {
	c, err := s.store.Contact(ctx, contactScope(ctx, req.ContactId.String()))
	if err != nil {
		return nil, err
	}
	p := req.Params
	v := viewOf(p.FieldsContacts, p.FieldsPeople, p.FieldsPhoneNumbers, p.Include)
	tag := etag(c.ID, c.UpdatedInDBAt)
	if m := p.IfNoneMatch; m != nil && v.conditional() && etagMatches(*m, tag, true) {
		return generated.GetContact304Response{Headers: generated.NotModifiedResponseHeaders{ETag: tag}}, nil
	}
	body, err := s.contactDoc(ctx, c, v)
	if err != nil {
		return nil, err
	}
	return rawDoc{status: http.StatusOK, etag: tag, body: body}, nil
}

// PutContact and PatchContact are the spec's two operations for the same
// partial update; each wraps updateContact's result in its own generated
// response type. (On an error the strict handler sends the error and
// never looks at the response.)
func (s *Server) PutContact(ctx context.Context, req generated.PutContactRequestObject) (generated.PutContactResponseObject, error) {
	p := req.Params
	return s.updateContact(ctx, req.ContactId.String(), p.IfMatch, viewOf(p.FieldsContacts, p.FieldsPeople, p.FieldsPhoneNumbers, p.Include), req.Body)
}

// PatchContact updates a contact (partial update); see PutContact.
func (s *Server) PatchContact(ctx context.Context, req generated.PatchContactRequestObject) (generated.PatchContactResponseObject, error) {
	p := req.Params
	return s.updateContact(ctx, req.ContactId.String(), p.IfMatch, viewOf(p.FieldsContacts, p.FieldsPeople, p.FieldsPhoneNumbers, p.Include), req.Body)
}

// updateContact checks the body, then writes: the store checks the path
// (404, 403) and the precondition (409, 412) in the write's transaction.
// When the body fails, the path is read first, so that its 404 or 403
// comes before the body's 400. A people relationship in the body must
// list exactly the contact's people (people do not move between
// contacts), else 400. It returns the stored contact's document (v
// applied) and its ETag, as a 200 response.
func (s *Server) updateContact(ctx context.Context, id string, ifMatch *string, v view, body *generated.ContactUpdateDocument) (rawDoc, error) {
	a := body.Data.Attributes
	u, g, err := contactUpdate(id, ifMatch, a)
	if r := body.Data.Relationships; err == nil && r != nil && r.People != nil {
		err = s.samePeople(ctx, id, r.People.Data)
	}
	if err != nil {
		return rawDoc{}, lookupFirst(err, func() error { return s.store.CheckScope(ctx, contactScope(ctx, id)) })
	}
	c, err := s.store.UpdateContact(ctx, callerFrom(ctx).AccountListID, id, u, g.pre)
	if err := g.check(err); err != nil {
		return rawDoc{}, err
	}
	out, err := s.contactDoc(ctx, c, v)
	if err != nil {
		return rawDoc{}, err
	}
	return rawDoc{status: http.StatusOK, etag: etag(c.ID, c.UpdatedInDBAt), body: out}, nil
}

// samePeople returns a 400 at the people relationship unless sent names
// exactly the people of the contact with the given id.
func (s *Server) samePeople(ctx context.Context, id string, sent []generated.PersonRef) error {
	people, err := s.store.PeopleOf(ctx, callerFrom(ctx).AccountListID, []string{id}, maxIncluded+1)
	if err != nil {
		return err
	}
	ids := make([]string, len(sent))
	for i, r := range sent {
		ids[i] = r.Id
	}
	if !sameIDs(ids, people, func(p db.Person) string { return p.ID }) {
		return errBadRequest("/data/relationships/people",
			"people cannot be moved to or from a contact: the people relationship, when sent, must list exactly the contact's %d people", len(people))
	}
	return nil
}

// contactUpdate turns an update's attributes into the store's update and
// precondition; errors are 400.
func contactUpdate(id string, ifMatch *string, a generated.ContactUpdateAttributes) (db.ContactUpdate, writeGuard, error) {
	u := db.ContactUpdate{Name: a.Name}
	var err error
	if u.CreatedAt, err = optTime(a.CreatedAt, "created_at"); err != nil {
		return u, writeGuard{}, err
	}
	if u.UpdatedAt, err = optTime(a.UpdatedAt, "updated_at"); err != nil {
		return u, writeGuard{}, err
	}
	g, err := guard(ifMatch, id, func() (*db.Precondition, error) { return precondition(a.UpdatedInDbAt, a.Overwrite) })
	return u, g, err
}

// DeleteContact deletes a contact with its people and their phones.
func (s *Server) DeleteContact(ctx context.Context, req generated.DeleteContactRequestObject) (generated.DeleteContactResponseObject, error) {
	id := req.ContactId.String()
	g, err := guard(req.Params.IfMatch, id, nil)
	if err != nil {
		return nil, err
	}
	if err := g.check(s.store.DeleteContact(ctx, callerFrom(ctx).AccountListID, id, g.pre)); err != nil {
		return nil, err
	}
	return generated.DeleteContact204Response{}, nil
}
