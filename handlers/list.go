package handlers

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/phoneapi/phoneapi/generated"
)

// meta returns the list's meta member for total matching rows.
func (l *listQuery) meta(total int) generated.ListMeta {
	return generated.ListMeta{
		Pagination: generated.Pagination{
			Page:       l.page,
			PerPage:    l.perPage,
			TotalCount: total,
			TotalPages: l.totalPages(total),
		},
		Sort:   l.sort,
		Filter: l.filter,
	}
}

func (l *listQuery) totalPages(total int) int {
	return (total + l.perPage - 1) / l.perPage
}

// links returns the list's links: path-absolute, keeping the operation's
// other parameters the request gave (sort, filters, fields, include; see
// newList), written with page and per_page.
func (l *listQuery) links(total int) generated.ListLinks {
	last := max(l.totalPages(total), 1)
	out := generated.ListLinks{
		Self:  l.pageURL(l.page),
		First: l.pageURL(1),
		Last:  l.pageURL(last),
	}
	if l.page > 1 {
		prev := l.pageURL(min(l.page-1, last))
		out.Prev = &prev
	}
	if l.page < last {
		next := l.pageURL(l.page + 1)
		out.Next = &next
	}
	return out
}

func (l *listQuery) pageURL(page int) string {
	v := url.Values{}
	for k, vs := range l.rest {
		v[k] = vs
	}
	v.Set("page", strconv.Itoa(page))
	v.Set("per_page", strconv.Itoa(l.perPage))
	return l.path + "?" + v.Encode()
}

// listOf runs a list operation: its params (already accepted by
// queryShape.check) into a listQuery, one page of rows from fetch, then
// the document encoded by encode from the rows and the list's links and
// meta.
func listOf[R any](path string, p listParams, fetch func(*listQuery) ([]R, int, error), encode func([]R, *list) ([]byte, error)) (rawDoc, error) {
	l, err := newList(path, p)
	if err != nil {
		return rawDoc{}, err
	}
	rows, total, err := fetch(l)
	if err != nil {
		return rawDoc{}, err
	}
	body, err := encode(rows, &list{links: l.links(total), meta: l.meta(total)})
	if err != nil {
		return rawDoc{}, err
	}
	return rawDoc{status: http.StatusOK, body: body}, nil
}
