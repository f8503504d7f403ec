"""The API clients: one HTTP policy (sessions, pacing, deadlines, retries, typed errors) and
the typed ilert and Level clients built on it, with where each API is and which credential
it takes. They hold HTTP and API knowledge only: no Pulumi, no resources."""
