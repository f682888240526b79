"""What the attack scripts share: the real server binary started on a free
loopback port with its own database and uploads, and its memory read."""
import os, re, socket, subprocess, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PASSWORD = "correct horse battery"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def memory_kib(pid, field):
    """VmRSS (now) or VmHWM (the peak so far) of a process, in KiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


class Server:
    """`binary` on a free port, in a fresh folder, with `settings` (ROCKET_...)."""

    def __init__(self, binary, **settings):
        self.binary = binary
        self.work = tempfile.mkdtemp(prefix="handin-hostile-")
        self.port = free_port()
        self.env = dict(os.environ,
                        ROCKET_DATABASE=f"{self.work}/handin.sqlite",
                        ROCKET_UPLOADS_DIR=f"{self.work}/uploads",
                        ROCKET_TEMPLATE_DIR=f"{ROOT}/templates", ROCKET_DEMO="false",
                        ROCKET_SECRET_KEY="BwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMkJSY=",
                        ROCKET_LOG_LEVEL="critical", ROCKET_ADDRESS="127.0.0.1",
                        ROCKET_PORT=str(self.port), **settings)
        self.process = None

    def run(self, *args, stdin=None):
        """`handin ARGS` (import, user add, token...) on the server's database."""
        return subprocess.run([self.binary, *args], env=self.env, check=True, input=stdin,
                              capture_output=True, text=True).stdout

    def course(self, code, slug, extra=""):
        path = f"{self.work}/{code}.toml"
        with open(path, "w") as f:
            f.write(f'[[course]]\ncode = "{code}"\ntitle = "{code}"\ntime_zone = "Europe/London"\n'
                    f'[[course.assignment]]\nslug = "{slug}"\ntitle = "{slug}"\n'
                    f'due = "2099-01-01 16:00"\n{extra}')
        self.run("import", path)

    def student(self, name, course=None):
        self.run("user", "add", name, "--role", "student", *(["--course", course] if course else []),
                 stdin=PASSWORD + "\n")

    def __enter__(self):
        self.process = subprocess.Popen([self.binary], env=self.env,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(600):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.05)
        return self

    def __exit__(self, *_):
        self.process.kill()
        self.process.wait()

    def memory_kib(self, field):
        return memory_kib(self.process.pid, field)


def csrf_of(page):
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)
