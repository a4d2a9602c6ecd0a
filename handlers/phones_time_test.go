package handlers

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestPhonePrecondition(t *testing.T) {
	type pcase struct {
		name string
		// attrs builds the precondition attributes from the stored value.
		attrs   func(stored time.Time) map[string]any
		status  int
		pointer string
	}
	ms := func(ts time.Time) string { return ts.UTC().Format("2006-01-02T15:04:05.000Z07:00") }
	cases := []pcase{
		{"missing", func(time.Time) map[string]any { return map[string]any{} }, 409, "/data/attributes/updated_in_db_at"},
		{"missing, overwrite false", func(time.Time) map[string]any { return map[string]any{"overwrite": false} }, 409, "/data/attributes/updated_in_db_at"},
		{"stale by 1ms", func(s time.Time) map[string]any {
			return map[string]any{"updated_in_db_at": ms(s.Add(-time.Millisecond))}
		}, 409, "/data/attributes/updated_in_db_at"},
		{"future by 1ms", func(s time.Time) map[string]any {
			return map[string]any{"updated_in_db_at": ms(s.Add(time.Millisecond))}
		}, 409, "/data/attributes/updated_in_db_at"},
		{"stale, overwrite false", func(s time.Time) map[string]any {
			return map[string]any{"updated_in_db_at": ms(s.Add(-time.Hour)), "overwrite": false}
		}, 409, "/data/attributes/updated_in_db_at"},
		{"whole seconds, other second", func(s time.Time) map[string]any {
			return map[string]any{"updated_in_db_at": s.Add(-time.Second).UTC().Format(time.RFC3339)}
		}, 409, "/data/attributes/updated_in_db_at"},
		{"overwrite true, no value", func(time.Time) map[string]any { return map[string]any{"overwrite": true} }, 200, ""},
		{"overwrite true, stale value", func(s time.Time) map[string]any {
			return map[string]any{"overwrite": true, "updated_in_db_at": ms(s.Add(-time.Hour))}
		}, 200, ""},
		{"exact ms", func(s time.Time) map[string]any { return map[string]any{"updated_in_db_at": ms(s)} }, 200, ""},
		{"exact ms, +02:00", func(s time.Time) map[string]any {
			return map[string]any{"updated_in_db_at": s.In(time.FixedZone("", 2*3600)).Format("2006-01-02T15:04:05.000-07:00")}
		}, 200, ""},
		{"exact ms, -05:30", func(s time.Time) map[string]any {
			return map[string]any{"updated_in_db_at": s.In(time.FixedZone("", -(5*3600 + 1800))).Format("2006-01-02T15:04:05.000-07:00")}
		}, 200, ""},
		{"microseconds", func(s time.Time) map[string]any {
			return map[string]any{"updated_in_db_at": s.UTC().Format("2006-01-02T15:04:05.000") + "000Z"}
		}, 200, ""},
		{"whole seconds", func(s time.Time) map[string]any {
			return map[string]any{"updated_in_db_at": s.UTC().Format(time.RFC3339)}
		}, 200, ""},
		{"whole seconds, +02:00", func(s time.Time) map[string]any {
			return map[string]any{"updated_in_db_at": s.In(time.FixedZone("", 2*3600)).Format(time.RFC3339)}
		}, 200, ""},
		{"not a timestamp", func(time.Time) map[string]any { return map[string]any{"updated_in_db_at": "yesterday"} }, 400, "/data/attributes/updated_in_db_at"},
		{"overwrite not boolean", func(time.Time) map[string]any { return map[string]any{"overwrite": "true"} }, 400, "/data/attributes/overwrite"},
		// Semantic and schema validation come before the precondition.
		{"junk number, missing", func(time.Time) map[string]any { return map[string]any{"number": "junk"} }, 400, "/data/attributes/number"},
		{"local-only number, stale", func(s time.Time) map[string]any {
			return map[string]any{"number": "555-1212", "updated_in_db_at": ms(s.Add(-time.Hour))}
		}, 400, "/data/attributes/number"},
		{"unknown country_code, missing", func(time.Time) map[string]any { return map[string]any{"country_code": "999"} }, 400, "/data/attributes/country_code"},
		{"location too long, missing", func(time.Time) map[string]any {
			return map[string]any{"location": strings.Repeat("l", 65)}
		}, 400, "/data/attributes/location"},
	}
	for _, method := range updateMethods {
		t.Run(method, func(t *testing.T) {
			a := newAPI(t)
			tr := a.tree()
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					a := forTest(a, t)
					// A phone whose stored updated_in_db_at has a non-zero
					// millisecond part, so second-precision matching is
					// really exercised.
					p := createPhone(t, a, tr.tok, tr.phonesPath(), map[string]any{"number": "6175550300", "location": "before"})
					path := tr.phonesPath() + "/" + p.id()
					before := mustGet(t, a, tr.tok, path)
					stored := timestampOf(t, before.attrs()["updated_in_db_at"])

					attrs := tc.attrs(stored)
					if _, ok := attrs["location"]; !ok {
						attrs["location"] = "after"
					}
					r := a.do(req{Method: method, Path: path, Token: tr.tok, Body: doc("phone_numbers", attrs)})
					r.want(t, tc.status, tc.pointer)
					after := mustGet(t, a, tr.tok, path)
					if tc.status != http.StatusOK {
						if string(after.Raw) != string(before.Raw) {
							t.Errorf("rejected update changed the phone:\n%s\n%s", before.Raw, after.Raw)
						}
						if tc.status == http.StatusConflict {
							meta, _ := r.firstError()["meta"].(map[string]any)
							if meta["updated_in_db_at"] != before.attrs()["updated_in_db_at"] {
								t.Errorf("meta.updated_in_db_at = %v, want %v", meta["updated_in_db_at"], before.attrs()["updated_in_db_at"])
							}
						}
						return
					}
					if r.attrs()["location"] != "after" || after.attrs()["location"] != "after" {
						t.Errorf("update not applied: %s", after.Raw)
					}
					if !timestampOf(t, after.attrs()["updated_in_db_at"]).After(stored) {
						t.Errorf("updated_in_db_at did not advance")
					}
				})
			}
		})
	}
}

// With a controlled clock: a write's time is the server's clock, but never
// before the latest time an earlier write stamped (on any row), so
// updated_in_db_at never goes backwards across rows; per row it moves on by
// 1 ms when the write's time is not past the stored value (also for rows
// demoted or promoted as a side effect). updated_at and created_at default
// to the write's time. Preconditions are compared at the precision sent;
// one of less than millisecond precision must name exactly one version.
func TestPhoneUpdatedInDBAtClock(t *testing.T) {
	a := newAPI(t)
	t0 := time.Date(2030, 1, 2, 3, 4, 5, 600_000_000, time.UTC)
	clk := newClock(a, t0)
	tr := a.tree()
	path := tr.phonePath()
	ms := func(d int) string {
		return t0.Add(time.Duration(d) * time.Millisecond).Format("2006-01-02T15:04:05.000Z")
	}

	at := mustGet(t, a, tr.tok, path).attrs()
	for _, k := range []string{"created_at", "updated_at", "updated_in_db_at"} {
		if at[k] != ms(0) {
			t.Errorf("%s = %v, want the clock's %s", k, at[k], ms(0))
		}
	}

	// Frozen clock: each write adds 1 ms. Its time is the latest stamp
	// issued so far, the previous write's (the clock's for the first).
	for i := 1; i <= 5; i++ {
		r := a.do(req{Method: updateMethods[i%2], Path: path, Token: tr.tok, Body: doc("phone_numbers", map[string]any{
			"location": fmt.Sprint(i), "updated_in_db_at": ms(i - 1),
		})})
		r.want(t, http.StatusOK, "")
		if got := r.attrs()["updated_in_db_at"]; got != ms(i) {
			t.Fatalf("write %d: updated_in_db_at %v, want %s", i, got, ms(i))
		}
		if got := r.attrs()["updated_at"]; got != ms(i-1) {
			t.Errorf("write %d: updated_at %v, want the previous write's %s", i, got, ms(i-1))
		}
	}

	// Clock behind the stored value: still strictly increasing, and the
	// write's time is the latest stamp, not the clock's.
	clk.Set(t0.Add(-time.Hour))
	r := sendPhoneUpdate(t, a, http.MethodPatch, tr.tok, path, map[string]any{"location": "back"})
	if got := r.attrs()["updated_in_db_at"]; got != ms(6) {
		t.Errorf("clock behind: updated_in_db_at %v, want %s", got, ms(6))
	}
	if got := r.attrs()["updated_at"]; got != ms(5) {
		t.Errorf("clock behind: updated_at %v, want the previous write's %s", got, ms(5))
	}

	// A second phone made primary, with the clock behind the latest stamp:
	// it is stamped with that latest stamp, not the clock, so no row is
	// written before an earlier write. It demotes the first, whose
	// updated_in_db_at moves on by 1 ms and whose updated_at is the write's
	// time.
	clk.Set(t0)
	p2 := createPhone(t, a, tr.tok, tr.phonesPath(), map[string]any{"number": "6175550700", "primary": true}).attrs()
	for _, k := range []string{"created_at", "updated_at", "updated_in_db_at"} {
		if p2[k] != ms(6) {
			t.Errorf("new phone %s %v, want the latest stamp %s", k, p2[k], ms(6))
		}
	}
	first := mustGet(t, a, tr.tok, path).attrs()
	if first["primary"] != false || first["updated_in_db_at"] != ms(7) || first["updated_at"] != ms(6) {
		t.Errorf("demoted phone: primary %v updated_in_db_at %v updated_at %v; want false %s %s",
			first["primary"], first["updated_in_db_at"], first["updated_at"], ms(7), ms(6))
	}

	// Clock ahead: the clock's time is used.
	clk.Set(t0.Add(time.Minute))
	r = sendPhoneUpdate(t, a, http.MethodPut, tr.tok, path, map[string]any{"location": "ahead"})
	want := t0.Add(time.Minute).Format("2006-01-02T15:04:05.000Z")
	if r.attrs()["updated_in_db_at"] != want || r.attrs()["updated_at"] != want {
		t.Errorf("clock ahead: updated_in_db_at %v updated_at %v, want %s", r.attrs()["updated_in_db_at"], r.attrs()["updated_at"], want)
	}

	// Preconditions at the precision sent; the stored value is now
	// 03:05:05.600Z (t0 + 1 min; the previous version is 03:04:05.607Z),
	// then +1 ms per write below: after the first, two versions share the
	// second, the tenth and the hundredth, and only milliseconds name one.
	clk.Set(t0)
	cur := t0.Add(time.Minute)
	cases := []struct {
		name   string
		pre    string
		status int
	}{
		{"seconds", "2030-01-02T03:05:05Z", 200},
		{"seconds, +01:00, now two versions in the second", "2030-01-02T04:05:05+01:00", 409},
		{"previous second", "2030-01-02T03:05:04Z", 409},
		{"next second", "2030-01-02T03:05:06Z", 409},
		{"tenths, two versions in the tenth", "2030-01-02T03:05:05.6Z", 409},
		{"wrong tenth", "2030-01-02T03:05:05.5Z", 409},
		{"hundredths, two versions in the hundredth", "2030-01-02T03:05:05.60Z", 409},
		{"milliseconds, .000 of the same second", "2030-01-02T03:05:05.000Z", 409},
		{"milliseconds, -02:00", "", 200},
		{"nanoseconds", "", 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := forTest(a, t)
			pre := tc.pre
			switch tc.name {
			case "milliseconds, -02:00":
				pre = cur.In(time.FixedZone("", -2*3600)).Format("2006-01-02T15:04:05.000-07:00")
			case "nanoseconds":
				pre = cur.Format("2006-01-02T15:04:05.000") + "999999Z"
			}
			stored := cur.Format("2006-01-02T15:04:05.000Z")
			if got := mustGet(t, a, tr.tok, path).attrs()["updated_in_db_at"]; got != stored {
				t.Fatalf("stored updated_in_db_at %v, want %s", got, stored)
			}
			r := a.do(req{Method: http.MethodPatch, Path: path, Token: tr.tok, Body: doc("phone_numbers", map[string]any{
				"updated_in_db_at": pre, "location": tc.name,
			})})
			if tc.status == http.StatusConflict {
				r.want(t, http.StatusConflict, "/data/attributes/updated_in_db_at")
				meta, _ := r.firstError()["meta"].(map[string]any)
				if meta["updated_in_db_at"] != stored {
					t.Errorf("meta.updated_in_db_at %v, want %s", meta["updated_in_db_at"], stored)
				}
				return
			}
			r.want(t, http.StatusOK, "")
			cur = cur.Add(time.Millisecond)
		})
	}
}

func TestPhoneTimestamps(t *testing.T) {
	a := newAPI(t)
	tr := a.tree()

	// Client-supplied created_at and updated_at are kept, to the millisecond
	// and in UTC.
	r := createPhone(t, a, tr.tok, tr.phonesPath(), map[string]any{
		"number":     "6175550400",
		"created_at": "2019-05-06T07:08:09.123456+02:00",
		"updated_at": "2019-05-07T00:00:00Z",
	})
	path := tr.phonesPath() + "/" + r.id()
	for _, at := range []map[string]any{r.attrs(), mustGet(t, a, tr.tok, path).attrs()} {
		if at["created_at"] != "2019-05-06T05:08:09.123Z" {
			t.Errorf("created_at = %v", at["created_at"])
		}
		if at["updated_at"] != "2019-05-07T00:00:00.000Z" {
			t.Errorf("updated_at = %v", at["updated_at"])
		}
		timestampOf(t, at["updated_in_db_at"])
	}

	for _, method := range updateMethods {
		// Supplied on update: kept.
		r = sendPhoneUpdate(t, a, method, tr.tok, path, map[string]any{
			"created_at": "2018-01-01T00:00:00.9999-01:00",
			"updated_at": "2018-02-02T02:02:02.002Z",
		})
		if r.attrs()["created_at"] != "2018-01-01T01:00:00.999Z" || r.attrs()["updated_at"] != "2018-02-02T02:02:02.002Z" {
			t.Errorf("%s: created_at %v updated_at %v", method, r.attrs()["created_at"], r.attrs()["updated_at"])
		}
		// Not supplied: created_at kept, updated_at becomes the server's time.
		start := time.Now().Add(-time.Second)
		r = sendPhoneUpdate(t, a, method, tr.tok, path, map[string]any{"location": method})
		if r.attrs()["created_at"] != "2018-01-01T01:00:00.999Z" {
			t.Errorf("%s: created_at %v not kept", method, r.attrs()["created_at"])
		}
		if u := timestampOf(t, r.attrs()["updated_at"]); u.Before(start) {
			t.Errorf("%s: updated_at %v is not the server's time", method, u)
		}
	}

	// Rapid successive updates: updated_in_db_at strictly increases, both
	// with overwrite and when chaining preconditions.
	prev := timestampOf(t, mustGet(t, a, tr.tok, path).attrs()["updated_in_db_at"])
	prevRaw := mustGet(t, a, tr.tok, path).attrs()["updated_in_db_at"]
	for i := range 30 {
		method := updateMethods[i%2]
		var r *resp
		if i%3 == 0 {
			r = sendPhoneUpdate(t, a, method, tr.tok, path, map[string]any{"location": fmt.Sprint(i)})
		} else {
			r = a.do(req{Method: method, Path: path, Token: tr.tok, Body: doc("phone_numbers", map[string]any{
				"location": fmt.Sprint(i), "updated_in_db_at": prevRaw,
			})})
			r.want(t, http.StatusOK, "")
		}
		cur := timestampOf(t, r.attrs()["updated_in_db_at"])
		if !cur.After(prev) {
			t.Fatalf("update %d: updated_in_db_at %v not after %v", i, cur, prev)
		}
		prev, prevRaw = cur, r.attrs()["updated_in_db_at"]
	}
}
