"""Live subscriptions to integration events (graphql-transport-ws): a process-wide bus
fans committed event ids out to subscribers, each filtered for its viewer when sent."""
