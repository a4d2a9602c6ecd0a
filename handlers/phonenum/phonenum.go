// Package phonenum normalises user-typed phone numbers to E.164.
//
// Parsing is delegated to github.com/nyaruka/phonenumbers (a port of
// Google's libphonenumber). A number is accepted when it is a *possible*
// number for its country — i.e. it has a known country calling code and a
// plausible length that can be dialled from anywhere — but it is NOT
// required to be a *valid* (assigned-range) number. This is deliberate so
// that fictional and test numbers such as 617-555-1212 keep working.
//
// Numbers that are only dialable locally (for example a US 7-digit number
// without an area code, "555-1212") are rejected.
//
// Like libphonenumber, Parse is lenient about surrounding punctuation:
// leading text before the first digit or "+" and trailing punctuation are
// ignored, and letters inside the number are treated as vanity
// letters ("1-800-FLOWERS" → "+18003569377"). Input without any digit at
// all is always rejected.
package phonenum

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"unicode"

	"github.com/nyaruka/phonenumbers"
)

// ErrInvalid is the sentinel for every error returned by this package; test
// for it with errors.Is. The concrete error's Error() text is a lower-case,
// human-readable reason (for example "number is not a complete phone
// number: too short") that is suitable for use as an API error "detail".
var ErrInvalid = errors.New("invalid phone number")

// DefaultRegion is the region used by Parse when none is given.
const DefaultRegion = "US"

// maxJSONDigits bounds the number of digits FromJSON will render from a
// JSON number; it keeps inputs like 1e1000000 from allocating huge strings.
// It is well above the longest possible phone number (3 + 17 digits) so
// that over-long inputs still reach Parse and get its "too long" reason.
const maxJSONDigits = 64

// invalidError carries the human-readable reason and unwraps to ErrInvalid.
type invalidError struct{ reason string }

func (e *invalidError) Error() string { return e.reason }
func (e *invalidError) Unwrap() error { return ErrInvalid }

func invalid(reason string) error { return &invalidError{reason: reason} }

// Number is a parsed phone number.
type Number struct {
	E164        string // "+16175551212", or "+16175551212;ext=123" when an extension was given
	CountryCode string // calling code without "+", e.g. "1", "44"
}

// Parse parses raw (what the user typed). region is an ISO 3166-1 alpha-2
// region ("US", "GB", case-insensitive) used when raw has no leading "+";
// when raw (after trimming space) starts with "+" the region is ignored, and
// when region is empty DefaultRegion ("US") is used.
//
// Extensions written after "ext", "ext.", "x", "#" or ";" (with optional
// spaces), e.g. "617-555-1212 x123" or "213-345-2313;23", are kept and
// returned in RFC 3966 style: "+16175551212;ext=123".
//
// All errors wrap ErrInvalid.
func Parse(raw, region string) (Number, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return Number{}, invalid("number is empty")
	}
	if !strings.ContainsFunc(s, unicode.IsDigit) {
		return Number{}, invalid("number contains no digits")
	}

	region = strings.ToUpper(strings.TrimSpace(region))
	if region == "" {
		region = DefaultRegion
	}
	if strings.HasPrefix(s, "+") || strings.HasPrefix(s, "\uFF0B") { // "+" or fullwidth "＋"
		// The number carries its own calling code; make the region
		// irrelevant (and an unknown region harmless).
		region = "ZZ"
	} else if phonenumbers.GetCountryCodeForRegion(region) == 0 {
		return Number{}, invalid("unknown region " + strconv.Quote(region) +
			"; give the number in international format with a leading \"+\"")
	}

	pn, err := phonenumbers.Parse(s, region)
	if err != nil {
		return Number{}, parseError(err)
	}

	if pn.GetNationalNumber() == 0 {
		// All zeros: never a real number, and libphonenumber's leading-zero
		// bookkeeping makes its E.164 rendering unstable ("0000000" in ZA
		// gives "+27000000", which itself re-parses as "+2700000").
		return Number{}, invalid("number is not a possible phone number: it is all zeros")
	}

	switch phonenumbers.IsPossibleNumberWithReason(pn) {
	case phonenumbers.IS_POSSIBLE:
		// ok
	case phonenumbers.IS_POSSIBLE_LOCAL_ONLY:
		return Number{}, invalid("number is not a complete phone number: it is only dialable locally; include the area code")
	case phonenumbers.INVALID_COUNTRY_CODE:
		return Number{}, invalid("number has an invalid country calling code")
	case phonenumbers.TOO_SHORT:
		return Number{}, invalid("number is not a complete phone number: too short")
	case phonenumbers.TOO_LONG:
		return Number{}, invalid("number is not a possible phone number: too long")
	case phonenumbers.INVALID_LENGTH:
		return Number{}, invalid("number is not a possible phone number: invalid length for its country")
	default:
		return Number{}, invalid("number is not a possible phone number")
	}

	e164 := phonenumbers.Format(pn, phonenumbers.E164)
	if !isE164(e164) || !stable(e164) {
		// Defensive. Seen in practice only for junk national numbers with
		// several leading zeros, where libphonenumber's leading-zero
		// bookkeeping differs between national and international input
		// ("00000001" in BY gives "+3750000001", which re-parses as
		// "+375000001"). Refuse rather than return an E.164 string that
		// does not round-trip.
		return Number{}, invalid("number could not be normalised unambiguously")
	}
	// Format(E164) drops the extension; append it ourselves. The library
	// accepts any Unicode decimal digits in extensions, so normalise them.
	if ext := phonenumbers.NormalizeDigitsOnly(pn.GetExtension()); ext != "" {
		e164 += ";ext=" + ext
	}
	return Number{
		E164:        e164,
		CountryCode: strconv.Itoa(int(pn.GetCountryCode())),
	}, nil
}

// parseError maps phonenumbers.Parse errors onto reasons.
func parseError(err error) error {
	switch {
	case errors.Is(err, phonenumbers.ErrInvalidCountryCode):
		return invalid("number has an invalid country calling code")
	case errors.Is(err, phonenumbers.ErrTooShortNSN), errors.Is(err, phonenumbers.ErrTooShortAfterIDD):
		return invalid("number is not a complete phone number: too short")
	case errors.Is(err, phonenumbers.ErrNumTooLong):
		return invalid("number is not a possible phone number: too long")
	case errors.Is(err, phonenumbers.ErrNotANumber):
		return invalid("input does not look like a phone number")
	default:
		return invalid("number could not be parsed")
	}
}

// stable reports whether e164 (no extension) re-parses to itself as a
// possible number, i.e. Parse's output is a fixed point of Parse.
func stable(e164 string) bool {
	pn, err := phonenumbers.Parse(e164, "ZZ")
	return err == nil &&
		pn.GetNationalNumber() != 0 &&
		phonenumbers.IsPossibleNumberWithReason(pn) == phonenumbers.IS_POSSIBLE &&
		phonenumbers.Format(pn, phonenumbers.E164) == e164
}

// isE164 reports whether s is "+" followed by 2..18 ASCII digits (calling
// code plus national significant number of up to 17 digits).
func isE164(s string) bool {
	if len(s) < 3 || len(s) > 19 || s[0] != '+' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// RegionForCallingCode returns the main region for a calling code such as
// "44" → "GB", "1" → "US" (an optional leading "+" and surrounding space
// are accepted); ok is false for unknown codes and for non-geographic codes
// such as "800", which have no region.
func RegionForCallingCode(code string) (string, bool) {
	code = strings.TrimPrefix(strings.TrimSpace(code), "+")
	if len(code) == 0 || len(code) > 3 || code[0] == '0' {
		return "", false
	}
	for i := 0; i < len(code); i++ {
		if code[i] < '0' || code[i] > '9' {
			return "", false
		}
	}
	n, err := strconv.Atoi(code)
	if err != nil {
		return "", false
	}
	r := phonenumbers.GetRegionCodeForCountryCode(n)
	// "ZZ" is unknown, "001" is the non-geographic entity.
	if len(r) != 2 || r == "ZZ" {
		return "", false
	}
	return r, true
}

// FromJSON converts a JSON value for `number` or `country_code` — a JSON
// string or a JSON number — into its text. A string is returned unchanged
// (Parse does its own trimming). A number is rendered as plain decimal
// digits without sign, exponent or decimal point, so 6175551212 →
// "6175551212" and 4.4e1 → "44"; negative and non-integer numbers are
// rejected. Any other JSON value (true, false, null, object, array) or
// malformed JSON is rejected. All errors wrap ErrInvalid.
func FromJSON(raw json.RawMessage) (string, error) {
	if !json.Valid(raw) {
		return "", invalid("value is not valid JSON")
	}
	t := strings.TrimSpace(string(raw)) // JSON whitespace is a subset of Unicode space
	switch c := t[0]; {                 // json.Valid guarantees a non-empty value
	case c == '"':
		var s string
		if err := json.Unmarshal([]byte(t), &s); err != nil {
			return "", invalid("value is not a valid JSON string")
		}
		return s, nil
	case c == '-' || (c >= '0' && c <= '9'):
		return jsonNumberDigits(t)
	default:
		return "", invalid("value must be a JSON string or number")
	}
}

// jsonNumberDigits renders a syntactically valid JSON number literal as
// plain integer digits. It works on the decimal text directly (no float64
// rounding, no big-number allocation driven by the exponent).
func jsonNumberDigits(lit string) (string, error) {
	if strings.HasPrefix(lit, "-") {
		return "", invalid("number must not be negative")
	}
	mant, expPart, _ := strings.Cut(strings.ToLower(lit), "e")
	intPart, frac, _ := strings.Cut(mant, ".")
	exp := 0
	if expPart != "" {
		e, err := strconv.Atoi(strings.TrimPrefix(expPart, "+"))
		if err != nil || e > maxJSONDigits || e < -maxJSONDigits-len(mant) {
			return "", invalid("number is out of range")
		}
		exp = e
	}
	digits := intPart + frac
	shift := exp - len(frac) // value = digits × 10^shift
	if shift < 0 {
		cut := len(digits) + shift
		var drop string
		if cut <= 0 {
			drop, digits = digits, ""
		} else {
			drop, digits = digits[cut:], digits[:cut]
		}
		if strings.Trim(drop, "0") != "" {
			return "", invalid("number must be a whole number")
		}
	}
	digits = strings.TrimLeft(digits, "0")
	if digits == "" {
		return "0", nil
	}
	if shift > 0 {
		if len(digits)+shift > maxJSONDigits {
			return "", invalid("number is out of range")
		}
		digits += strings.Repeat("0", shift)
	}
	if len(digits) > maxJSONDigits {
		return "", invalid("number is out of range")
	}
	return digits, nil
}
