// Package model holds the GraphQL types: generated ones in models_gen.go and
// hand-written ones that gqlgen binds to by name.
package model
