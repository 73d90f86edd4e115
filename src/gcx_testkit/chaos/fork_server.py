"""The chaos harness's fork server: imports gcx once, then forks one child per run.

Run by :class:`gcx_testkit.chaos.launch.ForkLauncher` (``python -m gcx_testkit.chaos.fork_server``). It reads one JSON request a
line on stdin (``args``, ``cwd``, ``env``, ``out``, ``err``), forks, prints ``{"pid": N}``, waits
for a "go" line (the harness then knows whom to SIGKILL), lets the child run and prints
``{"exit": CODE}``. The child sets its working directory, environment and output files and
calls the CLI's own ``main()`` (what ``python -m gcx.cli.main`` runs), so a run skips only the
interpreter start and the imports. The server itself has no threads, so forking it is safe.
"""

from __future__ import annotations

import json
import os
import sys
import traceback

import gcx.cli.main as cli


def main() -> None:

    for line in sys.stdin:
        req = json.loads(line)
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                os.close(w)
                os.read(r, 1)
                os.close(r)
                os.chdir(req["cwd"])
                os.environ.clear()
                os.environ.update(req["env"])
                null = os.open(os.devnull, os.O_RDONLY)
                os.dup2(null, 0)
                for fd, path in ((1, req["out"]), (2, req["err"])):
                    f = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                    os.dup2(f, fd)
                    os.close(f)
                sys.argv = ["gcx", *req["args"]]
                try:
                    cli.main()
                    code = 0
                except SystemExit as exc:
                    code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
                except BaseException:
                    traceback.print_exc()
                    code = 1
                sys.stdout.flush()
                sys.stderr.flush()
            finally:
                os._exit(code)
        os.close(r)
        print(json.dumps({"pid": pid}), flush=True)
        sys.stdin.readline()  # "go": the harness knows the pid
        os.write(w, b"g")
        os.close(w)
        _, status = os.waitpid(pid, 0)
        print(json.dumps({"exit": os.waitstatus_to_exitcode(status)}), flush=True)


if __name__ == "__main__":
    main()
