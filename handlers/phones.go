package handlers

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/oapi-codegen/nullable"

	"github.com/phoneapi/phoneapi/db"
	"github.com/phoneapi/phoneapi/generated"
	"github.com/phoneapi/phoneapi/handlers/phonenum"
)

func phonePath(contactID, personID, id string) string {
	return personPath(contactID, personID) + "/phones/" + id
}

// personScope is the path to a person of the caller's.
func personScope(ctx context.Context, contactID, personID string) db.Scope {
	return db.Scope{AccountListID: callerFrom(ctx).AccountListID, ContactID: contactID, PersonID: personID}
}

// parseNumber parses the number attribute. The region is that of the
// country_code sent, else of storedCode (the phone's stored calling code, on
// update), else the server's default. Errors are 400 at the attribute.
func (s *Server) parseNumber(raw json.RawMessage, code nullable.Nullable[json.RawMessage], storedCode *string) (phonenum.Number, error) {
	region, err := s.regionFor(code, storedCode)
	if err != nil {
		return phonenum.Number{}, err
	}
	text, err := phonenum.FromJSON(raw)
	if err != nil {
		return phonenum.Number{}, errBadRequest("/data/attributes/number", "number must be a string or a whole JSON number")
	}
	n, err := phonenum.Parse(text, region)
	if err != nil {
		return phonenum.Number{}, errBadRequest("/data/attributes/number", "%s", err)
	}
	return n, nil
}

// regionFor returns the region used to parse national numbers.
func (s *Server) regionFor(code nullable.Nullable[json.RawMessage], storedCode *string) (string, error) {
	if v, err := code.Get(); err == nil {
		text, err := phonenum.FromJSON(v)
		if err != nil {
			return "", errBadRequest("/data/attributes/country_code", "country_code must be a calling code such as \"1\" or \"44\"")
		}
		region, ok := phonenum.RegionForCallingCode(strings.TrimPrefix(text, "+"))
		if !ok {
			return "", errBadRequest("/data/attributes/country_code", "%q is not a known calling code", text)
		}
		return region, nil
	}
	if storedCode != nil {
		if region, ok := phonenum.RegionForCallingCode(*storedCode); ok {
			return region, nil
		}
	}
	return s.region, nil
}

// ListPhones lists a person's phones.
func (s *Server) ListPhones(ctx context.Context, req generated.ListPhonesRequestObject) (generated.ListPhonesResponseObject, error) {
	contactID, personID, p := req.ContactId.String(), req.PersonId.String(), req.Params
	sc := personScope(ctx, contactID, personID)
	v := viewOf(p.FieldsContacts, p.FieldsPeople, p.FieldsPhoneNumbers, p.Include).list()
	return listOf(personPath(contactID, personID)+"/phones", listParams{
		page: either(p.Page, p.PageNumber), perPage: either(p.PerPage, p.PageSize),
		sort: (*string)(p.Sort), defaultSort: string(generated.ListPhonesParamsSortCreatedAt),
		filter: map[string]*string{"updated_at": p.FilterUpdatedAt, "updated_in_db_at": p.FilterUpdatedInDbAt,
			"primary": (*string)(p.FilterPrimary), "historic": (*string)(p.FilterHistoric), "location": p.FilterLocation},
		keep: keepView(p.FieldsContacts, p.FieldsPeople, p.FieldsPhoneNumbers, p.Include),
	}, func(l *listQuery) ([]db.Phone, int, error) { return s.store.ListPhones(ctx, sc, l.db) },
		s.phonesPage(ctx, v))
}

// CreatePhone creates a phone for a person.
func (s *Server) CreatePhone(ctx context.Context, req generated.CreatePhoneRequestObject) (generated.CreatePhoneResponseObject, error) {
	contactID, personID := req.ContactId.String(), req.PersonId.String()
	sc := personScope(ctx, contactID, personID)
	data := req.Body.Data
	a := data.Attributes
	// The store checks the path in the write's transaction; it is read
	// first only when the body fails, for its 404 or 403 to come first.
	checkPath := func() error { return s.store.CheckScope(ctx, sc) }
	num, err := s.parseNumber(a.Number, a.CountryCode, nil)
	if err != nil {
		return nil, lookupFirst(err, checkPath)
	}
	p := db.NewPhone{
		Number:      num.E164,
		CountryCode: &num.CountryCode,
		Primary:     a.Primary != nil && *a.Primary,
		Historic:    a.Historic != nil && *a.Historic,
		ValidValues: a.ValidValues,
	}
	if data.Id != nil {
		p.ID = *data.Id
	}
	if v, err := a.Location.Get(); err == nil {
		p.Location = &v
	}
	if a.Source != nil {
		p.Source = *a.Source
	}
	err = setCreateTimes(&p.CreatedAt, &p.UpdatedAt, a.CreatedAt, a.UpdatedAt)
	if r := data.Relationships; err == nil && r != nil {
		err = sameParent("/data/relationships/person", "person", r.Person, personID)
	}
	if err != nil {
		return nil, lookupFirst(err, checkPath)
	}
	q := req.Params
	v := viewOf(q.FieldsContacts, q.FieldsPeople, q.FieldsPhoneNumbers, q.Include)
	created := func(phone db.Phone, err error) (rawDoc, error) {
		if err != nil {
			return rawDoc{}, err
		}
		body, err := s.phoneDoc(ctx, phone, v)
		if err != nil {
			return rawDoc{}, err
		}
		return rawDoc{status: http.StatusCreated, location: phonePath(contactID, personID, phone.ID), etag: etag(phone.ID, phone.UpdatedInDBAt), body: body}, nil
	}
	return s.create(ctx,
		func(key *db.Key) (rawDoc, error) { return created(s.store.CreatePhoneOnce(ctx, sc, p, key)) },
		func(id string) (rawDoc, error) { return created(s.store.Phone(ctx, sc, id)) })
}

// GetPhone returns one phone.
func (s *Server) GetPhone(ctx context.Context, req generated.GetPhoneRequestObject) (generated.GetPhoneResponseObject, error) {
	p, err := s.store.Phone(ctx, personScope(ctx, req.ContactId.String(), req.PersonId.String()), req.Id.String())
	if err != nil {
		return nil, err
	}
	q := req.Params
	v := viewOf(q.FieldsContacts, q.FieldsPeople, q.FieldsPhoneNumbers, q.Include)
	tag := etag(p.ID, p.UpdatedInDBAt)
	if m := q.IfNoneMatch; m != nil && v.conditional() && etagMatches(*m, tag, true) {
		return generated.GetPhone304Response{Headers: generated.NotModifiedResponseHeaders{ETag: tag}}, nil
	}
	body, err := s.phoneDoc(ctx, p, v)
	if err != nil {
		return nil, err
	}
	return rawDoc{status: http.StatusOK, etag: tag, body: body}, nil
}

// PutPhone and PatchPhone are the spec's two operations for the same
// partial update; each wraps updatePhone's result in its own generated
// response type (see PutContact).
func (s *Server) PutPhone(ctx context.Context, req generated.PutPhoneRequestObject) (generated.PutPhoneResponseObject, error) {
	p := req.Params
	return s.updatePhone(ctx, req.ContactId.String(), req.PersonId.String(), req.Id.String(), p.IfMatch,
		viewOf(p.FieldsContacts, p.FieldsPeople, p.FieldsPhoneNumbers, p.Include), req.Body)
}

// PatchPhone updates a phone (partial update); see PutPhone.
func (s *Server) PatchPhone(ctx context.Context, req generated.PatchPhoneRequestObject) (generated.PatchPhoneResponseObject, error) {
	p := req.Params
	return s.updatePhone(ctx, req.ContactId.String(), req.PersonId.String(), req.Id.String(), p.IfMatch,
		viewOf(p.FieldsContacts, p.FieldsPeople, p.FieldsPhoneNumbers, p.Include), req.Body)
}

// updatePhone checks the body, then writes: the store checks the path
// (404, 403), the phone (404) and the precondition (409, 412) in the
// write's transaction. The phone is read before only when the body needs
// it (a national number without country_code is parsed in the region of
// the phone's calling code) or fails (its 404 or 403 comes before the
// body's 400). A person relationship in the body must name the path's
// person (phones do not move), else 400. It returns the stored phone's
// document (v applied) and its ETag, as a 200 response.
func (s *Server) updatePhone(ctx context.Context, contactID, personID, id string, ifMatch *string, v view, body *generated.PhoneUpdateDocument) (rawDoc, error) {
	a := body.Data.Attributes
	sc := personScope(ctx, contactID, personID)
	lookup := func() error { _, err := s.store.Phone(ctx, sc, id); return err }
	var storedCode *string
	if _, err := a.CountryCode.Get(); a.Number != nil && err != nil {
		stored, err := s.store.Phone(ctx, sc, id)
		if err != nil {
			return rawDoc{}, err
		}
		storedCode, lookup = stored.CountryCode, func() error { return nil }
	}
	u, g, err := s.phoneUpdate(id, ifMatch, a, storedCode)
	if r := body.Data.Relationships; err == nil && r != nil {
		err = sameParent("/data/relationships/person", "person", r.Person, personID)
	}
	if err != nil {
		return rawDoc{}, lookupFirst(err, lookup)
	}
	p, err := s.store.UpdatePhone(ctx, sc, id, u, g.pre)
	if err := g.check(err); err != nil {
		return rawDoc{}, err
	}
	out, err := s.phoneDoc(ctx, p, v)
	if err != nil {
		return rawDoc{}, err
	}
	return rawDoc{status: http.StatusOK, etag: etag(p.ID, p.UpdatedInDBAt), body: out}, nil
}

// phoneUpdate turns an update's attributes into the store's update and
// precondition; storedCode is the phone's calling code, when the number
// needs it. Errors are 400.
func (s *Server) phoneUpdate(id string, ifMatch *string, a generated.PhoneUpdateAttributes, storedCode *string) (db.PhoneUpdate, writeGuard, error) {
	u := db.PhoneUpdate{
		Location:    patch(a.Location),
		Primary:     a.Primary,
		Historic:    a.Historic,
		Source:      a.Source,
		ValidValues: a.ValidValues,
	}
	if a.Number != nil {
		num, err := s.parseNumber(*a.Number, a.CountryCode, storedCode)
		if err != nil {
			return u, writeGuard{}, err
		}
		u.Number = &num.E164
		u.CountryCode = db.Patch[string]{Set: true, Value: &num.CountryCode}
	} else if _, err := s.regionFor(a.CountryCode, nil); err != nil {
		return u, writeGuard{}, err
	}
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

// DeletePhone deletes a phone; deleting the primary promotes another.
func (s *Server) DeletePhone(ctx context.Context, req generated.DeletePhoneRequestObject) (generated.DeletePhoneResponseObject, error) {
	contactID, personID, id := req.ContactId.String(), req.PersonId.String(), req.Id.String()
	g, err := guard(req.Params.IfMatch, id, nil)
	if err != nil {
		return nil, err
	}
	err = s.store.DeletePhone(ctx, personScope(ctx, contactID, personID), id, g.pre)
	if err := g.check(err); err != nil {
		return nil, err
	}
	return generated.DeletePhone204Response{}, nil
}
