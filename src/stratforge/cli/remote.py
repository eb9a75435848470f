"""``--server URL``: ``run``, ``optimize`` and ``walkforward`` as jobs of a running
``stratforge serve``, followed from here.

The commands build the very spec they would run locally and hand it here: it is submitted
with ``stratforge.client.Client``, its event stream feeds a progress bar on stderr, and the
stored result is validated back into the models the local commands print, so a remote run
prints the same tables (and writes the same ``--out`` files) as a local one. The server's
warm Ray (or cluster) and its storage do the work; nothing runs here.

Ctrl-C while a job is followed asks whether to cancel it on the server (a second Ctrl-C, an
empty answer or a closed stdin leave it running); either way the command exits 130, as an
interrupted command does, having printed no result. Ctrl-C before the server has answered
the submission asks the same about the same job (see ``submit_or_ask``).

The client (and httpx under it) is imported only here, inside functions: ``--help`` and
local runs never load it (tests/test_cli_imports.py).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn, Protocol

import typer

from stratforge.cli.common import USAGE_ERROR, err, fail

if TYPE_CHECKING:
    from pydantic import BaseModel

    from stratforge.client import Client, Job

INTERRUPTED = 130
"""Exit code after Ctrl-C, whether the job was cancelled or left running (as a shell's)."""
JOB_FAILED = 1
ANSWER_TIMEOUT_S = 60.0
"""How long a non-terminal stdin is read for the answer to "cancel?" before No is taken."""


@dataclass(frozen=True)
class Server:
    """Where ``--server`` and ``--api-key`` point."""

    url: str
    api_key: str | None

    def client(self) -> Client:
        from stratforge.client import Client

        return Client(self.url, api_key=self.api_key)


class Display(Protocol):
    """A progress display fed with the job's snapshots as its events arrive."""

    def __enter__(self) -> Any: ...
    def __exit__(self, *exc: object) -> Any: ...
    def show(self, job: Job) -> None: ...


def given_on_command_line(context: typer.Context, *names: str) -> list[str]:
    """Which of these parameters the user typed (not their defaults, nor an env var)."""
    sources = {name: context.get_parameter_source(name) for name in names}
    return [name for name, source in sources.items() if source and source.name == "COMMANDLINE"]


def check_options(
    context: typer.Context, server: str | None, local_only: Mapping[str, str]
) -> None:
    """Options that do not go with the mode: ``--api-key`` without ``--server`` (it would be
    ignored without a word), and with it the options in *local_only*, which mean something
    on this machine only (mapped to what to do instead). One line and exit 2 for either."""
    if server is None:
        if given_on_command_line(context, "api_key"):
            fail("--api-key goes with --server URL (a local run needs no key)")
        return
    for name in given_on_command_line(context, *local_only):
        option = "--" + name.replace("_", "-")
        fail(f"{option} does not go with --server: {local_only[name]}")


def run_job(server: Server, kind: str, spec: BaseModel, display: Display) -> Any:
    """Submit *spec* as a job of *kind*, follow it with *display*, and return its stored
    result document once it completes (any other end: one line, and exit)."""
    with api_errors(server), server.client() as client:
        job = submit_or_ask(server, client, kind, spec)
        err.print(f"job {job.id} on {client.url}", highlight=False, soft_wrap=True)
        job = follow(client, job, display)
        if job.status != "completed":
            ended(job)
        document = client.result(job)
        report = client.report_url(job)
    err.print(f"report: {report}", highlight=False, soft_wrap=True)
    return document


def submit(client: Client, kind: str, spec: BaseModel, idempotency_key: str) -> Job:
    submitters = {
        "backtest": client.submit_backtest,
        "optimize": client.submit_optimization,
        "walkforward": client.submit_walkforward,
    }
    return submitters[kind](spec, idempotency_key=idempotency_key)


def submit_or_ask(server: Server, client: Client, kind: str, spec: BaseModel) -> Job:
    """The submitted job. Sent with an Idempotency-Key of its own, so Ctrl-C before the
    server answered is not a guess: the same request again, on a new connection, names the
    one job whether or not the first got through (the server replays it, or creates it),
    and the usual question is asked about it. A second Ctrl-C there ends with one line."""
    import uuid

    key = f"cli-{uuid.uuid4().hex}"
    try:
        return submit(client, kind, spec, key)
    except KeyboardInterrupt:
        pass
    with server.client() as again:  # the first connection was cut mid-request
        try:
            job = submit(again, kind, spec, key)
        except KeyboardInterrupt:
            from stratforge.client.jobs import RESOURCES

            listing = f"{server.url.rstrip('/')}/api/v1/{RESOURCES[kind]}"
            err.print(
                f"interrupted while submitting: the {kind} may be queued on the server; "
                f"see GET {listing}",
                highlight=False,
                soft_wrap=True,
            )
            raise typer.Exit(INTERRUPTED) from None
        err.print(f"job {job.id} on {again.url}", highlight=False, soft_wrap=True)
        interrupted(again, job)


def follow(client: Client, job: Job, display: Display) -> Job:
    """The finished job, its progress shown as its events arrive; Ctrl-C asks about it."""
    try:
        with display:
            display.show(job)
            finished = client.wait(job, on_progress=display.show)
            display.show(finished)
            return finished
    except KeyboardInterrupt:
        interrupted(client, job)


def interrupted(client: Client, job: Job) -> NoReturn:
    """Ctrl-C while following *job*: cancel it on the server, or leave it running."""
    if confirm(f"Cancel job {job.id} on the server?"):
        try:
            client.cancel(job)
        except KeyboardInterrupt:
            pass
        else:
            err.print(f"cancelled {job.id}", highlight=False)
            raise typer.Exit(INTERRUPTED)
    where = client.url.rstrip("/") + str(job.links.get("self", ""))
    err.print(
        f"{job.id} is still running on the server: follow it at {where} "
        f"(or {where}/events); cancel it with POST {where}/cancel",
        highlight=False,
        soft_wrap=True,
    )
    raise typer.Exit(INTERRUPTED)


def confirm(question: str) -> bool:
    """Yes or no on stderr, No by default. A terminal gets click's prompt (a second Ctrl-C
    answers No); otherwise one line is read from stdin, so a program driving the command can
    answer, and a closed or silent stdin (``ANSWER_TIMEOUT_S``) answers No, never a hang."""
    if sys.stdin is not None and sys.stdin.isatty():
        try:
            return typer.confirm(question, default=False, err=True)
        except typer.Abort:  # Ctrl-C or EOF at the prompt
            err.print("")
            return False
    err.print(f"{question} [y/N]: ", end="", highlight=False, markup=False)
    try:
        answer = read_line(ANSWER_TIMEOUT_S)
    except KeyboardInterrupt:
        answer = ""
    err.print(answer.strip(), highlight=False)
    return answer.strip().lower() in ("y", "yes")


def read_line(timeout: float) -> str:
    """One line of stdin, or "" at EOF or once *timeout* seconds pass without one."""
    if sys.stdin is None:
        return ""
    try:
        import select

        ready, _, _ = select.select([sys.stdin], [], [], timeout)
    except (OSError, ValueError):  # no select on this stream (Windows pipes): just read
        ready = [sys.stdin]
    return sys.stdin.readline() if ready else ""


def ended(job: Job) -> NoReturn:
    """A job that finished without a result: failed or cancelled on the server."""
    detail = f": {job.error}" if job.error else ""
    err.print(f"[bold red]error:[/] job {job.id} {job.status}{detail}", soft_wrap=True)
    raise typer.Exit(JOB_FAILED)


@contextmanager
def api_errors(server: Server) -> Iterator[None]:
    """The client's errors as the CLI's: one line per problem on stderr, exit 2 for what
    the user can fix (a refused spec, a wrong key, no server), 1 for the server's own."""
    import httpx

    from stratforge.client import ApiError, AuthError, ServerUnavailable

    try:
        yield
    except ServerUnavailable:
        fail(f"no stratforge server at {server.url}: start one with `stratforge serve`")
    except AuthError:
        verb = "check" if server.api_key else "pass"
        fail(
            f"the server at {server.url} wants its API key: {verb} --api-key KEY (or set "
            "STRATFORGE_API_KEY) to the key `stratforge serve` was started with"
        )
    except ApiError as exc:
        print_errors([problem_line(path, message) for path, message in exc.problems])
        raise typer.Exit(USAGE_ERROR if exc.status_code < 500 else JOB_FAILED) from None
    except httpx.HTTPError as exc:
        fail(f"lost the stratforge server at {server.url}: {type(exc).__name__}: {exc}")


def problem_line(path: str, message: str) -> str:
    """A refused field as a local run names it: ``strategy.name``, not ``body.strategy.name``."""
    field = path.removeprefix("body.") if path != "body" else ""
    return f"{field}: {message}" if field else message


def print_errors(lines: list[str]) -> None:
    """The lines of a refused request, each as ``fail`` prints its one."""
    from rich.markup import escape

    for line in filter(str.strip, lines):
        err.print(f"[bold red]error:[/] {escape(line)}", highlight=False, soft_wrap=True)


class JobBar:
    """A backtest's or walk-forward's progress from its events: the fraction done and the
    server's own words for it ("120,000 of 600,000 bars", "window 2 of 5 done")."""

    def __init__(self, description: str) -> None:
        from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn

        self.bar = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[message]}"),
            console=err.console,
        )
        self.task = self.bar.add_task(description, total=1.0, message="queued")

    def show(self, job: Job) -> None:
        if job.finished:  # the last message ("2,970 of 3,000 bars") is out of date
            done = 1.0 if job.status == "completed" else job.progress
            self.bar.update(self.task, completed=done, message=job.status)
        else:
            self.bar.update(self.task, completed=job.progress, message=job.message or job.status)

    def __enter__(self) -> JobBar:
        self.bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.__exit__(*exc)  # type: ignore[arg-type]


def search_counts(job: Job) -> tuple[int, int | None, str | None]:
    """Trials done, failed (None when the server does not say) and the best objective of a
    search's snapshot. The best is in the server's message only ("12 trials done, best
    0.8123", jobs/run.py ``TrialWriter``): the job's ``best`` is set once it ends."""
    raw = job.raw
    done = int(raw.get("trials_done") or 0)
    failed = raw.get("trials_failed")
    _, said_best, best = (job.message or "").rpartition("best ")
    return done, None if failed is None else int(failed), (best or None) if said_best else None
