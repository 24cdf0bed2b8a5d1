"""The GraphQL schema: Strawberry types, inputs, payloads and permission classes. Thin."""
