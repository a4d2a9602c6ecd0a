package handlers

import "github.com/phoneapi/phoneapi/db"

// db.Backend, the store contract both database engines implement, covers
// everything the handlers need.
var _ Store = db.Backend(nil)
