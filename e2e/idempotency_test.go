package e2e

// TestIdempotencyKeyAcrossReplicas runs two `phoneapi serve` processes on
// one database, once per engine (see forEachEngine), and checks that an
// Idempotency-Key holds across them: a phone created through A and
// retried through B (the response lost, say) gets A's response again,
// body, Location and ETag, and one phone exists; and 20 requests with one
// new key sent at once, half to each process, create one phone, each
// getting that 201 or 409 with Retry-After.

import (
	"bytes"
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/phoneapi/phoneapi/db/dbtest"
	"github.com/phoneapi/phoneapi/generated/client"
)

func TestIdempotencyKeyAcrossReplicas(t *testing.T) {
	forEachEngine(t, "idempotency.db", func(t *testing.T, engine, dsn string) {
		ctx := context.Background()
		secret := newSecret(t)
		servers := servePair(t, "--db", dsn, "--jwt-secret", secret)
		token := newToken(t, secret, uuid.NewString())
		hc := &http.Client{Timeout: 30 * time.Second}
		via := [2]*client.ClientWithResponses{clientAt(t, servers[0].URL, token, hc), clientAt(t, servers[1].URL, token, hc)}
		cid := newContact(t, via[0], "Replicated")
		pid := newPerson(t, via[0], cid, "Jane")

		post := func(c *client.ClientWithResponses, key, number string) *client.CreatePhoneResponse {
			doc := client.PhoneCreateDocument{}
			doc.Data.Type = "phone_numbers"
			doc.Data.Attributes.Number = rawString(number)
			r, err := c.CreatePhoneWithApplicationVndAPIPlusJSONBodyWithResponse(ctx, cid, pid,
				&client.CreatePhoneParams{IdempotencyKey: ptr(`"` + key + `"`)}, doc)
			if err != nil {
				t.Errorf("POST phone with key %s: %v", key, err)
				return nil
			}
			return r
		}
		phones := func() int {
			r, err := via[1].ListPhonesWithResponse(ctx, cid, pid, nil)
			wantStatus(t, "list phones", r, err, http.StatusOK)
			return r.ApplicationvndApiJSON200.Meta.Pagination.TotalCount
		}

		first := post(via[0], "across", "617-555-0150")
		wantStatus(t, "create through A", first, nil, http.StatusCreated)
		retry := post(via[1], "across", "617-555-0150")
		wantStatus(t, "retry through B", retry, nil, http.StatusCreated)
		if !bytes.Equal(retry.Body, first.Body) {
			t.Errorf("retry through B:\n%s\nwant A's response:\n%s", retry.Body, first.Body)
		}
		for _, h := range []string{"Location", "ETag"} {
			if got, want := retry.HTTPResponse.Header.Get(h), first.HTTPResponse.Header.Get(h); got != want || want == "" {
				t.Errorf("retry through B: %s %q, want %q", h, got, want)
			}
		}
		if n := phones(); n != 1 {
			t.Errorf("%d phones after a create and its retry through the other process, want 1", n)
		}

		const n = 20
		out := dbtest.Together(n, func(i int) *client.CreatePhoneResponse { return post(via[i%2], "together", "617-555-0151") })
		var created []byte
		for _, r := range out {
			switch {
			case r == nil:
			case r.StatusCode() == http.StatusCreated:
				if created == nil {
					created = r.Body
				} else if !bytes.Equal(r.Body, created) {
					t.Errorf("two different 201s for one key:\n%s\n%s", created, r.Body)
				}
			case r.StatusCode() == http.StatusConflict && r.HTTPResponse.Header.Get("Retry-After") != "":
			default:
				t.Errorf("status %d: %s", r.StatusCode(), r.Body)
			}
		}
		if created == nil {
			t.Error("no request with the shared key got 201")
		}
		if got := phones(); got != 2 {
			t.Errorf("%d phones after %d requests with one key through both processes, want 2", got, n)
		}
		t.Logf("%s: a retry through the other process replayed the create; %d requests with one key made one phone", engine, n)
	})
}
