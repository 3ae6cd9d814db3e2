"""The core every other package builds on, importing nothing else of ours: extensions,
database types, configuration and its defaults, the error base classes and the one
error handler, scopes, the request class, Redis, mail and its outbox."""
