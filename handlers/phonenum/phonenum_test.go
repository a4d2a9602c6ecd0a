package phonenum

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name, raw, region string
		wantE164, wantCC  string // wantE164 == "" means ErrInvalid expected
		wantReason        string // substring of the error text, when an error is expected
	}{
		// US formats, default region.
		{name: "digits", raw: "6175551212", wantE164: "+16175551212", wantCC: "1"},
		{name: "parens", raw: "(617) 555-1212", wantE164: "+16175551212", wantCC: "1"},
		{name: "dashes", raw: "617-555-1212", wantE164: "+16175551212", wantCC: "1"},
		{name: "dots", raw: "617.555.1212", wantE164: "+16175551212", wantCC: "1"},
		{name: "national prefix 1", raw: "16175551212", wantE164: "+16175551212", wantCC: "1"},
		{name: "intl spaced", raw: "+1 617 555 1212", wantE164: "+16175551212", wantCC: "1"},
		{name: "e164", raw: "+16175551212", wantE164: "+16175551212", wantCC: "1"},
		{name: "surrounding space", raw: "  617 555 1212\t", wantE164: "+16175551212", wantCC: "1"},
		{name: "explicit US region", raw: "6175551212", region: "US", wantE164: "+16175551212", wantCC: "1"},
		{name: "lower-case region", raw: "6175551212", region: "us", wantE164: "+16175551212", wantCC: "1"},

		// UK.
		{name: "uk intl", raw: "+44 20 7946 0958", wantE164: "+442079460958", wantCC: "44"},
		{name: "uk national with GB", raw: "020 7946 0958", region: "GB", wantE164: "+442079460958", wantCC: "44"},
		{name: "plus ignores region", raw: "+44 20 7946 0958", region: "US", wantE164: "+442079460958", wantCC: "44"},
		{name: "plus ignores unknown region", raw: "+1 617 555 1212", region: "XX", wantE164: "+16175551212", wantCC: "1"},
		{name: "US IDD prefix", raw: "011 44 20 7946 0958", region: "US", wantE164: "+442079460958", wantCC: "44"},

		// Extensions.
		{name: "ext", raw: "617-555-1212 ext 123", wantE164: "+16175551212;ext=123", wantCC: "1"},
		{name: "x", raw: "617-555-1212 x123", wantE164: "+16175551212;ext=123", wantCC: "1"},
		{name: "ext.", raw: "617-555-1212 ext. 123", wantE164: "+16175551212;ext=123", wantCC: "1"},
		{name: "hash", raw: "617-555-1212#99", wantE164: "+16175551212;ext=99", wantCC: "1"},
		{name: "hash spaced", raw: "617-555-1212 # 99", wantE164: "+16175551212;ext=99", wantCC: "1"},
		{name: "semicolon", raw: "213-345-2313;23", wantE164: "+12133452313;ext=23", wantCC: "1"},
		{name: "semicolon spaced", raw: "213-345-2313 ; 23", wantE164: "+12133452313;ext=23", wantCC: "1"},
		{name: "rfc3966 ext round trip", raw: "+16175551212;ext=123", wantE164: "+16175551212;ext=123", wantCC: "1"},
		{name: "intl with ext", raw: "+44 20 7946 0958 ext 7", wantE164: "+442079460958;ext=7", wantCC: "44"},

		// Junk and incomplete numbers.
		{name: "empty", raw: "", wantReason: "empty"},
		{name: "blank", raw: "   ", wantReason: "empty"},
		{name: "letters", raw: "asdf", wantReason: "no digits"},
		{name: "none", raw: "none", wantReason: "no digits"},
		{name: "plus only", raw: "+", wantReason: "no digits"},
		{name: "US local only", raw: "555-1212", wantReason: "only dialable locally"},
		{name: "two digits", raw: "12", wantReason: "too short"},
		{name: "twenty digits", raw: "12345678901234567890", wantReason: "too long"},
		{name: "bad country code", raw: "+999 1234567", wantReason: "country calling code"},
		{name: "all zeros", raw: "0000000", region: "ZA", wantReason: "all zeros"},
		{name: "all zeros intl", raw: "+39 000 0000", wantReason: "all zeros"},
		{name: "unstable leading zeros", raw: "00000001", region: "BY", wantReason: "normalised"},
		{name: "unknown region", raw: "6175551212", region: "XX", wantReason: "unknown region"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.raw, tc.region)
			if tc.wantE164 == "" {
				if err == nil {
					t.Fatalf("Parse(%q, %q) = %+v, want error", tc.raw, tc.region, got)
				}
				if !errors.Is(err, ErrInvalid) {
					t.Errorf("Parse(%q, %q) error %v does not wrap ErrInvalid", tc.raw, tc.region, err)
				}
				if got != (Number{}) {
					t.Errorf("Parse(%q, %q) returned non-zero Number %+v with error", tc.raw, tc.region, got)
				}
				msg := err.Error()
				if !strings.Contains(msg, tc.wantReason) {
					t.Errorf("Parse(%q, %q) error %q, want it to mention %q", tc.raw, tc.region, msg, tc.wantReason)
				}
				if msg != strings.ToLower(msg[:1])+msg[1:] {
					t.Errorf("Parse(%q, %q) error %q should start lower-case", tc.raw, tc.region, msg)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q, %q) unexpected error: %v", tc.raw, tc.region, err)
			}
			want := Number{E164: tc.wantE164, CountryCode: tc.wantCC}
			if got != want {
				t.Errorf("Parse(%q, %q) = %+v, want %+v", tc.raw, tc.region, got, want)
			}
		})
	}
}

func TestRegionForCallingCode(t *testing.T) {
	tests := []struct {
		code, want string
		ok         bool
	}{
		{"1", "US", true},
		{"44", "GB", true},
		{"+44", "GB", true},
		{" 49 ", "DE", true},
		{"7", "RU", true},
		{"800", "", false}, // non-geographic
		{"999", "", false},
		{"0", "", false},
		{"044", "", false},
		{"", "", false},
		{"GB", "", false},
		{"1234", "", false},
	}
	for _, tc := range tests {
		got, ok := RegionForCallingCode(tc.code)
		if got != tc.want || ok != tc.ok {
			t.Errorf("RegionForCallingCode(%q) = %q, %v; want %q, %v", tc.code, got, ok, tc.want, tc.ok)
		}
	}
}

func TestFromJSON(t *testing.T) {
	tests := []struct {
		raw     string
		want    string
		wantErr bool
	}{
		{raw: `"617"`, want: "617"},
		{raw: `" +1 617 555 1212 "`, want: " +1 617 555 1212 "},
		{raw: `"\u0036\u0031\u0037"`, want: "617"},
		{raw: `6175551212`, want: "6175551212"},
		{raw: ` 44 `, want: "44"},
		{raw: `4.4e1`, want: "44"},
		{raw: `4.4E+1`, want: "44"},
		{raw: `6.175551212e9`, want: "6175551212"},
		{raw: `1e3`, want: "1000"},
		{raw: `44.0`, want: "44"},
		{raw: `4400e-2`, want: "44"},
		{raw: `0`, want: "0"},
		{raw: `12345678901234567890`, want: "12345678901234567890"}, // beyond float64/int64 precision, kept exact
		{raw: `1.5`, wantErr: true},
		{raw: `4.4e0`, wantErr: true},
		{raw: `45e-1`, wantErr: true},
		{raw: `-44`, wantErr: true},
		{raw: `1e1000000`, wantErr: true},
		{raw: `1e-1000000`, wantErr: true},
		{raw: `true`, wantErr: true},
		{raw: `false`, wantErr: true},
		{raw: `null`, wantErr: true},
		{raw: `{}`, wantErr: true},
		{raw: `[]`, wantErr: true},
		{raw: `["617"]`, wantErr: true},
		{raw: ``, wantErr: true},
		{raw: `617 618`, wantErr: true},
		{raw: `0x44`, wantErr: true},
		{raw: `"unterminated`, wantErr: true},
	}
	for _, tc := range tests {
		got, err := FromJSON(json.RawMessage(tc.raw))
		if tc.wantErr {
			if err == nil {
				t.Errorf("FromJSON(%s) = %q, want error", tc.raw, got)
			} else if !errors.Is(err, ErrInvalid) {
				t.Errorf("FromJSON(%s) error %v does not wrap ErrInvalid", tc.raw, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("FromJSON(%s) unexpected error: %v", tc.raw, err)
			continue
		}
		if got != tc.want {
			t.Errorf("FromJSON(%s) = %q, want %q", tc.raw, got, tc.want)
		}
	}
}

// FromJSON output for a JSON number should feed straight into Parse.
func TestFromJSONThenParse(t *testing.T) {
	s, err := FromJSON(json.RawMessage(`6175551212`))
	if err != nil {
		t.Fatal(err)
	}
	n, err := Parse(s, "")
	if err != nil || n.E164 != "+16175551212" {
		t.Fatalf("Parse(%q) = %+v, %v", s, n, err)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"6175551212", "(617) 555-1212", "+1 617 555 1212", "+44 20 7946 0958", "020 7946 0958",
		"617-555-1212 ext 123", "617-555-1212 x123", "617-555-1212#99", "213-345-2313;23",
		"+16175551212;ext=123", "tel:+1-617-555-1212", "1-800-FLOWERS", "011 44 20 7946 0958",
		"", "   ", "asdf", "none", "555-1212", "12", "12345678901234567890", "+999 1234567",
		"+", "++1", "#;x", "６１７５５５１２１２", "\xff\xfe", "+800 1234 5678",
	} {
		f.Add(s, "US")
		f.Add(s, "GB")
	}
	f.Add("6175551212", "")
	f.Add("6175551212", "xx")

	f.Fuzz(func(t *testing.T, raw, region string) {
		n, err := Parse(raw, region)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Parse(%q, %q) error %v does not wrap ErrInvalid", raw, region, err)
			}
			if n != (Number{}) {
				t.Fatalf("Parse(%q, %q) returned %+v with error", raw, region, n)
			}
			if err.Error() == "" || !utf8.ValidString(err.Error()) {
				t.Fatalf("Parse(%q, %q) bad error text %q", raw, region, err.Error())
			}
			return
		}
		base, ext, hasExt := strings.Cut(n.E164, ";ext=")
		if !isE164(base) {
			t.Fatalf("Parse(%q, %q).E164 = %q, not E.164", raw, region, n.E164)
		}
		if hasExt && (ext == "" || strings.Trim(ext, "0123456789") != "") {
			t.Fatalf("Parse(%q, %q).E164 = %q, bad extension", raw, region, n.E164)
		}
		if n.CountryCode == "" || !strings.HasPrefix(base, "+"+n.CountryCode) {
			t.Fatalf("Parse(%q, %q) = %+v, country code not a prefix of E164", raw, region, n)
		}
		// The output must itself be accepted and be a fixed point.
		again, err := Parse(n.E164, "")
		if err != nil || again != n {
			t.Fatalf("Parse(%q) [from %q, %q] = %+v, %v; want %+v", n.E164, raw, region, again, err, n)
		}
	})
}

func FuzzFromJSON(f *testing.F) {
	for _, s := range []string{`"617"`, `6175551212`, `4.4e1`, `1.5`, `true`, `null`, `{}`, `-1`, `1e99`, `0.0e5`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		s, err := FromJSON(raw)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("FromJSON(%q) error %v does not wrap ErrInvalid", raw, err)
			}
			return
		}
		var v any
		if jerr := json.Unmarshal(raw, &v); jerr != nil {
			t.Fatalf("FromJSON(%q) = %q but input is not valid JSON", raw, s)
		}
		if f, isNum := v.(float64); isNum {
			if s == "" || strings.Trim(s, "0123456789") != "" || (len(s) > 1 && s[0] == '0') {
				t.Fatalf("FromJSON(%q) = %q, not plain digits", raw, s)
			}
			if f < 1e15 && strconv.FormatFloat(f, 'f', -1, 64) != s {
				t.Fatalf("FromJSON(%q) = %q, but the value is %v", raw, s, f)
			}
		}
	})
}
