"""Reaching the broker for readiness (``ingest.health.check_readiness``):
connect once, with short timeouts and no retry, and let go."""

from __future__ import annotations

from ingest.errors import QueueUnavailable
from ingest.health import without_credentials

#: Seconds to connect to the broker and for it to answer.
PROBE_TIMEOUT = 3.0


class BrokerProbe:
    """``ingest.health.BrokerProbe`` for the workers' Redis broker."""

    def __init__(self, broker_url: str, timeout: float = PROBE_TIMEOUT) -> None:
        self.broker_url = broker_url
        self.timeout = timeout
        #: the broker's URL with any password replaced by ``***``
        self.where = without_credentials(broker_url)

    def __call__(self) -> None:
        """Connect and open a channel (Redis answers a PING). Raises QueueUnavailable."""
        from kombu import Connection
        from kombu.exceptions import KombuError

        options = {"socket_timeout": self.timeout, "socket_connect_timeout": self.timeout}
        connection = Connection(self.broker_url, connect_timeout=self.timeout,
                                transport_options=options)
        try:
            connection.ensure_connection(max_retries=0)
            connection.default_channel  # noqa: B018  (opening the channel talks to the broker)
        except (KombuError, OSError, *connection.connection_errors,
                *connection.channel_errors) as exc:
            raise QueueUnavailable(f"the broker at {self.where} cannot be reached: "
                                   f"{without_credentials(str(exc))}") from exc
        finally:
            connection.release()


__all__ = ["PROBE_TIMEOUT", "BrokerProbe"]
