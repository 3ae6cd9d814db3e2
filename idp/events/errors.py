"""Partner-webhook errors (one base class; subclasses only override attributes)."""

from idp.core.errors import IdPError, NotFound


class EventsError(IdPError):
    error = "invalid_webhook"
    description = "The webhook endpoint is invalid."
    status_code = 400


class UnsafeURL(EventsError):
    """The URL is not https, or it names (or resolves to) an address we must not call."""

    error = "invalid_webhook_url"
    description = "The webhook URL must be https and reach a public address."


class UnknownEventType(EventsError):
    error = "invalid_event_type"
    description = "Unknown event type."


class EndpointNotFound(NotFound):
    description = "No webhook endpoint has that id."


class EventNotFound(NotFound):
    description = "No event has that id."
