package auth

import "time"

// MaxNumericDate is the latest NumericDate ("exp", "nbf", "iat") the
// validator accepts, in seconds since the epoch: 9999-12-31T23:59:59Z (and
// its fractions). The earliest is the epoch itself, 0. No issuer writes a
// time outside that range; a value outside it makes the token invalid
// (ReasonInvalidClaims) rather than being clamped, wrapped or read as
// absent. Bounding it keeps every sum the validator and its callers make
// (exp plus the clock skew, a timer until ValidUntil) far from overflow.
const MaxNumericDate = 253402300799

// maxNumericDateDigits is how many integer digits MaxNumericDate has: a
// value with more is out of range whatever they are.
const maxNumericDateDigits = 12

// numericDate returns the time that v, the text of a JSON number (RFC 8259
// section 6, as scanner.number accepts it), means as a NumericDate (RFC
// 7519 section 2: seconds since the epoch, "non-integer values can be
// represented"), and whether it is in [0, MaxNumericDate].
//
// The decimal text is converted exactly, never through a float64 (which
// would round 9223372036854775807 or 1.0000000001e9), and so are fractions
// and exponents: 1.5e9, 15E8 and 1500000000.0 are one time. Fractions keep
// nanosecond precision; further digits are dropped (a time never moves
// later). -0 is 0; any other negative value is out of range, and so is
// anything of more than 12 integer digits however it is written (1e12,
// 9223372036800000000). Leading zeros, NaN and Infinity are not JSON and
// never get here.
func numericDate(v []byte) (time.Time, bool) {
	neg := len(v) > 0 && v[0] == '-'
	if neg {
		v = v[1:]
	}
	// The digits without the point, and the exponent as a count of integer
	// digits: "12.5e1" is digits "125" with point 3 (125.).
	var intPart, frac []byte
	i := 0
	for i < len(v) && isDigit(v[i]) {
		i++
	}
	intPart = v[:i]
	if i < len(v) && v[i] == '.' {
		j := i + 1
		for j < len(v) && isDigit(v[j]) {
			j++
		}
		frac, i = v[i+1:j], j
	}
	point := len(intPart)
	if i < len(v) && (v[i] == 'e' || v[i] == 'E') {
		i++
		expNeg := i < len(v) && v[i] == '-'
		if i < len(v) && (v[i] == '-' || v[i] == '+') {
			i++
		}
		e := 0
		for ; i < len(v) && isDigit(v[i]); i++ {
			// Saturate: any exponent this large already puts the value out
			// of range (or at zero), and the sum below must not overflow.
			e = min(e*10+int(v[i]-'0'), 1<<20)
		}
		if expNeg {
			e = -e
		}
		point += e
	}
	digit := func(k int) int64 { // the k-th digit of intPart+frac, 0 outside
		switch {
		case k < 0 || k >= len(intPart)+len(frac):
			return 0
		case k < len(intPart):
			return int64(intPart[k] - '0')
		}
		return int64(frac[k-len(intPart)] - '0')
	}
	// Leading zeros say nothing about the size.
	first := 0
	for first < len(intPart)+len(frac) && digit(first) == 0 {
		first++
	}
	if first == len(intPart)+len(frac) {
		return time.Unix(0, 0).UTC(), true // 0, -0, 0.000, 0e99
	}
	if neg || point-first > maxNumericDateDigits {
		return time.Time{}, false
	}
	var secs, nanos int64
	for k := first; k < point; k++ {
		secs = secs*10 + digit(k)
	}
	for k := point; k < point+9; k++ {
		nanos = nanos*10 + digit(k)
	}
	if secs > MaxNumericDate {
		return time.Time{}, false
	}
	return time.Unix(secs, nanos).UTC(), true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
