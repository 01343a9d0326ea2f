package main

// The GraphQL code in graph/ is generated from schema.graphqls; CI checks it
// is not stale.
//go:generate go tool gqlgen generate
