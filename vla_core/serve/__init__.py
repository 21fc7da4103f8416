"""Remote inference: a policy server (websocket + msgpack, no pickle) and the robot-side client.

    python -m vla_core.serve --checkpoint DIR          # server: server.py, session.py (torch)
    RemotePolicy(PolicyClient(host, port))             # client: client.py (numpy, msgpack, websockets)

Wire format in protocol.py (messages) and codec.py (msgpack with numpy arrays as one ext type).
Importing this package loads neither torch nor the server, so a robot PC needs only the client's deps.
"""

from vla_core.serve.client import ClientConfig, PolicyClient, RemoteError, RemotePolicy, health, hold_chunk
from vla_core.serve.codec import ProtocolError

__all__ = ["ClientConfig", "PolicyClient", "RemoteError", "RemotePolicy", "ProtocolError", "health", "hold_chunk"]
