"""A TCP echo service (one thread per connection): the long-lived session under test."""

import socketserver


class Echo(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        for line in self.rfile:
            self.wfile.write(line)


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


if __name__ == "__main__":
    with Server(("0.0.0.0", 7000), Echo) as server:  # noqa: S104 (test service host)
        server.serve_forever()
