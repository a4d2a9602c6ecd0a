package handlers

import (
	"time"

	"github.com/oapi-codegen/nullable"

	"github.com/phoneapi/phoneapi/db"
	"github.com/phoneapi/phoneapi/generated"
)

// The reference encoding: the resources and documents built from the
// generated types and encoded by encoding/json, as the handlers did before
// they encoded by hand (encode.go). encode_test.go holds the hand encoding
// to these, byte for byte.

// field returns &v when the fieldset asks for name, else nil (omitted).
func field[T any](f fieldset, name string, v T) *T {
	if !f.has(name) {
		return nil
	}
	return &v
}

// timeField is field for a timestamp, formatted for the wire.
func timeField(f fieldset, name string, t time.Time) *string {
	return field(f, name, formatTime(t))
}

// nullField returns a nullable attribute: omitted when the fieldset does not
// ask for name, null when v is nil.
func nullField(f fieldset, name string, v *string) nullable.Nullable[string] {
	switch {
	case !f.has(name):
		return nil
	case v == nil:
		return nullable.NewNullNullable[string]()
	default:
		return nullable.NewNullableWithValue(*v)
	}
}

// contactResource renders a contact; people are the ids of its people
// when the relationship is included (see linkage), else nil.
func contactResource(c db.Contact, f fieldset, people []string) generated.ContactResource {
	return generated.ContactResource{
		Id:            c.ID,
		Type:          generated.ContactResourceTypeContacts,
		Relationships: contactRelationships(c, f, people),
		Attributes: generated.ContactAttributes{
			Name:          field(f, "name", c.Name),
			CreatedAt:     timeField(f, "created_at", c.CreatedAt),
			UpdatedAt:     timeField(f, "updated_at", c.UpdatedAt),
			UpdatedInDbAt: timeField(f, "updated_in_db_at", c.UpdatedInDBAt),
		},
	}
}

// personResource renders a person; phones are the ids of its phones when
// the relationship is included (see linkage), else nil.
func personResource(p db.Person, f fieldset, phones []string) generated.PersonResource {
	return generated.PersonResource{
		Id:            p.ID,
		Type:          generated.PersonResourceTypePeople,
		Relationships: personRelationships(p, f, phones),
		Attributes: generated.PersonAttributes{
			FirstName:     field(f, "first_name", p.FirstName),
			LastName:      nullField(f, "last_name", p.LastName),
			CreatedAt:     timeField(f, "created_at", p.CreatedAt),
			UpdatedAt:     timeField(f, "updated_at", p.UpdatedAt),
			UpdatedInDbAt: timeField(f, "updated_in_db_at", p.UpdatedInDBAt),
		},
	}
}

func phoneResource(p db.Phone, f fieldset) generated.PhoneResource {
	cc := ""
	if p.CountryCode != nil {
		cc = *p.CountryCode
	}
	return generated.PhoneResource{
		Id:            p.ID,
		Type:          generated.PhoneResourceTypePhoneNumbers,
		Relationships: phoneRelationships(p, f),
		Attributes: generated.PhoneAttributes{
			CountryCode:   field(f, "country_code", cc),
			CreatedAt:     timeField(f, "created_at", p.CreatedAt),
			Historic:      field(f, "historic", p.Historic),
			Location:      nullField(f, "location", p.Location),
			Number:        field(f, "number", p.Number),
			Primary:       field(f, "primary", p.Primary),
			Source:        field(f, "source", p.Source),
			UpdatedAt:     timeField(f, "updated_at", p.UpdatedAt),
			UpdatedInDbAt: timeField(f, "updated_in_db_at", p.UpdatedInDBAt),
			ValidValues:   field(f, "valid_values", p.ValidValues),
		},
	}
}

func deletedResource(d db.Deleted, f fieldset) generated.DeletedRecordResource {
	return generated.DeletedRecordResource{
		Id:   d.ID,
		Type: generated.DeletedRecords,
		Attributes: generated.DeletedRecordAttributes{
			DeletedAt:     timeField(f, "deleted_at", d.DeletedAt),
			DeletableType: field(f, "deletable_type", generated.DeletedRecordAttributesDeletableType(d.Type)),
			DeletableId:   field(f, "deletable_id", d.DeletableID),
			ContactId:     nullField(f, "contact_id", d.ContactID),
			PersonId:      nullField(f, "person_id", d.PersonID),
		},
	}
}

// relatedLink is a relationship's links member.
func relatedLink(url string) generated.RelatedLinks { return generated.RelatedLinks{Related: url} }

// contactRelationships returns a contact's relationships (nil when the
// fieldset selects none); people are its people's ids when included.
func contactRelationships(c db.Contact, f fieldset, people []string) *generated.ContactRelationships {
	if !f.has("people") {
		return nil
	}
	rel := &generated.PeopleToMany{Links: relatedLink(contactPath(c.ID) + "/people")}
	if people != nil {
		data := make([]generated.PersonIdentifier, len(people))
		for i, id := range people {
			data[i] = generated.PersonIdentifier{Type: generated.PersonIdentifierTypePeople, Id: id}
		}
		rel.Data = &data
	}
	return &generated.ContactRelationships{People: rel}
}

// personRelationships returns a person's relationships (nil when the
// fieldset selects none); phones are its phones' ids when included.
func personRelationships(p db.Person, f fieldset, phones []string) *generated.PersonRelationships {
	var rel generated.PersonRelationships
	if f.has("contact") {
		rel.Contact = &generated.ContactToOne{
			Links: relatedLink(contactPath(p.ContactID)),
			Data:  generated.ContactIdentifier{Type: generated.ContactIdentifierTypeContacts, Id: p.ContactID},
		}
	}
	if f.has("phone_numbers") {
		rel.PhoneNumbers = &generated.PhonesToMany{Links: relatedLink(personPath(p.ContactID, p.ID) + "/phones")}
		if phones != nil {
			data := make([]generated.PhoneIdentifier, len(phones))
			for i, id := range phones {
				data[i] = generated.PhoneIdentifier{Type: generated.PhoneIdentifierTypePhoneNumbers, Id: id}
			}
			rel.PhoneNumbers.Data = &data
		}
	}
	if rel.Contact == nil && rel.PhoneNumbers == nil {
		return nil
	}
	return &rel
}

// phoneRelationships returns a phone's relationships (nil when the
// fieldset selects none). The person's related link is its contact-less
// URL: a phone row does not hold its contact.
func phoneRelationships(p db.Phone, f fieldset) *generated.PhoneRelationships {
	if !f.has("person") {
		return nil
	}
	return &generated.PhoneRelationships{Person: &generated.PersonToOne{
		Links: relatedLink(accountPersonPath(p.PersonID)),
		Data:  generated.PersonIdentifier{Type: generated.PersonIdentifierTypePeople, Id: p.PersonID},
	}}
}
