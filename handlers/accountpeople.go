package handlers

import (
	"context"

	"github.com/phoneapi/phoneapi/db"
	"github.com/phoneapi/phoneapi/generated"
)

// The contact-less people collection, /api/v2/contacts/people: the people
// of every contact of the caller's account list, and each of them by its
// id alone. A person is found with db.PersonScope (404 when missing, 403
// when another account list's), then served exactly as on its nested
// route, with that scope.

// ListAccountPeople lists the people of the caller's account list. With
// filter[updated_in_db_at] and include=phone_numbers it is the sync feed
// of people and phones: a phone write advances its person's
// updated_in_db_at (db.touchPerson).
func (s *Server) ListAccountPeople(ctx context.Context, req generated.ListAccountPeopleRequestObject) (generated.ListAccountPeopleResponseObject, error) {
	p := req.Params
	v := viewOf(p.FieldsContacts, p.FieldsPeople, p.FieldsPhoneNumbers, p.Include).list()
	data, inc, meta, links, err := listOf("/api/v2/contacts/people", listParams{
		page: either(p.Page, p.PageNumber), perPage: either(p.PerPage, p.PageSize),
		sort: (*string)(p.Sort), defaultSort: string(generated.ListAccountPeopleParamsSortCreatedAt),
		filter: map[string]*string{"updated_at": p.FilterUpdatedAt, "updated_in_db_at": p.FilterUpdatedInDbAt},
		keep:   keepView(p.FieldsContacts, p.FieldsPeople, p.FieldsPhoneNumbers, p.Include),
	}, func(l *listQuery) ([]db.Person, int, error) {
		return s.store.ListAccountPeople(ctx, callerFrom(ctx).AccountListID, l.db)
	}, func(ps []db.Person) ([]generated.PersonResource, *generated.Included, error) {
		return s.peopleDoc(ctx, ps, v)
	})
	return generated.ListAccountPeople200ApplicationVndAPIPlusJSONResponse{Data: data, Included: inc, Meta: meta, Links: links}, err
}

// personScopeOf returns the scope of the caller's person with the given
// id: a *db.ScopeError (404, 403) when it is not the caller's.
func (s *Server) personScopeOf(ctx context.Context, id string) (db.Scope, error) {
	return s.store.PersonScope(ctx, callerFrom(ctx).AccountListID, id)
}

// GetAccountPerson returns one person of the caller's account list.
func (s *Server) GetAccountPerson(ctx context.Context, req generated.GetAccountPersonRequestObject) (generated.GetAccountPersonResponseObject, error) {
	id, p := req.PersonId.String(), req.Params
	sc, err := s.personScopeOf(ctx, id)
	if err != nil {
		return nil, err
	}
	doc, tag, err := s.getPerson(ctx, sc, id, p.IfNoneMatch, viewOf(p.FieldsContacts, p.FieldsPeople, p.FieldsPhoneNumbers, p.Include))
	switch {
	case err != nil:
		return nil, err
	case doc == nil:
		return generated.GetAccountPerson304Response{Headers: generated.NotModifiedResponseHeaders{ETag: tag}}, nil
	}
	return generated.GetAccountPerson200ApplicationVndAPIPlusJSONResponse{Body: *doc, Headers: generated.GetAccountPerson200ResponseHeaders{ETag: tag}}, nil
}

// PutAccountPerson updates a person of the caller's account list (partial
// update, as PutPerson).
func (s *Server) PutAccountPerson(ctx context.Context, req generated.PutAccountPersonRequestObject) (generated.PutAccountPersonResponseObject, error) {
	id, p := req.PersonId.String(), req.Params
	sc, err := s.personScopeOf(ctx, id)
	if err != nil {
		return nil, err
	}
	doc, tag, err := s.updatePerson(ctx, sc, id, p.IfMatch, viewOf(p.FieldsContacts, p.FieldsPeople, p.FieldsPhoneNumbers, p.Include), req.Body)
	return generated.PutAccountPerson200ApplicationVndAPIPlusJSONResponse{Body: doc, Headers: generated.PutAccountPerson200ResponseHeaders{ETag: tag}}, err
}

// PatchAccountPerson updates a person of the caller's account list; see
// PutAccountPerson.
func (s *Server) PatchAccountPerson(ctx context.Context, req generated.PatchAccountPersonRequestObject) (generated.PatchAccountPersonResponseObject, error) {
	id, p := req.PersonId.String(), req.Params
	sc, err := s.personScopeOf(ctx, id)
	if err != nil {
		return nil, err
	}
	doc, tag, err := s.updatePerson(ctx, sc, id, p.IfMatch, viewOf(p.FieldsContacts, p.FieldsPeople, p.FieldsPhoneNumbers, p.Include), req.Body)
	return generated.PatchAccountPerson200ApplicationVndAPIPlusJSONResponse{Body: doc, Headers: generated.PatchAccountPerson200ResponseHeaders{ETag: tag}}, err
}

// DeleteAccountPerson deletes a person of the caller's account list, with
// its phones.
func (s *Server) DeleteAccountPerson(ctx context.Context, req generated.DeleteAccountPersonRequestObject) (generated.DeleteAccountPersonResponseObject, error) {
	id := req.PersonId.String()
	sc, err := s.personScopeOf(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := s.deletePerson(ctx, sc, id, req.Params.IfMatch); err != nil {
		return nil, err
	}
	return generated.DeleteAccountPerson204Response{}, nil
}
