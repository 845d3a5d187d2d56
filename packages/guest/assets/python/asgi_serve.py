"""Serves the ASGI program of a Python runtime VM on port 8080 (started by the guest agent).

Usage: python3 /opt/aleph/asgi_serve.py MODULE:ATTRIBUTE
       python3 /opt/aleph/asgi_serve.py --wait

With --wait (a warm pool VM's pre-started Python, the agent's launcher.ts), the server and
FastAPI are imported first, then one JSON line is read from stdin: {"target": "MODULE:ATTRIBUTE",
"cwd": ..., "env": {...}}, its variables applied, and the program served as with the first form.

What a program sees is what aleph's Python runtime gives it:
- the code directory first on sys.path, then /opt/packages (where programs mount a volume of
  extra packages), then PYTHONPATH (/opt/aleph/libs, the runtime's own packages);
- the ASGI lifespan `startup` event before the first request (30 s at most), `shutdown` on stop;
- an exception escaping the application gives HTTP 500 with the Python traceback as the body
  (the supervisor's `/status/check/fastapi` looks for it), and `sys.exit()` in a request ends
  the program as it ends aleph's in-process runtime.
"""
import asyncio
import importlib
import json
import logging
import os
import sys
import time
import traceback

CODE_DIR = "/opt/code"
PACKAGES_DIR = "/opt/packages"
PORT = 8080
STARTUP_TIMEOUT_S = 30

logger = logging.getLogger("aleph.asgi")


def load_application(reference):
    module_name, _, attribute = reference.partition(":")
    target = importlib.import_module(module_name)
    for name in attribute.split("."):
        target = getattr(target, name)
    return target


def with_error_pages(app):
    """Buffers each HTTP response until the application returns, so that an exception raised
    after a framework already sent its own bare 500 still gives the traceback (aleph's runtime
    also hands the supervisor one complete response per request)."""

    async def wrapped(scope, receive, send):
        if scope.get("type") != "http":
            return await app(scope, receive, send)
        messages = []

        async def buffer(message):
            messages.append(message)

        try:
            await app(scope, receive, buffer)
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
            logger.error("the program called sys.exit(%s) while answering %s", code, scope.get("path"))
            os._exit(code)
        except Exception:
            text = traceback.format_exc()
            logger.error("the program raised while answering %s:\n%s", scope.get("path"), text)
            body = text.encode("utf-8")
            await send({
                "type": "http.response.start",
                "status": 500,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())],
            })
            await send({"type": "http.response.body", "body": body, "more_body": False})
            return
        for message in messages:
            await send(message)

    return wrapped


MAX_REQUEST_BYTES = 1024 * 1024


READY_VARIABLE = "ALEPH_LAUNCHER_READY_FD"
READY_FD = 3


def signal_ready():
    """Tells the agent this Python waits (one line on the descriptor it named), then closes it."""
    named = os.environ.pop(READY_VARIABLE, None)
    if named != str(READY_FD):
        return
    try:
        os.write(READY_FD, b"ready\n")
        os.close(READY_FD)
    except OSError:
        pass


def wait_for_request():
    """Imports what every ASGI program needs, then blocks on the agent's launch request."""
    import uvicorn  # noqa: F401

    try:
        import fastapi  # noqa: F401  (most programs are FastAPI apps; absent is fine)
    except ImportError:
        pass
    signal_ready()
    line = sys.stdin.buffer.readline(MAX_REQUEST_BYTES)
    request = json.loads(line)
    env = request.get("env")
    if not isinstance(request.get("target"), str) or not isinstance(env, dict):
        raise ValueError("launch request without a target or variables")
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in env.items()):
        raise ValueError("launch request variables must be strings")
    os.environ.update(env)
    if "TZ" in env and hasattr(time, "tzset"):
        time.tzset()
    sys.stdin.close()
    target = request["target"]
    if shadowed_by_code():
        # The program ships its own copy of a module already imported here (its own FastAPI, a
        # file named like a standard module): only a fresh interpreter gives it what it ships.
        os.execv(sys.executable, [sys.executable, "-u", os.path.abspath(__file__), target])
    return target


def shadowed_by_code():
    """Whether a top-level name in the code directory is that of a module already imported."""
    try:
        entries = os.listdir(CODE_DIR)
    except OSError:
        return False
    loaded = {name.partition(".")[0] for name in sys.modules}
    for entry in entries:
        name = entry[:-3] if entry.endswith(".py") else entry.partition(".")[0]
        if name in loaded:
            return True
    return False


def main(argv):
    if argv[1:] == ["--wait"]:
        argv = [argv[0], wait_for_request()]
    if len(argv) != 2 or ":" not in argv[1]:
        print("usage: asgi_serve.py MODULE:ATTRIBUTE | --wait", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    # The launcher's own directory must not shadow the program's modules.
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    sys.path.insert(0, PACKAGES_DIR)
    sys.path.insert(0, CODE_DIR)
    os.chdir(CODE_DIR)
    app = load_application(argv[1])

    import uvicorn

    config = uvicorn.Config(
        with_error_pages(app),
        host="0.0.0.0",
        port=PORT,
        lifespan="on",
        loop="asyncio",
        http="h11",
        log_level="info",
        access_log=False,
        timeout_graceful_shutdown=10,
    )
    server = uvicorn.Server(config)

    async def serve():
        # uvicorn has no startup deadline of its own: a program whose startup never completes
        # is ended here, as aleph's runtime does after 30 s.
        task = asyncio.ensure_future(server.serve())
        deadline = asyncio.get_running_loop().time() + STARTUP_TIMEOUT_S
        while not server.started and not task.done():
            if asyncio.get_running_loop().time() > deadline:
                logger.error("the ASGI lifespan startup did not complete within %d s", STARTUP_TIMEOUT_S)
                task.cancel()
                try:
                    await task
                except asyncio.CancelledError:
                    pass
                return False
            await asyncio.sleep(0.05)
        await task
        return server.started

    started = asyncio.run(serve())
    return 0 if started else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
