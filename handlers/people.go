package handlers

import (
	"context"

	"github.com/phoneapi/phoneapi/db"
	"github.com/phoneapi/phoneapi/generated"
)

func personResource(p db.Person, f fieldset) generated.PersonResource {
	return generated.PersonResource{
		Id:   p.ID,
		Type: generated.PersonResourceTypePeople,
		Attributes: generated.PersonAttributes{
			FirstName:     field(f, "first_name", p.FirstName),
			LastName:      nullField(f, "last_name", p.LastName),
			CreatedAt:     timeField(f, "created_at", p.CreatedAt),
			UpdatedAt:     timeField(f, "updated_at", p.UpdatedAt),
			UpdatedInDbAt: timeField(f, "updated_in_db_at", p.UpdatedInDBAt),
		},
	}
}

func personPath(contactID, id string) string { return contactPath(contactID) + "/people/" + id }

// ListPeople lists a contact's people.
func (s *Server) ListPeople(ctx context.Context, req generated.ListPeopleRequestObject) (generated.ListPeopleResponseObject, error) {
	contactID, p := req.ContactId.String(), req.Params
	sc, f := contactScope(ctx, contactID), fieldsOf(p.FieldsPeople)
	data, meta, links, err := listOf(contactPath(contactID)+"/people", listParams{
		page: either(p.Page, p.PageNumber), perPage: either(p.PerPage, p.PageSize),
		sort: (*string)(p.Sort), defaultSort: string(generated.ListPeopleParamsSortCreatedAt),
		filter: map[string]*string{"updated_at": p.FilterUpdatedAt, "updated_in_db_at": p.FilterUpdatedInDbAt},
		keep:   map[string]*string{"fields[people]": p.FieldsPeople, "include": p.Include},
	}, func(l *listQuery) ([]db.Person, int, error) { return s.store.ListPeople(ctx, sc, l.db) },
		func(pe db.Person) generated.PersonResource { return personResource(pe, f) })
	return generated.ListPeople200ApplicationVndAPIPlusJSONResponse{Data: data, Meta: meta, Links: links}, err
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
	if err := setCreateTimes(&p.CreatedAt, &p.UpdatedAt, data.Attributes.CreatedAt, data.Attributes.UpdatedAt); err != nil {
		// The store checks the contact in the write's transaction; it is
		// read first only now, for its 404 or 403 to come before the 400.
		return nil, lookupFirst(err, func() error { return s.store.CheckScope(ctx, contactScope(ctx, contactID)) })
	}
	p, err := s.store.CreatePerson(ctx, contactScope(ctx, contactID), p)
	if err != nil {
		return nil, err
	}
	return generated.CreatePerson201ApplicationVndAPIPlusJSONResponse{
		Body: generated.PersonDocument{Data: personResource(p, fieldsOf(req.Params.FieldsPeople))},
		Headers: generated.CreatePerson201ResponseHeaders{
			Location: personPath(contactID, p.ID),
			ETag:     etag(p.ID, p.UpdatedInDBAt),
		},
	}, nil
}

// GetPerson returns one person.
func (s *Server) GetPerson(ctx context.Context, req generated.GetPersonRequestObject) (generated.GetPersonResponseObject, error) {
	p, err := s.store.Person(ctx, contactScope(ctx, req.ContactId.String()), req.PersonId.String())
	if err != nil {
		return nil, err
	}
	tag := etag(p.ID, p.UpdatedInDBAt)
	if m := req.Params.IfNoneMatch; m != nil && etagMatches(*m, tag, true) {
		return generated.GetPerson304Response{Headers: generated.NotModifiedResponseHeaders{ETag: tag}}, nil
	}
	return generated.GetPerson200ApplicationVndAPIPlusJSONResponse{
		Body:    generated.PersonDocument{Data: personResource(p, fieldsOf(req.Params.FieldsPeople))},
		Headers: generated.GetPerson200ResponseHeaders{ETag: tag},
	}, nil
}

// PutPerson and PatchPerson are the spec's two operations for the same
// partial update; each wraps updatePerson's result in its own generated
// response type (see PutContact).
func (s *Server) PutPerson(ctx context.Context, req generated.PutPersonRequestObject) (generated.PutPersonResponseObject, error) {
	doc, tag, err := s.updatePerson(ctx, req.ContactId.String(), req.PersonId.String(), req.Params.IfMatch, req.Params.FieldsPeople, req.Body)
	return generated.PutPerson200ApplicationVndAPIPlusJSONResponse{Body: doc, Headers: generated.PutPerson200ResponseHeaders{ETag: tag}}, err
}

// PatchPerson updates a person (partial update); see PutPerson.
func (s *Server) PatchPerson(ctx context.Context, req generated.PatchPersonRequestObject) (generated.PatchPersonResponseObject, error) {
	doc, tag, err := s.updatePerson(ctx, req.ContactId.String(), req.PersonId.String(), req.Params.IfMatch, req.Params.FieldsPeople, req.Body)
	return generated.PatchPerson200ApplicationVndAPIPlusJSONResponse{Body: doc, Headers: generated.PatchPerson200ResponseHeaders{ETag: tag}}, err
}

// updatePerson checks the body, then writes: the store checks the path
// (404, 403) and the precondition (409, 412) in the write's transaction.
// When the body fails, the path is read first, so that its 404 or 403
// comes before the body's 400. It returns the stored person's document
// (fields applied) and its ETag.
func (s *Server) updatePerson(ctx context.Context, contactID, id string, ifMatch, fields *string, body *generated.PersonUpdateDocument) (generated.PersonDocument, string, error) {
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
	if err != nil {
		return generated.PersonDocument{}, "", lookupFirst(err, func() error { _, err := s.store.Person(ctx, contactScope(ctx, contactID), id); return err })
	}
	p, err := s.store.UpdatePerson(ctx, contactScope(ctx, contactID), id, u, g.pre)
	if err := g.check(err); err != nil {
		return generated.PersonDocument{}, "", err
	}
	return generated.PersonDocument{Data: personResource(p, fieldsOf(fields))}, etag(p.ID, p.UpdatedInDBAt), nil
}

// DeletePerson deletes a person and its phones.
func (s *Server) DeletePerson(ctx context.Context, req generated.DeletePersonRequestObject) (generated.DeletePersonResponseObject, error) {
	contactID, id := req.ContactId.String(), req.PersonId.String()
	g, err := guard(req.Params.IfMatch, id, nil)
	if err != nil {
		return nil, err
	}
	err = s.store.DeletePerson(ctx, contactScope(ctx, contactID), id, g.pre)
	if err := g.check(err); err != nil {
		return nil, err
	}
	return generated.DeletePerson204Response{}, nil
}
