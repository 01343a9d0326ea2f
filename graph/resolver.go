package graph

// Resolver is the root resolver and the one place the GraphQL layer gets its
// dependencies from. This file is not regenerated.
type Resolver struct{}
