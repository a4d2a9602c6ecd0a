package handlers

import (
	"context"

	"github.com/phoneapi/phoneapi/db"
	"github.com/phoneapi/phoneapi/generated"
)

// ListDeletedRecords lists the tombstones of the caller's account list.
func (s *Server) ListDeletedRecords(ctx context.Context, req generated.ListDeletedRecordsRequestObject) (generated.ListDeletedRecordsResponseObject, error) {
	p, f := req.Params, fieldsOf(req.Params.FieldsDeletedRecords)
	return listOf("/api/v2/deleted_records", listParams{
		page: either(p.Page, p.PageNumber), perPage: either(p.PerPage, p.PageSize),
		sort: (*string)(p.Sort), defaultSort: string(generated.ListDeletedRecordsParamsSortDeletedAt),
		filter: map[string]*string{"since": p.FilterSince, "types": p.FilterTypes},
		keep:   map[string]*string{"fields[deleted_records]": p.FieldsDeletedRecords, "include": p.Include},
	}, func(l *listQuery) ([]db.Deleted, int, error) {
		q := db.DeletedQuery{Since: l.since, Types: l.types, Desc: l.db.Desc, Limit: l.db.Limit, Offset: l.db.Offset}
		return s.store.ListDeleted(ctx, callerFrom(ctx).AccountListID, q)
	}, func(ds []db.Deleted, tail *list) ([]byte, error) {
		return encodeDoc(len(ds), tail, false, func(j *jsonBuf) {
			for _, d := range ds {
				j.deleted(d, f)
			}
		}, nil), nil
	})
}
