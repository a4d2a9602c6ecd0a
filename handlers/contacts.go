package handlers

import (
	"context"

	"github.com/phoneapi/phoneapi/db"
	"github.com/phoneapi/phoneapi/generated"
)

func contactResource(c db.Contact, f fieldset) generated.ContactResource {
	return generated.ContactResource{
		Id:   c.ID,
		Type: generated.ContactResourceTypeContacts,
		Attributes: generated.ContactAttributes{
			Name:          field(f, "name", c.Name),
			CreatedAt:     timeField(f, "created_at", c.CreatedAt),
			UpdatedAt:     timeField(f, "updated_at", c.UpdatedAt),
			UpdatedInDbAt: timeField(f, "updated_in_db_at", c.UpdatedInDBAt),
		},
	}
}

func contactPath(id string) string { return "/api/v2/contacts/" + id }

// contactScope is the path to a contact of the caller's.
func contactScope(ctx context.Context, contactID string) db.Scope {
	return db.Scope{AccountListID: callerFrom(ctx).AccountListID, ContactID: contactID}
}

// ListContacts lists the caller's contacts.
func (s *Server) ListContacts(ctx context.Context, req generated.ListContactsRequestObject) (generated.ListContactsResponseObject, error) {
	p, f := req.Params, fieldsOf(req.Params.FieldsContacts)
	data, meta, links, err := listOf("/api/v2/contacts", listParams{
		page: either(p.Page, p.PageNumber), perPage: either(p.PerPage, p.PageSize),
		sort: (*string)(p.Sort), defaultSort: string(generated.ListContactsParamsSortCreatedAt),
		filter: map[string]*string{"updated_at": p.FilterUpdatedAt, "updated_in_db_at": p.FilterUpdatedInDbAt},
		keep:   map[string]*string{"fields[contacts]": p.FieldsContacts, "include": p.Include},
	}, func(l *listQuery) ([]db.Contact, int, error) {
		return s.store.ListContacts(ctx, callerFrom(ctx).AccountListID, l.db)
	},
		func(c db.Contact) generated.ContactResource { return contactResource(c, f) })
	return generated.ListContacts200ApplicationVndAPIPlusJSONResponse{Data: data, Meta: meta, Links: links}, err
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
	c, err := s.store.CreateContact(ctx, c)
	if err != nil {
		return nil, err
	}
	return generated.CreateContact201ApplicationVndAPIPlusJSONResponse{
		Body: generated.ContactDocument{Data: contactResource(c, fieldsOf(req.Params.FieldsContacts))},
		Headers: generated.CreateContact201ResponseHeaders{
			Location: contactPath(c.ID),
			ETag:     etag(c.ID, c.UpdatedInDBAt),
		},
	}, nil
}

// GetContact returns one of the caller's contacts.
func (s *Server) GetContact(ctx context.Context, req generated.GetContactRequestObject) (generated.GetContactResponseObject, error) {
	c, err := s.store.Contact(ctx, contactScope(ctx, req.ContactId.String()))
	if err != nil {
		return nil, err
	}
	tag := etag(c.ID, c.UpdatedInDBAt)
	if m := req.Params.IfNoneMatch; m != nil && etagMatches(*m, tag, true) {
		return generated.GetContact304Response{Headers: generated.NotModifiedResponseHeaders{ETag: tag}}, nil
	}
	return generated.GetContact200ApplicationVndAPIPlusJSONResponse{
		Body:    generated.ContactDocument{Data: contactResource(c, fieldsOf(req.Params.FieldsContacts))},
		Headers: generated.GetContact200ResponseHeaders{ETag: tag},
	}, nil
}

// PutContact and PatchContact are the spec's two operations for the same
// partial update; each wraps updateContact's result in its own generated
// response type. (On an error the strict handler sends the error and
// never looks at the response.)
func (s *Server) PutContact(ctx context.Context, req generated.PutContactRequestObject) (generated.PutContactResponseObject, error) {
	doc, tag, err := s.updateContact(ctx, req.ContactId.String(), req.Params.IfMatch, req.Params.FieldsContacts, req.Body)
	return generated.PutContact200ApplicationVndAPIPlusJSONResponse{Body: doc, Headers: generated.PutContact200ResponseHeaders{ETag: tag}}, err
}

// PatchContact updates a contact (partial update); see PutContact.
func (s *Server) PatchContact(ctx context.Context, req generated.PatchContactRequestObject) (generated.PatchContactResponseObject, error) {
	doc, tag, err := s.updateContact(ctx, req.ContactId.String(), req.Params.IfMatch, req.Params.FieldsContacts, req.Body)
	return generated.PatchContact200ApplicationVndAPIPlusJSONResponse{Body: doc, Headers: generated.PatchContact200ResponseHeaders{ETag: tag}}, err
}

// updateContact checks the body, then writes: the store checks the path
// (404, 403) and the precondition (409, 412) in the write's transaction.
// When the body fails, the path is read first, so that its 404 or 403
// comes before the body's 400. It returns the stored contact's document
// (fields applied) and its ETag.
func (s *Server) updateContact(ctx context.Context, id string, ifMatch, fields *string, body *generated.ContactUpdateDocument) (generated.ContactDocument, string, error) {
	a := body.Data.Attributes
	u, g, err := contactUpdate(id, ifMatch, a)
	if err != nil {
		return generated.ContactDocument{}, "", lookupFirst(err, func() error { return s.store.CheckScope(ctx, contactScope(ctx, id)) })
	}
	c, err := s.store.UpdateContact(ctx, callerFrom(ctx).AccountListID, id, u, g.pre)
	if err := g.check(err); err != nil {
		return generated.ContactDocument{}, "", err
	}
	return generated.ContactDocument{Data: contactResource(c, fieldsOf(fields))}, etag(c.ID, c.UpdatedInDBAt), nil
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
