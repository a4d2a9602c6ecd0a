package handlers

import (
	"net/http"
	"testing"
)

func TestTreeSmoke(t *testing.T) {
	a := newAPI(t)
	tr := a.tree()
	r := a.do(req{Method: "GET", Path: tr.phonePath(), Token: tr.tok})
	r.want(t, http.StatusOK, "")
	if r.attrs()["number"] != "+16175551212" || r.attrs()["primary"] != true {
		t.Errorf("phone = %v", r.attrs())
	}
}
