package handlers

import (
	"context"
	"errors"

	"github.com/phoneapi/phoneapi/db"
	"github.com/phoneapi/phoneapi/generated"
)

func contactResource(c db.Contact) generated.ContactResource {
	return generated.ContactResource{
		Id:   c.ID,
		Type: generated.ContactResourceTypeContacts,
		Attributes: generated.ContactAttributes{
			Name:          c.Name,
			CreatedAt:     formatTime(c.CreatedAt),
			UpdatedAt:     formatTime(c.UpdatedAt),
			UpdatedInDbAt: formatTime(c.UpdatedInDBAt),
		},
	}
}

func contactPath(id string) string { return "/api/v2/contacts/" + id }

// ownContact returns the caller's contact id: 404 when it does not exist,
// 403 when it belongs to someone else.
func (s *Server) ownContact(ctx context.Context, id string) (db.Contact, error) {
	c, err := s.store.Contact(ctx, id)
	if errors.Is(err, db.ErrNotFound) {
		return db.Contact{}, errNotFound("contact %s was not found", id)
	}
	if err != nil {
		return db.Contact{}, err
	}
	if c.AccountListID != callerFrom(ctx).AccountListID {
		return db.Contact{}, errForbidden("contact %s belongs to another account list", id)
	}
	return c, nil
}

// ListContacts lists the caller's contacts.
func (s *Server) ListContacts(ctx context.Context, _ generated.ListContactsRequestObject) (generated.ListContactsResponseObject, error) {
	list, err := s.store.ListContacts(ctx, callerFrom(ctx).AccountListID)
	if err != nil {
		return nil, err
	}
	out := generated.ListContacts200ApplicationVndAPIPlusJSONResponse{
		Data: make([]generated.ContactResource, len(list)),
		Meta: generated.ListMeta{},
	}
	for i, c := range list {
		out.Data[i] = contactResource(c)
	}
	return out, nil
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
		Body:    generated.ContactDocument{Data: contactResource(c)},
		Headers: generated.CreateContact201ResponseHeaders{Location: contactPath(c.ID)},
	}, nil
}

// GetContact returns one of the caller's contacts.
func (s *Server) GetContact(ctx context.Context, req generated.GetContactRequestObject) (generated.GetContactResponseObject, error) {
	c, err := s.ownContact(ctx, req.ContactId.String())
	if err != nil {
		return nil, err
	}
	return generated.GetContact200ApplicationVndAPIPlusJSONResponse{Data: contactResource(c)}, nil
}

// PutContact updates a contact (partial update).
func (s *Server) PutContact(ctx context.Context, req generated.PutContactRequestObject) (generated.PutContactResponseObject, error) {
	c, err := s.updateContact(ctx, req.ContactId.String(), req.Body)
	if err != nil {
		return nil, err
	}
	return generated.PutContact200ApplicationVndAPIPlusJSONResponse{Data: contactResource(c)}, nil
}

// PatchContact updates a contact (partial update).
func (s *Server) PatchContact(ctx context.Context, req generated.PatchContactRequestObject) (generated.PatchContactResponseObject, error) {
	c, err := s.updateContact(ctx, req.ContactId.String(), req.Body)
	if err != nil {
		return nil, err
	}
	return generated.PatchContact200ApplicationVndAPIPlusJSONResponse{Data: contactResource(c)}, nil
}

func (s *Server) updateContact(ctx context.Context, id string, body *generated.ContactUpdateDocument) (db.Contact, error) {
	stored, err := s.ownContact(ctx, id)
	if err != nil {
		return db.Contact{}, err
	}
	a := body.Data.Attributes
	u := db.ContactUpdate{Name: a.Name}
	if u.CreatedAt, err = optTime(a.CreatedAt, "created_at"); err != nil {
		return db.Contact{}, err
	}
	if u.UpdatedAt, err = optTime(a.UpdatedAt, "updated_at"); err != nil {
		return db.Contact{}, err
	}
	pre, err := precondition(a.UpdatedInDbAt, a.Overwrite, stored.UpdatedInDBAt)
	if err != nil {
		return db.Contact{}, err
	}
	return s.store.UpdateContact(ctx, id, u, pre)
}

// DeleteContact deletes a contact with its people and their phones.
func (s *Server) DeleteContact(ctx context.Context, req generated.DeleteContactRequestObject) (generated.DeleteContactResponseObject, error) {
	id := req.ContactId.String()
	if _, err := s.ownContact(ctx, id); err != nil {
		return nil, err
	}
	if err := s.store.DeleteContact(ctx, id); err != nil {
		return nil, err
	}
	return generated.DeleteContact204Response{}, nil
}
