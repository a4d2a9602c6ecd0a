package handlers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	goruntime "runtime"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/oapi-codegen/runtime"

	"github.com/phoneapi/phoneapi/db"
	"github.com/phoneapi/phoneapi/generated"
)

// The hot paths of a request, apart: validating and decoding a phone PUT
// body, and encoding documents (BenchmarkEncode). Run with
//
//	go test -run '^$' -bench 'Validate|Encode' -benchmem ./handlers

const putPhoneTemplate = "/api/v2/contacts/{contact_id}/people/{person_id}/phones/{id}"

// putRoute returns the request checks of PutPhone, built from the spec as
// New builds them.
func putRoute(b *testing.B) *route {
	b.Helper()
	spec, err := generated.GetSpec()
	if err != nil {
		b.Fatal(err)
	}
	spec.Servers = nil
	item := spec.Paths.Value(putPhoneTemplate)
	if item == nil || item.Put == nil {
		b.Fatalf("no PUT %s in the spec", putPhoneTemplate)
	}
	rt, err := newRoute(spec, putPhoneTemplate, item, http.MethodPut, item.Put)
	if err != nil {
		b.Fatal(err)
	}
	return rt
}

// BenchmarkValidateDecodePutPhone runs a phone PUT through the request
// validation (JSON:API structure, then the spec's schemas via kin-openapi)
// and decodes the validated value into the generated body type, as the
// generated strict handler does.
func BenchmarkValidateDecodePutPhone(b *testing.B) {
	rt := putRoute(b)
	e := echo.New()
	const (
		contact = "3f0e8d52-6c1a-4b8e-9a55-0c4d1f7b2a10"
		person  = "8a1c2e3d-4b5f-4a6b-8c7d-9e0f1a2b3c4d"
		phone   = "c2d3e4f5-a6b7-4c8d-9e0f-1a2b3c4d5e6f"
	)
	body := []byte(`{"data":{"type":"phone_numbers","id":"` + phone + `","attributes":{` +
		`"number":"+1 (213) 555-0123","location":"mobile","primary":true,"historic":false,` +
		`"source":"MPDX","valid_values":true,"updated_in_db_at":"2026-11-28T05:51:57.123Z"}}}`)
	path := "/api/v2/contacts/" + contact + "/people/" + person + "/phones/" + phone
	var decoded generated.PutPhoneApplicationVndAPIPlusJSONRequestBody
	decode := rt.validate(func(c echo.Context) error {
		vb, ok := c.Request().Body.(interface{ ValidatedValue() any })
		if !ok {
			b.Fatal("the validator left no validated value")
		}
		decoded = generated.PutPhoneApplicationVndAPIPlusJSONRequestBody{}
		return runtime.BindJSONValue(vb.ValidatedValue(), &decoded)
	})
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPut, path, bytes.NewReader(body))
		req.Header.Set("Content-Type", mediaType)
		c := e.NewContext(req, httptest.NewRecorder())
		c.SetPath(putPhoneTemplate)
		c.SetParamNames("contact_id", "person_id", "id")
		c.SetParamValues(contact, person, phone)
		if err := decode(c); err != nil {
			b.Fatal(err)
		}
	}
	if decoded.Data.Attributes.Location.MustGet() != "mobile" {
		b.Fatalf("decoded %+v", decoded.Data.Attributes)
	}
}

// benchPhone is a phone with every attribute set.
func benchPhone(i int) db.Phone {
	t := time.Date(2026, 11, 28, 5, 51, 57, 123e6, time.UTC).Add(time.Duration(i) * time.Second)
	cc, loc := "1", "mobile"
	return db.Phone{
		ID: "c2d3e4f5-a6b7-4c8d-9e0f-1a2b3c4d5e6f", PersonID: "8a1c2e3d-4b5f-4a6b-8c7d-9e0f1a2b3c4d",
		Number: "+12135550123", CountryCode: &cc, Location: &loc, Primary: i == 0, Source: "MPDX",
		ValidValues: true, CreatedAt: t, UpdatedAt: t, UpdatedInDBAt: t,
	}
}

// BenchmarkEncode measures the response encoding, from the store's rows
// to the bytes written, two ways: "Generated" through the generated
// response types and encoding/json (what the handlers did before
// encode.go; the included resources through the generated union type),
// "Hand" with the hand encoding the handlers use (encode.go, held to the
// same bytes by TestEncodeMatchesGeneratedTypes). Shapes: one phone (GET);
// a list of 25 and of 500 phones; a compound page of 500 people with 3
// phones each (GET /contacts/people?per_page=500&include=phone_numbers).
// allocs/item divides by the resources in the document.
func BenchmarkEncode(b *testing.B) {
	var all view // nil fieldsets: every attribute and relationship
	phones := make([]db.Phone, 500)
	for i := range phones {
		phones[i] = benchPhone(i)
	}
	people := make([]db.Person, 500)
	rel := related{phonesOf: map[string][]string{}}
	for i := range people {
		t := time.Date(2026, 11, 28, 5, 51, 57, 123e6, time.UTC).Add(time.Duration(i) * time.Second)
		last := "Doe"
		people[i] = db.Person{ID: fmt.Sprintf("8a1c2e3d-4b5f-4a6b-8c7d-%012d", i), ContactID: "c0c0c0c0-4b5f-4a6b-8c7d-9e0f1a2b3c4d",
			FirstName: "Jane", LastName: &last, CreatedAt: t, UpdatedAt: t, UpdatedInDBAt: t}
		for k := range 3 {
			ph := benchPhone(k)
			ph.ID, ph.PersonID = fmt.Sprintf("c2d3e4f5-a6b7-4c8d-%04d-%012d", k, i), people[i].ID
			rel.phones = append(rel.phones, ph)
			rel.phonesOf[ph.PersonID] = append(rel.phonesOf[ph.PersonID], ph.ID)
		}
	}
	compound := all
	compound.include = includeSet{"phone_numbers": true}
	q := &listQuery{page: 1, perPage: 500, path: "/api/v2/contacts/people", filter: map[string]string{}}
	tail := &list{links: q.links(len(people)), meta: q.meta(len(people))}
	write := func(b *testing.B, visit func(w *httptest.ResponseRecorder) error, want int) {
		w := httptest.NewRecorder()
		if err := visit(w); err != nil || strings.Count(w.Body.String(), `"type":"phone_numbers"`) != want {
			b.Fatal(err, w.Body.String())
		}
	}
	generatedPage := func(n int) generated.ListPhones200ApplicationVndAPIPlusJSONResponse {
		resp := generated.ListPhones200ApplicationVndAPIPlusJSONResponse{Data: make([]generated.PhoneResource, n), Meta: tail.meta, Links: tail.links}
		for i, p := range phones[:n] {
			resp.Data[i] = phoneResource(p, all.phones)
		}
		return resp
	}
	cases := []struct {
		name  string
		items int
		gen   func(w *httptest.ResponseRecorder) error
		hand  func(w *httptest.ResponseRecorder) error
		want  int // phone_numbers type members in the body
	}{
		{"Phone", 1, func(w *httptest.ResponseRecorder) error {
			p := phones[0]
			return generated.GetPhone200ApplicationVndAPIPlusJSONResponse{
				Body:    generated.PhoneDocument{Data: phoneResource(p, all.phones)},
				Headers: generated.GetPhone200ResponseHeaders{ETag: etag(p.ID, p.UpdatedInDBAt)},
			}.VisitGetPhoneResponse(w)
		}, func(w *httptest.ResponseRecorder) error {
			p := phones[0]
			return rawDoc{status: 200, etag: etag(p.ID, p.UpdatedInDBAt), body: phonesBody(phones[:1], related{}, all, nil)}.VisitGetPhoneResponse(w)
		}, 1},
		{"Page25", 25, func(w *httptest.ResponseRecorder) error { return generatedPage(25).VisitListPhonesResponse(w) },
			func(w *httptest.ResponseRecorder) error {
				return rawDoc{status: 200, body: phonesBody(phones[:25], related{}, all, tail)}.VisitListPhonesResponse(w)
			}, 25},
		{"Page500", 500, func(w *httptest.ResponseRecorder) error { return generatedPage(500).VisitListPhonesResponse(w) },
			func(w *httptest.ResponseRecorder) error {
				return rawDoc{status: 200, body: phonesBody(phones, related{}, all, tail)}.VisitListPhonesResponse(w)
			}, 500},
		{"People500IncludePhones", 2000, func(w *httptest.ResponseRecorder) error {
			resp := generated.ListAccountPeople200ApplicationVndAPIPlusJSONResponse{Data: make([]generated.PersonResource, len(people)), Meta: tail.meta, Links: tail.links}
			for i, p := range people {
				resp.Data[i] = personResource(p, all.people, linkage(rel.phonesOf, p.ID, true))
			}
			inc := make(generated.Included, len(rel.phones))
			for i, ph := range rel.phones {
				raw, err := json.Marshal(phoneResource(ph, all.phones))
				if err != nil {
					return err
				}
				if err := inc[i].UnmarshalJSON(raw); err != nil {
					return err
				}
			}
			resp.Included = &inc
			return resp.VisitListAccountPeopleResponse(w)
		}, func(w *httptest.ResponseRecorder) error {
			return rawDoc{status: 200, body: peopleBody(people, rel, compound, tail)}.VisitListAccountPeopleResponse(w)
		}, 3000},
	}
	for _, c := range cases {
		for _, way := range []struct {
			name  string
			visit func(w *httptest.ResponseRecorder) error
		}{{"Generated", c.gen}, {"Hand", c.hand}} {
			b.Run(c.name+"/"+way.name, func(b *testing.B) {
				b.ReportAllocs()
				var before, after goruntime.MemStats
				goruntime.ReadMemStats(&before)
				for b.Loop() {
					write(b, way.visit, c.want)
				}
				goruntime.ReadMemStats(&after)
				b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(b.N)/float64(c.items), "allocs/item")
			})
		}
	}
}
