"""API conformance check: runs Schemathesis against a real omnihub-server.

Starts the server binary given on the command line on a fresh SQLite database, seeds a few
instances and messages through the public API, validates the served OpenAPI document with
openapi-spec-validator, then runs Schemathesis with every check and every phase (the
stateful one included), a fixed seed and a bounded number of examples. Exits non-zero on any
failure. Called by `make contract`; see docs/api.md.
"""

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ADMIN_KEY = "contract-admin-key-0123456789abcdef"
SEED = "20261202"
MAX_EXAMPLES = os.environ.get("OMNIHUB_CONTRACT_EXAMPLES", "100")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(base, method, path, body=None, key=ADMIN_KEY, headers=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method)
    request.add_header("content-type", "application/json")
    if key:
        request.add_header("x-api-key", key)
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def wait_ready(base, server):
    deadline = time.time() + 30
    while time.time() < deadline:
        if server.poll() is not None:
            sys.exit(f"omnihub-server exited with {server.returncode} before it was ready")
        try:
            if call(base, "GET", "/health", key=None)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    sys.exit("omnihub-server did not become ready within 30 s")


def seed(base):
    """A few instances (one with a webhook secret) and messages in every final state."""
    for i, name in enumerate(["alpha", "beta", "gamma"]):
        body = {
            "name": name,
            "whatsapp_instance": f"wa_{name}",
            "agent_api_url": "http://127.0.0.1:9",
            "agent_api_key": f"agent-key-{name}-0123456789",
            "default_agent": "helper",
            "evolution_url": "http://127.0.0.1:9",
            "evolution_key": f"evolution-key-{name}-0123",
        }
        if i == 2:
            body["webhook_secret"] = "webhook-secret-gamma-0123"
        status, answer = call(base, "POST", "/api/v1/instances", body)
        if status != 201:
            sys.exit(f"seeding {name} failed: {status} {answer!r}")
    for n in range(6):
        webhook = {
            "event": "messages.upsert",
            "instance": "wa_alpha",
            "data": {
                "key": {"remoteJid": f"55119000{n:05}@s.whatsapp.net", "fromMe": False, "id": f"SEED{n}"},
                "pushName": "Ana",
                "message": {"conversation": f"hello {n}"},
            },
        }
        status, answer = call(base, "POST", "/webhook/evolution/alpha", webhook, key=None)
        if status != 200:
            sys.exit(f"seeding message {n} failed: {status} {answer!r}")


def main():
    server_binary, venv_bin = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="omnihub-contract-") as tmp:
        env = dict(os.environ)
        for name in list(env):
            if name.startswith(("OMNIHUB_", "AGENT_", "EVOLUTION_")) or name in ("DATABASE_URL", "API_PORT", "API_HOST"):
                del env[name]
        env.update({
            "OMNIHUB_DATABASE_URL": os.path.join(tmp, "contract.db"),
            "OMNIHUB_HOST": "127.0.0.1",
            "OMNIHUB_PORT": str(port),
            "OMNIHUB_API_KEY": ADMIN_KEY,
            # Where Evolution would post webhooks: lets connect and webhook sync reach the
            # (unreachable) Evolution of the seeded instances instead of stopping at a 409.
            "OMNIHUB_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "OMNIHUB_LOG": "warn",
            # Seeded messages fail fast against the unreachable agent, so the log holds
            # queued, failed and retried messages.
            "OMNIHUB_RETRY_BASE_MS": "10",
            "OMNIHUB_RETRY_MAX_MS": "20",
            "OMNIHUB_RETRY_MAX_ATTEMPTS": "2",
        })
        log = open(os.path.join(tmp, "server.log"), "w")
        server = subprocess.Popen([server_binary], env=env, cwd=tmp, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_ready(base, server)
            seed(base)
            status, document = call(base, "GET", "/api/v1/openapi.json")
            if status != 200:
                sys.exit(f"GET /api/v1/openapi.json answered {status}")
            schema_path = os.path.join(tmp, "openapi.json")
            with open(schema_path, "wb") as f:
                f.write(document)
            print("== openapi-spec-validator")
            validated = subprocess.run([os.path.join(venv_bin, "openapi-spec-validator"), schema_path])
            if validated.returncode != 0:
                sys.exit("the served OpenAPI document is not valid")
            print(f"== schemathesis (seed {SEED}, {MAX_EXAMPLES} examples per operation)")
            run = subprocess.run([
                os.path.join(venv_bin, "st"),
                "--config-file", os.path.join(os.path.dirname(os.path.abspath(__file__)), "schemathesis.toml"),
                "run", schema_path,
                "--url", base,
                "--header", f"x-api-key: {ADMIN_KEY}",
                "--checks", "all",
                "--phases", "examples,coverage,fuzzing,stateful",
                "--seed", SEED,
                "--max-examples", MAX_EXAMPLES,
                # Deterministic generation keeps no example database: every run is the same run.
                "--generation-deterministic",
                # One worker: hypothesis's lambda introspection is not thread-safe on
                # Python 3.11 ("AST constructor recursion depth mismatch").
                "--workers", "1",
                "--request-timeout", "10",
                "--no-color",
                "--report", "junit",
                "--report-dir", os.path.join(os.getcwd(), "target", "contract-report"),
            ])
            if server.poll() is not None:
                sys.exit(f"omnihub-server died during the run (exit {server.returncode}); see its log")
            sys.exit(run.returncode)
        finally:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
            log.close()
            errors = [line for line in open(os.path.join(tmp, "server.log")) if " ERROR " in line]
            if errors:
                # Bad input is the caller's fault: it may be logged as a warning, never an error.
                print("== the server logged ERROR lines during the run:")
                print("".join(errors[:20]))
                sys.exit(1)


if __name__ == "__main__":
    main()
