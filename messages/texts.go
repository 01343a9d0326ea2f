package messages

// The Flask API quickstart's texts, served by /api/* and the GraphQL Query.
const (
	Public  = "Hello from a public endpoint! You don't need to be authenticated to see this."
	Private = "Hello from a private endpoint! You need to be authenticated to see this."
	Scoped  = "Hello from a private endpoint! You need to be authenticated and have a scope of read:messages to see this."
)

// The hello-world API sample's texts, served by /api/messages/*.
const (
	HelloPublic    = "This is a public message."
	HelloProtected = "This is a protected message."
	HelloAdmin     = "This is an admin message."
)
