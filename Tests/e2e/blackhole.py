"""A TCP relay that can play a dropped network: frozen, it swallows bytes both ways and closes
nothing, as a pulled cable does; thawed, it cuts the links it froze (as a phone or box finally
notices) and relays new ones again."""
import socket
import threading


class Blackhole:
    def __init__(self, target_port):
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.frozen = threading.Event()
        self.links = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def freeze(self):
        self.frozen.set()

    def thaw(self):
        """Cuts every link open now, then relays new connections again."""
        with self.lock:
            links, self.links = self.links, []
        for client, upstream in links:
            for sock in (client, upstream):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()
        self.frozen.clear()

    def close(self):
        self.listener.close()
        self.thaw()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            with self.lock:
                self.links.append((client, upstream))
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()

    def _pump(self, source, sink):
        while True:
            try:
                data = source.recv(65536)
            except OSError:
                return
            if not data:
                if not self.frozen.is_set():  # an EOF while frozen is lost, like everything else
                    try:
                        sink.shutdown(socket.SHUT_WR)
                    except OSError:
                        pass
                return
            if self.frozen.is_set():
                continue
            try:
                sink.sendall(data)
            except OSError:
                return
