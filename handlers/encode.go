package handlers

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/phoneapi/phoneapi/db"
	"github.com/phoneapi/phoneapi/generated"
)

// The response documents are encoded by hand, straight from the store's
// rows, into one buffer: no generated response types in between, no
// reflection, no union type for included resources. The bytes are exactly
// those the generated types give through encoding/json (HTML-safe
// escaping, fields in the generated structs' order, omitempty, a trailing
// newline), which encode_test.go checks on randomised resources, sparse
// fieldsets and null values included.

// jsonBuf appends JSON values. A member or element added after a value is
// preceded by a comma: the buffer tells, from its last byte, whether an
// object or array has just been opened.
type jsonBuf struct{ b []byte }

// sep writes the comma before a member or element, unless it is the first
// (or a member's value, after its colon).
func (j *jsonBuf) sep() {
	if n := len(j.b); n > 0 && j.b[n-1] != '{' && j.b[n-1] != '[' && j.b[n-1] != ':' {
		j.b = append(j.b, ',')
	}
}

// key writes `,"name":` (name needs no escaping).
func (j *jsonBuf) key(name string) {
	j.sep()
	j.b = append(j.b, '"')
	j.b = append(j.b, name...)
	j.b = append(j.b, '"', ':')
}

func (j *jsonBuf) open(c byte)  { j.b = append(j.b, c) }
func (j *jsonBuf) close(c byte) { j.b = append(j.b, c) }

// str writes s as a JSON string, escaped as encoding/json escapes it.
func (j *jsonBuf) str(s string) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			b, _ := json.Marshal(s) // the rare string that needs escaping
			j.b = append(j.b, b...)
			return
		}
	}
	j.b = append(j.b, '"')
	j.b = append(j.b, s...)
	j.b = append(j.b, '"')
}

func (j *jsonBuf) int(n int) { j.b = strconv.AppendInt(j.b, int64(n), 10) }

func (j *jsonBuf) bool(v bool) { j.b = strconv.AppendBool(j.b, v) }

func (j *jsonBuf) null() { j.b = append(j.b, "null"...) }

// time writes t as formatTime does, quoted: RFC 3339 UTC with exactly
// three fractional digits.
func (j *jsonBuf) time(t time.Time) {
	t = t.UTC()
	year, month, day := t.Date()
	hour, min, sec := t.Clock()
	ms := t.Nanosecond() / int(time.Millisecond)
	if year < 0 || year > 9999 {
		j.str(formatTime(t))
		return
	}
	j.b = append(j.b, '"')
	j.b = appendDigits(j.b, year, 4)
	j.b = append(j.b, '-')
	j.b = appendDigits(j.b, int(month), 2)
	j.b = append(j.b, '-')
	j.b = appendDigits(j.b, day, 2)
	j.b = append(j.b, 'T')
	j.b = appendDigits(j.b, hour, 2)
	j.b = append(j.b, ':')
	j.b = appendDigits(j.b, min, 2)
	j.b = append(j.b, ':')
	j.b = appendDigits(j.b, sec, 2)
	j.b = append(j.b, '.')
	j.b = appendDigits(j.b, ms, 3)
	j.b = append(j.b, 'Z', '"')
}

// appendDigits appends n, zero-padded to width digits.
func appendDigits(b []byte, n, width int) []byte {
	var tmp [4]byte
	for i := width - 1; i >= 0; i-- {
		tmp[i] = byte('0' + n%10)
		n /= 10
	}
	return append(b, tmp[:width]...)
}

// optStr writes the member name: s when the fieldset asks for name.
func (j *jsonBuf) optStr(f fieldset, name, s string) {
	if f.has(name) {
		j.key(name)
		j.str(s)
	}
}

// optTime writes the member name: t when the fieldset asks for name.
func (j *jsonBuf) optTime(f fieldset, name string, t time.Time) {
	if f.has(name) {
		j.key(name)
		j.time(t)
	}
}

// optBool writes the member name: v when the fieldset asks for name.
func (j *jsonBuf) optBool(f fieldset, name string, v bool) {
	if f.has(name) {
		j.key(name)
		j.bool(v)
	}
}

// optNull writes the member name: *v or null when the fieldset asks for
// name.
func (j *jsonBuf) optNull(f fieldset, name string, v *string) {
	if !f.has(name) {
		return
	}
	j.key(name)
	if v == nil {
		j.null()
		return
	}
	j.str(*v)
}

// rawDoc is a response whose JSON:API document is already encoded; it
// implements the generated response interfaces of the operations that
// return a document.
type rawDoc struct {
	status   int
	etag     string // the ETag header, when not ""
	location string // the Location header, when not ""
	body     []byte
}

func (r rawDoc) visit(w http.ResponseWriter) error {
	h := w.Header()
	h.Set("Content-Type", mediaType)
	if r.etag != "" {
		h.Set("ETag", r.etag)
	}
	if r.location != "" {
		h.Set("Location", r.location)
	}
	w.WriteHeader(r.status)
	_, err := w.Write(r.body)
	putDocBuf(r.body)
	return err
}

// docBufs holds the buffers of documents already written, for the next
// documents to be encoded into: once rawDoc.visit has written a body
// (http.ResponseWriter.Write does not keep its argument), nothing refers
// to it. A buffer above maxPooledDoc is left to the garbage collector,
// so that one big page does not pin its memory.
var docBufs sync.Pool

const maxPooledDoc = 64 << 10

// docBuf returns an empty buffer with room for at least n bytes.
func docBuf(n int) []byte {
	if b, ok := docBufs.Get().(*[]byte); ok {
		if cap(*b) >= n {
			return (*b)[:0]
		}
		docBufs.Put(b)
	}
	return make([]byte, 0, n)
}

// putDocBuf gives b, whose bytes are no longer used, back to docBufs.
func putDocBuf(b []byte) {
	if cap(b) == 0 || cap(b) > maxPooledDoc {
		return
	}
	docBufs.Put(&b)
}

// contact writes a contact resource object (see contactRelationships for
// people).
func (j *jsonBuf) contact(c db.Contact, f fieldset, people []string) {
	j.sep()
	j.b = append(j.b, `{"attributes":{`...)
	j.optTime(f, "created_at", c.CreatedAt)
	j.optStr(f, "name", c.Name)
	j.optTime(f, "updated_at", c.UpdatedAt)
	j.optTime(f, "updated_in_db_at", c.UpdatedInDBAt)
	j.b = append(j.b, `},"id":`...)
	j.str(c.ID)
	if f.has("people") {
		j.b = append(j.b, `,"relationships":{"people":{`...)
		j.linkage(people, "people")
		j.key("links")
		j.related(contactPath(c.ID) + "/people")
		j.b = append(j.b, `}}`...)
	}
	j.b = append(j.b, `,"type":"contacts"}`...)
}

// person writes a person resource object (see personRelationships for
// phones).
func (j *jsonBuf) person(p db.Person, f fieldset, phones []string) {
	j.sep()
	j.b = append(j.b, `{"attributes":{`...)
	j.optTime(f, "created_at", p.CreatedAt)
	j.optStr(f, "first_name", p.FirstName)
	j.optNull(f, "last_name", p.LastName)
	j.optTime(f, "updated_at", p.UpdatedAt)
	j.optTime(f, "updated_in_db_at", p.UpdatedInDBAt)
	j.b = append(j.b, `},"id":`...)
	j.str(p.ID)
	contact, phoneNumbers := f.has("contact"), f.has("phone_numbers")
	if contact || phoneNumbers {
		j.b = append(j.b, `,"relationships":{`...)
		if contact {
			j.key("contact")
			j.b = append(j.b, `{"data":`...)
			j.identifier(p.ContactID, "contacts")
			j.key("links")
			j.related(contactPath(p.ContactID))
			j.close('}')
		}
		if phoneNumbers {
			j.key("phone_numbers")
			j.open('{')
			j.linkage(phones, "phone_numbers")
			j.key("links")
			j.related(personPath(p.ContactID, p.ID) + "/phones")
			j.close('}')
		}
		j.close('}')
	}
	j.b = append(j.b, `,"type":"people"}`...)
}

// phone writes a phone resource object.
func (j *jsonBuf) phone(p db.Phone, f fieldset) {
	j.sep()
	j.b = append(j.b, `{"attributes":{`...)
	if f.has("country_code") {
		j.key("country_code")
		if p.CountryCode != nil {
			j.str(*p.CountryCode)
		} else {
			j.str("")
		}
	}
	j.optTime(f, "created_at", p.CreatedAt)
	j.optBool(f, "historic", p.Historic)
	j.optNull(f, "location", p.Location)
	j.optStr(f, "number", p.Number)
	j.optBool(f, "primary", p.Primary)
	j.optStr(f, "source", p.Source)
	j.optTime(f, "updated_at", p.UpdatedAt)
	j.optTime(f, "updated_in_db_at", p.UpdatedInDBAt)
	j.optBool(f, "valid_values", p.ValidValues)
	j.b = append(j.b, `},"id":`...)
	j.str(p.ID)
	if f.has("person") {
		j.b = append(j.b, `,"relationships":{"person":{"data":`...)
		j.identifier(p.PersonID, "people")
		j.key("links")
		j.related(accountPersonPath(p.PersonID))
		j.b = append(j.b, `}}`...)
	}
	j.b = append(j.b, `,"type":"phone_numbers"}`...)
}

// deleted writes a tombstone resource object.
func (j *jsonBuf) deleted(d db.Deleted, f fieldset) {
	j.sep()
	j.b = append(j.b, `{"attributes":{`...)
	j.optNull(f, "contact_id", d.ContactID)
	j.optStr(f, "deletable_id", d.DeletableID)
	j.optStr(f, "deletable_type", d.Type)
	j.optTime(f, "deleted_at", d.DeletedAt)
	j.optNull(f, "person_id", d.PersonID)
	j.b = append(j.b, `},"id":`...)
	j.str(d.ID)
	j.b = append(j.b, `,"type":"deleted_records"}`...)
}

// identifier writes resource linkage {"id":…,"type":…}.
func (j *jsonBuf) identifier(id, typ string) {
	j.sep()
	j.b = append(j.b, `{"id":`...)
	j.str(id)
	j.b = append(j.b, `,"type":"`...)
	j.b = append(j.b, typ...)
	j.b = append(j.b, `"}`...)
}

// linkage writes a to-many relationship's data member, when ids is not
// nil (the relationship is included).
func (j *jsonBuf) linkage(ids []string, typ string) {
	if ids == nil {
		return
	}
	j.key("data")
	j.open('[')
	for _, id := range ids {
		j.identifier(id, typ)
	}
	j.close(']')
}

// related writes a relationship's links object.
func (j *jsonBuf) related(url string) {
	j.b = append(j.b, `{"related":`...)
	j.str(url)
	j.close('}')
}

// listTail writes a list document's links and meta members.
func (j *jsonBuf) listTail(links generated.ListLinks, meta generated.ListMeta) {
	j.key("links")
	j.b = append(j.b, `{"first":`...)
	j.str(links.First)
	j.key("last")
	j.str(links.Last)
	if links.Next != nil {
		j.key("next")
		j.str(*links.Next)
	}
	if links.Prev != nil {
		j.key("prev")
		j.str(*links.Prev)
	}
	j.key("self")
	j.str(links.Self)
	j.b = append(j.b, `},"meta":{"filter":`...)
	if meta.Filter == nil {
		j.null()
	} else {
		j.open('{')
		keys := make([]string, 0, len(meta.Filter))
		for k := range meta.Filter {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			j.sep()
			j.str(k)
			j.b = append(j.b, ':')
			j.str(meta.Filter[k])
		}
		j.close('}')
	}
	p := meta.Pagination
	j.b = append(j.b, `,"pagination":{"page":`...)
	j.int(p.Page)
	j.b = append(j.b, `,"per_page":`...)
	j.int(p.PerPage)
	j.b = append(j.b, `,"total_count":`...)
	j.int(p.TotalCount)
	j.b = append(j.b, `,"total_pages":`...)
	j.int(p.TotalPages)
	j.b = append(j.b, `},"sort":`...)
	j.str(meta.Sort)
	j.close('}')
}

// The generated response interfaces rawDoc implements.
func (r rawDoc) VisitListContactsResponse(w http.ResponseWriter) error       { return r.visit(w) }
func (r rawDoc) VisitCreateContactResponse(w http.ResponseWriter) error      { return r.visit(w) }
func (r rawDoc) VisitGetContactResponse(w http.ResponseWriter) error         { return r.visit(w) }
func (r rawDoc) VisitPutContactResponse(w http.ResponseWriter) error         { return r.visit(w) }
func (r rawDoc) VisitPatchContactResponse(w http.ResponseWriter) error       { return r.visit(w) }
func (r rawDoc) VisitListPeopleResponse(w http.ResponseWriter) error         { return r.visit(w) }
func (r rawDoc) VisitCreatePersonResponse(w http.ResponseWriter) error       { return r.visit(w) }
func (r rawDoc) VisitGetPersonResponse(w http.ResponseWriter) error          { return r.visit(w) }
func (r rawDoc) VisitPutPersonResponse(w http.ResponseWriter) error          { return r.visit(w) }
func (r rawDoc) VisitPatchPersonResponse(w http.ResponseWriter) error        { return r.visit(w) }
func (r rawDoc) VisitListAccountPeopleResponse(w http.ResponseWriter) error  { return r.visit(w) }
func (r rawDoc) VisitGetAccountPersonResponse(w http.ResponseWriter) error   { return r.visit(w) }
func (r rawDoc) VisitPutAccountPersonResponse(w http.ResponseWriter) error   { return r.visit(w) }
func (r rawDoc) VisitPatchAccountPersonResponse(w http.ResponseWriter) error { return r.visit(w) }
func (r rawDoc) VisitListPhonesResponse(w http.ResponseWriter) error         { return r.visit(w) }
func (r rawDoc) VisitCreatePhoneResponse(w http.ResponseWriter) error        { return r.visit(w) }
func (r rawDoc) VisitGetPhoneResponse(w http.ResponseWriter) error           { return r.visit(w) }
func (r rawDoc) VisitPutPhoneResponse(w http.ResponseWriter) error           { return r.visit(w) }
func (r rawDoc) VisitPatchPhoneResponse(w http.ResponseWriter) error         { return r.visit(w) }
func (r rawDoc) VisitListDeletedRecordsResponse(w http.ResponseWriter) error { return r.visit(w) }
