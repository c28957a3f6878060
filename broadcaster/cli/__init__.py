"""The `broadcaster` command line (a typer app).

Commands live in modules by subject: `launch`; `campaigns` (list, status, report, pause,
resume, cancel, retry-failed, resend-unknown); `data` (delete, archive, forget, contact);
`provider` (templates, device-status); `suppression` (suppress add|remove|list); `services`
(web, worker, sandbox, demo). Each command imports what it needs inside its body, so
`broadcaster --help` stays fast. An error the operator can fix prints one line,
`error: ...`, and exits 1 (see `group`).
"""

import typer

from . import campaigns, data, launch, provider, services, suppression
from .group import CommandGroup

__all__ = ["app", "main"]

app = typer.Typer(
    name="broadcaster",
    help="WhatsApp broadcast campaigns through the Replai.id API, on Celery and Redis.",
    no_args_is_help=True,
    add_completion=False,
    cls=CommandGroup,
)


@app.callback()
def _root() -> None:
    """WhatsApp broadcast campaigns through the Replai.id API, on Celery and Redis."""


app.command()(launch.launch)
app.command("list")(campaigns.list_campaigns)
app.command()(campaigns.status)
app.command()(campaigns.report)
app.command()(campaigns.pause)
app.command()(campaigns.resume)
app.command()(campaigns.cancel)
app.command()(campaigns.retry_failed)
app.command()(campaigns.resend_unknown)
app.command()(data.delete)
app.command()(data.archive)
app.command()(data.forget)
app.command()(data.contact)
app.command()(provider.templates)
app.command()(provider.device_status)
app.add_typer(suppression.app, name="suppress")
app.command(context_settings=services.PASS_THROUGH)(services.web)
app.command(context_settings=services.PASS_THROUGH)(services.worker)
app.command()(services.sandbox)
app.command()(services.demo)


def main() -> None:
    """Console entry point (`broadcaster = "broadcaster.cli:main"`)."""
    app()


if __name__ == "__main__":
    main()
