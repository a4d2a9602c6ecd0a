package handlers

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/oapi-codegen/runtime"

	"github.com/phoneapi/phoneapi/db"
	"github.com/phoneapi/phoneapi/generated"
)

// The hot paths of a request, apart: validating and decoding a phone PUT
// body, and encoding a phone and a 25-phone page. Run with
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

// BenchmarkEncode measures the response encoding of one phone (GET) and
// of a 25-phone page (list), from the store's rows to the bytes written,
// through the generated response types.
func BenchmarkEncode(b *testing.B) {
	var all fieldset // nil: every attribute
	b.Run("Phone", func(b *testing.B) {
		p := benchPhone(0)
		b.ReportAllocs()
		for b.Loop() {
			w := httptest.NewRecorder()
			resp := generated.GetPhone200ApplicationVndAPIPlusJSONResponse{
				Body:    generated.PhoneDocument{Data: phoneResource(p, all)},
				Headers: generated.GetPhone200ResponseHeaders{ETag: etag(p.ID, p.UpdatedInDBAt)},
			}
			if err := resp.VisitGetPhoneResponse(w); err != nil || !strings.Contains(w.Body.String(), `"number":"+12135550123"`) {
				b.Fatal(err, w.Body.String())
			}
		}
	})
	b.Run("Page25", func(b *testing.B) {
		phones := make([]db.Phone, 25)
		for i := range phones {
			phones[i] = benchPhone(i)
		}
		q := &listQuery{page: 1, perPage: 25, path: "/api/v2/contacts/c/people/p/phones"}
		b.ReportAllocs()
		for b.Loop() {
			w := httptest.NewRecorder()
			resp := generated.ListPhones200ApplicationVndAPIPlusJSONResponse{
				Data:  make([]generated.PhoneResource, len(phones)),
				Meta:  q.meta(len(phones)),
				Links: q.links(len(phones)),
			}
			for i, p := range phones {
				resp.Data[i] = phoneResource(p, all)
			}
			if err := resp.VisitListPhonesResponse(w); err != nil || strings.Count(w.Body.String(), `"type":"phone_numbers"`) != 25 {
				b.Fatal(err, w.Body.String())
			}
		}
	})
}
