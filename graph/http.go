package graph

import (
	"context"
	"mime"
	"net/http"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// GraphQL over HTTP (the GraphQL over HTTP specification, stage 2 draft
// as of 2025, the text graphql-http's audit checks; spec/GraphQLOverHTTP.md
// of graphql/graphql-over-http): POST with an application/json body, GET
// with the parameters in the URL; responses in application/json or
// application/graphql-response+json, as the request's Accept asks.
//
// Status codes, for either response media type unless said:
//
//	200  data (with or without field errors); an operation refused by the
//	     OperationCheck ("data": null)
//	200  (application/json) or 400 (application/graphql-response+json),
//	     with no "data": the document does not parse, fails validation,
//	     names no operation, its variables do not coerce, or it is over a
//	     limit (depth, fields, complexity, introspection depth,
//	     introspection off, a subscription over HTTP): GraphQL request
//	     errors, each an error of the request as a whole
//	400  not a well-formed GraphQL-over-HTTP request (RequestError)
//	405  a method other than GET, HEAD, POST, OPTIONS; a mutation over GET
//	406  an Accept that allows neither response media type
//	413  a body over Options.MaxBodyBytes
//	415  a POST body that is not application/json
//
// 401 and 503 come from authentication, before (WriteError).

// postTransport serves GraphQL over HTTP POST. Its Do needs this
// package's executor (an operationPreparer); NewHandler wires it.
type postTransport struct {
	maxBodyBytes int64
}

var _ graphql.Transport = postTransport{}

func (postTransport) Supports(r *http.Request) bool {
	return r.Method == http.MethodPost && r.Header.Get("Upgrade") == ""
}

func (t postTransport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	media := negotiate(r)
	if media == mediaNone {
		writeRequestError(w, mediaJSON, errNotAcceptable)
		return
	}
	if !jsonBody(r) {
		writeRequestError(w, media, errMediaType)
		return
	}
	body, rerr := readBody(w, r, t.maxBodyBytes)
	if rerr != nil {
		if rerr.Status == http.StatusRequestEntityTooLarge {
			w.Header().Set("Connection", "close") // the rest of the body is not read
		}
		writeRequestError(w, media, rerr)
		return
	}
	var params graphql.RawParams
	if rerr := decodeBody(body, &params); rerr != nil {
		writeRequestError(w, media, rerr)
		return
	}
	params.Headers = r.Header
	serveOperation(w, r.Context(), exec.(operationPreparer), &params, media, viaPOST)
}

// jsonBody reports whether a POST body says it is application/json, in
// UTF-8 (GraphQL over HTTP, "POST"); a request without Content-Type, or
// with any other, is refused (415): a cross-site form can send text/plain
// or a form type without a CORS preflight, never application/json.
func jsonBody(r *http.Request) bool {
	ct := r.Header.Get("Content-Type")
	if ct == mediaTypeJSON { // the common case, without parsing
		return true
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != mediaTypeJSON {
		return false
	}
	charset, ok := params["charset"]
	return !ok || strings.EqualFold(charset, "utf-8")
}

// getTransport serves GraphQL over HTTP GET (and HEAD, whose body
// net/http leaves out): queries only.
type getTransport struct{}

var _ graphql.Transport = getTransport{}

func (getTransport) Supports(r *http.Request) bool {
	return (r.Method == http.MethodGet || r.Method == http.MethodHead) && r.Header.Get("Upgrade") == ""
}

func (getTransport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	media := negotiate(r)
	if media == mediaNone {
		writeRequestError(w, mediaJSON, errNotAcceptable)
		return
	}
	var params graphql.RawParams
	if rerr := decodeURL(r.URL.RawQuery, &params); rerr != nil {
		writeRequestError(w, media, rerr)
		return
	}
	params.Headers = r.Header
	serveOperation(w, r.Context(), exec.(operationPreparer), &params, media, viaGET)
}

// operationPreparer is what the HTTP transports need of the executor
// besides graphql.GraphExecutor: which kind of failure preparing the
// operation met, for the status code and whether the body has "data".
type operationPreparer interface {
	graphql.GraphExecutor
	prepare(ctx context.Context, params *graphql.RawParams, v via) (*graphql.OperationContext, gqlerror.List, failure)
}

// serveOperation prepares, runs and writes one operation.
func serveOperation(w http.ResponseWriter, ctx context.Context, exec operationPreparer, params *graphql.RawParams, media responseMedia, v via) {
	ctx = graphql.StartOperationTrace(ctx)
	op, errs, fail := exec.prepare(ctx, params, v)
	switch fail {
	case failNone:
		responses, ctx := exec.DispatchOperation(ctx, op)
		writeResponse(w, http.StatusOK, media, responses(ctx))
	case failMethod:
		w.Header().Set("Allow", "POST")
		writeRequestError(w, media, errMutationOverGET)
	case failRefused:
		writeResponse(w, http.StatusOK, media, exec.DispatchError(graphql.WithOperationContext(ctx, op), errs))
	default:
		resp := exec.DispatchError(graphql.WithOperationContext(ctx, op), errs)
		writeErrors(w, media.requestErrorStatus(), media, resp.Errors)
	}
}

// serveOptions answers OPTIONS (a preflight never gets here: CORS answers
// it) and every other method.
func serveOptions(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Allow", "GET, HEAD, POST, OPTIONS")
	if r.Method == http.MethodOptions {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	media := negotiate(r)
	if media == mediaNone {
		media = mediaJSON
	}
	writeRequestError(w, media, errMethod)
}
