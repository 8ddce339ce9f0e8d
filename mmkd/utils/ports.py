"""A free local TCP port, for torchrun's rendezvous (the demo's DDP teacher,
the tests' DDP launches)."""
import socket


def free_port() -> str:
    """A TCP port that is free now (for torchrun's rendezvous)."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return str(sock.getsockname()[1])
