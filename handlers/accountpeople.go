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
	return listOf("/api/v2/contacts/people", listParams{
		page: either(p.Page, p.PageNumber), perPage: either(p.PerPage, p.PageSize),
		sort: (*string)(p.Sort), defaultSort: string(generated.ListAccountPeopleParamsSortCreatedAt),
		filter: map[string]*string{"updated_at": p.FilterUpdatedAt, "updated_in_db_at": p.FilterUpdatedInDbAt},
		keep:   keepView(p.FieldsContacts, p.FieldsPeople, p.FieldsPhoneNumbers, p.Include),
	}, func(l *listQuery) ([]db.Person, int, error) {
		return s.store.ListAccountPeople(ctx, callerFrom(ctx).AccountListID, l.db)
	}, s.peoplePage(ctx, v))
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
	doc, err := s.getPerson(ctx, sc, id, p.IfNoneMatch, viewOf(p.FieldsContacts, p.FieldsPeople, p.FieldsPhoneNumbers, p.Include))
	switch {
	case err != nil:
		return nil, err
	case doc.body == nil:
		return generated.GetAccountPerson304Response{Headers: generated.NotModifiedResponseHeaders{ETag: doc.etag}}, nil
	}
	return doc, nil
}

// PutAccountPerson updates a person of the caller's account list (partial
// update, as PutPerson).
func (s *Server) PutAccountPerson(ctx context.Context, req generated.PutAccountPersonRequestObject) (generated.PutAccountPersonResponseObject, error) {
	id, p := req.PersonId.String(), req.Params
	sc, err := s.personScopeOf(ctx, id)
	if err != nil {
		return nil, err
	}
	return s.updatePerson(ctx, sc, id, p.IfMatch, viewOf(p.FieldsContacts, p.FieldsPeople, p.FieldsPhoneNumbers, p.Include), req.Body)
}

// PatchAccountPerson updates a person of the caller's account list; see
// PutAccountPerson.
func (s *Server) PatchAccountPerson(ctx context.Context, req generated.PatchAccountPersonRequestObject) (generated.PatchAccountPersonResponseObject, error) {
	id, p := req.PersonId.String(), req.Params
	sc, err := s.personScopeOf(ctx, id)
	if err != nil {
		return nil, err
	}
	return s.updatePerson(ctx, sc, id, p.IfMatch, viewOf(p.FieldsContacts, p.FieldsPeople, p.FieldsPhoneNumbers, p.Include), req.Body)
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
