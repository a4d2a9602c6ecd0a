package handlers

import (
	"context"

	"github.com/phoneapi/phoneapi/db"
	"github.com/phoneapi/phoneapi/generated"
)

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

// ListDeletedRecords lists the tombstones of the caller's account list.
func (s *Server) ListDeletedRecords(ctx context.Context, req generated.ListDeletedRecordsRequestObject) (generated.ListDeletedRecordsResponseObject, error) {
	p, f := req.Params, fieldsOf(req.Params.FieldsDeletedRecords)
	data, _, meta, links, err := listOf("/api/v2/deleted_records", listParams{
		page: either(p.Page, p.PageNumber), perPage: either(p.PerPage, p.PageSize),
		sort: (*string)(p.Sort), defaultSort: string(generated.ListDeletedRecordsParamsSortDeletedAt),
		filter: map[string]*string{"since": p.FilterSince, "types": p.FilterTypes},
		keep:   map[string]*string{"fields[deleted_records]": p.FieldsDeletedRecords, "include": p.Include},
	}, func(l *listQuery) ([]db.Deleted, int, error) {
		q := db.DeletedQuery{Since: l.since, Types: l.types, Desc: l.db.Desc, Limit: l.db.Limit, Offset: l.db.Offset}
		return s.store.ListDeleted(ctx, callerFrom(ctx).AccountListID, q)
	}, func(ds []db.Deleted) ([]generated.DeletedRecordResource, *generated.Included, error) {
		data := make([]generated.DeletedRecordResource, len(ds))
		for i, d := range ds {
			data[i] = deletedResource(d, f)
		}
		return data, nil, nil
	})
	return generated.ListDeletedRecords200ApplicationVndAPIPlusJSONResponse{Data: data, Meta: meta, Links: links}, err
}
