package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

const (
	mediaType = "application/vnd.api+json"
	maxPeople = 4 // per client's contact
	maxPhones = 3 // per person
	// staleETag never matches: a syntactically fine If-Match for a version
	// that does not exist.
	staleETag = `"000000000000000000000000"`
)

// item is one resource a client owns, with the values the server
// acknowledged for it.
type item struct {
	path  string
	id    string
	attrs map[string]string // the attributes the client writes, as acknowledged
	etag  string            // current ETag; "" when not known
	inDB  string            // current updated_in_db_at
	// An earlier version's ETag and updated_in_db_at, for stale updates.
	oldETag, oldInDB string
}

type person struct {
	item
	phones []*item
}

// client is one simulated API client: a user's token and the contact it owns.
type client struct {
	n      int
	tok    string
	base   string
	hc     *http.Client
	st     *stats
	rng    *rand.Rand
	rev    int
	broken bool // a request got no response: the model is no longer certain

	contact *item
	people  []*person
	deleted []string // paths of resources this client deleted
}

func newClient(n int, tok, base string, hc *http.Client, st *stats) *client {
	return &client{n: n, tok: tok, base: base, hc: hc, st: st, rng: rand.New(rand.NewPCG(uint64(n), uint64(time.Now().UnixNano())))}
}

// response is what a request got.
type response struct {
	status int
	header http.Header
	body   []byte
}

type resource struct {
	ID         string         `json:"id"`
	Type       string         `json:"type"`
	Attributes map[string]any `json:"attributes"`
}

// one decodes a single-resource document.
func (r *response) one() (resource, error) {
	var doc struct {
		Data resource `json:"data"`
	}
	err := json.Unmarshal(r.body, &doc)
	return doc.Data, err
}

// many decodes a list document.
func (r *response) many() ([]resource, error) {
	var doc struct {
		Data []resource `json:"data"`
	}
	err := json.Unmarshal(r.body, &doc)
	return doc.Data, err
}

// do sends one request, records it as op and reports whether its status
// is one of want.
func (c *client) do(op, method, path string, body any, hdr map[string]string, want ...int) (*response, bool) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			panic(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		panic(err)
	}
	req.Header.Set("Authorization", "Bearer "+c.tok)
	req.Header.Set("Accept", mediaType)
	if body != nil {
		req.Header.Set("Content-Type", mediaType)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	start := time.Now()
	resp, err := c.hc.Do(req)
	if err != nil {
		c.st.record(op, 0, time.Since(start), want, fmt.Sprintf("%s %s: %v", method, path, err))
		c.broken = true
		return nil, false
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	d := time.Since(start)
	if err != nil {
		c.st.record(op, 0, d, want, fmt.Sprintf("%s %s: reading the body: %v", method, path, err))
		c.broken = true
		return nil, false
	}
	c.st.record(op, resp.StatusCode, d, want, fmt.Sprintf("%s %s: %.300s", method, path, b))
	return &response{status: resp.StatusCode, header: resp.Header, body: b}, slices.Contains(want, resp.StatusCode)
}

func doc(typ, id string, attrs map[string]any) map[string]any {
	data := map[string]any{"type": typ, "attributes": attrs}
	if id != "" {
		data["id"] = id
	}
	return map[string]any{"data": data}
}

// acknowledge takes a write's response into it: the attributes the client
// wrote as the server returned them, the new ETag and updated_in_db_at.
func (c *client) acknowledge(op string, it *item, r *response, sent map[string]any) bool {
	res, err := r.one()
	if err != nil {
		c.st.problem(op, fmt.Sprintf("%s: bad document: %v", it.path, err))
		return false
	}
	if it.id == "" {
		it.id = res.ID
	} else if res.ID != it.id {
		c.st.problem(op, fmt.Sprintf("%s: id %s in the response", it.path, res.ID))
	}
	it.oldETag, it.oldInDB = it.etag, it.inDB
	it.etag = r.header.Get("ETag")
	it.inDB, _ = res.Attributes["updated_in_db_at"].(string)
	if it.attrs == nil {
		it.attrs = map[string]string{}
	}
	for k, v := range sent {
		got := str(res.Attributes[k])
		if want, isString := v.(string); isString && k != "number" && got != want {
			c.st.problem(op, fmt.Sprintf("%s: %s is %q in the response, sent %q", it.path, k, got, want))
		}
		it.attrs[k] = got
	}
	return true
}

// matches reports how the server's resource differs from the model ("" if
// it does not).
func (it *item) matches(res resource, checkInDB bool) string {
	var diffs []string
	if res.ID != it.id {
		diffs = append(diffs, fmt.Sprintf("id %s, want %s", res.ID, it.id))
	}
	keys := make([]string, 0, len(it.attrs))
	for k := range it.attrs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if got := str(res.Attributes[k]); got != it.attrs[k] {
			diffs = append(diffs, fmt.Sprintf("%s %q, want %q", k, got, it.attrs[k]))
		}
	}
	if got := str(res.Attributes["updated_in_db_at"]); checkInDB && got != it.inDB {
		diffs = append(diffs, fmt.Sprintf("updated_in_db_at %s, want %s (a write the client did not make)", got, it.inDB))
	}
	return strings.Join(diffs, "; ")
}

func str(v any) string {
	if v == nil {
		return ""
	}
	if s, ok := v.(string); ok {
		return s
	}
	return fmt.Sprint(v)
}

func (c *client) contactsPath() string { return "/api/v2/contacts" }

func (c *client) next() int { c.rev++; return c.rev }

// run creates the client's contact and then runs operations until deadline.
func (c *client) run(deadline time.Time) {
	c.contact = &item{}
	sent := map[string]any{"name": fmt.Sprintf("client %d contact", c.n)}
	r, ok := c.do("create", http.MethodPost, c.contactsPath(), doc("contacts", "", sent), nil, http.StatusCreated)
	if !ok || !c.acknowledge("create", c.contact, r, sent) {
		c.broken = true
		return
	}
	c.contact.path = c.contactsPath() + "/" + c.contact.id
	for time.Now().Before(deadline) && !c.broken {
		switch p := c.rng.IntN(100); {
		case p < 30:
			c.read()
		case p < 50:
			c.list()
		case p < 65:
			c.create()
		case p < 87:
			c.update()
		case p < 92:
			c.updateStale()
		default:
			c.delete()
		}
	}
}

// items returns every resource the client owns.
func (c *client) items() []*item {
	out := []*item{c.contact}
	for _, p := range c.people {
		out = append(out, &p.item)
		out = append(out, p.phones...)
	}
	return out
}

func (c *client) read() {
	all := c.items()
	it := all[c.rng.IntN(len(all))]
	if it.etag != "" && c.rng.IntN(4) == 0 {
		c.do("read", http.MethodGet, it.path, nil, map[string]string{"If-None-Match": it.etag}, http.StatusNotModified)
		return
	}
	r, ok := c.do("read", http.MethodGet, it.path, nil, nil, http.StatusOK)
	if !ok {
		return
	}
	res, err := r.one()
	if err != nil {
		c.st.problem("read", fmt.Sprintf("%s: bad document: %v", it.path, err))
		return
	}
	if d := it.matches(res, true); d != "" {
		c.st.problem("read", it.path+": "+d)
	}
	if tag := r.header.Get("ETag"); it.etag != "" && tag != it.etag {
		c.st.problem("read", fmt.Sprintf("%s: ETag %s, want %s", it.path, tag, it.etag))
	} else {
		it.etag = tag
	}
}

func (c *client) list() {
	switch k := c.rng.IntN(3); {
	case k == 0:
		// The user's contacts: shared with the user's other clients, so
		// only this client's own contact is known.
		r, ok := c.do("list", http.MethodGet, c.contactsPath()+"?per_page=500&sort=-updated_at", nil, nil, http.StatusOK)
		if !ok {
			return
		}
		rs, err := r.many()
		if err != nil {
			c.st.problem("list", "contacts: bad document: "+err.Error())
			return
		}
		i := slices.IndexFunc(rs, func(r resource) bool { return r.ID == c.contact.id })
		if i < 0 {
			c.st.problem("list", "contacts: the client's contact "+c.contact.id+" is missing")
		} else if d := c.contact.matches(rs[i], true); d != "" {
			c.st.problem("list", "contacts: "+d)
		}
	case k == 1 || len(c.people) == 0:
		c.checkPeople("list")
	default:
		c.refreshPhones("list", c.people[c.rng.IntN(len(c.people))], c.rng.IntN(2) == 0)
	}
}

// listByID reads one page of the list at path and indexes it by id; false
// when the request or its document failed (reported as op's problem).
func (c *client) listByID(op, what, path string) (map[string]resource, bool) {
	r, ok := c.do(op, http.MethodGet, path, nil, nil, http.StatusOK)
	if !ok {
		return nil, false
	}
	rs, err := r.many()
	if err != nil {
		c.st.problem(op, what+": bad document: "+err.Error())
		return nil, false
	}
	byID := map[string]resource{}
	for _, r := range rs {
		byID[r.ID] = r
	}
	return byID, true
}

// checkPeople lists the contact's people and compares them with the model.
func (c *client) checkPeople(op string) []string {
	var diffs []string
	byID, ok := c.listByID(op, "people", c.contact.path+"/people?per_page=500&sort=-first_name")
	if !ok {
		return nil
	}
	for _, p := range c.people {
		res, found := byID[p.id]
		delete(byID, p.id)
		if !found {
			diffs = append(diffs, "person "+p.path+" is missing from its contact's list")
		} else if d := p.matches(res, true); d != "" {
			diffs = append(diffs, "person "+p.path+": "+d)
		}
	}
	for id := range byID {
		diffs = append(diffs, "person "+id+" is listed under "+c.contact.path+" but was never created or was deleted")
	}
	if op != "check" {
		for _, d := range diffs {
			c.st.problem(op, d)
		}
	}
	return diffs
}

// refreshPhones lists a person's phones, compares them with the model and
// takes their current updated_in_db_at: creating or deleting a phone may
// promote or demote the person's primary phone, which changes it.
func (c *client) refreshPhones(op string, p *person, sparse bool) []string {
	q := "?per_page=500&sort=-updated_at"
	if sparse {
		q += "&fields[phone_numbers]=number,location,updated_in_db_at"
	}
	byID, ok := c.listByID(op, "phones", p.path+"/phones"+q)
	if !ok {
		return nil
	}
	var diffs []string
	for _, ph := range p.phones {
		res, found := byID[ph.id]
		delete(byID, ph.id)
		if !found {
			diffs = append(diffs, "phone "+ph.path+" is missing from its person's list")
			continue
		}
		if d := ph.matches(res, false); d != "" {
			diffs = append(diffs, "phone "+ph.path+": "+d)
		}
		if inDB := str(res.Attributes["updated_in_db_at"]); inDB != ph.inDB {
			if op == "check" {
				diffs = append(diffs, fmt.Sprintf("phone %s: updated_in_db_at %s, want %s", ph.path, inDB, ph.inDB))
			}
			ph.oldInDB, ph.inDB, ph.etag = ph.inDB, inDB, ""
		}
	}
	for id := range byID {
		diffs = append(diffs, "phone "+id+" is listed under "+p.path+" but was never created or was deleted")
	}
	if op != "check" {
		for _, d := range diffs {
			c.st.problem(op, d)
		}
	}
	return diffs
}

func (c *client) create() {
	var withRoom []*person
	for _, p := range c.people {
		if len(p.phones) < maxPhones {
			withRoom = append(withRoom, p)
		}
	}
	id := ""
	if c.rng.IntN(4) == 0 {
		id = uuid.NewString() // a client-supplied id
	}
	switch {
	case len(c.people) < maxPeople && (len(withRoom) == 0 || c.rng.IntN(2) == 0):
		p := &person{}
		n := c.next()
		sent := map[string]any{"first_name": fmt.Sprintf("First %d-%d", c.n, n), "last_name": fmt.Sprintf("Last %d-%d", c.n, n)}
		r, ok := c.do("create", http.MethodPost, c.contact.path+"/people", doc("people", id, sent), nil, http.StatusCreated)
		if !ok || !c.acknowledge("create", &p.item, r, sent) {
			return
		}
		if id != "" && p.id != id {
			c.st.problem("create", fmt.Sprintf("person created as %s, sent id %s", p.id, id))
		}
		p.path = c.contact.path + "/people/" + p.id
		c.people = append(c.people, p)
	case len(withRoom) > 0:
		p := withRoom[c.rng.IntN(len(withRoom))]
		digits := fmt.Sprintf("%04d", c.rng.IntN(10000))
		sent := map[string]any{"number": "(617) 555-" + digits, "location": fmt.Sprintf("loc %d-%d", c.n, c.next())}
		ph := &item{}
		r, ok := c.do("create", http.MethodPost, p.path+"/phones", doc("phone_numbers", id, sent), nil, http.StatusCreated)
		if !ok || !c.acknowledge("create", ph, r, sent) {
			return
		}
		if ph.attrs["number"] != "+1617555"+digits {
			c.st.problem("create", fmt.Sprintf("number %q stored as %q", sent["number"], ph.attrs["number"]))
		}
		ph.path = p.path + "/phones/" + ph.id
		p.phones = append(p.phones, ph)
		c.touched(p)
		c.refreshPhones("list", p, false)
	default:
		c.delete()
	}
}

// precondition returns an If-Match header or adds updated_in_db_at to attrs.
func (c *client) precondition(it *item, attrs map[string]any) map[string]string {
	if it.etag != "" && c.rng.IntN(2) == 0 {
		return map[string]string{"If-Match": it.etag}
	}
	attrs["updated_in_db_at"] = it.inDB
	return nil
}

// change returns new values for the attributes of it the client writes.
func (c *client) change(it *item) (typ string, attrs map[string]any) {
	n := c.next()
	switch {
	case it == c.contact:
		return "contacts", map[string]any{"name": fmt.Sprintf("client %d contact rev %d", c.n, n)}
	case strings.Contains(it.path, "/phones/"):
		attrs := map[string]any{"location": fmt.Sprintf("loc %d-%d", c.n, n)}
		if c.rng.IntN(2) == 0 {
			attrs["number"] = fmt.Sprintf("+44 20 7946 %04d", c.rng.IntN(10000))
		}
		return "phone_numbers", attrs
	default:
		return "people", map[string]any{"first_name": fmt.Sprintf("First %d-%d", c.n, n)}
	}
}

func (c *client) update() {
	all := c.items()
	it := all[c.rng.IntN(len(all))]
	typ, sent := c.change(it)
	attrs := map[string]any{}
	for k, v := range sent {
		attrs[k] = v
	}
	hdr := c.precondition(it, attrs)
	method := http.MethodPatch
	if c.rng.IntN(2) == 0 {
		method = http.MethodPut
	}
	r, ok := c.do("update", method, it.path, doc(typ, it.id, attrs), hdr, http.StatusOK)
	if !ok {
		return
	}
	c.acknowledge("update", it, r, sent)
	if p := c.ownerOf(it); p != nil {
		c.touched(p)
	}
	if want, hasNumber := sent["number"].(string); hasNumber {
		if got := it.attrs["number"]; got != "+44207946"+want[len(want)-4:] {
			c.st.problem("update", fmt.Sprintf("number %q stored as %q", want, got))
		}
	}
}

// updateStale sends an update whose precondition names an earlier version:
// 412 for If-Match, 409 for updated_in_db_at; nothing may be saved (the
// next read or the final check would see it).
func (c *client) updateStale() {
	all := c.items()
	it := all[c.rng.IntN(len(all))]
	typ, _ := c.change(it)
	attrs := map[string]any{}
	switch it {
	case c.contact:
		attrs["name"] = "NOT SAVED"
	default:
		if typ == "people" {
			attrs["first_name"] = "NOT SAVED"
		} else {
			attrs["location"] = "NOT SAVED"
		}
	}
	if it.oldInDB != "" && c.rng.IntN(2) == 0 {
		attrs["updated_in_db_at"] = it.oldInDB
		c.do("update-stale", http.MethodPatch, it.path, doc(typ, it.id, attrs), nil, http.StatusConflict)
		return
	}
	tag := it.oldETag
	if tag == "" {
		tag = staleETag
	}
	c.do("update-stale", http.MethodPatch, it.path, doc(typ, it.id, attrs), map[string]string{"If-Match": tag}, http.StatusPreconditionFailed)
}

// ownerOf returns the person whose phone it is, nil when it is not a
// phone.
func (c *client) ownerOf(it *item) *person {
	for _, p := range c.people {
		if slices.Contains(p.phones, it) {
			return p
		}
	}
	return nil
}

// touched reads person p again after a write of one of its phones: the
// server advances a person's updated_in_db_at, and so its ETag, when its
// phones change (the sync feed of people and phones relies on it).
func (c *client) touched(p *person) {
	r, ok := c.do("read", http.MethodGet, p.path, nil, nil, http.StatusOK)
	if !ok {
		return
	}
	res, err := r.one()
	if err != nil {
		c.st.problem("read", fmt.Sprintf("%s: bad document: %v", p.path, err))
		return
	}
	p.oldETag, p.oldInDB = p.etag, p.inDB
	p.etag = r.header.Get("ETag")
	p.inDB, _ = res.Attributes["updated_in_db_at"].(string)
}

func (c *client) delete() {
	var withPhones []*person
	for _, p := range c.people {
		if len(p.phones) > 0 {
			withPhones = append(withPhones, p)
		}
	}
	var hdr map[string]string
	switch {
	case len(withPhones) > 0 && (len(c.people) == 0 || c.rng.IntN(3) > 0):
		p := withPhones[c.rng.IntN(len(withPhones))]
		i := c.rng.IntN(len(p.phones))
		ph := p.phones[i]
		if ph.etag != "" {
			hdr = map[string]string{"If-Match": ph.etag}
		}
		if _, ok := c.do("delete", http.MethodDelete, ph.path, nil, hdr, http.StatusNoContent); !ok {
			return
		}
		p.phones = slices.Delete(p.phones, i, i+1)
		c.deleted = append(c.deleted, ph.path)
		c.touched(p)
		c.do("read", http.MethodGet, ph.path, nil, nil, http.StatusNotFound)
		c.refreshPhones("list", p, false)
	case len(c.people) > 0:
		i := c.rng.IntN(len(c.people))
		p := c.people[i]
		if p.etag != "" && c.rng.IntN(2) == 0 {
			hdr = map[string]string{"If-Match": p.etag}
		}
		if _, ok := c.do("delete", http.MethodDelete, p.path, nil, hdr, http.StatusNoContent); !ok {
			return
		}
		c.people = slices.Delete(c.people, i, i+1)
		c.deleted = append(c.deleted, p.path)
		for _, ph := range p.phones {
			c.deleted = append(c.deleted, ph.path)
		}
		c.do("read", http.MethodGet, p.path, nil, nil, http.StatusNotFound)
	default:
		c.create()
	}
}

// check compares everything the client owns with the server: every
// acknowledged write must be there with its acknowledged values, and every
// acknowledged delete must be gone.
func (c *client) check() []string {
	var diffs []string
	get := func(it *item) {
		r, ok := c.do("check", http.MethodGet, it.path, nil, nil, http.StatusOK)
		if !ok {
			status := 0
			if r != nil {
				status = r.status
			}
			diffs = append(diffs, fmt.Sprintf("%s: status %d", it.path, status))
			return
		}
		res, err := r.one()
		if err != nil {
			diffs = append(diffs, it.path+": bad document")
		} else if d := it.matches(res, true); d != "" {
			diffs = append(diffs, it.path+": "+d)
		}
	}
	get(c.contact)
	diffs = append(diffs, c.checkPeople("check")...)
	for _, p := range c.people {
		get(&p.item)
		diffs = append(diffs, c.refreshPhones("check", p, false)...)
		for _, ph := range p.phones {
			get(ph)
		}
	}
	for _, path := range c.deleted {
		if r, ok := c.do("check", http.MethodGet, path, nil, nil, http.StatusNotFound); !ok && r != nil {
			diffs = append(diffs, fmt.Sprintf("%s: deleted, yet status %d", path, r.status))
		}
	}
	return diffs
}

// checkAll runs every client's check and compares each user's contact list
// with the contacts of that user's clients.
func checkAll(clients []*client, tokens []string, base string, hc *http.Client, st *stats) []string {
	var (
		mu   sync.Mutex
		lost []string
		wg   sync.WaitGroup
	)
	add := func(d []string) {
		mu.Lock()
		lost = append(lost, d...)
		mu.Unlock()
	}
	work := make(chan *client)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range work {
				if c.broken || c.contact == nil || c.contact.id == "" {
					add([]string{fmt.Sprintf("client %d: not checked, a request of it got no response", c.n)})
					continue
				}
				add(c.check())
			}
		}()
	}
	for _, c := range clients {
		work <- c
	}
	close(work)
	wg.Wait()

	for u, tok := range tokens {
		want := map[string]bool{}
		for _, c := range clients {
			if c.tok == tok && c.contact != nil && c.contact.id != "" {
				want[c.contact.id] = true
			}
		}
		lc := newClient(-1, tok, base, hc, st)
		r, ok := lc.do("check", http.MethodGet, "/api/v2/contacts?per_page=500", nil, nil, http.StatusOK)
		if !ok {
			add([]string{fmt.Sprintf("user %d: contacts list failed", u)})
			continue
		}
		rs, err := r.many()
		if err != nil {
			add([]string{fmt.Sprintf("user %d: contacts list: bad document", u)})
			continue
		}
		for _, res := range rs {
			if !want[res.ID] {
				add([]string{fmt.Sprintf("user %d: contact %s listed but never created by its clients", u, res.ID)})
			}
			delete(want, res.ID)
		}
		for id := range want {
			add([]string{fmt.Sprintf("user %d: contact %s missing from the user's list", u, id)})
		}
	}
	sort.Strings(lost)
	return lost
}
