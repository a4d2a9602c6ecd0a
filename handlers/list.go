package handlers

import (
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

// links returns the list's links: path-absolute, keeping the request's
// other query parameters, written with page and per_page.
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
