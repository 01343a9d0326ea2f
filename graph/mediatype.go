package graph

import (
	"net/http"
	"strconv"
	"strings"
)

// The media types of GraphQL responses (GraphQL over HTTP, "Media Types").
const (
	mediaTypeJSON            = "application/json"
	mediaTypeGraphQLResponse = "application/graphql-response+json"
)

// A responseMedia is the media type a response is written in. It decides
// the status codes of GraphQL request errors (GraphQL over HTTP, "Status
// Codes"): under application/graphql-response+json a response without
// "data" is a 4xx, under application/json every response to a
// well-formed request is 200, since a legacy client cannot trust a JSON
// body that came with another status.
type responseMedia int

const (
	mediaJSON            responseMedia = iota // application/json, also for a missing Accept or */*
	mediaGraphQLResponse                      // application/graphql-response+json
	mediaNone                                 // Accept allows neither: 406
)

// contentType is the Content-Type header of a response in m.
func (m responseMedia) contentType() string {
	if m == mediaGraphQLResponse {
		return mediaTypeGraphQLResponse + "; charset=utf-8"
	}
	return mediaTypeJSON + "; charset=utf-8"
}

// requestErrorStatus is the status of a GraphQL request error (parse,
// validation, variable coercion, our own limits): 400 under
// application/graphql-response+json, 200 under application/json.
func (m responseMedia) requestErrorStatus() int {
	if m == mediaGraphQLResponse {
		return http.StatusBadRequest
	}
	return http.StatusOK
}

// negotiate picks the response media type from the request's Accept
// header fields (RFC 9110, section 12.5.1): the acceptable type with the
// highest quality; a type named outright counts over a wildcard; on a tie
// application/graphql-response+json, unless only wildcards matched, for
// which (and for no Accept at all) the answer is application/json, as
// the specification advises for legacy clients.
func negotiate(r *http.Request) responseMedia {
	fields := r.Header.Values("Accept")
	switch {
	case len(fields) == 0:
		return mediaJSON
	case len(fields) == 1 && fields[0] == mediaTypeJSON: // the common cases, without parsing
		return mediaJSON
	case len(fields) == 1 && fields[0] == mediaTypeGraphQLResponse:
		return mediaGraphQLResponse
	}
	// Quality of each candidate: named outright, via application/*, via */*
	// (-1: not mentioned).
	var gr, js, app, star = -1.0, -1.0, -1.0, -1.0
	empty := true
	for _, field := range fields {
		for rng := range strings.SplitSeq(field, ",") {
			mt, q, ok := parseMediaRange(rng)
			if !ok {
				continue
			}
			empty = false
			switch mt {
			case mediaTypeGraphQLResponse:
				gr = max(gr, q)
			case mediaTypeJSON:
				js = max(js, q)
			case "application/*":
				app = max(app, q)
			case "*/*":
				star = max(star, q)
			}
		}
	}
	if empty { // only blank or unreadable fields: as if no Accept
		return mediaJSON
	}
	wild := app
	if wild < 0 {
		wild = star
	}
	grNamed, jsNamed := gr >= 0, js >= 0
	if !grNamed {
		gr = wild
	}
	if !jsNamed {
		js = wild
	}
	switch {
	case gr <= 0 && js <= 0:
		return mediaNone
	case gr > js:
		return mediaGraphQLResponse
	case js > gr:
		return mediaJSON
	case grNamed:
		return mediaGraphQLResponse
	default:
		return mediaJSON
	}
}

// parseMediaRange reads one element of an Accept field: its media range,
// lowercased, and its quality (1 when absent). ok is false for an element
// that is empty or not type/subtype, or whose quality is not a number
// from 0 to 1.
func parseMediaRange(s string) (mt string, q float64, ok bool) {
	mt, params, _ := strings.Cut(s, ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	if typ, sub, found := strings.Cut(mt, "/"); !found || typ == "" || sub == "" {
		return "", 0, false
	}
	q = 1
	for params != "" {
		var p string
		p, params, _ = strings.Cut(params, ";")
		name, value, _ := strings.Cut(p, "=")
		if !strings.EqualFold(strings.TrimSpace(name), "q") {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil || v < 0 || v > 1 {
			return "", 0, false
		}
		q = v
	}
	return mt, q, true
}
